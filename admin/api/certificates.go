package api

import (
	"net/http"

	"github.com/adgang/adgang/admin"
)

// handleOrderCertificate is POST /v1/orgs/{cvr}/certificates
// (OrderCertificate).
func (s *Server) handleOrderCertificate(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	var req admin.CertOrderRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	rev, cert, err := s.svc.OrderCertificate(r.Context(), c, pathVar(r, "cvr"), &req)
	s.reply(w, r, http.StatusCreated, certificateAnswer{Revision: rev, Certificate: cert}, err)
}

// handleGetCertificate is GET /v1/certificates/{serial} (GetCertificate).
func (s *Server) handleGetCertificate(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	rev, cert, err := s.svc.GetCertificate(r.Context(), c, pathVar(r, "serial"))
	s.reply(w, r, http.StatusOK, certificateAnswer{Revision: rev, Certificate: cert}, err)
}

// handleCertificateAction is POST /v1/certificates/{serial}/issue,
// …/revoke, …/renew and DELETE /v1/certificates/{serial}
// (CertificateAction).
func (s *Server) handleCertificateAction(action string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
		var req admin.CertIssueRequest
		if action == "certificate.issue" || action == "certificate.renew" {
			if err := decodeOptionalBody(w, r, &req); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		rev, cert, err := s.svc.CertificateAction(r.Context(), c, action, pathVar(r, "serial"), &req)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		status := http.StatusOK
		if action == "certificate.renew" {
			status = http.StatusCreated
		}
		var body any = certificateAnswer{Revision: rev, Certificate: cert}
		if action == "certificate.delete" {
			body = deletedAnswer{Revision: rev, Deleted: cert.Serial}
		}
		writeJSON(w, status, body)
	}
}

// handleListCertificates is GET /v1/orgs/{cvr}/certificates
// (ListCertificates); format=csv answers the export.
func (s *Server) handleListCertificates(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	l, err := s.svc.ListCertificates(r.Context(), c, pathVar(r, "cvr"), r.URL.Query())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if l.CSV {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="certificates.csv"`)
		w.WriteHeader(http.StatusOK)
		_ = admin.WriteCertificatesCSV(w, l.Items)
		return
	}
	writeJSON(w, http.StatusOK, certificatesAnswer{Revision: l.Revision, Certificates: l.Items, NextPageToken: l.Next})
}
