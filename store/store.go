package store

import (
	"context"
	"time"

	"github.com/rs/zerolog"
)

// Config configures Open. The zero value of each field is a safe default.
type Config struct {
	// Dir is the Badger directory. Required unless InMemory.
	Dir string
	// InMemory keeps everything in memory (tests and benchmarks only).
	InMemory bool
	// NoSync turns Badger's SyncWrites off. Default (false) = every
	// acknowledged write is fsynced and survives kill -9.
	NoSync bool
	// EncryptionKey (16, 24 or 32 bytes) enables Badger encryption at rest.
	EncryptionKey []byte
	// CPRKey is the HMAC secret for CPR look-up hashes. Required.
	CPRKey []byte
	// GCInterval is how often value-log GC runs (default 10m; <0 disables).
	GCInterval time.Duration
	// Logger receives store logs (never CPR numbers).
	Logger zerolog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Change is one committed write, as published on the change feed.
type Change struct {
	Revision uint64
	Events   []AuditEvent
}

// Store is the Badger-backed system of record. Safe for concurrent use.
// Writes are serialised; each Update is one Badger transaction that bumps
// the store-wide revision and appends its audit events.
type Store struct {
	// implementation fields
}

// Open opens (creating if needed) the store. It fails with a clear error
// when another process holds the directory. On an empty store it seeds
// the default rights catalogue (DefaultRights).
func Open(cfg Config) (*Store, error) { panic("todo") }

// Close stops background work and closes Badger. Idempotent.
func (s *Store) Close() error { panic("todo") }

// Revision returns the last committed revision (0 for an empty store).
func (s *Store) Revision() uint64 { panic("todo") }

// Healthy returns nil when the store is open and its directory usable.
func (s *Store) Healthy() error { panic("todo") }

// HashCPR returns the keyed hash used to look a CPR number up. cpr must be
// a normalised 10-digit/KOT CPR (see ParseCPR).
func (s *Store) HashCPR(cpr string) string { panic("todo") }

// View runs fn in a read-only transaction. Write methods on tx fail.
func (s *Store) View(ctx context.Context, fn func(tx *Tx) error) error { panic("todo") }

// Update runs fn in one read-write transaction as actor. If fn returns an
// error nothing is written (audit included). On success the revision is
// bumped once, every audit event recorded by fn (explicitly or by the
// write methods) is stored with that revision, the change is published on
// the feed, and the new revision is returned.
func (s *Store) Update(ctx context.Context, actor string, fn func(tx *Tx) error) (uint64, error) {
	panic("todo")
}

// LoginView returns what a login decision needs about subjectID (a UUID or
// a CVR:…-RID:… legacy id) logging in for cvr: the user (nil if unknown),
// the org (nil if unknown), its direct grants and the grants of every group
// it is a member of (custom and the system group of its P-number), and the
// certificate with certSerial if given and known. Point look-ups only.
func (s *Store) LoginView(ctx context.Context, cvr, subjectID, certSerial string) (*LoginView, error) {
	panic("todo")
}

// Subscribe returns a channel of committed changes and a cancel func.
// Slow subscribers lose changes but never block writers; a lost change is
// signalled by a Change with Revision gap, so caches must compare revisions.
func (s *Store) Subscribe(buffer int) (<-chan Change, func()) { panic("todo") }

// Tx is a store transaction. Methods return *Error values (not_found,
// conflict with Rule "A12"/Reason "duplicate", invalid …).
type Tx struct {
	// implementation fields
}

// Now returns the transaction's clock reading (stable within one tx).
func (tx *Tx) Now() time.Time { panic("todo") }

// Audit records an extra audit event; Revision, Seq, Time, Actor are filled in.
func (tx *Tx) Audit(ev AuditEvent) { panic("todo") }

// --- organisations ---

func (tx *Tx) GetOrg(cvr string) (*Org, error) { panic("todo") }
func (tx *Tx) ListOrgs() ([]*Org, error)       { panic("todo") }

// CreateOrg stores a new org (conflict if it exists) and its system groups.
func (tx *Tx) CreateOrg(o *Org) error { panic("todo") }

// UpdateOrg replaces an org and keeps its system groups in step with P-units.
func (tx *Tx) UpdateOrg(o *Org) error { panic("todo") }

// --- users ---

func (tx *Tx) GetUser(id string) (*User, error)              { panic("todo") }
func (tx *Tx) UserByEmail(email string) (*User, error)       { panic("todo") }
func (tx *Tx) UserByUsername(username string) (*User, error) { panic("todo") }
func (tx *Tx) UserByLegacyID(legacy string) (*User, error)   { panic("todo") }
func (tx *Tx) UserByCPRHash(hash string) (*User, error)      { panic("todo") }

// CreateUser stores a new user; unique index clashes (email, username,
// legacy id, CPR hash, id) give conflict/A12/duplicate.
func (tx *Tx) CreateUser(u *User) error { panic("todo") }

// UpdateUser replaces a user, moving every index that changed.
func (tx *Tx) UpdateUser(u *User) error { panic("todo") }

// TouchLogin sets a user's last login time without an audit event.
func (tx *Tx) TouchLogin(id string, t time.Time) error { panic("todo") }

// DeleteUser removes a user, its indexes, direct grants and memberships.
// Its audit history stays.
func (tx *Tx) DeleteUser(id string) error { panic("todo") }

// ListUsers lists an org's users ordered by id, starting after `after`.
func (tx *Tx) ListUsers(cvr, after string, limit int) (users []*User, next string, err error) {
	panic("todo")
}

// EachUser calls fn for every user of every org (lifecycle jobs).
func (tx *Tx) EachUser(fn func(*User) error) error { panic("todo") }

// --- rights ---

func (tx *Tx) GetRight(id string) (*Right, error) { panic("todo") }
func (tx *Tx) PutRight(r *Right) error            { panic("todo") }
func (tx *Tx) ListRights() ([]*Right, error)      { panic("todo") }

// --- grants ---

func (tx *Tx) GetGrant(id string) (*Grant, error)                      { panic("todo") }
func (tx *Tx) CreateGrant(g *Grant) error                              { panic("todo") }
func (tx *Tx) DeleteGrant(id string) error                             { panic("todo") }
func (tx *Tx) GrantsOfUser(userID string) ([]*Grant, error)            { panic("todo") }
func (tx *Tx) GrantsOfGroup(groupID string) ([]*Grant, error)          { panic("todo") }
func (tx *Tx) EffectiveGrants(userID string) ([]EffectiveGrant, error) { panic("todo") }

// --- groups ---

func (tx *Tx) GetGroup(id string) (*Group, error)           { panic("todo") }
func (tx *Tx) CreateGroup(g *Group) error                   { panic("todo") }
func (tx *Tx) DeleteGroup(id string) error                  { panic("todo") }
func (tx *Tx) ListGroups(cvr string) ([]*Group, error)      { panic("todo") }
func (tx *Tx) SystemGroup(pNumber string) (*Group, error)   { panic("todo") }
func (tx *Tx) AddMember(groupID, userID string) error       { panic("todo") }
func (tx *Tx) RemoveMember(groupID, userID string) error    { panic("todo") }
func (tx *Tx) Members(groupID string) ([]string, error)     { panic("todo") }
func (tx *Tx) GroupsOfUser(userID string) ([]string, error) { panic("todo") }

// --- knock queue ---

func (tx *Tx) GetKnock(id string) (*Knock, error)                   { panic("todo") }
func (tx *Tx) KnockBySubject(cvr, subjectID string) (*Knock, error) { panic("todo") }
func (tx *Tx) PutKnock(k *Knock) error                              { panic("todo") }
func (tx *Tx) DeleteKnock(id string) error                          { panic("todo") }
func (tx *Tx) ListKnocks(cvr string) ([]*Knock, error)              { panic("todo") }

// --- tokens ---

func (tx *Tx) PutToken(t *Token) error                 { panic("todo") }
func (tx *Tx) GetToken(id string) (*Token, error)      { panic("todo") }
func (tx *Tx) TokenByHash(hash string) (*Token, error) { panic("todo") }
func (tx *Tx) DeleteToken(id string) error             { panic("todo") }
func (tx *Tx) ListTokens() ([]*Token, error)           { panic("todo") }

// --- certificates ---

func (tx *Tx) GetCertificate(serial string) (*Certificate, error) { panic("todo") }
func (tx *Tx) PutCertificate(c *Certificate) error                { panic("todo") }

// --- audit ---

// History returns a user's latest audit events (newest first), optionally
// filtered by time range (zero = open) and type, at most limit.
func (tx *Tx) History(userID string, from, to time.Time, typ string, limit int) ([]AuditEvent, error) {
	panic("todo")
}

// OrgAudit is History for every event of one org.
func (tx *Tx) OrgAudit(cvr string, from, to time.Time, typ string, limit int) ([]AuditEvent, error) {
	panic("todo")
}

// AuditSince returns every audit event with revision > rev, oldest first.
func (tx *Tx) AuditSince(rev uint64) ([]AuditEvent, error) { panic("todo") }

// --- imports, outbox, job state ---

func (tx *Tx) PutImport(b *ImportBatch) error                    { panic("todo") }
func (tx *Tx) GetImport(id string) (*ImportBatch, error)         { panic("todo") }
func (tx *Tx) ListImports(cvr string) ([]*ImportBatch, error)    { panic("todo") }
func (tx *Tx) PutMail(m *OutboxMail) error                       { panic("todo") }
func (tx *Tx) ListMail(to, userID string) ([]*OutboxMail, error) { panic("todo") }

// PutMeta stores a small JSON value under a name (job checkpoints etc.).
func (tx *Tx) PutMeta(name string, v any) error { panic("todo") }

// GetMeta loads a value stored with PutMeta; not_found if absent.
func (tx *Tx) GetMeta(name string, v any) error { panic("todo") }
