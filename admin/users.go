package admin

import (
	"context"
	"encoding/json"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/adgang/adgang/store"
)

// UserCreateRequest is the body of POST /v1/orgs/{cvr}/users. Status,
// revision and the other read-only fields are not accepted (unknown
// fields are refused). The plain CPR number is only parsed, hashed and
// masked; it is never stored, logged or answered.
type UserCreateRequest struct {
	ID            string `json:"id,omitempty"`
	Name          string `json:"name"`
	Email         string `json:"email,omitempty"`
	Username      string `json:"username,omitempty"`
	LegacyID      string `json:"legacy_id,omitempty"`
	CPR           string `json:"cpr,omitempty"`
	BirthDate     string `json:"birth_date,omitempty"`
	Kind          string `json:"kind,omitempty"`
	PNumber       string `json:"p_number,omitempty"`
	SENumber      string `json:"se_number,omitempty"`
	Anonymous     bool   `json:"anonymous,omitempty"`
	Language      string `json:"language,omitempty"`
	Phone         string `json:"phone,omitempty"`
	Justification string `json:"justification,omitempty"`
	// IdentificationMeans are the user's means (A16: within the org's).
	IdentificationMeans []string `json:"identification_means,omitempty"`

	// Set by the associations route (Unilogin), never from JSON.
	userType, class string
}

// FirstUserRightsQuery names the rights the first user of an organisation
// gets (A15, decided in adgang.admin).
const FirstUserRightsQuery = "data.adgang.admin.first_user_rights"

// firstRights asks A15 which rights a new user of org gets; none unless
// it is the org's first user. A policy that cannot answer refuses the
// creation (fail closed).
func (s *Service) firstRights(ctx context.Context, org *store.Org, hasUsers bool) ([]string, error) {
	in, err := json.Marshal(map[string]any{"org": map[string]any{"type": org.Type}, "org_has_users": hasUsers})
	if err != nil {
		return nil, err
	}
	res, _, err := s.eng.Evaluate(ctx, FirstUserRightsQuery, in)
	if err != nil {
		return nil, store.Errorf(store.EInternal, "A15: the policy could not be evaluated: %v", err)
	}
	list, ok := res.([]any)
	if !ok {
		return nil, store.Errorf(store.EInternal, "A15: %s answered %T, not a list", FirstUserRightsQuery, res)
	}
	out := make([]string, 0, len(list))
	for _, x := range list {
		id, ok := x.(string)
		if !ok {
			return nil, store.Errorf(store.EInternal, "A15: %s holds %T, not a right id", FirstUserRightsQuery, x)
		}
		out = append(out, id)
	}
	return out, nil
}

func validEmail(e string) error {
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || len(e) > 254 {
		return invalid("email must be a plain e-mail address")
	}
	if containsCPR(e) {
		return invalid("email must not contain a CPR number")
	}
	return nil
}

func validUsername(n string) error {
	if n == "" || len(n) > 100 {
		return invalid("username must be 1-100 characters")
	}
	for _, c := range n {
		if unicode.IsSpace(c) || unicode.IsControl(c) {
			return invalid("username must not contain spaces or control characters")
		}
	}
	if containsCPR(n) {
		return invalid("username must not contain a CPR number")
	}
	return nil
}

func validKind(k string) error {
	switch store.UserKind(k) {
	case store.KindEmployee, store.KindFunction, store.KindPrivate:
		return nil
	}
	return invalid("kind must be employee, function or private")
}

func validBirthDate(d string) error {
	t, err := time.Parse(time.DateOnly, d)
	if err != nil || t.Year() < 1890 {
		return invalid("birth_date must be a date YYYY-MM-DD")
	}
	return nil
}

func validText(field, v string, maxLen int) error {
	if len(v) > maxLen {
		return invalid("%s must be at most %d characters", field, maxLen)
	}
	for _, c := range v {
		if unicode.IsControl(c) && c != '\n' && c != '\t' {
			return invalid("%s must not contain control characters", field)
		}
	}
	if containsCPR(v) {
		return invalid("%s must not contain a CPR number", field)
	}
	return nil
}

// setCPR links a parsed CPR number to u: keyed hash and masked form only.
func (s *Service) setCPR(u *store.User, cpr string) error {
	if cpr == "" {
		u.CPRHash, u.CPRMasked, u.CPRLinked = "", "", false
		return nil
	}
	n, err := store.ParseCPR(cpr)
	if err != nil {
		return fieldErr("cpr", err)
	}
	u.CPRHash, u.CPRMasked, u.CPRLinked = s.st.HashCPR(n), store.MaskCPR(n), true
	return nil
}

// buildUser validates a create request and returns the user to store.
func (s *Service) buildUser(req *UserCreateRequest, cvr, source string) (*store.User, error) {
	u := &store.User{ID: req.ID, Org: cvr, Name: strings.TrimSpace(req.Name), Email: req.Email,
		Username: req.Username, LegacyID: req.LegacyID, BirthDate: req.BirthDate, Kind: store.UserKind(req.Kind),
		PNumber: req.PNumber, SENumber: req.SENumber, Anonymous: req.Anonymous, Language: req.Language,
		Phone: req.Phone, Justification: req.Justification, Source: source, UserType: req.userType, Class: req.class,
		IdentificationMeans: req.IdentificationMeans}
	if u.ID == "" {
		u.ID = uuid.NewString()
	} else if err := store.ValidUUID(u.ID); err != nil {
		return nil, fieldErr("id", err)
	}
	if u.Name == "" {
		return nil, invalid("name is required")
	}
	if u.Kind == "" {
		u.Kind = store.KindEmployee
	}
	if err := s.validateUserFields(u); err != nil {
		return nil, err
	}
	if err := s.setCPR(u, req.CPR); err != nil {
		return nil, err
	}
	return u, nil
}

// validateUserFields checks the shape of every identifier and text field.
func (s *Service) validateUserFields(u *store.User) error {
	checks := []struct {
		set bool
		err func() error
	}{
		{true, func() error { return validText("name", u.Name, 200) }},
		{u.Email != "", func() error { return validEmail(u.Email) }},
		{u.Username != "", func() error { return validUsername(u.Username) }},
		{u.LegacyID != "", func() error { _, _, err := store.ParseLegacyID(u.LegacyID); return fieldErrOrNil("legacy_id", err) }},
		{u.BirthDate != "", func() error { return validBirthDate(u.BirthDate) }},
		{true, func() error { return validKind(string(u.Kind)) }},
		{u.PNumber != "", func() error { return fieldErrOrNil("p_number", store.ValidPNumber(u.PNumber)) }},
		{u.SENumber != "", func() error { return fieldErrOrNil("se_number", store.ValidSE(u.SENumber)) }},
		{true, func() error { return validText("language", u.Language, 10) }},
		{true, func() error { return validText("phone", u.Phone, 40) }},
		{true, func() error { return validText("justification", u.Justification, 2000) }},
		{len(u.IdentificationMeans) > 0, func() error { return validMeans(u.IdentificationMeans) }},
	}
	for _, c := range checks {
		if c.set {
			if err := c.err(); err != nil {
				return err
			}
		}
	}
	return nil
}

func fieldErrOrNil(field string, err error) error {
	if err == nil {
		return nil
	}
	return fieldErr(field, err)
}

// changeOf is the user as the policy sees a proposed change: every API
// field, the CPR number replaced by whether one is linked.
func changeOf(u *store.User) map[string]any {
	return map[string]any{"id": u.ID, "org": u.Org, "name": u.Name, "email": u.Email, "username": u.Username,
		"legacy_id": u.LegacyID, "cpr_linked": u.CPRLinked, "birth_date": u.BirthDate, "kind": string(u.Kind),
		"p_number": u.PNumber, "se_number": u.SENumber, "anonymous": u.Anonymous, "language": u.Language,
		"phone": u.Phone, "justification": u.Justification, "source": u.Source,
		"identification_means": nonNil(u.IdentificationMeans)}
}

// UserAnswer is what a user write made: the user as stored and, for a
// new organisation's first user, the A15 admin grants it got.
type UserAnswer struct {
	User   *store.User
	Grants []*store.Grant
}

// firstGrants are the A15 admin grants the new user u of org gets when
// it is the organisation's first user, and their grant.create checks.
func (s *Service) firstGrants(tx *store.Tx, c *Caller, org *store.Org, u *store.User, holders map[string]any) ([]*store.Grant, []map[string]any, error) {
	hasUsers, err := s.orgHasUsers(tx, org.CVR)
	if err != nil {
		return nil, nil, err
	}
	first, err := s.firstRights(context.Background(), org, hasUsers)
	if err != nil || len(first) == 0 {
		return nil, nil, err
	}
	var grants []*store.Grant
	var checks []map[string]any
	cvr := org.CVR
	target := userTarget(&store.User{ID: u.ID, Kind: u.Kind, Anonymous: u.Anonymous, Status: store.StatusNew, Org: cvr})
	for _, rid := range first {
		r, err := tx.GetRight(rid)
		if store.IsNotFound(err) {
			continue
		} else if err != nil {
			return nil, nil, err
		}
		g := &store.Grant{ID: uuid.NewString(), Right: r.ID, HolderType: store.HolderUser, HolderID: u.ID,
			Org: cvr, Scope: store.Scope{Type: store.ScopeCVR, Value: cvr}, GrantedBy: c.actor,
			Justification: "A15: first user of the organisation"}
		gin := s.baseInput(c, "grant.create", org)
		gin["target"], gin["grant"], gin["right"], gin["admin_holders"] = target, grantInput(g), rightInput(r), holders
		checks = append(checks, gin)
		grants = append(grants, g)
	}
	return grants, checks, nil
}

// planUserCreate creates a user in cvr (user.create); when it is the
// organisation's first user it also gets the A15 admin grants, each
// checked as a grant.create. extra runs in the same transaction (knock
// accept deletes the knock).
func (s *Service) planUserCreate(c *Caller, cvr string, req *UserCreateRequest, source string, out *UserAnswer, extra func(tx *store.Tx) error) planFunc {
	return func(tx *store.Tx) (*plan, error) {
		if err := validCVR(cvr); err != nil {
			return nil, err
		}
		if err := s.authorizeIn(tx, c, cvr, "organisation", objUser, actCreate); err != nil {
			return nil, err
		}
		org, err := s.loadOrgIn(tx, cvr)
		if err != nil {
			return nil, err
		}
		u, err := s.buildUser(req, cvr, source)
		if err != nil {
			return nil, err
		}
		holders, err := s.adminHolders(tx, cvr)
		if err != nil {
			return nil, err
		}
		conf, err := conflicts(tx, u.Email, u.Username, u.ID)
		if err != nil {
			return nil, err
		}
		in := s.baseInput(c, "user.create", org)
		in["change"], in["admin_holders"], in["conflicts"] = changeOf(u), holders, conf
		p := (&plan{checks: []map[string]any{in}}).watchRoles(cvr, u.ID)

		grants, checks, err := s.firstGrants(tx, c, org, u, holders) // A15
		if err != nil {
			return nil, err
		}
		p.checks = append(p.checks, checks...)
		p.apply = func(tx *store.Tx) error {
			if err := tx.CreateUser(u); err != nil {
				return err
			}
			for _, g := range grants {
				if err := tx.CreateGrant(g); err != nil {
					return err
				}
			}
			if len(grants) > 0 {
				ids := make([]string, len(grants))
				for i, g := range grants {
					ids[i] = g.Right
				}
				tx.Audit(store.AuditEvent{Type: "user.first_admin", Org: cvr, UserID: u.ID, Object: u.ID,
					Details: map[string]any{"rule": "A15", "rights": ids}})
			}
			if extra != nil {
				if err := extra(tx); err != nil {
					return err
				}
			}
			out.User, out.Grants = u, grants
			return nil
		}
		return p, nil
	}
}

// CreateUser creates a user in cvr (planUserCreate) and issues its
// activation when it needs one (L7).
func (s *Service) CreateUser(ctx context.Context, c *Caller, cvr string, req *UserCreateRequest) (uint64, *UserAnswer, *Activation, error) {
	var out UserAnswer
	var act Activation // L7: the activation issued at creation, if any
	pf := s.withActivation(ctx, c, s.planUserCreate(c, cvr, req, "manual", &out, nil), &out, &act)
	rev, err := s.write(ctx, c, pf)
	return rev, &out, &act, err
}

// GetUser reads the user id (with its password status) and its admin
// roles in its org.
func (s *Service) GetUser(ctx context.Context, c *Caller, id string) (rev uint64, u *store.User, adminRoles []string, err error) {
	if err := validUserID(id); err != nil {
		return 0, nil, nil, err
	}
	rev = s.st.Revision()
	err = s.st.View(ctx, func(tx *store.Tx) error {
		var err error
		u, err = s.authorizedUser(tx, c, id, objUser, actRead)
		if err == nil {
			s.withPasswordStatus(ctx, tx, u)
		}
		return err
	})
	if err != nil {
		return 0, nil, nil, err
	}
	return rev, u, s.roles.rolesIn(u.ID, u.Org), nil
}

// UserPatchRequest is the body of PATCH /v1/users/{id}: present fields
// change, absent ones stay. Read-only fields are listed so that sending
// one is a clear error; anonymous is passed to the policy (A8).
type UserPatchRequest struct {
	Name          *string `json:"name,omitempty"`
	Email         *string `json:"email,omitempty"`
	Username      *string `json:"username,omitempty"`
	LegacyID      *string `json:"legacy_id,omitempty"`
	CPR           *string `json:"cpr,omitempty"`
	BirthDate     *string `json:"birth_date,omitempty"`
	Kind          *string `json:"kind,omitempty"`
	PNumber       *string `json:"p_number,omitempty"`
	SENumber      *string `json:"se_number,omitempty"`
	Anonymous     *bool   `json:"anonymous,omitempty"`
	Language      *string `json:"language,omitempty"`
	Phone         *string `json:"phone,omitempty"`
	Justification *string `json:"justification,omitempty"`
	// IdentificationMeans replaces the user's means (A16).
	IdentificationMeans *[]string `json:"identification_means,omitempty"`

	ID               json.RawMessage `json:"id,omitempty"`
	Org              json.RawMessage `json:"org,omitempty"`
	Status           json.RawMessage `json:"status,omitempty"`
	Revision         json.RawMessage `json:"revision,omitempty"`
	CPRLinked        json.RawMessage `json:"cpr_linked,omitempty"`
	DeactivatedUntil json.RawMessage `json:"deactivated_until,omitempty"`
	StatusChangedAt  json.RawMessage `json:"status_changed_at,omitempty"`
	LastLogin        json.RawMessage `json:"last_login,omitempty"`
	Source           json.RawMessage `json:"source,omitempty"`
	ConfirmedAt      json.RawMessage `json:"confirmed_at,omitempty"`
	CreatedAt        json.RawMessage `json:"created_at,omitempty"`
	UpdatedAt        json.RawMessage `json:"updated_at,omitempty"`
}

func readOnly(fields map[string]json.RawMessage) error {
	names := make([]string, 0, len(fields))
	for k, v := range fields {
		if v != nil {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	return invalid("read-only field(s) cannot be changed: %s", strings.Join(names, ", "))
}

// applyTo validates the patch, applies it to u and returns the changed
// fields as the policy sees them (the CPR number as cpr_linked).
func (p *UserPatchRequest) applyTo(s *Service, u *store.User) (map[string]any, []string, error) {
	if err := readOnly(map[string]json.RawMessage{"id": p.ID, "org": p.Org, "status": p.Status,
		"revision": p.Revision, "cpr_linked": p.CPRLinked, "deactivated_until": p.DeactivatedUntil,
		"status_changed_at": p.StatusChangedAt, "last_login": p.LastLogin, "source": p.Source,
		"confirmed_at": p.ConfirmedAt, "created_at": p.CreatedAt, "updated_at": p.UpdatedAt}); err != nil {
		return nil, nil, err
	}
	change := map[string]any{}
	set := func(name string, src *string, dst *string) {
		if src != nil {
			*dst = *src
			change[name] = *src
		}
	}
	set("name", p.Name, &u.Name)
	set("email", p.Email, &u.Email)
	set("username", p.Username, &u.Username)
	set("legacy_id", p.LegacyID, &u.LegacyID)
	set("birth_date", p.BirthDate, &u.BirthDate)
	set("p_number", p.PNumber, &u.PNumber)
	set("se_number", p.SENumber, &u.SENumber)
	set("language", p.Language, &u.Language)
	set("phone", p.Phone, &u.Phone)
	set("justification", p.Justification, &u.Justification)
	if p.Kind != nil {
		u.Kind = store.UserKind(*p.Kind)
		change["kind"] = *p.Kind
	}
	if p.IdentificationMeans != nil {
		u.IdentificationMeans = nonNil(*p.IdentificationMeans)
		change["identification_means"] = u.IdentificationMeans
	}
	if p.Anonymous != nil {
		// Never applied here: A8 (Rego) refuses any change of it, and an
		// unchanged value changes nothing.
		change["anonymous"] = *p.Anonymous
	}
	if p.CPR != nil {
		if err := s.setCPR(u, *p.CPR); err != nil {
			return nil, nil, err
		}
		change["cpr_linked"] = u.CPRLinked
	}
	if len(change) == 0 {
		return nil, nil, invalid("nothing to change")
	}
	u.Name = strings.TrimSpace(u.Name)
	if u.Name == "" {
		return nil, nil, invalid("name cannot be empty")
	}
	if err := s.validateUserFields(u); err != nil {
		return nil, nil, err
	}
	fields := make([]string, 0, len(change))
	for k := range change {
		fields = append(fields, k)
	}
	slices.Sort(fields)
	return change, fields, nil
}

func (s *Service) planUserUpdate(c *Caller, id string, req *UserPatchRequest, out *UserAnswer) planFunc {
	return func(tx *store.Tx) (*plan, error) {
		u, in, err := s.userInput(tx, c, id, actUpdate, "user.update")
		if err != nil {
			return nil, err
		}
		next := *u
		change, fields, err := req.applyTo(s, &next)
		if err != nil {
			return nil, err
		}
		email, username := "", ""
		if !strings.EqualFold(next.Email, u.Email) {
			email = next.Email
		}
		if !strings.EqualFold(next.Username, u.Username) {
			username = next.Username
		}
		conf, err := conflicts(tx, email, username, u.ID)
		if err != nil {
			return nil, err
		}
		holders, err := s.adminHolders(tx, u.Org)
		if err != nil {
			return nil, err
		}
		in["change"], in["admin_holders"], in["conflicts"] = change, holders, conf
		p := &plan{checks: []map[string]any{in}, apply: func(tx *store.Tx) error {
			if err := tx.UpdateUser(&next); err != nil {
				return err
			}
			tx.Audit(store.AuditEvent{Type: "user.update.fields", Org: u.Org, UserID: u.ID, Object: u.ID,
				Details: map[string]any{"fields": fields}})
			out.User = &next
			return nil
		}}
		// A user's admin roles follow its status, its grants, its groups
		// and the system group of its P-unit; of these a PATCH can change
		// only the P-unit, so only then can role_changes be non-empty.
		if next.PNumber != u.PNumber {
			p.watchRoles(u.Org, u.ID)
		}
		return p, nil
	}
}

// PatchUser changes the present fields of the user id (user.update).
func (s *Service) PatchUser(ctx context.Context, c *Caller, id string, req *UserPatchRequest) (uint64, *UserAnswer, error) {
	var out UserAnswer
	rev, err := s.write(ctx, c, s.planUserUpdate(c, id, req, &out))
	return rev, &out, err
}

func (s *Service) planUserDelete(c *Caller, id string) planFunc {
	return func(tx *store.Tx) (*plan, error) {
		u, in, err := s.userInput(tx, c, id, actDelete, "user.delete")
		if err != nil {
			return nil, err
		}
		holders, err := s.adminHolders(tx, u.Org)
		if err != nil {
			return nil, err
		}
		in["admin_holders"] = holders
		return (&plan{checks: []map[string]any{in}, apply: func(tx *store.Tx) error { return tx.DeleteUser(id) }}).
			watchRoles(u.Org, u.ID), nil
	}
}

// DeleteUser deletes the user id (user.delete).
func (s *Service) DeleteUser(ctx context.Context, c *Caller, id string) (uint64, error) {
	return s.write(ctx, c, s.planUserDelete(c, id))
}

// StatusRequest is the optional body of the status routes. until is the
// contract's name (SPEC §5); deactivated_until, the user's field it sets,
// is accepted as an alias.
type StatusRequest struct {
	Until            *store.Time `json:"until,omitempty"`
	DeactivatedUntil *store.Time `json:"deactivated_until,omitempty"`
}

var statusOf = map[string]store.UserStatus{
	"user.inactivate": store.StatusInactive,
	"user.activate":   store.StatusActive,
	"user.deactivate": store.StatusDeactivated,
}

func (s *Service) planUserStatus(c *Caller, id, action string, req *StatusRequest, out *UserAnswer) planFunc {
	return func(tx *store.Tx) (*plan, error) {
		if err := validUserID(id); err != nil {
			return nil, err
		}
		if req.DeactivatedUntil != nil {
			if req.Until != nil && !req.Until.Equal(req.DeactivatedUntil.Time) {
				return nil, invalid("until and deactivated_until differ; give one")
			}
			req.Until = req.DeactivatedUntil
		}
		if req.Until != nil && action != "user.deactivate" {
			return nil, invalid("until is only for deactivate")
		}
		if req.Until != nil && !req.Until.After(tx.Now()) {
			return nil, invalid("until must be in the future")
		}
		u, in, err := s.userInput(tx, c, id, actUpdate, action)
		if err != nil {
			return nil, err
		}
		holders, err := s.adminHolders(tx, u.Org)
		if err != nil {
			return nil, err
		}
		next := *u
		next.Status, next.StatusChangedAt, next.DeactivatedUntil = statusOf[action], tx.Now(), req.Until.Std()
		change := map[string]any{"status": string(next.Status)}
		if req.Until != nil {
			change["until"] = req.Until.UTC().Format(time.RFC3339)
		}
		in["change"], in["admin_holders"] = change, holders
		return (&plan{checks: []map[string]any{in}, apply: func(tx *store.Tx) error {
			if err := tx.UpdateUser(&next); err != nil {
				return err
			}
			details := map[string]any{"from": string(u.Status), "to": string(next.Status)}
			if req.Until != nil {
				details["until"] = req.Until.UTC().Format(time.RFC3339)
			}
			tx.Audit(store.AuditEvent{Type: action, Org: u.Org, UserID: u.ID, Object: u.ID, Details: details})
			out.User = &next
			return nil
		}}).watchRoles(u.Org, u.ID), nil
	}
}

// SetUserStatus is user.inactivate, user.activate or user.deactivate of
// the user id.
func (s *Service) SetUserStatus(ctx context.Context, c *Caller, id, action string, req *StatusRequest) (uint64, *UserAnswer, error) {
	var out UserAnswer
	rev, err := s.write(ctx, c, s.planUserStatus(c, id, action, req, &out))
	return rev, &out, err
}

// --- search ---

// statusFilter matches a user status against the status query parameter:
// active (default: new and active), inactive (inactive and deactivated),
// all, or one exact status (new, deactivated).
func statusFilter(q string) (func(store.UserStatus) bool, error) {
	switch q {
	case "", "active":
		return store.UserStatus.Usable, nil
	case "inactive":
		return func(s store.UserStatus) bool { return s == store.StatusInactive || s == store.StatusDeactivated }, nil
	case "all":
		return func(store.UserStatus) bool { return true }, nil
	case "new", "deactivated":
		return func(s store.UserStatus) bool { return string(s) == q }, nil
	}
	return nil, invalid("status must be active, inactive, all, new or deactivated")
}

// userQuery is the search of GET /v1/orgs/{cvr}/users: every filter
// given must match (text in name, e-mail, username or legacy id; exact
// e-mail; RID; admin role or right; Unilogin user type and class).
type userQuery struct {
	keep                   func(store.UserStatus) bool
	text, email, rid, role string
	userType, class        string
}

// parseUserQuery reads the search and the page of GET
// /v1/orgs/{cvr}/users: status, then paging, then the RID's shape.
func parseUserQuery(q url.Values) (userQuery, page, error) {
	keep, err := statusFilter(q.Get("status"))
	if err != nil {
		return userQuery{}, page{}, err
	}
	pg, err := parsePage(q)
	if err != nil {
		return userQuery{}, page{}, err
	}
	uq := userQuery{keep: keep, text: strings.ToLower(strings.TrimSpace(q.Get("q"))),
		email: strings.ToLower(strings.TrimSpace(q.Get("email"))), rid: strings.TrimSpace(q.Get("rid")),
		role: strings.TrimSpace(q.Get("role")),
		// Unilogin's "Vis importerede": by user type (elev, lærer, …) and class.
		userType: strings.TrimSpace(q.Get("user_type")), class: strings.TrimSpace(q.Get("class"))}
	if uq.rid != "" && !strings.HasPrefix(uq.rid, "CVR:") {
		if _, err := strconv.ParseUint(uq.rid, 10, 64); err != nil {
			return userQuery{}, page{}, invalid("rid must be a RID number or a CVR:…-RID:… id")
		}
	}
	return uq, pg, nil
}

// matchesFields reports whether u passes the query's status and field
// filters (everything but the role).
func (q *userQuery) matchesFields(u *store.User) bool {
	if !q.keep(u.Status) || (q.email != "" && strings.ToLower(u.Email) != q.email) {
		return false
	}
	if (q.userType != "" && !strings.EqualFold(u.UserType, q.userType)) || (q.class != "" && !strings.EqualFold(u.Class, q.class)) {
		return false
	}
	if q.rid != "" && u.LegacyID != q.rid && !strings.HasSuffix(u.LegacyID, "-RID:"+q.rid) {
		return false
	}
	t := q.text
	return t == "" || strings.Contains(strings.ToLower(u.Name), t) || strings.Contains(strings.ToLower(u.Email), t) ||
		strings.Contains(strings.ToLower(u.Username), t) || strings.Contains(strings.ToLower(u.LegacyID), t)
}

// userMatcher is the query's test of a user of org cvr in tx; a role
// that is neither an admin role nor a right of the catalogue is invalid.
func (s *Service) userMatcher(tx *store.Tx, cvr string, q *userQuery) (func(*store.User) (bool, error), error) {
	adminRole := false
	switch store.AdminRole(q.role) {
	case "":
	case store.RoleOrgAdmin, store.RoleUserAdmin, store.RoleAuditor:
		adminRole = true
	default:
		if _, err := tx.GetRight(q.role); err != nil {
			return nil, invalid("role must be an admin role (org-admin, user-admin, auditor) or a right id")
		}
	}
	return func(u *store.User) (bool, error) {
		switch {
		case !q.matchesFields(u):
			return false, nil
		case adminRole:
			return slices.Contains(s.roles.rolesIn(u.ID, cvr), q.role), nil
		case q.role != "":
			gs, err := tx.EffectiveGrants(u.ID)
			if err != nil {
				return false, err
			}
			return slices.ContainsFunc(gs, func(g store.EffectiveGrant) bool { return g.Right == q.role && g.Org == cvr }), nil
		}
		return true, nil
	}, nil
}

// searchUsers is the page pg of org cvr's users that match q.
func (s *Service) searchUsers(ctx context.Context, tx *store.Tx, cvr string, q *userQuery, pg page) ([]*store.User, string, error) {
	match, err := s.userMatcher(tx, cvr, q)
	if err != nil {
		return nil, "", err
	}
	users := []*store.User{}
	add := func(u *store.User) error {
		ok, err := match(u)
		if ok {
			users = append(users, u)
		}
		return err
	}
	if q.email != "" { // the unique index answers directly
		u, err := tx.UserByEmail(q.email)
		switch {
		case err == nil && u.Org == cvr:
			if err := add(u); err != nil {
				return nil, "", err
			}
		case err != nil && !store.IsNotFound(err):
			return nil, "", err
		}
	} else {
		// Users come by name (case-insensitive), then id: the order a
		// person reads a list in, stable across pages.
		cursor := ""
		for {
			batch, more, err := tx.ListUsers(cvr, cursor, 200)
			if err != nil {
				return nil, "", err
			}
			for _, u := range batch {
				cursor = u.ID
				if err := add(u); err != nil {
					return nil, "", err
				}
			}
			if more == "" {
				break
			}
		}
	}
	users, next := pageOf(pg, users, userPageKey)
	s.withPasswordStatus(ctx, tx, users...)
	return users, next, nil
}

// ListUsers searches the org's users (userQuery), paged.
func (s *Service) ListUsers(ctx context.Context, c *Caller, cvr string, query url.Values) (*Page[*store.User], error) {
	if err := validCVR(cvr); err != nil {
		return nil, err
	}
	q, pg, err := parseUserQuery(query)
	if err != nil {
		return nil, err
	}
	return orgPage(ctx, s, c, cvr, objUser, pg, func(tx *store.Tx, cvr string, pg page) ([]*store.User, string, error) {
		return s.searchUsers(ctx, tx, cvr, &q, pg)
	})
}

// userPageKey orders users by name (case-insensitive), then id.
func userPageKey(u *store.User) string { return strings.ToLower(u.Name) + "\x00" + u.ID }
