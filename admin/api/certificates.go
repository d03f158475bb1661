package api

import (
	"net/http"

	"github.com/adgang/adgang/admin"
)

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

// handleOrderCertificate is POST /v1/orgs/{cvr}/certificates
// (OrderCertificate).
func (s *Server) handleOrderCertificate(w http.ResponseWriter, r *http.Request, c *admin.Caller, req *admin.CertOrderRequest) {
	rev, cert, err := s.svc.OrderCertificate(r.Context(), c, pathVar(r, "cvr"), req)
	s.reply(w, r, http.StatusCreated, certificateAnswer{Revision: rev, Certificate: cert}, err)
}

// handleGetCertificate is GET /v1/certificates/{serial} (GetCertificate).
func (s *Server) handleGetCertificate(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	rev, cert, err := s.svc.GetCertificate(r.Context(), c, pathVar(r, "serial"))
	s.reply(w, r, http.StatusOK, certificateAnswer{Revision: rev, Certificate: cert}, err)
}

// handleCertificateAction is POST /v1/certificates/{serial}/issue,
// …/revoke, …/renew and DELETE /v1/certificates/{serial}
// (CertificateAction); only issue and renew read a (optional) body.
func (s *Server) handleCertificateAction(action string) handlerFunc {
	do := func(w http.ResponseWriter, r *http.Request, c *admin.Caller, req *admin.CertIssueRequest) {
		rev, cert, err := s.svc.CertificateAction(r.Context(), c, action, pathVar(r, "serial"), req)
		status := http.StatusOK
		if action == "certificate.renew" {
			status = http.StatusCreated
		}
		s.replyWith(w, r, status, err, func() any {
			if action == "certificate.delete" {
				return deletedAnswer{Revision: rev, Deleted: cert.Serial}
			}
			return certificateAnswer{Revision: rev, Certificate: cert}
		})
	}
	if action == "certificate.issue" || action == "certificate.renew" {
		return withOptionalBody(s, do)
	}
	return func(w http.ResponseWriter, r *http.Request, c *admin.Caller) { do(w, r, c, &admin.CertIssueRequest{}) }
}
