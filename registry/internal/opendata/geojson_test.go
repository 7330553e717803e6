package opendata

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/civisens/civisens/registry/registryapi"
)

// clockwise is a mobile sensor whose area is stored clockwise, and not
// closed: the export must close it and turn it counterclockwise.
func clockwise() registryapi.Sensor {
	s := full()
	s.ID = "mobile-cw-01"
	s.Location.Area = [][2]float64{{2.04, 46.94}, {2.04, 46.95}, {2.05, 46.95}, {2.05, 46.94}}
	return s
}

func geojsonDoc(t *testing.T, sensors []registryapi.Sensor) []byte {
	t.Helper()
	b, err := json.MarshalIndent(GeoJSON(sensors, "DTPR credit"), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkRFC7946 checks a GeoJSON document against the structural rules of
// RFC 7946 that apply to what the register writes, and returns its
// features' geometries by feature id.
func checkRFC7946(t *testing.T, doc []byte) map[string]map[string]any {
	t.Helper()
	var fc map[string]any
	if err := json.Unmarshal(doc, &fc); err != nil {
		t.Fatal(err)
	}
	var walk func(v any, path string)
	walk = func(v any, path string) { // §4: no "crs" member anywhere
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if k == "crs" {
					t.Errorf("%s has a crs member", path)
				}
				walk(x, path+"."+k)
			}
		case []any:
			for i, x := range v {
				walk(x, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	walk(fc, "$")
	if fc["type"] != "FeatureCollection" {
		t.Fatalf("type %v", fc["type"])
	}
	features, ok := fc["features"].([]any)
	if !ok {
		t.Fatalf("features is %T", fc["features"])
	}
	position := func(v any, where string) (lon, lat float64) {
		p, ok := v.([]any)
		if !ok || len(p) < 2 || len(p) > 3 {
			t.Fatalf("%s: position %v is not [lon, lat]", where, v)
		}
		lon, ok1 := p[0].(float64)
		lat, ok2 := p[1].(float64)
		if !ok1 || !ok2 || lon < -180 || lon > 180 || lat < -90 || lat > 90 {
			t.Fatalf("%s: position %v is not WGS84 [lon, lat]", where, v)
		}
		return lon, lat
	}
	out := map[string]map[string]any{}
	for i, f := range features {
		f, ok := f.(map[string]any)
		where := fmt.Sprintf("features[%d]", i)
		if !ok || f["type"] != "Feature" {
			t.Fatalf("%s is not a Feature", where)
		}
		id, ok := f["id"].(string)
		if !ok || id == "" {
			t.Errorf("%s: id %v is not a string or number", where, f["id"])
		}
		if _, ok := f["properties"].(map[string]any); !ok {
			t.Errorf("%s: properties is %T", where, f["properties"])
		}
		g, present := f["geometry"]
		if !present {
			t.Errorf("%s has no geometry member", where)
		}
		if g == nil {
			continue
		}
		gm := g.(map[string]any)
		out[id] = gm
		switch gm["type"] {
		case "Point":
			position(gm["coordinates"], where)
		case "Polygon":
			rings, ok := gm["coordinates"].([]any)
			if !ok || len(rings) == 0 {
				t.Fatalf("%s: Polygon coordinates %v", where, gm["coordinates"])
			}
			for r, ring := range rings {
				ring, ok := ring.([]any)
				if !ok || len(ring) < 4 {
					t.Fatalf("%s: ring %d has fewer than 4 positions", where, r)
				}
				var area float64
				var pts [][2]float64
				for k, p := range ring {
					lon, lat := position(p, fmt.Sprintf("%s ring %d [%d]", where, r, k))
					pts = append(pts, [2]float64{lon, lat})
				}
				if pts[0] != pts[len(pts)-1] {
					t.Errorf("%s: ring %d is not closed", where, r)
				}
				for k := 0; k+1 < len(pts); k++ {
					area += (pts[k+1][0] - pts[k][0]) * (pts[k+1][1] + pts[k][1])
				}
				// area > 0 is clockwise in this (trapezoid) form.
				if r == 0 && area >= 0 || r > 0 && area <= 0 {
					t.Errorf("%s: ring %d does not follow the right-hand rule", where, r)
				}
			}
		default:
			t.Errorf("%s: geometry type %v", where, gm["type"])
		}
	}
	return out
}

func TestGeoJSONRFC7946(t *testing.T) {
	sensors := append(published(), clockwise())
	doc := geojsonDoc(t, sensors)
	geoms := checkRFC7946(t, doc)
	for _, s := range sensors {
		g := geoms[s.ID]
		if g == nil {
			t.Errorf("%s has no geometry", s.ID)
			continue
		}
		if len(s.Location.Area) > 0 {
			if g["type"] != "Polygon" {
				t.Errorf("%s: %v, want a Polygon for its area", s.ID, g["type"])
			}
			continue
		}
		// [lon, lat] order, and the entry's own position.
		if d := cmp.Diff([]any{s.Location.Lon, s.Location.Lat}, g["coordinates"]); d != "" {
			t.Errorf("%s: Point (-want +got):\n%s", s.ID, d)
		}
	}
	if !strings.Contains(string(doc), `"attribution": "DTPR credit"`) {
		t.Error("no attribution")
	}
	// The stored area keeps its orientation in the properties.
	var fc FeatureCollection
	if err := json.Unmarshal(doc, &fc); err != nil {
		t.Fatal(err)
	}
	last := fc.Features[len(fc.Features)-1]
	if d := cmp.Diff(clockwise().Location.Area, last.Properties.Location.Area); d != "" {
		t.Errorf("properties' area (-want +got):\n%s", d)
	}

	// An entry with no location has a null geometry; an empty register an
	// empty list.
	if b, _ := json.Marshal(GeoJSON([]registryapi.Sensor{{ID: "x"}}, "")); !strings.Contains(string(b), `"geometry":null`) {
		t.Errorf("no location: %s", b)
	}
	if b, _ := json.Marshal(GeoJSON(nil, "")); string(b) != `{"type":"FeatureCollection","features":[]}` {
		t.Errorf("empty: %s", b)
	}
}

func TestGeoJSONRoundTrip(t *testing.T) {
	want := append(published(), clockwise())
	records, err := ReadGeoJSON(geojsonDoc(t, want))
	if err != nil {
		t.Fatal(err)
	}
	got := sensorsOf(t, records)
	if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("GeoJSON round trip (-want +got):\n%s", d)
	}
	for i, r := range records {
		if r.ID != want[i].ID {
			t.Errorf("record %d id %q", i, r.ID)
		}
	}
}

func TestReadGeoJSONFeatures(t *testing.T) {
	in := `{
  "type": "FeatureCollection",
  "bbox": [2, 46, 3, 47],
  "features": [
    {"type": "Feature", "id": "air-geo-01",
     "geometry": {"type": "Point", "coordinates": [2.04, 46.95]},
     "properties": {"source_ref": "INV-1", "name": {"fr": "Géo", "en": "Geo"}, "location": {"address": "Place", "indoor": false, "lat": 0, "lon": 0}}},
    {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[2.04, 46.94], [2.05, 46.94], [2.05, 46.95], [2.04, 46.94]]]},
     "properties": {"id": "mobile-geo-01"}},
    {"type": "Feature", "id": "air-geo-02", "geometry": {"type": "LineString", "coordinates": [[2, 46], [2.1, 46.1]]},
     "properties": {"id": "air-geo-03", "nom": "x", "version": "two", "location": {"lat": 46.9, "lon": 2.0}}},
    {"type": "Feature", "geometry": {"type": "Point", "coordinates": [46.95, 2.04]},
     "properties": {"id": "air-geo-04", "location": {"lat": 46.95, "lon": 2.04}}}
  ]
}`
	records, err := ReadGeoJSON([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 4 {
		t.Fatalf("%d records", len(records))
	}
	var lines []int
	for _, r := range records {
		lines = append(lines, r.Line)
	}
	if d := cmp.Diff([]int{5, 8, 10, 12}, lines); d != "" {
		t.Errorf("lines (-want +got):\n%s", d)
	}

	s, problems := records[0].Sensor()
	if len(problems) > 0 || s.ID != "air-geo-01" || records[0].SourceRef != "INV-1" || s.Location.Lat != 46.95 || s.Location.Lon != 2.04 || s.Location.Address != "Place" {
		t.Errorf("point feature: %v %+v", problems, s)
	}
	s, problems = records[1].Sensor()
	if len(problems) > 0 || s.ID != "mobile-geo-01" || len(s.Location.Area) != 4 {
		t.Errorf("polygon feature: %v %+v", problems, s.Location)
	}

	fields := func(problems []registryapi.FieldError) []string {
		var out []string
		for _, p := range problems {
			out = append(out, p.Field)
		}
		slices.Sort(out)
		return out
	}
	_, problems = records[2].Sensor()
	if d := cmp.Diff([]string{"geometry", "id", "properties.nom", "version"}, fields(problems)); d != "" {
		t.Errorf("bad feature's problems (-want +got):\n%s\n%v", d, problems)
	}
	// A [lat, lon] Point (the classic mistake) contradicts the location.
	_, problems = records[3].Sensor()
	if d := cmp.Diff([]string{"geometry"}, fields(problems)); d != "" {
		t.Errorf("swapped Point (-want +got):\n%s\n%v", d, problems)
	}
}

func TestReadGeoJSONMalformed(t *testing.T) {
	for _, c := range []struct {
		name, in string
		line     int
		says     string
	}{
		{"empty", "  \n", 1, "empty"},
		{"not JSON", "id,name\n", 1, "not JSON"},
		{"array", "[]", 1, "FeatureCollection"},
		{"Feature", `{"type": "Feature", "geometry": null, "properties": {}}`, 1, `"Feature"`},
		{"no features", `{"type": "FeatureCollection"}`, 1, `no "features"`},
		{"features not array", "{\"type\": \"FeatureCollection\",\n \"features\": {}}", 2, "not an array"},
		{"syntax error", "{\"type\": \"FeatureCollection\",\n \"features\": [\n {\"type\": \"Feature\",}\n]}", 3, "not JSON"},
		{"truncated", "{\"type\": \"FeatureCollection\",\n \"features\": [\n", 3, "ends too early"},
		{"trailing", "{\"type\": \"FeatureCollection\", \"features\": []}\n{}", 2, "after the end"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadGeoJSON([]byte(c.in))
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v, want a FileError", err)
			}
			if fe.Line != c.line || !strings.Contains(fe.Error(), c.says) {
				t.Errorf("%v; want line %d saying %q", fe, c.line, c.says)
			}
		})
	}
}

// FuzzReadGeoJSON: no panic, and what reads writes back and reads the same.
func FuzzReadGeoJSON(f *testing.F) {
	b, _ := json.Marshal(GeoJSON(published()[len(published())-2:], ""))
	f.Add(b)
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","id":"a","geometry":{"type":"Point","coordinates":[1,2]},"properties":{}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		records, err := ReadGeoJSON(data)
		if err != nil {
			return
		}
		var sensors []registryapi.Sensor
		for _, r := range records {
			s, problems := r.Sensor()
			if len(problems) > 0 {
				return
			}
			sensors = append(sensors, s)
		}
		out, err := json.Marshal(GeoJSON(sensors, ""))
		if err != nil {
			return // e.g. a time beyond year 9999
		}
		again, err := ReadGeoJSON(out)
		if err != nil {
			t.Fatalf("re-read: %v", err)
		}
		if d := cmp.Diff(sensors, sensorsOf(t, again), cmpopts.EquateEmpty()); d != "" {
			t.Errorf("(-first +second):\n%s", d)
		}
	})
}
