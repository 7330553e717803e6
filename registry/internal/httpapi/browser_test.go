package httpapi

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"github.com/civisens/civisens/internal/testinfra"
	"github.com/civisens/civisens/registry/internal/auth"
	"github.com/civisens/civisens/registry/internal/demo"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/internal/web"
	"github.com/civisens/civisens/registry/registryapi"
)

var screenshots = flag.String("screenshots", "", "folder where the browser tests write a full-page PNG of each page they visit (off when empty)")

// phone is a technician's session in Debian's chromium, on a phone's
// viewport: every page it opens is checked for horizontal scrolling and
// for form controls without an accessible name, and photographed when
// -screenshots is given.
type phone struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots int
	// typed counts the form fields the technician types into.
	typed int
}

// stepTimeout bounds each step, so that a step that waits for what never
// comes fails with its name.
const stepTimeout = 20 * time.Second

// browserDo runs a step of actions in the browser of ctx within
// stepTimeout, failing t with what the step was.
func browserDo(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// browserRun is browserDo for an action with a result.
func browserRun[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func (ph *phone) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	ph.t.Helper()
	browserDo(ph.t, ph.ctx, what, actions...)
}

func run[T any](ph *phone, what string, a chromedp.Action[T]) T {
	ph.t.Helper()
	return browserRun(ph.t, ph.ctx, what, a)
}

// typeIn types text into the field, as a person would, and counts it.
func (ph *phone) typeIn(sel, text string) {
	ph.t.Helper()
	ph.typed++
	ph.do("type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text))
}

// unlabelled lists the visible form controls that have no accessible
// name: no <label>, no aria-label, no aria-labelledby.
const unlabelled = `Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea')).filter(function (el) {
  if (el.labels && Array.from(el.labels).some(function (l) { return l.textContent.trim() !== ''; })) { return false; }
  return !(el.getAttribute('aria-label') || el.getAttribute('aria-labelledby'));
}).map(function (el) { return el.name || el.id || el.outerHTML; })`

// check checks the page shown: no horizontal scroll on the phone, every
// control labelled; and photographs it.
func (ph *phone) check(name string) {
	ph.t.Helper()
	if fits := run(ph, name+": width", chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`)); !fits {
		w := run(ph, name+": width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
		ph.t.Errorf("%s: the page scrolls sideways on a phone: %d px wide", name, w)
	}
	if bad := run(ph, name+": labels", chromedp.Evaluate[[]string](unlabelled)); len(bad) > 0 {
		ph.t.Errorf("%s: form controls without an accessible name: %v", name, bad)
	}
	if *screenshots == "" {
		return
	}
	ph.shots++
	png := run(ph, name+": screenshot", chromedp.FullScreenshot(100))
	file := filepath.Join(*screenshots, fmt.Sprintf("%02d-%s.png", ph.shots, name))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		ph.t.Fatal(err)
	}
}

// click clicks sel and waits for the next page to show ready.
func (ph *phone) click(sel, ready string) {
	ph.t.Helper()
	ph.do("click "+sel, chromedp.Click(chromedp.CSS(sel)), chromedp.WaitVisible(chromedp.CSS(ready)))
}

func (ph *phone) text(sel string) string {
	ph.t.Helper()
	return run(ph, "text of "+sel, chromedp.Text(chromedp.CSS(sel)))
}

func (ph *phone) html() string {
	ph.t.Helper()
	return run(ph, "page", chromedp.OuterHTML(chromedp.CSS("html")))
}

// A technician registers a sensor from a phone, in a real browser: log
// in, new sensor → air, name and site, "use my position" (the phone's
// position is emulated), create the draft, get its MQTT credentials (shown
// once), open its sign, publish it with a reason; the entry is then on
// the public list and in the gateway's view with its credential.
func TestTechnicianRegistersASensorFromAPhone(t *testing.T) {
	started := time.Now()
	bctx := testinfra.NewBrowser(t, testinfra.BrowserOptions{Width: 390, Height: 844})
	if *screenshots != "" {
		if err := os.MkdirAll(*screenshots, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	// The registry: a real SQLite file with the demo town, a technician.
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if ok, err := demo.Seed(ctx, st); !ok || err != nil {
		t.Fatalf("seed: %v, %v", ok, err)
	}
	const techPassword = "lampadaire du marché"
	hash, err := auth.HashPassword(techPassword, auth.DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateAccount(ctx, store.Account{Username: "theo", DisplayName: "Théo", Role: auth.RoleTechnician, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	gwToken, err := auth.NewAPIToken()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateAPIToken(ctx, store.APIToken{Name: "passerelle", TokenHash: auth.HashToken(gwToken), Role: auth.RoleGateway}); err != nil {
		t.Fatal(err)
	}
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	if h, err = NewHandler(Deps{Sensors: st, PublicURL: srv.URL, Territory: demo.Territory()}); err != nil {
		t.Fatal(err)
	}

	ph := &phone{t: t, ctx: bctx, base: srv.URL}
	// The phone is at the town hall square, and the site may read it.
	lat, lon, accuracy := 46.9452, 2.0491, 8.0
	ph.do("emulate the position", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: "geolocation"}, Setting: browser.PermissionSettingGranted, Origin: srv.URL,
		}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, emulation.SetGeolocationOverride, emulation.SetGeolocationOverrideParams{
			Latitude: &lat, Longitude: &lon, Accuracy: &accuracy})
		return err
	}))

	// 1. The provisioning pages ask for a login first (typed once a day:
	// not counted in the sensor's two minutes).
	ph.do("open the pages", chromedp.Navigate(srv.URL+web.StaffSensorsPath), chromedp.WaitVisible(chromedp.CSS("#login-username")))
	ph.check("login")
	ph.do("log in", chromedp.SendKeys(chromedp.CSS("#login-username"), "theo"), chromedp.SendKeys(chromedp.CSS("#login-password"), techPassword))
	ph.click(`form[action^="/login"] button[type=submit]`, `a[href^="/staff/sensors/new"]`)
	ph.check("work-list")

	// 2. New sensor → air: the short form, prefilled.
	ph.click(`p.actions a[href^="/staff/sensors/new"]`, "ul.categories")
	ph.check("category")
	ph.click("a.cat-air", "#f-name-fr")
	ph.check("short-form")
	for _, sel := range []string{"#f-quantities-0-on", "#f-quantities-1-on"} { // PM10 and PM2.5: declared by default
		if on := run(ph, sel, chromedp.Evaluate[bool](`document.querySelector('`+sel+`').checked`)); !on {
			t.Errorf("%s is not checked by default", sel)
		}
	}

	// 3. What the technician types, and the phone's position.
	ph.typeIn("#f-name-fr", "Qualité de l'air – square de la mairie")
	ph.typeIn("#f-name-en", "Air quality – town hall garden")
	ph.typeIn("#f-site", "square-mairie")
	ph.do("use my position", chromedp.WaitVisible(chromedp.CSS("#geo-button")), chromedp.Click(chromedp.CSS("#geo-button")))
	ph.do("wait for the position", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById('f-location-lon').value !== ''`, chromedp.WithPollingTimeout(10*time.Second)))
		return err
	}))
	gotLat := run(ph, "latitude", chromedp.Value(chromedp.CSS("#f-location-lat")))
	gotLon := run(ph, "longitude", chromedp.Value(chromedp.CSS("#f-location-lon")))
	if gotLat != "46.945200" || gotLon != "2.049100" {
		t.Errorf("position filled as %q, %q; want 46.945200, 2.049100", gotLat, gotLon)
	}
	if st := ph.text("#geo-status"); !strings.Contains(st, "8 m") {
		t.Errorf("geolocation status %q", st)
	}
	if href := run(ph, "map link", chromedp.AttributeValue(chromedp.CSS("#geo-map"), "href")); !strings.Contains(href.Value, "mlat=46.945200") {
		t.Errorf("map link %q", href.Value)
	}
	ph.typeIn("#f-location-address", "Square de l'Hôtel-de-Ville, Valmont-sur-Lise")
	ph.check("short-form-filled")
	ph.click(`form.sensor-form p.actions button.primary`, "#mqtt")
	ph.check("draft")
	loc := run(ph, "location", chromedp.Location())
	id := strings.TrimPrefix(strings.SplitN(strings.TrimPrefix(loc, srv.URL), "?", 2)[0], web.StaffSensorsPath+"/")
	if id != "air-square-mairie-01" {
		t.Fatalf("draft at %s: id %q, want air-square-mairie-01", loc, id)
	}
	if page := ph.html(); !strings.Contains(page, "Rien ne manque") {
		t.Fatalf("the quick path's draft is not publishable:\n%s", ph.text("main"))
	}

	// 4. Its MQTT credentials: the password once.
	ph.click(`form[action*="/credentials"] button[type=submit]`, "#mqtt-password")
	ph.check("credentials")
	password := ph.text("#mqtt-password")
	if user := ph.text("#mqtt-username"); user != id || len(password) != 32 {
		t.Errorf("credentials %q / %q: want the sensor id and 32 characters", user, password)
	}
	ph.do("reload the entry", chromedp.Navigate(srv.URL+web.StaffSensorPath(id)), chromedp.WaitVisible(chromedp.CSS("#mqtt")))
	if page := ph.html(); strings.Contains(page, password) || strings.Contains(page, "mqtt-password") {
		t.Error("the password is shown again after the page is reloaded")
	} else if !strings.Contains(page, "Mot de passe émis le") || !strings.Contains(page, "theo") {
		t.Error("the entry page does not say when and by whom the credentials were issued")
	}

	// 5. Its sign, a draft's: a PDF.
	href := run(ph, "sign link", chromedp.AttributeValue(chromedp.CSS(`a[href*="sign.pdf?size=a5"]`), "href"))
	resp := run(ph, "open the sign", chromedp.NavigateResponse(srv.URL+href.Value))
	if resp == nil || resp.Status != http.StatusOK || resp.MimeType != "application/pdf" {
		t.Errorf("sign: %+v, want 200 application/pdf", resp)
	}

	// 6. Publish, with a reason.
	ph.do("back to the entry", chromedp.Navigate(srv.URL+web.StaffSensorPath(id)), chromedp.WaitVisible(chromedp.CSS("#publish")))
	ph.typeIn("#f-reason-publish", "Installation au square")
	ph.click(`form[action*="/publish"] button[type=submit]`, `p.notice[role=status]`)
	ph.check("published")
	if n := ph.text(`p.notice[role=status]`); !strings.Contains(n, "Fiche publiée") {
		t.Errorf("after publishing: %q", n)
	}
	if page := ph.html(); strings.Contains(page, password) {
		t.Error("the password is on the page after publication")
	}

	// The whole entry's form, as a published entry's: a reason is asked
	// first.
	ph.click(`nav.actions a[href*="/edit"]`, "#f-reason")
	ph.check("edit-form")

	// The quick path: the technician typed the sensor's French and English
	// names, its site, its address and the publication's reason — 5 fields;
	// the rest came from the template, the register's similar entry, the
	// short list of supports and the phone's position. At the 20–30 s a
	// field takes on a phone, with the taps, that is well under two minutes.
	if ph.typed > 5 {
		t.Errorf("the technician typed into %d fields, want at most 5 for the two-minute path", ph.typed)
	}
	t.Logf("quick path: %d fields typed", ph.typed)

	// 7. The public list shows it; the gateway's view lists it with the
	// hash of the password shown.
	for _, path := range []string{web.HomePath, web.SensorsPath, web.SensorsPath + "?category=air&sort=changed&order=desc&per=10"} {
		ph.do("public "+path, chromedp.Navigate(srv.URL+path), chromedp.WaitVisible(chromedp.CSS("main")))
		ph.check("public-" + strings.Trim(strings.NewReplacer("/", "", "?", "-", "&", "-", "=", "-").Replace(path), "-"))
		if page := ph.html(); !strings.Contains(page, `href="/sensors/`+id+`?lang=fr"`) {
			t.Errorf("%s does not link %s", path, id)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+registryapi.PathAllowList, nil)
	req.Header.Set("Authorization", "Bearer "+gwToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var view registryapi.AllowList
	if err := json.NewDecoder(res.Body).Decode(&view); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("allow-list: %d %v", res.StatusCode, err)
	}
	if !slices.ContainsFunc(view.Sensors, func(s registryapi.GatewaySensor) bool { return s.ID == id && len(s.Quantities) == 4 }) {
		t.Errorf("%s is not in the gateway's view with its 4 quantities", id)
	}
	i := slices.IndexFunc(view.Credentials, func(c registryapi.Credential) bool { return c.Username == id })
	if i < 0 {
		t.Fatalf("%s has no credential in the gateway's view", id)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(view.Credentials[i].Hash), []byte(password)); err != nil {
		t.Errorf("the view's hash does not verify the password shown: %v", err)
	}
	t.Logf("browser test: %v", time.Since(started).Round(time.Millisecond))
}
