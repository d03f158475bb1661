package admin

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/adgang/adgang/store"
)

// OrgCreateRequest is the body of POST /v1/orgs (superadmin).
type OrgCreateRequest struct {
	CVR       string             `json:"cvr"`
	Name      string             `json:"name"`
	Type      store.OrgType      `json:"type"`
	PUnits    []store.PUnit      `json:"p_units,omitempty"`
	SENumbers []string           `json:"se_numbers,omitempty"`
	Settings  *store.OrgSettings `json:"settings,omitempty"`
}

func validOrgType(t store.OrgType) error {
	switch t {
	case store.OrgAKasse, store.OrgAuthority, store.OrgInstitution, store.OrgCompany:
		return nil
	}
	return invalid("type must be a-kasse, authority, institution or company")
}

func validSettings(st *store.OrgSettings) error {
	for _, m := range st.IdentificationMeans {
		if err := validText("settings.identification_means", m, 100); err != nil {
			return err
		}
	}
	switch st.Deletion {
	case "", store.DeletionInactivateOnly, store.DeletionAllowed:
	default:
		return invalid("settings.deletion must be inactivate_only or allowed")
	}
	seen := map[string]bool{}
	for _, t := range st.CertificateTypes {
		switch t {
		case store.CertTypeUser, store.CertTypeOrg, store.CertTypeFunction:
		default:
			return invalid("settings.certificate_types: %q is not user, org or function", t)
		}
		if seen["c/"+t] {
			return invalid("settings.certificate_types lists %s twice", t)
		}
		seen["c/"+t] = true
	}
	for _, r := range st.MustHaveRoles {
		if err := validText("settings.must_have_roles", r, 200); err != nil {
			return err
		}
		if strings.TrimSpace(r) == "" || seen["r/"+r] {
			return invalid("settings.must_have_roles must list right ids, each once")
		}
		seen["r/"+r] = true
	}
	if st.PasswordMaxAgeDays < 0 || st.PasswordMaxAgeDays > 3650 {
		return invalid("settings.password_max_age_days must be 0 (default 180) to 3650")
	}
	l := st.Lifecycle
	for _, v := range []int{l.InactivateAfterDays, l.DeleteAfterDays, l.UnconfirmedAfterDays, l.WarnBeforeDays, l.ImportRetireMonths} {
		if v < 0 {
			return invalid("settings.lifecycle thresholds cannot be negative")
		}
	}
	return nil
}

// validUnits checks the shape of P-units and SE-numbers; the store
// refuses P-numbers that are repeated or another organisation's.
func validUnits(ps []store.PUnit, ses []string) error {
	for _, p := range ps {
		if err := store.ValidPNumber(p.PNumber); err != nil {
			return fieldErr("p_units", err)
		}
		if err := validText("p_units.name", p.Name, 200); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for _, se := range ses {
		if err := store.ValidSE(se); err != nil {
			return fieldErr("se_numbers", err)
		}
		if seen[se] {
			return invalid("SE-number %s is listed twice", se)
		}
		seen[se] = true
	}
	return nil
}

// CreateOrg creates an organisation. Creating an organisation is no
// adgang.admin action: only the role check (A14, superadmin) applies.
func (s *Service) CreateOrg(ctx context.Context, c *Caller, req *OrgCreateRequest) (uint64, *store.Org, error) {
	o := &store.Org{CVR: req.CVR, Name: strings.TrimSpace(req.Name), Type: req.Type, PUnits: nonNil(req.PUnits),
		SENumbers: nonNil(req.SENumbers)}
	if req.Settings != nil {
		o.Settings = *req.Settings
	}
	// Creating an organisation is no adgang.admin action: only the role
	// check (A14, superadmin) applies.
	pf := func(tx *store.Tx) (*plan, error) {
		if err := s.authorizeGlobal(c, objOrg, actCreate); err != nil {
			return nil, err
		}
		if err := validCVR(o.CVR); err != nil {
			return nil, err
		}
		if o.Name == "" {
			return nil, invalid("name is required")
		}
		if err := validText("name", o.Name, 200); err != nil {
			return nil, err
		}
		if err := validOrgType(o.Type); err != nil {
			return nil, err
		}
		if err := validUnits(o.PUnits, o.SENumbers); err != nil {
			return nil, err
		}
		if err := validSettings(&o.Settings); err != nil {
			return nil, err
		}
		if err := knownRights(tx, o.Settings.MustHaveRoles); err != nil {
			return nil, err
		}
		return &plan{apply: func(tx *store.Tx) error { return tx.CreateOrg(o) }}, nil
	}
	rev, err := s.write(ctx, c, pf)
	return rev, o, err
}

// GetOrg reads the organisation cvr and its groups.
func (s *Service) GetOrg(ctx context.Context, c *Caller, cvr string) (rev uint64, o *store.Org, groups []*store.Group, err error) {
	if err := validCVR(cvr); err != nil {
		return 0, nil, nil, err
	}
	rev = s.st.Revision()
	err = s.st.View(ctx, func(tx *store.Tx) error {
		if err := s.authorize(c, cvr, "organisation", objOrg, actRead); err != nil {
			return err
		}
		var err error
		if o, err = loadOrg(tx, cvr); err != nil {
			return err
		}
		groups, err = tx.ListGroups(cvr)
		return err
	})
	if err != nil {
		return 0, nil, nil, err
	}
	return rev, o, groups, nil
}

// OrgPatchRequest is the body of PATCH /v1/orgs/{cvr}: present fields
// change. settings is patched field by field.
type OrgPatchRequest struct {
	Name      *string        `json:"name,omitempty"`
	Type      *store.OrgType `json:"type,omitempty"`
	PUnits    *[]store.PUnit `json:"p_units,omitempty"`
	SENumbers *[]string      `json:"se_numbers,omitempty"`
	Settings  *SettingsPatch `json:"settings,omitempty"`

	CVR       json.RawMessage `json:"cvr,omitempty"`
	Revision  json.RawMessage `json:"revision,omitempty"`
	CreatedAt json.RawMessage `json:"created_at,omitempty"`
	UpdatedAt json.RawMessage `json:"updated_at,omitempty"`
}

// SettingsPatch is the settings of a PATCH /v1/orgs/{cvr}: present
// fields change.
type SettingsPatch struct {
	AllowKnock          *bool            `json:"allow_knock,omitempty"`
	Deletion            *string          `json:"deletion,omitempty"`
	IdentificationMeans *[]string        `json:"identification_means,omitempty"`
	Lifecycle           *store.Lifecycle `json:"lifecycle,omitempty"`
	PasswordLogin       *bool            `json:"password_login,omitempty"`
	PasswordMaxAgeDays  *int             `json:"password_max_age_days,omitempty"` // M20
	CertificateTypes    *[]string        `json:"certificate_types,omitempty"`     // C1
	MustHaveRoles       *[]string        `json:"must_have_roles,omitempty"`       // A17
	AdminsCPRIdentified *bool            `json:"admins_cpr_identified,omitempty"` // A18
}

// applyTo applies the patch to o and returns the change for the policy.
func (p *OrgPatchRequest) applyTo(o *store.Org) (map[string]any, error) {
	if err := readOnly(map[string]json.RawMessage{"cvr": p.CVR, "revision": p.Revision,
		"created_at": p.CreatedAt, "updated_at": p.UpdatedAt}); err != nil {
		return nil, err
	}
	change := map[string]any{}
	if p.Name != nil {
		o.Name = strings.TrimSpace(*p.Name)
		if o.Name == "" {
			return nil, invalid("name cannot be empty")
		}
		if err := validText("name", o.Name, 200); err != nil {
			return nil, err
		}
		change["name"] = o.Name
	}
	if p.Type != nil {
		if err := validOrgType(*p.Type); err != nil {
			return nil, err
		}
		o.Type = *p.Type
		change["type"] = string(o.Type)
	}
	if p.PUnits != nil {
		o.PUnits = nonNil(*p.PUnits)
		change["p_units"] = o.PUnits
	}
	if p.SENumbers != nil {
		o.SENumbers = nonNil(*p.SENumbers)
		change["se_numbers"] = o.SENumbers
	}
	if err := validUnits(o.PUnits, o.SENumbers); err != nil {
		return nil, err
	}
	if sp := p.Settings; sp != nil {
		sc, err := sp.applyTo(&o.Settings)
		if err != nil {
			return nil, err
		}
		change["settings"] = sc
	}
	if len(change) == 0 {
		return nil, invalid("nothing to change")
	}
	return change, nil
}

func (s *Service) planOrgUpdate(c *Caller, cvr string, req *OrgPatchRequest, out **store.Org) planFunc {
	return func(tx *store.Tx) (*plan, error) {
		if err := validCVR(cvr); err != nil {
			return nil, err
		}
		if err := s.authorize(c, cvr, "organisation", objOrg, actUpdate); err != nil {
			return nil, err
		}
		org, err := loadOrg(tx, cvr)
		if err != nil {
			return nil, err
		}
		next := *org
		next.PUnits = append([]store.PUnit(nil), org.PUnits...)
		next.SENumbers = append([]string(nil), org.SENumbers...)
		change, err := req.applyTo(&next)
		if err != nil {
			return nil, err
		}
		if err := knownRights(tx, next.Settings.MustHaveRoles); err != nil {
			return nil, err
		}
		holders, err := s.adminHolders(tx, cvr)
		if err != nil {
			return nil, err
		}
		in := s.baseInput(c, "org.update", org)
		in["target"], in["change"], in["admin_holders"] = map[string]any{"cvr": org.CVR, "type": string(org.Type)}, change, holders
		return &plan{checks: []map[string]any{in}, apply: func(tx *store.Tx) error {
			if err := tx.UpdateOrg(&next); err != nil {
				return err
			}
			*out = &next
			return nil
		}}, nil
	}
}

// PatchOrg changes the present fields of the organisation cvr
// (org.update).
func (s *Service) PatchOrg(ctx context.Context, c *Caller, cvr string, req *OrgPatchRequest) (uint64, *store.Org, error) {
	var o *store.Org
	rev, err := s.write(ctx, c, s.planOrgUpdate(c, cvr, req, &o))
	return rev, o, err
}

// applyTo applies the settings patch to st and returns the change of the
// settings for the policy.
func (sp *SettingsPatch) applyTo(st *store.OrgSettings) (map[string]any, error) {
	sc := map[string]any{}
	setIf(sp.AllowKnock, &st.AllowKnock, sc, "allow_knock")
	setIf(sp.Deletion, &st.Deletion, sc, "deletion")
	setIf(sp.IdentificationMeans, &st.IdentificationMeans, sc, "identification_means")
	setIf(sp.Lifecycle, &st.Lifecycle, sc, "lifecycle")
	setIf(sp.PasswordLogin, &st.PasswordLogin, sc, "password_login")
	setIf(sp.PasswordMaxAgeDays, &st.PasswordMaxAgeDays, sc, "password_max_age_days")
	setIf(sp.CertificateTypes, &st.CertificateTypes, sc, "certificate_types")
	setIf(sp.MustHaveRoles, &st.MustHaveRoles, sc, "must_have_roles")
	setIf(sp.AdminsCPRIdentified, &st.AdminsCPRIdentified, sc, "admins_cpr_identified")
	if err := validSettings(st); err != nil {
		return nil, err
	}
	return sc, nil
}

// setIf sets *dst and change[key] to *v when v is present.
func setIf[T any](v *T, dst *T, change map[string]any, key string) {
	if v != nil {
		*dst = *v
		change[key] = *v
	}
}
