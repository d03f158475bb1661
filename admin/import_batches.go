package admin

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/adgang/adgang/admin/jobs/lifecycle"
	"github.com/adgang/adgang/store"
)

// ImportEntry is one import batch in GET /v1/orgs/{cvr}/imports
// (Unilogin's "Vis importerede"): when, how, how many rows, and how many
// users still hold the association it gave (and of those, how many nobody
// confirmed since, who lose it when the batch is retired).
type ImportEntry struct {
	ID          string    `json:"id"`
	Org         string    `json:"org"`
	Mode        string    `json:"mode"`
	CreatedAt   time.Time `json:"created_at"`
	Rows        int       `json:"rows"`
	Users       int       `json:"users"`
	Unconfirmed int       `json:"unconfirmed"`
	Retired     bool      `json:"retired"`
}

// ListImports lists the org's import batches, newest first, paged.
func (s *Service) ListImports(ctx context.Context, c *Caller, cvr string, q url.Values) (*Page[ImportEntry], error) {
	return orgList(ctx, s, c, cvr, q, objUser, func(tx *store.Tx, cvr string, p page) ([]ImportEntry, string, error) {
		batches, err := tx.ListImports(cvr)
		if err != nil {
			return nil, "", err
		}
		// Newest first: the key is the creation time, then the id.
		page, next := pageOfDesc(p, batches, func(b *store.ImportBatch) string {
			return fmt.Sprintf("%020d %s", b.CreatedAt.UnixNano(), b.ID)
		})
		counts, err := importUserCounts(tx, cvr, page)
		if err != nil {
			return nil, "", err
		}
		out := []ImportEntry{}
		for _, b := range page {
			n := counts[b.ID]
			out = append(out, ImportEntry{ID: b.ID, Org: b.Org, Mode: b.Mode, CreatedAt: b.CreatedAt.UTC(), Rows: b.Rows,
				Users: n[0], Unconfirmed: n[1], Retired: b.Retired})
		}
		return out, next, nil
	})
}

// importUserCounts counts, per batch of page, the org's users that still
// carry the batch as their source and how many of them nobody confirmed
// since the import: one pass over the org's users.
func importUserCounts(tx *store.Tx, cvr string, page []*store.ImportBatch) (map[string][2]int, error) {
	bySource := map[string]*store.ImportBatch{}
	for _, b := range page {
		bySource["import:"+b.ID] = b
	}
	counts := map[string][2]int{}
	if len(page) == 0 {
		return counts, nil
	}
	after := ""
	for {
		users, more, err := tx.ListUsers(cvr, after, 1000)
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			b, ok := bySource[u.Source]
			if !ok {
				continue
			}
			n := counts[b.ID]
			n[0]++
			if u.ConfirmedAt == nil || !u.ConfirmedAt.After(b.CreatedAt) {
				n[1]++
			}
			counts[b.ID] = n
		}
		if more == "" || len(users) == 0 {
			return counts, nil
		}
		after = more
	}
}

// planRetireImport retires an import batch by hand ("Nedlæg import", L5):
// the same retirement the L5 job does, at once. Its unconfirmed users are
// deleted, so the change is watched for A10 like any other removal.
func (s *Service) planRetireImport(ctx context.Context, c *Caller, id string, out *store.ImportBatch) planFunc {
	return func(tx *store.Tx) (*plan, error) {
		if id == "" || strings.Contains(id, "/") || len(id) > 200 {
			return nil, invalid("import id is not valid")
		}
		b, err := tx.GetImport(id)
		if store.IsNotFound(err) {
			return nil, notFound("import")
		} else if err != nil {
			return nil, err
		}
		if err := s.authorize(c, b.Org, "organisation", objUser, actDelete); err != nil {
			return nil, err
		}
		org, err := loadOrg(tx, b.Org)
		if err != nil {
			return nil, err
		}
		in := s.baseInput(c, "import.retire", org)
		in["target"] = map[string]any{"id": b.ID, "kind": "import", "org": b.Org, "retired": b.Retired}
		in["change"] = map[string]any{}
		var users []string
		if !b.Retired {
			counts, err := importUserIDs(tx, b)
			if err != nil {
				return nil, err
			}
			users = counts
		}
		return (&plan{checks: []map[string]any{in}, apply: func(tx *store.Tx) error {
			if err := lifecycle.RetireImport(ctx, tx, s.eng, org, b, nil, map[string]any{"rule": "L5", "by": "administrator"}); err != nil {
				return err
			}
			*out = *b
			return nil
		}}).watchRoles(b.Org, users...), nil
	}
}

// importUserIDs lists the users that would lose their association if b
// were retired now.
func importUserIDs(tx *store.Tx, b *store.ImportBatch) ([]string, error) {
	var ids []string
	after := ""
	for {
		users, more, err := tx.ListUsers(b.Org, after, 1000)
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			if u.Source == "import:"+b.ID && (u.ConfirmedAt == nil || !u.ConfirmedAt.After(b.CreatedAt)) {
				ids = append(ids, u.ID)
			}
		}
		if more == "" || len(users) == 0 {
			return ids, nil
		}
		after = more
	}
}

// RetireImport retires the import batch id (planRetireImport).
func (s *Service) RetireImport(ctx context.Context, c *Caller, id string) (uint64, *store.ImportBatch, error) {
	var b store.ImportBatch
	rev, err := s.write(ctx, c, s.planRetireImport(ctx, c, id, &b))
	return rev, &b, err
}
