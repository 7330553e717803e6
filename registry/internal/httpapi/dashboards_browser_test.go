package httpapi

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/civisens/civisens/internal/testinfra"
	"github.com/civisens/civisens/registry/internal/auth"
	"github.com/civisens/civisens/registry/internal/web"
)

// TestDashboardsInABrowser: an energy manager signs in and opens every
// dashboard in Debian's chromium, on a laptop and on a tablet; on each,
// sees a figure of the seeded data, changes the period with a preset,
// downloads a CSV (fetched by the page's own session) and finds the same
// figures in it; axe-core finds no serious or critical violation, in
// French and in English. Screenshots in var/test-output/screenshots/.
func TestDashboardsInABrowser(t *testing.T) {
	started := time.Now()
	bctx := testinfra.NewBrowser(t, testinfra.BrowserOptions{Width: 1280, Height: 900, Scale: 1})
	axeJS, err := os.ReadFile(filepath.Join(testinfra.RepoRoot(t), "var", "vendor", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core: %v: run make test (scripts/web-assets.sh copies axe-core)", err)
	}
	e := newDashEnv(t)
	e.account("gestionnaire", "Gestionnaire énergie", auth.RoleEnergyManager, "un mot de passe assez long")
	srv := httptest.NewServer(e.h)
	t.Cleanup(srv.Close)
	c := &citizen{t: t, ctx: bctx, base: srv.URL, dir: screenshotDir(t, "dashboards"), prefix: "dashboards"}
	c.laptop()

	// Signing in, as energy managers do.
	c.open(web.LoginPath+"?lang=fr", "#login-username")
	c.do("sign in", chromedp.SendKeys(chromedp.CSS("#login-username"), "gestionnaire"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), "un mot de passe assez long"))
	c.click(`form button[type=submit]`, `!location.pathname.startsWith('/login')`, "main h1")

	axe := func(step string) {
		t.Helper()
		c.do(step+": inject axe-core", chromedp.Evaluate[chromedp.Void](string(axeJS)))
		for _, v := range see(c, step+": axe.run", chromedp.Evaluate[[]axeViolation](axeScript, chromedp.EvalAwaitPromise)) {
			var where []string
			for _, n := range v.Nodes {
				where = append(where, fmt.Sprint(n.Target))
			}
			msg := fmt.Sprintf("%s: axe %s (%s): %s at %s", step, v.ID, v.Impact, v.Help, strings.Join(where, ", "))
			if v.Impact == "serious" || v.Impact == "critical" {
				t.Error(msg)
			} else {
				t.Log(msg)
			}
		}
	}
	// csvOf downloads the page's first CSV with the browser's session
	// cookie (the pages' Content-Security-Policy forbids scripts to
	// fetch), and parses it.
	csvOf := func(step string) [][]string {
		t.Helper()
		href := c.attr(`a[type="text/csv"]`, "href")
		cookies := see(c, step+": cookies", chromedp.Action[[]*network.Cookie](func(ctx context.Context, tg *chromedp.Target) ([]*network.Cookie, error) {
			r, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{})
			if err != nil {
				return nil, err
			}
			return r.Cookies, nil
		}))
		req, err := http.NewRequest(http.MethodGet, srv.URL+href, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, ck := range cookies {
			req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("%s: GET %s: %s %s\n%s", step, href, resp.Status, resp.Header.Get("Content-Type"), body)
		}
		recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(body), "\ufeff"))).ReadAll()
		if err != nil || len(recs) < 2 {
			t.Fatalf("%s: the CSV does not parse or is empty: %v\n%s", step, err, body)
		}
		return recs
	}
	has := func(recs [][]string, cells ...string) bool {
		for _, r := range recs {
			joined := "\x00" + strings.Join(r, "\x00") + "\x00"
			ok := true
			for _, c := range cells {
				ok = ok && strings.Contains(joined, "\x00"+c+"\x00")
			}
			if ok {
				return true
			}
		}
		return false
	}

	for _, d := range []struct {
		name, path, figure string
		csv                []string // cells of one row of the first CSV
	}{
		{"energy", "/dashboards/energy?from=2026-11-12&to=2026-11-12", "48", []string{"2026-11-12"}},
		{"tertiary", "/dashboards/tertiary", "hotel-de-ville", []string{"hotel-de-ville"}},
		{"air", "/dashboards/air?from=2026-11-10&to=2026-11-10", "PM10", []string{"2026-11-10", "dégradé", "pm10"}},
		{"parking", "/dashboards/parking?from=2026-11-10&to=2026-11-10", "75", nil},
		{"lighting", "/dashboards/lighting?from=2026-11-10&to=2026-11-10", "armoire-03", []string{"armoire-03"}},
	} {
		c.open(d.path, "main h1")
		if body := c.text("main"); !strings.Contains(body, d.figure) {
			t.Errorf("%s: the page does not show %q:\n%s", d.name, d.figure, body)
		}
		if n := len(c.texts("figure.chart svg[role=img] title")) + len(c.texts("table.dash-table caption")); n == 0 {
			t.Errorf("%s: no chart and no table", d.name)
		}
		c.shot(d.name + "-fr")
		axe(d.name + "-fr")
		recs := csvOf(d.name)
		if d.csv != nil && !has(recs, d.csv...) {
			t.Errorf("%s: the CSV has no row with %q: %v", d.name, d.csv, recs)
		}
		// Another period: the "last 7 days" preset.
		before := c.attr("#dash-from", "value")
		c.click(`ul.dash-presets li:nth-child(2) a`, `location.search.indexOf('from=') >= 0`, "main h1")
		if after := c.attr("#dash-from", "value"); after == before || after == "" {
			t.Errorf("%s: the preset left the period at %q", d.name, after)
		}
		c.shot(d.name + "-preset")
		// In English, on a tablet.
		c.do("tablet viewport", chromedp.EmulateViewport(820, 1180, chromedp.EmulateScale(1)))
		c.open(strings.Replace(d.path, "?", "?lang=en&", 1)+map[bool]string{true: "", false: "?lang=en"}[strings.Contains(d.path, "?")], "main h1")
		if c.lang() != "en" {
			t.Errorf("%s: not in English", d.name)
		}
		c.shot(d.name + "-en-tablet")
		axe(d.name + "-en")
		c.laptop()
	}
	c.open("/dashboards?lang=fr", "main h1")
	c.shot("index")
	axe("index-fr")
	t.Logf("%d dashboard views: %v", c.shots, time.Since(started).Round(time.Millisecond))
}
