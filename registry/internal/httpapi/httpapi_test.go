package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/civisens/civisens/dashboards"
	"github.com/civisens/civisens/registry/internal/auth"
	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/demo"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/registryapi"
)

const publicURL = "https://capteurs.example.org"

// testStore returns a real store seeded with the demo town, plus a draft,
// a sensor in maintenance and a retired one.
func testStore(t *testing.T) *store.Store {
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
	base := demo.Sensors()[0]
	for _, e := range []struct{ id, status string }{
		{"air-brouillon-01", registryapi.StatusDraft},
		{"air-atelier-01", registryapi.StatusMaintenance},
		{"air-ancien-01", registryapi.StatusRetired},
	} {
		s := base
		s.ID, s.Status = e.id, e.status
		s.Name = registryapi.Text{FR: "Capteur " + e.id, EN: "Sensor " + e.id}
		if e.status == registryapi.StatusRetired {
			end := s.CommissionedAt.AddDate(0, 6, 0)
			s.DecommissionedAt = &end
		}
		if _, err := st.Create(ctx, s, store.Change{ActorRole: catalog.RoleTechnician, Actor: "tech-3", Reason: "pose"}); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// fakeReadings serves unit tests; the integration test uses InfluxDB.
type fakeReadings struct {
	readings []dashboards.Reading
	err      error
}

func (f fakeReadings) Latest(context.Context, string, string, string) ([]dashboards.Reading, error) {
	return f.readings, f.err
}

func newHandler(t *testing.T, st Sensors, rd Readings) http.Handler {
	t.Helper()
	h, err := NewHandler(Deps{Sensors: st, Readings: rd, PublicURL: publicURL + "/"})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

type answer struct {
	status int
	header http.Header
	body   string
}

func get(t *testing.T, h http.Handler, path string, header ...string) answer {
	t.Helper()
	return do(t, h, http.MethodGet, path, header...)
}

func do(t *testing.T, h http.Handler, method, path string, header ...string) answer {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return answer{rec.Code, rec.Result().Header, string(b)}
}

func decode[T any](t *testing.T, a answer) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(a.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %T: %v\n%s", v, err, a.body)
	}
	return v
}

func wantProblem(t *testing.T, a answer, status int) {
	t.Helper()
	if a.status != status {
		t.Errorf("status %d, want %d: %s", a.status, status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	p := decode[registryapi.Problem](t, a)
	if p.Status != status || p.Title != http.StatusText(status) || p.Instance == "" {
		t.Errorf("problem body %+v", p)
	}
}

func TestAPISensors(t *testing.T) {
	h := newHandler(t, testStore(t), nil)
	a := get(t, h, registryapi.PathSensors)
	if a.status != http.StatusOK || a.header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %s: %s", a.status, a.header.Get("Content-Type"), a.body)
	}
	list := decode[registryapi.SensorList](t, a)
	var ids []string
	for _, s := range list.Sensors {
		ids = append(ids, s.ID)
		if want := publicURL + "/sensors/" + s.ID; s.URL != want {
			t.Errorf("%s: url %q, want %q", s.ID, s.URL, want)
		}
		if s.Version != 1 || s.UpdatedAt.IsZero() {
			t.Errorf("%s: version %d updated %v", s.ID, s.Version, s.UpdatedAt)
		}
	}
	want := append(demo.IDs(), "air-atelier-01", "air-ancien-01")
	slices.Sort(want)
	if d := cmp.Diff(want, ids); d != "" {
		t.Errorf("published ids (-want +got):\n%s", d)
	}
	if !strings.Contains(list.Attribution, "Digital Trust for Places & Routines (DTPR), Helpful Places") ||
		!strings.Contains(list.Attribution, "CC BY 4.0") {
		t.Errorf("attribution %q", list.Attribution)
	}
	// The simulator and the gateway read the declared quantities.
	for _, s := range list.Sensors {
		if s.ID == "air-mairie-01" {
			q := s.Quantities[0]
			if q.Name != "pm10" || q.Unit != "ug/m3" || q.Min == nil || q.Max == nil || q.PeriodSeconds != 60 {
				t.Errorf("air-mairie-01 first quantity: %+v", q)
			}
		}
	}
}

func TestAPISensor(t *testing.T) {
	st := testStore(t)
	h := newHandler(t, st, nil)
	a := get(t, h, registryapi.PathSensors+"/parking-marche-01")
	if a.status != http.StatusOK {
		t.Fatalf("%d: %s", a.status, a.body)
	}
	got := decode[registryapi.Sensor](t, a)
	want, err := st.Get(context.Background(), "parking-marche-01")
	if err != nil {
		t.Fatal(err)
	}
	want.URL = publicURL + "/sensors/parking-marche-01"
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("entry (-want +got):\n%s", d)
	}
	if a.header.Get("ETag") == "" {
		t.Error("no ETag")
	}

	for _, path := range []string{
		"/nope-nope-01",     // unknown
		"/air-brouillon-01", // draft: not published
		"/NOT-AN-ID",        // not an id
	} {
		t.Run(path, func(t *testing.T) {
			wantProblem(t, get(t, h, registryapi.PathSensors+path), http.StatusNotFound)
		})
	}
}

// gatewayToken creates an API token of role gateway in st and returns the
// Authorization header that sends it.
func gatewayToken(t *testing.T, st *store.Store) []string {
	t.Helper()
	secret, err := auth.NewAPIToken()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateAPIToken(context.Background(), store.APIToken{Name: "passerelle", TokenHash: auth.HashToken(secret), Role: auth.RoleGateway}); err != nil {
		t.Fatal(err)
	}
	return []string{"Authorization", "Bearer " + secret}
}

func TestAllowListETag(t *testing.T) {
	ctx := context.Background()
	st := testStore(t)
	h := newHandler(t, st, nil)
	gw := gatewayToken(t, st)
	get := func(t *testing.T, h http.Handler, path string, header ...string) answer {
		t.Helper()
		return do(t, h, http.MethodGet, path, append(header, gw...)...)
	}

	a := get(t, h, registryapi.PathAllowList)
	if a.status != http.StatusOK {
		t.Fatalf("%d: %s", a.status, a.body)
	}
	etag := a.header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) || len(etag) < 10 {
		t.Fatalf("ETag %q is not a strong entity tag", etag)
	}
	list := decode[registryapi.AllowList](t, a)
	var ids []string
	for _, s := range list.Sensors {
		ids = append(ids, s.ID)
		if s.Status != registryapi.StatusActive && s.Status != registryapi.StatusMaintenance {
			t.Errorf("%s is %s", s.ID, s.Status)
		}
		if s.Retention == "" || len(s.Quantities) == 0 || s.Site == "" {
			t.Errorf("%s lacks what the gateway needs: %+v", s.ID, s)
		}
	}
	if slices.Contains(ids, "air-brouillon-01") || slices.Contains(ids, "air-ancien-01") || !slices.Contains(ids, "air-atelier-01") {
		t.Errorf("allow-list ids %v: want active and maintenance only", ids)
	}
	if len(ids) != len(demo.IDs())+1 {
		t.Errorf("%d sensors in the allow-list, want %d", len(ids), len(demo.IDs())+1)
	}
	if list.Credentials == nil || len(list.Credentials) != 0 || !strings.Contains(a.body, `"credentials":[]`) {
		t.Errorf("credentials = %v, want an empty list", list.Credentials)
	}
	if list.GeneratedAt.IsZero() {
		t.Error("generated_at is zero")
	}

	// Same register, same body and ETag; If-None-Match gets 304.
	if again := get(t, h, registryapi.PathAllowList); again.header.Get("ETag") != etag || again.body != a.body {
		t.Fatal("the allow-list of an unchanged register changed")
	}
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		nm := get(t, h, registryapi.PathAllowList, "If-None-Match", inm)
		if nm.status != http.StatusNotModified || nm.body != "" || nm.header.Get("ETag") != etag {
			t.Errorf("If-None-Match %s: %d, %d bytes, ETag %q; want 304, no body, the ETag", inm, nm.status, len(nm.body), nm.header.Get("ETag"))
		}
	}
	if other := get(t, h, registryapi.PathAllowList, "If-None-Match", `"other"`); other.status != http.StatusOK {
		t.Errorf("If-None-Match of another tag: %d, want 200", other.status)
	}

	// A change in the register changes the ETag.
	s, err := st.Get(ctx, "air-mairie-01")
	if err != nil {
		t.Fatal(err)
	}
	s.Status = registryapi.StatusMaintenance
	if _, err := st.Update(ctx, s, store.Change{ActorRole: catalog.RoleTechnician, Reason: "nettoyage", At: time.Now().Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	changed := get(t, h, registryapi.PathAllowList, "If-None-Match", etag)
	if changed.status != http.StatusOK || changed.header.Get("ETag") == etag {
		t.Errorf("after a change: %d with ETag %s; want 200 and a new ETag", changed.status, changed.header.Get("ETag"))
	}
	if got := decode[registryapi.AllowList](t, changed); !got.GeneratedAt.After(list.GeneratedAt) {
		t.Errorf("generated_at %v did not move after a change (was %v)", got.GeneratedAt, list.GeneratedAt)
	}
}

func TestHealthz(t *testing.T) {
	st := testStore(t)
	h := newHandler(t, st, nil)
	if a := get(t, h, "/healthz"); a.status != http.StatusOK || a.body != `{"status":"ok"}` {
		t.Errorf("healthz: %d %s", a.status, a.body)
	}
	st.Close()
	wantProblem(t, get(t, h, "/healthz"), http.StatusServiceUnavailable)
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	h := newHandler(t, testStore(t), nil)
	wantProblem(t, get(t, h, "/api/v1/nothing"), http.StatusNotFound)
	wantProblem(t, do(t, h, http.MethodDelete, registryapi.PathSensors), http.StatusMethodNotAllowed)
	a := get(t, h, "/nothing/here")
	if a.status != http.StatusNotFound || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
		t.Errorf("unknown page: %d %s", a.status, a.header.Get("Content-Type"))
	}
}

func TestSecurityHeaders(t *testing.T) {
	h := newHandler(t, testStore(t), nil)
	for _, path := range []string{"/", registryapi.PathSensors, "/static/civisens.css"} {
		a := get(t, h, path)
		if a.header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(a.header.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Errorf("%s: security headers missing: %v", path, a.header)
		}
	}
	if a := get(t, h, "/static/civisens.css"); a.status != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet: %d %s", a.status, a.header.Get("Content-Type"))
	}
}

func TestListPage(t *testing.T) {
	h := newHandler(t, testStore(t), nil)
	fr := get(t, h, "/")
	if fr.status != http.StatusOK || fr.header.Get("Content-Type") != "text/html; charset=utf-8" || fr.header.Get("Content-Language") != "fr" {
		t.Fatalf("%d %v", fr.status, fr.header)
	}
	for _, s := range demo.Sensors() {
		if !strings.Contains(fr.body, strings.ReplaceAll(s.Name.FR, "'", "&#39;")) {
			t.Errorf("the list lacks %s (%s)", s.ID, s.Name.FR)
		}
	}
	if strings.Contains(fr.body, "air-brouillon-01") {
		t.Error("the list shows a draft")
	}
	for _, a := range []answer{
		get(t, h, "/?lang=en"),
		get(t, h, "/", "Accept-Language", "en-GB,en;q=0.9,fr;q=0.5"),
	} {
		if !strings.Contains(a.body, `<html lang="en">`) || a.header.Get("Content-Language") != "en" {
			t.Error("no English page")
		}
		for _, s := range demo.Sensors() {
			if !strings.Contains(a.body, s.Name.EN) {
				t.Errorf("the English list lacks %s (%s)", s.ID, s.Name.EN)
			}
		}
	}
	if !strings.Contains(get(t, h, "/?lang=fr", "Accept-Language", "en").body, `<html lang="fr">`) {
		t.Error("?lang=fr does not win over Accept-Language")
	}
}

func TestEntryPage(t *testing.T) {
	at := time.Now().Add(-10 * time.Minute)
	rd := fakeReadings{readings: []dashboards.Reading{
		{Quantity: "pm10", Value: 12.5, Time: at},
		{Quantity: "temperature", Value: -3.25, Time: at},
	}}
	h := newHandler(t, testStore(t), rd)

	fr := get(t, h, "/sensors/air-mairie-01")
	if fr.status != http.StatusOK {
		t.Fatalf("%d: %s", fr.status, fr.body)
	}
	for _, want := range []string{
		`<html lang="fr">`, "Qualité de l&#39;air – place de l&#39;Hôtel-de-Ville",
		"Particules PM10", "µg/m³", "Santé", "Écologie", "Informer", // purposes, DTPR labels
		"Aucune donnée personnelle", "Sans objet", "L221-1",
		"5\u00a0ans", "Licence Ouverte", "mailto:" + demo.Email, "dpo@" + demo.Domain,
		">12,5<", ">-3,25<", "Le registre (automatique)", "Création de la fiche",
		`href="/sensors/air-mairie-01?lang=en"`,
	} {
		if !strings.Contains(fr.body, want) {
			t.Errorf("French entry page lacks %q", want)
		}
	}
	if strings.Contains(fr.body, "registry -demo") {
		t.Error("the page names the actor; it must show roles only")
	}
	en := get(t, h, "/sensors/air-mairie-01?lang=en")
	for _, want := range []string{`<html lang="en">`, "Air quality – Town Hall square", "Health", "5\u00a0years", ">12.5<", "Not applicable", `href="/sensors/air-mairie-01?lang=fr"`} {
		if !strings.Contains(en.body, want) {
			t.Errorf("English entry page lacks %q", want)
		}
	}

	for _, path := range []string{"/sensors/nope-nope-01", "/sensors/air-brouillon-01", "/sensors/NOPE"} {
		a := get(t, h, path)
		if a.status != http.StatusNotFound || !strings.Contains(a.body, "Capteur introuvable") {
			t.Errorf("%s: %d, want the 404 page", path, a.status)
		}
	}
	// A retired sensor stays public.
	if a := get(t, h, "/sensors/air-ancien-01"); a.status != http.StatusOK || !strings.Contains(a.body, "Retiré du service") {
		t.Errorf("retired entry: %d", a.status)
	}
}

func TestEntryPageWithoutReadings(t *testing.T) {
	st := testStore(t)
	for _, tt := range []struct {
		name string
		rd   Readings
		want string
	}{
		{"InfluxDB down", fakeReadings{err: errors.New("connection refused")}, "momentanément indisponibles"},
		{"no reader", nil, "momentanément indisponibles"},
		{"nothing written", fakeReadings{}, "Aucune mesure reçue"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := get(t, newHandler(t, st, tt.rd), "/sensors/energie-mairie-01")
			if a.status != http.StatusOK || !strings.Contains(a.body, tt.want) || !strings.Contains(a.body, "Énergie – hôtel de ville") {
				t.Errorf("%d; page lacks %q or the entry", a.status, tt.want)
			}
		})
	}
}

func TestEntryPageClosedData(t *testing.T) {
	ctx := context.Background()
	st := testStore(t)
	s, err := st.Get(ctx, "energie-ecole-01")
	if err != nil {
		t.Fatal(err)
	}
	s.OpenData, s.OpenDataLicence, s.OpenDataURL = false, "", ""
	if _, err := st.Update(ctx, s, store.Change{ActorRole: catalog.RoleAdministrator, Reason: "données fermées"}); err != nil {
		t.Fatal(err)
	}
	called := false
	h := newHandler(t, st, readingsFunc(func() { called = true }))
	a := get(t, h, "/sensors/energie-ecole-01")
	if a.status != http.StatusOK || !strings.Contains(a.body, "ne sont pas publiées") {
		t.Errorf("%d: closed-data page", a.status)
	}
	if called {
		t.Error("read InfluxDB for a sensor whose data is not open")
	}
	if !strings.Contains(a.body, "Modifié : données ouvertes") || !strings.Contains(a.body, "L&#39;administration du registre") {
		t.Error("the history does not show the change")
	}
}

type readingsFunc func()

func (f readingsFunc) Latest(context.Context, string, string, string) ([]dashboards.Reading, error) {
	f()
	return nil, nil
}

func TestLimiter(t *testing.T) {
	l := &limiter{every: time.Minute}
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		at         time.Duration
		ok         bool
		suppressed int
	}{
		{0, true, 0}, {time.Second, false, 0}, {30 * time.Second, false, 0}, {61 * time.Second, true, 2}, {62 * time.Second, false, 0},
	}
	for _, s := range steps {
		ok, n := l.allow(t0.Add(s.at))
		if ok != s.ok || n != s.suppressed {
			t.Errorf("at %v: %v %d, want %v %d", s.at, ok, n, s.ok, s.suppressed)
		}
	}
}
