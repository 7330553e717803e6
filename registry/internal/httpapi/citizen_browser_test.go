package httpapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/civisens/civisens/internal/testinfra"
	"github.com/civisens/civisens/registry/internal/demo"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/internal/web"
)

// The citizens' side of the register in a real browser (Debian's
// chromium, headless): the public pages in French and in English, the
// list's filters and search, an entry, the language switch, the map and
// its markers, a report and its page found by number; axe-core on every
// public page type in both languages; and the same pages fetched with a
// plain HTTP client, as a browser without JavaScript gets them.
//
// Screenshots of every page the browser tests visit are written, always,
// to var/test-output/screenshots/ under the repository (gitignored).

// citizenServer serves the register of the demo town, on a real SQLite
// file, with no tile server (the map draws its markers on a blank
// background: nothing reaches the network) and the embedded Leaflet.
func citizenServer(t *testing.T) *httptest.Server {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if ok, err := demo.Seed(ctx, st); !ok || err != nil {
		t.Fatalf("seed: %v, %v", ok, err)
	}
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	if h, err = NewHandler(Deps{Sensors: st, PublicURL: srv.URL, Territory: demo.Territory(), Map: MapDeps{Tiles: ""}}); err != nil {
		t.Fatal(err)
	}
	return srv
}

// needLeaflet fails the test when the binary embeds no Leaflet: the map
// cannot be clicked without it, and a skipped map proves nothing.
func needLeaflet(t *testing.T) {
	t.Helper()
	v, err := web.EmbeddedVendor()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := v.Leaflet(); !ok {
		t.Fatal("Leaflet is not embedded: run make test (scripts/web-assets.sh vendors Leaflet into registry/internal/web/static/vendor/)")
	}
}

// screenshotDir is var/test-output/screenshots/ under the repository,
// created, with the PNG files of an earlier run of the same test (named
// prefix-…) removed.
func screenshotDir(t *testing.T, prefix string) string {
	t.Helper()
	dir := filepath.Join(testinfra.RepoRoot(t), "var", "test-output", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	old, err := filepath.Glob(filepath.Join(dir, prefix+"-*.png"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// citizen is a person reading the register in chromium.
type citizen struct {
	t      *testing.T
	ctx    context.Context
	base   string
	dir    string // screenshots
	prefix string // of the screenshots' names
	shots  int
}

func (c *citizen) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	browserDo(c.t, c.ctx, what, actions...)
}

func see[T any](c *citizen, what string, a chromedp.Action[T]) T {
	c.t.Helper()
	return browserRun(c.t, c.ctx, what, a)
}

// laptop and mobile set the viewport: a laptop's 1280 × 900 window, or
// the phone NewBrowser starts with.
func (c *citizen) laptop() {
	c.t.Helper()
	c.do("laptop viewport", chromedp.EmulateViewport(1280, 900, chromedp.EmulateScale(1)))
}

func (c *citizen) mobile() {
	c.t.Helper()
	c.do("phone viewport", chromedp.EmulateViewport(390, 844,
		chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(2)))
}

// open navigates to path and waits for ready.
func (c *citizen) open(path, ready string) {
	c.t.Helper()
	c.do("open "+path, chromedp.Navigate(c.base+path), chromedp.WaitVisible(chromedp.CSS(ready)))
}

// click clicks sel and waits until the page's address satisfies cond (a
// JavaScript expression over location) and ready is visible: the pages
// before and after a click often share their selectors.
func (c *citizen) click(sel, cond, ready string) {
	c.t.Helper()
	c.do("click "+sel, chromedp.Click(chromedp.CSS(sel)))
	c.waitFor(cond)
	c.do("after clicking "+sel, chromedp.WaitVisible(chromedp.CSS(ready)))
}

// waitFor waits until the JavaScript expression is true, the page loaded;
// it asks again while the browser is between two pages.
func (c *citizen) waitFor(cond string) {
	c.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	var err error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(c.ctx, time.Second)
		var ok bool
		ok, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`document.readyState === 'complete' && !!(`+cond+`)`))
		cancel()
		if err == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("wait for %s: %v", cond, err)
}

func (c *citizen) text(sel string) string {
	c.t.Helper()
	return strings.TrimSpace(see(c, "text of "+sel, chromedp.Text(chromedp.CSS(sel))))
}

// texts is the trimmed text of every element sel matches.
func (c *citizen) texts(sel string) []string {
	c.t.Helper()
	return see(c, "texts of "+sel, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll(`+jsString(sel)+`)).map(function (e) { return e.textContent.trim(); })`))
}

func (c *citizen) attr(sel, name string) string {
	c.t.Helper()
	return see(c, name+" of "+sel, chromedp.AttributeValue(chromedp.CSS(sel), name)).Value
}

func (c *citizen) location() *url.URL {
	c.t.Helper()
	loc := see(c, "location", chromedp.Location())
	u, err := url.Parse(loc)
	if err != nil {
		c.t.Fatal(err)
	}
	return u
}

func (c *citizen) lang() string {
	c.t.Helper()
	return see(c, "lang", chromedp.Evaluate[string](`document.documentElement.lang`))
}

// shot photographs the whole page as prefix-NN-name.png, and checks that
// the page does not scroll sideways.
func (c *citizen) shot(name string) {
	c.t.Helper()
	if fits := see(c, name+": width", chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`)); !fits {
		w := see(c, name+": width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
		c.t.Errorf("%s: the page scrolls sideways: %d px wide", name, w)
	}
	c.shots++
	png := see(c, name+": screenshot", chromedp.FullScreenshot(100))
	file := filepath.Join(c.dir, fmt.Sprintf("%s-%02d-%s.png", c.prefix, c.shots, name))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		c.t.Fatal(err)
	}
}

// popupShown is true once Leaflet's popup has faded in.
const popupShown = `getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'`

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`).Replace(s) + "'"
}

// keepsLang checks that every link of the site's navigation and footer
// that stays on the public pages carries lang=want.
func (c *citizen) keepsLang(step, want string) {
	c.t.Helper()
	if got := c.lang(); got != want {
		c.t.Errorf("%s: <html lang=%q>, want %q", step, got, want)
	}
	for _, sel := range []string{`header.site nav a[href^="/sensors"]`, `header.site nav a[href^="/map"]`, `footer.site a[href^="/about"]`, `footer.site a[href^="/reports"]`} {
		href := c.attr(sel, "href")
		u, err := url.Parse(href)
		if err != nil || u.Query().Get("lang") != want {
			c.t.Errorf("%s: %s links %q, want lang=%s kept", step, sel, href, want)
		}
	}
}

// TestCitizenUsesTheRegister: a citizen opens the home page in French,
// switches to English, filters the list, searches, opens an entry,
// switches back to French, opens the map and clicks a marker, follows its
// popup to the entry, reports an error in it and finds the report by its
// number; then the home page, the list and an entry on a phone.
func TestCitizenUsesTheRegister(t *testing.T) {
	started := time.Now()
	bctx := testinfra.NewBrowser(t, testinfra.BrowserOptions{Width: 1280, Height: 900, Scale: 1})
	needLeaflet(t)
	srv := citizenServer(t)
	c := &citizen{t: t, ctx: bctx, base: srv.URL, dir: screenshotDir(t, "citizen"), prefix: "citizen"}
	c.laptop()

	// 1. The home page, in French (the browser asks for French first).
	c.open("/", "main h1")
	if h := c.text("main h1"); h != "Registre public des capteurs" {
		t.Errorf("home h1 %q", h)
	}
	if n := c.text("main p strong"); n != "12 capteurs" {
		t.Errorf("home count %q, want 12 capteurs", n)
	}
	if counts := c.texts("ul.home-counts a"); !slices.Contains(counts, "Stationnement\u00a0: 4 capteurs") {
		t.Errorf("home counts by category: %q", counts)
	}
	if names := c.texts("ul.names a"); len(names) != 12 || !slices.Contains(names, "Qualité de l'air – avenue de la Gare") {
		t.Errorf("home names: %q, want the 12 entries", names)
	}
	c.keepsLang("home-fr", "fr")
	c.shot("home-fr")

	// 2. In English, by the language switch.
	c.click(`header.site a[hreflang="en"]`, `document.documentElement.lang === 'en'`, "main h1")
	if h := c.text("main h1"); h != "Public sensor register" {
		t.Errorf("home h1 in English %q", h)
	}
	if n := c.text("main p strong"); n != "12 sensors" {
		t.Errorf("home count %q, want 12 sensors", n)
	}
	c.keepsLang("home-en", "en")
	c.shot("home-en")

	// 3. The list, filtered on parking.
	c.click(`p.home-links a.button.primary`, `location.pathname === '/sensors'`, "table.sensors")
	if n := c.text("#results strong"); n != "12 sensors" {
		t.Errorf("list count %q", n)
	}
	if rows := c.texts("table.sensors tbody th[scope=row]"); len(rows) != 12 {
		t.Errorf("list rows %d, want 12", len(rows))
	}
	c.keepsLang("list-en", "en")
	c.shot("list-en")
	c.do("open the filters", chromedp.Click(chromedp.CSS("details.facets summary")), chromedp.WaitVisible(chromedp.CSS(`input[name=category][value=parking]`)))
	c.do("tick parking", chromedp.Click(chromedp.CSS(`input[name=category][value=parking]`)))
	c.click(`form.browse button[type=submit]`, `location.search.indexOf('category=parking') >= 0`, "table.sensors")
	if n := c.text("#results strong"); n != "4 sensors" {
		t.Errorf("parking: %q, want 4 sensors", n)
	}
	for _, cat := range c.texts("table.sensors tbody td:nth-of-type(1)") {
		if cat != "Parking" {
			t.Errorf("a row of category %q in the list filtered on parking", cat)
		}
	}
	if q := c.location().Query(); q.Get("lang") != "en" || q.Get("category") != "parking" {
		t.Errorf("filtered list at %s", c.location())
	}
	c.shot("list-en-parking")

	// 4. Search, within the filter.
	c.do("type gare", chromedp.SendKeys(chromedp.CSS("#q"), "gare"))
	c.click(`form.browse button[type=submit]`, `location.search.indexOf('q=gare') >= 0`, "table.sensors")
	if n := c.text("#results strong"); n != "2 sensors" {
		t.Errorf("parking + gare: %q, want 2 sensors", n)
	}
	rows := c.texts("table.sensors tbody th[scope=row]")
	if want := []string{"Parking – accessible bay, station car park", "Parking – station car park, bay 14"}; !slices.Equal(rows, want) {
		t.Errorf("parking + gare: rows %q, want %q", rows, want)
	}
	c.shot("list-en-parking-gare")

	// The language switch keeps the filters and the search.
	c.click(`header.site a[hreflang="fr"]`, `document.documentElement.lang === 'fr'`, "table.sensors")
	if q := c.location().Query(); q.Get("lang") != "fr" || q.Get("category") != "parking" || q.Get("q") != "gare" {
		t.Errorf("the language switch lost the filters: %s", c.location())
	}
	if n := c.text("#results strong"); n != "2 capteurs" {
		t.Errorf("parking + gare in French: %q", n)
	}
	c.keepsLang("list-fr", "fr")
	c.shot("list-fr-parking-gare")

	// 5. Back to English, an entry.
	c.click(`header.site a[hreflang="en"]`, `document.documentElement.lang === 'en'`, "table.sensors")
	c.click(`table.sensors a[href^="/sensors/parking-gare-01"]`, `location.pathname === '/sensors/parking-gare-01'`, "article.entry h1")
	if h := c.text("article.entry h1"); h != "Parking – station car park, bay 14" {
		t.Errorf("entry h1 %q", h)
	}
	sections := []string{"At a glance", "What it measures", "Why", "Who is accountable", "Can it identify you?", "Legal basis",
		"Retention and access", "Where is it?", "Technology", "Latest readings", "History of this entry", "Printable sign"}
	if h2 := c.texts("article.entry section > h2"); !slices.Equal(h2, sections) {
		t.Errorf("entry sections %q, want %q", h2, sections)
	}
	c.keepsLang("entry-en", "en")
	c.shot("entry-en")

	// 6. The entry in French.
	c.click(`header.site a[hreflang="fr"]`, `document.documentElement.lang === 'fr'`, "article.entry h1")
	if u := c.location(); u.Path != "/sensors/parking-gare-01" || u.Query().Get("lang") != "fr" {
		t.Errorf("the language switch left the entry: %s", u)
	}
	if h := c.text("article.entry h1"); h != "Stationnement – parking de la gare, place 14" {
		t.Errorf("entry h1 in French %q", h)
	}
	if h2 := c.texts("article.entry section > h2"); len(h2) != len(sections) || h2[0] != "En bref" {
		t.Errorf("entry sections in French %q", h2)
	}
	c.keepsLang("entry-fr", "fr")
	c.shot("entry-fr")

	// 7. The map, from the site's menu: a marker per placed entry, a
	// legend; a click on a marker opens its popup, whose link leads to
	// the entry.
	c.click(`header.site nav a[href^="/map"]`, `location.pathname === '/map'`, "#map[data-map-ready]")
	if h := c.text("main h1"); h != "Carte des capteurs" {
		t.Errorf("map h1 %q", h)
	}
	ready := c.attr("#map", "data-map-ready")
	markers := see(c, "markers", chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('.leaflet-marker-icon.map-marker')).map(function (m) { return m.getAttribute('data-sensor'); })`))
	if len(markers) == 0 || ready != fmt.Sprint(len(markers)) {
		t.Errorf("map: data-map-ready=%q, %d markers", ready, len(markers))
	}
	if !slices.Contains(markers, "air-mairie-01") {
		t.Fatalf("map: no marker for air-mairie-01 among %q", markers)
	}
	if s := c.text("#map-summary"); s == "" {
		t.Error("map: no summary")
	}
	if legend := c.texts("#map-legend li"); len(legend) != 5 {
		t.Errorf("map legend %q", legend)
	}
	if rows := c.texts("table.sensors tbody th[scope=row]"); len(rows) != 12 {
		t.Errorf("map: the table lists %d entries, want 12", len(rows))
	}
	c.keepsLang("map-fr", "fr")
	c.shot("map-fr")
	marker := `.leaflet-marker-icon.map-marker[data-sensor="air-mairie-01"]`
	if label := c.attr(marker, "aria-label"); label != "Qualité de l'air – place de l'Hôtel-de-Ville – Aucune donnée personnelle – lettre 0" {
		t.Errorf("marker's name %q", label)
	}
	c.do("click the marker", chromedp.ScrollIntoView(chromedp.CSS(marker)), chromedp.Click(chromedp.CSS(marker)),
		chromedp.WaitVisible(chromedp.CSS(".leaflet-popup .map-popup-link")))
	c.waitFor(popupShown)
	if name := c.text(".leaflet-popup .map-popup-link"); name != "Qualité de l'air – place de l'Hôtel-de-Ville" {
		t.Errorf("popup's link %q", name)
	}
	if focused := see(c, "focus", chromedp.Evaluate[bool](`document.activeElement === document.querySelector('.leaflet-popup .map-popup-link')`)); !focused {
		t.Error("the popup's link does not take the focus")
	}
	c.shot("map-fr-popup")
	c.click(".leaflet-popup .map-popup-link", `location.pathname === '/sensors/air-mairie-01'`, "article.entry h1")
	if h := c.text("article.entry h1"); h != "Qualité de l'air – place de l'Hôtel-de-Ville" || c.location().Query().Get("lang") != "fr" {
		t.Errorf("the popup led to %s, %q", c.location(), h)
	}
	c.shot("entry-fr-from-map")

	// 8. Report an error in this entry; the thank-you page gives a number.
	c.click(`p.report-links a[href^="/reports/new"]`, `location.pathname === '/reports/new'`, "form.report-form")
	if sel := see(c, "preselected sensor", chromedp.Evaluate[string](`document.getElementById('rep-sensor').value`)); sel != "air-mairie-01" {
		t.Errorf("the form preselects %q, want air-mairie-01", sel)
	}
	if checked := see(c, "kind", chromedp.Evaluate[bool](`document.getElementById('rep-kind-wrong_information').checked`)); !checked {
		c.do("choose the kind", chromedp.Click(chromedp.CSS("#rep-kind-wrong_information")))
	}
	c.do("write the message", chromedp.SendKeys(chromedp.CSS("#rep-message"), "Le capteur a été déplacé devant la poste."))
	c.shot("report-form-fr")
	c.click(`form.report-form button[type=submit]`, `location.pathname === '/reports'`, ".report-number")
	if h := c.text("main h1"); h != "Merci, votre signalement est enregistré" {
		t.Errorf("after filing: %q", h)
	}
	number := c.text(".report-number")
	if !regexp.MustCompile(`^\d{4}-\d{6}$`).MatchString(number) {
		t.Fatalf("report number %q", number)
	}
	c.shot("report-thanks-fr")

	// 9. Find it by its number, from the form's "follow a report" link.
	c.open("/reports/new?lang=fr", "form.report-form")
	c.click(`main a[href^="/reports?"]`, `location.pathname === '/reports' && !!document.getElementById('follow-number')`, "#follow-number")
	c.shot("report-follow-fr")
	c.do("type the number", chromedp.SendKeys(chromedp.CSS("#follow-number"), number))
	c.click(`main form button[type=submit]`, `location.pathname === '/reports/`+number+`'`, "article.report h1")
	if h := c.text("article.report h1"); h != "Signalement n° "+number {
		t.Errorf("report page h1 %q", h)
	}
	if s := c.text("article.report .badges .status"); s == "" {
		t.Error("the report page shows no status")
	}
	if href := c.attr(`article.report dd a[href^="/sensors/"]`, "href"); !strings.HasPrefix(href, "/sensors/air-mairie-01") {
		t.Errorf("the report page links %q, want the entry", href)
	}
	if page := see(c, "page", chromedp.OuterHTML(chromedp.CSS("html"))); strings.Contains(page, "déplacé devant la poste") {
		t.Error("the report page shows the message")
	}
	c.keepsLang("report-fr", "fr")
	c.shot("report-fr")

	// 10. The about page, from the footer.
	c.click(`footer.site a[href^="/about"]`, `location.pathname === '/about'`, "main h1")
	if h := c.text("main h1"); h != "À propos du registre" {
		t.Errorf("about h1 %q", h)
	}
	c.shot("about-fr")

	// 11. On a phone: the home page, a search from it, the list and an
	// entry, in both languages; none scrolls sideways.
	c.mobile()
	c.open("/?lang=fr", "main h1")
	c.shot("phone-home-fr")
	c.do("search école", chromedp.SendKeys(chromedp.CSS("form.home-search #q"), "école"))
	c.click(`form.home-search button[type=submit]`, `location.pathname === '/sensors'`, "#results")
	rows = c.texts("table.sensors tbody th[scope=row]")
	if !slices.Contains(rows, "Qualité de l'air – école Jules-Ferry") || len(rows) != 2 {
		t.Errorf("search école: %q", rows)
	}
	if q := c.location().Query(); q.Get("q") != "école" || q.Get("lang") != "fr" {
		t.Errorf("search at %s", c.location())
	}
	c.shot("phone-list-fr-ecole")
	c.open("/?lang=en", "main h1")
	c.shot("phone-home-en")
	c.open("/sensors?lang=en", "table.sensors")
	c.shot("phone-list-en")
	c.open("/sensors/air-gare-01?lang=en", "article.entry h1")
	c.shot("phone-entry-en")
	c.open("/map?lang=en", "#map[data-map-ready]")
	c.shot("phone-map-en")

	t.Logf("citizen browser test: %v, %d screenshots in %s", time.Since(started).Round(time.Millisecond), c.shots, c.dir)
}

// axeViolation is what the test reads of axe-core's result.
type axeViolation struct {
	ID, Impact, Help, HelpURL string
	Nodes                     []struct {
		Target  []any
		Summary string
	}
}

// axeScript runs axe-core (injected before) on the page, on the WCAG 2.0
// and 2.1 A and AA rules, and returns its violations.
const axeScript = `axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}}).then(function (r) {
  return r.violations.map(function (v) {
    return {ID: v.id, Impact: v.impact || '', Help: v.help, HelpURL: v.helpUrl,
      Nodes: v.nodes.map(function (n) { return {Target: n.target, Summary: n.failureSummary || ''}; })};
  });
})`

// TestCitizenPagesPassAxe runs axe-core on every public page type,
// in French and in English, on a laptop's viewport and on a phone's (the
// home page and the list), and fails on any serious or critical
// violation.
func TestCitizenPagesPassAxe(t *testing.T) {
	started := time.Now()
	axeFile := filepath.Join(testinfra.RepoRoot(t), "var", "vendor", "axe.min.js")
	bctx := testinfra.NewBrowser(t, testinfra.BrowserOptions{Width: 1280, Height: 900, Scale: 1})
	axeJS, err := os.ReadFile(axeFile)
	if err != nil {
		t.Fatalf("axe-core: %v: run make test (scripts/web-assets.sh copies axe-core)", err)
	}
	needLeaflet(t)
	srv := citizenServer(t)
	c := &citizen{t: t, ctx: bctx, base: srv.URL, dir: screenshotDir(t, "axe"), prefix: "axe"}
	c.laptop()

	// A report to show, filed by the plain client.
	number := fileReport(t, srv.URL, "fr")

	type page struct{ name, path, ready string }
	pages := func(lang string) []page {
		return []page{
			{"home", "/?lang=" + lang, "main h1"},
			{"list", "/sensors?lang=" + lang, "table.sensors"},
			{"list-filtered", "/sensors?lang=" + lang + "&category=parking&ident=no_personal_data&q=gare&sort=changed&order=desc&per=10", "table.sensors"},
			{"list-none", "/sensors?lang=" + lang + "&q=introuvable&category=xyz", "#results"},
			{"entry", "/sensors/air-gare-01?lang=" + lang, "article.entry"},
			{"entry-parking", "/sensors/parking-gare-01?lang=" + lang, "article.entry"},
			{"map", "/map?lang=" + lang, "#map[data-map-ready]"},
			{"map-filtered", "/map?lang=" + lang + "&category=air", "#map[data-map-ready]"},
			{"about", "/about?lang=" + lang, "main h1"},
			{"report-form", "/reports/new?lang=" + lang, "form.report-form"},
			{"report-follow", "/reports?lang=" + lang, "#follow-number"},
			{"report", "/reports/" + number + "?lang=" + lang, "article.report"},
			{"notfound", "/sensors/inconnu-01?lang=" + lang, "main h1"},
		}
	}
	check := func(step string) {
		t.Helper()
		c.do(step+": inject axe-core", chromedp.Evaluate[chromedp.Void](string(axeJS)))
		vs := see(c, step+": axe.run", chromedp.Evaluate[[]axeViolation](axeScript, chromedp.EvalAwaitPromise))
		for _, v := range vs {
			var where []string
			for _, n := range v.Nodes {
				where = append(where, fmt.Sprint(n.Target)+": "+strings.ReplaceAll(n.Summary, "\n", " "))
			}
			msg := fmt.Sprintf("%s: axe %s (%s): %s — %s\n\tat %s", step, v.ID, v.Impact, v.Help, v.HelpURL, strings.Join(where, "\n\tat "))
			if v.Impact == "serious" || v.Impact == "critical" {
				t.Error(msg)
			} else {
				t.Log(msg)
			}
		}
		c.shot(step)
	}
	for _, lang := range []string{"fr", "en"} {
		for _, p := range pages(lang) {
			c.open(p.path, p.ready)
			check(p.name + "-" + lang)
		}
		// The map with a marker's popup open.
		c.open("/map?lang="+lang, "#map[data-map-ready]")
		c.do("open a popup", chromedp.Click(chromedp.CSS(`.leaflet-marker-icon.map-marker[data-sensor="air-mairie-01"]`)),
			chromedp.WaitVisible(chromedp.CSS(".leaflet-popup .map-popup-link")))
		// Leaflet fades the popup in: axe reads colours once it is opaque.
		c.waitFor(popupShown)
		check("map-popup-" + lang)
		// The report form sent with errors: no kind would be refused by
		// the browser (required), a message too short by the server.
		c.open("/reports/new?lang="+lang, "form.report-form")
		c.do("a report too short", chromedp.Click(chromedp.CSS("#rep-kind-question")), chromedp.SendKeys(chromedp.CSS("#rep-message"), "abc"))
		c.click(`form.report-form button[type=submit]`, `!!document.getElementById('error-summary')`, "#error-summary")
		check("report-form-errors-" + lang)
		// The thank-you page.
		c.open("/reports/new?lang="+lang, "form.report-form")
		c.do("a report", chromedp.Click(chromedp.CSS("#rep-kind-question")), chromedp.SendKeys(chromedp.CSS("#rep-message"), "Qui relève les mesures ?"))
		c.click(`form.report-form button[type=submit]`, `!!document.querySelector('.report-number')`, ".report-number")
		check("report-thanks-" + lang)
		// The home page and the list on a phone.
		c.mobile()
		c.open("/?lang="+lang, "main h1")
		check("phone-home-" + lang)
		c.open("/sensors?lang="+lang+"&category=air", "table.sensors")
		check("phone-list-" + lang)
		c.laptop()
	}
	t.Logf("axe-core on %d pages: %v", c.shots, time.Since(started).Round(time.Millisecond))
}

// fileReport files a question through the form's route, as a browser
// without JavaScript does, and returns its number.
func fileReport(t *testing.T, base, lang string) string {
	t.Helper()
	res, err := http.PostForm(base+"/reports?lang="+lang, url.Values{"kind": {"question"}, "message": {"Qui relève les mesures de ce capteur ?"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("POST /reports: %d\n%s", res.StatusCode, body)
	}
	m := regexp.MustCompile(`<strong class="report-number">(\d{4}-\d{6})</strong>`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("POST /reports: no number in\n%s", body)
	}
	return string(m[1])
}

// TestPagesWorkWithoutJavaScript fetches every public page type, in
// French and in English, with a plain HTTP client — no script runs — and
// finds its content in the HTML.
func TestPagesWorkWithoutJavaScript(t *testing.T) {
	srv := citizenServer(t)
	get := func(path string) string {
		t.Helper()
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, res.StatusCode)
		}
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("GET %s: Content-Type %q", path, ct)
		}
		return string(body)
	}
	contains := func(path, page string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(page, w) {
				t.Errorf("GET %s: %q is not in the page", path, w)
			}
		}
	}
	esc := func(s string) string { return strings.ReplaceAll(s, "'", "&#39;") }
	type words struct {
		count, parking, nojs, about, report, follow, reportTitle, home string
		sections                                                       []string
	}
	lang := map[string]words{
		"fr": {count: "<strong>12 capteurs</strong>", parking: "4 capteurs", nojs: "La carte a besoin de JavaScript : voici la liste des mêmes capteurs.",
			about: "À propos du registre", report: "Signaler", follow: "Suivre un signalement", reportTitle: "Signalement n° ", home: "Registre public des capteurs",
			sections: []string{"En bref", "Pourquoi"}},
		"en": {count: "<strong>12 sensors</strong>", parking: "4 sensors", nojs: "The map needs JavaScript: here is the list of the same sensors.",
			about: "About this register", report: "Report", follow: "Follow a report", reportTitle: "Report no. ", home: "Public sensor register",
			sections: []string{"At a glance", "Why"}},
	}
	sensors := demo.Sensors()
	for _, l := range []string{"fr", "en"} {
		w := lang[l]
		t.Run(l, func(t *testing.T) {
			// The home page: the count and every entry's name.
			p := "/?lang=" + l
			page := get(p)
			contains(p, page, `<html lang="`+l+`">`, "<h1>"+w.home+"</h1>", w.count)
			for _, s := range sensors {
				contains(p, page, esc(s.Name.In(l)))
			}
			// The list, filtered: the parking rows, and no other.
			p = "/sensors?lang=" + l + "&category=parking"
			page = get(p)
			contains(p, page, "<strong>"+w.parking+"</strong>", `<table class="sensors">`)
			for _, s := range sensors {
				row := `<th scope="row"><a href="/sensors/` + s.ID + `?lang=` + l + `">`
				if s.Category == "parking" != strings.Contains(page, row) {
					t.Errorf("GET %s: row of %s (%s): shown %v", p, s.ID, s.Category, strings.Contains(page, row))
				}
			}
			// A search.
			p = "/sensors?lang=" + l + "&q=gare"
			page = get(p)
			contains(p, page, `href="/sensors/air-gare-01?lang=`+l+`"`, `href="/sensors/parking-gare-01?lang=`+l+`"`)
			// Entries: their sections.
			for _, s := range sensors {
				p = "/sensors/" + s.ID + "?lang=" + l
				page = get(p)
				contains(p, page, "<h1>"+esc(s.Name.In(l))+"</h1>")
				for _, id := range []string{"summary", "what", "why", "who", "ident", "legal", "data", "where", "tech", "readings", "history", "sign"} {
					contains(p, page, `<section aria-labelledby="`+id+`">`)
				}
				contains(p, page, w.sections...)
			}
			// The map: the table of the entries and the noscript sentence.
			p = "/map?lang=" + l
			page = get(p)
			contains(p, page, "<noscript><p class=\"map-note\">"+w.nojs+"</p></noscript>", `<table class="sensors">`)
			for _, s := range sensors {
				contains(p, page, `<a href="/sensors/`+s.ID+`?lang=`+l+`">`+esc(s.Name.In(l))+`</a>`)
			}
			// About.
			p = "/about?lang=" + l
			contains(p, get(p), "<h1>"+w.about+"</h1>", `id="rights"`)
			// The report form, a report filed without script, its page,
			// and the follow form that finds it by number.
			p = "/reports/new?lang=" + l
			contains(p, get(p), "<h1>"+w.report+"</h1>", `<form method="post" action="/reports?lang=`+l+`"`, `name="kind" value="missing_sensor"`, `name="message"`)
			number := fileReport(t, srv.URL, l)
			p = "/reports?lang=" + l
			contains(p, get(p), "<h1>"+w.follow+"</h1>", `id="follow-number"`)
			p = "/reports?lang=" + l + "&number=" + number
			contains(p, get(p), "<h1>"+w.reportTitle+number+"</h1>")
			p = "/reports/" + number + "?lang=" + l
			contains(p, get(p), "<h1>"+w.reportTitle+number+"</h1>", `id="history"`)
		})
	}
}
