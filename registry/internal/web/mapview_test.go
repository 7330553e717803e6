package web

import (
	"bytes"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/civisens/civisens/registry/internal/demo"
	"github.com/civisens/civisens/registry/registryapi"
)

// withLeaflet is a vendor folder as `make` fills it.
func withLeaflet(t *testing.T) *Vendor {
	t.Helper()
	v, err := NewVendor(fstest.MapFS{
		"README.md":                      {Data: []byte("placeholder")},
		"leaflet/leaflet.js":             {Data: []byte("window.L = {};")},
		"leaflet/leaflet.css":            {Data: []byte(".leaflet-container{}")},
		"leaflet/images/layers.png":      {Data: []byte("\x89PNG")},
		"leaflet/LICENSE":                {Data: []byte("BSD-2-Clause")},
		"leaflet/leaflet.js.map":         {Data: []byte("{}")}, // not served
		"leaflet/images/marker-icon.png": {Data: []byte("\x89PNG")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// withoutLeaflet is the vendor folder of a plain `go build`.
func withoutLeaflet(t *testing.T) *Vendor {
	t.Helper()
	v, err := NewVendor(fstest.MapFS{"README.md": {Data: []byte("placeholder")}})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

var mapDataRE = regexp.MustCompile(`(?s)<script type="application/json" id="map-data">(.*?)</script>`)

// mapDataOf returns the inline JSON of a map page.
func mapDataOf(t *testing.T, page string) mapData {
	t.Helper()
	m := mapDataRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the page has no map data")
	}
	var d mapData
	if err := json.Unmarshal([]byte(m[1]), &d); err != nil {
		t.Fatalf("map data: %v\n%s", err, m[1])
	}
	return d
}

func TestMapPageWithLeaflet(t *testing.T) {
	p := newPages(t)
	v := withLeaflet(t)
	js, css, ok := v.Leaflet()
	if !ok || !strings.HasPrefix(js, VendorPrefix+v.Fingerprint()+"/") || !strings.HasSuffix(css, "/leaflet/leaflet.css") {
		t.Fatalf("Leaflet() = %q, %q, %v", js, css, ok)
	}
	sensors := demo.Sensors()
	for _, lang := range []string{LangFR, LangEN} {
		page := render(t, func(b *bytes.Buffer) error {
			return p.Map(b, Request{Lang: lang, Path: MapPath}, Map{Sensors: sensors, Tiles: "http://127.0.0.1:1/{z}/{x}/{y}.png", Attribution: "test", Vendor: v})
		})
		mustContain(t, page, `<link rel="stylesheet" href="`+css+`">`, `<script src="`+js+`" defer></script>`,
			`<script src="`+MapJSPath+`" defer></script>`, `id="map"`, `id="map-legend"`, "<noscript>", `<caption>`, `id="map-list"`,
			`<th scope="row">`, `<label for="map-category">`, `<label for="map-q">`)
		d := mapDataOf(t, page)
		if len(d.Markers) != len(sensors) || d.Tiles != "http://127.0.0.1:1/{z}/{x}/{y}.png" || d.Labels["open"] == "" {
			t.Errorf("%s: map data: %d markers, tiles %q, labels %v", lang, len(d.Markers), d.Tiles, d.Labels)
		}
		for _, m := range d.Markers {
			if m.Name == "" || m.Lat == 0 || m.Words == "" || m.Mark == "" || !strings.HasPrefix(m.Class, "ident-") ||
				m.URL != SensorPath(m.ID)+"?lang="+lang {
				t.Errorf("%s: marker %+v", lang, m)
			}
		}
	}
	fr := render(t, func(b *bytes.Buffer) error {
		return p.Map(b, Request{Lang: LangFR, Path: MapPath}, Map{Sensors: sensors, Vendor: v})
	})
	mustContain(t, fr, `<p id="map-summary" class="visually-hidden" data-map-summary>12 capteurs affichés sur la carte.</p>`,
		"La carte a besoin de JavaScript : voici la liste des mêmes capteurs.", "Aucune donnée personnelle", `href="/map?lang=fr"`)
	if strings.Contains(fr, "data-map-fallback") {
		t.Error("the page with Leaflet says that the map is unavailable")
	}
}

// A plain `go build` has no Leaflet: the page says so, in a sentence, and
// lists the same entries; it loads no script.
func TestMapPageWithoutLeaflet(t *testing.T) {
	p := newPages(t)
	for _, v := range []*Vendor{nil, withoutLeaflet(t)} {
		if _, _, ok := v.Leaflet(); ok {
			t.Fatal("Leaflet found in an empty vendor folder")
		}
		sensors := demo.Sensors()[:3]
		page := render(t, func(b *bytes.Buffer) error {
			return p.Map(b, Request{Lang: LangFR, Path: MapPath}, Map{Sensors: sensors, Vendor: v})
		})
		mustContain(t, page, `<p class="map-note" data-map-fallback>La carte n&#39;est pas disponible sur ce serveur : voici la liste des mêmes capteurs.</p>`,
			"3 capteurs publiés.", `<caption>`)
		for _, s := range sensors {
			mustContain(t, page, `href="/sensors/`+s.ID+`?lang=fr"`)
		}
		for _, no := range []string{"<script", "leaflet", `id="map"`} {
			if strings.Contains(page, no) {
				t.Errorf("page without Leaflet has %q", no)
			}
		}
	}
	en := render(t, func(b *bytes.Buffer) error { return p.Map(b, Request{Lang: LangEN, Path: MapPath}, Map{}) })
	mustContain(t, en, "The map is not available on this server", "No published sensor matches this search.")
}

// An entry's name cannot end the JSON's script element, nor run.
func TestMapDataIsEscaped(t *testing.T) {
	p := newPages(t)
	s := demo.Sensors()[0]
	evil := `</script><script>alert(1)</script>`
	s.Name = registryapi.Text{FR: evil, EN: evil}
	page := render(t, func(b *bytes.Buffer) error {
		return p.Map(b, Request{Lang: LangFR, Path: MapPath}, Map{Sensors: []registryapi.Sensor{s}, Vendor: withLeaflet(t),
			Attribution: `</script><b>`})
	})
	if strings.Contains(page, "<script>alert(1)") || strings.Count(page, "</script>") != 3 { // leaflet.js, map.js, the data
		t.Errorf("the name escaped its element:\n%s", page)
	}
	d := mapDataOf(t, page)
	if len(d.Markers) != 1 || d.Markers[0].Name != evil || d.Attribution != `</script><b>` {
		t.Errorf("map data = %+v", d)
	}
	mustContain(t, page, `1 capteur affiché sur la carte.`, "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;")
}

func TestMapFilter(t *testing.T) {
	sensors := demo.Sensors()
	count := func(q string) int {
		v, err := url.ParseQuery(q)
		if err != nil {
			t.Fatal(err)
		}
		return len(NewPublished(sensors).Select(ParseMapFilter(v)))
	}
	byCat := map[string]int{}
	for _, s := range sensors {
		byCat[s.Category]++
	}
	for q, want := range map[string]int{
		"":                                    len(sensors),
		"category=air":                        byCat[registryapi.CategoryAir],
		"category=air&category=parking":       byCat[registryapi.CategoryAir] + byCat[registryapi.CategoryParking],
		"category=air&ident=no_personal_data": byCat[registryapi.CategoryAir],
		"category=&q=":                        len(sensors),
		"ident=identifiable":                  0,
		"status=retired":                      0,
		"q=AIR-MAIRIE":                        1,
		"q=zzz-nothing":                       0,
		"purpose=health":                      byCat[registryapi.CategoryAir],
		"basis=6-1-e&category=parking":        count("category=parking&ident=deidentified_at_source"),
		"sort=name&page=2":                    len(sensors), // the list's, not the map's
	} {
		if got := count(q); got != want {
			t.Errorf("?%s: %d sensors, want %d", q, got, want)
		}
	}
	nbh := sensors[0].Location.Neighbourhood
	if nbh == "" || count("area="+url.QueryEscape(nbh)) == 0 { // the list's values, exactly
		t.Errorf("area %q finds nothing", nbh)
	}
	open := 0
	for _, s := range sensors {
		if s.OpenData {
			open++
		}
	}
	if got := count("access=open"); open == 0 || got != open {
		t.Errorf("access=open (open data, as the list means it) finds %d, want the %d open-data entries", got, open)
	}
	f := ParseMapFilter(url.Values{"category": {"air", "air", " "}, "q": {" gare "}, "access": {"available_to_download"}})
	if got := f.Query().Encode(); got != "access=available_to_download&category=air&q=gare" {
		t.Errorf("Query() = %s", got)
	}
}

// The form keeps the facets it has no field for.
func TestMapFormKeepsOtherFacets(t *testing.T) {
	p := newPages(t)
	f := ParseMapFilter(url.Values{"purpose": {"health"}, "category": {"air"}, "area": {"Centre"}})
	page := render(t, func(b *bytes.Buffer) error {
		return p.Map(b, Request{Lang: LangEN, Path: MapPath}, Map{Sensors: NewPublished(demo.Sensors()).Select(f), Filter: f})
	})
	mustContain(t, page, `<input type="hidden" name="purpose" value="health">`, `<input type="hidden" name="area" value="Centre">`,
		`<option value="air" selected>`, `href="/map?lang=en">Show all</a>`)
	if strings.Contains(page, `name="category" value="air"`) {
		t.Error("the shown facet is a hidden field too")
	}
}

// The map's part of the catalogue overlaps no other part, and names every
// identifiability's letter.
func TestMapCatalogue(t *testing.T) {
	core, reps, prov := coreCatalogue(), reportsCatalogue(), provisionCatalogue()
	for lang, msgs := range mapCatalogue() {
		for k := range msgs {
			if _, ok := core[lang][k]; ok {
				t.Errorf("%s: %q is in the core catalogue too", lang, k)
			}
			if _, ok := reps[lang][k]; ok {
				t.Errorf("%s: %q is in the reports' catalogue too", lang, k)
			}
			if _, ok := prov[lang][k]; ok {
				t.Errorf("%s: %q is in the provisioning catalogue too", lang, k)
			}
		}
		for _, id := range []string{registryapi.Identifiable, registryapi.Pseudonymised, registryapi.DeidentifiedAtSource, registryapi.AggregateOnly, registryapi.NoPersonalData} {
			if msgs["map.mark."+id] == "" {
				t.Errorf("%s: no letter for %s", lang, id)
			}
		}
	}
}

func TestVendorFiles(t *testing.T) {
	v := withLeaflet(t)
	if b, ct, ok := v.File(v.Fingerprint(), "/leaflet/leaflet.js"); !ok || string(b) != "window.L = {};" || ct != "text/javascript; charset=utf-8" {
		t.Errorf("leaflet.js: %q %q %v", b, ct, ok)
	}
	if _, ct, ok := v.File(v.Fingerprint(), "leaflet/images/layers.png"); !ok || ct != "image/png" {
		t.Errorf("layers.png: %q %v", ct, ok)
	}
	for _, p := range []string{"README.md", "leaflet/leaflet.js.map", "leaflet/nothing.js", "../web.go"} {
		if _, _, ok := v.File(v.Fingerprint(), p); ok {
			t.Errorf("%s is served", p)
		}
	}
	if _, _, ok := v.File("0123456789abcdef", "leaflet/leaflet.js"); ok {
		t.Error("a stale fingerprint is served")
	}
	// The fingerprint follows the content.
	w, err := NewVendor(fstest.MapFS{"leaflet/leaflet.js": {Data: []byte("window.L = {v: 2};")}, "leaflet/leaflet.css": {Data: []byte("")}})
	if err != nil {
		t.Fatal(err)
	}
	if w.Fingerprint() == v.Fingerprint() || len(w.Fingerprint()) != 16 {
		t.Errorf("fingerprints %q, %q", v.Fingerprint(), w.Fingerprint())
	}
	// What this binary embeds: Leaflet after `make`, the README alone
	// after a plain `go build`; either way it loads.
	if _, err := EmbeddedVendor(); err != nil {
		t.Fatal(err)
	}
}

// The map selects as the list does: each word of q on its own, and a
// value the register does not know ignored (the list says so) rather than
// matching nothing.
func TestMapSelectsAsTheList(t *testing.T) {
	sensors := demo.Sensors()
	pub := NewPublished(sensors)
	count := func(q string) int {
		v, err := url.ParseQuery(q)
		if err != nil {
			t.Fatal(err)
		}
		return len(pub.Select(ParseMapFilter(v)))
	}
	if a, b := count("q=la+gare"), count("q=gare+la"); a == 0 || a != b {
		t.Errorf("q=la gare finds %d, q=gare la %d; want the same, not none", a, b)
	}
	if got := count("category=bogus"); got != len(sensors) {
		t.Errorf("category=bogus finds %d of %d", got, len(sensors))
	}
	if got, want := count("category=bogus&category=air"), count("category=air"); got != want {
		t.Errorf("category=bogus&category=air finds %d, category=air %d", got, want)
	}
}
