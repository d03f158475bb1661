package console_test

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// axeSource is axe-core from the npm registry (testdata/README.md).
//
//go:embed testdata/axe.min.js
var axeSource string

// browserCtx starts Debian's chromium headless (--no-sandbox as root).
// Missing chromium fails: make test installs it (the Makefile's
// chromium target); ADGANG_SKIP_BROWSER=1 skips on a machine that has none.
func browserCtx(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("the browser tests run once, without -race, in make test's console step")
	}
	path := ""
	// Debian's /usr/bin/chromium is a shell wrapper that loses chromedp's
	// pipe; the binary behind it is used directly.
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/lib/chromium/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p == "" {
			continue
		}
		if lp, err := exec.LookPath(p); err == nil {
			path = lp
			break
		}
	}
	if path == "" {
		if os.Getenv("ADGANG_SKIP_BROWSER") == "1" {
			t.Skip("no chromium and ADGANG_SKIP_BROWSER=1")
		}
		t.Fatal("chromium is needed for the console tests: `make chromium` installs Debian's package")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path),
		chromedp.WindowSize(1280, 900), chromedp.Flag("lang", "da-DK"))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	// axe is injected by the test, not by the page: let the test's own
	// script run under the page's CSP (which allows no script at all).
	if _, err := chromedp.Call(ctx, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// step is one browser action without a value.
type step = chromedp.Action[chromedp.Void]

// run runs browser steps and fails the test with what the page showed.
func run(t *testing.T, ctx context.Context, steps ...step) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		fatalPage(t, ctx, err)
	}
}

// value runs one action with a value.
func value[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(sctx, a)
	if err != nil {
		fatalPage(t, ctx, err)
	}
	return v
}

// stepTimeout bounds one group of browser steps.
const stepTimeout = 20 * time.Second

func fatalPage(t *testing.T, ctx context.Context, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	t.Fatalf("browser: %v\nat %s\n%s", err, loc, body)
}

// js runs a script for its effect.
func js(expr string) step {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Evaluate[any]("(() => { "+expr+"; return true })()")(ctx, t)
		return chromedp.Void{}, err
	}
}

// css is a CSS selector.
func css(s string) chromedp.CSS { return chromedp.CSS(s) }

// submit clicks sel and waits for the next page's want (the old page is
// marked so that a selector it also has cannot match).
func submit(sel, want string) step {
	return chromedp.Steps(
		js(`document.documentElement.dataset.old = "1"`),
		chromedp.Click(css(sel)),
		chromedp.WaitVisible(css(`html:not([data-old]) `+want)),
	)
}

// axeViolation is one axe-core finding.
type axeViolation struct {
	ID, Impact, Help string
	Nodes            []struct {
		Target []any `json:"target"`
	}
}

// checkAxe runs axe-core's WCAG 2.1 A and AA rules in the current page:
// 0 violations.
func checkAxe(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	for _, v := range axeViolations(t, ctx, name) {
		t.Errorf("axe on %s: %s (%s): %s at %v", name, v.ID, v.Impact, v.Help, v.Nodes)
	}
	if dir := os.Getenv("ADGANG_SCREENSHOTS"); dir != "" {
		png := value(t, ctx, chromedp.FullScreenshot(100))
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// axeViolations runs axe-core in the current page.
func axeViolations(t *testing.T, ctx context.Context, name string) []axeViolation {
	t.Helper()
	run(t, ctx, js(axeSource))
	res := value(t, ctx, chromedp.Evaluate[string](`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
			.then(r => JSON.stringify({violations: r.violations, passes: r.passes.length}))`, chromedp.EvalAwaitPromise))
	var out struct {
		Violations []axeViolation
		Passes     int
	}
	if err := json.Unmarshal([]byte(res), &out); err != nil {
		t.Fatalf("axe on %s: %v", name, err)
	}
	if out.Passes == 0 {
		t.Fatalf("axe on %s checked nothing", name)
	}
	return out.Violations
}

// TestConsoleAxeFindsViolations: the accessibility check can fail — a
// page with an unlabelled field and low contrast gets violations.
func TestConsoleAxeFindsViolations(t *testing.T) {
	ctx := browserCtx(t)
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><html><head><title>x</title></head><body><main>` +
			`<input type="text" name="q"><p style="color:#ccc;background:#fff">faint</p></main></body></html>`))
	}))
	defer bad.Close()
	run(t, ctx, chromedp.Navigate(bad.URL), chromedp.WaitVisible(css("input")))
	ids := map[string]bool{}
	for _, v := range axeViolations(t, ctx, "bad") {
		ids[v.ID] = true
	}
	for _, want := range []string{"label", "color-contrast", "html-has-lang"} {
		if !ids[want] {
			t.Errorf("axe missed %s (found %v)", want, ids)
		}
	}
}

const (
	demoOrg   = "12345674"
	demoP1    = "1000000001"
	demoAlice = "6f1c1a52-7d2c-4a55-9b0e-2a1f3c4d5e61"
)

// TestConsoleFlows drives the console in a real browser through the
// issue's flows; each checks the resulting state through the admin API.
func TestConsoleFlows(t *testing.T) {
	ctx := browserCtx(t)
	st := startStack(t)
	base := st.admin + "/console/"
	var evaID string

	t.Run("sign in", func(t *testing.T) {
		run(t, ctx, chromedp.Navigate(base), chromedp.WaitVisible(css("form#login")))
		checkAxe(t, ctx, "login")
		run(t, ctx, chromedp.SendKeys(css("#token"), st.token), submit("#signin", "table#orgs"))
		checkAxe(t, ctx, "orgs")
	})
	t.Run("search a user by name part", func(t *testing.T) {
		run(t, ctx, chromedp.Navigate(base+"orgs/"+demoOrg+"/users"), chromedp.WaitVisible(css("form#search")),
			chromedp.SendKeys(css("#q"), "lic"), submit("#search-submit", `tr[data-user-id="`+demoAlice+`"]`))
		n := value(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("table#users tr[data-user-id]").length`))
		if n != 1 {
			t.Errorf("searching %q shows %d users, want Alice alone", "lic", n)
		}
		checkAxe(t, ctx, "users")
	})
	t.Run("create a user", func(t *testing.T) {
		run(t, ctx, chromedp.Navigate(base+"orgs/"+demoOrg+"/users/new"), chromedp.WaitVisible(css("form#newuser")))
		checkAxe(t, ctx, "newuser")
		run(t, ctx, chromedp.SendKeys(css("#name"), "Eva Eriksen"),
			chromedp.SendKeys(css("#email"), "eva@demo-gym.example"),
			chromedp.SetValue(css("#p_number"), demoP1),
			submit("#create", "#notice"))
		loc := value(t, ctx, chromedp.Location())
		evaID = loc[strings.LastIndex(loc, "/")+1:]
		code, ans := st.api(t, st.token, http.MethodGet, "/v1/users/"+evaID, nil)
		if code != 200 || ans["user"].(map[string]any)["name"] != "Eva Eriksen" {
			t.Fatalf("the API has no Eva at %s: %d %v", evaID, code, ans)
		}
		checkAxe(t, ctx, "user")
	})
	t.Run("grant a right on one P-unit", func(t *testing.T) {
		run(t, ctx, chromedp.Navigate(base+"users/"+evaID), chromedp.WaitVisible(css("form#grant")),
			chromedp.SetValue(css("#right"), "eksamensdatabasen.view"),
			chromedp.Click(css("#scope-p")),
			js(`document.querySelector('#p_numbers option[value="`+demoP1+`"]').selected = true`),
			submit("#grant-submit", `tr[data-right="eksamensdatabasen.view"][data-scope="p:`+demoP1+`"]`))
		_, ans := st.api(t, st.token, http.MethodGet, "/v1/users/"+evaID+"/grants", nil)
		gs, _ := ans["grants"].([]any)
		if len(gs) != 1 || gs[0].(map[string]any)["scope"].(map[string]any)["value"] != demoP1 {
			t.Errorf("the API's grants of Eva: %v", ans)
		}
	})
	t.Run("LSS is refused with A3", func(t *testing.T) {
		run(t, ctx, chromedp.Navigate(base+"users/"+evaID), chromedp.WaitVisible(css("form#grant")),
			chromedp.SetValue(css("#right"), "amp.lss"), chromedp.Click(css("#scope-cvr")),
			submit("#grant-submit", "#error"))
		msg := value(t, ctx, chromedp.Text(css("#error")))
		if !strings.HasPrefix(strings.TrimSpace(msg), "A3:") {
			t.Errorf("the refusal shows %q, want the rule A3 and its message", msg)
		}
		_, ans := st.api(t, st.token, http.MethodGet, "/v1/users/"+evaID+"/grants", nil)
		if gs, _ := ans["grants"].([]any); len(gs) != 1 {
			t.Errorf("after the refusal Eva has %d grants, want 1", len(gs))
		}
	})
	t.Run("accept a knock", func(t *testing.T) { acceptKnock(t, ctx, st, base) })
	t.Run("CSV dry run then commit", func(t *testing.T) { importFlow(t, ctx, st, base) })
	t.Run("deactivate with an end date", func(t *testing.T) {
		run(t, ctx, chromedp.Navigate(base+"users/"+evaID), chromedp.WaitVisible(css("form#status-form")),
			chromedp.SetValue(css("#until"), "2027-06-30"),
			submit("#deactivate", `#user-status[data-status="deactivated"]`))
		_, ans := st.api(t, st.token, http.MethodGet, "/v1/users/"+evaID, nil)
		u := ans["user"].(map[string]any)
		if u["status"] != "deactivated" || !strings.HasPrefix(fmt.Sprint(u["deactivated_until"]), "2027-06-") {
			t.Errorf("the API says status %v until %v", u["status"], u["deactivated_until"])
		}
	})
	t.Run("read the history", func(t *testing.T) {
		run(t, ctx, chromedp.Navigate(base+"users/"+evaID), chromedp.WaitVisible(css("form#history-filter")),
			chromedp.SetValue(css("#type"), "grant.create"),
			submit("#history-submit", `table#history tr[data-type]`))
		types := value(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("table#history tr[data-type]")].map(r => r.dataset.type)`))
		if len(types) != 1 || types[0] != "grant.create" {
			t.Errorf("history filtered by grant.create shows %v", types)
		}
	})
	t.Run("other pages", func(t *testing.T) {
		for _, p := range []struct{ path, sel, name string }{
			{"orgs/" + demoOrg + "/groups", "table#groups", "groups"},
			{"groups/7d3e2f1a-0b9c-4d8e-9f6a-5b4c3d2e1f05", "table#members", "group"},
			{"orgs/" + demoOrg + "/activity?not_since=2030-01-01", "table#activity", "activity"},
			{"orgs/" + demoOrg + "/certificates", "table#certificates", "certificates"},
			{"orgs/" + demoOrg + "/settings", "form#settings", "settings"},
			{"orgs/" + demoOrg + "/users?lang=en", "table#users", "users-en"},
		} {
			run(t, ctx, chromedp.Navigate(base+p.path), chromedp.WaitVisible(css(p.sel)))
			checkAxe(t, ctx, p.name)
		}
		run(t, ctx, chromedp.Navigate(base+"orgs/"+demoOrg+"/users?lang=da"), chromedp.WaitVisible(css("table#users")))
	})
	t.Run("a user-admin sees the org settings read-only", func(t *testing.T) { userAdminSettings(t, ctx, st, base) })
}
