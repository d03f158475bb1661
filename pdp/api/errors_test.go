package api_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/pdp/api"
	"github.com/adgang/adgang/store"
)

// TestStatusOf pins SPEC §8 "Settled details": each kind of error has one
// status, whoever returns it.
func TestStatusOf(t *testing.T) {
	rule := func(code, rule, reason string) error { return store.RuleError(code, rule, reason, "refused") }
	cases := []struct {
		name string
		err  error
		want int
	}{
		{"malformed", store.Errorf(store.EInvalid, "bad json"), 400},
		{"unauthorized", store.Errorf(store.EUnauthorized, "no token"), 401},
		{"role may not", store.Errorf(store.EForbidden, "not your org"), 403},
		{"A14 role may not", rule(store.EForbidden, "A14", "forbidden"), 403},
		{"not found", store.Errorf(store.ENotFound, "no such user"), 404},
		{"A1 not found", rule(store.EForbidden, "A1", "not_found"), 404},
		{"method", api.MethodNotAllowed("PUT"), 405},
		{"A10 last admin", rule(store.EForbidden, "A10", "last_admin"), 409},
		{"A12 duplicate", rule(store.EConflict, "A12", "duplicate"), 409},
		{"A12 as invalid", rule(store.EInvalid, "A12", "duplicate"), 409},
		{"A17 must-have", rule(store.EConflict, "A17", "must_have_role"), 409},
		{"C2 certificate_state", rule(store.EConflict, "C2", "certificate_state"), 409},
		{"duplicate without rule", store.RuleError(store.EConflict, "", "duplicate", "exists"), 409},
		{"too large", api.TooLarge(10, "body"), 413},
		{"store too large", &store.Error{Code: store.EInvalid, Reason: store.ReasonTooLarge}, 413},
		{"A11 escalation: the caller's role may not", rule(store.EForbidden, "A11", "escalation"), 403},
		{"A13 system group", rule(store.EForbidden, "A13", "system_group_immutable"), 422},
		{"A16 means", rule(store.EInvalid, "A16", "identification_means_not_allowed"), 422},
		{"L7", rule(store.EInvalid, "L7", "activation"), 422},
		{"rate limited", store.Errorf(store.ERateLimited, "slow down"), 429},
		{"rate limited reason", rule(store.EForbidden, "", api.ReasonRateLimited), 429},
		{"internal", store.Errorf(store.EInternal, "boom"), 500},
		{"plain error", errors.New("boom"), 500},
		{"fail closed", rule(store.EInternal, "fail_closed", "policy_error"), 500},
		{"store unavailable", rule(store.EInternal, "fail_closed", api.ReasonStoreUnavailable), 503},
		{"revision not reached", &store.Error{Code: store.EInternal, Reason: api.ReasonRevisionNotReached}, 503},
		{"decision log unavailable", &store.Error{Code: store.EInternal, Reason: pdp.ReasonDecisionLogUnavailable}, 503},
		{"unsupported encoding", &store.Error{Code: store.EInvalid, Reason: api.ReasonUnsupportedEncoding}, 415},
		{"insufficient storage", store.Errorf(store.EInsufficientStorage, "disk full"), 507},
		{"wrapped", fmt.Errorf("grant g1: %w", rule(store.EConflict, "A12", "duplicate")), 409},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := api.StatusOf(tc.err); got != tc.want {
				t.Errorf("StatusOf(%v) = %d, want %d", tc.err, got, tc.want)
			}
		})
	}
}

// TestWriteError checks the JSON shape and that internals and CPR numbers
// never reach the client.
func TestWriteError(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want api.ErrorDetail
	}{
		{"rule", store.RuleError(store.EConflict, "A12", "duplicate", "email in use"),
			api.ErrorDetail{Code: "duplicate", Message: "email in use", Rule: "A12"}},
		{"cpr masked", store.Errorf(store.EInvalid, "bad 0101901234"),
			api.ErrorDetail{Code: store.EInvalid, Message: "bad 010190-****"}},
		{"internal hidden", errors.New("badger: key 0101901234"),
			api.ErrorDetail{Code: store.EInternal, Message: "internal error"}},
		{"store unavailable told", &store.Error{Code: store.EInternal, Reason: api.ReasonStoreUnavailable, Message: "the store could not be read"},
			api.ErrorDetail{Code: api.ReasonStoreUnavailable, Message: "the store could not be read"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			api.WriteError(rec, tc.err)
			if rec.Code != api.StatusOf(tc.err) || rec.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("status %d, content type %q", rec.Code, rec.Header().Get("Content-Type"))
			}
			var body api.ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body.Error != tc.want {
				t.Errorf("detail = %+v, want %+v", body.Error, tc.want)
			}
		})
	}
}

// TestDecodeJSON refuses unknown fields, trailing data and big bodies as 400.
func TestDecodeJSON(t *testing.T) {
	cases := []struct {
		name, body string
		ok         bool
	}{
		{"ok", `{"a":"x"}`, true},
		{"unknown field", `{"b":1}`, false},
		{"trailing", `{"a":"x"} {}`, false},
		{"too big", `{"a":"` + strings.Repeat("x", api.MaxBody) + `"}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var v struct {
				A string `json:"a"`
			}
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
			err := api.DecodeJSON(httptest.NewRecorder(), r, &v)
			if (err == nil) != tc.ok || err != nil && api.StatusOf(err) != 400 {
				t.Errorf("err = %v (status %d), want ok=%v", err, api.StatusOf(err), tc.ok)
			}
		})
	}
}
