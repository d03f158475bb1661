package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

// TestNotificationsBoundedPerRecipient: a recipient keeps at most
// MaxNotificationsPerUser notifications; storing more drops the oldest
// (read or unread), and other recipients are untouched.
func TestNotificationsBoundedPerRecipient(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	total := store.MaxNotificationsPerUser + 5
	id := func(i int) string { return fmt.Sprintf("n-%04d", i) }
	_, err := st.Update(ctx, "test", func(tx *store.Tx) error {
		if err := tx.CreateNotification(&store.Notification{ID: "other", Recipient: "admin-b", Org: "12345674",
			Kind: store.NotifyKnock, CreatedAt: t0}); err != nil {
			return err
		}
		for i := range total {
			if err := tx.CreateNotification(&store.Notification{ID: id(i), Recipient: "admin-a", Org: "12345674",
				Kind: store.NotifyKnock, CreatedAt: t0.Add(time.Duration(i) * time.Second)}); err != nil {
				return err
			}
			if i == 0 {
				if err := tx.MarkNotificationRead(id(0), t0); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = st.View(ctx, func(tx *store.Tx) error {
		all, next, err := tx.ListNotifications("admin-a", false, "", 1000)
		if err != nil {
			return err
		}
		if len(all) != store.MaxNotificationsPerUser || next != "" {
			t.Errorf("kept %d (next %q), want %d", len(all), next, store.MaxNotificationsPerUser)
		}
		if all[0].ID != id(total-1) || all[len(all)-1].ID != id(5) {
			t.Errorf("kept %s … %s, want %s … %s", all[0].ID, all[len(all)-1].ID, id(total-1), id(5))
		}
		unread, _, err := tx.ListNotifications("admin-a", true, "", 1000)
		if err != nil {
			return err
		}
		if len(unread) != store.MaxNotificationsPerUser {
			t.Errorf("unread index has %d entries, want %d", len(unread), store.MaxNotificationsPerUser)
		}
		for i := range 5 {
			if _, err := tx.GetNotification(id(i)); !store.IsNotFound(err) {
				t.Errorf("%s not dropped: %v", id(i), err)
			}
		}
		other, _, err := tx.ListNotifications("admin-b", false, "", 10)
		if err != nil || len(other) != 1 {
			t.Errorf("other recipient: %v %v", other, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
