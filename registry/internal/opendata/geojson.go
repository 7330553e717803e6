package opendata

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/civisens/civisens/registry/registryapi"
)

// FeatureCollection is the register as GeoJSON (RFC 7946).
type FeatureCollection struct {
	Type     string    `json:"type"` // "FeatureCollection"
	Features []Feature `json:"features"`
	// Attribution is a foreign member (RFC 7946 §6.1) crediting the DTPR
	// taxonomy whose element ids the entries use.
	Attribution string `json:"attribution,omitempty"`
}

// Feature is one entry: its geometry, and the public entry as properties.
type Feature struct {
	Type string `json:"type"` // "Feature"
	// ID is the sensor id.
	ID string `json:"id"`
	// Geometry is a Point at the entry's location, a Polygon for a mobile
	// sensor's area, or null for an entry without a location.
	Geometry *Geometry `json:"geometry"`
	// Properties is the whole public entry, as GET /api/v1/sensors/{id}
	// answers it.
	Properties registryapi.Sensor `json:"properties"`
}

// Geometry is a GeoJSON Point or Polygon, in WGS84 [longitude, latitude]
// order.
type Geometry struct {
	Type string `json:"type"` // "Point" or "Polygon"
	// Coordinates is a [2]float64 for a Point, a [][][2]float64 (one
	// exterior ring, counterclockwise) for a Polygon.
	Coordinates any `json:"coordinates"`
}

// GeoJSON returns sensors as a FeatureCollection, in the order given.
func GeoJSON(sensors []registryapi.Sensor, attribution string) FeatureCollection {
	fc := FeatureCollection{Type: "FeatureCollection", Features: []Feature{}, Attribution: attribution}
	for _, s := range sensors {
		fc.Features = append(fc.Features, Feature{
			Type:       "Feature",
			ID:         s.ID,
			Geometry:   geometryOf(s.Location),
			Properties: s,
		})
	}
	return fc
}

// geometryOf is a Polygon for an area that makes one, else a Point when the
// location has one, else nil.
func geometryOf(l registryapi.Location) *Geometry {
	if ring := exteriorRing(l.Area); ring != nil {
		return &Geometry{Type: "Polygon", Coordinates: [][][2]float64{ring}}
	}
	if l.Lat == 0 && l.Lon == 0 {
		return nil
	}
	return &Geometry{Type: "Point", Coordinates: [2]float64{l.Lon, l.Lat}}
}

// exteriorRing returns area as an RFC 7946 exterior ring: closed, with at
// least four positions, counterclockwise (the right-hand rule); nil when it
// cannot make one.
func exteriorRing(area [][2]float64) [][2]float64 {
	if len(area) == 0 {
		return nil
	}
	ring := slices.Clone(area)
	if ring[0] != ring[len(ring)-1] {
		ring = append(ring, ring[0])
	}
	if len(ring) < 4 {
		return nil
	}
	if SignedArea(ring) < 0 {
		slices.Reverse(ring)
	}
	return ring
}

// SignedArea is the shoelace area of a closed ring of [lon, lat] positions,
// in square degrees: positive when the ring turns counterclockwise.
func SignedArea(ring [][2]float64) float64 {
	var a float64
	for i := 0; i+1 < len(ring); i++ {
		a += ring[i][0]*ring[i+1][1] - ring[i+1][0]*ring[i][1]
	}
	return a / 2
}

// featureIn is a GeoJSON feature read from an import file.
type featureIn struct {
	geometry   json.RawMessage
	properties map[string]json.RawMessage
	problems   []registryapi.FieldError // found while reading the feature
}

// ReadGeoJSON reads a GeoJSON FeatureCollection whose features carry
// register entries as their properties (what GeoJSON writes): the
// properties are the entry's JSON fields (any subset of them, plus
// "source_ref"), and the geometry gives the location when the properties
// do not (a Point, or a Polygon without holes for a mobile sensor's area).
//
// A file that is not JSON, or not a FeatureCollection, fails with a
// *FileError (an ErrMalformed) naming the line. A feature whose geometry
// or properties do not read is a problem of its Record, not of the file.
func ReadGeoJSON(data []byte) ([]Record, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	lineAt := func(off int64) int { return 1 + bytes.Count(data[:min(int(off), len(data))], []byte("\n")) }
	jsonErr := func(err error, off int64) error {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fileErr(lineAt(se.Offset), "not JSON: %v", se)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return fileErr(lineAt(int64(len(data))), "the JSON ends too early")
		}
		return fileErr(lineAt(off), "%v", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fileErr(1, "the file is empty: want a GeoJSON FeatureCollection")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonErr(err, dec.InputOffset())
	}
	if tok != json.Delim('{') {
		return nil, fileErr(1, `want a GeoJSON object {"type": "FeatureCollection", "features": […]}`)
	}
	var (
		typ         string
		hasFeatures bool
		out         []Record
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonErr(err, dec.InputOffset())
		}
		key, _ := tok.(string)
		switch key {
		case "type":
			if err := dec.Decode(&typ); err != nil {
				return nil, jsonErr(err, dec.InputOffset())
			}
		case "features":
			hasFeatures = true
			off := dec.InputOffset()
			if tok, err := dec.Token(); err != nil {
				return nil, jsonErr(err, off)
			} else if tok != json.Delim('[') {
				return nil, fileErr(lineAt(off), `"features" is not an array`)
			}
			for dec.More() {
				off := dec.InputOffset()
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					return nil, jsonErr(err, off)
				}
				// The feature starts at its first non-space byte.
				start := off + int64(len(data[off:])-len(bytes.TrimLeft(data[off:], " \t\r\n,")))
				out = append(out, readFeature(raw, lineAt(start)))
			}
			if _, err := dec.Token(); err != nil {
				return nil, jsonErr(err, dec.InputOffset())
			}
		default:
			var skip json.RawMessage // bbox, foreign members
			if err := dec.Decode(&skip); err != nil {
				return nil, jsonErr(err, dec.InputOffset())
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, jsonErr(err, dec.InputOffset())
	}
	if _, err := dec.Token(); err == nil {
		return nil, fileErr(lineAt(dec.InputOffset()), "text after the end of the GeoJSON object")
	}
	if typ != "FeatureCollection" {
		return nil, fileErr(1, `"type" is %q; want "FeatureCollection"`, typ)
	}
	if !hasFeatures {
		return nil, fileErr(1, `the FeatureCollection has no "features"`)
	}
	return out, nil
}

func readFeature(raw json.RawMessage, line int) Record {
	r := Record{Line: line, feature: &featureIn{}}
	f := r.feature
	bad := func(field, format string, args ...any) {
		f.problems = append(f.problems, registryapi.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		bad("feature", "is not a JSON object")
		return r
	}
	var typ string
	if err := json.Unmarshal(m["type"], &typ); err != nil || typ != "Feature" {
		bad("type", `want "Feature"`)
	}
	f.geometry = m["geometry"]
	if p, ok := m["properties"]; ok && string(p) != "null" {
		if err := json.Unmarshal(p, &f.properties); err != nil {
			bad("properties", "is not a JSON object")
		}
	}
	if ref, ok := f.properties["source_ref"]; ok {
		if err := json.Unmarshal(ref, &r.SourceRef); err != nil {
			bad("source_ref", "is not a string")
		}
		delete(f.properties, "source_ref")
	}
	var propID string
	if id, ok := f.properties["id"]; ok {
		if err := json.Unmarshal(id, &propID); err != nil {
			bad("id", "is not a string")
		}
	}
	var featureID string
	if id, ok := m["id"]; ok && string(id) != "null" {
		if err := json.Unmarshal(id, &featureID); err != nil {
			bad("id", "the feature id is not a string")
		}
	}
	switch {
	case propID != "" && featureID != "" && propID != featureID:
		bad("id", "the feature id %q and the property id %q differ", featureID, propID)
	case propID == "" && featureID != "":
		r.ID = featureID
		if f.properties == nil {
			f.properties = map[string]json.RawMessage{}
		}
		f.properties["id"], _ = json.Marshal(featureID)
	default:
		r.ID = propID
	}
	return r
}

// sensorFields are the JSON names of the fields of an entry.
var sensorFields = func() map[string]bool {
	m := map[string]bool{}
	t := reflect.TypeFor[registryapi.Sensor]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		m[name] = true
	}
	return m
}()

// merge overlays the feature's properties, property by property, on base,
// then takes the location from the geometry where the properties do not
// give it.
func (f *featureIn) merge(base registryapi.Sensor) (registryapi.Sensor, []registryapi.FieldError) {
	problems := slices.Clone(f.problems)
	bad := func(field, format string, args ...any) {
		problems = append(problems, registryapi.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	doc, err := json.Marshal(base)
	if err != nil {
		bad("properties", "%v", err)
		return base, problems
	}
	var merged map[string]json.RawMessage
	if err := json.Unmarshal(doc, &merged); err != nil {
		bad("properties", "%v", err)
		return base, problems
	}
	for _, k := range slices.Sorted(maps.Keys(f.properties)) {
		v := f.properties[k]
		if !sensorFields[k] {
			bad("properties."+k, "is not a field of a register entry")
			continue
		}
		// Read each property alone, so that every bad one is named.
		var probe registryapi.Sensor
		one, _ := json.Marshal(map[string]json.RawMessage{k: v})
		if err := strictUnmarshal(one, &probe); err != nil {
			bad(k, "%s", jsonMessage(err))
			continue
		}
		merged[k] = v
	}
	doc, err = json.Marshal(merged)
	if err != nil {
		bad("properties", "%v", err)
		return base, problems
	}
	var s registryapi.Sensor
	if err := strictUnmarshal(doc, &s); err != nil {
		bad("properties", "%s", jsonMessage(err))
		return base, problems
	}
	if s.Location.Area != nil && len(s.Location.Area) == 0 {
		s.Location.Area = nil
	}
	_, hasLocation := f.properties["location"]
	f.mergeGeometry(&s, hasLocation, bad)
	return s, problems
}

func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// jsonMessage says what a decoding error means, without Go type names.
func jsonMessage(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		where := te.Field
		if where == "" {
			where = "the value"
		}
		return fmt.Sprintf("%s: a JSON %s where the register expects another type", where, te.Value)
	}
	return err.Error()
}

// mergeGeometry checks the feature's geometry against the location that
// the properties give, or sets the location from it when they give none.
func (f *featureIn) mergeGeometry(s *registryapi.Sensor, hasLocation bool, bad func(field, format string, args ...any)) {
	if len(f.geometry) == 0 || string(f.geometry) == "null" {
		return
	}
	var g struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	}
	if err := json.Unmarshal(f.geometry, &g); err != nil {
		bad("geometry", "is not a GeoJSON geometry object")
		return
	}
	switch g.Type {
	case "Point":
		var pos []float64
		if err := json.Unmarshal(g.Coordinates, &pos); err != nil || len(pos) < 2 || len(pos) > 3 {
			bad("geometry", "a Point's coordinates are [longitude, latitude]")
			return
		}
		lon, lat := pos[0], pos[1]
		if lon < -180 || lon > 180 || lat < -90 || lat > 90 {
			bad("geometry", "%g, %g is not a WGS84 [longitude, latitude] position", lon, lat)
			return
		}
		switch {
		case !hasLocation, s.Location.Lat == 0 && s.Location.Lon == 0 && s.Location.Area == nil:
			s.Location.Lat, s.Location.Lon, s.Location.Area = lat, lon, nil
		case s.Location.Lat != lat || s.Location.Lon != lon:
			bad("geometry", "the Point [%g, %g] is not the location's lon, lat [%g, %g]", lon, lat, s.Location.Lon, s.Location.Lat)
		}
	case "Polygon":
		var rings [][][]float64
		if err := json.Unmarshal(g.Coordinates, &rings); err != nil || len(rings) == 0 {
			bad("geometry", "a Polygon's coordinates are rings of [longitude, latitude] positions")
			return
		}
		if len(rings) > 1 {
			bad("geometry", "a Polygon with holes cannot be a sensor's area; give its exterior ring only")
			return
		}
		var ring [][2]float64
		for i, pos := range rings[0] {
			if len(pos) < 2 || len(pos) > 3 {
				bad(fmt.Sprintf("geometry[%d]", i), "a position is [longitude, latitude]")
				return
			}
			ring = append(ring, [2]float64{pos[0], pos[1]})
		}
		switch {
		case !hasLocation, s.Location.Area == nil:
			s.Location.Area = ring
		case !sameRing(ring, s.Location.Area):
			bad("geometry", "the Polygon is not the location's area")
		}
	default:
		bad("geometry", "%q is not supported: give a Point, or a Polygon for a mobile sensor's area", g.Type)
	}
}

// sameRing reports whether two rings are the same, read either way round.
func sameRing(a, b [][2]float64) bool {
	if slices.Equal(a, b) {
		return true
	}
	r := slices.Clone(b)
	slices.Reverse(r)
	return slices.Equal(a, r) || slices.Equal(a, exteriorRing(b))
}
