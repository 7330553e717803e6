package web

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// fixedChart is 24 hours from 27 November 2026 at 14:00 UTC, with 20
// hourly points (a gap of four hours in the middle).
func fixedChart() chartData {
	from := time.Date(2026, 11, 27, 14, 0, 0, 0, time.UTC)
	c := chartData{ID: "chart-pm10", Title: "PM10 (µg/m³)", Unit: "µg/m³", From: from, To: from.Add(24 * time.Hour), Step: time.Hour}
	for h := 0; h < 24; h++ {
		if h >= 8 && h < 12 {
			continue
		}
		c.Points = append(c.Points, chartPoint{T: from.Add(time.Duration(h) * time.Hour), V: 10 + float64(h)/2})
	}
	return c
}

// What a user checks of a chart: it is an image with a title and a
// description in words, a marker per average, axes labelled the
// language's way, and a line broken where hours have no reading.
func TestChart(t *testing.T) {
	fr, en := localizers()
	c := fixedChart()
	svg := string(fr.chart(c, time.UTC))
	for _, want := range []string{
		`<svg class="chart" role="img"`, `aria-labelledby="chart-pm10-title chart-pm10-desc"`,
		`<title id="chart-pm10-title">PM10 (µg/m³), moyennes horaires</title>`,
		"<desc id=\"chart-pm10-desc\">20 moyennes horaires. Du 27 nov. 2026 à 14:00 au 28 nov. 2026 à 14:00. Minimum 10\u00a0µg/m³ (27 nov. 2026 à 14:00), maximum 21,5\u00a0µg/m³ (28 nov. 2026 à 13:00), dernière valeur 21,5\u00a0µg/m³ (28 nov. 2026 à 13:00).</desc>",
		">10<", ">15<", ">20<", ">25<", // y ticks
		">18:00<", ">00:00<", ">06:00<", ">12:00<", // hours
		">27 nov. 2026<", ">28 nov. 2026<", // the day under the first tick and under midnight
		"<title>27 nov. 2026 à 15:00 : 10,5\u00a0µg/m³</title>",
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("French chart lacks %q", want)
		}
	}
	if n := strings.Count(svg, "<circle"); n != 20 {
		t.Errorf("%d markers, want 20", n)
	}
	if n := strings.Count(svg, "<polyline"); n != 2 {
		t.Errorf("%d line segments, want 2 (broken at the four hours without readings)", n)
	}
	for _, colour := range chartPalette {
		if strings.Contains(svg, colour) != (colour == chartPalette[0]) {
			t.Errorf("colour %s: the first chart uses the first colour only", colour)
		}
	}
	svg = string(en.chart(c, time.UTC))
	for _, want := range []string{
		"PM10 (µg/m³), hourly averages", "20 hourly averages. From 27 Nov 2026, 14:00 to 28 Nov 2026, 14:00.",
		"maximum 21.5\u00a0µg/m³", ">27 Nov 2026<", "27 Nov 2026, 15:00: 10.5\u00a0µg/m³",
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("English chart lacks %q", want)
		}
	}
	// Y ticks take the language's decimal separator.
	small := fixedChart()
	small.Points = []chartPoint{{small.From, 10.2}, {small.From.Add(time.Hour), 11.1}}
	if svg := string(fr.chart(small, time.UTC)); !strings.Contains(svg, ">10,25<") || !strings.Contains(svg, ">11,25<") {
		t.Error("French y ticks lack a decimal comma")
	}
	if svg := string(en.chart(small, time.UTC)); !strings.Contains(svg, ">10.75<") {
		t.Error("English y ticks lack a decimal point")
	}
	// In Paris, ticks are at local hours.
	paris, err := time.LoadLocation("Europe/Paris")
	if err == nil {
		if svg := string(fr.chart(c, paris)); !strings.Contains(svg, ">18:00<") || strings.Contains(svg, ">17:00<") {
			t.Error("Paris chart: ticks are not at local six-hour marks")
		}
	}
	// A lone point is a marker, without a line; no point, no chart.
	c.Points = c.Points[:1]
	svg = string(fr.chart(c, time.UTC))
	if strings.Count(svg, "<circle") != 1 || strings.Contains(svg, "<polyline") || !strings.Contains(svg, "Une moyenne horaire.") {
		t.Errorf("one point: %s", svg)
	}
	c.Points = nil
	if fr.chart(c, time.UTC) != "" {
		t.Error("a chart without points")
	}
}

func TestNiceTicks(t *testing.T) {
	for _, tt := range []struct {
		lo, hi   float64
		want     string
		decimals int
	}{
		{10, 21.5, "[10 15 20 25]", 0},
		{10.2, 11.1, "[10 10.25 10.5 10.75 11 11.25]", 2},
		{0, 1, "[0 0.25 0.5 0.75 1]", 2},
		{0, 1000, "[0 250 500 750 1000]", 0},
		{5, 5, "[4 4.5 5 5.5 6]", 1},
		{-3.25, 2, "[-4 -2 0 2]", 0},
	} {
		ticks, d := niceTicks(tt.lo, tt.hi, 5)
		if got := fmt.Sprint(ticks); got != tt.want || d != tt.decimals {
			t.Errorf("niceTicks(%v, %v) = %s, %d; want %s, %d", tt.lo, tt.hi, got, d, tt.want, tt.decimals)
		}
	}
}
