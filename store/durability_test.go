package store_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

const durabilityDirEnv = "ADGANG_DURABILITY_DIR"

// TestDurabilityChild is the child of TestDurabilityKill9: it writes users
// with sync writes and prints each id once Update has acknowledged it.
func TestDurabilityChild(t *testing.T) {
	dir := os.Getenv(durabilityDirEnv)
	if dir == "" {
		t.Skip("only runs as the child of TestDurabilityKill9")
	}
	st, err := store.Open(store.Config{Dir: dir, CPRKey: storetest.Key, Logger: zerolog.Nop()})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	if _, err := st.Update(context.Background(), "child", func(tx *store.Tx) error {
		return tx.CreateOrg(&store.Org{CVR: cvrA, Name: "A"})
	}); err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	for i := 1; ; i++ {
		id := uid(i)
		if _, err := st.Update(context.Background(), "child", func(tx *store.Tx) error {
			return tx.CreateUser(&store.User{ID: id, Org: cvrA, Name: "U", Email: id + "@x.dk", Kind: store.KindEmployee})
		}); err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		fmt.Println("ACK", id) // acknowledged only after a durable commit
	}
}

// TestDurabilityKill9 kills a writing child process with SIGKILL at a
// random moment and finds every acknowledged record and its audit event.
func TestDurabilityKill9(t *testing.T) {
	if os.Getenv(durabilityDirEnv) != "" {
		t.Skip("child")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDurabilityChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), durabilityDirEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killAfter := 50 + rand.IntN(250)
	var acked []string
	sc := bufio.NewScanner(out)
	deadline := time.Now().Add(30 * time.Second)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "ERROR") {
			t.Fatalf("child: %s", line)
		}
		if id, ok := strings.CutPrefix(line, "ACK "); ok {
			acked = append(acked, id)
		}
		if len(acked) >= killAfter || time.Now().After(deadline) {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Read what the child acknowledged before it died.
	for sc.Scan() {
		if id, ok := strings.CutPrefix(sc.Text(), "ACK "); ok {
			acked = append(acked, id)
		}
	}
	_ = cmd.Wait()
	if len(acked) == 0 {
		t.Fatal("child acknowledged nothing")
	}
	st, err := store.Open(store.Config{Dir: dir, CPRKey: storetest.Key, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatalf("reopen after kill -9: %v", err)
	}
	defer st.Close()
	err = st.View(context.Background(), func(tx *store.Tx) error {
		for _, id := range acked {
			if _, err := tx.GetUser(id); err != nil {
				return fmt.Errorf("acknowledged user %s lost: %w", id, err)
			}
			h, err := tx.History(id, time.Time{}, time.Time{}, "user.create", 1)
			if err != nil || len(h) != 1 {
				return fmt.Errorf("audit event of %s lost: %v", id, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("killed after %d acknowledged writes; all present", len(acked))
}
