package importer

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/demo"
	"github.com/civisens/civisens/registry/internal/opendata"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/registryapi"
)

func testStore(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if ok, err := demo.Seed(ctx, st); !ok || err != nil {
		t.Fatalf("seed: %v %v", ok, err)
	}
	return st
}

var cli = store.Change{ActorRole: catalog.RoleAdministrator, Actor: "cli"}

func options(file string, dryRun bool) Options {
	return Options{File: file, DryRun: dryRun, Change: cli, Territory: demo.Territory()}
}

// csvFile writes sensors in the export's columns plus source_ref (refs[i]
// for sensors[i]), then lets edit change cells by column name.
func csvFile(t *testing.T, sensors []registryapi.Sensor, refs []string, edit func(row int, set func(col, v string))) []byte {
	t.Helper()
	var exp bytes.Buffer
	if err := opendata.WriteCSV(&exp, sensors); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&exp).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	recs[0] = append(recs[0], opendata.ColumnSourceRef)
	for i := 1; i < len(recs); i++ {
		recs[i] = append(recs[i], refs[i-1])
		if edit != nil {
			edit(i-1, func(col, v string) { recs[i][slices.Index(recs[0], col)] = v })
		}
	}
	var out bytes.Buffer
	w := csv.NewWriter(&out)
	w.WriteAll(recs)
	return out.Bytes()
}

func demoEntry(t *testing.T, id string) registryapi.Sensor {
	for _, s := range demo.Sensors() {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no demo entry %s", id)
	return registryapi.Sensor{}
}

func run(t *testing.T, st Store, f Format, data []byte, o Options) registryapi.ImportReport {
	t.Helper()
	records, err := Read(f, data)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(context.Background(), st, records, o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// summary is a row as the test states it: line, id, action, and the
// fields of its reasons.
type summary struct {
	Line    int
	ID      string
	Action  string
	Fields  []string
	Changes []string
}

func summarize(r registryapi.ImportReport) []summary {
	var out []summary
	for _, row := range r.Rows {
		var fields []string
		for _, e := range row.Reasons {
			fields = append(fields, e.Field)
		}
		out = append(out, summary{row.Line, row.ID, row.Action, fields, row.Changes})
	}
	return out
}

// inventory is a file with good, broken and duplicate rows; each row is
// on one line (line = row index + 2).
func inventory(t *testing.T) []byte {
	neuf := demoEntry(t, "air-mairie-01")
	neuf.ID = "air-neuf-01"
	renamed := demoEntry(t, "air-ecole-01")
	renamed.Name.FR = "Qualité de l'air – école Jules-Ferry (cour)"
	draft := registryapi.Sensor{ID: "air-brouillon-01", Category: "air", Name: registryapi.Text{FR: "<script>alert(1)</script>, « brouillon »"}}
	incomplete := demoEntry(t, "air-gare-01")
	incomplete.ID = "air-incomplet-01"
	incomplete.Retention = "1 an"
	incomplete.Description.EN = ""
	incomplete.LegalBasis = registryapi.BasisLegitimateInterest
	incomplete.Identifiability = registryapi.Identifiable
	dup := demoEntry(t, "parking-gare-01")
	dup.ID = "parking-double-01"
	badCell := demoEntry(t, "parking-gare-02")
	badCell.ID = "parking-virgule-01"
	weather := demoEntry(t, "eclairage-lise-01")
	weather.ID = "meteo-01"
	weather.Category = "weather"
	weather.Status = registryapi.StatusDraft
	unpublish := demoEntry(t, "eclairage-lise-02")
	unpublish.Status = registryapi.StatusDraft
	outside := demoEntry(t, "eclairage-parc-01")
	outside.ID = "eclairage-ailleurs-01"
	outside.Location.Lat, outside.Location.Lon = 48.8566, 2.3522

	sensors := []registryapi.Sensor{
		neuf,                          // 2 create
		demoEntry(t, "air-mairie-01"), // 3 unchanged
		renamed,                       // 4 update
		draft,                         // 5 create (a draft needs little)
		incomplete,                    // 6 refused: publication rules
		dup,                           // 7 refused: same id as line 8
		dup,                           // 8 refused: same id as line 7
		badCell,                       // 9 refused: unreadable lat
		weather,                       // 10 refused: category
		unpublish,                     // 11 refused: back to draft
		outside,                       // 12 refused: outside the territory
		neuf,                          // 13 refused: same source_ref as line 14, and same id as line 2
		neuf,                          // 14
	}
	refs := []string{"INV-1", "", "INV-4", "", "INV-6", "", "", "", "", "", "", "INV-13", "INV-13"}
	return csvFile(t, sensors, refs, func(row int, set func(col, v string)) {
		switch row {
		case 7:
			set("lat", "46,9396")
		case 11, 12:
			set("id", "air-neuf-02")
		}
	})
}

func wantInventory(dryRun bool) []summary {
	return []summary{
		{2, "air-neuf-01", "create", nil, nil},
		{3, "air-mairie-01", "unchanged", nil, nil},
		{4, "air-ecole-01", "update", nil, []string{"name"}},
		{5, "air-brouillon-01", "create", nil, nil},
		{6, "air-incomplet-01", "refused", []string{"description.en", "dpia_reference", "legal_basis", "privacy_notice_url", "art30_record", "retention"}, nil},
		{7, "parking-double-01", "refused", []string{"id"}, nil},
		{8, "parking-double-01", "refused", []string{"id"}, nil},
		{9, "parking-virgule-01", "refused", []string{"lat"}, nil},
		{10, "meteo-01", "refused", []string{"category"}, nil},
		{11, "eclairage-lise-02", "refused", []string{"status"}, nil},
		{12, "eclairage-ailleurs-01", "refused", []string{"location"}, nil},
		{13, "air-neuf-02", "refused", []string{"id", "source_ref"}, nil},
		{14, "air-neuf-02", "refused", []string{"id", "source_ref"}, nil},
	}
}

func TestDryRunReportsRowByRow(t *testing.T) {
	ctx := context.Background()
	st := testStore(t)
	before, _ := st.List(ctx)
	r := run(t, st, CSV, inventory(t), options("inventaire.csv", true))
	if d := cmp.Diff(wantInventory(true), summarize(r)); d != "" {
		t.Errorf("report (-want +got):\n%s", d)
	}
	if r.Created != 2 || r.Updated != 1 || r.Unchanged != 1 || r.Refused != 9 || !r.DryRun || r.File != "inventaire.csv" {
		t.Errorf("totals %+v", r)
	}
	for _, row := range r.Rows {
		for _, e := range row.Reasons {
			if e.Message == "" {
				t.Errorf("line %d: reason without words: %+v", row.Line, e)
			}
		}
	}
	// The duplicates name each other's line.
	if msg := r.Rows[5].Reasons[0].Message; !strings.Contains(msg, "line 8") {
		t.Errorf("line 7's reason %q does not name line 8", msg)
	}
	// Nothing written.
	after, _ := st.List(ctx)
	if d := cmp.Diff(before, after); d != "" {
		t.Errorf("a dry run changed the register:\n%s", d)
	}
	if refs, _ := st.SourceRefs(ctx); len(refs) != 0 {
		t.Errorf("a dry run wrote refs %v", refs)
	}

	var text bytes.Buffer
	if err := WriteText(&text, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"dry run", "line 6\tair-incomplet-01\trefused", "\tretention: ", "2 created, 1 updated, 1 unchanged, 9 refused"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
}

func TestImportIsIdempotent(t *testing.T) {
	ctx := context.Background()
	st := testStore(t)
	file := inventory(t)
	first := run(t, st, CSV, file, options("inventaire.csv", false))
	if d := cmp.Diff(wantInventory(false), summarize(first)); d != "" {
		t.Errorf("first import (-want +got):\n%s", d)
	}
	for _, row := range first.Rows {
		want := map[string]int{"create": 1, "update": 2, "unchanged": 1, "refused": 0}[row.Action]
		if row.Version != want {
			t.Errorf("line %d (%s): version %d, want %d", row.Line, row.Action, row.Version, want)
		}
	}

	got, err := st.Get(ctx, "air-neuf-01")
	if err != nil || got.Status != registryapi.StatusActive {
		t.Fatalf("air-neuf-01: %v %v", got.Status, err)
	}
	draft, _ := st.Get(ctx, "air-brouillon-01")
	if draft.Name.FR != "<script>alert(1)</script>, « brouillon »" || draft.Status != registryapi.StatusDraft {
		t.Errorf("draft stored as %q %s", draft.Name.FR, draft.Status)
	}
	vs, _ := st.Versions(ctx, "air-ecole-01")
	last := vs[len(vs)-1]
	if len(vs) != 2 || last.Reason != "import inventaire.csv" || last.ActorRole != catalog.RoleAdministrator || last.Actor != "cli" || last.Summary != "name" {
		t.Errorf("update version %+v", last)
	}
	refs, _ := st.SourceRefs(ctx)
	if d := cmp.Diff(map[string]string{"INV-1": "air-neuf-01", "INV-4": "air-ecole-01"}, refs); d != "" {
		t.Errorf("refs (-want +got):\n%s", d)
	}
	for _, id := range []string{"parking-double-01", "parking-virgule-01", "meteo-01", "air-incomplet-01", "air-neuf-02"} {
		if _, err := st.Get(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("refused %s was written: %v", id, err)
		}
	}

	// The same file again: every row that imported is unchanged.
	before, _ := st.List(ctx)
	second := run(t, st, CSV, file, options("inventaire.csv", false))
	for _, row := range second.Rows {
		if row.Action != "unchanged" && row.Action != "refused" {
			t.Errorf("second import, line %d: %s %v", row.Line, row.Action, row.Changes)
		}
	}
	if second.Unchanged != 4 || second.Refused != 9 {
		t.Errorf("second import totals %+v", second)
	}
	after, _ := st.List(ctx)
	if d := cmp.Diff(before, after); d != "" {
		t.Errorf("the second import changed the register:\n%s", d)
	}
}

// An export of the register imports back as a no-op, in both formats.
func TestExportReimportsAsNoOp(t *testing.T) {
	ctx := context.Background()
	st := testStore(t)
	sensors, _ := st.List(ctx)
	for i := range sensors {
		sensors[i].URL = "https://capteurs.example.org/sensors/" + sensors[i].ID
	}
	var csvExport bytes.Buffer
	if err := opendata.WriteCSV(&csvExport, sensors); err != nil {
		t.Fatal(err)
	}
	geo, err := json.Marshal(opendata.GeoJSON(sensors, ""))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		f    Format
		data []byte
	}{{CSV, csvExport.Bytes()}, {GeoJSON, geo}} {
		r := run(t, st, c.f, c.data, options("registre."+string(c.f), false))
		if r.Unchanged != len(sensors) || r.Created+r.Updated+r.Refused != 0 {
			t.Errorf("%s re-import: %+v", c.f, summarize(r))
		}
	}
}

// A GeoJSON inventory: properties give the entry, the geometry its place,
// and a feature matched by source_ref needs no id.
func TestImportGeoJSON(t *testing.T) {
	ctx := context.Background()
	st := testStore(t)
	in := `{"type": "FeatureCollection", "features": [
{"type": "Feature", "id": "parking-geo-01", "geometry": {"type": "Point", "coordinates": [2.0441, 46.9483]},
 "properties": {"source_ref": "GEO-1", "category": "parking", "name": {"fr": "Place géo", "en": "Geo bay"}}},
{"type": "Feature", "geometry": {"type": "Point", "coordinates": [2.0442, 46.9484]},
 "properties": {"category": "parking"}}
]}`
	r := run(t, st, GeoJSON, []byte(in), options("places.geojson", false))
	want := []summary{
		{2, "parking-geo-01", "create", nil, nil},
		{4, "", "refused", []string{"id"}, nil},
	}
	if d := cmp.Diff(want, summarize(r)); d != "" {
		t.Errorf("report (-want +got):\n%s", d)
	}
	s, err := st.Get(ctx, "parking-geo-01")
	if err != nil || s.Location.Lat != 46.9483 || s.Location.Lon != 2.0441 || s.Status != registryapi.StatusDraft {
		t.Errorf("parking-geo-01: %+v %v", s.Location, err)
	}

	// Matched by its reference, without an id: renamed.
	again := `{"type": "FeatureCollection", "features": [
{"type": "Feature", "geometry": null, "properties": {"source_ref": "GEO-1", "name": {"fr": "Place renommée", "en": "Renamed bay"}}}]}`
	r = run(t, st, GeoJSON, []byte(again), options("places-v2.geojson", false))
	if d := cmp.Diff([]summary{{2, "parking-geo-01", "update", nil, []string{"name"}}}, summarize(r)); d != "" {
		t.Errorf("by reference (-want +got):\n%s", d)
	}
	if s, _ := st.Get(ctx, "parking-geo-01"); s.Name.FR != "Place renommée" || s.Location.Lat != 46.9483 {
		t.Errorf("after rename: %q %+v", s.Name.FR, s.Location)
	}
}

// staleRefs is a store whose plan does not see the references (as if
// another import tied them in between): the write then fails half-way,
// after the entry's version, and must leave nothing.
type staleRefs struct{ *store.Store }

func (staleRefs) SourceRefs(context.Context) (map[string]string, error) {
	return map[string]string{}, nil
}

func TestBrokenWriteLeavesNoTrace(t *testing.T) {
	ctx := context.Background()
	st := testStore(t)
	a := demoEntry(t, "air-mairie-01")
	a.ID = "air-ref-01"
	if _, err := st.Import(ctx, store.Imported{Sensor: a, Create: true, SourceRef: "INV-9"}, store.Change{ActorRole: "administrator", Reason: "x"}); err != nil {
		t.Fatal(err)
	}
	b := a
	b.ID = "air-ref-02"
	c := a
	c.ID = "air-ref-03"
	file := csvFile(t, []registryapi.Sensor{b, c}, []string{"INV-9", "INV-10"}, nil)
	r := run(t, staleRefs{st}, CSV, file, options("x.csv", false))
	want := []summary{
		{2, "air-ref-02", "refused", []string{""}, nil},
		{3, "air-ref-03", "create", nil, nil},
	}
	if d := cmp.Diff(want, summarize(r)); d != "" {
		t.Errorf("report (-want +got):\n%s", d)
	}
	if !strings.Contains(r.Rows[0].Reasons[0].Message, "INV-9") {
		t.Errorf("reason %q", r.Rows[0].Reasons[0].Message)
	}
	if _, err := st.Get(ctx, "air-ref-02"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the broken row left its entry: %v", err)
	}
	if _, err := st.Versions(ctx, "air-ref-02"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the broken row left a version: %v", err)
	}
	if _, err := st.Get(ctx, "air-ref-03"); err != nil {
		t.Errorf("the good row after it: %v", err)
	}
}

func TestMalformedFileIsRefusedWithItsLine(t *testing.T) {
	for _, c := range []struct {
		f    Format
		in   string
		line int
	}{
		{CSV, "id,name_fr\nair-a-01,A\nair-b-01,B,extra\n", 3},
		{CSV, "id,name_fr\nair-a-01,\"A\nair-b-01,B\n", 2},
		{GeoJSON, "{\"type\": \"FeatureCollection\",\n\"features\": [}", 2},
	} {
		_, err := Read(c.f, []byte(c.in))
		var fe *opendata.FileError
		if !errors.As(err, &fe) || fe.Line != c.line {
			t.Errorf("%s %q: %v, want an error at line %d", c.f, c.in, err, c.line)
		}
	}
}

func TestFormats(t *testing.T) {
	for name, want := range map[string]Format{"a.csv": CSV, "A.CSV": CSV, "b.geojson": GeoJSON, "c.json": GeoJSON} {
		if got, err := FormatOfName(name); err != nil || got != want {
			t.Errorf("FormatOfName(%q) = %q, %v", name, got, err)
		}
	}
	for ct, want := range map[string]Format{"text/csv": CSV, "text/csv; charset=utf-8": CSV, "application/geo+json": GeoJSON, "application/json": GeoJSON} {
		if got, err := FormatOfMediaType(ct); err != nil || got != want {
			t.Errorf("FormatOfMediaType(%q) = %q, %v", ct, got, err)
		}
	}
	for _, bad := range []string{"", "text/plain", "application/x-www-form-urlencoded"} {
		if _, err := FormatOfMediaType(bad); !errors.Is(err, ErrFormat) {
			t.Errorf("FormatOfMediaType(%q): %v", bad, err)
		}
	}
	if _, err := FormatOfName("x.xlsx"); !errors.Is(err, ErrFormat) {
		t.Error("xlsx accepted")
	}
}

// An empty status keeps an existing entry's: only the cells given change.
func TestEmptyStatusKeepsTheEntrys(t *testing.T) {
	ctx := context.Background()
	st := testStore(t)
	r := run(t, st, CSV, []byte("id,status,model\nair-mairie-01,,Nouveau modèle\n"), options("m.csv", false))
	if d := cmp.Diff([]summary{{2, "air-mairie-01", "update", nil, []string{"model"}}}, summarize(r)); d != "" {
		t.Errorf("report (-want +got):\n%s", d)
	}
	if s, _ := st.Get(ctx, "air-mairie-01"); s.Status != registryapi.StatusActive || s.Model != "Nouveau modèle" || s.Version != 2 {
		t.Errorf("entry %s %q v%d", s.Status, s.Model, s.Version)
	}
}
