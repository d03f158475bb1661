package store

import "strings"

// DefaultRights is the rights catalogue a new store starts with: the
// seeds' rights and their flags.
func DefaultRights() []Right {
	return []Right{
		{ID: "amp.sagsbehandler", Service: "amp", Title: "Sagsbehandler"},
		{ID: "amp.lba", Service: "amp", Title: "Lokal Brugeradministrator (LBA)", AdminRole: RoleUserAdmin},
		{ID: "amp.lss", Service: "amp", Title: "LSS", Forbidden: true},
		{ID: "amp.webservice", Service: "amp", Title: "Webservice", Forbidden: true},
		{ID: "amp.jobnet_jobordrer", Service: "amp", Title: "Jobnet jobordrer", Deprecated: true},
		{ID: "eksamensdatabasen.view", Service: "eksamensdatabasen", Title: "Eksamensdatabasen: Giv rettigheder til at se data",
			NoGroup: true, NoSE: true, RequireCPR: true, EmployeesOnly: true},
		{ID: "mitid_erhverv.user_admin", Service: "mitid_erhverv", Title: "Brugeradministrator", AdminRole: RoleUserAdmin},
		{ID: "mitid_erhverv.org_admin", Service: "mitid_erhverv", Title: "Organisationsadministrator", AdminRole: RoleOrgAdmin},
		{ID: "unilogin.admin", Service: "unilogin", Title: "Primær brugeradministrator", AdminRole: RoleOrgAdmin},
		{ID: "unilogin.supplementary_admin", Service: "unilogin", Title: "Supplerende brugeradministrator", AdminRole: RoleUserAdmin},
		{ID: "imi.superuser", Service: "imi", Title: "Superbruger", AdminRole: RoleOrgAdmin},
		{ID: "imi.user_admin", Service: "imi", Title: "Brugeradministrator", AdminRole: RoleUserAdmin},
		{ID: "imi.case_worker", Service: "imi", Title: "Sagsbehandler"},
		{ID: "adgang.auditor", Service: "adgang", Title: "Revisor (læseadgang, historik)", AdminRole: RoleAuditor},
	}
}

// GetRight reads a right of the catalogue by id.
func (tx *Tx) GetRight(id string) (*Right, error) { return getJSON[Right](tx, prefixRight+id, "right") }

// PutRight creates or replaces a right of the catalogue.
func (tx *Tx) PutRight(r *Right) error {
	if r.ID == "" || strings.ContainsAny(r.ID, "/ ") {
		return Errorf(EInvalid, "right id must be non-empty without spaces or slashes")
	}
	if err := tx.setJSON(prefixRight+r.ID, r); err != nil {
		return err
	}
	tx.audit("right.put", "", "", r.ID)
	tx.changed(ChangeRight, OpUpdate, "", "", "", r.ID)
	return nil
}

// ListRights lists the rights catalogue.
func (tx *Tx) ListRights() ([]*Right, error) {
	return loadAll(tx.keys(prefixRight), tx.GetRight)
}
