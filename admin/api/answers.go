package api

import (
	"time"

	"github.com/adgang/adgang/admin"
	"github.com/adgang/adgang/pdp"
	pdpapi "github.com/adgang/adgang/pdp/api"
	"github.com/adgang/adgang/store"
)

// The typed answers of the admin API. Their fields are in the order of
// their JSON names, so that an answer reads byte for byte as it did when
// it was encoded from a map; every answer of a change carries the
// revision that holds it.

// deletedAnswer answers a deletion: the id deleted.
type deletedAnswer struct {
	Deleted  string `json:"deleted"`
	Revision uint64 `json:"revision"`
}

// deletedListAnswer answers a bulk deletion: the ids deleted.
type deletedListAnswer struct {
	Deleted  []string `json:"deleted"`
	Revision uint64   `json:"revision"`
}

// grantAnswer answers a grant made (grant, admin, transfer).
type grantAnswer struct {
	Grant    *store.Grant `json:"grant"`
	Revision uint64       `json:"revision"`
}

// anonymityAnswer answers an anonymity request made or decided; an
// approval also shows the anonymous user made.
type anonymityAnswer struct {
	AnonymityRequest *store.AnonymityRequest `json:"anonymity_request"`
	Revision         uint64                  `json:"revision"`
	User             *store.User             `json:"user,omitempty"`
}

// certificateAnswer answers a certificate read, ordered or changed.
type certificateAnswer struct {
	Certificate *store.Certificate `json:"certificate"`
	Revision    uint64             `json:"revision"`
}

// certificatesAnswer is a page of an organisation's certificates.
type certificatesAnswer struct {
	Certificates  []*store.Certificate `json:"certificates"`
	NextPageToken string               `json:"next_page_token"`
	Revision      uint64               `json:"revision"`
}

// decisionsAnswer is a page of the stored decision log (no revision: the
// log is not part of the revisioned store).
type decisionsAnswer struct {
	Decisions     []*store.DecisionRecord `json:"decisions"`
	NextPageToken string                  `json:"next_page_token"`
}

// groupAnswer answers a group made.
type groupAnswer struct {
	Group    *store.Group `json:"group"`
	Revision uint64       `json:"revision"`
}

// groupViewAnswer is GET /v1/groups/{id}: the first members inline.
type groupViewAnswer struct {
	Grants               []*store.Grant `json:"grants"`
	Group                *store.Group   `json:"group"`
	MemberCount          int            `json:"member_count"`
	Members              []string       `json:"members"`
	MembersNextPageToken string         `json:"members_next_page_token"`
	Revision             uint64         `json:"revision"`
}

// memberAnswer answers a member added or removed.
type memberAnswer struct {
	GroupID  string `json:"group_id"`
	Revision uint64 `json:"revision"`
	UserID   string `json:"user_id"`
}

// importAnswer answers an import batch retired.
type importAnswer struct {
	Import   *store.ImportBatch `json:"import"`
	Revision uint64             `json:"revision"`
}

// userCreatedAnswer answers a user made (by hand, from a knock or an
// association): the A15 grants of an organisation's first user, and the
// activation issued at creation, if any.
type userCreatedAnswer struct {
	Activation *activationInfo `json:"activation,omitempty"`
	Grants     []*store.Grant  `json:"grants"`
	Revision   uint64          `json:"revision"`
	User       *store.User     `json:"user"`
}

// activationInfo is an activation issued with a user's creation.
type activationInfo struct {
	Code   string `json:"code,omitempty"` // shown in this answer only; stored hashed
	MailID string `json:"mail_id,omitempty"`
	Method string `json:"method"`
}

// userAnswer answers a user changed.
type userAnswer struct {
	Revision uint64      `json:"revision"`
	User     *store.User `json:"user"`
}

// userViewAnswer is GET /v1/users/{id}: the user and its admin roles.
type userViewAnswer struct {
	AdminRoles []string    `json:"admin_roles"`
	Revision   uint64      `json:"revision"`
	User       *store.User `json:"user"`
}

// activationAnswer answers an activation sent or issued again.
type activationAnswer struct {
	Code     string `json:"code,omitempty"` // shown in this answer only; stored hashed
	MailID   string `json:"mail_id,omitempty"`
	Method   string `json:"method"`
	Revision uint64 `json:"revision"`
	UserID   string `json:"user_id"`
}

// activatedAnswer answers a user's own activation.
type activatedAnswer struct {
	Revision uint64           `json:"revision"`
	Status   store.UserStatus `json:"status"`
	UserID   string           `json:"user_id"`
}

// bulkAnswer answers a bulk route: one line per user.
type bulkAnswer struct {
	Results  []bulkLine `json:"results"`
	Revision uint64     `json:"revision"`
}

// bulkLine is one user's line of a bulk answer; a refusal is answered in
// the shape of every error answer.
type bulkLine struct {
	UserID string              `json:"user_id"`
	Status string              `json:"status"` // ok | error
	Detail map[string]any      `json:"detail,omitempty"`
	Error  *pdpapi.ErrorDetail `json:"error,omitempty"`
}

// bulkAnswerOf is the answer of a bulk route at revision rev.
func bulkAnswerOf(rev uint64, results []admin.BulkResult) bulkAnswer {
	lines := make([]bulkLine, len(results))
	for i, r := range results {
		lines[i] = bulkLine{UserID: r.UserID, Status: r.Status, Detail: r.Detail}
		if r.Err != nil {
			d := pdpapi.DetailOf(r.Err)
			lines[i].Error = &d
		}
	}
	return bulkAnswer{Revision: rev, Results: lines}
}

// userIDAnswer answers a change of a user that shows nothing else.
type userIDAnswer struct {
	Revision uint64 `json:"revision"`
	UserID   string `json:"user_id"`
}

// passwordResetAnswer answers a password reset: the temporary password,
// shown once.
type passwordResetAnswer struct {
	MailID            string `json:"mail_id,omitempty"`
	PasswordStatus    string `json:"password_status"`
	Revision          uint64 `json:"revision"`
	TemporaryPassword string `json:"temporary_password"`
	UserID            string `json:"user_id"`
}

// meAnswer is GET /v1/me: the caller and its effective rights.
type meAnswer struct {
	Revision uint64           `json:"revision"`
	Rights   []pdp.RightScope `json:"rights"`
	User     *store.User      `json:"user"`
}

// notificationAnswer answers a notification marked read.
type notificationAnswer struct {
	Notification *store.Notification `json:"notification"`
	Revision     uint64              `json:"revision"`
}

// orgAnswer answers an organisation made or changed.
type orgAnswer struct {
	Org      *store.Org `json:"org"`
	Revision uint64     `json:"revision"`
}

// orgViewAnswer is GET /v1/orgs/{cvr}: the organisation and its groups.
type orgViewAnswer struct {
	Groups   []*store.Group `json:"groups"`
	Org      *store.Org     `json:"org"`
	Revision uint64         `json:"revision"`
}

// checkAnswer is the verdict of POST /v1/policy/check.
type checkAnswer struct {
	Action   string       `json:"action"`
	Allow    bool         `json:"allow"`
	DryRun   bool         `json:"dry_run"`
	Policy   string       `json:"policy"`
	Reasons  []pdp.Reason `json:"reasons"`
	Revision uint64       `json:"revision"`
}

// privilegesAnswer is what a NemLog-in privilege list would grant.
type privilegesAnswer struct {
	Grants   []pdp.PrivilegeGrant   `json:"grants"`
	Refused  []pdp.PrivilegeRefusal `json:"refused"`
	Revision uint64                 `json:"revision"`
}

// rightAnswer answers a catalogue entry put.
type rightAnswer struct {
	Revision uint64       `json:"revision"`
	Right    *store.Right `json:"right"`
}

// tokenAnswer answers a token made: its secret, shown once.
type tokenAnswer struct {
	ExpiresAt       *time.Time `json:"expires_at"`
	ExpiresAtCapped bool       `json:"expires_at_capped,omitempty"`
	ID              string     `json:"id"`
	Revision        uint64     `json:"revision"`
	Superadmin      bool       `json:"superadmin"`
	Token           string     `json:"token"`
	UserID          string     `json:"user_id"`
}

// activityPage is a page of the login activity list.
type activityPage struct {
	NextPageToken string               `json:"next_page_token"`
	NotSince      time.Time            `json:"not_since"`
	Revision      uint64               `json:"revision"`
	Users         []admin.ActivityUser `json:"users"`
}

// lifecyclePage is a page of the lifecycle preview.
type lifecyclePage struct {
	Actions       []admin.LifecycleAction `json:"actions"`
	At            time.Time               `json:"at"`
	NextPageToken string                  `json:"next_page_token"`
	Revision      uint64                  `json:"revision"`
}

// userCreatedOf is the answer of the user out made at rev (by hand, from
// a knock or an association), without an activation.
func userCreatedOf(rev uint64, out *admin.UserAnswer) userCreatedAnswer {
	return userCreatedAnswer{Revision: rev, User: out.User, Grants: nonNil(out.Grants)}
}
