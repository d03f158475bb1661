package store

import "slices"

// GetOrg reads an organisation by CVR number.
func (tx *Tx) GetOrg(cvr string) (*Org, error) {
	o, err := getShared(tx, &tx.s.orgs, prefixOrg+cvr, "organisation")
	if err != nil {
		return nil, err
	}
	return o.clone(), nil
}

// clone is a copy of o that shares nothing with it (GetOrg's callers
// change what they read; the decoded record is shared by a cache).
func (o *Org) clone() *Org {
	c := *o
	c.PUnits = slices.Clone(o.PUnits)
	c.SENumbers = slices.Clone(o.SENumbers)
	c.Settings.IdentificationMeans = slices.Clone(o.Settings.IdentificationMeans)
	c.Settings.CertificateTypes = slices.Clone(o.Settings.CertificateTypes)
	c.Settings.MustHaveRoles = slices.Clone(o.Settings.MustHaveRoles)
	return &c
}

// ListOrgs lists every organisation.
func (tx *Tx) ListOrgs() ([]*Org, error) {
	return loadAll(tx.keys(prefixOrg), tx.GetOrg)
}

// CreateOrg stores a new org (conflict if it exists) and its system groups.
func (tx *Tx) CreateOrg(o *Org) error {
	if err := ValidCVR(o.CVR); err != nil {
		return err
	}
	if ok, err := tx.exists(prefixOrg + o.CVR); err != nil {
		return err
	} else if ok {
		return RuleError(EConflict, "", "duplicate", "organisation %s exists", o.CVR)
	}
	if err := tx.checkPUnits(o); err != nil {
		return err
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = tx.now
	}
	o.UpdatedAt = tx.now
	if err := tx.setJSON(prefixOrg+o.CVR, o); err != nil {
		return err
	}
	tx.audit("org.create", o.CVR, "", o.CVR)
	tx.changed(ChangeOrg, OpCreate, o.CVR, "", "", o.CVR)
	return tx.syncSystemGroups(o, nil)
}

// UpdateOrg replaces an org and keeps its system groups in step with P-units.
func (tx *Tx) UpdateOrg(o *Org) error {
	old, err := tx.GetOrg(o.CVR)
	if err != nil {
		return err
	}
	if err := tx.checkPUnits(o); err != nil {
		return err
	}
	o.CreatedAt = old.CreatedAt
	o.UpdatedAt = tx.now
	if err := tx.setJSON(prefixOrg+o.CVR, o); err != nil {
		return err
	}
	tx.audit("org.update", o.CVR, "", o.CVR)
	tx.changed(ChangeOrg, OpUpdate, o.CVR, "", "", o.CVR)
	return tx.syncSystemGroups(o, old)
}

// checkPUnits refuses, before anything is written, P-units that are
// malformed, repeated, or already another org's (a P-number belongs to
// exactly one CVR).
func (tx *Tx) checkPUnits(o *Org) error {
	seen := make(map[string]bool, len(o.PUnits))
	for _, p := range o.PUnits {
		if err := ValidPNumber(p.PNumber); err != nil {
			return err
		}
		if seen[p.PNumber] {
			return Errorf(EInvalid, "P-number %s is listed twice", p.PNumber)
		}
		seen[p.PNumber] = true
		gid, err := tx.getRaw(prefixGroupByPUnit+p.PNumber, "system group")
		if IsNotFound(err) {
			continue
		} else if err != nil {
			return err
		}
		g, err := tx.GetGroup(string(gid))
		if err != nil {
			return err
		}
		if g.Org != o.CVR {
			return Errorf(EConflict, "P-number %s belongs to another organisation", p.PNumber)
		}
	}
	return nil
}

// systemGroupID is the id of the system group of P-number p. CreateGroup
// refuses ids with this prefix, so a custom group never takes it.
func systemGroupID(p string) string { return "sys-" + p }

func (tx *Tx) syncSystemGroups(o, old *Org) error {
	for _, p := range o.PUnits {
		if gid, err := tx.getRaw(prefixGroupByPUnit+p.PNumber, "system group"); err == nil {
			g, err := tx.GetGroup(string(gid))
			if err != nil {
				return err
			}
			if g.Org != o.CVR {
				return Errorf(EConflict, "P-number %s belongs to another organisation", p.PNumber)
			}
			name := p.Name
			if name == "" {
				name = p.PNumber
			}
			if g.Name != name {
				g.Name = name
				if err := tx.setJSON(prefixGroup+g.ID, g); err != nil {
					return err
				}
				tx.changed(ChangeGroup, OpUpdate, g.Org, "", g.ID, g.ID)
			}
			continue
		} else if !IsNotFound(err) {
			return err
		}
		name := p.Name
		if name == "" {
			name = p.PNumber
		}
		g := &Group{ID: systemGroupID(p.PNumber), Org: o.CVR, Name: name, Kind: GroupSystem, PNumber: p.PNumber, CreatedAt: tx.now}
		if err := tx.putGroup(g); err != nil {
			return err
		}
		if err := tx.set(prefixGroupByPUnit+p.PNumber, []byte(g.ID)); err != nil {
			return err
		}
		tx.audit("group.create", o.CVR, "", g.ID)
		tx.changed(ChangeGroup, OpCreate, o.CVR, "", g.ID, g.ID)
	}
	if old != nil {
		for _, p := range old.PUnits {
			if o.HasPUnit(p.PNumber) {
				continue
			}
			gid, err := tx.getRaw(prefixGroupByPUnit+p.PNumber, "system group")
			if IsNotFound(err) {
				continue
			} else if err != nil {
				return err
			}
			if err := tx.deleteGroup(string(gid)); err != nil {
				return err
			}
		}
	}
	return nil
}
