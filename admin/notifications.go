package admin

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
)

// Notifications (SPEC §8): each goes to every org-admin and user-admin
// of the organisation it is about (settled detail), is kept per
// administrator (at most store.MaxNotificationsPerUser each, the oldest
// dropped), and is also mailed through the outbox to each recipient with
// an e-mail address.

// notificationRoles are the admin roles whose holders are notified.
var notificationRoles = []store.AdminRole{store.RoleOrgAdmin, store.RoleUserAdmin}

// Notify fans n out to the org-admin and user-admin holders of n.Org,
// read in tx (the active ones, external administrators of n.Org
// included): one notification each and, when mail is true, one outbox
// mail to each recipient that has an e-mail address. n's ID, Recipient
// and CreatedAt are filled in per recipient. It writes in tx, so the
// notification commits with the change it is about.
func (s *Service) Notify(tx *store.Tx, n store.Notification, mail bool) error {
	holders, err := s.readAdminHolders(tx, n.Org)
	if err != nil {
		return err
	}
	var recipients []string
	for _, r := range notificationRoles {
		ids, _ := holders[string(r)].([]string)
		for _, id := range ids {
			if !slices.Contains(recipients, id) {
				recipients = append(recipients, id)
			}
		}
	}
	slices.Sort(recipients)
	n.Subject, n.Body = pdp.MaskCPR(n.Subject), pdp.MaskCPR(n.Body)
	for _, rid := range recipients {
		one := n
		one.ID, one.Recipient, one.CreatedAt = uuid.NewString(), rid, tx.Now()
		if err := tx.CreateNotification(&one); err != nil {
			return err
		}
		if !mail {
			continue
		}
		u, err := tx.GetUser(rid)
		if err != nil {
			return err
		}
		if u.Email == "" {
			continue
		}
		if err := tx.PutMail(&store.OutboxMail{ID: "notification-" + one.ID, To: u.Email, UserID: n.UserID,
			Kind: "notification_" + n.Kind, Subject: n.Subject, Body: n.Body}); err != nil {
			return err
		}
	}
	return nil
}

// notifyKnock is the decision service's knock hook: a newly queued knock
// notifies the org's administrators (D2, L6). It runs in the knock flush
// transaction, off the decision path.
func (s *Service) notifyKnock(tx *store.Tx, k *store.Knock) error {
	who := k.Name
	if who == "" {
		who = k.SubjectID
	}
	return s.Notify(tx, store.Notification{Org: k.Org, Kind: store.NotifyKnock, Object: k.ID,
		Subject: "New knock: an unknown employee asks for access",
		Body: fmt.Sprintf("%s tried to log in for organisation %s and is waiting in the knock queue (knock %s).",
			who, k.Org, k.ID)}, true)
}

// validOrderKey checks the shape of a notification or anonymity-request
// cursor (the order key of the last item answered) before it reaches a
// key range: a 20-digit time, '-', an id, no '/'.
func validOrderKey(k string) bool {
	return len(k) >= 22 && k[20] == '-' && !strings.Contains(k, "/")
}

// ownUser is the user the caller's credentials are bound to; a token
// made without a user (a plain superadmin token) has none.
func ownUser(c *Caller, what string) (string, error) {
	if c.userID == "" {
		return "", store.Errorf(store.ENotFound, "this token is not bound to a user, so it has no %s; use a token made for a user (POST /v1/tokens with user_id) or a JWT", what)
	}
	return c.userID, nil
}

// ListNotifications answers the caller's own notifications, newest
// first: GET /v1/notifications?unread=true&limit=&page_token=.
func (s *Service) ListNotifications(ctx context.Context, c *Caller, q url.Values) (*Page[*store.Notification], error) {
	me, err := ownUser(c, "notifications")
	if err != nil {
		return nil, err
	}
	unread := false
	switch q.Get("unread") {
	case "", "false":
	case "true":
		unread = true
	default:
		return nil, invalid("unread must be true or false")
	}
	p, err := parseCursorPage(q, validOrderKey)
	if err != nil {
		return nil, err
	}
	rev := s.st.Revision()
	var list []*store.Notification
	var next string
	err = s.st.View(ctx, func(tx *store.Tx) error {
		var err error
		list, next, err = tx.ListNotifications(me, unread, p.After, p.Limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Page[*store.Notification]{Revision: rev, Items: list, Next: nextToken(next)}, nil
}

// ReadNotification marks one of the caller's own notifications
// read: POST /v1/notifications/{id}/read. Another administrator's
// notification answers 404, like a missing one.
func (s *Service) ReadNotification(ctx context.Context, c *Caller, id string) (uint64, *store.Notification, error) {
	me, err := ownUser(c, "notifications")
	if err != nil {
		return 0, nil, err
	}
	if err := store.ValidUUID(id); err != nil {
		return 0, nil, fieldErr("notification id", err)
	}
	var n *store.Notification
	rev, err := s.st.Update(ctx, c.actor, func(tx *store.Tx) error {
		var err error
		n, err = tx.GetNotification(id)
		if store.IsNotFound(err) || (err == nil && n.Recipient != me) {
			return notFound("notification")
		} else if err != nil {
			return err
		}
		if err := tx.MarkNotificationRead(id, tx.Now()); err != nil {
			return err
		}
		n, err = tx.GetNotification(id)
		return err
	})
	return rev, n, err
}
