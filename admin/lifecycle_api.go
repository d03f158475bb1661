package admin

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/adgang/adgang/admin/jobs/lifecycle"
	"github.com/adgang/adgang/pdp"
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

// BulkRequest is the body of the bulk routes.
type BulkRequest struct {
	UserIDs []string `json:"user_ids"`
}

// BulkResult is one user's line of a bulk answer: Err is why the user
// was refused (Status "error"), answered by the HTTP layer's one error
// mapping.
type BulkResult struct {
	UserID string         // the user
	Status string         // ok | error
	Detail map[string]any // what was done, if anything to say
	Err    error          // the refusal
}

// bulkIn checks the org and the user ids of a bulk request and that the
// caller may update users there.
func (s *Service) bulkIn(ctx context.Context, c *Caller, cvr string, req *BulkRequest) ([]string, error) {
	if err := validCVR(cvr); err != nil {
		return nil, err
	}
	ids, err := validBulk(req)
	if err == nil {
		err = s.authorizeOrg(ctx, c, cvr, actUpdate)
	}
	return ids, err
}

// validBulk checks the user ids of a bulk request: 1 to maxBulkIDs, each
// once.
func validBulk(req *BulkRequest) ([]string, error) {
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
func (s *Service) runBulk(ctx context.Context, c *Caller, ids []string, pf func(id string, detail map[string]any) planFunc) (uint64, []BulkResult) {
	results := make([]BulkResult, 0, len(ids))
	rev := s.st.Revision()
	for _, id := range ids {
		detail := map[string]any{}
		r, err := s.write(ctx, c, pf(id, detail))
		res := BulkResult{UserID: id, Status: "ok"}
		if err != nil {
			res.Status, res.Err = "error", err
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

// Activation is what one activation issued.
type Activation struct {
	Method string // mail | code
	Code   string // the code, for the one answer that shows it
	MailID string
}

// planActivation sends (CPR users: a mail with a one-time link token to
// the outbox) or issues (birth-date users: a one-time code) the activation
// of a new user; again means resend or regenerate: the previous secret
// stops working. bulk marks the bulk route, where L7 refuses birth-date
// users.
func (s *Service) planActivation(c *Caller, id string, bulk bool, out *Activation) planFunc {
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
func issueActivation(tx *store.Tx, u *store.User, bulk bool, out *Activation) error {
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
	out.Method = "code"
	if mail {
		out.Method = "mail"
		out.MailID = fmt.Sprintf("activation-%s-%d", u.ID, tx.Now().UnixNano())
		if err := tx.PutMail(&store.OutboxMail{ID: out.MailID, To: u.Email, UserID: u.ID, Kind: "activation",
			Subject: "Aktivér din bruger / Activate your user",
			Body: "Hej " + u.Name + "\n\nDin bruger er oprettet. Aktivér den med denne kode:\n\n    " + store.SecretMark +
				"\n\nBrug koden sammen med dit bruger-id " + u.ID + " (POST /v1/activate).\n",
			Secret: secret, CreatedAt: tx.Now()}); err != nil {
			return err
		}
	} else {
		out.Code = secret
	}
	tx.Audit(store.AuditEvent{Type: "user.activation", Org: u.Org, UserID: u.ID, Object: u.ID,
		Details: map[string]any{"rule": "L7", "method": out.Method, "bulk": bulk}})
	return nil
}

// SendActivation sends or issues (again) the activation of the new user
// id (L7, planActivation).
func (s *Service) SendActivation(ctx context.Context, c *Caller, id string) (uint64, *Activation, error) {
	var out Activation
	rev, err := s.write(ctx, c, s.planActivation(c, id, false, &out))
	return rev, &out, err
}

// BulkActivation sends the activation of many new users of the org cvr,
// each on its own line of the answer.
func (s *Service) BulkActivation(ctx context.Context, c *Caller, cvr string, req *BulkRequest) (uint64, []BulkResult, error) {
	ids, err := s.bulkIn(ctx, c, cvr, req)
	if err != nil {
		return 0, nil, err
	}
	rev, results := s.runBulk(ctx, c, ids, func(id string, detail map[string]any) planFunc {
		var out Activation
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
				detail["method"], detail["mail_id"] = out.Method, out.MailID
				return nil
			}
			return p, nil
		})
	})
	return rev, results, nil
}

// ActivateRequest is the body of POST /v1/activate: the user's own
// activation with the code (birth-date users) or the mailed token.
type ActivateRequest struct {
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

// Activate is the user's own activation (no admin credentials: the
// one-time secret is the credential), asked from source (the client's
// address, for throttling). The status becomes active and the secret
// stops working.
//
// The argon2id check runs outside every store transaction: the hash is
// read in a view, verified with no lock held (concurrent hashing is
// bounded by the store's argon2 slots), and the change is written in a
// short update that first checks that the user and its activation hash
// are still the ones verified. Attempts are throttled per user and source.
func (s *Service) Activate(ctx context.Context, source string, req *ActivateRequest) (uint64, *store.User, error) {
	secret := req.Code
	if secret == "" {
		secret = req.Token
	}
	if req.UserID == "" || secret == "" || (req.Code != "" && req.Token != "") {
		return 0, nil, invalid("user_id and one of code or token are required")
	}
	if !s.activation.source.Take(source) || s.activation.user.Limited(req.UserID) {
		return 0, nil, pdp.ErrRateLimited
	}
	fail := func() (uint64, *store.User, error) {
		s.activation.user.Add(req.UserID)
		return 0, nil, errActivation
	}
	if len(secret) > 200 || store.ValidUUID(req.UserID) != nil {
		verifyActivation(dummyActivationHash, secret)
		return fail()
	}
	if req.Token != "" {
		secret = strings.TrimSpace(req.Token) // tokens are case-sensitive
	} else {
		secret = normaliseCode(req.Code)
	}
	var hash string
	err := s.st.View(ctx, func(tx *store.Tx) error {
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
		return 0, nil, err
	}
	if hash == "" { // unknown user, or nothing to activate: the same work and answer
		verifyActivation(dummyActivationHash, secret)
		return fail()
	}
	if !verifyActivation(hash, secret) {
		return fail()
	}
	rev, user, err := s.activate(ctx, req.UserID, hash)
	if err != nil {
		return 0, nil, err
	}
	s.activation.user.Reset(req.UserID)
	return rev, user, nil
}

// activate makes the user id active when its activation hash is still
// hash (the one Activate verified).
func (s *Service) activate(ctx context.Context, id, hash string) (uint64, *store.User, error) {
	var user *store.User
	rev, err := s.st.Update(ctx, "user:"+id, func(tx *store.Tx) error {
		u, err := tx.GetUser(id)
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
	return rev, user, err
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

// OutboxMail is a mail as the API shows it: the one-time secret replaced.
type OutboxMail struct {
	*store.OutboxMail
	Body   string `json:"body"`
	Status string `json:"status"` // waiting | sent
}

// Outbox lists mails waiting or sent, newest first. A superadmin
// sees every mail; others see the mails about users of orgs where they
// may read users. Secrets (activation tokens, temporary passwords) are
// never shown.
func (s *Service) Outbox(ctx context.Context, c *Caller, q url.Values) (*Page[OutboxMail], error) {
	to, userID := strings.TrimSpace(q.Get("to")), strings.TrimSpace(q.Get("user_id"))
	if userID != "" {
		if err := validUserID(userID); err != nil {
			return nil, err
		}
	}
	if len(to) > 254 {
		return nil, invalid("to is too long")
	}
	pg, err := parsePage(q)
	if err != nil {
		return nil, err
	}
	rev := s.st.Revision()
	mails := []OutboxMail{}
	next := ""
	err = s.st.View(ctx, func(tx *store.Tx) error {
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
			mails = append(mails, OutboxMail{OutboxMail: m, Status: status,
				Body: strings.ReplaceAll(m.Body, store.SecretMark, "[redacted]")})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Page[OutboxMail]{Revision: rev, Items: mails, Next: next}, nil
}

// --- login activity and bulk status (L9) ---

// parseDay reads a date-time query parameter (parseTimeParam: RFC 3339
// or a date, 00:00 Europe/Copenhagen).
func parseDay(name, v string) (time.Time, error) { return parseTimeParam(name, v, false) }

// ActivityUser is one line of the login activity list.
type ActivityUser struct {
	ID        string           `json:"id"`
	Name      string           `json:"name"`
	Email     string           `json:"email,omitempty"`
	Kind      store.UserKind   `json:"kind"`
	Status    store.UserStatus `json:"status"`
	LastLogin *time.Time       `json:"last_login"`
}

// LoginActivity lists the org's users with no login since a date
// (never logged in counts), default status filter: new and active.
func (s *Service) LoginActivity(ctx context.Context, c *Caller, cvr string, q url.Values) (*Page[ActivityUser], time.Time, error) {
	if err := validCVR(cvr); err != nil {
		return nil, time.Time{}, err
	}
	if q.Get("not_since") == "" {
		return nil, time.Time{}, invalid("not_since is required (YYYY-MM-DD)")
	}
	since, err := parseDay("not_since", q.Get("not_since"))
	if err != nil {
		return nil, time.Time{}, err
	}
	keep, err := statusFilter(q.Get("status"))
	if err != nil {
		return nil, time.Time{}, err
	}
	pg, err := parsePage(q)
	if err != nil {
		return nil, time.Time{}, err
	}
	rev := s.st.Revision()
	users := []ActivityUser{}
	next := ""
	err = s.st.View(ctx, func(tx *store.Tx) error {
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
					users = append(users, ActivityUser{ID: u.ID, Name: u.Name, Email: u.Email, Kind: u.Kind,
						Status: u.Status, LastLogin: u.LastLogin})
				}
			}
			if next == "" || len(batch) == 0 {
				break
			}
			after = next
		}
		// Ordered like the user search: by name, then id.
		users, next = pageOf(pg, users, func(u ActivityUser) string { return strings.ToLower(u.Name) + "\x00" + u.ID })
		return nil
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	return &Page[ActivityUser]{Revision: rev, Items: users, Next: next}, since, nil
}

// BulkStatus is user.inactivate or user.activate of many users of the
// org cvr; each is checked like the single route (A2 refuses function
// certificate users, A10 the last admin) and answered on its own line.
func (s *Service) BulkStatus(ctx context.Context, c *Caller, cvr, action string, req *BulkRequest) (uint64, []BulkResult, error) {
	ids, err := s.bulkIn(ctx, c, cvr, req)
	if err != nil {
		return 0, nil, err
	}
	rev, results := s.runBulk(ctx, c, ids, func(id string, _ map[string]any) planFunc {
		var out UserAnswer
		return inOrg(cvr, id, s.planUserStatus(c, id, action, &StatusRequest{}, &out))
	})
	return rev, results, nil
}

// --- manual associations (Unilogin, L4) ---

// AssociationRequest is the body of POST /v1/orgs/{cvr}/associations: a
// person associated by hand by CPR number (fictitious day+60 and KOT
// numbers accepted) or Unilogin id, with a user type and class.
type AssociationRequest struct {
	CPR        string `json:"cpr,omitempty"`
	UniloginID string `json:"unilogin_id,omitempty"`
	UserType   string `json:"user_type"`
	Class      string `json:"class,omitempty"`
	Name       string `json:"name"`
	Email      string `json:"email,omitempty"`
	PNumber    string `json:"p_number,omitempty"`
}

// CreateAssociation associates a person with the org cvr by hand
// (Unilogin, L4): a user made by CPR number or Unilogin id, with a user
// type and class.
func (s *Service) CreateAssociation(ctx context.Context, c *Caller, cvr string, req *AssociationRequest) (uint64, *UserAnswer, error) {
	if (req.CPR == "") == (req.UniloginID == "") {
		return 0, nil, invalid("exactly one of cpr and unilogin_id is required")
	}
	req.UserType, req.Class = strings.TrimSpace(req.UserType), strings.TrimSpace(req.Class)
	if req.UserType == "" {
		return 0, nil, invalid("user_type is required (e.g. elev, lærer, pædagog, medarbejder)")
	}
	for _, f := range []struct{ name, v string }{{"user_type", req.UserType}, {"class", req.Class}} {
		if err := validText(f.name, f.v, 50); err != nil {
			return 0, nil, err
		}
	}
	create := &UserCreateRequest{Name: req.Name, Email: req.Email, Username: req.UniloginID, CPR: req.CPR,
		PNumber: req.PNumber, userType: req.UserType, class: req.Class}
	var out UserAnswer
	rev, err := s.write(ctx, c, s.planUserCreate(c, cvr, create, "manual", &out, nil))
	return rev, &out, err
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

// Confirm confirms the manual association of the user id: the L4 clock
// restarts.
func (s *Service) Confirm(ctx context.Context, c *Caller, id string) (uint64, *UserAnswer, error) {
	var out UserAnswer
	rev, err := s.write(ctx, c, s.planConfirm(c, id, &out))
	return rev, &out, err
}

// --- lifecycle preview ---

// LifecycleAction is one action the lifecycle jobs would take, as the
// preview answers it.
type LifecycleAction = lifecycle.Action

// LifecyclePreview answers what the lifecycle jobs would do in the
// org if they ran at `at` (default now). It asks the same adgang.lifecycle
// rules as the jobs and changes nothing.
func (s *Service) LifecyclePreview(ctx context.Context, c *Caller, cvr string, q url.Values) (*Page[LifecycleAction], time.Time, error) {
	if err := validCVR(cvr); err != nil {
		return nil, time.Time{}, err
	}
	at := s.now().UTC()
	if v := q.Get("at"); v != "" {
		t, err := parseDay("at", v)
		if err != nil {
			return nil, time.Time{}, err
		}
		at = t
	}
	pg, err := parsePage(q)
	if err != nil {
		return nil, time.Time{}, err
	}
	if err := s.st.View(ctx, func(tx *store.Tx) error {
		if err := s.authorize(c, cvr, "organisation", objUser, actRead); err != nil {
			return err
		}
		_, err := loadOrg(tx, cvr)
		return err
	}); err != nil {
		return nil, time.Time{}, err
	}
	rev := s.st.Revision()
	runner := &lifecycle.Runner{Store: s.st, Policy: s.eng, Logger: s.log}
	actions, err := runner.Plan(ctx, cvr, at)
	if err != nil {
		return nil, time.Time{}, err
	}
	// By due date, then job, object and action; a walk over the pages is
	// stable for a fixed `at` (the default, now, moves).
	actions, next := pageOf(pg, actions, func(a lifecycle.Action) string {
		return fmt.Sprintf("%020d\x00%s\x00%s%s\x00%s", a.Due.UnixNano(), a.Job, a.UserID, a.ImportID, a.Action)
	})
	return &Page[LifecycleAction]{Revision: rev, Items: actions, Next: next}, at, nil
}

// --- local passwords (L8) ---

// newTemporaryPassword satisfies every L8 rule: 12 characters with upper
// and lower case letters and digits (the policy still checks it).
func newTemporaryPassword() string {
	const upper, lower, digits = "ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz", "23456789"
	return randomSecret(4, upper) + randomSecret(4, lower) + randomSecret(4, digits)
}

// PasswordReset is what a reset issued: the temporary password (shown
// once) and the id of the mail that carries it, if any.
type PasswordReset struct {
	Password string
	MailID   string
}

func (s *Service) planPasswordAdmin(c *Caller, id, action string, out *PasswordReset) planFunc {
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
				out.Password = pw
				if u.Email != "" {
					out.MailID = fmt.Sprintf("password-%s-%d", u.ID, tx.Now().UnixNano())
					if err := tx.PutMail(&store.OutboxMail{ID: out.MailID, To: u.Email, UserID: u.ID, Kind: "temporary_password",
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

// ResetPassword gives the user id a temporary password (L8), mailed to
// it when it has an e-mail address.
func (s *Service) ResetPassword(ctx context.Context, c *Caller, id string) (uint64, *PasswordReset, error) {
	var out PasswordReset
	rev, err := s.write(ctx, c, s.planPasswordAdmin(c, id, "user.password.reset", &out))
	return rev, &out, err
}

// UnblockPassword unblocks the local password of the user id (L8).
func (s *Service) UnblockPassword(ctx context.Context, c *Caller, id string) (uint64, error) {
	var out PasswordReset
	return s.write(ctx, c, s.planPasswordAdmin(c, id, "user.password.unblock", &out))
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
