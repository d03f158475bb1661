package admin

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/adgang/adgang/admin/jobs/lifecycle"
	"github.com/adgang/adgang/pdp"
	pdpapi "github.com/adgang/adgang/pdp/api"
	"github.com/adgang/adgang/store"
)

// This file holds the user lifecycle routes of SPEC §5 (L3–L9): activation
// and the outbox, login activity and bulk status changes, Unilogin-style
// manual associations, the lifecycle preview, and local password
// administration. Every change goes through a planFunc, so it is checked
// by the adgang.admin rules and stored with its audit event in one
// transaction.

// maxBulkIDs bounds the user_ids of one bulk request.
const maxBulkIDs = 1000

// bulkRequest is the body of the bulk routes.
type bulkRequest struct {
	UserIDs []string `json:"user_ids"`
}

// bulkResult is one user's line of a bulk answer.
type bulkResult struct {
	UserID string         `json:"user_id"`
	Status string         `json:"status"` // ok | error
	Detail map[string]any `json:"detail,omitempty"`
	Error  *errorDetail   `json:"error,omitempty"`
}

// bulkRequestIn reads the org and the user ids of a bulk route and
// checks that the caller may update users there; on failure the error is
// written and ok is false.
func (s *Service) bulkRequestIn(w http.ResponseWriter, r *http.Request, c *Caller) (cvr string, ids []string, ok bool) {
	cvr = pathVar(r, "cvr")
	err := validCVR(cvr)
	if err == nil {
		ids, err = s.decodeBulk(w, r)
	}
	if err == nil {
		err = s.authorizeOrg(r.Context(), c, cvr, actUpdate)
	}
	if err != nil {
		s.writeError(w, r, err)
		return "", nil, false
	}
	return cvr, ids, true
}

func (s *Service) decodeBulk(w http.ResponseWriter, r *http.Request) ([]string, error) {
	var req bulkRequest
	if err := decodeBody(w, r, &req); err != nil {
		return nil, err
	}
	if len(req.UserIDs) == 0 || len(req.UserIDs) > maxBulkIDs {
		return nil, invalid("user_ids must list 1-%d user ids", maxBulkIDs)
	}
	seen := map[string]bool{}
	for _, id := range req.UserIDs {
		if seen[id] {
			return nil, invalid("user_ids lists %s twice", id)
		}
		seen[id] = true
	}
	return req.UserIDs, nil
}

// runBulk applies one planFunc per user, each in its own transaction, so
// a refused user changes nothing and does not stop the others.
func (s *Service) runBulk(ctx context.Context, c *Caller, ids []string, pf func(id string, detail map[string]any) planFunc) (uint64, []bulkResult) {
	results := make([]bulkResult, 0, len(ids))
	rev := s.st.Revision()
	for _, id := range ids {
		detail := map[string]any{}
		r, err := s.write(ctx, c, pf(id, detail))
		res := bulkResult{UserID: id, Status: "ok"}
		if err != nil {
			d := detailOf(err)
			res.Status, res.Error = "error", &d
		} else {
			rev = r
			if len(detail) > 0 {
				res.Detail = detail
			}
		}
		results = append(results, res)
	}
	return rev, results
}

// inOrg wraps a per-user plan so that a user of another org than the
// route's is reported as not found (A1), like a user the caller cannot see.
func inOrg(cvr, id string, pf planFunc) planFunc {
	return func(tx *store.Tx) (*plan, error) {
		if err := validUserID(id); err != nil {
			return nil, err
		}
		u, err := loadUser(tx, id)
		if err != nil {
			return nil, err
		}
		if u.Org != cvr {
			return nil, notFound("user")
		}
		return pf(tx)
	}
}

// --- activation (L7) ---

// randomSecret returns n random characters of an alphabet without look-
// alikes (no 0/O, 1/I/l), for activation codes and temporary passwords.
func randomSecret(n int, alphabet string) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

const codeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789" // 32 characters: 5 bits each

// newActivationSecret is a one-time activation code (birth-date users,
// 12 characters, 60 bits) or mail token (CPR users, 32 bytes).
func newActivationSecret(mail bool) string {
	if mail {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			panic(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	c := randomSecret(12, codeAlphabet)
	return c[:4] + "-" + c[4:8] + "-" + c[8:]
}

// activationOut is what one activation issued.
type activationOut struct {
	method string // mail | code
	code   string // the code, for the one answer that shows it
	mailID string
}

// planActivation sends (CPR users: a mail with a one-time link token to
// the outbox) or issues (birth-date users: a one-time code) the activation
// of a new user; again means resend or regenerate: the previous secret
// stops working. bulk marks the bulk route, where L7 refuses birth-date
// users.
func (s *Service) planActivation(c *Caller, id string, bulk bool, out *activationOut) planFunc {
	return func(tx *store.Tx) (*plan, error) {
		u, in, err := s.userInput(tx, c, id, actUpdate, "user.activation")
		if err != nil {
			return nil, err
		}
		in["change"] = map[string]any{"bulk": bulk}
		return &plan{checks: []map[string]any{in}, apply: func(tx *store.Tx) error {
			return issueActivation(tx, u, bulk, out)
		}}, nil
	}
}

// issueActivation sends (CPR users: a mail with a one-time token to the
// outbox) or issues (birth-date users: a one-time code in out) u's
// activation and stores only its hash; a previous secret stops working.
func issueActivation(tx *store.Tx, u *store.User, bulk bool, out *activationOut) error {
	mail := u.CPRLinked
	if mail && u.Email == "" {
		return invalid("user %s has no e-mail address to send the activation to", u.ID)
	}
	secret := newActivationSecret(mail)
	hash, err := store.HashPassword(secret)
	if err != nil {
		return err
	}
	next := *u
	next.ActivationHash = hash
	if err := tx.UpdateUser(&next); err != nil {
		return err
	}
	out.method = "code"
	if mail {
		out.method = "mail"
		out.mailID = fmt.Sprintf("activation-%s-%d", u.ID, tx.Now().UnixNano())
		if err := tx.PutMail(&store.OutboxMail{ID: out.mailID, To: u.Email, UserID: u.ID, Kind: "activation",
			Subject: "Aktivér din bruger / Activate your user",
			Body: "Hej " + u.Name + "\n\nDin bruger er oprettet. Aktivér den med denne kode:\n\n    " + store.SecretMark +
				"\n\nBrug koden sammen med dit bruger-id " + u.ID + " (POST /v1/activate).\n",
			Secret: secret, CreatedAt: tx.Now()}); err != nil {
			return err
		}
	} else {
		out.code = secret
	}
	tx.Audit(store.AuditEvent{Type: "user.activation", Org: u.Org, UserID: u.ID, Object: u.ID,
		Details: map[string]any{"rule": "L7", "method": out.method, "bulk": bulk}})
	return nil
}

func (s *Service) handleSendActivation(w http.ResponseWriter, r *http.Request, c *Caller) {
	if err := decodeOptionalBody(w, r, &struct{}{}); err != nil {
		s.writeError(w, r, err)
		return
	}
	id := pathVar(r, "id")
	var out activationOut
	rev, err := s.write(r.Context(), c, s.planActivation(c, id, false, &out))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ans := map[string]any{"revision": rev, "user_id": id, "method": out.method}
	if out.code != "" {
		ans["code"] = out.code // shown in this answer only; stored hashed
	}
	if out.mailID != "" {
		ans["mail_id"] = out.mailID
	}
	writeJSON(w, http.StatusOK, ans)
}

func (s *Service) handleBulkActivation(w http.ResponseWriter, r *http.Request, c *Caller) {
	cvr, ids, ok := s.bulkRequestIn(w, r, c)
	if !ok {
		return
	}
	rev, results := s.runBulk(r.Context(), c, ids, func(id string, detail map[string]any) planFunc {
		var out activationOut
		pf := s.planActivation(c, id, true, &out)
		return inOrg(cvr, id, func(tx *store.Tx) (*plan, error) {
			p, err := pf(tx)
			if err != nil {
				return nil, err
			}
			apply := p.apply
			p.apply = func(tx *store.Tx) error {
				if err := apply(tx); err != nil {
					return err
				}
				detail["method"], detail["mail_id"] = out.method, out.mailID
				return nil
			}
			return p, nil
		})
	})
	writeJSON(w, http.StatusOK, map[string]any{"revision": rev, "results": results})
}

// activateRequest is the body of POST /v1/activate: the user's own
// activation with the code (birth-date users) or the mailed token.
type activateRequest struct {
	UserID string `json:"user_id"`
	Code   string `json:"code,omitempty"`
	Token  string `json:"token,omitempty"`
}

// errActivation answers every failed activation alike, so the answer does
// not tell whether the user exists or has an activation pending.
var errActivation = store.RuleError(store.EInvalid, "L7", "invalid_activation", "unknown user, or wrong or used activation code")

// Activation throttling (POST /v1/activate is reachable without
// credentials): failed attempts per user id, and every attempt per source
// address, each with a budget per window; over budget answers 429
// rate_limited without hashing anything.
const (
	activationUserFailures = 5
	activationUserWindow   = 15 * time.Minute
	activationSourceLimit  = 30
	activationSourceWindow = time.Minute
)

// activationThrottle holds the two budgets of POST /v1/activate.
type activationThrottle struct {
	user, source *pdp.Throttle
}

func newActivationThrottle(now func() time.Time) *activationThrottle {
	return &activationThrottle{
		user:   pdp.NewThrottle(activationUserFailures, activationUserWindow, now),
		source: pdp.NewThrottle(activationSourceLimit, activationSourceWindow, now),
	}
}

// verifyActivation checks a secret against a stored activation hash. It
// is a variable so that tests can observe (and hold) a hash in progress.
var verifyActivation = store.VerifyPassword

// handleActivate is the user's own activation (no admin credentials: the
// one-time secret is the credential). The status becomes active and the
// secret stops working.
//
// The argon2id check runs outside every store transaction: the hash is
// read in a view, verified with no lock held (concurrent hashing is
// bounded by the store's argon2 slots), and the change is written in a
// short update that first checks that the user and its activation hash
// are still the ones verified. Attempts are throttled per user and source.
func (s *Service) handleActivate(w http.ResponseWriter, r *http.Request, _ *Caller) {
	var req activateRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	secret := req.Code
	if secret == "" {
		secret = req.Token
	}
	if req.UserID == "" || secret == "" || (req.Code != "" && req.Token != "") {
		s.writeError(w, r, invalid("user_id and one of code or token are required"))
		return
	}
	if !s.activation.source.Take(pdpapi.SourceOf(r)) || s.activation.user.Limited(req.UserID) {
		s.writeError(w, r, pdp.ErrRateLimited)
		return
	}
	fail := func() {
		s.activation.user.Add(req.UserID)
		s.writeError(w, r, errActivation)
	}
	if len(secret) > 200 || store.ValidUUID(req.UserID) != nil {
		verifyActivation(dummyActivationHash, secret)
		fail()
		return
	}
	if req.Token != "" {
		secret = strings.TrimSpace(req.Token) // tokens are case-sensitive
	} else {
		secret = normaliseCode(req.Code)
	}
	var hash string
	err := s.st.View(r.Context(), func(tx *store.Tx) error {
		u, err := tx.GetUser(req.UserID)
		if store.IsNotFound(err) {
			return nil
		} else if err != nil {
			return err
		}
		if u.Status == store.StatusNew {
			hash = u.ActivationHash
		}
		return nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if hash == "" { // unknown user, or nothing to activate: the same work and answer
		verifyActivation(dummyActivationHash, secret)
		fail()
		return
	}
	if !verifyActivation(hash, secret) {
		fail()
		return
	}
	var user *store.User
	rev, err := s.st.Update(r.Context(), "user:"+req.UserID, func(tx *store.Tx) error {
		u, err := tx.GetUser(req.UserID)
		if store.IsNotFound(err) {
			return errActivation
		} else if err != nil {
			return err
		}
		// Changed since the check (activated, a new code issued, deleted
		// and re-made): the verified secret is no longer the one stored.
		if u.ActivationHash != hash || u.Status != store.StatusNew {
			return errActivation
		}
		u.ActivationHash, u.Status, u.StatusChangedAt = "", store.StatusActive, tx.Now()
		if err := tx.UpdateUser(u); err != nil {
			return err
		}
		tx.Audit(store.AuditEvent{Type: "user.activated", Org: u.Org, UserID: u.ID, Object: u.ID,
			Details: map[string]any{"rule": "L7", "from": string(store.StatusNew), "to": string(store.StatusActive)}})
		user = u
		return nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.activation.user.Reset(req.UserID)
	writeJSON(w, http.StatusOK, map[string]any{"revision": rev, "user_id": user.ID, "status": user.Status})
}

// normaliseCode accepts a code as people type it: any case, with or
// without the dashes or with spaces; the stored form is XXXX-XXXX-XXXX.
func normaliseCode(code string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(code) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	c := b.String()
	if len(c) != 12 {
		return c
	}
	return c[:4] + "-" + c[4:8] + "-" + c[8:]
}

var dummyActivationHash = func() string {
	h, _ := store.HashPassword("not a real activation code")
	return h
}()

// --- outbox ---

// outboxMail is a mail as the API shows it: the one-time secret replaced.
type outboxMail struct {
	*store.OutboxMail
	Body   string `json:"body"`
	Status string `json:"status"` // waiting | sent
}

// handleOutbox lists mails waiting or sent, newest first. A superadmin
// sees every mail; others see the mails about users of orgs where they
// may read users. Secrets (activation tokens, temporary passwords) are
// never shown.
func (s *Service) handleOutbox(w http.ResponseWriter, r *http.Request, c *Caller) {
	q := r.URL.Query()
	to, userID := strings.TrimSpace(q.Get("to")), strings.TrimSpace(q.Get("user_id"))
	if userID != "" {
		if err := validUserID(userID); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if len(to) > 254 {
		s.writeError(w, r, invalid("to is too long"))
		return
	}
	pg, err := parsePage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rev := s.st.Revision()
	mails := []outboxMail{}
	next := ""
	err = s.st.View(r.Context(), func(tx *store.Tx) error {
		if userID != "" && !c.superadmin {
			if _, err := s.authorizedUser(tx, c, userID, objUser, actRead); err != nil {
				return err
			}
		}
		list, err := tx.ListMail(to, userID)
		if err != nil {
			return err
		}
		orgOf := map[string]string{}
		// Newest first; the key is the mail's creation time and id.
		key := func(m *store.OutboxMail) string { return fmt.Sprintf("%020d-%s", m.CreatedAt.UnixNano(), m.ID) }
		list, _ = pageOfDesc(page{Limit: len(list) + 1, After: pg.After}, list, key)
		for _, m := range list {
			if !c.superadmin {
				if m.UserID == "" {
					continue
				}
				org, ok := orgOf[m.UserID]
				if !ok {
					if u, err := tx.GetUser(m.UserID); err == nil {
						org = u.Org
					}
					orgOf[m.UserID] = org
				}
				if org == "" || s.authorize(c, org, "mail", objUser, actRead) != nil {
					continue
				}
			}
			if len(mails) == pg.Limit {
				next = pageToken(key(mails[len(mails)-1].OutboxMail))
				break
			}
			status := "waiting"
			if m.SentAt != nil {
				status = "sent"
			}
			mails = append(mails, outboxMail{OutboxMail: m, Status: status,
				Body: strings.ReplaceAll(m.Body, store.SecretMark, "[redacted]")})
		}
		return nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writePage(w, rev, "mails", mails, next)
}

// --- login activity and bulk status (L9) ---

// parseDay reads a date-time query parameter (parseTimeParam: RFC 3339
// or a date, 00:00 Europe/Copenhagen).
func parseDay(name, v string) (time.Time, error) { return parseTimeParam(name, v, false) }

// activityUser is one line of the login activity list.
type activityUser struct {
	ID        string           `json:"id"`
	Name      string           `json:"name"`
	Email     string           `json:"email,omitempty"`
	Kind      store.UserKind   `json:"kind"`
	Status    store.UserStatus `json:"status"`
	LastLogin *time.Time       `json:"last_login"`
}

// handleLoginActivity lists the org's users with no login since a date
// (never logged in counts), default status filter: new and active.
func (s *Service) handleLoginActivity(w http.ResponseWriter, r *http.Request, c *Caller) {
	cvr := pathVar(r, "cvr")
	q := r.URL.Query()
	if err := validCVR(cvr); err != nil {
		s.writeError(w, r, err)
		return
	}
	if q.Get("not_since") == "" {
		s.writeError(w, r, invalid("not_since is required (YYYY-MM-DD)"))
		return
	}
	since, err := parseDay("not_since", q.Get("not_since"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	keep, err := statusFilter(q.Get("status"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	pg, err := parsePage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rev := s.st.Revision()
	users := []activityUser{}
	next := ""
	err = s.st.View(r.Context(), func(tx *store.Tx) error {
		if err := s.authorize(c, cvr, "organisation", objUser, actRead); err != nil {
			return err
		}
		if _, err := loadOrg(tx, cvr); err != nil {
			return err
		}
		after := ""
		for {
			batch, next, err := tx.ListUsers(cvr, after, 500)
			if err != nil {
				return err
			}
			for _, u := range batch {
				if keep(u.Status) && (u.LastLogin == nil || u.LastLogin.Before(since)) {
					users = append(users, activityUser{ID: u.ID, Name: u.Name, Email: u.Email, Kind: u.Kind,
						Status: u.Status, LastLogin: u.LastLogin})
				}
			}
			if next == "" || len(batch) == 0 {
				break
			}
			after = next
		}
		// Ordered like the user search: by name, then id.
		users, next = pageOf(pg, users, func(u activityUser) string { return strings.ToLower(u.Name) + "\x00" + u.ID })
		return nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writePageWith(w, rev, "users", users, next, map[string]any{"not_since": since})
}

// handleBulkStatus inactivates or activates many users of one org; each
// is checked like the single route (A2 refuses function certificate
// users, A10 the last admin) and answered on its own line.
func (s *Service) handleBulkStatus(action string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *Caller) {
		cvr, ids, ok := s.bulkRequestIn(w, r, c)
		if !ok {
			return
		}
		rev, results := s.runBulk(r.Context(), c, ids, func(id string, _ map[string]any) planFunc {
			var out UserAnswer
			return inOrg(cvr, id, s.planUserStatus(c, id, action, &statusRequest{}, &out))
		})
		writeJSON(w, http.StatusOK, map[string]any{"revision": rev, "results": results})
	}
}

// --- manual associations (Unilogin, L4) ---

// associationRequest is the body of POST /v1/orgs/{cvr}/associations: a
// person associated by hand by CPR number (fictitious day+60 and KOT
// numbers accepted) or Unilogin id, with a user type and class.
type associationRequest struct {
	CPR        string `json:"cpr,omitempty"`
	UniloginID string `json:"unilogin_id,omitempty"`
	UserType   string `json:"user_type"`
	Class      string `json:"class,omitempty"`
	Name       string `json:"name"`
	Email      string `json:"email,omitempty"`
	PNumber    string `json:"p_number,omitempty"`
}

func (s *Service) handleCreateAssociation(w http.ResponseWriter, r *http.Request, c *Caller) {
	var req associationRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if (req.CPR == "") == (req.UniloginID == "") {
		s.writeError(w, r, invalid("exactly one of cpr and unilogin_id is required"))
		return
	}
	req.UserType, req.Class = strings.TrimSpace(req.UserType), strings.TrimSpace(req.Class)
	if req.UserType == "" {
		s.writeError(w, r, invalid("user_type is required (e.g. elev, lærer, pædagog, medarbejder)"))
		return
	}
	for _, f := range []struct{ name, v string }{{"user_type", req.UserType}, {"class", req.Class}} {
		if err := validText(f.name, f.v, 50); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	create := &UserCreateRequest{Name: req.Name, Email: req.Email, Username: req.UniloginID, CPR: req.CPR,
		PNumber: req.PNumber, userType: req.UserType, class: req.Class}
	var out UserAnswer
	rev, err := s.write(r.Context(), c, s.planUserCreate(c, pathVar(r, "cvr"), create, "manual", &out, nil))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"revision": rev, "user": out.User, "grants": nonNil(out.Grants)})
}

// planConfirm confirms a manual association: the L4 clock restarts.
func (s *Service) planConfirm(c *Caller, id string, out *UserAnswer) planFunc {
	return func(tx *store.Tx) (*plan, error) {
		u, in, err := s.userInput(tx, c, id, actUpdate, "user.confirm")
		if err != nil {
			return nil, err
		}
		in["change"] = map[string]any{}
		return &plan{checks: []map[string]any{in}, apply: func(tx *store.Tx) error {
			next := *u
			now := tx.Now()
			next.ConfirmedAt = &now
			if err := tx.UpdateUser(&next); err != nil {
				return err
			}
			tx.Audit(store.AuditEvent{Type: "user.confirm", Org: u.Org, UserID: u.ID, Object: u.ID,
				Details: map[string]any{"rule": "L4"}})
			out.User = &next
			return nil
		}}, nil
	}
}

func (s *Service) handleConfirm(w http.ResponseWriter, r *http.Request, c *Caller) {
	if err := decodeOptionalBody(w, r, &struct{}{}); err != nil {
		s.writeError(w, r, err)
		return
	}
	var out UserAnswer
	rev, err := s.write(r.Context(), c, s.planConfirm(c, pathVar(r, "id"), &out))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"revision": rev, "user": out.User})
}

// --- lifecycle preview ---

// handleLifecyclePreview answers what the lifecycle jobs would do in the
// org if they ran at `at` (default now). It asks the same adgang.lifecycle
// rules as the jobs and changes nothing.
func (s *Service) handleLifecyclePreview(w http.ResponseWriter, r *http.Request, c *Caller) {
	cvr := pathVar(r, "cvr")
	if err := validCVR(cvr); err != nil {
		s.writeError(w, r, err)
		return
	}
	at := s.now().UTC()
	if v := r.URL.Query().Get("at"); v != "" {
		t, err := parseDay("at", v)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		at = t
	}
	pg, err := parsePage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.st.View(r.Context(), func(tx *store.Tx) error {
		if err := s.authorize(c, cvr, "organisation", objUser, actRead); err != nil {
			return err
		}
		_, err := loadOrg(tx, cvr)
		return err
	}); err != nil {
		s.writeError(w, r, err)
		return
	}
	rev := s.st.Revision()
	runner := &lifecycle.Runner{Store: s.st, Policy: s.eng, Logger: s.log}
	actions, err := runner.Plan(r.Context(), cvr, at)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// By due date, then job, object and action; a walk over the pages is
	// stable for a fixed `at` (the default, now, moves).
	actions, next := pageOf(pg, actions, func(a lifecycle.Action) string {
		return fmt.Sprintf("%020d\x00%s\x00%s%s\x00%s", a.Due.UnixNano(), a.Job, a.UserID, a.ImportID, a.Action)
	})
	writePageWith(w, rev, "actions", actions, next, map[string]any{"at": at})
}

// --- local passwords (L8) ---

// newTemporaryPassword satisfies every L8 rule: 12 characters with upper
// and lower case letters and digits (the policy still checks it).
func newTemporaryPassword() string {
	const upper, lower, digits = "ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz", "23456789"
	return randomSecret(4, upper) + randomSecret(4, lower) + randomSecret(4, digits)
}

// passwordOut is what a reset issued.
type passwordOut struct {
	password string
	mailID   string
}

func (s *Service) planPasswordAdmin(c *Caller, id, action string, out *passwordOut) planFunc {
	return func(tx *store.Tx) (*plan, error) {
		u, in, err := s.userInput(tx, c, id, actUpdate, action)
		if err != nil {
			return nil, err
		}
		in["change"] = map[string]any{}
		return &plan{checks: []map[string]any{in}, apply: func(tx *store.Tx) error {
			next := *u
			if next.Password != nil {
				p := *next.Password
				next.Password = &p
			}
			switch action {
			case "user.password.unblock":
				if next.Password == nil {
					return invalid("user %s has no local password", u.ID)
				}
				next.Password.Blocked, next.Password.Failures = false, 0
			case "user.password.reset":
				pw := newTemporaryPassword()
				if v := s.eng.CheckPassword(context.Background(), pw); !v.Allow {
					return fmt.Errorf("generated temporary password refused by the policy: %v", v.First())
				}
				hash, err := store.HashPassword(pw)
				if err != nil {
					return err
				}
				if next.Password == nil {
					next.Password = &store.Password{}
				}
				next.Password.SetPassword(hash, true, tx.Now())
				out.password = pw
				if u.Email != "" {
					out.mailID = fmt.Sprintf("password-%s-%d", u.ID, tx.Now().UnixNano())
					if err := tx.PutMail(&store.OutboxMail{ID: out.mailID, To: u.Email, UserID: u.ID, Kind: "temporary_password",
						Subject: "Midlertidigt password / Temporary password",
						Body: "Hej " + u.Name + "\n\nDit midlertidige password er:\n\n    " + store.SecretMark +
							"\n\nDu skal skifte det, næste gang du logger på.\n",
						Secret: pw, CreatedAt: tx.Now()}); err != nil {
						return err
					}
				}
			}
			if err := tx.UpdateUser(&next); err != nil {
				return err
			}
			tx.Audit(store.AuditEvent{Type: action, Org: u.Org, UserID: u.ID, Object: u.ID, Details: map[string]any{"rule": "L8"}})
			return nil
		}}, nil
	}
}

func (s *Service) handlePasswordReset(w http.ResponseWriter, r *http.Request, c *Caller) {
	if err := decodeOptionalBody(w, r, &struct{}{}); err != nil {
		s.writeError(w, r, err)
		return
	}
	id := pathVar(r, "id")
	var out passwordOut
	rev, err := s.write(r.Context(), c, s.planPasswordAdmin(c, id, "user.password.reset", &out))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ans := map[string]any{"revision": rev, "user_id": id, "temporary_password": out.password, "password_status": "temporary"}
	if out.mailID != "" {
		ans["mail_id"] = out.mailID
	}
	writeJSON(w, http.StatusOK, ans)
}

func (s *Service) handleUnblock(w http.ResponseWriter, r *http.Request, c *Caller) {
	if err := decodeOptionalBody(w, r, &struct{}{}); err != nil {
		s.writeError(w, r, err)
		return
	}
	id := pathVar(r, "id")
	var out passwordOut
	rev, err := s.write(r.Context(), c, s.planPasswordAdmin(c, id, "user.password.unblock", &out))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"revision": rev, "user_id": id})
}

// withPasswordStatus fills the password_status shown to administrators
// (blocked, temporary, expired, valid — decided by adgang.password).
func (s *Service) withPasswordStatus(ctx context.Context, tx *store.Tx, users ...*store.User) {
	orgs := map[string]*store.Org{}
	for _, u := range users {
		if u.Password == nil {
			continue
		}
		org, ok := orgs[u.Org]
		if !ok {
			org, _ = tx.GetOrg(u.Org)
			orgs[u.Org] = org
		}
		u.PasswordStatus = s.eng.PasswordStatus(ctx, u.Password, org, s.now())
	}
}
