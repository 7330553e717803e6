package dashboards

import (
	"testing"
	"time"
)

func TestDJU(t *testing.T) {
	for _, c := range []struct{ tmin, tmax, want float64 }{
		{2, 8, 13},    // 18 − 5
		{-4, 3, 18.5}, // 18 − (−0.5)
		{12, 24, 0},   // mean 18: no heating
		{15, 25, 0},   // above the base: never negative
		{10.5, 17, 4.25},
	} {
		if got := DJU(c.tmin, c.tmax); got != c.want {
			t.Errorf("DJU(%v, %v) = %v, want %v", c.tmin, c.tmax, got, c.want)
		}
	}
}

// A local day's Tmin and Tmax are the extremes of its hourly aggregates;
// the hour from 23 h UTC belongs to the next day in Paris.
func TestDegreeDays(t *testing.T) {
	loc := paris(t)
	d := time.Date(2026, 1, 15, 0, 0, 0, 0, loc)
	temps := []TemperatureHour{
		{Time: d, Min: 3, Max: 4},
		{Time: d.Add(5 * time.Hour), Min: 2, Max: 3},
		{Time: d.Add(14 * time.Hour), Min: 7, Max: 8},
		{Time: d.Add(24 * time.Hour), Min: -10, Max: -9}, // the 16th
	}
	got := DegreeDays(temps, loc)
	if len(got) != 2 || !got[0].Day.Equal(d) || got[0].Tmin != 2 || got[0].Tmax != 8 || got[0].DJU != 13 || got[0].Hours != 3 {
		t.Fatalf("DegreeDays = %+v", got)
	}
	if got[1].DJU != 27.5 || got[1].Hours != 1 {
		t.Errorf("16 January = %+v", got[1])
	}
}

func TestWeatherCorrect(t *testing.T) {
	for _, c := range []struct{ kwh, base, cur, ref, want float64 }{
		{1680, 700, 84, 105, 1925}, // 700 + 980 × 1.25
		{1000, 300, 100, 120, 1140},
		{1000, 300, 0, 120, 1000}, // no DJU now: nothing to scale
		{200, 300, 100, 50, 200},  // below the base: no heating part
		{1000, 0, 100, 50, 500},   // all heating
	} {
		if got := WeatherCorrect(c.kwh, c.base, c.cur, c.ref); !near(got, c.want) {
			t.Errorf("WeatherCorrect(%v, %v, %v, %v) = %v, want %v", c.kwh, c.base, c.cur, c.ref, got, c.want)
		}
	}
}

func TestNonHeatingBaseline(t *testing.T) {
	loc := paris(t)
	d := func(n int) time.Time { return time.Date(2026, 6, 1+n, 0, 0, 0, 0, loc) }
	daily := []Period{{Start: d(0), KWh: 100}, {Start: d(1), KWh: 120}, {Start: d(2), KWh: 500}, {Start: d(3), KWh: 90}}
	dd := []DegreeDay{{Day: d(0)}, {Day: d(1)}, {Day: d(2), DJU: 4}} // d(3) has no temperature
	if got, n := NonHeatingBaseline(daily, dd); got != 110 || n != 2 {
		t.Errorf("NonHeatingBaseline = %v over %d days, want 110 over 2", got, n)
	}
	if got, n := NonHeatingBaseline(daily, nil); got != 0 || n != 0 {
		t.Errorf("NonHeatingBaseline without DJU = %v, %d", got, n)
	}
}

// The comparison with last year's same dates, by hand: see
// TestEnergyFromInfluxDB for the same figures read from InfluxDB.
func TestCompareWithPreviousYear(t *testing.T) {
	loc := paris(t)
	from := time.Date(2026, 1, 12, 0, 0, 0, 0, loc)
	to := from.AddDate(0, 0, 7)
	pts := append(hourly(from.AddDate(-1, 0, 0), to.AddDate(-1, 0, 0), 12), hourly(from, to, 10)...)
	var dd []DegreeDay
	for n := range 7 {
		dd = append(dd, DegreeDay{Day: from.AddDate(-1, 0, n), DJU: 15}, DegreeDay{Day: from.AddDate(0, 0, n), DJU: 12})
	}
	c := CompareWithPreviousYear(pts, dd, from.Add(3*time.Hour), to.Add(-time.Hour), 100, loc)
	checkComparison(t, c, from, to)
}

func checkComparison(t *testing.T, c YearComparison, from, to time.Time) {
	t.Helper()
	// 7 days × 24 h × 10 kWh = 1 680 kWh, a year before at 12: 2 016 kWh.
	// DJU 7 × 12 = 84 against 7 × 15 = 105. Base 100 kWh a day: 700 kWh,
	// heating 980, corrected 700 + 980 × 105 / 84 = 1 925 kWh.
	if !c.From.Equal(from) || !c.To.Equal(to) || !c.PrevFrom.Equal(from.AddDate(-1, 0, 0)) || !c.PrevTo.Equal(to.AddDate(-1, 0, 0)) {
		t.Errorf("periods %v–%v and %v–%v", c.From, c.To, c.PrevFrom, c.PrevTo)
	}
	for _, f := range []struct {
		name      string
		got, want float64
	}{
		{"KWh", c.KWh, 1680}, {"PrevKWh", c.PrevKWh, 2016},
		{"DJU", c.DJU, 84}, {"PrevDJU", c.PrevDJU, 105},
		{"BaseKWh", c.BaseKWh, 700}, {"HeatingKWh", c.HeatingKWh, 980},
		{"CorrectedKWh", c.CorrectedKWh, 1925},
		{"RawChange", c.RawChange, (1680 - 2016) / 2016.0 * 100},             // −16.67 %
		{"CorrectedChange", c.CorrectedChange, (1925 - 2016) / 2016.0 * 100}, // −4.51 %
	} {
		if !near(f.got, f.want) {
			t.Errorf("%s = %v, want %v", f.name, f.got, f.want)
		}
	}
}
