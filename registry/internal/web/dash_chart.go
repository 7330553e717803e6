package web

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"
)

// The dashboards' charts: the entry page's SVG line chart (chart.go) with
// several series, a legend, and a time axis whose ticks follow the span
// (hours, days, months or years). Like the entry page's, each is
// role="img" with a <title> and a <desc> in words, and the page follows
// it with a table of the same numbers (and a CSV of them). Series are told
// apart by colour (the Okabe–Ito palette), by a dashed line, by the shape
// of their markers, and by their name in the legend — never by colour
// alone.

// dashSeries is one line of a dashboard chart.
type dashSeries struct {
	Label  string
	Points []chartPoint // in time order
	Dashed bool         // a reference (the typical day, the trajectory)
	Square bool         // square markers instead of round
	NoLine bool         // markers only
}

// dashChartData is what one dashboard chart draws.
type dashChartData struct {
	ID, Title, Unit string
	From, To        time.Time
	Step            time.Duration // a longer gap breaks the line; 0: never
	Series          []dashSeries
	ZeroBased       bool // the y axis starts at 0 (energies)
}

// dashChart draws c as an inline SVG, times in loc; "" without a point.
func (l localizer) dashChart(c dashChartData, loc *time.Location) template.HTML {
	var n int
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range c.Series {
		for _, p := range s.Points {
			lo, hi = math.Min(lo, p.V), math.Max(hi, p.V)
			n++
		}
	}
	if n == 0 || !c.To.After(c.From) {
		return ""
	}
	if c.ZeroBased && lo > 0 {
		lo = 0
	}
	ticks, decimals := niceTicks(lo, hi, 5)
	ylo, yhi := ticks[0], ticks[len(ticks)-1]
	legendH := 0
	if len(c.Series) > 1 {
		legendH = 22 * len(c.Series)
	}
	height := chartH + legendH
	plotW := float64(chartW - chartLeft - chartRight)
	plotH := float64(chartH - chartTop - chartBottom)
	x := func(t time.Time) float64 {
		return chartLeft + plotW*float64(t.Sub(c.From))/float64(c.To.Sub(c.From))
	}
	y := func(v float64) float64 { return chartTop + plotH*(yhi-v)/(yhi-ylo) }
	value := func(v float64) string {
		if c.Unit == "" {
			return l.Number(v)
		}
		return l.Number(v) + "\u00a0" + c.Unit
	}
	esc := template.HTMLEscapeString
	var b strings.Builder
	titleID, descID := c.ID+"-title", c.ID+"-desc"
	fmt.Fprintf(&b, `<svg class="chart" role="img" viewBox="0 0 %d %d" width="%d" height="%d" aria-labelledby="%s %s" xmlns="http://www.w3.org/2000/svg">`,
		chartW, height, chartW, height, titleID, descID)
	fmt.Fprintf(&b, `<title id="%s">%s</title>`, titleID, esc(l.T("chart.title", c.Title)))
	fmt.Fprintf(&b, `<desc id="%s">%s</desc>`, descID, esc(l.dashChartDesc(c, loc, value)))
	fmt.Fprintf(&b, `<text class="chart-title" x="%d" y="22" aria-hidden="true">%s</text>`, chartLeft, esc(l.T("chart.title", c.Title)))

	b.WriteString(`<g class="chart-y" aria-hidden="true">`)
	for _, v := range ticks {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%s" y2="%s"/>`, chartLeft, chartW-chartRight, f1(y(v)), f1(y(v)))
		fmt.Fprintf(&b, `<text x="%d" y="%s" text-anchor="end" dominant-baseline="middle">%s</text>`, chartLeft-8, f1(y(v)), esc(l.number(v, decimals)))
	}
	if c.Unit != "" {
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, chartLeft-8, chartTop-12, esc(c.Unit))
	}
	b.WriteString(`</g>`)

	b.WriteString(`<g class="chart-x" aria-hidden="true">`)
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d"/>`, chartLeft, chartW-chartRight, chartH-chartBottom, chartH-chartBottom)
	for _, tk := range l.dashTicks(c.From, c.To, loc) {
		tx := f1(x(tk.t))
		fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="%d" y2="%d"/>`, tx, tx, chartH-chartBottom, chartH-chartBottom+5)
		fmt.Fprintf(&b, `<text x="%s" y="%d" text-anchor="middle">%s</text>`, tx, chartH-chartBottom+20, esc(tk.label))
		if tk.sub != "" {
			fmt.Fprintf(&b, `<text x="%s" y="%d" text-anchor="middle">%s</text>`, tx, chartH-chartBottom+38, esc(tk.sub))
		}
	}
	b.WriteString(`</g>`)

	for i, s := range c.Series {
		colour := chartPalette[i%len(chartPalette)]
		dash := ""
		if s.Dashed {
			dash = ` stroke-dasharray="6 4"`
		}
		fmt.Fprintf(&b, `<g class="chart-line" stroke="%s" fill="%s">`, colour, colour)
		var run []string
		flush := func() {
			if len(run) > 1 && !s.NoLine {
				fmt.Fprintf(&b, `<polyline fill="none" stroke-width="2.5"%s points="%s"/>`, dash, strings.Join(run, " "))
			}
			run = run[:0]
		}
		for j, p := range s.Points {
			if j > 0 && c.Step > 0 && p.T.Sub(s.Points[j-1].T) > c.Step*3/2 {
				flush()
			}
			run = append(run, f1(x(p.T))+","+f1(y(p.V)))
		}
		flush()
		for _, p := range s.Points {
			tip := esc(l.T("chart.point", l.DateTimeShort(p.T.In(loc)), value(p.V)))
			if s.Square || s.NoLine {
				fmt.Fprintf(&b, `<rect class="chart-point" x="%s" y="%s" width="8" height="8"><title>%s</title></rect>`, f1(x(p.T)-4), f1(y(p.V)-4), tip)
			} else {
				fmt.Fprintf(&b, `<circle class="chart-point" cx="%s" cy="%s" r="3.5"><title>%s</title></circle>`, f1(x(p.T)), f1(y(p.V)), tip)
			}
		}
		b.WriteString(`</g>`)
	}
	if legendH > 0 {
		b.WriteString(`<g class="chart-legend" aria-hidden="true">`)
		for i, s := range c.Series {
			colour := chartPalette[i%len(chartPalette)]
			ly := chartH + 22*i + 6
			dash := ""
			if s.Dashed {
				dash = ` stroke-dasharray="6 4"`
			}
			if !s.NoLine {
				fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2.5"%s/>`, chartLeft, chartLeft+28, ly, ly, colour, dash)
			}
			if s.Square || s.NoLine {
				fmt.Fprintf(&b, `<rect x="%d" y="%d" width="8" height="8" fill="%s"/>`, chartLeft+10, ly-4, colour)
			} else {
				fmt.Fprintf(&b, `<circle cx="%d" cy="%d" r="3.5" fill="%s"/>`, chartLeft+14, ly, colour)
			}
			fmt.Fprintf(&b, `<text x="%d" y="%d" dominant-baseline="middle">%s</text>`, chartLeft+36, ly, esc(s.Label))
		}
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// dashChartDesc says in words what a dashboard chart shows: per series,
// its number of points, its lowest and highest value.
func (l localizer) dashChartDesc(c dashChartData, loc *time.Location, value func(float64) string) string {
	parts := []string{l.T("dash.chart.range", l.DateTimeShort(c.From.In(loc)), l.DateTimeShort(c.To.In(loc)))}
	for _, s := range c.Series {
		if len(s.Points) == 0 {
			continue
		}
		lo, hi := s.Points[0], s.Points[0]
		for _, p := range s.Points {
			if p.V < lo.V {
				lo = p
			}
			if p.V > hi.V {
				hi = p
			}
		}
		parts = append(parts, l.T("dash.chart.series", s.Label, len(s.Points),
			value(lo.V), l.DateTimeShort(lo.T.In(loc)), value(hi.V), l.DateTimeShort(hi.T.In(loc))))
	}
	return strings.Join(parts, " ")
}

type dashTick struct {
	t          time.Time
	label, sub string
}

// dashTicks returns at most about eight ticks over [from, to] in loc:
// hours for two days or less, days up to about two months, months up to
// three years, years beyond.
func (l localizer) dashTicks(from, to time.Time, loc *time.Location) []dashTick {
	span := to.Sub(from)
	lf := from.In(loc)
	var out []dashTick
	switch {
	case span <= 50*time.Hour:
		every := 3
		if span > 26*time.Hour {
			every = 6
		}
		t := time.Date(lf.Year(), lf.Month(), lf.Day(), lf.Hour(), 0, 0, 0, loc)
		if t.Before(from) {
			t = t.Add(time.Hour)
		}
		first := true
		for ; !t.After(to); t = t.Add(time.Hour) {
			lt := t.In(loc)
			if lt.Hour()%every != 0 {
				continue
			}
			tk := dashTick{t: t, label: lt.Format("15:04")}
			if first || lt.Hour() == 0 {
				tk.sub, first = l.ShortDate(lt), false
			}
			out = append(out, tk)
		}
	case span <= 70*24*time.Hour:
		days := int(span.Hours()/24) + 1
		every := max(1, (days+7)/8)
		t := time.Date(lf.Year(), lf.Month(), lf.Day(), 0, 0, 0, 0, loc)
		if t.Before(from) {
			t = t.AddDate(0, 0, 1)
		}
		for i := 0; !t.After(to); i, t = i+1, t.AddDate(0, 0, 1) {
			if i%every == 0 {
				out = append(out, dashTick{t: t, label: l.dayMonth(t)})
			}
		}
	case span <= 3*366*24*time.Hour:
		months := int(span.Hours()/24/30) + 1
		every := max(1, (months+7)/8)
		t := time.Date(lf.Year(), lf.Month(), 1, 0, 0, 0, 0, loc)
		if t.Before(from) {
			t = t.AddDate(0, 1, 0)
		}
		for i := 0; !t.After(to); i, t = i+1, t.AddDate(0, 1, 0) {
			if i%every == 0 {
				out = append(out, dashTick{t: t, label: l.monthYear(t)})
			}
		}
	default:
		years := int(span.Hours()/24/365) + 1
		every := max(1, (years+7)/8)
		t := time.Date(lf.Year(), 1, 1, 0, 0, 0, 0, loc)
		if t.Before(from) {
			t = t.AddDate(1, 0, 0)
		}
		for i := 0; !t.After(to); i, t = i+1, t.AddDate(1, 0, 0) {
			if i%every == 0 {
				out = append(out, dashTick{t: t, label: t.Format("2006")})
			}
		}
	}
	return out
}

// dayMonth is "27 nov.", "27 Nov".
func (l localizer) dayMonth(t time.Time) string {
	s := l.ShortDate(t)
	return strings.TrimSuffix(s, " "+t.Format("2006"))
}

// monthYear is "nov. 2026", "Nov 2026".
func (l localizer) monthYear(t time.Time) string {
	s := l.ShortDate(t)
	_, after, _ := strings.Cut(s, " ")
	return after
}
