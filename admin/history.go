package admin

import (
	"context"
	"net/url"
	"time"

	"github.com/adgang/adgang/store"
)

// historyLimit is how many events a user's history shows by default
// (L10: the latest 200); page_token pages beyond.
const historyLimit = 200

// auditPage reads one page of audit events, newest first: read fetches up
// to n events after the cursor (store.AuditCursor; "" = newest).
func auditPage(p page, read func(before string, n int) ([]store.AuditEvent, error)) ([]store.AuditEvent, string, error) {
	evs, err := read(p.After, p.Limit+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(evs) > p.Limit {
		evs = evs[:p.Limit]
		next = pageToken(store.AuditCursor(evs[len(evs)-1]))
	}
	return evs, next, nil
}

// historyQuery parses from, to and type.
func historyQuery(q url.Values) (from, to time.Time, typ string, err error) {
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

// UserHistory answers the latest 200 audit events of one user, newest
// first. A deleted user's history stays readable: its organisation is
// taken from the user.delete event.
func (s *Service) UserHistory(ctx context.Context, c *Caller, id string, q url.Values) (*Page[store.AuditEvent], error) {
	if err := validUserID(id); err != nil {
		return nil, err
	}
	from, to, typ, err := historyQuery(q)
	if err != nil {
		return nil, err
	}
	pg, err := parsePageDefault(q, historyLimit)
	if err != nil {
		return nil, err
	}
	rev := s.st.Revision()
	var events []store.AuditEvent
	next := ""
	err = s.st.View(ctx, func(tx *store.Tx) error {
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
		events, next, err = auditPage(pg, func(before string, n int) ([]store.AuditEvent, error) {
			return tx.HistoryPage(id, before, from, to, typ, n)
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Page[store.AuditEvent]{Revision: rev, Items: events, Next: next}, nil
}

// OrgAudit answers an organisation's audit log, newest first
// (auditors and org-admins): from, to, type, limit (default 200, at most
// 1000) and page_token.
func (s *Service) OrgAudit(ctx context.Context, c *Caller, cvr string, q url.Values) (*Page[store.AuditEvent], error) {
	if err := validCVR(cvr); err != nil {
		return nil, err
	}
	from, to, typ, err := historyQuery(q)
	if err != nil {
		return nil, err
	}
	pg, err := parsePageDefault(q, historyLimit)
	if err != nil {
		return nil, err
	}
	rev := s.st.Revision()
	var events []store.AuditEvent
	next := ""
	err = s.st.View(ctx, func(tx *store.Tx) error {
		if err := s.authorize(c, cvr, "organisation", objAudit, actRead); err != nil {
			return err
		}
		if _, err := loadOrg(tx, cvr); err != nil {
			return err
		}
		var err error
		events, next, err = auditPage(pg, func(before string, n int) ([]store.AuditEvent, error) {
			return tx.OrgAuditPage(cvr, before, from, to, typ, n)
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Page[store.AuditEvent]{Revision: rev, Items: events, Next: next}, nil
}
