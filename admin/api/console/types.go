package console

import "time"

// The admin API's answers, as far as the pages show them (the JSON
// names are the API's, SPEC §5 and §8).

type pUnit struct {
	PNumber string `json:"p_number"`
	Name    string `json:"name"`
}

type orgSettings struct {
	AllowKnock          bool     `json:"allow_knock"`
	Deletion            string   `json:"deletion"`
	IdentificationMeans []string `json:"identification_means"`
	MustHaveRoles       []string `json:"must_have_roles"`
	AdminsCPR           bool     `json:"admins_cpr_identified"`
	CertificateTypes    []string `json:"certificate_types"`
}

type org struct {
	CVR       string      `json:"cvr"`
	Name      string      `json:"name"`
	Type      string      `json:"type"`
	PUnits    []pUnit     `json:"p_units"`
	SENumbers []string    `json:"se_numbers"`
	Settings  orgSettings `json:"settings"`
}

type group struct {
	ID      string `json:"id"`
	Org     string `json:"org"`
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	PNumber string `json:"p_number"`
}

type user struct {
	ID                  string     `json:"id"`
	Org                 string     `json:"org"`
	Name                string     `json:"name"`
	Email               string     `json:"email"`
	Username            string     `json:"username"`
	LegacyID            string     `json:"legacy_id"`
	CPR                 string     `json:"cpr"` // masked DDMMYY-**** by the API
	Kind                string     `json:"kind"`
	PNumber             string     `json:"p_number"`
	SENumber            string     `json:"se_number"`
	Anonymous           bool       `json:"anonymous"`
	Status              string     `json:"status"`
	DeactivatedUntil    *time.Time `json:"deactivated_until"`
	LastLogin           *time.Time `json:"last_login"`
	Source              string     `json:"source"`
	UserType            string     `json:"user_type"`
	Class               string     `json:"class"`
	IdentificationMeans []string   `json:"identification_means"`
	PasswordStatus      string     `json:"password_status"`
	CreatedAt           time.Time  `json:"created_at"`
}

type scope struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

type grant struct {
	ID         string     `json:"id"`
	Right      string     `json:"right"`
	HolderType string     `json:"holder_type"`
	HolderID   string     `json:"holder_id"`
	Scope      scope      `json:"scope"`
	Source     string     `json:"source"`
	GrantedBy  string     `json:"granted_by"`
	GrantedAt  time.Time  `json:"granted_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	Expired    bool       `json:"expired"`
}

type right struct {
	ID         string `json:"id"`
	Title      string `json:"title"`
	Service    string `json:"service"`
	Forbidden  bool   `json:"forbidden"`
	Deprecated bool   `json:"deprecated"`
	AdminRole  string `json:"admin_role"`
}

type event struct {
	Revision uint64         `json:"revision"`
	Time     time.Time      `json:"time"`
	Actor    string         `json:"actor"`
	Type     string         `json:"type"`
	Object   string         `json:"object"`
	Details  map[string]any `json:"details"`
}

type knock struct {
	ID        string    `json:"id"`
	SubjectID string    `json:"subject_id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	First     time.Time `json:"first"`
	Last      time.Time `json:"last"`
	Count     int       `json:"count"`
}

type certificate struct {
	Serial    string     `json:"serial"`
	Type      string     `json:"type"`
	UserID    string     `json:"user_id"`
	Status    string     `json:"status"`
	IssuedAt  *time.Time `json:"issued_at"`
	ExpiresAt *time.Time `json:"expires_at"`
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
