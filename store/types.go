package store

import "time"

// OrgType is the kind of organisation (SPEC §1).
type OrgType string

// Organisation types.
const (
	OrgAKasse      OrgType = "a-kasse"
	OrgAuthority   OrgType = "authority"
	OrgInstitution OrgType = "institution"
	OrgCompany     OrgType = "company"
)

// Deletion policies of an organisation (A9).
const (
	DeletionInactivateOnly = "inactivate_only"
	DeletionAllowed        = "allowed"
)

// PUnit is a production unit (P-enhed) of an organisation.
type PUnit struct {
	PNumber string `json:"p_number"`
	Name    string `json:"name,omitempty"`
}

// Lifecycle holds an organisation's lifecycle thresholds in days/months
// (SPEC §4). Zero means "use the default".
type Lifecycle struct {
	InactivateAfterDays  int `json:"inactivate_after_days,omitempty"`  // L1, default 90
	DeleteAfterDays      int `json:"delete_after_days,omitempty"`      // L2, default 100
	UnconfirmedAfterDays int `json:"unconfirmed_after_days,omitempty"` // L4, default 365
	WarnBeforeDays       int `json:"warn_before_days,omitempty"`       // L4, default 30
	ImportRetireMonths   int `json:"import_retire_months,omitempty"`   // L5, default 12
}

// OrgSettings are the per-organisation switches.
type OrgSettings struct {
	AllowKnock          bool      `json:"allow_knock"`
	Deletion            string    `json:"deletion,omitempty"` // inactivate_only | allowed (default allowed)
	IdentificationMeans []string  `json:"identification_means,omitempty"`
	Lifecycle           Lifecycle `json:"lifecycle"`
	PasswordLogin       bool      `json:"password_login,omitempty"`        // IMI-style local accounts
	PasswordMaxAgeDays  int       `json:"password_max_age_days,omitempty"` // L8/D15, default 180

	// Issue 17 (SPEC §8): what may be ordered, which rights keep a holder,
	// whether administrators must be CPR-identified.
	CertificateTypes    []string `json:"certificate_types,omitempty"`     // C1: user | org | function; empty: any
	MustHaveRoles       []string `json:"must_have_roles,omitempty"`       // A17: right ids that keep an active holder
	AdminsCPRIdentified bool     `json:"admins_cpr_identified,omitempty"` // A18
}

// Org is an organisation, identified by its CVR number.
type Org struct {
	CVR       string      `json:"cvr"`
	Name      string      `json:"name"`
	Type      OrgType     `json:"type"`
	PUnits    []PUnit     `json:"p_units"`
	SENumbers []string    `json:"se_numbers"`
	Settings  OrgSettings `json:"settings"`
	CreatedAt time.Time   `json:"created_at"`
	UpdatedAt time.Time   `json:"updated_at"`
}

// HasPUnit reports whether p is one of the org's P-numbers.
func (o *Org) HasPUnit(p string) bool {
	for _, u := range o.PUnits {
		if u.PNumber == p {
			return true
		}
	}
	return false
}

// HasSE reports whether se is one of the org's SE-numbers.
func (o *Org) HasSE(se string) bool {
	for _, s := range o.SENumbers {
		if s == se {
			return true
		}
	}
	return false
}

// UserKind is the kind of user.
type UserKind string

// User kinds.
const (
	KindEmployee UserKind = "employee"
	KindFunction UserKind = "function" // function certificate user (A2)
	KindPrivate  UserKind = "private"
)

// UserStatus is the lifecycle status of a user.
type UserStatus string

// User statuses.
const (
	StatusNew         UserStatus = "new"
	StatusActive      UserStatus = "active"
	StatusInactive    UserStatus = "inactive"
	StatusDeactivated UserStatus = "deactivated"
	StatusDeleted     UserStatus = "deleted"
)

// Usable reports whether a user of this status may log in and its grants
// count — its admin roles included: new and active (the statuses of the
// login policy's D3, _usable_status). The one definition the admin role
// links, the A10 holders and the lifecycle jobs' holders share.
func (s UserStatus) Usable() bool { return s == StatusActive || s == StatusNew }

// Password holds a local (IMI-style) password state (L8). Hashes are
// argon2id encoded strings; the plain password is never stored.
type Password struct {
	Hash      string    `json:"hash"`
	History   []string  `json:"history,omitempty"` // previous hashes, newest first, at most 4 (with Hash: the last 5)
	ChangedAt time.Time `json:"changed_at"`
	Temporary bool      `json:"temporary"`
	Failures  int       `json:"failures"`
	Blocked   bool      `json:"blocked"`
}

// User is a person or system identity of one organisation.
//
// CPR is never held in plain form: CPRHash is a keyed HMAC (see CPRHasher)
// used for look-ups and CPRMasked is the display form DDMMYY-****.
type User struct {
	ID                  string     `json:"id"`  // UUID
	Org                 string     `json:"org"` // CVR
	Name                string     `json:"name"`
	Email               string     `json:"email,omitempty"`
	Username            string     `json:"username,omitempty"`
	LegacyID            string     `json:"legacy_id,omitempty"` // CVR:…-RID:…
	CPRHash             string     `json:"-"`
	CPRMasked           string     `json:"cpr,omitempty"`
	CPREncrypted        []byte     `json:"-"`
	BirthDate           string     `json:"birth_date,omitempty"` // YYYY-MM-DD
	Kind                UserKind   `json:"kind"`
	CPRLinked           bool       `json:"cpr_linked"`
	PNumber             string     `json:"p_number,omitempty"`
	SENumber            string     `json:"se_number,omitempty"`
	Anonymous           bool       `json:"anonymous"`
	Status              UserStatus `json:"status"`
	DeactivatedUntil    *time.Time `json:"deactivated_until,omitempty"`
	StatusChangedAt     time.Time  `json:"status_changed_at"`
	LastLogin           *time.Time `json:"last_login,omitempty"`
	Justification       string     `json:"justification,omitempty"`
	Language            string     `json:"language,omitempty"`
	Phone               string     `json:"phone,omitempty"`
	Source              string     `json:"source,omitempty"` // manual | import:<id> | knock
	UserType            string     `json:"user_type,omitempty"`
	Class               string     `json:"class,omitempty"`
	IdentificationMeans []string   `json:"identification_means,omitempty"`
	ConfirmedAt         *time.Time `json:"confirmed_at,omitempty"`
	Password            *Password  `json:"-"`
	// PasswordStatus is filled by the admin API for its answers (blocked,
	// temporary, expired, valid; empty without a local password). Never stored.
	PasswordStatus string    `json:"password_status,omitempty"`
	ActivationHash string    `json:"-"` // hashed one-time activation code / token (L7)
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// AdminRole names an administrator role (SPEC §3).
type AdminRole string

// Admin roles.
const (
	RoleSuperadmin AdminRole = "superadmin"
	RoleOrgAdmin   AdminRole = "org-admin"
	RoleUserAdmin  AdminRole = "user-admin"
	RoleAuditor    AdminRole = "auditor"
)

// Right is an entry of the rights catalogue.
type Right struct {
	ID            string    `json:"id"`
	Title         string    `json:"title"`
	Service       string    `json:"service"`
	Forbidden     bool      `json:"forbidden"`
	Deprecated    bool      `json:"deprecated"`
	NoGroup       bool      `json:"no_group"`
	NoSE          bool      `json:"no_se"`
	RequireCPR    bool      `json:"require_cpr"`
	EmployeesOnly bool      `json:"employees_only"`
	AdminRole     AdminRole `json:"admin_role,omitempty"` // "", user-admin, org-admin, auditor
	// AnonymityAllowed marks a right of a service that uses NemLog-in as
	// broker, where an anonymous user works (MitID Erhverv): only a user
	// holding such a right may ask for anonymity, and only such grants
	// move to the anonymous user an approval creates.
	AnonymityAllowed bool `json:"anonymity_allowed"`
	// Privilege is the right's OIO BPP privilege URI in NemLog-in
	// privilege lists; empty means urn:dk:adgang:<id>.
	Privilege string `json:"privilege,omitempty"`
}

// Scope types of a grant.
const (
	ScopeCVR = "cvr"
	ScopeP   = "p"
	ScopeSE  = "se"
)

// Scope is where a grant applies: the whole CVR, one P-number or one SE-number.
type Scope struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Holder types of a grant.
const (
	HolderUser  = "user"
	HolderGroup = "group"
)

// Grant is a right given to a user or a group, with a scope.
type Grant struct {
	ID            string     `json:"id"`
	Right         string     `json:"right"`
	HolderType    string     `json:"holder_type"` // user | group
	HolderID      string     `json:"holder_id"`
	Org           string     `json:"org"` // CVR the scope belongs to
	Scope         Scope      `json:"scope"`
	GrantedBy     string     `json:"granted_by"`
	GrantedAt     time.Time  `json:"granted_at"`
	ExpiresAt     *time.Time `json:"expires_at,omitempty"`
	Justification string     `json:"justification,omitempty"`
}

// Group kinds.
const (
	GroupCustom = "custom"
	GroupSystem = "system"
)

// Group is a custom group (made by an org admin) or a system group (one per
// P-unit, membership automatic, read-only).
type Group struct {
	ID        string    `json:"id"`
	Org       string    `json:"org"`
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`               // custom | system
	PNumber   string    `json:"p_number,omitempty"` // system groups
	CreatedAt time.Time `json:"created_at"`
}

// Knock is an unknown employee who tried to log in (D2, L6).
type Knock struct {
	ID        string    `json:"id"`
	Org       string    `json:"org"`
	SubjectID string    `json:"subject_id"` // UUID or CVR:…-RID:…
	UUID      string    `json:"uuid,omitempty"`
	LegacyID  string    `json:"legacy_id,omitempty"`
	Name      string    `json:"name,omitempty"`
	Email     string    `json:"email,omitempty"`
	First     time.Time `json:"first"`
	Last      time.Time `json:"last"`
	Count     int       `json:"count"`
}

// Token is an admin API token. Only its hash is stored.
type Token struct {
	ID         string     `json:"id"`
	Hash       string     `json:"-"`
	UserID     string     `json:"user_id,omitempty"`
	Superadmin bool       `json:"superadmin"`
	CreatedBy  string     `json:"created_by,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
}

// Certificate statuses (SPEC §7; D14 reads revocation).
const (
	CertOrdered = "ordered"
	CertIssued  = "issued"
	CertRevoked = "revoked"
	CertExpired = "expired"
)

// Certificate types (SPEC §8).
const (
	CertTypeUser     = "user"
	CertTypeOrg      = "org"
	CertTypeFunction = "function"
)

// Certificate is a record of a user, organisation or function certificate
// (MitID Erhverv): no key material. UserID is the holder of a user or
// function certificate; Org holds an organisation certificate (and every
// certificate belongs to one org). Status is the stored status; an issued
// certificate past ExpiresAt reads as expired (EffectiveStatus).
type Certificate struct {
	Serial      string     `json:"serial"`
	Org         string     `json:"org"`
	UserID      string     `json:"user_id,omitempty"`
	Type        string     `json:"type"` // user | org | function
	Status      string     `json:"status"`
	OrderedBy   string     `json:"ordered_by,omitempty"`
	OrderedAt   time.Time  `json:"ordered_at"`
	IssuedAt    *time.Time `json:"issued_at,omitempty"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
	RenewedFrom string     `json:"renewed_from,omitempty"` // the serial this one renews
	RenewedBy   string     `json:"renewed_by,omitempty"`   // the serial that renews this one
}

// EffectiveStatus is the certificate's status at now: an issued
// certificate whose ExpiresAt has passed is expired.
func (c *Certificate) EffectiveStatus(now time.Time) string {
	if c.Status == CertIssued && c.ExpiresAt != nil && !c.ExpiresAt.After(now) {
		return CertExpired
	}
	return c.Status
}

// AuditEvent is one entry of the audit history. Events are written in the
// same transaction as the change they describe.
type AuditEvent struct {
	Revision uint64         `json:"revision"`
	Seq      int            `json:"seq"` // order within the revision
	Time     time.Time      `json:"time"`
	Actor    string         `json:"actor"` // token id, user id or "system"
	Type     string         `json:"type"`  // e.g. user.create, grant.delete
	Org      string         `json:"org,omitempty"`
	UserID   string         `json:"user_id,omitempty"`
	Object   string         `json:"object,omitempty"` // id of the changed object
	Details  map[string]any `json:"details,omitempty"`
}

// ImportBatch records one CSV import (L5).
type ImportBatch struct {
	ID        string    `json:"id"`
	Org       string    `json:"org"`
	Mode      string    `json:"mode"`
	CreatedAt time.Time `json:"created_at"`
	Rows      int       `json:"rows"`
	Retired   bool      `json:"retired"`
}

// OutboxMail is a mail waiting or sent (activation, warnings, passwords).
type OutboxMail struct {
	ID      string `json:"id"`
	To      string `json:"to"`
	UserID  string `json:"user_id,omitempty"`
	Kind    string `json:"kind"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
	// Secret is the one-time secret the mail carries (activation link
	// token, temporary password). Body holds the placeholder SecretMark
	// where it goes; the SMTP delivery fills it in, the API never shows it,
	// and it is wiped once the mail is sent.
	Secret    string     `json:"-"`
	CreatedAt time.Time  `json:"created_at"`
	SentAt    *time.Time `json:"sent_at,omitempty"`
}

// SecretMark is the placeholder of OutboxMail.Secret in a mail's body.
const SecretMark = "{{secret}}"

// EffectiveGrant is a grant as seen by one user, with where it came from:
// Source is "direct" or the id of the group it came through. Grant may be
// the store's shared decoded record (a read transaction's): read it, never
// change it. (A pointer, not a copy: an EffectiveGrant was ~210 bytes, a
// tenth of the bytes a login decision allocated.)
type EffectiveGrant struct {
	*Grant
	Source string `json:"source"`
}

// LoginView is everything a login decision needs about one subject, read
// in a few point look-ups. User and Org are nil when not found. Org is
// shared with the store's decoded-record cache: read it, never change it.
type LoginView struct {
	Revision    uint64           `json:"revision"`
	User        *User            `json:"user"`
	Org         *Org             `json:"org"`
	Grants      []EffectiveGrant `json:"grants"`
	Certificate *Certificate     `json:"certificate,omitempty"`
	// GrantOrgs are the other organisations whose custom groups give the
	// user grants (M16 external group members), by CVR.
	GrantOrgs map[string]*Org `json:"grant_orgs,omitempty"`
	// Deps is what the read depended on: while none of it has changed
	// since Revision (Store.DepsChangedSince), a decision made from this
	// view is still exact.
	Deps []Dep `json:"-"`
}
