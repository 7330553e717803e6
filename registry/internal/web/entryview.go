package web

import (
	"github.com/civisens/civisens/dashboards"
	"html/template"
	"math"
	"net/url"
	"slices"
	"time"

	"github.com/civisens/civisens/registry/registryapi"
)

// Recent readings: the chart and table of an open sensor's last hours.

// Recent is an open sensor's recent readings, averaged per window, which
// the entry page draws as a chart and a table.
type Recent struct {
	From, To time.Time     // the range read
	Every    time.Duration // the width of a window (one hour)
	Series   []Series      // any order; undeclared quantities are not shown
}

// Series is the averages of one quantity, one point per window that had
// readings, each stamped with the start of its window: what
// dashboards.Reader.Series reads.
type (
	Series = dashboards.Series
	Point  = dashboards.Point
)

type recentChart struct {
	Heading string
	SVG     template.HTML
}

type recentCell struct{ Value string }

type recentRow struct {
	Time, TimeISO string
	Cells         []recentCell
}

// recentView is the recent-readings part of an entry page.
type recentView struct {
	Hours   int
	Charts  []recentChart
	Columns []string // "PM10 (µg/m³)"
	Rows    []recentRow
}

// recent builds the charts and table of e.Recent, for the quantities the
// entry declares, in their declared order: nil when the recent readings
// were not read (the page then says nothing of them), no charts when there
// were none (the page says so).
func (l localizer) recent(e Entry, loc *time.Location) *recentView {
	if e.Recent == nil || e.State != ReadingsShown {
		return nil
	}
	rc := e.Recent
	v := &recentView{Hours: int(math.Round(rc.To.Sub(rc.From).Hours()))}
	type column struct {
		q      registryapi.Quantity
		values map[int64]float64
	}
	var cols []column
	times := map[int64]time.Time{}
	for _, q := range e.Sensor.Quantities {
		i := slices.IndexFunc(rc.Series, func(s Series) bool { return s.Quantity == q.Name })
		if i < 0 {
			continue
		}
		var pts []chartPoint
		values := map[int64]float64{}
		for _, p := range rc.Series[i].Points {
			if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) || p.Time.Before(rc.From) || p.Time.After(rc.To) {
				continue
			}
			pts = append(pts, chartPoint{T: p.Time, V: p.Value})
			values[p.Time.Unix()] = p.Value
			times[p.Time.Unix()] = p.Time
		}
		if len(pts) == 0 {
			continue
		}
		slices.SortFunc(pts, func(a, b chartPoint) int { return a.T.Compare(b.T) })
		title := q.Label.In(l.lang)
		unit := l.Unit(q.Unit)
		if unit != "" {
			title += " (" + unit + ")"
		}
		v.Charts = append(v.Charts, recentChart{
			Heading: title,
			SVG: l.chart(chartData{
				ID: "chart-" + q.Name, Title: title, Unit: unit,
				From: rc.From, To: rc.To, Step: rc.Every, Points: pts, Colour: len(cols),
			}, loc),
		})
		v.Columns = append(v.Columns, title)
		cols = append(cols, column{q: q, values: values})
	}
	if len(cols) == 0 {
		return v
	}
	keys := make([]int64, 0, len(times))
	for k := range times {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		row := recentRow{Time: l.DateTimeShort(times[k].In(loc)), TimeISO: times[k].UTC().Format(time.RFC3339)}
		for _, c := range cols {
			cell := recentCell{Value: "—"}
			if val, ok := c.values[k]; ok {
				cell.Value = l.Number(val)
			}
			row.Cells = append(row.Cells, cell)
		}
		v.Rows = append(v.Rows, row)
	}
	return v
}

// ShortDate formats the day of t with an abbreviated month: "27 nov. 2026",
// "27 Nov 2026".
func (l localizer) ShortDate(t time.Time) string {
	return l.date(t, "date.months.short", t.Month().String()[:3])
}

// DateTimeShort formats t with an abbreviated month and its time of day:
// "27 nov. 2026 à 14:00", "27 Nov 2026, 14:00".
func (l localizer) DateTimeShort(t time.Time) string {
	return l.T("date.at", l.ShortDate(t), t.Format("15:04"))
}

// opendataLinks are the downloads an entry page offers: the register as
// CSV and GeoJSON, this entry as JSON.
type opendataLink struct {
	Label, URL, Type string
}

func (l localizer) opendataLinks(id string) []opendataLink {
	return []opendataLink{
		{Label: l.T("entry.dl.csv"), URL: registryapi.PathSensorsCSV, Type: "text/csv"},
		{Label: l.T("entry.dl.geojson"), URL: registryapi.PathSensorsGeoJSON, Type: "application/geo+json"},
		{Label: l.T("entry.dl.json"), URL: registryapi.PathSensors + "/" + url.PathEscape(id), Type: "application/json"},
	}
}
