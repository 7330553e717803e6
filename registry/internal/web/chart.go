package web

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"
)

// The charts of an entry's recent readings are SVG drawn on the server, so
// that they need no script: one chart per quantity (each has its own
// unit), a line through the hourly averages with a marker on each, a y
// axis of round numbers written the language's way, a time axis of hours
// (and the day at midnight), a title, and a text alternative — the svg is
// role="img", labelled by its <title> and described by its <desc>, which
// says the range, the minimum, the maximum and the latest value; the page
// follows each chart with a table of the same numbers.

// chartPalette are the Okabe–Ito colours, which people with the common
// colour-vision deficiencies tell apart, darkened so that each contrasts
// at least 4.5:1 with white. A chart shows one quantity, named in its
// title: the colour only tells the charts apart.
var chartPalette = []string{"#0072B2", "#B04A00", "#007A5A", "#A8508A"}

// Chart geometry, in SVG user units.
const (
	chartW      = 640
	chartH      = 260
	chartLeft   = 72
	chartRight  = 20
	chartTop    = 44
	chartBottom = 56
)

// chartData is what one chart draws.
type chartData struct {
	ID       string // unique in the page, for the title and desc ids
	Title    string // the quantity and its unit: "PM10 (µg/m³)"
	Unit     string // "µg/m³", "" when dimensionless
	From, To time.Time
	Step     time.Duration // the width of a window: a longer gap breaks the line
	Points   []chartPoint  // in time order
	Colour   int           // index into chartPalette
}

type chartPoint struct {
	T time.Time
	V float64
}

// chart draws c as an inline SVG, times in loc.
func (l localizer) chart(c chartData, loc *time.Location) template.HTML {
	if len(c.Points) == 0 || !c.To.After(c.From) {
		return ""
	}
	lo, hi := c.Points[0].V, c.Points[0].V
	for _, p := range c.Points {
		lo, hi = math.Min(lo, p.V), math.Max(hi, p.V)
	}
	ticks, decimals := niceTicks(lo, hi, 5)
	ylo, yhi := ticks[0], ticks[len(ticks)-1]
	plotW := float64(chartW - chartLeft - chartRight)
	plotH := float64(chartH - chartTop - chartBottom)
	x := func(t time.Time) float64 {
		return chartLeft + plotW*float64(t.Sub(c.From))/float64(c.To.Sub(c.From))
	}
	y := func(v float64) float64 { return chartTop + plotH*(yhi-v)/(yhi-ylo) }
	colour := chartPalette[c.Colour%len(chartPalette)]
	value := func(v float64) string {
		if c.Unit == "" {
			return l.Number(v)
		}
		return l.Number(v) + "\u00a0" + c.Unit
	}

	var b strings.Builder
	esc := template.HTMLEscapeString
	titleID, descID := c.ID+"-title", c.ID+"-desc"
	fmt.Fprintf(&b, `<svg class="chart" role="img" viewBox="0 0 %d %d" width="%d" height="%d" aria-labelledby="%s %s" xmlns="http://www.w3.org/2000/svg">`,
		chartW, chartH, chartW, chartH, titleID, descID)
	fmt.Fprintf(&b, `<title id="%s">%s</title>`, titleID, esc(l.T("chart.title", c.Title)))
	fmt.Fprintf(&b, `<desc id="%s">%s</desc>`, descID, esc(l.chartDesc(c, loc, value)))
	fmt.Fprintf(&b, `<text class="chart-title" x="%d" y="22" aria-hidden="true">%s</text>`, chartLeft, esc(l.T("chart.title", c.Title)))

	// Y axis: gridlines and round numbers.
	b.WriteString(`<g class="chart-y" aria-hidden="true">`)
	for _, v := range ticks {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%s" y2="%s"/>`, chartLeft, chartW-chartRight, f1(y(v)), f1(y(v)))
		fmt.Fprintf(&b, `<text x="%d" y="%s" text-anchor="end" dominant-baseline="middle">%s</text>`, chartLeft-8, f1(y(v)), esc(l.number(v, decimals)))
	}
	if c.Unit != "" {
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, chartLeft-8, chartTop-12, esc(c.Unit))
	}
	b.WriteString(`</g>`)

	// Time axis: every six hours of local time, the day under midnight
	// and under the first tick.
	b.WriteString(`<g class="chart-x" aria-hidden="true">`)
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d"/>`, chartLeft, chartW-chartRight, chartH-chartBottom, chartH-chartBottom)
	first := true
	for _, t := range timeTicks(c.From, c.To, loc) {
		tx := f1(x(t))
		fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="%d" y2="%d"/>`, tx, tx, chartH-chartBottom, chartH-chartBottom+5)
		fmt.Fprintf(&b, `<text x="%s" y="%d" text-anchor="middle">%s</text>`, tx, chartH-chartBottom+20, t.Format("15:04"))
		if lt := t.In(loc); first || (lt.Hour() == 0 && lt.Minute() == 0) {
			fmt.Fprintf(&b, `<text x="%s" y="%d" text-anchor="middle">%s</text>`, tx, chartH-chartBottom+38, esc(l.ShortDate(lt)))
			first = false
		}
	}
	b.WriteString(`</g>`)

	// The line, broken where windows have no reading, and a marker on each
	// point (so that a lone point shows).
	fmt.Fprintf(&b, `<g class="chart-line" stroke="%s" fill="%s">`, colour, colour)
	var run []string
	flush := func() {
		if len(run) > 1 {
			fmt.Fprintf(&b, `<polyline fill="none" stroke-width="2.5" points="%s"/>`, strings.Join(run, " "))
		}
		run = run[:0]
	}
	for i, p := range c.Points {
		if i > 0 && c.Step > 0 && p.T.Sub(c.Points[i-1].T) > c.Step*3/2 {
			flush()
		}
		run = append(run, f1(x(p.T))+","+f1(y(p.V)))
	}
	flush()
	for _, p := range c.Points {
		fmt.Fprintf(&b, `<circle class="chart-point" cx="%s" cy="%s" r="3.5"><title>%s</title></circle>`,
			f1(x(p.T)), f1(y(p.V)), esc(l.T("chart.point", l.DateTimeShort(p.T.In(loc)), value(p.V))))
	}
	b.WriteString(`</g></svg>`)
	return template.HTML(b.String())
}

// chartDesc says in words what a chart shows.
func (l localizer) chartDesc(c chartData, loc *time.Location, value func(float64) string) string {
	lo, hi := c.Points[0], c.Points[0]
	for _, p := range c.Points {
		if p.V < lo.V {
			lo = p
		}
		if p.V > hi.V {
			hi = p
		}
	}
	last := c.Points[len(c.Points)-1]
	count := l.T("chart.desc.count", len(c.Points))
	if len(c.Points) == 1 {
		count = l.T("chart.desc.count1")
	}
	return count + " " + l.T("chart.desc",
		l.DateTimeShort(c.From.In(loc)), l.DateTimeShort(c.To.In(loc)),
		value(lo.V), l.DateTimeShort(lo.T.In(loc)),
		value(hi.V), l.DateTimeShort(hi.T.In(loc)),
		value(last.V), l.DateTimeShort(last.T.In(loc)))
}

// niceTicks returns about n round values that cover [lo, hi], and the
// decimals they need.
func niceTicks(lo, hi float64, n int) ([]float64, int) {
	if hi == lo {
		pad := math.Max(math.Abs(lo)*0.1, 1)
		lo, hi = lo-pad, hi+pad
	}
	raw := (hi - lo) / float64(n-1)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	decimals := 0
	if step < 1 {
		decimals = int(math.Ceil(-math.Log10(step)))
		if s := step * math.Pow10(decimals); math.Abs(s-math.Round(s)) > 1e-9 {
			decimals++
		}
	}
	start := math.Floor(lo/step) * step
	var ticks []float64
	for v := start; v <= hi+step*1e-9; v += step {
		ticks = append(ticks, math.Round(v/step)*step)
	}
	if ticks[len(ticks)-1] < hi {
		ticks = append(ticks, ticks[len(ticks)-1]+step)
	}
	if len(ticks) < 2 {
		ticks = append(ticks, ticks[0]+step)
	}
	return ticks, decimals
}

// timeTicks returns the times in [from, to] at 0, 6, 12 and 18 h local
// time.
func timeTicks(from, to time.Time, loc *time.Location) []time.Time {
	lf := from.In(loc)
	t := time.Date(lf.Year(), lf.Month(), lf.Day(), lf.Hour(), 0, 0, 0, loc)
	if t.Before(from) {
		t = t.Add(time.Hour)
	}
	var out []time.Time
	for ; !t.After(to); t = t.Add(time.Hour) {
		if t.In(loc).Hour()%6 == 0 {
			out = append(out, t)
		}
	}
	return out
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
