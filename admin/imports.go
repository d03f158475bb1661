package admin

import (
	"bufio"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
)

// Limits of one CSV import (POST /v1/orgs/{cvr}/imports).
const (
	// maxImportBytes caps the request body; a larger body is refused
	// with 413 before anything is read when its length is declared, and
	// stops the import where the limit is hit when it is not.
	maxImportBytes = 64 << 20
	// maxImportRows caps the data rows of one file.
	maxImportRows = 200_000
	// importBatchRows is how many rows share one store transaction: a
	// commit (an fsync) per row would take minutes for 100k rows, one
	// transaction for all of them exceeds Badger's transaction size.
	importBatchRows = 100
)

// Row statuses of the import report.
const (
	rowCreated       = "created"
	rowUpdated       = "updated"
	rowDeleted       = "deleted"
	rowUnchanged     = "unchanged"
	rowError         = "error"
	rowWouldCreate   = "would_create"
	rowWouldUpdate   = "would_update"
	rowWouldDelete   = "would_delete"
	rowNotApplied    = "not_applied" // atomic import with a refused row: this row was fine but nothing was applied
	importModeCreate = "create"
	importModeUpdate = "update"
	importModeDelete = "delete"
)

// rowResult is one line of the import report.
type rowResult struct {
	Row    int          `json:"row"`
	Status string       `json:"status"`
	UserID string       `json:"user_id,omitempty"`
	Error  *reportError `json:"error,omitempty"`

	applyErr error // the row's writes failed after its checks passed
}

// importer carries out one import request: one or two passes over the
// file, each a series of store transactions of importBatchRows rows.
type importer struct {
	s      *Service
	c      *Caller
	cvr    string
	mode   string
	id     string // the import batch id; users created get source import:<id>
	dryRun bool   // this pass rolls every transaction back
	atomic bool   // this pass stops at the first refused row

	// seen holds the unique keys (hashed) of the rows that passed in this
	// pass, so a dry run, whose earlier transactions are rolled back,
	// still finds duplicates within the file. Nil in a real pass: there
	// the store's unique indexes find them.
	seen      map[uint64]int
	batchSeen map[uint64]int // keys of rows that passed in the current batch attempt
	rowKeys   []importKey    // keys of the current row

	results []rowResult
	rows    int // data rows read
	applied int // rows that changed the store
	rev     uint64
	failed  bool  // a row was refused
	fatal   error // the pass stopped: body limit, row limit
}

// errDiscardBatch rolls back a batch transaction in which a row's writes
// failed half-way; the batch is then run again without that row.
var errDiscardBatch = errors.New("import: discard batch")

// errNothingApplied rolls back a batch in which no row changed anything,
// so that a file of refused rows leaves the store (and its revision) as
// it was.
var errNothingApplied = errors.New("import: nothing applied")

func isTooLarge(err error) bool {
	var se *store.Error
	return errors.As(err, &se) && se.Reason == store.ReasonTooLarge
}

// errAtomicStop rolls back the batch of an atomic pass at its first
// refused row.
var errAtomicStop = errors.New("import: atomic stop")

// applyError marks an error of a row's writes, or a refusal of the role
// check that runs after them (runPlan): the transaction may hold part or
// all of the row, so the batch must be discarded.
type applyError struct{ err error }

func (e *applyError) Error() string { return e.err.Error() }
func (e *applyError) Unwrap() error { return e.err }

// ImportTemplate is the CSV template of an import: the header line and
// an example row.
func ImportTemplate() string { return csvTemplate() }

// Import is POST /v1/orgs/{cvr}/imports?mode=create|update|delete
// &dry_run=&atomic= with the CSV body of size bytes (-1: unknown). The
// body is streamed (never held in memory); each row gets the validation
// and policy checks of the single-user API and a line in the report. A
// refused row changes nothing. A body over maxImportBytes is refused
// (too_large) unless rows were applied before the limit: the report then
// says where it stopped.
//
// atomic=true is all-or-nothing in two passes over the file: a dry run of
// every row (all rolled back), and only when every row passed, the real
// pass. The body is spooled to an unlinked temporary file encrypted with
// a key that only lives in memory (it holds CPR numbers) so that it can
// be read twice. A change by another administrator between the passes
// that makes a row fail in the real pass stops that pass at that row:
// its batch is rolled back, but batches committed before it stay (the
// report says which rows were applied). A file of at most importBatchRows
// rows is one transaction and therefore strictly atomic.
func (s *Service) Import(ctx context.Context, c *Caller, cvr string, q url.Values, body io.Reader, size int64) (*ImportReport, error) {
	mode := q.Get("mode")
	var act string
	switch mode {
	case importModeCreate:
		act = actCreate
	case importModeUpdate:
		act = actUpdate
	case importModeDelete:
		act = actDelete
	default:
		return nil, invalid("mode must be create, update or delete")
	}
	dryRun, err := boolParam(q.Get("dry_run"), "dry_run")
	if err != nil {
		return nil, err
	}
	atomic, err := boolParam(q.Get("atomic"), "atomic")
	if err != nil {
		return nil, err
	}
	return s.startImport(ctx, c, body, size, importOptions{cvr: cvr, mode: mode, act: act, dryRun: dryRun, atomic: atomic})
}

func boolParam(v, name string) (bool, error) {
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, invalid("%s must be true or false", name)
	}
	return b, nil
}

// importOptions are an import's org, mode (and the Casbin action it
// needs) and flags.
type importOptions struct {
	cvr, mode, act string
	dryRun, atomic bool
}

// ImportReport is the report of an import, written by Encode.
type ImportReport struct {
	im             *importer
	dryRun, atomic bool
}

// errImportTooLarge refuses an import body over maxImportBytes.
func errImportTooLarge() error {
	return &store.Error{Code: store.EInvalid, Reason: store.ReasonTooLarge,
		Message: fmt.Sprintf("the file is larger than %d bytes", maxImportBytes)}
}

// startImport authorises the caller, runs the passes and returns the
// report; an error before the first row is returned as such.
func (s *Service) startImport(ctx context.Context, c *Caller, body io.Reader, size int64, o importOptions) (*ImportReport, error) {
	if err := s.authorizeOrg(ctx, c, o.cvr, o.act); err != nil {
		return nil, err
	}
	if err := s.checkImport(ctx, c, o.cvr, o.mode, o.dryRun); err != nil {
		return nil, err
	}
	if size > maxImportBytes {
		return nil, errImportTooLarge()
	}
	body = &limitedBody{r: body, n: maxImportBytes}
	im := &importer{s: s, c: c, cvr: o.cvr, mode: o.mode, id: uuid.NewString(), dryRun: o.dryRun}
	if o.atomic && !o.dryRun {
		if err := im.atomicPasses(ctx, body); err != nil {
			if isBodyLimit(err) {
				return nil, errImportTooLarge()
			}
			return nil, err
		}
	} else if err := im.pass(ctx, body); err != nil {
		return nil, err
	}
	if isBodyLimit(im.fatal) && im.applied == 0 {
		return nil, errImportTooLarge()
	}
	if im.applied > 0 {
		if err := im.finish(ctx); err != nil {
			return nil, err
		}
	}
	if im.rev == 0 {
		im.rev = s.st.Revision()
	}
	s.log.Info().Str("org", o.cvr).Str("import", im.id).Str("mode", o.mode).Bool("dry_run", o.dryRun).
		Bool("atomic", o.atomic).Int("rows", im.rows).Int("applied", im.applied).Msg("csv import")
	return &ImportReport{im: im, dryRun: o.dryRun, atomic: o.atomic}, nil
}

// atomicPasses runs an atomic import: the body spooled, a dry run of
// every row, and only when every row passed, the real pass. Only
// spooling reads the body, so only it can meet the body limit.
func (im *importer) atomicPasses(ctx context.Context, body io.Reader) error {
	spool, err := spoolBody(body)
	if err != nil {
		return err
	}
	defer spool.Close()
	// Pass 1: a dry run of every row.
	im.dryRun, im.atomic = true, false
	if err := im.pass(ctx, spool.reader()); err != nil {
		return err
	}
	if im.fatal == nil && !im.failed {
		// Pass 2: the real import, stopping at a refused row.
		im.dryRun, im.atomic = false, true
		im.results, im.rows, im.seen = im.results[:0], 0, nil
		if err := spool.rewind(); err != nil {
			return err
		}
		if err := im.pass(ctx, spool.reader()); err != nil {
			return err
		}
	}
	im.markNotApplied()
	return nil
}

// errBodyLimit is the error of reading past an import body's limit.
var errBodyLimit = errors.New("import: body limit reached")

// limitedBody reads at most n bytes of r; reading more is errBodyLimit.
type limitedBody struct {
	r io.Reader
	n int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, errBodyLimit
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	if int64(n) > l.n {
		n, l.n = int(l.n), -1
		return n, errBodyLimit
	}
	l.n -= int64(n)
	return n, err
}

// pass reads the file and runs its rows in batches.
func (im *importer) pass(ctx context.Context, body io.Reader) error {
	if !im.atomic && im.dryRun {
		im.seen = map[uint64]int{}
	}
	cr, err := newCSVReader(body)
	if err != nil {
		if isBodyLimit(err) {
			im.fatal = err
			return nil
		}
		return err
	}
	batch := make([]csvRow, 0, importBatchRows)
	for im.fatal == nil {
		row, err := cr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if !isBodyLimit(err) {
				return fmt.Errorf("import: read body: %w", err)
			}
			im.fatal = err
			break
		}
		if im.rows == maxImportRows {
			im.fatal = invalid("the file has more than %d rows; rows from row %d on were not read", maxImportRows, row.Row)
			break
		}
		im.rows++
		batch = append(batch, row)
		if len(batch) == importBatchRows {
			if err := im.runBatch(ctx, batch); err != nil {
				return err
			}
			batch = batch[:0]
			if im.atomic && im.failed {
				return nil
			}
		}
	}
	if len(batch) > 0 && !(im.atomic && im.failed) {
		return im.runBatch(ctx, batch)
	}
	return nil
}

// runBatch runs rows in one store transaction (rolled back in a dry
// run). A row whose writes failed half-way discards the transaction,
// which is then run again without it; a batch too large for one Badger
// transaction is split in two.
func (im *importer) runBatch(ctx context.Context, rows []csvRow) error {
	res := make([]rowResult, len(rows))
	// The rows' policy checks run without the request's cancellation: OPA
	// starts a goroutine per evaluation to watch a cancellable context,
	// which costs more than a check of a row. The request's context still
	// ends the import between batches (Update below).
	evalCtx := context.WithoutCancel(ctx)
	final := make([]bool, len(rows)) // the row's result is settled (its writes failed)
	for {
		applied := 0
		rev, err := im.s.st.Update(ctx, im.c.actor, func(tx *store.Tx) error {
			if err := im.s.rolesUpTo(ctx, tx.Revision()-1); err != nil {
				return err
			}
			var err error
			applied, err = im.runBatchTx(evalCtx, tx, rows, res, final)
			return err
		})
		switch {
		case errors.Is(err, errDiscardBatch):
			continue
		case isTooLarge(err) && len(rows) > 1:
			half := len(rows) / 2
			if err := im.runBatch(ctx, rows[:half]); err != nil {
				return err
			}
			if im.atomic && im.failed {
				return nil
			}
			return im.runBatch(ctx, rows[half:])
		case errors.Is(err, errAtomicStop):
			im.stopAtomic(res)
			return nil
		case errors.Is(err, errDryRun), errors.Is(err, errNothingApplied):
		case err != nil:
			return fmt.Errorf("import batch from row %d: %w", rows[0].Row, err)
		default:
			im.rev = rev
			im.applied += applied
			if applied > 0 {
				im.s.syncRoles(ctx, rev)
			}
		}
		im.keepBatch(res)
		return nil
	}
}

// runBatchTx runs the rows of a batch that are not final in tx and
// returns how many changed something. It ends with errDiscardBatch (a
// row's writes failed: run the batch again without it), errAtomicStop,
// a too-large error, errDryRun or errNothingApplied, or records the
// import batch.
func (im *importer) runBatchTx(ctx context.Context, tx *store.Tx, rows []csvRow, res []rowResult, final []bool) (int, error) {
	tx.GuardCPR(im.s.cprGuardOf(im.c))
	im.s.memoStart(tx)
	defer im.s.memoEnd(tx)
	im.batchSeen = nil
	if im.seen != nil {
		im.batchSeen = map[uint64]int{}
	}
	applied := 0
	for i, row := range rows {
		if final[i] {
			continue
		}
		res[i] = im.runRow(ctx, tx, row)
		if im.mode != importModeCreate && res[i].Status != rowUnchanged {
			// An update or delete can change a holder: read again.
			im.s.memoEnd(tx)
			im.s.memoStart(tx)
		}
		if res[i].Status != rowError {
			if res[i].Status != rowUnchanged {
				applied++
			}
			continue
		}
		if res[i].applyErr != nil { // writes failed half-way: see runRow
			if isTooLarge(res[i].applyErr) && len(rows) > 1 {
				return applied, res[i].applyErr
			}
			final[i] = true
			res[i].Error, res[i].applyErr = rowErrorDetail(res[i].applyErr), nil
			if im.atomic {
				// All or nothing: the row is refused, so the batch
				// is rolled back rather than run again without it.
				return applied, errAtomicStop
			}
			return applied, errDiscardBatch
		}
		if im.atomic {
			return applied, errAtomicStop
		}
	}
	switch {
	case im.dryRun:
		return applied, errDryRun
	case applied == 0:
		return 0, errNothingApplied // no empty revision
	}
	return applied, tx.PutImport(&store.ImportBatch{ID: im.id, Org: im.cvr, Mode: im.mode, CreatedAt: tx.Now(),
		Rows: im.rows})
}

// stopAtomic reports an atomic batch that stopped at its first refused
// row: the rows before it as not applied, then the refused row; the
// import is failed.
func (im *importer) stopAtomic(res []rowResult) {
	for i := range res {
		if res[i].Status == rowError {
			im.results = append(im.results, res[i])
			im.failed = true
			return
		}
		res[i].Status = rowNotApplied
		im.results = append(im.results, res[i])
	}
}

// keepBatch records a finished batch's results and the row keys it saw.
func (im *importer) keepBatch(res []rowResult) {
	for k, v := range im.batchSeen {
		im.seen[k] = v
	}
	im.batchSeen = nil
	for _, r := range res {
		if r.Status == rowError {
			im.failed = true
		}
	}
	im.results = append(im.results, res...)
}

// runRow plans, checks and (unless refused) applies one row in tx.
func (im *importer) runRow(ctx context.Context, tx *store.Tx, row csvRow) (res rowResult) {
	res.Row = row.Row
	im.rowKeys = im.rowKeys[:0]
	fail := func(err error) rowResult {
		res.Status, res.Error, res.UserID = rowError, rowErrorDetail(err), ""
		return res
	}
	if row.Err != nil {
		return fail(row.Err)
	}
	f := row.Fields
	trimRecord(f)
	var pf planFunc
	var status string
	switch im.mode {
	case importModeCreate:
		var err error
		if pf, err = im.planCreate(f, &res.UserID); err != nil {
			return fail(err)
		}
		status = pick(im.dryRun, rowWouldCreate, rowCreated)
	case importModeUpdate:
		pf = im.planUpdate(f, &res.UserID, &status)
	default:
		pf = im.planDelete(f, &res.UserID)
		status = pick(im.dryRun, rowWouldDelete, rowDeleted)
	}
	if _, err := im.s.runPlan(ctx, tx, pf); err != nil {
		var ae *applyError
		if errors.As(err, &ae) {
			// The row's writes failed after its checks passed: the
			// transaction may hold part of it, so the caller discards it.
			res.Status, res.UserID, res.applyErr = rowError, "", ae.err
			return res
		}
		return fail(err)
	}
	if status == "" { // an update that changed something
		status = pick(im.dryRun, rowWouldUpdate, rowUpdated)
	}
	res.Status = status
	if im.batchSeen != nil && status != rowUnchanged {
		for _, k := range im.rowKeys {
			im.batchSeen[k.h] = row.Row
		}
	}
	return res
}

func pick(dry bool, ifDry, ifReal string) string {
	if dry {
		return ifDry
	}
	return ifReal
}

// importKey is a value that must be unique among the rows of a file (an
// e-mail, a username, a CPR number, a user), hashed: a dry run keeps one
// per row that passed, not the values.
type importKey struct {
	col int
	h   uint64
}

func newImportKey(col int, kind, v string) importKey {
	h := fnv.New64a()
	_, _ = io.WriteString(h, kind)
	_, _ = h.Write([]byte{0})
	_, _ = io.WriteString(h, strings.ToLower(v))
	return importKey{col: col, h: h.Sum64()}
}

// claim records keys for the current row and refuses one an earlier row
// of the file already used (only in a dry run: see importer.seen).
func (im *importer) claim(keys ...importKey) error {
	if im.seen == nil {
		return nil
	}
	for _, k := range keys {
		prev, ok := im.seen[k.h]
		if !ok {
			prev, ok = im.batchSeen[k.h]
		}
		if ok {
			what := csvColumns[k.col]
			if k.col == colUUID {
				what = "the user"
			}
			return store.RuleError(store.EConflict, "A12", "duplicate", "%s is already used by row %d of this file", what, prev)
		}
	}
	im.rowKeys = append(im.rowKeys, keys...)
	return nil
}

// parsedCPR is a CPR-nummer cell parsed: the normalised number (never
// shown) and its keyed hash.
func (im *importer) parseCPR(cell string) (string, string, error) {
	n, err := store.ParseCPR(cell)
	if err != nil {
		return "", "", cellErr(colCPR, err)
	}
	return n, im.s.st.HashCPR(n), nil
}

// rowName joins Fornavn and Efternavn into the user's name.
func rowName(f []string) string {
	return strings.TrimSpace(f[colFirstName] + " " + f[colLastName])
}

// checkCells validates the cells whose errors should name their column
// before the single-user validation runs (which names the API field).
func checkCells(f []string) error {
	checks := []struct {
		col int
		fn  func(string) error
	}{
		{colUUID, store.ValidUUID},
		{colEmail, validEmail},
		{colUsername, validUsername},
		{colPNumber, store.ValidPNumber},
		{colSENumber, store.ValidSE},
	}
	for _, c := range checks {
		if v := f[c.col]; v != "" {
			if err := c.fn(v); err != nil {
				return cellErr(c.col, err)
			}
		}
	}
	for _, m := range splitList(f[colMeans]) {
		if err := validText("identification means", m, 100); err != nil {
			return cellErr(colMeans, err)
		}
	}
	for _, rid := range splitList(f[colRights]) {
		if err := validObjectID("right", rid); err != nil {
			return cellErr(colRights, err)
		}
	}
	return nil
}

// planCreate is a row of a create import: planUserCreate (status new,
// no activation mail, source import:<id>) and a grant.create for each
// right of Rettigheder, every check passed before anything is written.
func (im *importer) planCreate(f []string, userID *string) (planFunc, error) {
	if err := checkCells(f); err != nil {
		return nil, err
	}
	req := &UserCreateRequest{ID: strings.ToLower(f[colUUID]), Name: rowName(f), Email: f[colEmail], Username: f[colUsername],
		PNumber: f[colPNumber], SENumber: f[colSENumber], Language: f[colLanguage], Phone: f[colPhone],
		Justification: f[colJustification]}
	if req.ID == "" {
		req.ID = uuid.NewString()
	}
	var keys []importKey
	keys = append(keys, newImportKey(colUUID, "id", req.ID))
	if req.Email != "" {
		keys = append(keys, newImportKey(colEmail, "email", req.Email))
	}
	if req.Username != "" {
		keys = append(keys, newImportKey(colUsername, "username", req.Username))
	}
	if f[colCPR] != "" {
		n, h, err := im.parseCPR(f[colCPR])
		if err != nil {
			return nil, err
		}
		// Refused here, not by the store's guard when the row is applied:
		// a refusal there discards and re-runs the batch.
		if err := im.s.cpr.allow(cprKey(im.c)); err != nil {
			return nil, err
		}
		req.CPR = n
		keys = append(keys, newImportKey(colCPR, "cpr", h))
	}
	bd, err := parseBirthDate(f[colBirthDate])
	if err != nil {
		return nil, err
	}
	req.BirthDate = bd
	if req.Anonymous, _, err = parseAnonymous(f[colAnonymous]); err != nil {
		return nil, err
	}
	if req.Name == "" {
		return nil, invalid("Fornavn or Efternavn is required")
	}
	means, rights := splitList(f[colMeans]), splitList(f[colRights])
	var out UserAnswer
	// The means go in the create itself, so A16 sees them.
	req.IdentificationMeans = means
	create := im.s.planUserCreate(im.c, im.cvr, req, "import:"+im.id, &out, nil)
	return func(tx *store.Tx) (*plan, error) {
		if err := im.claim(keys...); err != nil {
			return nil, err
		}
		p, err := create(tx)
		if err != nil {
			return nil, err
		}
		target := &store.User{ID: req.ID, Org: im.cvr, Kind: store.KindEmployee, Anonymous: req.Anonymous,
			Status: store.StatusNew, PNumber: req.PNumber, BirthDate: req.BirthDate, CPRLinked: req.CPR != "",
			Source: "import:" + im.id}
		grants, checks, err := im.planGrants(tx, target, rights, req.Justification)
		if err != nil {
			return nil, err
		}
		*userID = req.ID
		return (&plan{checks: append(p.checks, checks...), apply: im.applyAll(p.apply, grants)}).watchRoles(im.cvr, req.ID), nil
	}, nil
}

// applyAll runs a row's writes: the user's plan, then its grants. Any
// error is an applyError (the batch is discarded and run again).
func (im *importer) applyAll(first func(tx *store.Tx) error, grants []*store.Grant) func(tx *store.Tx) error {
	return func(tx *store.Tx) error {
		if first != nil {
			if err := first(tx); err != nil {
				return &applyError{err}
			}
		}
		for _, g := range grants {
			if err := tx.CreateGrant(g); err != nil {
				return &applyError{fmt.Errorf("grant %s: %w", g.Right, err)}
			}
		}
		return nil
	}
}

func setMeans(tx *store.Tx, id string, means []string) error {
	u, err := tx.GetUser(id)
	if err != nil {
		return err
	}
	u.IdentificationMeans = means
	return tx.UpdateUser(u)
}

// planGrants is a grant.create of each right for user u, scoped to the
// user's P-number if set, else to the CVR; rights u already holds
// directly with that scope are left out. Each is authorised and checked
// like POST /v1/users/{id}/grants (admin/grants.go).
func (im *importer) planGrants(tx *store.Tx, u *store.User, rights []string, justification string) ([]*store.Grant, []map[string]any, error) {
	if len(rights) == 0 {
		return nil, nil, nil
	}
	if err := im.s.authorizeIn(tx, im.c, im.cvr, "user", objGrant, actCreate); err != nil {
		return nil, nil, err
	}
	scope := &GrantScope{Type: store.ScopeCVR, Value: im.cvr}
	if u.PNumber != "" {
		scope = &GrantScope{Type: store.ScopeP, Value: u.PNumber}
	}
	var held []store.EffectiveGrant
	if _, err := tx.GetUser(u.ID); err == nil {
		if held, err = tx.EffectiveGrants(u.ID); err != nil {
			return nil, nil, err
		}
	} else if !store.IsNotFound(err) {
		return nil, nil, err
	}
	org, err := im.s.loadOrgIn(tx, im.cvr)
	if err != nil {
		return nil, nil, err
	}
	holders, err := im.s.adminHolders(tx, im.cvr)
	if err != nil {
		return nil, nil, err
	}
	var grants []*store.Grant
	var checks []map[string]any
	for _, rid := range rights {
		if slices.ContainsFunc(held, func(g store.EffectiveGrant) bool {
			return g.Source == "direct" && g.Right == rid && g.Scope.Type == scope.Type && g.Scope.Value == scope.Value
		}) {
			continue
		}
		req := &GrantRequest{Right: rid, Scope: scope, Justification: justification}
		if err := req.validate(tx.Now()); err != nil {
			return nil, nil, cellErr(colRights, err)
		}
		r, err := tx.GetRight(rid)
		if store.IsNotFound(err) {
			return nil, nil, invalid("Rettigheder: right %s is not in the catalogue", rid)
		} else if err != nil {
			return nil, nil, err
		}
		g := &store.Grant{ID: uuid.NewString(), Right: r.ID, HolderType: store.HolderUser, HolderID: u.ID, Org: im.cvr,
			Scope: store.Scope{Type: scope.Type, Value: scope.Value}, GrantedBy: im.c.actor, Justification: justification}
		in := im.s.baseInput(im.c, "grant.create", org)
		in["target"], in["grant"], in["right"], in["admin_holders"] = userTarget(u), grantInput(g), rightInput(r), holders
		grants, checks = append(grants, g), append(checks, in)
	}
	return grants, checks, nil
}

// identify finds the user of an update or delete row: at least 2 of
// UUID, CPR-nummer and E-mail, all naming the same user of the org (the
// CPR number is looked up in the org's own index only). The errors name
// the columns, never their values. A row whose CPR-nummer names no user
// or another user than its other cells is a CPR refusal (cprLimiter):
// it could tell a guessed number of a known user.
func (im *importer) identify(tx *store.Tx, f []string) (u *store.User, err error) {
	if f[colCPR] != "" {
		if err := im.s.cpr.allow(cprKey(im.c)); err != nil {
			return nil, err
		}
	}
	cprLooked := false
	defer func() {
		if err != nil && cprLooked {
			im.s.cpr.refused(cprKey(im.c))
		}
	}()
	return im.identifyIn(tx, f, &cprLooked)
}

func (im *importer) identifyIn(tx *store.Tx, f []string, cprLooked *bool) (*store.User, error) {
	n := 0
	for _, col := range []int{colUUID, colCPR, colEmail} {
		if f[col] != "" {
			n++
		}
	}
	if n < 2 {
		return nil, invalid("identify the user by at least 2 of UUID, CPR-nummer and E-mail")
	}
	var found *store.User
	same := func(col int, u *store.User, err error) error {
		if store.IsNotFound(err) {
			return store.Errorf(store.ENotFound, "user not found: no user of the organisation has this %s", csvColumns[col])
		} else if err != nil {
			return err
		}
		if u.Org != im.cvr {
			return store.Errorf(store.ENotFound, "user not found: no user of the organisation has this %s", csvColumns[col])
		}
		if found != nil && found.ID != u.ID {
			return invalid("UUID, CPR-nummer and E-mail point to different users")
		}
		found = u
		return nil
	}
	if id := f[colUUID]; id != "" {
		if err := store.ValidUUID(id); err != nil {
			return nil, cellErr(colUUID, err)
		}
		u, err := tx.GetUser(strings.ToLower(id))
		if err := same(colUUID, u, err); err != nil {
			return nil, err
		}
	}
	if f[colCPR] != "" {
		_, h, err := im.parseCPR(f[colCPR])
		if err != nil {
			return nil, err
		}
		*cprLooked = true
		u, err := tx.UserByCPRHash(im.cvr, h)
		if err := same(colCPR, u, err); err != nil {
			return nil, err
		}
	}
	if e := f[colEmail]; e != "" {
		if err := validEmail(e); err != nil {
			return nil, cellErr(colEmail, err)
		}
		u, err := tx.UserByEmail(e)
		if err := same(colEmail, u, err); err != nil {
			return nil, err
		}
	}
	if err := im.claim(newImportKey(colUUID, "id", found.ID)); err != nil {
		return nil, err
	}
	return found, nil
}

// planUpdate is a row of an update import: the non-empty cells that
// differ from the user become a PATCH (planUserUpdate, same checks), and
// Rettigheder adds grants. Empty cells leave fields unchanged; the
// identifying cells (UUID, CPR-nummer, E-mail) are not changed. A row
// that changes nothing is "unchanged" and writes nothing.
// rowPatch is the change an update row asks of the user u: every cell
// given that differs from the user's field; changed says whether any
// does.
func rowPatch(f []string, u *store.User) (patch UserPatchRequest, changed bool, err error) {
	set := func(dst **string, v, cur string) {
		if v != "" && v != cur {
			*dst, changed = &v, true
		}
	}
	if f[colFirstName] != "" || f[colLastName] != "" {
		if f[colFirstName] == "" || f[colLastName] == "" {
			return patch, false, invalid("Fornavn and Efternavn must both be given to change the name")
		}
		set(&patch.Name, rowName(f), u.Name)
	}
	bd, err := parseBirthDate(f[colBirthDate])
	if err != nil {
		return patch, false, err
	}
	set(&patch.BirthDate, bd, u.BirthDate)
	set(&patch.Phone, f[colPhone], u.Phone)
	if !strings.EqualFold(f[colUsername], u.Username) {
		set(&patch.Username, f[colUsername], u.Username)
	}
	set(&patch.PNumber, f[colPNumber], u.PNumber)
	set(&patch.SENumber, f[colSENumber], u.SENumber)
	set(&patch.Language, f[colLanguage], u.Language)
	set(&patch.Justification, f[colJustification], u.Justification)
	anon, anonSet, err := parseAnonymous(f[colAnonymous])
	if err != nil {
		return patch, false, err
	}
	if anonSet && anon != u.Anonymous {
		patch.Anonymous, changed = &anon, true // A8 refuses it
	}
	return patch, changed, nil
}

func (im *importer) planUpdate(f []string, userID, status *string) planFunc {
	return func(tx *store.Tx) (*plan, error) {
		if err := checkCells(f); err != nil {
			return nil, err
		}
		u, err := im.identify(tx, f)
		if err != nil {
			return nil, err
		}
		patch, changed, err := rowPatch(f, u)
		if err != nil {
			return nil, err
		}
		if patch.Username != nil {
			if err := im.claim(newImportKey(colUsername, "username", *patch.Username)); err != nil {
				return nil, err
			}
		}
		means := splitList(f[colMeans])
		meansChanged := len(means) > 0 && !slices.Equal(means, u.IdentificationMeans)
		next := *u
		if patch.PNumber != nil {
			next.PNumber = *patch.PNumber
		}
		grants, checks, err := im.planGrants(tx, &next, splitList(f[colRights]), f[colJustification])
		if err != nil {
			return nil, err
		}
		*userID = u.ID
		p := &plan{}
		switch {
		case changed:
			if meansChanged {
				// One user.update with the means in its change (A16).
				patch.IdentificationMeans, meansChanged = &means, false
			}
			var out UserAnswer
			if p, err = im.s.planUserUpdate(im.c, u.ID, &patch, &out)(tx); err != nil {
				return nil, err
			}
		case meansChanged:
			if p, err = im.planMeans(tx, u, means); err != nil {
				return nil, err
			}
		case len(grants) == 0:
			*status = rowUnchanged
			return &plan{apply: func(*store.Tx) error { return nil }}, nil
		default: // grants only
			p.apply = nil
		}
		apply := p.apply
		if changed && meansChanged {
			apply = func(tx *store.Tx) error {
				if err := p.apply(tx); err != nil {
					return err
				}
				return setMeans(tx, u.ID, means)
			}
		}
		return (&plan{checks: append(p.checks, checks...), apply: im.applyAll(apply, grants)}).watchRoles(u.Org, u.ID), nil
	}
}

// planMeans is an update that only changes the identification means: a
// user.update like PATCH, checked with the same input shape.
func (im *importer) planMeans(tx *store.Tx, u *store.User, means []string) (*plan, error) {
	if err := im.s.authorize(im.c, u.Org, "user", objUser, actUpdate); err != nil {
		return nil, err
	}
	org, err := loadOrg(tx, u.Org)
	if err != nil {
		return nil, err
	}
	holders, err := im.s.adminHolders(tx, u.Org)
	if err != nil {
		return nil, err
	}
	in := im.s.baseInput(im.c, "user.update", org)
	in["target"], in["change"], in["admin_holders"] = userTarget(u), map[string]any{"identification_means": means}, holders
	return &plan{checks: []map[string]any{in}, apply: func(tx *store.Tx) error {
		if err := setMeans(tx, u.ID, means); err != nil {
			return err
		}
		tx.Audit(store.AuditEvent{Type: "user.update.fields", Org: u.Org, UserID: u.ID, Object: u.ID,
			Details: map[string]any{"fields": []string{"identification_means"}}})
		return nil
	}}, nil
}

// planDelete is a row of a delete import: planUserDelete of the
// identified user (A2, A9 and the rest checked as for DELETE).
func (im *importer) planDelete(f []string, userID *string) planFunc {
	return func(tx *store.Tx) (*plan, error) {
		u, err := im.identify(tx, f)
		if err != nil {
			return nil, err
		}
		p, err := im.s.planUserDelete(im.c, u.ID)(tx)
		if err != nil {
			return nil, err
		}
		*userID = u.ID
		return (&plan{checks: p.checks, apply: im.applyAll(p.apply, nil)}).watchRoles(u.Org, u.ID), nil
	}
}

// reportError is the error object {code, message, rule} of a refused row
// of an import report (the shape of every Adgang error answer).
type reportError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Rule    string `json:"rule,omitempty"`
}

// rowErrorDetail is the {code, message, rule} of a refused row; the
// message never holds a CPR number. An error that is not a *store.Error
// (a store or policy fault) is reported as internal without detail.
func rowErrorDetail(err error) *reportError {
	var se *store.Error
	if !errors.As(err, &se) {
		return &reportError{Code: store.EInternal, Message: "internal error"}
	}
	msg := pdp.MaskCPR(columnMessage(se.Message))
	if containsCPR(msg) {
		// A cell echoed in a message (e.g. an unknown right) that holds a
		// CPR number the display mask does not catch (a fictitious day,
		// no word boundary): the message is withheld.
		msg = "the row was refused; the message is withheld because it would contain a CPR number"
	}
	return &reportError{Code: se.ReasonCode(), Message: msg, Rule: se.Rule}
}

// apiFieldColumns names the CSV column of a field of the single-user
// API, whose validation messages start with the field name.
var apiFieldColumns = []struct{ field, col string }{
	{"birth_date", "Fødselsdato"}, {"p_number", "P-nummer"}, {"se_number", "SE-nummer"},
	{"justification", "Begrundelse"}, {"language", "Sprog"}, {"phone", "Telefon"},
	{"username", "Brugernavn"}, {"email", "E-mail"}, {"cpr", "CPR-nummer"}, {"name", "Fornavn/Efternavn"},
	{"id", "UUID"},
}

func columnMessage(msg string) string {
	for _, fc := range apiFieldColumns {
		if rest, ok := strings.CutPrefix(msg, fc.field); ok && (strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, ":")) {
			return fc.col + rest
		}
	}
	return msg
}

// markNotApplied reports the rows of an atomic import that passed but
// were not applied because another row was refused.
func (im *importer) markNotApplied() {
	if !im.failed && im.fatal == nil {
		return
	}
	for i := range im.results {
		if im.results[i].Status != rowError && im.applied == 0 {
			im.results[i].Status = rowNotApplied
		}
	}
}

// finish records the import batch with its final row count and the
// import's audit event.
func (im *importer) finish(ctx context.Context) error {
	counts := im.counts()
	rev, err := im.s.st.Update(ctx, im.c.actor, func(tx *store.Tx) error {
		if err := tx.PutImport(&store.ImportBatch{ID: im.id, Org: im.cvr, Mode: im.mode, CreatedAt: tx.Now(),
			Rows: im.rows}); err != nil {
			return err
		}
		tx.Audit(store.AuditEvent{Type: "import." + im.mode, Org: im.cvr, Object: im.id,
			Details: map[string]any{"rows": im.rows, "applied": im.applied, "statuses": counts,
				"atomic": im.atomic, "stopped": im.fatal != nil}})
		return nil
	})
	if err != nil {
		return fmt.Errorf("import %s: record batch: %w", im.id, err)
	}
	im.rev = rev
	return nil
}

func (im *importer) counts() map[string]int {
	out := map[string]int{}
	for _, r := range im.results {
		out[r.Status]++
	}
	return out
}

// Encode writes the report as JSON: {revision, import_id, mode, dry_run,
// atomic, applied, summary, error?, rows:[…]}, row by row.
func (r *ImportReport) Encode(w io.Writer) error { return r.im.writeReport(w, r.dryRun, r.atomic) }

// writeReport streams {revision, import_id, mode, dry_run, atomic,
// applied, summary, error?, rows:[…]} row by row.
func (im *importer) writeReport(w io.Writer, dryRun, atomic bool) error {
	head := map[string]any{"revision": im.rev, "import_id": im.id, "mode": im.mode, "dry_run": dryRun,
		"atomic": atomic, "applied": im.applied, "summary": im.counts()}
	if dryRun {
		head["import_id"] = ""
	}
	if im.fatal != nil {
		d := rowErrorDetail(im.fatal)
		if isBodyLimit(im.fatal) {
			d = &reportError{Code: store.ReasonTooLarge, Message: fmt.Sprintf(
				"the file is larger than %d bytes; the rows after row %d were not read", maxImportBytes, im.rows+1)}
		}
		head["error"] = d
	}
	b, err := json.Marshal(head)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	_, _ = bw.Write(b[:len(b)-1])
	_, _ = bw.WriteString(`,"rows":[`)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for i := range im.results {
		if i > 0 {
			_ = bw.WriteByte(',')
		}
		_ = enc.Encode(&im.results[i])
	}
	_, _ = bw.WriteString("]}\n")
	return bw.Flush()
}

// spoolFile holds the body of an atomic import for its two passes: an
// unlinked temporary file, AES-CTR encrypted with a key that exists only
// in memory, so the CPR numbers in it never rest readable on disk.
type spoolFile struct {
	f      *os.File
	block  cipher.Block
	iv     []byte
	reader func() io.Reader
}

func spoolBody(body io.Reader) (*spoolFile, error) {
	key, iv := make([]byte, 32), make([]byte, aes.BlockSize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if _, err := rand.Read(iv); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp("", "adgang-import-*")
	if err != nil {
		return nil, fmt.Errorf("import spool: %w", err)
	}
	_ = os.Remove(f.Name()) // unlinked: gone when closed, even after a crash
	sp := &spoolFile{f: f, block: block, iv: iv}
	sp.reader = func() io.Reader {
		return bufio.NewReaderSize(&cipher.StreamReader{S: cipher.NewCTR(sp.block, sp.iv), R: sp.f}, 64<<10)
	}
	bw := bufio.NewWriterSize(&cipher.StreamWriter{S: cipher.NewCTR(block, iv), W: f}, 64<<10)
	if _, err := io.Copy(bw, body); err != nil {
		sp.Close()
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		sp.Close()
		return nil, fmt.Errorf("import spool: %w", err)
	}
	return sp, sp.rewind()
}

func (sp *spoolFile) rewind() error {
	_, err := sp.f.Seek(0, io.SeekStart)
	return err
}

func (sp *spoolFile) Close() error {
	name := sp.f.Name()
	err := sp.f.Close()
	_ = os.Remove(name)
	return err
}
