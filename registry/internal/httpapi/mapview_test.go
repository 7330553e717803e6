package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/demo"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/internal/web"
	"github.com/civisens/civisens/registry/registryapi"
)

// leafletVendor is a vendor folder as `make` fills it; emptyVendor the one
// of a plain `go build`.
func leafletVendor(t *testing.T) *web.Vendor {
	t.Helper()
	v, err := web.NewVendor(fstest.MapFS{
		"README.md":                 {Data: []byte("placeholder")},
		"leaflet/leaflet.js":        {Data: []byte("window.L = {};")},
		"leaflet/leaflet.css":       {Data: []byte(".leaflet-control-layers-toggle{background-image:url(images/layers.png)}")},
		"leaflet/images/layers.png": {Data: []byte("\x89PNG")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func emptyVendor(t *testing.T) *web.Vendor {
	t.Helper()
	v, err := web.NewVendor(fstest.MapFS{"README.md": {Data: []byte("placeholder")}})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func newMapHandler(t *testing.T, st Sensors, m MapDeps) http.Handler {
	t.Helper()
	h, err := NewHandler(Deps{Sensors: st, PublicURL: publicURL, Map: m})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

var mapDataRE = regexp.MustCompile(`(?s)<script type="application/json" id="map-data">(.*?)</script>`)

type mapJSON struct {
	Tiles, Attribution string
	Markers            []struct{ ID, Name, Class, Words, URL string }
}

func mapJSONOf(t *testing.T, body string) mapJSON {
	t.Helper()
	m := mapDataRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no map data in\n%s", body)
	}
	var d mapJSON
	if err := json.Unmarshal([]byte(m[1]), &d); err != nil {
		t.Fatalf("map data: %v", err)
	}
	return d
}

func TestMapPage(t *testing.T) {
	st := testStore(t)
	ctx := context.Background()
	evil := demo.Sensors()[0]
	evil.ID = "air-evil-01"
	evil.Name = registryapi.Text{FR: `</script><script>alert(1)</script>`, EN: `</script><script>alert(1)</script>`}
	if _, err := st.Create(ctx, evil, store.Change{ActorRole: catalog.RoleTechnician, Actor: "tech", Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	v := leafletVendor(t)
	h := newMapHandler(t, st, MapDeps{Tiles: "http://127.0.0.1:9/{z}/{x}/{y}.png", Attribution: "tuiles de test", Vendor: v})

	r := get(t, h, web.MapPath)
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /map: %d %s", r.status, r.header.Get("Content-Type"))
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' http://127.0.0.1:9;") || !strings.Contains(csp, "script-src 'self';") {
		t.Errorf("CSP %q", csp)
	}
	js, css, _ := v.Leaflet()
	for _, want := range []string{js, css, web.MapJSPath, "15 capteurs affichés sur la carte.", "<noscript>", `href="/sensors/air-evil-01?lang=fr"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the map page lacks %q", want)
		}
	}
	if strings.Contains(r.body, "<script>alert(1)") {
		t.Error("an entry's name escaped the JSON")
	}
	d := mapJSONOf(t, r.body)
	if len(d.Markers) != 15 || d.Tiles != "http://127.0.0.1:9/{z}/{x}/{y}.png" || d.Attribution != "tuiles de test" {
		t.Errorf("map data: %d markers, %q, %q", len(d.Markers), d.Tiles, d.Attribution)
	}
	for _, m := range d.Markers {
		if m.ID == "air-brouillon-01" {
			t.Error("a draft is on the map")
		}
		if m.ID == "air-evil-01" && m.Name != evil.Name.FR {
			t.Errorf("evil name %q", m.Name)
		}
	}

	// The list's filters.
	r = get(t, h, web.MapPath+"?category=parking&lang=en")
	d = mapJSONOf(t, r.body)
	for _, m := range d.Markers {
		if !strings.HasPrefix(m.ID, "parking-") || !strings.HasSuffix(m.URL, "?lang=en") {
			t.Errorf("?category=parking shows %s (%s)", m.ID, m.URL)
		}
	}
	if len(d.Markers) == 0 || !strings.Contains(r.body, "sensors shown on the map.") {
		t.Errorf("?category=parking: %d markers", len(d.Markers))
	}
	r = get(t, h, web.MapPath+"?status=retired&q=ancien")
	if d = mapJSONOf(t, r.body); len(d.Markers) != 1 || d.Markers[0].ID != "air-ancien-01" || !strings.Contains(r.body, "1 capteur affiché sur la carte.") {
		t.Errorf("?status=retired&q=ancien: %+v", d.Markers)
	}
	r = get(t, h, web.MapPath+"?q=nothing-matches")
	if strings.Contains(r.body, `id="map-data"`) || !strings.Contains(r.body, "Aucun capteur publié ne correspond à cette recherche.") {
		t.Error("an empty selection draws a map, or says nothing")
	}

	// The script.
	r = get(t, h, web.MapJSPath)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "text/javascript; charset=utf-8" || !strings.Contains(r.body, "map-data") {
		t.Errorf("GET %s: %d %q", web.MapJSPath, r.status, r.header.Get("Content-Type"))
	}
}

func TestMapPageWithoutLeaflet(t *testing.T) {
	h := newMapHandler(t, testStore(t), MapDeps{Vendor: emptyVendor(t)})
	r := get(t, h, web.MapPath+"?category=air&lang=en")
	if r.status != http.StatusOK {
		t.Fatalf("GET /map: %d", r.status)
	}
	for _, want := range []string{"The map is not available on this server: here is the list of the same sensors.", `href="/sensors/air-mairie-01?lang=en"`, "<caption>"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	for _, no := range []string{"<script", "parking-"} {
		if strings.Contains(r.body, no) {
			t.Errorf("the page has %q", no)
		}
	}
	// Without tiles, the page admits images from itself alone.
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self';") {
		t.Errorf("CSP %q", csp)
	}
	if r := get(t, h, web.VendorPrefix+emptyVendor(t).Fingerprint()+"/leaflet/leaflet.js"); r.status != http.StatusNotFound {
		t.Errorf("leaflet.js without Leaflet: %d", r.status)
	}
}

// Leaflet is served at a URL that changes with its content, cached for a
// year; leaflet.css finds its images beside it.
func TestVendorServed(t *testing.T) {
	v := leafletVendor(t)
	h := newMapHandler(t, testStore(t), MapDeps{Vendor: v})
	js, css, _ := v.Leaflet()
	for path, ctype := range map[string]string{
		js:  "text/javascript; charset=utf-8",
		css: "text/css; charset=utf-8",
		web.VendorPrefix + v.Fingerprint() + "/leaflet/images/layers.png": "image/png",
	} {
		r := get(t, h, path)
		if r.status != http.StatusOK || r.header.Get("Content-Type") != ctype {
			t.Errorf("GET %s: %d %q", path, r.status, r.header.Get("Content-Type"))
		}
		if cc := r.header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s: Cache-Control %q", path, cc)
		}
		if r := get(t, h, path, "If-None-Match", r.header.Get("ETag")); r.status != http.StatusNotModified {
			t.Errorf("GET %s If-None-Match: %d", path, r.status)
		}
	}
	for _, path := range []string{
		web.VendorPrefix + "0000000000000000/leaflet/leaflet.js", // stale fingerprint
		web.VendorPrefix + v.Fingerprint() + "/README.md",
		web.VendorPrefix + v.Fingerprint() + "/../civisens.css",
	} {
		if r := get(t, h, path); r.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, r.status)
		}
	}
}

func TestTileOrigin(t *testing.T) {
	for tiles, want := range map[string]string{
		"https://tile.openstreetmap.org/{z}/{x}/{y}.png":          "https://tile.openstreetmap.org",
		"https://{s}.tile.openstreetmap.fr/osmfr/{z}/{x}/{y}.png": "https://*.tile.openstreetmap.fr",
		"http://127.0.0.1:8081/tiles/{z}/{x}/{y}{r}.png":          "http://127.0.0.1:8081",
	} {
		if got, err := TileOrigin(tiles); err != nil || got != want {
			t.Errorf("TileOrigin(%q) = %q, %v; want %q", tiles, got, err, want)
		}
	}
	for _, bad := range []string{"tile.openstreetmap.org/{z}/{x}/{y}.png", "ftp://x/{z}", "javascript:alert(1)"} {
		if _, err := TileOrigin(bad); err == nil {
			t.Errorf("TileOrigin(%q) accepted", bad)
		}
		if _, err := NewHandler(Deps{Sensors: testStore(t), Map: MapDeps{Tiles: bad}}); err == nil {
			t.Errorf("NewHandler with tiles %q accepted", bad)
		}
	}
}
