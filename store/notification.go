package store

import (
	"fmt"
	"strings"
	"time"
)

// Notification keys:
//
//	nt/<id>                          the notification
//	inr/<recipient>/<order>          every notification of a recipient
//	inq/<recipient>/<order>          the unread ones
//
// where <order> is "<created-ns %020d>-<id>", so both indexes are in
// creation order.

// MaxNotificationsPerUser bounds the notifications kept for one
// recipient: storing one more drops the oldest (read or not). An
// administrator who never reads them costs at most this many records.
const MaxNotificationsPerUser = 200

// Notification kinds (the sources of SPEC §8's notifications).
const (
	NotifyKnock            = "knock"             // a new knock in the org's queue (D2, L6)
	NotifyLifecycleWarning = "lifecycle_warning" // L4: an unconfirmed association will be deleted
	NotifyAnonymity        = "anonymity_request" // a user asks for anonymity
)

// Notification is a message for one administrator (the recipient), kept
// in the store and read through the admin API.
type Notification struct {
	ID        string     `json:"id"`
	Recipient string     `json:"recipient"` // the administrator's user id
	Org       string     `json:"org"`
	Kind      string     `json:"kind"`
	Subject   string     `json:"subject"`
	Body      string     `json:"body"`
	Object    string     `json:"object,omitempty"` // what it is about: a knock, request or user id
	UserID    string     `json:"user_id,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	ReadAt    *time.Time `json:"read_at,omitempty"`
}

func notificationOrder(n *Notification) string {
	return fmt.Sprintf("%020d-%s", n.CreatedAt.UnixNano(), n.ID)
}

// GetNotification returns one notification.
func (tx *Tx) GetNotification(id string) (*Notification, error) {
	return getJSON[Notification](tx, prefixNotification+id, "notification")
}

// CreateNotification stores a new notification for n.Recipient and drops
// that recipient's oldest ones beyond MaxNotificationsPerUser.
func (tx *Tx) CreateNotification(n *Notification) error {
	if n.ID == "" || strings.Contains(n.ID, "/") || n.Recipient == "" || strings.Contains(n.Recipient, "/") {
		return Errorf(EInvalid, "notification needs an id and a recipient without slashes")
	}
	if ok, err := tx.exists(prefixNotification + n.ID); err != nil {
		return err
	} else if ok {
		return Errorf(EConflict, "notification id already in use")
	}
	if n.CreatedAt.IsZero() {
		n.CreatedAt = tx.now
	}
	n.ReadAt = nil
	order := notificationOrder(n)
	if err := tx.setJSON(prefixNotification+n.ID, n); err != nil {
		return err
	}
	if err := tx.set(prefixNotificationByRecipient+n.Recipient+"/"+order, []byte(n.ID)); err != nil {
		return err
	}
	if err := tx.set(prefixNotificationUnread+n.Recipient+"/"+order, []byte(n.ID)); err != nil {
		return err
	}
	tx.audit("notification.create", n.Org, "", n.ID)
	tx.changed(ChangeNotification, OpCreate, n.Org, "", "", n.ID)
	all := tx.keys(prefixNotificationByRecipient + n.Recipient + "/")
	for _, suffix := range all[:max(len(all)-MaxNotificationsPerUser, 0)] {
		if err := tx.dropNotification(n.Recipient, suffix); err != nil {
			return err
		}
	}
	return nil
}

// dropNotification removes the notification at order suffix of recipient
// and its index entries (bounding, not an administrator's action: no
// audit event).
func (tx *Tx) dropNotification(recipient, suffix string) error {
	_, id, _ := strings.Cut(suffix, "-")
	for _, k := range []string{prefixNotification + id, prefixNotificationByRecipient + recipient + "/" + suffix, prefixNotificationUnread + recipient + "/" + suffix} {
		if err := tx.del(k); err != nil {
			return err
		}
	}
	tx.changed(ChangeNotification, OpDelete, "", "", "", id)
	return nil
}

// MarkNotificationRead records that the recipient read notification id
// at at. Marking a read notification again changes nothing.
func (tx *Tx) MarkNotificationRead(id string, at time.Time) error {
	n, err := tx.GetNotification(id)
	if err != nil {
		return err
	}
	if n.ReadAt != nil {
		return nil
	}
	at = at.UTC()
	n.ReadAt = &at
	if err := tx.setJSON(prefixNotification+n.ID, n); err != nil {
		return err
	}
	if err := tx.del(prefixNotificationUnread + n.Recipient + "/" + notificationOrder(n)); err != nil {
		return err
	}
	tx.audit("notification.read", n.Org, "", n.ID)
	tx.changed(ChangeNotification, OpUpdate, n.Org, "", "", n.ID)
	return nil
}

// ListNotifications returns recipient's notifications, newest first
// (only the unread ones when unreadOnly), starting after the order key
// after ("" = from the newest), at most limit; next is the order key to
// continue from, "" on the last page.
func (tx *Tx) ListNotifications(recipient string, unreadOnly bool, after string, limit int) (out []*Notification, next string, err error) {
	prefix := prefixNotificationByRecipient + recipient + "/"
	if unreadOnly {
		prefix = prefixNotificationUnread + recipient + "/"
	}
	var orders []string
	tx.keysReverse(prefix, func(suffix string) bool {
		if after != "" && suffix >= after {
			return true
		}
		orders = append(orders, suffix)
		return len(orders) <= limit
	})
	if len(orders) > limit {
		orders = orders[:limit]
		next = orders[limit-1]
	}
	out = make([]*Notification, 0, len(orders))
	for _, o := range orders {
		_, id, _ := strings.Cut(o, "-")
		n, err := tx.GetNotification(id)
		if err != nil {
			return nil, "", err
		}
		out = append(out, n)
	}
	return out, next, nil
}
