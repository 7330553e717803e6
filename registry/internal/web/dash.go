package web

import (
	"encoding/csv"
	"errors"
	"html/template"
	"io"
	"math"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// The dashboards (issue 7), served under /dashboards by package httpapi,
// which reads InfluxDB through package dashboards and hands the figures
// to the builders of dash_*.go. Every dashboard is the same page
// (templates/dash.html): a date-range form with presets, notices, key
// figures, and sections; a section is a table — the text alternative of
// its chart when it has one — whose numbers are also its CSV download
// (?format=csv&chart=<name>), so that the page, the chart and the file
// always agree.

// Paths of the dashboards.
const (
	DashboardsPath   = "/dashboards"
	DashEnergyPath   = "/dashboards/energy"
	DashTertiaryPath = "/dashboards/tertiary"
	DashAirPath      = "/dashboards/air"
	DashParkingPath  = "/dashboards/parking"
	DashLightingPath = "/dashboards/lighting"
)

// DashRange is the period a dashboard shows: local days, From at local
// midnight, To the local midnight after the last day (excluded).
type DashRange struct {
	From, To time.Time
}

// Days is the number of days of the range.
func (r DashRange) Days() int {
	n := 0
	for d := r.From; d.Before(r.To); d = d.AddDate(0, 0, 1) {
		n++
	}
	return n
}

// dashMaxDays bounds a range: beyond, the page says so and shows the
// default range.
const dashMaxDays = 3 * 366

// ParseDashRange reads the from and to parameters (YYYY-MM-DD, both days
// included) in loc. Empty, both give the default range: the defaultDays
// days up to yesterday (today is incomplete). A malformed date, from after
// to, a date before 2000 or more than a year ahead, or a range over three
// years gives the default range and the catalogue key of a notice.
func ParseDashRange(from, to string, now time.Time, loc *time.Location, defaultDays int) (DashRange, string) {
	today := dayOf(now, loc)
	def := DashRange{From: today.AddDate(0, 0, -defaultDays), To: today}
	if from == "" && to == "" {
		return def, ""
	}
	parse := func(s string, fallback time.Time) (time.Time, bool) {
		if s == "" {
			return fallback, true
		}
		t, err := time.ParseInLocation(time.DateOnly, s, loc)
		return t, err == nil
	}
	f, ok1 := parse(from, def.From)
	t, ok2 := parse(to, today.AddDate(0, 0, -1))
	switch {
	case !ok1 || !ok2:
		return def, "dash.err.date"
	case f.Year() < 2000 || t.After(today.AddDate(1, 0, 0)) || f.After(today.AddDate(1, 0, 0)) || t.Year() < 2000:
		return def, "dash.err.absurd"
	case f.After(t):
		return def, "dash.err.order"
	}
	r := DashRange{From: f, To: t.AddDate(0, 0, 1)}
	if r.Days() > dashMaxDays {
		return def, "dash.err.long"
	}
	return r, ""
}

func dayOf(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// DashCommon is what every dashboard is given besides its figures.
type DashCommon struct {
	Range DashRange
	Now   time.Time
	// Notices are catalogue keys of problems with the parameters.
	Notices []string
	// Unavailable says that the readings could not be read (no InfluxDB,
	// or it failed): the page says so instead of showing figures.
	Unavailable bool
	// Keep are the dashboard's own parameters (site, step, day…) that
	// the presets and the CSV links keep.
	Keep url.Values
}

// dashCell is one cell of a section's table: its text on the page and
// its value in the CSV (a plain number with a decimal point, an ISO date).
type dashCell struct {
	Text, CSV string
	CSVMore   []string // further CSV columns the page shows in this cell
	Class     string   // "num", "atmo atmo-3", "heat heat-2"…
	Header    bool     // a row header
}

type dashRow struct{ Cells []dashCell }

// dashSection is one table of a dashboard, with its chart when it has one.
type dashSection struct {
	Name     string // the chart parameter of its CSV
	Heading  string
	Intro    string
	Chart    template.HTML
	Caption  string
	Head     []string // the table's column headers
	CSVHead  []string // the CSV's header
	Rows     []dashRow
	Empty    string // said instead of an empty table
	CSVURL   string
	Collapse bool // long tables are in a <details>
}

type dashFact struct{ Label, Value string }

type dashNote struct {
	Text, LinkText, LinkURL string
}

type dashOption struct {
	Value, Label string
	Selected     bool
}

type dashField struct {
	Name, Label, Type, Value string // Type: "select", "date", "number"
	Options                  []dashOption
}

type dashLink struct{ Label, URL string }

type dashForm struct {
	Action, Lang string
	From, To     string
	Fields       []dashField
	Presets      []dashLink
}

// dashView is a dashboard page.
type dashView struct {
	Title, Intro string
	Back         string // the index of the dashboards
	Form         dashForm
	Notices      []string
	Unavailable  bool
	Period       string
	Facts        []dashFact
	Notes        []dashNote
	Downloads    []dashLink
	Sections     []dashSection
}

// DashPage is a dashboard ready to render as HTML or as the CSV of one of
// its charts.
type DashPage struct {
	view  dashView
	title string
}

// HasChart reports whether the page has a chart or table named name.
func (d *DashPage) HasChart(name string) bool {
	return slices.ContainsFunc(d.view.Sections, func(s dashSection) bool { return s.Name == name })
}

// addNotice adds the notice of catalogue key to the page.
func (d *DashPage) addNotice(l localizer, key string, args ...any) {
	d.view.Notices = append(d.view.Notices, l.T(key, args...))
}

// ErrUnknownChart is the error of DashboardCSV for a chart the page lacks.
var ErrUnknownChart = errors.New("unknown chart")

// Dashboard renders a dashboard page.
func (p *Pages) Dashboard(w io.Writer, r Request, d DashPage) error {
	return p.render(w, "dash", r, d.title, d.view)
}

// DashNotice adds to d the notice of a catalogue key in r's language.
func (p *Pages) DashNotice(r Request, d *DashPage, key string) {
	d.addNotice(p.localizer(r.Lang), key)
}

// DashboardCSV writes the numbers of the chart (or table) named chart as
// CSV (RFC 4180, CRLF, after a UTF-8 byte order mark for spreadsheets).
func (p *Pages) DashboardCSV(w io.Writer, d DashPage, chart string) error {
	i := slices.IndexFunc(d.view.Sections, func(s dashSection) bool { return s.Name == chart })
	if i < 0 {
		return ErrUnknownChart
	}
	s := d.view.Sections[i]
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(s.CSVHead); err != nil {
		return err
	}
	for _, row := range s.Rows {
		rec := make([]string, 0, len(row.Cells))
		for _, c := range row.Cells {
			rec = append(rec, c.CSV)
			rec = append(rec, c.CSVMore...)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// dashBase builds the parts every dashboard shares: the form, with the
// presets, and the notices.
func (l localizer) dashBase(path, titleKey, introKey string, c DashCommon, loc *time.Location, fields ...dashField) dashView {
	v := dashView{
		Title: l.T(titleKey), Intro: l.T(introKey), Back: l.link(DashboardsPath),
		Unavailable: c.Unavailable,
		Period:      l.T("dash.period", l.Date(c.Range.From), l.Date(c.Range.To.AddDate(0, 0, -1))),
		Form: dashForm{
			Action: path, Lang: l.lang,
			From: c.Range.From.Format(time.DateOnly), To: c.Range.To.AddDate(0, 0, -1).Format(time.DateOnly),
			Fields: fields,
		},
	}
	for _, k := range c.Notices {
		v.Notices = append(v.Notices, l.T(k))
	}
	today := dayOf(c.Now, loc)
	month := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, loc)
	presets := []struct {
		key      string
		from, to time.Time // to included
	}{
		{"dash.preset.yesterday", today.AddDate(0, 0, -1), today.AddDate(0, 0, -1)},
		{"dash.preset.7d", today.AddDate(0, 0, -7), today.AddDate(0, 0, -1)},
		{"dash.preset.30d", today.AddDate(0, 0, -30), today.AddDate(0, 0, -1)},
		{"dash.preset.month", month, today},
		{"dash.preset.lastmonth", month.AddDate(0, -1, 0), month.AddDate(0, 0, -1)},
		{"dash.preset.year", time.Date(today.Year(), 1, 1, 0, 0, 0, 0, loc), today},
		{"dash.preset.12m", today.AddDate(-1, 0, 0), today.AddDate(0, 0, -1)},
	}
	for _, pr := range presets {
		q := url.Values{}
		for k, vs := range c.Keep {
			q[k] = vs
		}
		q.Set("from", pr.from.Format(time.DateOnly))
		q.Set("to", pr.to.Format(time.DateOnly))
		v.Form.Presets = append(v.Form.Presets, dashLink{Label: l.T(pr.key), URL: l.linkQ(path, q)})
	}
	return v
}

// csvLinks sets the CSV link of every section of v.
func (l localizer) csvLinks(v *dashView, path string, c DashCommon) {
	for i := range v.Sections {
		q := url.Values{}
		for k, vs := range c.Keep {
			q[k] = vs
		}
		q.Set("from", v.Form.From)
		q.Set("to", v.Form.To)
		q.Set("format", "csv")
		q.Set("chart", v.Sections[i].Name)
		v.Sections[i].CSVURL = l.linkQ(path, q)
		if len(v.Sections[i].Rows) > 40 {
			v.Sections[i].Collapse = true
		}
	}
}

// Cells.

func (l localizer) numCell(v float64, decimals int) dashCell {
	return dashCell{Text: l.number(v, decimals), CSV: strconv.FormatFloat(roundTo(v, decimals), 'f', -1, 64), Class: "num"}
}

func (l localizer) pctCell(v float64) dashCell {
	return dashCell{Text: l.number(v, 1) + "\u00a0%", CSV: strconv.FormatFloat(roundTo(v, 2), 'f', -1, 64), Class: "num"}
}

func textCell(s string) dashCell { return dashCell{Text: s, CSV: s} }

func headCell(text, csv string) dashCell { return dashCell{Text: text, CSV: csv, Header: true} }

func (l localizer) dayCell(t time.Time) dashCell {
	return dashCell{Text: l.Date(t), CSV: t.Format(time.DateOnly), Header: true}
}

func (l localizer) timeCell(t time.Time, loc *time.Location) dashCell {
	return dashCell{Text: l.DateTimeShort(t.In(loc)), CSV: t.In(loc).Format(time.RFC3339), Header: true}
}

func emptyCell() dashCell { return dashCell{Text: "—", CSV: "", Class: "num"} }

func roundTo(v float64, decimals int) float64 {
	scale := math.Pow10(decimals)
	return math.Round(v*scale) / scale
}
