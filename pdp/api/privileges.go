package api

import (
	"encoding/base64"
	"fmt"
	"net/http"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
)

// handlePrivileges serves POST /v1/privileges: a login request answered
// with the decision as an OIO BPP PrivilegeList (base64 in JSON, or the
// XML itself with ?format=xml).
func (s *Server) handlePrivileges(w http.ResponseWriter, r *http.Request) {
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "xml" {
		WriteError(w, store.Errorf(store.EInvalid, "format must be json or xml"))
		return
	}
	var req pdp.LoginRequest
	if !s.decodeLogin(w, r, &req) {
		return
	}
	d, list, err := s.eng.Privileges(r.Context(), &req, meta(r))
	if err != nil {
		WriteError(w, err)
		return
	}
	xmlDoc := list.MarshalBPP()
	if format == "xml" {
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		w.Header().Set("Adgang-Decision-Id", d.DecisionID)
		w.Header().Set("Adgang-Revision", fmt.Sprint(d.Revision))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(xmlDoc)
		return
	}
	WriteJSON(w, http.StatusOK, pdp.PrivilegesAnswer{DecisionID: d.DecisionID, Allow: d.Allow,
		Privileges: base64.StdEncoding.EncodeToString(xmlDoc), Revision: d.Revision})
}
