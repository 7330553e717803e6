package web

import (
	"bytes"
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/civisens/civisens/registry/internal/demo"
	"github.com/civisens/civisens/registry/internal/dtpr"
	"github.com/civisens/civisens/registry/registryapi"
)

var verbRE = regexp.MustCompile(`%[a-z]`)

// Every key of the catalogue exists in both languages, is not empty, and
// takes the same arguments.
func TestCatalogueHasEveryKeyInBothLanguages(t *testing.T) {
	c := catalogue()
	if len(c) != 2 {
		t.Fatalf("languages: %d, want fr and en", len(c))
	}
	fr, en := c[LangFR], c[LangEN]
	for k, v := range fr {
		w, ok := en[k]
		switch {
		case !ok:
			t.Errorf("%q has no English translation", k)
		case strings.TrimSpace(v) == "" || strings.TrimSpace(w) == "":
			t.Errorf("%q is empty in a language", k)
		case strings.Join(verbRE.FindAllString(v, -1), "") != strings.Join(verbRE.FindAllString(w, -1), ""):
			t.Errorf("%q takes different arguments: %q / %q", k, v, w)
		}
	}
	for k := range en {
		if _, ok := fr[k]; !ok {
			t.Errorf("%q has no French translation", k)
		}
	}
	// Values the pages look up by construction.
	var keys []string
	for _, cat := range registryapi.Categories {
		keys = append(keys, "category."+cat)
	}
	for _, s := range []string{"draft", "active", "maintenance", "retired"} {
		keys = append(keys, "status."+s)
	}
	for _, id := range []string{registryapi.Identifiable, registryapi.Pseudonymised, registryapi.DeidentifiedAtSource, registryapi.AggregateOnly, registryapi.NoPersonalData} {
		keys = append(keys, "ident."+id, "identx."+id)
	}
	for _, b := range []string{"a", "b", "c", "d", "e", "f"} {
		keys = append(keys, "basis.6-1-"+b, "basisx.6-1-"+b)
	}
	for _, r := range []string{"system", "technician", "administrator", "dpo"} {
		keys = append(keys, "role."+r)
	}
	for _, k := range keys {
		if _, ok := fr[k]; !ok {
			t.Errorf("%q is missing", k)
		}
	}
}

// Every key the templates name exists.
func TestTemplatesUseKnownKeys(t *testing.T) {
	keyRE := regexp.MustCompile(`\.T "([^"]+)"`)
	fr := catalogue()[LangFR]
	err := fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templateFS, path)
		if err != nil {
			return err
		}
		for _, m := range keyRE.FindAllStringSubmatch(string(b), -1) {
			if _, ok := fr[m[1]]; !ok {
				t.Errorf("%s uses %q, which the catalogue lacks", path, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestNegotiate(t *testing.T) {
	for _, tt := range []struct{ query, accept, want string }{
		{"", "", "fr"},
		{"en", "", "en"},
		{"fr", "en-GB,en;q=0.9", "fr"},
		{"de", "en", "en"},
		{"", "en-GB,en;q=0.9,fr;q=0.8", "en"},
		{"", "fr-FR,fr;q=0.9,en;q=0.8", "fr"},
		{"", "de-DE,de;q=0.9,en;q=0.5", "en"},
		{"", "en;q=0.4,fr;q=0.6", "fr"},
		{"", "de", "fr"},
		{"", "en;q=bad", "fr"},
		{"", "EN-us", "en"},
	} {
		if got := Negotiate(tt.query, tt.accept); got != tt.want {
			t.Errorf("Negotiate(%q, %q) = %q, want %q", tt.query, tt.accept, got, tt.want)
		}
	}
}

func localizers() (fr, en localizer) {
	c := catalogue()
	return localizer{LangFR, c[LangFR]}, localizer{LangEN, c[LangEN]}
}

func TestWording(t *testing.T) {
	fr, en := localizers()
	for _, tt := range []struct{ got, want string }{
		{fr.Number(12.5), "12,5"},
		{en.Number(12.5), "12.5"},
		{fr.Number(1000), "1\u202f000"},
		{en.Number(1234567.891), "1,234,567.891"},
		{fr.Number(-3.25), "-3,25"},
		{fr.Number(0.0004), "0"},
		{fr.Number(21.3333333), "21,333"},
		{fr.Duration("P1Y"), "1\u00a0an"},
		{fr.Duration("P5Y"), "5\u00a0ans"},
		{fr.Duration("P10Y"), "10\u00a0ans"},
		{en.Duration("P1Y"), "1\u00a0year"},
		{en.Duration("P5Y"), "5\u00a0years"},
		{fr.Duration("P1Y6M"), "1\u00a0an et 6\u00a0mois"},
		{en.Duration("P1DT12H30M"), "1\u00a0day, 12\u00a0hours and 30\u00a0minutes"},
		{fr.Duration("5 ans"), "5 ans"},
		{fr.Period(30), "une mesure toutes les 30\u00a0s"},
		{en.Period(300), "one reading every 5\u00a0min"},
		{fr.Period(0), "non précisée"},
		{fr.Unit("Cel"), "°C"},
		{fr.Unit("ug/m3"), "µg/m³"},
		{fr.Unit("/"), ""},
		{fr.Range(ptr(0), ptr(1000), "ug/m3"), "de 0 à 1\u202f000\u00a0µg/m³"},
		{en.Range(nil, ptr(250), "W"), "at most 250\u00a0W"},
		{fr.Date(time.Date(2024, 3, 18, 0, 0, 0, 0, time.UTC)), "18 mars 2024"},
		{en.DateTime(time.Date(2024, 3, 18, 14, 5, 0, 0, time.UTC)), "18 March 2024, 14:05"},
		{fr.changes("created", "", "draft"), "Création de la fiche"},
		{fr.changes("location, status", "", ""), "Modifié : emplacement, statut"},
		{fr.changes("commissioned_at, status", "draft", "active"), "Modifié : date de mise en service, statut (Brouillon → En service)"},
		{en.changes("decommissioned_at, status", "maintenance", "retired"), "Changed: decommissioning date, status (Under maintenance → Retired)"},
		{en.changes("dpia_reference, legal_basis", "active", "active"), "Changed: impact assessment, legal basis"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func ptr(f float64) *float64 { return &f }

func TestRichText(t *testing.T) {
	got := string(richText(`Voir la [qualité de l'air](https://fr.wikipedia.org/wiki/Air) et *ceci* <script>x</script> [bad](javascript:alert(1))`))
	for _, want := range []string{
		`<a href="https://fr.wikipedia.org/wiki/Air">qualité de l&#39;air</a>`,
		`<em>ceci</em>`,
		`&lt;script&gt;`,
		`[bad](javascript:alert(1))`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("richText = %s\nlacks %s", got, want)
		}
	}
}

func newPages(t *testing.T) *Pages {
	t.Helper()
	p, err := New(time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func render(t *testing.T, fn func(*bytes.Buffer) error) string {
	t.Helper()
	var b bytes.Buffer
	if err := fn(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if i := strings.Index(out, "⟦"); i >= 0 {
		t.Errorf("page shows a missing message: %s", out[i:min(len(out), i+60)])
	}
	return out
}

func mustContain(t *testing.T, page string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(page, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

func TestListPage(t *testing.T) {
	p := newPages(t)
	sensors := demo.Sensors()
	for _, lang := range []string{LangFR, LangEN} {
		page := render(t, func(b *bytes.Buffer) error {
			return p.List(b, Request{Lang: lang, Path: SensorsPath}, NewPublished(sensors), ParseQuery(nil))
		})
		mustContain(t, page, `<html lang="`+lang+`">`, `<a class="skip" href="#main">`, "<header", "<nav", `<main id="main"`, "<footer",
			"<caption>", `<th scope="col"`, `<th scope="row">`, dtpr.LicenceURL, `rel="license"`, "<fieldset>", "<legend>")
		for _, s := range sensors {
			mustContain(t, page, templateEscape(s.Name.In(lang)), `href="/sensors/`+s.ID+`?lang=`+lang+`"`)
		}
	}
	fr := render(t, func(b *bytes.Buffer) error {
		return p.List(b, Request{Lang: LangFR, Path: SensorsPath}, NewPublished(sensors), ParseQuery(nil))
	})
	mustContain(t, fr, "Qualité de l&#39;air", "Aucune donnée personnelle", "Désidentifié à la source", "En service", `href="/sensors?lang=en"`, "12 capteurs")
	en := render(t, func(b *bytes.Buffer) error {
		return p.List(b, Request{Lang: LangEN, Path: SensorsPath}, NewPublished(sensors), ParseQuery(nil))
	})
	mustContain(t, en, "Air quality", "No personal data", "De-identified at source", "In service", `href="/sensors?lang=fr"`, "12 sensors")
	empty := render(t, func(b *bytes.Buffer) error {
		return p.List(b, Request{Lang: LangFR, Path: SensorsPath}, NewPublished(nil), ParseQuery(nil))
	})
	mustContain(t, empty, "Aucun capteur n&#39;est encore publié.")
}

func templateEscape(s string) string {
	return strings.NewReplacer("'", "&#39;", "&", "&amp;", `"`, "&#34;").Replace(s)
}

func demoSensor(t *testing.T, id string) registryapi.Sensor {
	t.Helper()
	for _, s := range demo.Sensors() {
		if s.ID == id {
			s.Version = 2
			s.UpdatedAt = time.Date(2025, 1, 2, 9, 0, 0, 0, time.UTC)
			return s
		}
	}
	t.Fatalf("no demo sensor %s", id)
	return registryapi.Sensor{}
}

func TestEntryPage(t *testing.T) {
	p := newPages(t)
	versions := []Version{
		{Number: 1, ChangedAt: time.Date(2024, 6, 10, 8, 0, 0, 0, time.UTC), ActorRole: "system", Reason: "Création de la commune de démonstration", Summary: "created"},
		{Number: 2, ChangedAt: time.Date(2025, 1, 2, 9, 0, 0, 0, time.UTC), ActorRole: "technician", Reason: "Capteur déplacé", Summary: "location"},
	}
	at := time.Date(2025, 11, 27, 13, 5, 0, 0, time.UTC)
	e := Entry{
		Sensor:   demoSensor(t, "parking-marche-01"),
		Versions: versions,
		Readings: []Reading{{Quantity: "occupancy", Value: 1, Time: at}},
		State:    ReadingsShown,
	}
	fr := render(t, func(b *bytes.Buffer) error {
		return p.Entry(b, Request{Lang: LangFR, Path: "/sensors/parking-marche-01"}, e)
	})
	mustContain(t, fr,
		`<html lang="fr">`, `href="/sensors/parking-marche-01?lang=en"`,
		"Occupation de la place", "sans unité", "une mesure toutes les 30\u00a0s",
		"Cadre légal", "Mobilité", // DTPR purpose labels
		"Mission d&#39;intérêt public", "L2213-2", // legal basis in words, and its text
		"Désidentifié à la source", "ident-deidentified_at_source", "champ magnétique",
		"1\u00a0an", "Retenu 1\u00a0an", "P1Y",
		"Licence Ouverte / Open Licence version 2.0 (Etalab)", "https://data."+demo.Domain+"/capteurs/parking",
		"mailto:"+demo.Email, "mailto:dpo@"+demo.Domain,
		"RT-2024-017", "Boucle d&#39;induction magnétique",
		`<time datetime="2025-11-27T13:05:00Z">27 novembre 2025 à 13:05</time>`,
		"Le registre (automatique)", "Un technicien ou une technicienne", "Création de la fiche", "Modifié : emplacement",
		`href="/api/v1/sensors/parking-marche-01"`,
	)
	if strings.Index(fr, "Capteur déplacé") > strings.Index(fr, "Création de la commune") {
		t.Error("history is not newest first")
	}
	en := render(t, func(b *bytes.Buffer) error {
		return p.Entry(b, Request{Lang: LangEN, Path: "/sensors/parking-marche-01"}, e)
	})
	mustContain(t, en,
		`<html lang="en">`, `href="/sensors/parking-marche-01?lang=fr"`,
		"Bay occupancy", "Enforcement", "Task carried out in the public interest", "De-identified at source",
		"1\u00a0year", "Retained 1\u00a0year", "27 November 2025, 13:05", "A technician", "Entry created", "Changed: location",
	)

	// A sensor without personal data explains why no legal basis applies,
	// and shows its figures the French way.
	air := Entry{
		Sensor:   demoSensor(t, "air-mairie-01"),
		Versions: versions[:1],
		Readings: []Reading{{Quantity: "pm10", Value: 12.5, Time: at}, {Quantity: "not_declared", Value: 3, Time: at}},
		State:    ReadingsShown,
	}
	fr = render(t, func(b *bytes.Buffer) error {
		return p.Entry(b, Request{Lang: LangFR, Path: "/sensors/air-mairie-01"}, air)
	})
	mustContain(t, fr, "Sans objet", "Cadre juridique de la mission", "L221-1", "5\u00a0ans", ">12,5<", "µg/m³", "Santé")
	if strings.Contains(fr, "not_declared") {
		t.Error("a reading of an undeclared quantity is shown")
	}
	en = render(t, func(b *bytes.Buffer) error {
		return p.Entry(b, Request{Lang: LangEN, Path: "/sensors/air-mairie-01"}, air)
	})
	mustContain(t, en, "Not applicable", ">12.5<", "5\u00a0years")
}

func TestEntryReadingsStates(t *testing.T) {
	p := newPages(t)
	s := demoSensor(t, "energie-mairie-01")
	for _, tt := range []struct {
		state ReadingsState
		want  string
	}{
		{ReadingsNone, "Aucune mesure reçue"},
		{ReadingsUnavailable, "momentanément indisponibles"},
		{ReadingsClosed, "ne sont pas publiées"},
		{ReadingsShown, "Aucune mesure reçue"}, // shown, but nothing for a declared quantity
	} {
		page := render(t, func(b *bytes.Buffer) error {
			return p.Entry(b, Request{Lang: LangFR, Path: "/sensors/" + s.ID}, Entry{Sensor: s, State: tt.state})
		})
		mustContain(t, page, tt.want)
		if strings.Contains(page, `class="readings"`) {
			t.Errorf("state %d: a readings table without readings", tt.state)
		}
	}
}

func TestNotFoundAndErrorPages(t *testing.T) {
	p := newPages(t)
	page := render(t, func(b *bytes.Buffer) error { return p.NotFound(b, Request{Lang: LangEN, Path: "/sensors/nope"}) })
	mustContain(t, page, "Sensor not found", `<html lang="en">`)
	page = render(t, func(b *bytes.Buffer) error { return p.Error(b, Request{Lang: LangFR, Path: "/"}) })
	mustContain(t, page, "Erreur")
}

// The stylesheet colours identifiability with the DTPR design guide's
// colours.
func TestCSSUsesDTPRColours(t *testing.T) {
	css := strings.ToUpper(string(newPages(t).CSS()))
	c := dtpr.Device().Colours()
	for _, colour := range []string{c.Identifiable, c.DeIdentified, c.NotIdentifying} {
		if !strings.Contains(css, strings.ToUpper(colour)) {
			t.Errorf("the stylesheet lacks DTPR colour %s", colour)
		}
	}
	for _, id := range []string{registryapi.Identifiable, registryapi.Pseudonymised, registryapi.DeidentifiedAtSource, registryapi.AggregateOnly, registryapi.NoPersonalData} {
		if !strings.Contains(css, strings.ToUpper(".ident-"+id)) {
			t.Errorf("the stylesheet has no colour for %s", id)
		}
	}
	for _, external := range []string{"HTTP:", "HTTPS:", "@IMPORT", "URL("} {
		if strings.Contains(css, external) {
			t.Errorf("the stylesheet loads something (%s)", external)
		}
	}
}
