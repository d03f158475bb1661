package console

import "github.com/adgang/adgang/store"

// The admin API's answers, as far as the pages show them (the JSON
// names are the API's, SPEC §5 and §8).

// The records the admin API answers with are the store's own types; the
// console decodes them as they are.
type (
	org         = store.Org
	group       = store.Group
	user        = store.User
	right       = store.Right
	event       = store.AuditEvent
	knock       = store.Knock
	certificate = store.Certificate
)

// grant is a grant as GET /v1/users/{id}/grants answers it: the record,
// where it comes from (direct or a group) and whether it has expired.
type grant struct {
	store.Grant
	Source  string `json:"source"`
	Expired bool   `json:"expired"`
}

type importRow struct {
	Row    int       `json:"row"`
	Status string    `json:"status"`
	UserID string    `json:"user_id"`
	Error  *apiError `json:"error"`
}

type importReport struct {
	DryRun   bool           `json:"dry_run"`
	Mode     string         `json:"mode"`
	Applied  int            `json:"applied"`
	ImportID string         `json:"import_id"`
	Summary  map[string]int `json:"summary"`
	Rows     []importRow    `json:"rows"`
}

type bulkResult struct {
	UserID string    `json:"user_id"`
	Status string    `json:"status"`
	Error  *apiError `json:"error"`
}
