package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

// decisionURLOf finds the decision listener's URL in the server's log.
func decisionURLOf(t *testing.T, log string) string {
	t.Helper()
	for _, line := range strings.Split(log, "\n") {
		var rec struct{ Listener, URL string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Listener == "decision" && rec.URL != "" {
			return rec.URL
		}
	}
	t.Fatalf("no decision listener in the log:\n%s", log)
	return ""
}

// TestDecisionLogCrash runs `adgang serve --decision-log-store on
// --decision-log-mode lossless` as a subprocess, sends login decisions
// from several clients, kills the server with SIGKILL mid-stream and then
// checks that every decision that was answered is in the stored decision
// log after the restart (B7: lossless decision logging).
func TestDecisionLogCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the server as a subprocess and kills it")
	}
	if os.Getenv(crashChildEnv) != "" {
		t.Skip("child")
	}
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cpr.key"), []byte(hex.EncodeToString(storetest.Key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	openStore := func() *store.Store {
		t.Helper()
		st, err := store.Open(store.Config{Dir: filepath.Join(dir, "badger"), CPRKey: storetest.Key, NoSync: true,
			Logger: zerolog.Nop(), GCInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := openStore()
	if _, err := st.Update(ctx, "test", func(tx *store.Tx) error {
		if err := tx.CreateOrg(&store.Org{CVR: crashCVR, Name: "Skolen", Type: store.OrgInstitution}); err != nil {
			return err
		}
		return tx.CreateUser(&store.User{ID: crashUserID(1), Org: crashCVR, Name: "U 1", Kind: store.KindEmployee, Status: store.StatusActive})
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	const token = "crash-test-bootstrap-token-0123456789"
	child := startServerChild(t, token, "serve", "--data", dir, "--lifecycle-interval", "0",
		"--decision-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--decision-log", "off",
		"--decision-log-store", "on", "--decision-log-mode", "lossless")
	decisionURL := decisionURLOf(t, child.log())

	body, _ := json.Marshal(map[string]any{"subject": map[string]any{"id": crashUserID(1), "cvr": crashCVR, "kind": "employee", "cpr_linked": true},
		"service": "eksamensdatabasen"})
	var mu sync.Mutex
	var answered []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := client.Post(decisionURL+"/v1/decisions/login", "application/json", bytes.NewReader(body))
				if err != nil {
					continue // the server is gone: this one was not answered
				}
				var d struct {
					DecisionID string `json:"decision_id"`
				}
				err = json.NewDecoder(res.Body).Decode(&d)
				res.Body.Close()
				if err == nil && res.StatusCode == http.StatusOK && d.DecisionID != "" {
					mu.Lock()
					answered = append(answered, d.DecisionID)
					mu.Unlock()
				}
			}
		}()
	}
	deadline := time.Now().Add(time.Minute)
	for {
		mu.Lock()
		n := len(answered)
		mu.Unlock()
		if n >= 500 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	child.kill() // while the clients are still sending
	close(stop)
	wg.Wait()
	if len(answered) == 0 {
		t.Fatalf("no decision answered:\n%s", child.log())
	}

	st = openStore() // the restart: Badger replays its write-ahead log
	defer st.Close()
	missing := 0
	if err := st.View(ctx, func(tx *store.Tx) error {
		for _, id := range answered {
			rec, err := tx.GetDecision(id)
			switch {
			case store.IsNotFound(err):
				missing++
			case err != nil:
				return err
			case rec.CVR != crashCVR || rec.UserID != crashUserID(1):
				t.Errorf("decision %s stored as %+v", id, rec)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if missing > 0 {
		t.Fatalf("%d of %d answered decisions are not in the decision log after kill -9", missing, len(answered))
	}
	t.Logf("all %d answered decisions survived kill -9", len(answered))
}
