package web

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/civisens/civisens/registry/internal/demo"
	"github.com/civisens/civisens/registry/registryapi"
)

// listPage renders the list page for a raw query.
func listPage(t *testing.T, p *Pages, lang, rawQuery string, sensors []registryapi.Sensor) string {
	t.Helper()
	v, err := url.ParseQuery(rawQuery)
	if err != nil {
		t.Fatal(err)
	}
	return render(t, func(b *bytes.Buffer) error {
		return p.List(b, Request{Lang: lang, Path: SensorsPath}, NewPublished(sensors), ParseQuery(v))
	})
}

// rowNames returns the names of the table's rows, in order.
func rowNames(page string) []string {
	var out []string
	for _, part := range strings.Split(page, `<th scope="row"><a href="`)[1:] {
		_, rest, _ := strings.Cut(part, `">`)
		name, _, _ := strings.Cut(rest, "</a>")
		out = append(out, name)
	}
	return out
}

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Écoles":           "ecoles",
		"HÔTEL-DE-VILLE":   "hotel-de-ville",
		"Œuvre – cœur":     "oeuvre - coeur",
		"l’Hôtel":          "l'hotel",
		"Qualité de l'air": "qualite de l'air",
	} {
		if got := fold(in); got != want {
			t.Errorf("fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestListFiltersCountEachFacetOverTheOthers(t *testing.T) {
	p := newPages(t)
	sensors := demo.Sensors() // 3 air, 4 parking, 3 lighting, 2 energy
	page := listPage(t, p, LangFR, "category=parking&ident=no_personal_data", sensors)
	// Two parking bays have no personal data; the category counts are
	// over the entries without personal data, the identifiability counts
	// over the parking bays.
	mustContain(t, page,
		`<strong>2 capteurs</strong>`,
		`value="parking" id="f-category-1" checked> <label for="f-category-1">Stationnement <span class="n">(2)</span>`,
		`value="air" id="f-category-0"> <label for="f-category-0">Qualité de l&#39;air <span class="n">(3)</span>`,
		`value="deidentified_at_source" id="f-ident-2"> <label for="f-ident-2">Désidentifié à la source <span class="n">(2)</span>`,
		`value="no_personal_data" id="f-ident-4" checked> <label for="f-ident-4">Aucune donnée personnelle <span class="n">(2)</span>`,
		`<a href="/sensors?lang=fr">Effacer les filtres</a>`,
		`<link rel="canonical" href="/sensors?lang=fr&amp;category=parking&amp;ident=no_personal_data">`,
	)
	if n := len(rowNames(page)); n != 2 {
		t.Errorf("%d rows, want 2", n)
	}
	// Two values of a facet are either; the canonical URL orders them as
	// the options are, whatever the order given.
	page = listPage(t, p, LangEN, "category=energy&category=air&purpose=health&basis=none&access=open&status=active", sensors)
	mustContain(t, page, "<strong>3 sensors</strong>",
		`<link rel="canonical" href="/sensors?lang=en&amp;category=air&amp;category=energy&amp;purpose=health&amp;basis=none&amp;access=open&amp;status=active">`,
		`href="/sensors?lang=fr&amp;category=air&amp;category=energy&amp;purpose=health&amp;basis=none&amp;access=open&amp;status=active"`, // the language switch keeps the filters
	)
	// Neighbourhoods.
	page = listPage(t, p, LangFR, "area=Centre-ville", sensors)
	mustContain(t, page, "<strong>3 capteurs</strong>", `value="Les Coteaux" id="f-area-1"> <label for="f-area-1">Les Coteaux <span class="n">(2)</span>`)
}

func TestListSearch(t *testing.T) {
	p := newPages(t)
	sensors := demo.Sensors()
	for q, want := range map[string]int{
		"ecoles":                 2, // "rue des Écoles", without its accent
		"ÉCOLE":                  2, // école Jules-Ferry: air and energy
		"hotel de ville":         2, // every word, anywhere: "hôtel de ville", "Hôtel-de-Ville"
		"hôtel-de-ville":         2, // the town hall square, in two addresses
		"sante":                  3, // the DTPR purpose "Santé"
		"health":                 3, // in English too
		"lise candélabre":        2, // every word must match
		"zzz":                    0,
		"  Place   du   Marché ": 2,
	} {
		page := listPage(t, p, LangFR, "q="+url.QueryEscape(q), sensors)
		if got := len(rowNames(page)); got != want {
			t.Errorf("q=%q: %d rows, want %d: %v", q, got, want, rowNames(page))
		}
	}
	page := listPage(t, p, LangFR, "q=zzz", sensors)
	mustContain(t, page, "Aucun capteur ne correspond", `<strong>Aucun capteur</strong>`, `value="zzz"`)
	// The organisation, accountable or operator.
	s := sensors[0]
	s.Operators = []registryapi.Organisation{{Name: registryapi.Text{FR: "Société Aérienne", EN: "Aerial Company"}}}
	page = listPage(t, p, LangEN, "q=societe+aerienne", append([]registryapi.Sensor{s}, sensors[1:]...))
	if got := rowNames(page); len(got) != 1 {
		t.Errorf("operator search: %v", got)
	}
}

func TestListSortAndPages(t *testing.T) {
	p := newPages(t)
	var sensors []registryapi.Sensor
	for i, s := range demo.Sensors() {
		s.UpdatedAt = time.Date(2025, 1, 1+i, 0, 0, 0, 0, time.UTC)
		sensors = append(sensors, s)
	}
	names := rowNames(listPage(t, p, LangFR, "", sensors))
	if len(names) != 12 || !strings.HasPrefix(names[0], "Éclairage public – parc") || !strings.HasPrefix(names[11], "Stationnement – place réservée") {
		t.Errorf("by name: %v", names)
	}
	desc := rowNames(listPage(t, p, LangFR, "order=desc", sensors))
	if desc[0] != names[11] || desc[11] != names[0] {
		t.Errorf("by name, descending: %v", desc)
	}
	changed := rowNames(listPage(t, p, LangFR, "sort=changed&order=desc", sensors))
	if want := templateEscape(sensors[11].Name.FR); changed[0] != want {
		t.Errorf("latest change first: %s, want %s", changed[0], want)
	}
	page := listPage(t, p, LangFR, "sort=category", sensors)
	if n := rowNames(page); !strings.HasPrefix(n[0], "Qualité") || !strings.HasPrefix(n[11], "Énergie") {
		t.Errorf("by category: %v", n)
	}
	mustContain(t, page, `<th scope="col" aria-sort="ascending"><a href="/sensors?lang=fr&amp;sort=category&amp;order=desc">Catégorie</a>`,
		`<th scope="col"><a href="/sensors?lang=fr">Nom</a></th>`, "triés par catégorie, ordre croissant")
	if strings.Count(page, "aria-sort") != 1 {
		t.Error("more than one column says it is sorted")
	}

	// Pages of 10: the second has the last two, links to the first, and
	// keeps the sort.
	page = listPage(t, p, LangEN, "sort=category&per=10&page=2", sensors)
	if n := rowNames(page); len(n) != 2 {
		t.Errorf("page 2 of 10: %v", n)
	}
	mustContain(t, page, "sensors 11 to 12, page 2 of 2", `rel="prev"`, `href="/sensors?lang=en&amp;sort=category&amp;per=10" rel="prev"`,
		`<a href="/sensors?lang=en&amp;sort=category&amp;page=2&amp;per=10" aria-current="page">2</a>`, `<option value="10" selected>`)
}

func TestListBadInput(t *testing.T) {
	p := newPages(t)
	sensors := demo.Sensors()
	for _, tt := range []struct {
		query string
		rows  int
		wants []string
	}{
		{"category=xyz&category=air", 3, []string{"Le filtre « xyz » est inconnu et a été ignoré.", `href="/sensors?lang=fr&amp;category=air"`}},
		{"status=draft", 12, []string{"Le filtre « draft » est inconnu"}},
		{"area=Atlantide", 12, []string{"Le filtre « Atlantide » est inconnu"}},
		{"page=0", 12, []string{"La page « 0 » n&#39;existe pas : voici la première."}},
		{"page=-1", 12, []string{"La page « -1 » n&#39;existe pas"}},
		{"page=abc", 12, []string{"La page « abc » n&#39;existe pas"}},
		{"page=1000000000", 12, []string{"La page 1\u202f000\u202f000\u202f000 n&#39;existe pas (il y en a 1) : voici la dernière."}},
		{"page=99999999999999999999999", 12, []string{"n&#39;existe pas"}},
		{"per=5&page=2", 2, []string{"Une page montre de 10 à 100 capteurs : 10 sont affichés."}},
		{"per=1000", 12, []string{"100 sont affichés"}},
		{"per=abc", 12, []string{"« abc » n&#39;est pas un nombre de capteurs par page : 50 sont affichés."}},
		{"sort=price&order=up", 12, []string{"Le tri « price » est inconnu", "L&#39;ordre « up » est inconnu"}},
		{"q=" + strings.Repeat("é", 300), 0, []string{"seuls ses 200 premiers caractères"}},
		{"category=" + strings.Repeat("<script>", 50), 12, []string{"&lt;script&gt;", "…"}},
	} {
		page := listPage(t, p, LangFR, tt.query, sensors)
		if n := len(rowNames(page)); n != tt.rows {
			t.Errorf("%.40s: %d rows, want %d", tt.query, n, tt.rows)
		}
		mustContain(t, page, append(tt.wants, `<div class="notices" role="alert">`)...)
		if strings.Contains(page, "<script>") {
			t.Errorf("%.40s: not escaped", tt.query)
		}
	}
	page := listPage(t, p, LangFR, "q="+strings.Repeat("a", 300), sensors)
	mustContain(t, page, `value="`+strings.Repeat("a", 200)+`"`)
	// Unknown parameters, and empty ones as a form sends them, are ignored
	// silently.
	if page := listPage(t, p, LangEN, "utm_source=x&lang=de&q=&category=&page=&per=&sort=&order=", sensors); strings.Contains(page, "notices") || len(rowNames(page)) != 12 {
		t.Error("an unknown or empty parameter gets a notice")
	}
}

func TestHomePage(t *testing.T) {
	p := newPages(t)
	sensors := demo.Sensors()
	at := time.Date(2025, 3, 4, 10, 30, 0, 0, time.UTC)
	changes := []Change{
		{SensorID: "parking-marche-01", Name: sensors[3].Name, Number: 2, ChangedAt: at, Summary: "commissioned_at, status", Status: "active", PreviousStatus: "draft"},
		{SensorID: "air-mairie-01", Name: sensors[0].Name, Number: 1, ChangedAt: at.Add(-time.Hour), Summary: "created", Status: "active"},
	}
	fr := render(t, func(b *bytes.Buffer) error {
		return p.Home(b, Request{Lang: LangFR, Path: HomePath}, NewPublished(sensors), changes)
	})
	mustContain(t, fr,
		"<strong>12 capteurs</strong>",
		"<a href=\"/sensors?lang=fr&amp;category=air\">Qualité de l&#39;air\u00a0: 3 capteurs</a>",
		"<a href=\"/sensors?lang=fr&amp;category=parking\">Stationnement\u00a0: 4 capteurs</a>",
		`<a href="/sensors?lang=fr&amp;ident=deidentified_at_source">2 capteurs</a>`,
		`Identifiant</span> Aucun capteur`,
		`action="/sensors"`, `name="q"`, `<label for="q">`,
		`href="/sensors?lang=fr"`, `href="/map?lang=fr"`,
		`<time datetime="2025-03-04T10:30:00Z">4 mars 2025 à 10:30</time>`,
		"Modifié : date de mise en service, statut (Brouillon → En service)",
		`href="/?lang=en"`,
	)
	for _, s := range sensors {
		mustContain(t, fr, templateEscape(s.Name.FR), `href="/sensors/`+s.ID+`?lang=fr"`)
	}
	if strings.Index(fr, "Modifié : date") > strings.Index(fr, "Création de la fiche") {
		t.Error("latest changes are not newest first")
	}
	en := render(t, func(b *bytes.Buffer) error {
		return p.Home(b, Request{Lang: LangEN, Path: HomePath}, NewPublished(sensors), nil)
	})
	mustContain(t, en, "<strong>12 sensors</strong>", "Air quality: 3 sensors", "No changes yet.", `href="/map?lang=en"`)
}

// The stylesheet as served keeps its rules, without comments, and is
// fingerprinted by its content.
func TestMinifiedCSS(t *testing.T) {
	got := string(minifyCSS([]byte("/* c */\na  b , c > d {\n  margin: calc(100% - 2rem) auto;\n  content: \" ▲ x\";\n}\n@media (min-width: 40rem) { p { x: 1 } }\n")))
	want := `a b,c>d{margin:calc(100% - 2rem) auto;content:" ▲ x";}@media (min-width:40rem){p{x:1}}`
	if got != want {
		t.Errorf("minifyCSS:\n got %s\nwant %s", got, want)
	}
	if !strings.HasPrefix(CSSURL, "/static/civisens.") || !strings.HasSuffix(CSSURL, ".css") || len(CSSURL) != len("/static/civisens.0123456789ab.css") {
		t.Errorf("CSSURL %q", CSSURL)
	}
	if len(css) >= len(cssSource) {
		t.Errorf("the served stylesheet is %d bytes, its source %d", len(css), len(cssSource))
	}
}
