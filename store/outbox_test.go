package store_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

func openOutboxStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(store.Config{Dir: dir, CPRKey: storetest.Key, NoSync: true, Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func pendingIDs(t *testing.T, st *store.Store, limit int) []string {
	t.Helper()
	var ids []string
	view(t, st, func(tx *store.Tx) error {
		ms, err := tx.PendingMail(limit)
		if err != nil {
			return err
		}
		for _, m := range ms {
			ids = append(ids, m.ID)
		}
		return nil
	})
	return ids
}

func TestOutboxSecretAndPending(t *testing.T) {
	const secret = "tok-3f9a1c"
	dir := t.TempDir()
	st := openOutboxStore(t, dir)
	t0 := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	mustUpdate(t, st, func(tx *store.Tx) error {
		for _, m := range []*store.OutboxMail{
			// Put out of creation order: the pending list is by CreatedAt.
			{ID: "m2", To: "b@example.dk", Kind: "warning", Subject: "s", Body: "b", CreatedAt: t0.Add(time.Minute)},
			{ID: "m1", To: "a@example.dk", UserID: uid(1), Kind: "activation", Subject: "Aktivér",
				Body: "Link: https://x/activate?token=" + store.SecretMark, Secret: secret, CreatedAt: t0},
			{ID: "m3", To: "c@example.dk", Kind: "password", Body: store.SecretMark, Secret: "pw-1", CreatedAt: t0.Add(2 * time.Minute)},
		} {
			if err := tx.PutMail(m); err != nil {
				return err
			}
		}
		return nil
	})

	t.Run("secret round-trips but is never marshalled", func(t *testing.T) {
		view(t, st, func(tx *store.Tx) error {
			m, err := tx.GetMail("m1")
			if err != nil {
				return err
			}
			if m.Secret != secret {
				t.Errorf("GetMail secret = %q, want %q", m.Secret, secret)
			}
			ms, err := tx.ListMail("a@example.dk", "")
			if err != nil {
				return err
			}
			if len(ms) != 1 || ms[0].Secret != secret {
				t.Errorf("ListMail = %+v", ms)
			}
			b, err := json.Marshal(ms)
			if err != nil {
				return err
			}
			if strings.Contains(string(b), secret) || strings.Contains(string(b), `"secret"`) {
				t.Errorf("secret in JSON: %s", b)
			}
			if !strings.Contains(string(b), store.SecretMark) {
				t.Errorf("body lost its placeholder: %s", b)
			}
			evs, err := tx.AuditSince(0)
			if err != nil {
				return err
			}
			b, _ = json.Marshal(evs)
			if strings.Contains(string(b), secret) {
				t.Errorf("secret in audit: %s", b)
			}
			if _, err := tx.GetMail("nope"); !store.IsNotFound(err) {
				t.Errorf("GetMail unknown: %v", err)
			}
			return nil
		})
	})

	t.Run("pending oldest first", func(t *testing.T) {
		if got := strings.Join(pendingIDs(t, st, 0), ","); got != "m1,m2,m3" {
			t.Errorf("pending = %s", got)
		}
		if got := strings.Join(pendingIDs(t, st, 2), ","); got != "m1,m2" {
			t.Errorf("pending(2) = %s", got)
		}
	})

	sent := t0.Add(time.Hour)
	t.Run("mark sent wipes the secret and leaves pending", func(t *testing.T) {
		rev := st.Revision()
		mustUpdate(t, st, func(tx *store.Tx) error {
			// In the same transaction that writes, the pending scan works too.
			ms, err := tx.PendingMail(1)
			if err != nil || len(ms) != 1 || ms[0].ID != "m1" || ms[0].Secret != secret {
				t.Errorf("pending in update: %+v %v", ms, err)
			}
			return tx.MarkMailSent("m1", sent)
		})
		view(t, st, func(tx *store.Tx) error {
			m, err := tx.GetMail("m1")
			if err != nil {
				return err
			}
			if m.Secret != "" || m.SentAt == nil || !m.SentAt.Equal(sent) {
				t.Errorf("after mark sent: %+v", m)
			}
			evs, _ := tx.AuditSince(rev)
			if len(evs) != 1 || evs[0].Type != "mail.sent" || evs[0].Object != "m1" || evs[0].UserID != uid(1) {
				t.Errorf("audit of mark sent: %+v", evs)
			}
			if ms, _ := tx.ListMail("", uid(1)); len(ms) != 1 || ms[0].SentAt == nil {
				t.Errorf("ListMail by user after sent: %+v", ms)
			}
			return nil
		})
		if got := strings.Join(pendingIDs(t, st, 0), ","); got != "m2,m3" {
			t.Errorf("pending after sent = %s", got)
		}
		// Idempotent: again is no write and no event.
		rev = st.Revision()
		mustUpdate(t, st, func(tx *store.Tx) error { return tx.MarkMailSent("m1", sent.Add(time.Hour)) })
		view(t, st, func(tx *store.Tx) error {
			if m, _ := tx.GetMail("m1"); m == nil || !m.SentAt.Equal(sent) {
				t.Errorf("second mark changed the mail: %+v", m)
			}
			if evs, _ := tx.AuditSince(rev); len(evs) != 0 {
				t.Errorf("second mark audited: %+v", evs)
			}
			return nil
		})
		if _, err := st.Update(ctx, "test", func(tx *store.Tx) error { return tx.MarkMailSent("nope", sent) }); !store.IsNotFound(err) {
			t.Errorf("mark unknown: %v", err)
		}
	})

	t.Run("PutMail with SentAt wipes the secret", func(t *testing.T) {
		mustUpdate(t, st, func(tx *store.Tx) error {
			m, err := tx.GetMail("m3")
			if err != nil {
				return err
			}
			m.SentAt = &sent
			return tx.PutMail(m)
		})
		view(t, st, func(tx *store.Tx) error {
			if m, _ := tx.GetMail("m3"); m == nil || m.Secret != "" {
				t.Errorf("m3 after sent: %+v", m)
			}
			return nil
		})
		if got := strings.Join(pendingIDs(t, st, 0), ","); got != "m2" {
			t.Errorf("pending = %s", got)
		}
	})

	t.Run("reopen keeps it", func(t *testing.T) {
		// A new pending mail with a secret, then reopen.
		mustUpdate(t, st, func(tx *store.Tx) error {
			return tx.PutMail(&store.OutboxMail{ID: "m4", To: "d@example.dk", Body: store.SecretMark, Secret: "s4", CreatedAt: t0.Add(3 * time.Minute)})
		})
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		st = openOutboxStore(t, dir)
		if got := strings.Join(pendingIDs(t, st, 0), ","); got != "m2,m4" {
			t.Errorf("pending after reopen = %s", got)
		}
		view(t, st, func(tx *store.Tx) error {
			if m, _ := tx.GetMail("m4"); m == nil || m.Secret != "s4" {
				t.Errorf("m4 after reopen: %+v", m)
			}
			if m, _ := tx.GetMail("m1"); m == nil || m.Secret != "" || m.SentAt == nil {
				t.Errorf("m1 after reopen: %+v", m)
			}
			if ms, _ := tx.ListMail("", ""); len(ms) != 4 {
				t.Errorf("all mail after reopen: %d", len(ms))
			}
			return nil
		})
	})
	st.Close()
}
