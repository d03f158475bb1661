package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// BenchmarkPatchUserHTTP is the write-mix phase's admin write through the
// whole admin API in process: token, routing, Casbin, the adgang.admin
// rules, the store write (Badger with synced writes), audit and the
// answer. Ten users of one organisation are written in turn.
func BenchmarkPatchUserHTTP(b *testing.B) {
	e := newEnv(b)
	// The compiled admin evaluator is attached in the background after a
	// start (topdown answers meanwhile): measure the one a server runs.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.eng.WaitSettled(ctx); err != nil {
		b.Fatal(err)
	}
	users := make([]string, 10)
	for i := range users {
		users[i] = e.newUser(cvrA)
	}
	auth := "Bearer " + e.tokens["user-admin"]
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPatch, "/v1/users/"+users[i%len(users)], strings.NewReader(fmt.Sprintf(`{"name":"Bench write %d"}`, i)))
		req.Header.Set("Authorization", auth)
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("PATCH: %d %s", w.Code, w.Body)
		}
		i++
	}
}
