package web

import (
	"strings"
	"testing"
	"time"
)

func TestParseDashRange(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, loc) }
	def := DashRange{From: day(11, 13), To: day(11, 20)}
	for _, c := range []struct {
		from, to string
		want     DashRange
		notice   string
	}{
		{"", "", def, ""},
		{"2026-11-01", "2026-11-01", DashRange{day(11, 1), day(11, 2)}, ""},
		{"2026-10-25", "2026-10-25", DashRange{day(10, 25), day(10, 26)}, ""}, // 25 hours
		{"2026-11-01", "", DashRange{day(11, 1), day(11, 20)}, ""},
		{"2026-11-12", "2026-11-01", def, "dash.err.order"},
		{"1800-01-01", "2026-11-01", def, "dash.err.absurd"},
		{"2026-11-01", "9999-12-31", def, "dash.err.absurd"},
		{"demain", "2026-11-01", def, "dash.err.date"},
		{"2026-02-30", "2026-03-01", def, "dash.err.date"},
		{"2020-01-01", "2026-11-01", def, "dash.err.long"},
	} {
		got, notice := ParseDashRange(c.from, c.to, now, loc, 7)
		if !got.From.Equal(c.want.From) || !got.To.Equal(c.want.To) || notice != c.notice {
			t.Errorf("ParseDashRange(%q, %q) = %v–%v %q, want %v–%v %q", c.from, c.to, got.From, got.To, notice, c.want.From, c.want.To, c.notice)
		}
	}
	if n := (DashRange{day(10, 25), day(10, 26)}).Days(); n != 1 {
		t.Errorf("Days across the change to winter time: %d", n)
	}
}

// The time axis has a handful of ticks whatever the span.
func TestDashTicks(t *testing.T) {
	l := localizer{lang: LangFR, msgs: catalogue()[LangFR]}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, span := range []time.Duration{3 * time.Hour, 24 * time.Hour, 48 * time.Hour, 7 * 24 * time.Hour, 31 * 24 * time.Hour, 365 * 24 * time.Hour, 30 * 365 * 24 * time.Hour} {
		ticks := l.dashTicks(from, from.Add(span), time.UTC)
		if len(ticks) == 0 || len(ticks) > 17 {
			t.Errorf("span %v: %d ticks", span, len(ticks))
		}
		for _, tk := range ticks {
			if tk.label == "" || strings.Contains(tk.label, "⟦") {
				t.Errorf("span %v: tick %+v", span, tk)
			}
		}
	}
	svg := string(l.dashChart(dashChartData{ID: "c", Title: "T", Unit: "kWh", From: from, To: from.Add(48 * time.Hour),
		Series: []dashSeries{{Label: "a", Points: []chartPoint{{from, 1}, {from.Add(time.Hour), 2}}}, {Label: "b", Dashed: true, Points: []chartPoint{{from, 3}}}}}, time.UTC))
	for _, want := range []string{`role="img"`, `<title id="c-title">`, `<desc id="c-desc">`, `stroke-dasharray`, ">a</text>", ">b</text>"} {
		if !strings.Contains(svg, want) {
			t.Errorf("chart lacks %q", want)
		}
	}
}
