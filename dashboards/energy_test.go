package dashboards

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/civisens/civisens/registry/registryapi"
)

func paris(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// hourly returns one point of kwh for each hour in [from, to).
func hourly(from, to time.Time, kwh float64) []Point {
	var out []Point
	for t := from.UTC(); t.Before(to); t = t.Add(time.Hour) {
		out = append(out, Point{Time: t, Value: kwh})
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-6*max(1, math.Abs(a), math.Abs(b)) }

// A local day has 23, 24 or 25 hours, and a month starts at local
// midnight — an hour before midnight UTC in winter.
func TestRollupOnTheLocalCalendar(t *testing.T) {
	loc := paris(t)
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, loc) }
	var pts []Point
	pts = append(pts, hourly(day(3, 28), day(3, 31), 1)...)   // summer time starts on the 29th
	pts = append(pts, hourly(day(10, 24), day(10, 27), 1)...) // and ends on the 25th
	pts = append(pts, Point{Time: day(11, 1), Value: 5})      // 2026-10-31T23:00Z
	got := Rollup(pts, StepDay, loc)
	want := []struct {
		day   time.Time
		kwh   float64
		hours int
	}{
		{day(3, 28), 24, 24}, {day(3, 29), 23, 23}, {day(3, 30), 24, 24},
		{day(10, 24), 24, 24}, {day(10, 25), 25, 25}, {day(10, 26), 24, 24},
		{day(11, 1), 5, 1},
	}
	if len(got) != len(want) {
		t.Fatalf("Rollup by day = %v", got)
	}
	for i, w := range want {
		g := got[i]
		if !g.Start.Equal(w.day) || g.KWh != w.kwh || g.Hours != w.hours || !g.End.Equal(w.day.AddDate(0, 0, 1)) {
			t.Errorf("day %d = %+v, want %v %v kWh in %d hours", i, g, w.day, w.kwh, w.hours)
		}
		if complete := i != len(want)-1; g.Complete() != complete {
			t.Errorf("day %v Complete() = %v", g.Start, g.Complete())
		}
	}
	months := Rollup(pts, StepMonth, loc)
	if len(months) != 3 || months[0].KWh != 24+23+24 || months[1].KWh != 73 || months[2].KWh != 5 || !months[2].Start.Equal(day(11, 1)) {
		t.Errorf("Rollup by month = %+v", months)
	}
	years := Rollup(pts, StepYear, loc)
	if len(years) != 1 || years[0].KWh != 71+73+5 {
		t.Errorf("Rollup by year = %+v", years)
	}
	if hours := Rollup(pts, StepHour, loc); len(hours) != len(pts) {
		t.Errorf("Rollup by hour: %d periods, want %d", len(hours), len(pts))
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// A week of a school: 2 kW at night, 10 kW in the hours of use, 3 kW
// otherwise; the night median, the weekend mean and the share outside
// occupancy are computed by hand.
func TestBaseline(t *testing.T) {
	loc := paris(t)
	monday := time.Date(2026, 11, 16, 0, 0, 0, 0, loc)
	var pts []Point
	for d := range 7 {
		for h := range 24 {
			at := monday.AddDate(0, 0, d).Add(time.Duration(h) * time.Hour)
			v := 3.0
			switch {
			case h < 5:
				v = 2
				if d == 2 && h == 3 {
					v = 50 // one odd night hour: the median ignores it
				}
			case d < 5 && h >= 7 && h < 19:
				v = 10
			}
			pts = append(pts, Point{Time: at, Value: v})
		}
	}
	b := BaselineOf(pts, OpeningHours{}, loc)
	// Night: 35 hours, 34 at 2 and one at 50. Weekend: 2 days of 5 h at
	// 2 and 19 h at 3. Occupied: 5 days × 12 h × 10 = 600 kWh.
	total := 7*5*2 + 48.0 + 5*(12*10+7*3) + 2*19*3
	if b.NightKW != 2 || b.NightHours != 35 {
		t.Errorf("night = %v kW over %d h, want 2 over 35", b.NightKW, b.NightHours)
	}
	if want := (2*5*2 + 2*19*3) / 48.0; !near(b.WeekendKW, want) || b.WeekendHours != 48 {
		t.Errorf("weekend = %v kW over %d h, want %v over 48", b.WeekendKW, b.WeekendHours, want)
	}
	if !near(b.KWh, total) || !near(b.OutsideKWh, total-600) || !near(b.OutsideShare, (total-600)/total) {
		t.Errorf("baseline = %+v, want %v kWh, %v outside", b, total, total-600)
	}
	// Another occupancy: every day, 8 to 12 h.
	o := OpeningHours{Days: []time.Weekday{0, 1, 2, 3, 4, 5, 6}, From: 8, To: 12}
	if !o.Occupied(monday.AddDate(0, 0, 6).Add(9*time.Hour), loc) || o.Occupied(monday.Add(12*time.Hour), loc) {
		t.Error("Occupied with a custom occupancy")
	}
}

// The load curve of a Monday against the mean of the previous Mondays,
// and on the day summer time ends (two hours at 2 h, summed).
func TestLoadCurve(t *testing.T) {
	loc := paris(t)
	day := time.Date(2026, 11, 16, 0, 0, 0, 0, loc)
	var pts []Point
	pts = append(pts, hourly(day, day.AddDate(0, 0, 1), 5)...)
	pts = append(pts, hourly(day.AddDate(0, 0, -7), day.AddDate(0, 0, -6), 4)...)
	pts = append(pts, hourly(day.AddDate(0, 0, -14), day.AddDate(0, 0, -13), 2)...)
	// Three weeks ago, only the hour 8 h.
	pts = append(pts, Point{Time: day.AddDate(0, 0, -21).Add(8 * time.Hour), Value: 9})
	lc := LoadCurveOf(pts, day.Add(15*time.Hour), 3, loc)
	if !lc.Day.Equal(day) || lc.Weeks != 3 || len(lc.Hours) != 24 {
		t.Fatalf("load curve = %+v", lc)
	}
	for _, h := range lc.Hours {
		want, n := 3.0, 2
		if h.Hour == 8 {
			want, n = 5, 3
		}
		if h.KWh != 5 || !h.Known || h.Typical != want || h.TypicalDays != n {
			t.Errorf("hour %d = %+v, want 5 kWh against %v over %d days", h.Hour, h, want, n)
		}
	}
	if lc.KWh != 120 || lc.TypicalKWh != 23*3+5 {
		t.Errorf("totals %v against %v", lc.KWh, lc.TypicalKWh)
	}

	end := time.Date(2026, 10, 25, 0, 0, 0, 0, loc)
	lc = LoadCurveOf(hourly(end, end.AddDate(0, 0, 1), 1), end, 0, loc)
	if lc.Weeks != 4 || lc.Hours[2].KWh != 2 || lc.Hours[3].KWh != 1 || lc.KWh != 25 {
		t.Errorf("load curve of 25 October: %+v", lc)
	}
	start := time.Date(2026, 3, 29, 0, 0, 0, 0, loc)
	lc = LoadCurveOf(hourly(start, start.AddDate(0, 0, 1), 1), start, 0, loc)
	if lc.Hours[2].Known || lc.KWh != 23 {
		t.Errorf("load curve of 29 March: %+v", lc)
	}
}

func TestFloorAreas(t *testing.T) {
	s := func(id, site, area string) registryapi.Sensor {
		e := registryapi.Sensor{ID: id, Site: site, Tags: map[string]string{}}
		if area != "-" {
			e.Tags[FloorAreaTag] = area
		}
		return e
	}
	got, err := FloorAreas([]registryapi.Sensor{s("a", "mairie", "1250"), s("b", "mairie", " 1250.0 "), s("c", "ecole", "800.5"), s("d", "gymnase", "-")})
	if err != nil || len(got) != 2 || got["mairie"] != 1250 || got["ecole"] != 800.5 {
		t.Errorf("FloorAreas = %v, %v", got, err)
	}
	for _, bad := range [][]registryapi.Sensor{
		{s("a", "mairie", "0")}, {s("a", "mairie", "-3")}, {s("a", "mairie", "abc")}, {s("a", "mairie", "NaN")},
		{s("a", "mairie", "1250"), s("b", "mairie", "1300")},
	} {
		if _, err := FloorAreas(bad); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("FloorAreas(%v): %v, want ErrInvalidInput", bad[0].Tags, err)
		}
	}
}

func TestMainMeters(t *testing.T) {
	in := []registryapi.Sensor{
		{ID: "e1", Category: "energy", Tags: map[string]string{"meter": "general"}},
		{ID: "e2", Category: "energy", Tags: map[string]string{"meter": "cuisine"}},
		{ID: "e3", Category: "energy"},
		{ID: "a1", Category: "air"},
	}
	got := MainMeters(in)
	if len(got) != 2 || got[0].ID != "e1" || got[1].ID != "e3" {
		t.Errorf("MainMeters = %v", got)
	}
}

// Buildings ranked by kWh/m² over the last twelve months and by drift of
// the last thirty days against the same days last year.
func TestRank(t *testing.T) {
	loc := paris(t)
	asOf := time.Date(2026, 11, 27, 15, 0, 0, 0, loc) // moved to midnight
	mid := time.Date(2026, 11, 27, 0, 0, 0, 0, loc)
	in30 := mid.AddDate(0, 0, -10)  // in the last 30 days
	inYear := mid.AddDate(0, -6, 0) // in the last year, not the last 30 days
	prev30 := mid.AddDate(-1, 0, -10)
	h := SiteHours{
		// 100 000 kWh a year on 1 000 m²: 100 kWh/m²; drift +50 %.
		"mairie": {{prev30, 2000}, {inYear, 97000}, {in30, 3000}},
		// 80 000 kWh on 500 m²: 160 kWh/m²; drift −20 %.
		"ecole": {{prev30, 2500}, {inYear, 78000}, {in30, 2000}},
		// No area, no data last year.
		"gymnase": {{in30, 1000}, {mid, 99999}}, // the day of asOf is not counted
	}
	r := RankBuildings(h, map[string]float64{"mairie": 1000, "ecole": 500}, asOf, loc)
	if !r.AsOf.Equal(mid) {
		t.Errorf("AsOf = %v", r.AsOf)
	}
	order := func(rs []BuildingRank) (s []string) {
		for _, b := range rs {
			s = append(s, b.Site)
		}
		return s
	}
	if got := order(r.ByIntensity); len(got) != 3 || got[0] != "ecole" || got[1] != "mairie" || got[2] != "gymnase" {
		t.Errorf("by intensity: %v", got)
	}
	if got := order(r.ByDrift); len(got) != 3 || got[0] != "mairie" || got[1] != "ecole" || got[2] != "gymnase" {
		t.Errorf("by drift: %v", got)
	}
	m, e, g := r.ByDrift[0], r.ByDrift[1], r.ByDrift[2]
	if m.YearKWh != 100000 || m.KWhPerM2Year != 100 || m.DriftPct != 50 || !m.HasDrift {
		t.Errorf("mairie = %+v", m)
	}
	if e.YearKWh != 80000 || e.KWhPerM2Year != 160 || e.DriftPct != -20 || e.Last30KWh != 2000 || e.Prev30KWh != 2500 {
		t.Errorf("ecole = %+v", e)
	}
	if g.YearKWh != 1000 || g.KWhPerM2Year != 0 || g.HasDrift {
		t.Errorf("gymnase = %+v", g)
	}
}

// Days above the same weekday's mean of the previous weeks by more than
// 20 %, and the same with the weather correction, by hand.
func TestConsumptionAlerts(t *testing.T) {
	loc := paris(t)
	d0 := time.Date(2026, 1, 5, 0, 0, 0, 0, loc) // a Monday
	day := func(n int) time.Time { return d0.AddDate(0, 0, n) }
	var pts []Point
	pts = append(pts, hourly(day(0), day(28), 10)...) // four weeks of 240 kWh a day
	pts = append(pts, hourly(day(28), day(29), 12.5)...)
	pts = append(pts, hourly(day(29), day(30), 280.0/24)...)
	pts = append(pts, hourly(day(30), day(30).Add(20*time.Hour), 20)...) // incomplete: 400 kWh
	got := ConsumptionAlerts(pts, day(28), day(31), loc, EnergyAlertOptions{})
	// Day 28: 300 kWh against 240: +25 % > 20 %. Day 29: 280, +16.7 %.
	if len(got) != 1 || !got[0].Day.Equal(day(28)) || !near(got[0].KWh, 300) || got[0].ExpectedKWh != 240 ||
		!near(got[0].ExcessPct, 25) || got[0].ReferenceDays != 4 || got[0].WeatherCorrected {
		t.Errorf("alerts = %+v", got)
	}
	if got := ConsumptionAlerts(pts, day(28), day(31), loc, EnergyAlertOptions{Margin: 0.10, Weeks: 2}); len(got) != 2 || !got[1].Day.Equal(day(29)) {
		t.Errorf("alerts at 10 %% = %+v", got)
	}
	// Colder on day 28: DJU 15 against 10 the previous Mondays; base 100
	// kWh a day: expected = 100 + (240 − 100) × 15 / 10 = 310 — no alert.
	var dd []DegreeDay
	for n := range 31 {
		v := 10.0
		if n == 28 {
			v = 15
		}
		dd = append(dd, DegreeDay{Day: day(n), DJU: v})
	}
	got = ConsumptionAlerts(pts, day(28), day(31), loc, EnergyAlertOptions{DegreeDays: dd, BaseKWhPerDay: 100})
	if len(got) != 0 {
		t.Errorf("weather-corrected alerts = %+v, want none", got)
	}
	// Milder on day 28 (DJU 5): expected = 100 + 140 × 0.5 = 170; 300 kWh
	// is +76.5 %.
	dd[28].DJU = 5
	got = ConsumptionAlerts(pts, day(28), day(29), loc, EnergyAlertOptions{DegreeDays: dd, BaseKWhPerDay: 100})
	if len(got) != 1 || got[0].ExpectedKWh != 170 || !got[0].WeatherCorrected || !near(got[0].ExcessPct, (300-170)/170.0*100) {
		t.Errorf("alerts on a mild day = %+v", got)
	}
}

// The raw CSV of a Flux answer: points of every table, annotations and
// non-numbers skipped, and an error table as the error.
func TestEachCSVPoint(t *testing.T) {
	body := "#datatype,string,long,dateTime:RFC3339,double\r\n#group,false,false,false,false\r\n#default,_result,,,\r\n" +
		",result,table,_time,_value\r\n" +
		",_result,0,2026-10-25T00:00:00Z,1.5\r\n" +
		",_result,0,2026-10-25T01:00:00Z,NaN-ish\r\n" +
		"\r\n" +
		",result,table,_value,_time\r\n" +
		",_result,1,2,2026-10-25T02:00:00Z\r\n"
	var got []Point
	if err := eachCSVPoint(body, func(at time.Time, v float64) { got = append(got, Point{at, v}) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Value != 1.5 || !got[1].Time.Equal(time.Date(2026, 10, 25, 2, 0, 0, 0, time.UTC)) || got[1].Value != 2 {
		t.Errorf("points = %+v", got)
	}
	err := eachCSVPoint("#datatype,string,string\r\n\r\n,error,reference\r\n,runtime error: boom,\r\n", func(time.Time, float64) {})
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("error table: %v", err)
	}
}
