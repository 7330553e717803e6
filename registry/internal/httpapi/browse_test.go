package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/demo"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/internal/web"
)

func TestHomePage(t *testing.T) {
	st := testStore(t)
	ctx := context.Background()
	cur, err := st.Get(ctx, "air-ecole-01")
	if err != nil {
		t.Fatal(err)
	}
	cur.Description.FR += " Révisée."
	if _, err := st.Update(ctx, cur, store.Change{ActorRole: catalog.RoleTechnician, Actor: "theo.quenouille", Reason: "relecture"}); err != nil {
		t.Fatal(err)
	}
	h := newHandler(t, st, nil)
	fr := get(t, h, "/")
	if fr.status != http.StatusOK || fr.header.Get("Content-Language") != "fr" {
		t.Fatalf("%d %v", fr.status, fr.header)
	}
	for _, want := range []string{
		"<strong>14 capteurs</strong>", // 12 in the demo town, one in maintenance, one retired; not the draft
		"<a href=\"/sensors?lang=fr&amp;category=air\">Qualité de l&#39;air\u00a0: 5 capteurs</a>",
		`<a href="/sensors?lang=fr&amp;ident=no_personal_data">12 capteurs</a>`,
		`action="/sensors"`, `href="/map?lang=fr"`, `href="/sensors?lang=fr"`,
		`<a href="/sensors/air-ecole-01?lang=fr">Qualité de l&#39;air – école Jules-Ferry</a> · Modifié : description</li>`,
	} {
		if !strings.Contains(fr.body, want) {
			t.Errorf("home page lacks %s", want)
		}
	}
	if i, j := strings.Index(fr.body, "Modifié : description"), strings.Index(fr.body, "Création de la fiche"); i < 0 || j < i {
		t.Error("the latest change is not first")
	}
	if strings.Contains(fr.body, "theo.quenouille") || strings.Contains(fr.body, "air-brouillon-01") {
		t.Error("the home page shows a name or a draft")
	}
	// The home page links each count to the list, which agrees.
	if got := strings.Count(get(t, h, "/sensors?lang=fr&category=air").body, `<th scope="row">`); got != 5 {
		t.Errorf("category=air lists %d, want 5", got)
	}
}

func TestSensorsPage(t *testing.T) {
	h := newHandler(t, testStore(t), nil)
	all := get(t, h, "/sensors")
	if all.status != http.StatusOK || strings.Count(all.body, `<th scope="row">`) != 14 || strings.Contains(all.body, "air-brouillon-01") {
		t.Fatalf("%d, %d rows", all.status, strings.Count(all.body, `<th scope="row">`))
	}
	for _, tt := range []struct {
		path  string
		rows  int
		wants []string
	}{
		{"/sensors?status=retired", 1, []string{"Capteur air-ancien-01", `Retiré du service <span class="n">(1)</span>`, `En service <span class="n">(12)</span>`}},
		{"/sensors?q=HOTEL+DE+VILLE&lang=en", 4, []string{`value="HOTEL DE VILLE"`, `<strong>4 sensors</strong>`,
			`href="/sensors?lang=fr&amp;q=HOTEL%20DE%20VILLE"`}}, // the language switch keeps the search
		{"/sensors?q=%C3%A9coles", 2, nil},
		{"/sensors?access=open&category=parking", 4, []string{`<link rel="canonical" href="/sensors?lang=fr&amp;category=parking&amp;access=open">`,
			`Pas en données ouvertes <span class="n">(0)</span>`}},
		{"/sensors?access=closed&category=parking", 0, []string{"Aucun capteur ne correspond à ces critères."}},
		{"/sensors?sort=status&order=desc&per=10", 10, []string{`aria-sort="descending"`, `rel="next"`, `href="/sensors?lang=fr&amp;sort=status&amp;order=desc&amp;page=2&amp;per=10"`}},
	} {
		a := get(t, h, tt.path)
		if a.status != http.StatusOK {
			t.Errorf("%s: %d", tt.path, a.status)
		}
		if n := strings.Count(a.body, `<th scope="row">`); n != tt.rows {
			t.Errorf("%s: %d rows, want %d", tt.path, n, tt.rows)
		}
		for _, w := range tt.wants {
			if !strings.Contains(a.body, w) {
				t.Errorf("%s lacks %s", tt.path, w)
			}
		}
	}
}

// Bad parameters get the page, with a notice, never an error.
func TestSensorsPageBadInput(t *testing.T) {
	h := newHandler(t, testStore(t), nil)
	for path, want := range map[string]string{
		"/sensors?category=xyz":                         "Le filtre « xyz » est inconnu et a été ignoré.",
		"/sensors?page=0":                               "La page « 0 » n&#39;existe pas",
		"/sensors?page=-1":                              "La page « -1 » n&#39;existe pas",
		"/sensors?page=1000000000":                      "n&#39;existe pas (il y en a 1) : voici la dernière.",
		"/sensors?page=abc&lang=en":                     "Page “abc” does not exist: here is the first.",
		"/sensors?per=0":                                "10 sont affichés",
		"/sensors?per=%00":                              "n&#39;est pas un nombre de capteurs par page",
		"/sensors?q=" + strings.Repeat("x", 5000):       "seuls ses 200 premiers caractères",
		"/sensors?sort=%3Cscript%3E":                    "Le tri « &lt;script&gt; » est inconnu",
		"/sensors?status=draft&status=draft":            "Le filtre « draft » est inconnu",
		"/sensors?area=%FF%FE":                          "est inconnu",
		"/sensors?" + strings.Repeat("purpose=x&", 500): "Le filtre « x » est inconnu",
	} {
		a := get(t, h, path)
		if a.status != http.StatusOK || !strings.Contains(a.body, want) {
			t.Errorf("%.60s: %d, lacks %q", path, a.status, want)
		}
	}
}

func TestPagesETag(t *testing.T) {
	h := newHandler(t, testStore(t), nil)
	for _, path := range []string{"/", "/sensors?category=air", "/sensors/air-mairie-01?lang=en"} {
		a := get(t, h, path)
		tag := a.header.Get("ETag")
		if a.status != http.StatusOK || !strings.HasPrefix(tag, `"`) || strings.HasPrefix(tag, "W/") {
			t.Fatalf("%s: %d, ETag %q", path, a.status, tag)
		}
		if b := get(t, h, path); b.header.Get("ETag") != tag {
			t.Errorf("%s: the ETag changes between two identical answers", path)
		}
		nm := get(t, h, path, "If-None-Match", `"other", `+tag)
		if nm.status != http.StatusNotModified || nm.body != "" || nm.header.Get("ETag") != tag {
			t.Errorf("%s: If-None-Match: %d, %d bytes", path, nm.status, len(nm.body))
		}
		if other := get(t, h, path, "If-None-Match", `"other"`); other.status != http.StatusOK || other.body != a.body {
			t.Errorf("%s: another ETag: %d", path, other.status)
		}
	}
	if en, fr := get(t, h, "/?lang=en").header.Get("ETag"), get(t, h, "/").header.Get("ETag"); en == fr {
		t.Error("the two languages share an ETag")
	}
}

func TestFingerprintedCSS(t *testing.T) {
	h := newHandler(t, testStore(t), nil)
	page := get(t, h, "/sensors").body
	if !strings.Contains(page, `<link rel="stylesheet" href="`+web.CSSURL+`">`) {
		t.Fatalf("the page does not link %s", web.CSSURL)
	}
	a := get(t, h, web.CSSURL)
	if a.status != http.StatusOK || a.header.Get("Cache-Control") != "public, max-age=31536000, immutable" || !strings.HasPrefix(a.header.Get("Content-Type"), "text/css") {
		t.Errorf("%s: %d %v", web.CSSURL, a.status, a.header)
	}
	if old := get(t, h, web.CSSPath); old.status != http.StatusOK || old.body != a.body {
		t.Errorf("%s: %d, or another stylesheet", web.CSSPath, old.status)
	}
}

// A list page of 100 entries, with its stylesheet, stays under 60 KB
// before compression.
func TestSensorsPageSizeBudget(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	town := demo.Sensors()
	for i := range 100 {
		s := town[i%len(town)]
		s.ID = fmt.Sprintf("%s-%03d", s.ID, i)
		if _, err := st.Create(ctx, s, store.Change{ActorRole: catalog.RoleSystem, Actor: "test", Reason: "charge"}); err != nil {
			t.Fatal(err)
		}
	}
	h := newHandler(t, st, nil)
	css := len(get(t, h, web.CSSURL).body)
	for _, lang := range []string{"fr", "en"} {
		a := get(t, h, "/sensors?per=100&lang="+lang)
		if n := strings.Count(a.body, `<th scope="row">`); n != 100 {
			t.Fatalf("%d rows, want 100", n)
		}
		total := len(a.body) + css
		t.Logf("%s: HTML %d + CSS %d = %d bytes", lang, len(a.body), css, total)
		if total > 60_000 {
			t.Errorf("%s: a page of 100 entries weighs %d bytes with its stylesheet, over 60 000", lang, total)
		}
	}
}
