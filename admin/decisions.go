package admin

import (
	"context"
	"encoding/base64"
	"net/url"
	"regexp"
	"strconv"

	"github.com/adgang/adgang/store"
)

// objDecision is the stored decision log (S11): auditors and superadmin
// read it, each auditor only its own organisations' decisions (A1).
const objDecision = "decision"

// decisionPageToken is the inner form of a decisions page token.
var decisionPageToken = regexp.MustCompile(`^[0-9]{20}/[0-9A-Za-z-]{1,64}$`)

// decisionOrgs is the caller's A1 scope of the decision log: nil for
// superadmin (every decision), else the organisations where one of its
// roles may read decisions.
func (s *Service) decisionOrgs(c *Caller) ([]string, error) {
	if c.superadmin {
		return nil, nil
	}
	orgs := []string{}
	for _, d := range s.roles.domainsOf(c.subject) {
		if d == anyDomain {
			continue
		}
		ok, err := s.roles.enforce(c.subject, d, objDecision, actRead)
		if err != nil {
			return nil, err
		}
		if ok {
			orgs = append(orgs, d)
		}
	}
	return orgs, nil
}

// ListDecisions answers GET /v1/decisions: the stored decision log,
// newest first, filtered by user_id, cvr, from, to and allow, paged by
// limit and page_token. An auditor sees its own organisations' decisions
// only; asking for another organisation's cvr answers 404 (A1).
func (s *Service) ListDecisions(ctx context.Context, c *Caller, q url.Values) (*Page[*store.DecisionRecord], error) {
	var dq store.DecisionQuery
	var err error
	if dq.From, err = parseTimeParam("from", q.Get("from"), false); err != nil {
		return nil, err
	}
	if dq.To, err = parseTimeParam("to", q.Get("to"), true); err != nil {
		return nil, err
	}
	if dq.UserID = q.Get("user_id"); dq.UserID != "" {
		if err := validUserID(dq.UserID); err != nil {
			return nil, err
		}
	}
	if dq.CVR = q.Get("cvr"); dq.CVR != "" {
		if err := validCVR(dq.CVR); err != nil {
			return nil, err
		}
	}
	if v := q.Get("allow"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, invalid("allow must be true or false")
		}
		dq.Allow = &b
	}
	dq.Limit = defaultPageLimit
	if v := q.Get("limit"); v != "" {
		if dq.Limit, err = strconv.Atoi(v); err != nil || dq.Limit < 1 || dq.Limit > maxPageLimit {
			return nil, invalid("limit must be 1-%d", maxPageLimit)
		}
	}
	if v := q.Get("page_token"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || !decisionPageToken.Match(b) {
			return nil, invalid("page_token is not valid")
		}
		dq.After = string(b)
	}
	if dq.CVR != "" {
		if err := s.authorize(c, dq.CVR, "organisation", objDecision, actRead); err != nil {
			return nil, err
		}
	} else {
		if dq.Orgs, err = s.decisionOrgs(c); err != nil {
			return nil, err
		}
		if dq.Orgs != nil && len(dq.Orgs) == 0 {
			return nil, forbidden("your roles may not read decisions")
		}
	}
	var recs []*store.DecisionRecord
	next := ""
	err = s.st.View(ctx, func(tx *store.Tx) error {
		var err error
		recs, next, err = tx.ListDecisions(dq)
		return err
	})
	if err != nil {
		return nil, err
	}
	if next != "" {
		next = base64.RawURLEncoding.EncodeToString([]byte(next))
	}
	return &Page[*store.DecisionRecord]{Items: recs, Next: next}, nil
}

// GetDecision answers GET /v1/decisions/{decision_id}. A decision
// of an organisation where the caller holds no role answers 404 like a
// missing one (A1), a role that may not read decisions 403 (A14);
// decisions without an organisation are for superadmin only.
func (s *Service) GetDecision(ctx context.Context, c *Caller, id string) (*store.DecisionRecord, error) {
	var rec *store.DecisionRecord
	err := s.st.View(ctx, func(tx *store.Tx) error {
		var err error
		if rec, err = tx.GetDecision(id); err != nil {
			if store.IsNotFound(err) {
				return notFound("decision")
			}
			return err
		}
		if c.superadmin {
			return nil
		}
		if rec.CVR == "" {
			return notFound("decision")
		}
		return s.authorize(c, rec.CVR, "decision", objDecision, actRead)
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}
