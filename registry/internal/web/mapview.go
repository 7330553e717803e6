package web

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/url"
	"slices"
	"strings"

	"github.com/civisens/civisens/registry/registryapi"
)

// The map of the published sensors, at MapPath. It takes the list's filter
// parameters (MapFilter) and shows the same entries three ways: a Leaflet
// map drawn by static/map.js from JSON inlined in the page (no extra
// request), a visually hidden summary ("23 capteurs affichés sur la
// carte."), and the accessible table of the same entries, which is all a
// browser without JavaScript shows. Markers are coloured by identifiability
// in the DTPR colours and carry a letter that the legend explains; each is
// focusable, and Enter opens its popup (name, identifiability in words, a
// link to the entry), which takes the focus. When the binary was built
// without Leaflet (a plain `go build`, see vendor.go), the page says so and
// shows the table.

// MapJSPath is the path of the map's script (MapPath is in browse.go).
const MapJSPath = "/static/map.js"

//go:embed static/map.js
var mapJS []byte

// MapJS returns the script served at MapJSPath.
func (p *Pages) MapJS() []byte { return mapJS }

// MapFilter is the selection of the map: the filter parameters of the list
// of sensors (category, purpose, ident, basis, access, status, area, q).
// A facet may repeat (?category=air&category=parking: either); facets
// combine with "and": the list's parameters and the list's selection
// ([Published.Select]); sort and page do not apply to a map.
type MapFilter struct {
	Category, Purpose, Ident, Basis, Access, Status, Area []string
	// Q is a free text, matched without regard to case against the id,
	// names, description, address, neighbourhood and site.
	Q string
}

// ParseMapFilter reads a MapFilter from a query; empty values are ignored.
func ParseMapFilter(q url.Values) MapFilter {
	vals := func(k string) []string {
		var out []string
		for _, v := range q[k] {
			if v = strings.TrimSpace(v); v != "" && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
		return out
	}
	return MapFilter{
		Category: vals("category"), Purpose: vals("purpose"), Ident: vals("ident"), Basis: vals("basis"),
		Access: vals("access"), Status: vals("status"), Area: vals("area"),
		Q: strings.TrimSpace(q.Get("q")),
	}
}

// Query is the filter as query parameters, for links and hidden fields.
func (f MapFilter) Query() url.Values {
	q := url.Values{}
	for _, kv := range f.facets() {
		for _, v := range kv.vals {
			q.Add(kv.key, v)
		}
	}
	if f.Q != "" {
		q.Set("q", f.Q)
	}
	return q
}

type facet struct {
	key  string
	vals []string
}

func (f MapFilter) facets() []facet {
	return []facet{{"category", f.Category}, {"purpose", f.Purpose}, {"ident", f.Ident}, {"basis", f.Basis},
		{"access", f.Access}, {"status", f.Status}, {"area", f.Area}}
}

// Map is what the map page shows.
type Map struct {
	// Sensors are the entries to show, already selected with Filter.
	Sensors []registryapi.Sensor
	Filter  MapFilter
	// Tiles is the URL template of the tile server
	// (https://tile.openstreetmap.org/{z}/{x}/{y}.png); empty: the markers
	// are drawn without a background map. Attribution is the tiles'
	// credit, HTML as Leaflet takes it.
	Tiles, Attribution string
	// Vendor holds Leaflet; without it (nil, or a build without make) the
	// page shows the table alone.
	Vendor *Vendor
}

// mapMarker is one marker of the inline JSON that map.js reads.
type mapMarker struct {
	ID       string  `json:"id"`
	Name     string  `json:"name"`
	Lat      float64 `json:"lat"`
	Lon      float64 `json:"lon"`
	Class    string  `json:"class"` // ident-identifiable…
	Mark     string  `json:"mark"`  // the letter on the marker
	Words    string  `json:"words"` // identifiability in words
	Category string  `json:"category"`
	URL      string  `json:"url"`
}

// mapData is the inline JSON of the page.
type mapData struct {
	Tiles       string            `json:"tiles,omitempty"`
	Attribution string            `json:"attribution,omitempty"`
	Labels      map[string]string `json:"labels"`
	Markers     []mapMarker       `json:"markers"`
}

type mapOption struct {
	Value, Label string
	Selected     bool
}

type mapHidden struct{ Name, Value string }

type mapLegendItem struct{ Class, Mark, Words string }

type mapView struct {
	Action                    string
	Lang                      string
	Categories, Idents, Stats []mapOption
	Q                         string
	Hidden                    []mapHidden // facets the form does not show, kept
	Filtered                  bool
	Reset                     string

	Leaflet                 bool
	LeafletJS, LeafletCSS   string
	Script                  string
	Data                    template.JS
	Summary, Unplaced, Note string
	Legend                  []mapLegendItem
	List                    listView
	ListURL                 string // the same entries in the list
}

// position is where an entry's marker goes: its point, or the centre of
// its area for a mobile sensor; ok is false for an entry without either.
func position(s registryapi.Sensor) (lat, lon float64, ok bool) {
	if s.Location.Lat != 0 || s.Location.Lon != 0 {
		return s.Location.Lat, s.Location.Lon, true
	}
	ring := s.Location.Area
	if n := len(ring); n > 1 && ring[0] == ring[n-1] {
		ring = ring[:n-1] // a closed ring repeats its first position
	}
	if len(ring) == 0 {
		return 0, 0, false
	}
	for _, p := range ring {
		lon += p[0]
		lat += p[1]
	}
	return lat / float64(len(ring)), lon / float64(len(ring)), true
}

func (l localizer) mapView(m Map) (mapView, error) {
	v := mapView{Action: MapPath, Lang: l.lang, Q: m.Filter.Q, Reset: l.link(MapPath), List: l.list(m.Sensors)}
	v.ListURL = l.link(SensorsPath)
	if q := m.Filter.Query().Encode(); q != "" {
		v.ListURL += "&" + strings.ReplaceAll(q, "+", "%20")
	}
	opts := func(values, selected []string, label func(string) string) []mapOption {
		out := []mapOption{{Value: "", Label: l.T("map.filter.all"), Selected: len(selected) == 0}}
		for _, val := range values {
			out = append(out, mapOption{Value: val, Label: label(val), Selected: len(selected) == 1 && selected[0] == val})
		}
		return out
	}
	idents := []string{registryapi.Identifiable, registryapi.Pseudonymised, registryapi.DeidentifiedAtSource,
		registryapi.AggregateOnly, registryapi.NoPersonalData}
	v.Categories = opts(registryapi.Categories, m.Filter.Category, l.category)
	v.Idents = opts(idents, m.Filter.Ident, func(s string) string { return l.ident(s).Words })
	v.Stats = opts([]string{registryapi.StatusActive, registryapi.StatusMaintenance, registryapi.StatusRetired},
		m.Filter.Status, func(s string) string { return l.status(s).Words })
	// The form shows one value per select: more values, or the facets it
	// has no field for, travel as hidden fields.
	for _, f := range m.Filter.facets() {
		shown := f.key == "category" || f.key == "ident" || f.key == "status"
		if shown && len(f.vals) <= 1 {
			continue
		}
		for _, val := range f.vals {
			v.Hidden = append(v.Hidden, mapHidden{Name: f.key, Value: val})
		}
	}
	v.Filtered = len(m.Filter.Query()) > 0
	for _, id := range idents {
		v.Legend = append(v.Legend, mapLegendItem{Class: "ident-" + id, Mark: l.T("map.mark." + id), Words: l.ident(id).Words})
	}

	data := mapData{
		Tiles:       m.Tiles,
		Attribution: m.Attribution,
		Labels: map[string]string{
			"map":    l.T("map.region"),
			"open":   l.T("map.popup.open"),
			"ident":  l.T("map.popup.ident"),
			"marker": l.T("map.marker.label"),
		},
		Markers: []mapMarker{},
	}
	unplaced := 0
	for _, s := range m.Sensors {
		lat, lon, ok := position(s)
		if !ok {
			unplaced++
			continue
		}
		id := l.ident(s.Identifiability)
		mark := "?"
		if l.has("map.mark." + s.Identifiability) {
			mark = l.T("map.mark." + s.Identifiability)
		}
		data.Markers = append(data.Markers, mapMarker{
			ID: s.ID, Name: s.Name.In(l.lang), Lat: lat, Lon: lon,
			Class: id.Class, Mark: mark, Words: id.Words, Category: l.category(s.Category),
			URL: l.link(SensorPath(s.ID)),
		})
	}
	switch n := len(data.Markers); n {
	case 0:
		v.Summary = l.T("map.summary0")
	case 1:
		v.Summary = l.T("map.summary1")
	default:
		v.Summary = l.T("map.summary", n)
	}
	if unplaced == 1 {
		v.Unplaced = l.T("map.unplaced1")
	} else if unplaced > 1 {
		v.Unplaced = l.T("map.unplaced", unplaced)
	}

	js, css, ok := m.Vendor.Leaflet()
	switch {
	case !ok:
		v.Note = l.T("map.unavailable")
	case len(data.Markers) == 0:
		v.Note = l.T("map.nothing")
	default:
		v.Leaflet, v.LeafletJS, v.LeafletCSS, v.Script = true, js, css, MapJSPath
		// encoding/json escapes <, > and & as \u003c…: no "</script>" can
		// end the element early.
		b, err := json.Marshal(data)
		if err != nil {
			return mapView{}, fmt.Errorf("web: map data: %w", err)
		}
		v.Data = template.JS(b)
	}
	return v, nil
}

// Map renders the map page.
func (p *Pages) Map(w io.Writer, r Request, m Map) error {
	l := p.localizer(r.Lang)
	v, err := l.mapView(m)
	if err != nil {
		return err
	}
	return p.render(w, "map", r, l.T("map.title")+" – "+l.T("site.title"), v)
}

// The accessible table under the map (and instead of it without Leaflet
// or JavaScript): the entries on the map, by category then name.
type listRow struct {
	Name     string
	URL      string
	Category string
	Measures string
	Ident    identView
	Status   statusView
	Address  string
}

type listView struct {
	Count string
	Rows  []listRow
}

func (l localizer) list(sensors []registryapi.Sensor) listView {
	sorted := slices.Clone(sensors)
	order := func(c string) int {
		if i := slices.Index(registryapi.Categories, c); i >= 0 {
			return i
		}
		return len(registryapi.Categories)
	}
	slices.SortStableFunc(sorted, func(a, b registryapi.Sensor) int {
		if d := order(a.Category) - order(b.Category); d != 0 {
			return d
		}
		return strings.Compare(a.Name.In(l.lang), b.Name.In(l.lang))
	})
	v := listView{Count: l.T("list.count", len(sorted))}
	if len(sorted) == 1 {
		v.Count = l.T("list.count1")
	}
	for _, s := range sorted {
		var measures []string
		for _, q := range s.Quantities {
			measures = append(measures, q.Label.In(l.lang))
		}
		v.Rows = append(v.Rows, listRow{
			Name:     s.Name.In(l.lang),
			URL:      l.link(SensorPath(s.ID)),
			Category: l.category(s.Category),
			Measures: strings.Join(measures, ", "),
			Ident:    l.ident(s.Identifiability),
			Status:   l.status(s.Status),
			Address:  s.Location.Address,
		})
	}
	return v
}
