package admin

import (
	"net/http"
	"strconv"
	"time"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
)

// historyLimit is how many events a user's history shows (L10).
const historyLimit = 200

// historyQuery parses from, to and type.
func historyQuery(r *http.Request) (from, to time.Time, typ string, err error) {
	q := r.URL.Query()
	if from, err = parseTimeParam("from", q.Get("from"), false); err != nil {
		return
	}
	if to, err = parseTimeParam("to", q.Get("to"), true); err != nil {
		return
	}
	typ = q.Get("type")
	if typ != "" {
		err = validObjectID("type", typ)
	}
	return
}

// handleHistory answers the latest 200 audit events of one user, newest
// first. A deleted user's history stays readable: its organisation is
// taken from the user.delete event.
func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request, c *caller) {
	id := pathVar(r, "id")
	if err := validUserID(id); err != nil {
		s.writeError(w, r, err)
		return
	}
	from, to, typ, err := historyQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rev := s.st.Revision()
	var events []store.AuditEvent
	err = s.st.View(r.Context(), func(tx *store.Tx) error {
		org := ""
		u, err := tx.GetUser(id)
		switch {
		case err == nil:
			org = u.Org
		case store.IsNotFound(err):
			del, err := tx.History(id, time.Time{}, time.Time{}, "user.delete", 1)
			if err != nil {
				return err
			}
			if len(del) == 0 {
				return notFound("user")
			}
			org = del[0].Org
		default:
			return err
		}
		if err := s.authorize(c, org, "user", objHistory, actRead); err != nil {
			return err
		}
		events, err = tx.History(id, from, to, typ, historyLimit)
		return err
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	pdp.WriteJSON(w, http.StatusOK, map[string]any{"revision": rev, "events": nonNil(events)})
}

// handleOrgAudit answers an organisation's audit log, newest first
// (auditors and org-admins): from, to, type and limit (default 200, at
// most 1000).
func (s *Server) handleOrgAudit(w http.ResponseWriter, r *http.Request, c *caller) {
	cvr := pathVar(r, "cvr")
	if err := validCVR(cvr); err != nil {
		s.writeError(w, r, err)
		return
	}
	from, to, typ, err := historyQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit := historyLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 1000 {
			s.writeError(w, r, invalid("limit must be 1-1000"))
			return
		}
	}
	rev := s.st.Revision()
	var events []store.AuditEvent
	err = s.st.View(r.Context(), func(tx *store.Tx) error {
		if err := s.authorize(c, cvr, "organisation", objAudit, actRead); err != nil {
			return err
		}
		if _, err := loadOrg(tx, cvr); err != nil {
			return err
		}
		var err error
		events, err = tx.OrgAudit(cvr, from, to, typ, limit)
		return err
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	pdp.WriteJSON(w, http.StatusOK, map[string]any{"revision": rev, "events": nonNil(events)})
}
