package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/civisens/civisens/registry/internal/auth"
	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/opendata"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/registryapi"
)

// trickyText is text that breaks naive CSV, JSON-in-HTML and SQL.
const trickyText = `Virgule, "guillemets", <script>alert('x')</script>; ' OR 1=1; DROP TABLE sensors; -- é`

// addTricky publishes an entry full of tricky text, and a draft that no
// export may show.
func addTricky(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	s, err := st.Get(ctx, "air-gare-01")
	if err != nil {
		t.Fatal(err)
	}
	s.ID = "air-piege-01"
	s.Name.FR = trickyText
	s.Description.EN = "=1+1\nsecond line, with a comma"
	s.Model = "@SUM(A1)"
	s.Location.Address = "12, rue \"des\" Écoles\nBâtiment B"
	ch := store.Change{ActorRole: catalog.RoleTechnician, Actor: "tech-piege", Reason: "pose"}
	if _, err := st.Create(ctx, s, ch); err != nil {
		t.Fatal(err)
	}
	s.ID, s.Status, s.Name.FR = "air-brouillon-99", registryapi.StatusDraft, "Brouillon secret"
	if _, err := st.Create(ctx, s, ch); err != nil {
		t.Fatal(err)
	}
}

func TestOpenDataExports(t *testing.T) {
	e := newAuthEnv(t)
	addTricky(t, e.st)
	list := decode[registryapi.SensorList](t, e.send(http.MethodGet, registryapi.PathSensors, nil).answer)
	if len(list.Sensors) < 13 {
		t.Fatalf("%d published entries", len(list.Sensors))
	}
	// CSV: parses back into the same entries as the JSON list.
	a := e.send(http.MethodGet, registryapi.PathSensorsCSV, nil)
	if a.status != http.StatusOK || a.header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("CSV: %d %s", a.status, a.header.Get("Content-Type"))
	}
	if cd := a.header.Get("Content-Disposition"); cd != `attachment; filename="registre-capteurs.csv"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	records, err := opendata.ReadCSV(strings.NewReader(a.body))
	if err != nil {
		t.Fatal(err)
	}
	var fromCSV []registryapi.Sensor
	for _, r := range records {
		s, problems := r.Sensor()
		if len(problems) > 0 {
			t.Errorf("line %d: %v", r.Line, problems)
		}
		fromCSV = append(fromCSV, s)
	}
	if d := cmp.Diff(list.Sensors, fromCSV, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("CSV export (-JSON +CSV):\n%s", d)
	}
	if !strings.Contains(a.body, `"Virgule, ""guillemets"", <script>`) || !strings.Contains(a.body, `"'=1+1`) {
		t.Error("the CSV does not quote, or does not protect formulas")
	}

	// GeoJSON: the same entries, [lon, lat].
	g := e.send(http.MethodGet, registryapi.PathSensorsGeoJSON, nil)
	if g.status != http.StatusOK || g.header.Get("Content-Type") != "application/geo+json" {
		t.Fatalf("GeoJSON: %d %s", g.status, g.header.Get("Content-Type"))
	}
	fc := decode[opendata.FeatureCollection](t, g.answer)
	var props []registryapi.Sensor
	for i, f := range fc.Features {
		props = append(props, f.Properties)
		s := list.Sensors[i]
		if f.ID != s.ID || f.Geometry == nil || f.Geometry.Type != "Point" {
			t.Errorf("feature %d: %s %+v", i, f.ID, f.Geometry)
			continue
		}
		if d := cmp.Diff([]any{s.Location.Lon, s.Location.Lat}, f.Geometry.Coordinates); d != "" {
			t.Errorf("%s: coordinates (-want +got):\n%s", s.ID, d)
		}
	}
	if d := cmp.Diff(list.Sensors, props); d != "" {
		t.Errorf("GeoJSON properties (-JSON +GeoJSON):\n%s", d)
	}
	if strings.Contains(g.body, "<script>") {
		t.Error("the GeoJSON carries < unescaped")
	}

	// DCAT-AP.
	c := e.send(http.MethodGet, registryapi.PathCatalog, nil)
	if c.status != http.StatusOK || c.header.Get("Content-Type") != "application/ld+json" {
		t.Fatalf("catalogue: %d %s", c.status, c.header.Get("Content-Type"))
	}
	var cat map[string]any
	if err := json.Unmarshal([]byte(c.body), &cat); err != nil {
		t.Fatal(err)
	}
	if cat["@type"] != "dcat:Catalog" || cat["@id"] != publicURL+registryapi.PathCatalog {
		t.Errorf("catalogue %v %v", cat["@type"], cat["@id"])
	}
	if n := len(cat["dcat:dataset"].([]any)); n != 1+len(list.Sensors) { // every published entry has open data
		t.Errorf("%d datasets, want %d", n, 1+len(list.Sensors))
	}
	if !strings.Contains(c.body, `"dcat:landingPage":{"@id":"`+publicURL+`/sensors/air-mairie-01"}`) {
		t.Error("a readings dataset does not land on its entry's stable URL")
	}

	// No draft anywhere; each export has an ETag and honours If-None-Match.
	for _, p := range []string{registryapi.PathSensorsCSV, registryapi.PathSensorsGeoJSON, registryapi.PathCatalog, registryapi.PathOpenAPI} {
		r := e.send(http.MethodGet, p, nil)
		if strings.Contains(r.body, "air-brouillon-99") || strings.Contains(r.body, "Brouillon secret") {
			t.Errorf("%s shows a draft", p)
		}
		etag := r.header.Get("ETag")
		if !strings.HasPrefix(etag, `"`) {
			t.Errorf("%s: ETag %q", p, etag)
		}
		if nm := e.send(http.MethodGet, p, nil, "If-None-Match", etag); nm.status != http.StatusNotModified || nm.body != "" {
			t.Errorf("%s with If-None-Match: %d", p, nm.status)
		}
	}

	// A change of the register changes the exports' ETags.
	before := a.header.Get("ETag")
	s, _ := e.st.Get(context.Background(), "air-mairie-01")
	s.Description.FR += " Modifiée."
	if _, err := e.st.Update(context.Background(), s, store.Change{ActorRole: catalog.RoleTechnician, Reason: "x"}); err != nil {
		t.Fatal(err)
	}
	if after := e.send(http.MethodGet, registryapi.PathSensorsCSV, nil, "If-None-Match", before); after.status != http.StatusOK || after.header.Get("ETag") == before {
		t.Errorf("after a change: %d, ETag %s", after.status, after.header.Get("ETag"))
	}

	// The routes sensors.csv, sensors.geojson and sensors/:id live together.
	if r := e.send(http.MethodGet, registryapi.PathSensors+"/air-mairie-01", nil); r.status != http.StatusOK {
		t.Errorf("entry: %d", r.status)
	}
	for _, p := range []string{registryapi.PathSensors + ".xml", registryapi.PathSensors + ".csv/x"} {
		wantProblem(t, e.send(http.MethodGet, p, nil).answer, http.StatusNotFound)
	}
}

// No export carries a credential, a hash, or a staff member's name.
func TestExportsCarryNoCredential(t *testing.T) {
	e := newAuthEnv(t)
	ctx := context.Background()
	e.account("jeanne.martin", "Jeanne Martin", auth.RoleTechnician, "a long enough password")
	tok := e.token("Script de Jeanne", auth.RoleTechnician)
	s, _ := e.st.Get(ctx, "air-mairie-01")
	s.Model += " v2"
	if _, err := e.st.Update(ctx, s, store.Change{ActorRole: catalog.RoleTechnician, Actor: "jeanne.martin", Reason: "changement de modèle"}); err != nil {
		t.Fatal(err)
	}
	body := "id,source_ref,model\nair-ecole-01,INV-77,Autre modèle\n"
	if r := e.send(http.MethodPost, registryapi.PathImport, strings.NewReader(body), "Authorization", "Bearer "+tok, "Content-Type", "text/csv"); r.status != http.StatusOK {
		t.Fatalf("import: %d %s", r.status, r.body)
	}
	accs, _ := e.st.ListAccounts(ctx)
	forbidden := []string{"$argon2", "$2a$", "$2b$", "$2y$", "password", "jeanne.martin", "Jeanne Martin", "Script de Jeanne",
		tok, auth.HashToken(tok), "INV-77", accs[0].PasswordHash}
	for _, p := range []string{registryapi.PathSensors, registryapi.PathSensors + "/air-mairie-01", registryapi.PathSensors + "/air-ecole-01",
		registryapi.PathSensorsCSV, registryapi.PathSensorsGeoJSON, registryapi.PathCatalog, registryapi.PathOpenAPI} {
		r := e.send(http.MethodGet, p, nil)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d", p, r.status)
		}
		for _, f := range forbidden {
			if f == "password" && p == registryapi.PathOpenAPI {
				continue // the word names a field of the MQTT credentials' answer (shown once); no password is in it
			}
			if strings.Contains(strings.ToLower(r.body), strings.ToLower(f)) {
				t.Errorf("%s contains %q", p, f)
			}
		}
	}
}

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	e := newAuthEnv(t)
	a := e.send(http.MethodGet, registryapi.PathOpenAPI, nil)
	if a.status != http.StatusOK || a.header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %s", a.status, a.header.Get("Content-Type"))
	}
	var doc struct {
		OpenAPI    string                               `json:"openapi"`
		Servers    []struct{ URL string }               `json:"servers"`
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(a.body), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" || len(doc.Servers) != 1 || doc.Servers[0].URL != publicURL {
		t.Errorf("openapi %q servers %v", doc.OpenAPI, doc.Servers)
	}
	var routes, described []string
	for _, rt := range e.h.(*gin.Engine).Routes() {
		if strings.HasPrefix(rt.Path, "/api/") {
			routes = append(routes, rt.Method+" "+openAPIPath(rt.Path))
		}
	}
	for p, item := range doc.Paths {
		for method, op := range item {
			described = append(described, strings.ToUpper(method)+" "+p)
			if op["summary"] == "" || op["responses"] == nil {
				t.Errorf("%s %s has no summary or responses", method, p)
			}
		}
	}
	slices.Sort(routes)
	slices.Sort(described)
	if d := cmp.Diff(routes, described); d != "" {
		t.Errorf("routes under /api (-routes.go +openapi.json):\n%s", d)
	}
	for _, want := range []string{"Sensor", "SensorList", "Problem", "AllowList", "ImportReport", "FeatureCollection", "Quantity"} {
		if doc.Components.Schemas[want] == nil {
			t.Errorf("no schema %s", want)
		}
	}
	// Every $ref resolves.
	for _, ref := range regexpAll(a.body, `"\$ref":"#/components/schemas/([A-Za-z]+)"`) {
		if doc.Components.Schemas[ref] == nil {
			t.Errorf("$ref %s does not resolve", ref)
		}
	}
	// The schema of an entry has every field of the contract.
	sensor := doc.Components.Schemas["Sensor"].(map[string]any)["properties"].(map[string]any)
	b, _ := json.Marshal(registryapi.Sensor{})
	var fields map[string]any
	json.Unmarshal(b, &fields)
	for f := range fields {
		if sensor[f] == nil {
			t.Errorf("the Sensor schema lacks %s", f)
		}
	}
}

func regexpAll(s, expr string) []string {
	var out []string
	for _, m := range regexp.MustCompile(expr).FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestImportAPI(t *testing.T) {
	e := newAuthEnv(t)
	ctx := context.Background()
	tech := e.token("inventaire", auth.RoleTechnician)
	gateway := e.token("passerelle", auth.RoleGateway)
	post := func(query, contentType, body string, header ...string) reply {
		t.Helper()
		return e.send(http.MethodPost, registryapi.PathImport+query, strings.NewReader(body),
			append([]string{"Content-Type", contentType}, header...)...)
	}
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }
	file := "id,source_ref,status,category,name_fr,retention\n" +
		"air-import-01,INV-1,draft,air,\"Importé, avec <b>gras</b>\",P1Y\n" +
		"air-import-02,INV-2,active,air,Incomplet,\n" +
		"air-mairie-01,,,,,\n"

	// Who may import.
	wantProblem(t, post("", "text/csv", file).answer, http.StatusUnauthorized)
	wantProblem(t, post("", "text/csv", file, bearer(gateway)...).answer, http.StatusForbidden)

	// A dry run reports and writes nothing.
	r := post("?dry_run=true&filename=C:\\inventaires\\inventaire.csv", "text/csv; charset=utf-8", file, bearer(tech)...)
	if r.status != http.StatusOK || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("dry run: %d %s", r.status, r.body)
	}
	rep := decode[registryapi.ImportReport](t, r.answer)
	var got []string
	for _, row := range rep.Rows {
		got = append(got, fmt.Sprintf("%d %s %s", row.Line, row.ID, row.Action))
	}
	want := []string{"2 air-import-01 create", "3 air-import-02 refused", "4 air-mairie-01 refused"}
	if d := cmp.Diff(want, got); d != "" || !rep.DryRun || rep.File != "inventaire.csv" {
		t.Errorf("dry run %s %v (-want +got):\n%s", rep.File, rep.DryRun, d)
	}
	if _, err := e.st.Get(ctx, "air-import-01"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the dry run wrote: %v", err)
	}

	// The import, then again: unchanged.
	r = post("?filename=inventaire.csv", "text/csv", file, bearer(tech)...)
	rep = decode[registryapi.ImportReport](t, r.answer)
	if rep.Created != 1 || rep.Refused != 2 || rep.DryRun {
		t.Errorf("import: %+v", rep)
	}
	s, err := e.st.Get(ctx, "air-import-01")
	if err != nil || s.Name.FR != "Importé, avec <b>gras</b>" {
		t.Errorf("imported %q, %v", s.Name.FR, err)
	}
	vs, _ := e.st.Versions(ctx, "air-import-01")
	if vs[0].ActorRole != "technician" || vs[0].Actor != "token:inventaire" || vs[0].Reason != "import inventaire.csv" {
		t.Errorf("version %+v", vs[0])
	}
	rep = decode[registryapi.ImportReport](t, post("?filename=inventaire.csv&reason=Reprise+de+l'inventaire", "text/csv", file, bearer(tech)...).answer)
	if rep.Unchanged != 1 || rep.Created+rep.Updated != 0 {
		t.Errorf("second import: %+v", rep)
	}

	// GeoJSON.
	geo := `{"type":"FeatureCollection","features":[{"type":"Feature","id":"air-import-03","geometry":{"type":"Point","coordinates":[2.05,46.95]},"properties":{"category":"air"}}]}`
	rep = decode[registryapi.ImportReport](t, post("", "application/geo+json", geo, bearer(tech)...).answer)
	if rep.Created != 1 || rep.File != "import.geojson" {
		t.Errorf("GeoJSON import: %+v", rep)
	}

	// Bad input.
	for _, c := range []struct {
		name, query, contentType, body string
		status                         int
		says                           string
	}{
		{"wrong field count", "", "text/csv", "id,name_fr\nair-a-01,A\nair-b-01,B,C\n", 400, "line 3"},
		{"bad quoting", "", "text/csv", "id,name_fr\nair-a-01,A \"B\"\n", 400, "line 2"},
		{"not GeoJSON", "", "application/geo+json", "{\n\"type\": \"Feature\"}", 400, "line 1"},
		{"content type", "", "application/vnd.ms-excel", file, 415, "CSV"},
		{"dry_run", "?dry_run=peut-etre", "text/csv", file, 400, "dry_run"},
		{"reason", "?reason=a%0Ab", "text/csv", file, 400, "reason"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := post(c.query, c.contentType, c.body, bearer(tech)...)
			wantProblem(t, r.answer, c.status)
			if !strings.Contains(r.body, c.says) {
				t.Errorf("%s does not say %q", r.body, c.says)
			}
		})
	}
}

func TestImportBodyLimit(t *testing.T) {
	e := newAuthEnv(t)
	h, err := NewHandler(Deps{Sensors: e.st, PublicURL: publicURL, ImportMaxBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	e.h = h
	tok := e.token("gros", auth.RoleTechnician)
	big := "id,name_fr\n" + strings.Repeat("air-gros-01,"+strings.Repeat("x", 100)+"\n", 20)
	r := e.send(http.MethodPost, registryapi.PathImport, strings.NewReader(big), "Authorization", "Bearer "+tok, "Content-Type", "text/csv")
	wantProblem(t, r.answer, http.StatusRequestEntityTooLarge)
	if _, err := e.st.Get(context.Background(), "air-gros-01"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an oversized body was imported: %v", err)
	}
	small := "id,category\nair-petit-01,air\n"
	if r := e.send(http.MethodPost, registryapi.PathImport, strings.NewReader(small), "Authorization", "Bearer "+tok, "Content-Type", "text/csv"); r.status != http.StatusOK {
		t.Errorf("a small body: %d %s", r.status, r.body)
	}
}
