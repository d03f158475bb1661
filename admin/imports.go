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
	"net/http"
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
	importBatchRows = 250
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
	Row    int              `json:"row"`
	Status string           `json:"status"`
	UserID string           `json:"user_id,omitempty"`
	Error  *pdp.ErrorDetail `json:"error,omitempty"`
}

// importer carries out one import request: one or two passes over the
// file, each a series of store transactions of importBatchRows rows.
type importer struct {
	s      *Server
	c      *caller
	cvr    string
	mode   string
	id     string // the import batch id; users created get source import:<id>
	dryRun bool   // this pass rolls every transaction back
	atomic bool   // this pass stops at the first refused row

	// seen holds the unique keys (hashed) of the rows that passed in this
	// pass, so a dry run, whose earlier transactions are rolled back,
	// still finds duplicates within the file. Nil in a real pass: there
	// the store's unique indexes find them.
	seen map[uint64]int

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

// errAtomicStop rolls back the batch of an atomic pass at its first
// refused row.
var errAtomicStop = errors.New("import: atomic stop")

// applyError marks an error of a row's writes (not of its checks): the
// transaction may hold part of the row, so the batch must be discarded.
type applyError struct{ err error }

func (e *applyError) Error() string { return e.err.Error() }
func (e *applyError) Unwrap() error { return e.err }

func (s *Server) handleImportTemplate(w http.ResponseWriter, r *http.Request, c *caller) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="adgang-import.csv"`)
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, csvTemplate())
}

// handleImport is POST /v1/orgs/{cvr}/imports?mode=create|update|delete
// &dry_run=&atomic=. The body is streamed (never held in memory); each
// row gets the validation and policy checks of the single-user API and a
// line in the report. A refused row changes nothing.
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
func (s *Server) handleImport(w http.ResponseWriter, r *http.Request, c *caller) {
	cvr := pathVar(r, "cvr")
	q := r.URL.Query()
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
		s.writeError(w, r, invalid("mode must be create, update or delete"))
		return
	}
	dryRun, err := boolParam(q.Get("dry_run"), "dry_run")
	if err == nil {
		var atomic bool
		atomic, err = boolParam(q.Get("atomic"), "atomic")
		if err == nil {
			err = s.startImport(w, r, c, cvr, mode, act, dryRun, atomic)
		}
	}
	if err != nil {
		s.writeError(w, r, err)
	}
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

// startImport authorises the caller, runs the passes and writes the
// report; an error before the first row is returned for writeError.
func (s *Server) startImport(w http.ResponseWriter, r *http.Request, c *caller, cvr, mode, act string, dryRun, atomic bool) error {
	ctx := r.Context()
	if err := validCVR(cvr); err != nil {
		return err
	}
	if err := s.authorize(c, cvr, "organisation", objUser, act); err != nil {
		return err
	}
	if err := s.st.View(ctx, func(tx *store.Tx) error { _, err := loadOrg(tx, cvr); return err }); err != nil {
		return err
	}
	if r.ContentLength > maxImportBytes {
		writeTooLarge(w)
		return nil
	}
	body := io.Reader(http.MaxBytesReader(w, r.Body, maxImportBytes))
	im := &importer{s: s, c: c, cvr: cvr, mode: mode, id: uuid.NewString(), dryRun: dryRun}
	if atomic && !dryRun {
		spool, err := spoolBody(body)
		if err != nil {
			if isBodyLimit(err) {
				writeTooLarge(w)
				return nil
			}
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
	} else if err := im.pass(ctx, body); err != nil {
		return err
	}
	if isBodyLimit(im.fatal) && im.applied == 0 {
		writeTooLarge(w)
		return nil
	}
	if im.applied > 0 {
		if err := im.finish(ctx); err != nil {
			return err
		}
	}
	if im.rev == 0 {
		im.rev = s.st.Revision()
	}
	s.log.Info().Str("org", cvr).Str("import", im.id).Str("mode", mode).Bool("dry_run", dryRun).
		Bool("atomic", atomic).Int("rows", im.rows).Int("applied", im.applied).Msg("csv import")
	return im.writeReport(w, dryRun, atomic)
}

func writeTooLarge(w http.ResponseWriter) {
	pdp.WriteJSON(w, http.StatusRequestEntityTooLarge, pdp.ErrorBody{Error: pdp.ErrorDetail{Code: store.ReasonTooLarge,
		Message: fmt.Sprintf("the file is larger than %d bytes; nothing was imported", maxImportBytes)}})
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
	final := make([]bool, len(rows)) // the row's result is settled (its writes failed)
	for {
		var seenAdd map[uint64]int
		applied := 0
		rev, err := im.s.st.Update(ctx, im.c.actor, func(tx *store.Tx) error {
			seenAdd, applied = nil, 0
			if im.seen != nil {
				seenAdd = map[uint64]int{}
			}
			for i, row := range rows {
				if final[i] {
					continue
				}
				res[i] = im.runRow(ctx, tx, row, seenAdd)
				if res[i].Status != rowError {
					if res[i].Status != rowUnchanged {
						applied++
					}
					continue
				}
				if res[i].Error == nil { // writes failed half-way: see runRow
					final[i] = true
					res[i].Error = res[i].errorFrom()
					return errDiscardBatch
				}
				if im.atomic {
					return errAtomicStop
				}
			}
			if im.dryRun {
				return errDryRun
			}
			if applied > 0 {
				if err := tx.PutImport(&store.ImportBatch{ID: im.id, Org: im.cvr, Mode: im.mode, CreatedAt: tx.Now(),
					Rows: im.rows}); err != nil {
					return &applyError{err}
				}
			}
			return nil
		})
		var se *store.Error
		switch {
		case errors.Is(err, errDiscardBatch):
			continue
		case errors.As(err, &se) && se.Reason == store.ReasonTooLarge && len(rows) > 1:
			half := len(rows) / 2
			if err := im.runBatch(ctx, rows[:half]); err != nil {
				return err
			}
			if im.atomic && im.failed {
				return nil
			}
			return im.runBatch(ctx, rows[half:])
		case errors.Is(err, errAtomicStop):
			for i := range res {
				if res[i].Status == rowError {
					im.results = append(im.results, res[i])
					im.failed = true
					return nil
				}
				res[i].Status = rowNotApplied
				im.results = append(im.results, res[i])
			}
			return nil
		case errors.Is(err, errDryRun):
		case err != nil:
			return fmt.Errorf("import batch from row %d: %w", rows[0].Row, err)
		default:
			im.rev = rev
			im.applied += applied
			if applied > 0 {
				im.s.syncRoles(ctx, rev)
			}
		}
		for k, v := range seenAdd {
			im.seen[k] = v
		}
		for _, r := range res {
			if r.Status == rowError {
				im.failed = true
			}
		}
		im.results = append(im.results, res...)
		return nil
	}
}

// runRow plans, checks and (unless refused) applies one row in tx.
func (im *importer) runRow(ctx context.Context, tx *store.Tx, row csvRow, seenAdd map[uint64]int) (res rowResult) {
	res.Row = row.Row
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
	var keys []uint64
	var err error
	var status string
	switch im.mode {
	case importModeCreate:
		pf, keys, err = im.planCreate(f, &res.UserID)
		status = pick(im.dryRun, rowWouldCreate, rowCreated)
	case importModeUpdate:
		pf = im.planUpdate(f, &res.UserID, &status)
	default:
		pf = im.planDelete(f, &res.UserID)
		status = pick(im.dryRun, rowWouldDelete, rowDeleted)
	}
	if err != nil {
		return fail(err)
	}
	if im.seen != nil {
		for _, k := range keys {
			if prev, ok := im.seen[k]; ok {
				return fail(store.RuleError(store.EConflict, "A12", "duplicate",
					"%s is already used by row %d of this file", keyColumn(k, f), prev))
			}
			if prev, ok := seenAdd[k]; ok {
				return fail(store.RuleError(store.EConflict, "A12", "duplicate",
					"%s is already used by row %d of this file", keyColumn(k, f), prev))
			}
		}
	}
	_, err = im.s.runPlan(ctx, tx, pf)
	if err != nil {
		var ae *applyError
		if errors.As(err, &ae) {
			// The row's writes failed after its checks passed: the
			// transaction may hold part of it. The caller discards it.
			res.Status, res.UserID = rowError, ""
			res.applyErr = ae.err
			return res
		}
		return fail(err)
	}
	if status == "" {
		status = pick(im.dryRun, rowWouldUpdate, rowUpdated)
	}
	res.Status = status
	if seenAdd != nil {
		for _, k := range keys {
			seenAdd[k] = row.Row
		}
		if res.UserID != "" {
			seenAdd[uniqueKey("id", res.UserID)] = row.Row
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
