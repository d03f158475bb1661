package store

import (
	"fmt"
	"strings"
	"time"
)

// Anonymity request keys:
//
//	an/<id>                          the request
//	iano/<org>/<order>               every request of an org
//	ianp/<org>/<order>               the pending ones
//	ianu/<user id>                   the pending request of a user (at most one)
//
// where <order> is "<created-ns %020d>-<id>".

// Anonymity request statuses.
const (
	AnonymityPending  = "pending"
	AnonymityApproved = "approved"
	AnonymityRejected = "rejected"
)

// AnonymityRequest is an existing user's request to become anonymous
// (MitID Erhverv): the org's administrators approve it, and approval
// re-creates the user as anonymous under NewUserID.
type AnonymityRequest struct {
	ID          string     `json:"id"`
	Org         string     `json:"org"`
	UserID      string     `json:"user_id"`
	Status      string     `json:"status"`
	RequestedBy string     `json:"requested_by"`
	Reason      string     `json:"reason,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	DecidedBy   string     `json:"decided_by,omitempty"`
	DecidedAt   *time.Time `json:"decided_at,omitempty"`
	NewUserID   string     `json:"new_user_id,omitempty"`
}

func anonymityOrder(r *AnonymityRequest) string {
	return fmt.Sprintf("%020d-%s", r.CreatedAt.UnixNano(), r.ID)
}

// GetAnonymityRequest returns one request.
func (tx *Tx) GetAnonymityRequest(id string) (*AnonymityRequest, error) {
	return getJSON[AnonymityRequest](tx, prefixAnonymity+id, "anonymity request")
}

// PendingAnonymityRequest returns the pending request of a user, or
// not_found.
func (tx *Tx) PendingAnonymityRequest(userID string) (*AnonymityRequest, error) {
	id, err := tx.getRaw(prefixAnonymityByUser+userID, "anonymity request")
	if err != nil {
		return nil, err
	}
	return tx.GetAnonymityRequest(string(id))
}

// PutAnonymityRequest creates or updates a request, keeping the pending
// indexes in step with its status. A user has at most one pending
// request: another one is a conflict.
func (tx *Tx) PutAnonymityRequest(r *AnonymityRequest) error {
	if r.ID == "" || strings.Contains(r.ID, "/") || r.Org == "" || strings.Contains(r.Org, "/") || r.UserID == "" {
		return Errorf(EInvalid, "anonymity request needs an id, an org and a user")
	}
	old, err := tx.GetAnonymityRequest(r.ID)
	switch {
	case err == nil:
		r.CreatedAt = old.CreatedAt
	case IsNotFound(err):
		old = nil
		if r.CreatedAt.IsZero() {
			r.CreatedAt = tx.now
		}
	default:
		return err
	}
	order := anonymityOrder(r)
	pending := r.Status == AnonymityPending
	if pending {
		if holder, err := tx.getRaw(prefixAnonymityByUser+r.UserID, "anonymity request"); err == nil && string(holder) != r.ID {
			return Errorf(EConflict, "the user already has a pending anonymity request")
		} else if err != nil && !IsNotFound(err) {
			return err
		}
	}
	if err := tx.setJSON(prefixAnonymity+r.ID, r); err != nil {
		return err
	}
	if err := tx.set(prefixAnonymityByOrg+r.Org+"/"+order, []byte(r.ID)); err != nil {
		return err
	}
	if pending {
		if err := tx.set(prefixAnonymityPending+r.Org+"/"+order, []byte(r.ID)); err != nil {
			return err
		}
		if err := tx.set(prefixAnonymityByUser+r.UserID, []byte(r.ID)); err != nil {
			return err
		}
	} else if old != nil && old.Status == AnonymityPending {
		if err := tx.del(prefixAnonymityPending + r.Org + "/" + order); err != nil {
			return err
		}
		if err := tx.del(prefixAnonymityByUser + r.UserID); err != nil {
			return err
		}
	}
	event := "anonymity_request." + r.Status
	if pending {
		event = "anonymity_request.create"
	}
	tx.audit(event, r.Org, r.UserID, r.ID)
	tx.changed(ChangeAnonymity, opOf(old != nil), r.Org, r.UserID, "", r.ID)
	return nil
}

// ListAnonymityRequests returns an org's requests (only the pending ones
// when pendingOnly), oldest first, after the order key after, at most
// limit; next is the order key to continue from ("" on the last page).
func (tx *Tx) ListAnonymityRequests(org string, pendingOnly bool, after string, limit int) (out []*AnonymityRequest, next string, err error) {
	prefix := prefixAnonymityByOrg + org + "/"
	if pendingOnly {
		prefix = prefixAnonymityPending + org + "/"
	}
	var orders []string
	for _, suffix := range tx.keys(prefix) {
		if after != "" && suffix <= after {
			continue
		}
		orders = append(orders, suffix)
		if len(orders) > limit {
			break
		}
	}
	if len(orders) > limit {
		orders = orders[:limit]
		next = orders[limit-1]
	}
	out = make([]*AnonymityRequest, 0, len(orders))
	for _, o := range orders {
		_, id, _ := strings.Cut(o, "-")
		r, err := tx.GetAnonymityRequest(id)
		if err != nil {
			return nil, "", err
		}
		out = append(out, r)
	}
	return out, next, nil
}
