package admin

import (
	"context"
	"encoding/base64"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/adgang/adgang/store"
)

// Paging of every GET collection (SPEC §8): `limit` (default 100, 1–1000,
// anything else 400) and an opaque `page_token`; the answer is
// {revision, <resource>: [...], next_page_token}, next_page_token empty on
// the last page.
//
// A list pages in three steps:
//
//	p, err := parsePage(q)                 // or parsePageDefault(q, 200)
//	items, next := pageOf(p, all, key)     // all in any order; key unique
//	return &Page[T]{rev, items, next}      // admin/api writes the answer
//
// key is the item's sort key, unique within the list: the list is ordered
// by it (pageOfDesc: newest first) and the token is the last key of the
// page, so a walk never repeats or skips an item that stays in the list,
// even when others are added or removed between pages.
const (
	defaultPageLimit = 100
	maxPageLimit     = 1000
)

// page is one request's paging: at most Limit items after the cursor
// After (the decoded page_token; "" on the first page).
type page struct {
	Limit int
	After string
}

// parsePage reads limit (default 100) and page_token.
func parsePage(q url.Values) (page, error) { return parsePageDefault(q, defaultPageLimit) }

// parsePageDefault is parsePage with another default limit (history: 200).
func parsePageDefault(q url.Values, def int) (page, error) {
	p := page{Limit: def}
	if v := q.Get("limit"); v != "" || q.Has("limit") {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageLimit {
			return page{}, invalid("limit must be a number from 1 to %d", maxPageLimit)
		}
		p.Limit = n
	}
	if v := q.Get("page_token"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || len(b) == 0 || !strings.HasPrefix(string(b), pageTokenMark) {
			return page{}, invalid("page_token is not valid (pass next_page_token of the previous page unchanged)")
		}
		p.After = string(b[len(pageTokenMark):])
	}
	return p, nil
}

// parseCursorPage is parsePage for a list that seeks in the store by the
// order key of its last item: valid checks the key's shape before it
// reaches a key range (an invalid one is a 400, like a malformed token).
func parseCursorPage(q url.Values, valid func(string) bool) (page, error) {
	p, err := parsePage(q)
	if err == nil && p.After != "" && !valid(p.After) {
		err = invalid("page_token is not valid (pass next_page_token of the previous page unchanged)")
	}
	return p, err
}

// nextToken is the page token of a store cursor ("" on the last page).
func nextToken(key string) string {
	if key == "" {
		return ""
	}
	return pageToken(key)
}

// pageTokenMark versions the token format.
const pageTokenMark = "p1:"

// pageToken encodes the cursor after key.
func pageToken(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(pageTokenMark + key))
}

// pageOf orders items by key (ascending) and returns the page after p's
// cursor and the token of the next page ("" on the last page). items may
// be reordered.
func pageOf[T any](p page, items []T, key func(T) string) ([]T, string) {
	return pageBy(p, items, key, false)
}

// pageOfDesc is pageOf for lists ordered by key descending (newest first).
func pageOfDesc[T any](p page, items []T, key func(T) string) ([]T, string) {
	return pageBy(p, items, key, true)
}

func pageBy[T any](p page, items []T, key func(T) string, desc bool) ([]T, string) {
	keys := make([]string, len(items))
	idx := make([]int, len(items))
	for i := range items {
		idx[i], keys[i] = i, key(items[i])
	}
	cmpKeys := func(a, b string) int {
		if desc {
			return strings.Compare(b, a)
		}
		return strings.Compare(a, b)
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmpKeys(keys[a], keys[b]) })
	start := 0
	if p.After != "" {
		start, _ = slices.BinarySearchFunc(idx, p.After, func(i int, after string) int {
			if cmpKeys(keys[i], after) <= 0 {
				return -1
			}
			return 1
		})
	}
	end := min(start+p.Limit, len(idx))
	out := make([]T, 0, end-start)
	for _, i := range idx[start:end] {
		out = append(out, items[i])
	}
	next := ""
	if end < len(idx) && end > start {
		next = pageToken(keys[idx[end-1]])
	}
	return out, next
}

// Page is one page of a GET collection: its items, the store revision
// the read saw at least, and the token of the next page ("" on the last).
type Page[T any] struct {
	Revision uint64
	Items    []T
	Next     string
}

// listFunc reads one page of a GET collection inside a read transaction:
// the page's items and the next page token.
type listFunc[T any] func(tx *store.Tx, pg page) ([]T, string, error)

// listPage reads the page pg of list: the store revision is read before
// the read transaction, so the answer holds at least what that revision
// holds.
func listPage[T any](ctx context.Context, s *Service, pg page, list listFunc[T]) (*Page[T], error) {
	rev := s.st.Revision()
	var items []T
	next := ""
	err := s.st.View(ctx, func(tx *store.Tx) error {
		var err error
		items, next, err = list(tx, pg)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Page[T]{Revision: rev, Items: items, Next: next}, nil
}

// checkedList is listPage for a route that first refuses a bad request:
// precheck (the path's identifier, or the caller's right to the global
// collection, evaluated by the caller) and then the paging parameters q.
func checkedList[T any](ctx context.Context, s *Service, q url.Values, precheck error, list listFunc[T]) (*Page[T], error) {
	if precheck != nil {
		return nil, precheck
	}
	pg, err := parsePage(q)
	if err != nil {
		return nil, err
	}
	return listPage(ctx, s, pg, list)
}

// orgListFunc reads one page of a collection of the organisation cvr.
type orgListFunc[T any] func(tx *store.Tx, cvr string, pg page) ([]T, string, error)

// orgList reads a page of GET /v1/orgs/{cvr}/<collection>: cvr and the
// paging parameters are checked first, then as orgPage.
func orgList[T any](ctx context.Context, s *Service, c *Caller, cvr string, q url.Values, obj string, list orgListFunc[T]) (*Page[T], error) {
	return checkedList(ctx, s, q, validCVR(cvr), inOrgList(s, c, cvr, obj, list))
}

// orgPage is orgList for a route that checked cvr and read the page (and
// its own parameters) itself.
func orgPage[T any](ctx context.Context, s *Service, c *Caller, cvr, obj string, pg page, list orgListFunc[T]) (*Page[T], error) {
	return listPage(ctx, s, pg, inOrgList(s, c, cvr, obj, list))
}

// inOrgList reads list in the read transaction after the caller's right
// to read obj in the organisation cvr (A1, A14) and that the organisation
// exists.
func inOrgList[T any](s *Service, c *Caller, cvr, obj string, list orgListFunc[T]) listFunc[T] {
	return func(tx *store.Tx, pg page) ([]T, string, error) {
		if err := s.authorize(c, cvr, "organisation", obj, actRead); err != nil {
			return nil, "", err
		}
		if _, err := loadOrg(tx, cvr); err != nil {
			return nil, "", err
		}
		return list(tx, cvr, pg)
	}
}
