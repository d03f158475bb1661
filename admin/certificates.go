package admin

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/adgang/adgang/store"
)

// Certificates (issue 17, SPEC §8): records of MitID Erhverv user,
// organisation and function certificates, no key material. Every change
// is authorised by Casbin in the certificate's org (objCert), checked by
// adgang.admin (C1 what may be ordered, C2 the life cycle, A18) and
// audited by the store in the same transaction.

// certValidity is how long an issued certificate is valid unless the
// issue request says otherwise (MitID Erhverv certificates: 3 years).
const certValidity = 3 * 365 * 24 * time.Hour

// Certificate list paging (SPEC §8: default 100, at most 1000).
const (
	certPageSize    = 100
	certMaxPageSize = 1000
	certMaxExport   = 100000
)

// CertOrderRequest is the body of POST /v1/orgs/{cvr}/certificates.
type CertOrderRequest struct {
	Type   string `json:"type"`
	UserID string `json:"user_id,omitempty"`
}

// CertIssueRequest is the optional body of …/issue and …/renew.
type CertIssueRequest struct {
	ExpiresAt string `json:"expires_at,omitempty"`
}

// certView is a certificate as answered: its status at now.
func certView(c *store.Certificate, now time.Time) *store.Certificate {
	v := *c
	v.Status = c.EffectiveStatus(now)
	return &v
}

// certTarget is a certificate as the adgang.admin rules see it.
func certTarget(c *store.Certificate, now time.Time) map[string]any {
	return map[string]any{"serial": c.Serial, "type": c.Type, "status": c.EffectiveStatus(now),
		"org": c.Org, "user_id": c.UserID}
}

func newSerial() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}

// validSerial checks the shape of a serial in a path: 1-64 characters
// of letters, digits, '-', '_' and '.'.
func validSerial(s string) error {
	if s == "" || len(s) > 64 {
		return notFound("certificate")
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return notFound("certificate")
		}
	}
	return nil
}

// OrderCertificate orders a user, org or function certificate in cvr
// (certificate.order, C1).
func (s *Service) OrderCertificate(ctx context.Context, c *Caller, cvr string, req *CertOrderRequest) (uint64, *store.Certificate, error) {
	var out *store.Certificate
	pf := func(tx *store.Tx) (*plan, error) {
		if err := validCVR(cvr); err != nil {
			return nil, err
		}
		if err := s.authorize(c, cvr, "organisation", objCert, actCreate); err != nil {
			return nil, err
		}
		org, err := loadOrg(tx, cvr)
		if err != nil {
			return nil, err
		}
		var holder any
		switch req.Type {
		case store.CertTypeUser, store.CertTypeFunction:
			if err := validUserID(req.UserID); err != nil {
				return nil, invalid("user_id: a %s certificate needs its holder's user id", req.Type)
			}
			u, err := loadUser(tx, req.UserID)
			if err != nil {
				return nil, err
			}
			if u.Org != cvr {
				return nil, notFound("user")
			}
			holder = map[string]any{"id": u.ID, "kind": string(u.Kind), "status": string(u.Status)}
		case store.CertTypeOrg:
			if req.UserID != "" {
				return nil, invalid("user_id: an org certificate belongs to the organisation, not a user")
			}
		default:
			return nil, invalid("type must be user, org or function")
		}
		now := tx.Now()
		cert := &store.Certificate{Serial: newSerial(), Org: cvr, UserID: req.UserID, Type: req.Type,
			Status: store.CertOrdered, OrderedBy: c.actor, OrderedAt: now}
		in := s.baseInput(c, "certificate.order", org)
		in["change"] = map[string]any{"type": req.Type, "user_id": req.UserID, "holder": holder}
		return &plan{checks: []map[string]any{in}, apply: func(tx *store.Tx) error {
			if err := tx.SaveCertificate(cert, "certificate.order"); err != nil {
				return err
			}
			out = cert
			return nil
		}}, nil
	}
	rev, err := s.write(ctx, c, pf)
	if err != nil {
		return 0, nil, err
	}
	return rev, certView(out, s.now()), nil
}

// loadCertificate loads a certificate and authorises act on it in its
// org: an unknown serial and another org's certificate answer alike (A1).
func (s *Service) loadCertificate(tx *store.Tx, c *Caller, serial, act string) (*store.Certificate, error) {
	if err := validSerial(serial); err != nil {
		return nil, err
	}
	cert, err := tx.GetCertificate(serial)
	if store.IsNotFound(err) {
		return nil, notFound("certificate")
	} else if err != nil {
		return nil, err
	}
	if err := s.authorize(c, cert.Org, "certificate", objCert, act); err != nil {
		return nil, err
	}
	return cert, nil
}

// GetCertificate reads the certificate serial, with its status as of
// now (A1: another org's certificate is not found).
func (s *Service) GetCertificate(ctx context.Context, c *Caller, serial string) (uint64, *store.Certificate, error) {
	rev := s.st.Revision()
	var cert *store.Certificate
	err := s.st.View(ctx, func(tx *store.Tx) error {
		var err error
		cert, err = s.loadCertificate(tx, c, serial, actRead)
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	return rev, certView(cert, s.now()), nil
}

// CertificateAction is certificate.issue, certificate.revoke,
// certificate.renew or certificate.delete of the certificate serial:
// each asks adgang.admin (C2 decides from which status) and is audited.
// The answer is the certificate as it is now (renew: the new one; delete:
// the deleted one).
func (s *Service) CertificateAction(ctx context.Context, c *Caller, action, serial string, req *CertIssueRequest) (uint64, *store.Certificate, error) {
	expires, err := parseTimeParam("expires_at", req.ExpiresAt, false)
	if err != nil {
		return 0, nil, err
	}
	var out *store.Certificate
	rev, err := s.write(ctx, c, s.planCertAction(c, action, serial, expires, &out))
	if err != nil {
		return 0, nil, err
	}
	return rev, certView(out, s.now()), nil
}

// planCertAction plans CertificateAction; *out is the answer.
func (s *Service) planCertAction(c *Caller, action, serial string, expires time.Time, out **store.Certificate) planFunc {
	act := actUpdate
	if action == "certificate.delete" {
		act = actDelete
	}
	return func(tx *store.Tx) (*plan, error) {
		cert, err := s.loadCertificate(tx, c, serial, act)
		if err != nil {
			return nil, err
		}
		org, err := loadOrg(tx, cert.Org)
		if err != nil {
			return nil, err
		}
		now := tx.Now()
		until := now.Add(certValidity)
		if !expires.IsZero() {
			if !expires.After(now) {
				return nil, invalid("expires_at must be in the future")
			}
			until = expires.UTC()
		}
		in := s.baseInput(c, action, org)
		target := certTarget(cert, now)
		// A11: the admin roles of the certificate's holder, so that a
		// user-admin cannot lock an org-admin out (D14) by revoking.
		target["holder_roles"] = []string{}
		if cert.UserID != "" {
			roles, err := s.rolesOf(tx, cert.Org, []string{cert.UserID})
			if err != nil {
				return nil, err
			}
			target["holder_roles"] = roles[cert.UserID]
		}
		in["target"] = target
		p := &plan{checks: []map[string]any{in}}
		next := *cert
		switch action {
		case "certificate.issue":
			next.Status, next.IssuedAt, next.ExpiresAt = store.CertIssued, &now, &until
			p.apply = func(tx *store.Tx) error { *out = &next; return tx.SaveCertificate(&next, action) }
		case "certificate.revoke":
			next.Status, next.RevokedAt = store.CertRevoked, &now
			p.apply = func(tx *store.Tx) error { *out = &next; return tx.SaveCertificate(&next, action) }
		case "certificate.renew":
			renewed := &store.Certificate{Serial: newSerial(), Org: cert.Org, UserID: cert.UserID, Type: cert.Type,
				Status: store.CertIssued, OrderedBy: c.actor, OrderedAt: now, IssuedAt: &now, ExpiresAt: &until,
				RenewedFrom: cert.Serial}
			next.RenewedBy = renewed.Serial
			p.apply = func(tx *store.Tx) error {
				if err := tx.SaveCertificate(&next, "certificate.renewed"); err != nil {
					return err
				}
				*out = renewed
				return tx.SaveCertificate(renewed, action)
			}
		case "certificate.delete":
			p.apply = func(tx *store.Tx) error { *out = cert; return tx.DeleteCertificate(cert.Serial) }
		}
		return p, nil
	}
}

// CertList is a page of certificates, or with CSV every match for the
// export (WriteCertificatesCSV).
type CertList struct {
	Page[*store.Certificate]
	CSV bool
}

// certQuery is the parsed query of GET /v1/orgs/{cvr}/certificates.
type certQuery struct {
	statuses map[string]bool
	csv      bool
	limit    int
	after    string
	text     string
}

// parseCertQuery reads status= (one or more, comma-separated), q=,
// format=json|csv, limit= and page_token= (ignored for the export).
func parseCertQuery(q url.Values) (*certQuery, error) {
	cq := &certQuery{statuses: map[string]bool{}, limit: certPageSize}
	for _, st := range strings.Split(q.Get("status"), ",") {
		switch st = strings.TrimSpace(st); st {
		case "":
		case store.CertOrdered, store.CertIssued, store.CertRevoked, store.CertExpired:
			cq.statuses[st] = true
		default:
			return nil, invalid("status must be ordered, issued, revoked or expired")
		}
	}
	switch q.Get("format") {
	case "", "json":
	case "csv":
		cq.csv = true
	default:
		return nil, invalid("format must be json or csv")
	}
	if v := q.Get("limit"); v != "" {
		var err error
		if cq.limit, err = strconv.Atoi(v); err != nil || cq.limit < 1 || cq.limit > certMaxPageSize {
			return nil, invalid("limit must be 1-%d", certMaxPageSize)
		}
	}
	if cq.csv {
		cq.limit = certMaxExport
	}
	if v := q.Get("page_token"); v != "" && !cq.csv {
		b, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || validSerial(string(b)) != nil {
			return nil, invalid("page_token is not valid")
		}
		cq.after = string(b)
	}
	cq.text = strings.ToLower(strings.TrimSpace(q.Get("q")))
	return cq, nil
}

// ListCertificates searches an org's certificates: status= (one or more,
// comma-separated, as read now), q= (part of the serial, the holder's
// user id or the type), paged by serial; format=csv returns every match
// for the export instead.
func (s *Service) ListCertificates(ctx context.Context, c *Caller, cvr string, q url.Values) (*CertList, error) {
	if err := validCVR(cvr); err != nil {
		return nil, err
	}
	cq, err := parseCertQuery(q)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := &CertList{Page: Page[*store.Certificate]{Revision: s.st.Revision(), Items: []*store.Certificate{}}, CSV: cq.csv}
	err = s.st.View(ctx, func(tx *store.Tx) error {
		if err := s.authorize(c, cvr, "organisation", objCert, actRead); err != nil {
			return err
		}
		if _, err := loadOrg(tx, cvr); err != nil {
			return err
		}
		return tx.EachCertificate(cvr, cq.after, func(cert *store.Certificate) (bool, error) {
			v := certView(cert, now)
			if len(cq.statuses) > 0 && !cq.statuses[v.Status] {
				return true, nil
			}
			if cq.text != "" && !strings.Contains(strings.ToLower(v.Serial+" "+v.UserID+" "+v.Type), cq.text) {
				return true, nil
			}
			if len(out.Items) == cq.limit {
				out.Next = base64.RawURLEncoding.EncodeToString([]byte(out.Items[len(out.Items)-1].Serial))
				return false, nil
			}
			out.Items = append(out.Items, v)
			return true, nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// WriteCertificatesCSV writes certs as the certificate export:
// semicolon-separated like the import, a header line first.
func WriteCertificatesCSV(w io.Writer, certs []*store.Certificate) error {
	cw := csv.NewWriter(w)
	cw.Comma = ';'
	ts := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	_ = cw.Write([]string{"serial", "type", "status", "org", "user_id", "ordered_by", "ordered_at", "issued_at",
		"expires_at", "revoked_at", "renewed_from", "renewed_by"})
	for _, c := range certs {
		ordered := c.OrderedAt
		_ = cw.Write([]string{c.Serial, c.Type, c.Status, c.Org, c.UserID, c.OrderedBy, ts(&ordered), ts(c.IssuedAt),
			ts(c.ExpiresAt), ts(c.RevokedAt), c.RenewedFrom, c.RenewedBy})
	}
	cw.Flush()
	return cw.Error()
}
