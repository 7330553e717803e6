package dashboards

// Heating degree days (degrés-jours unifiés, DJU) and weather-corrected
// comparisons.
//
// DJU follow the "méthode Météo" of Météo-France: for each day,
// DJU = max(0, 18 − (Tmin + Tmax) / 2), base 18 °C, where Tmin and Tmax
// are the day's lowest and highest temperatures. Here the day is the local
// calendar day (Météo-France takes Tmin from 18 h UTC the day before to
// 18 h UTC, Tmax from 6 h UTC to 6 h UTC the next day — the difference is
// well below the uncertainty of a town's own sensor), and Tmin and Tmax
// are the lowest of the hourly aggregates' <q>_min and the highest of their
// <q>_max (their <q>_mean when a window has no min or max).
//
// Weather correction ([WeatherCorrect]) splits consumption into a base
// load, that does not depend on the weather (lighting, office equipment,
// hot water, ventilation), and a heating load, the rest, taken as
// proportional to the DJU:
//
//	corrected = base + (consumption − base) × DJU_ref / DJU_cur
//
// base is the non-heating baseline in kWh per day ([NonHeatingBaseline]:
// the mean daily consumption of days without heating, DJU = 0) times the
// number of days. This is the simple single-variable model of energy
// signatures; it ignores cooling and the heating threshold's own
// variations.

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/civisens/civisens/registry/registryapi"
)

// DJUBase is the base temperature of degree days, in °C.
const DJUBase = 18.0

// DJU returns the heating degree days of a day whose lowest and highest
// temperatures are tmin and tmax (méthode Météo, base 18 °C).
func DJU(tmin, tmax float64) float64 {
	return max(0, DJUBase-(tmin+tmax)/2)
}

// TemperatureHour is the hourly aggregate of a temperature: its lowest,
// highest and mean value in the hour starting at Time.
type TemperatureHour struct {
	Time           time.Time
	Min, Max, Mean float64
}

// Temperatures reads the hourly aggregates (<category>_agg, window "1h")
// of the temperature quantity (e.g. "temperature") of the sensor, hours
// starting in [from, to), in time order. A window without _min or _max
// takes its _mean for them; one without any is left out.
func (r *Reader) Temperatures(ctx context.Context, agg Aggregates, sensor registryapi.Sensor, quantity string, from, to time.Time) ([]TemperatureHour, error) {
	if !categoryRE.MatchString(sensor.Category) || !sensorRE.MatchString(sensor.ID) || !categoryRE.MatchString(quantity) || !to.After(from) {
		return nil, fmt.Errorf("dashboards: temperatures of %q %q over [%v, %v): %w", sensor.ID, quantity, from, to, ErrInvalidInput)
	}
	bucket, _, err := agg.resolve(r)
	if err != nil {
		return nil, fmt.Errorf("dashboards: temperatures: %w", err)
	}
	fMin, fMax, fMean := quantity+"_min", quantity+"_max", quantity+"_mean"
	q := fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r._measurement == %s and r.window == "1h" and r.sensor == %s)
  |> filter(fn: (r) => r._field == %s or r._field == %s or r._field == %s)
  |> keep(columns: ["_time", "_value", "_field"])`,
		fluxString(bucket), from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339),
		fluxString(sensor.Category+"_agg"), fluxString(sensor.ID), fluxString(fMin), fluxString(fMax), fluxString(fMean))
	res, err := r.q.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("dashboards: temperatures of %s: %w", sensor.ID, err)
	}
	defer res.Close()
	type acc struct {
		min, max, mean    float64
		hasMin, hasMax, m bool
	}
	by := map[time.Time]*acc{}
	for res.Next() {
		rec := res.Record()
		v, ok := number(rec.Value())
		if !ok || !rec.Time().Before(to) { // InfluxDB 1.8's range includes its stop
			continue
		}
		t := rec.Time().UTC()
		a := by[t]
		if a == nil {
			a = &acc{}
			by[t] = a
		}
		switch rec.Field() {
		case fMin:
			a.min, a.hasMin = v, true
		case fMax:
			a.max, a.hasMax = v, true
		case fMean:
			a.mean, a.m = v, true
		}
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("dashboards: temperatures of %s: %w", sensor.ID, err)
	}
	var out []TemperatureHour
	for _, t := range slices.SortedFunc(maps.Keys(by), time.Time.Compare) {
		a := by[t]
		if !a.m && (!a.hasMin || !a.hasMax) {
			continue
		}
		th := TemperatureHour{Time: t, Min: a.min, Max: a.max, Mean: a.mean}
		if !a.hasMin {
			th.Min = a.mean
		}
		if !a.hasMax {
			th.Max = a.mean
		}
		if !a.m {
			th.Mean = (th.Min + th.Max) / 2
		}
		out = append(out, th)
	}
	return out, nil
}

// DegreeDay is the heating degree days of one local day.
type DegreeDay struct {
	Day        time.Time // local midnight
	Tmin, Tmax float64
	DJU        float64
	// Hours is how many hourly aggregates the day has: a day with few
	// misses its coldest or warmest hours.
	Hours int
}

// DegreeDays returns the DJU of each local day of hourly temperatures, in
// time order.
func DegreeDays(temps []TemperatureHour, loc *time.Location) []DegreeDay {
	by := map[time.Time]*DegreeDay{}
	for _, th := range temps {
		d := PeriodStart(th.Time, StepDay, loc)
		dd := by[d]
		if dd == nil {
			dd = &DegreeDay{Day: d, Tmin: math.Inf(1), Tmax: math.Inf(-1)}
			by[d] = dd
		}
		dd.Tmin = min(dd.Tmin, th.Min)
		dd.Tmax = max(dd.Tmax, th.Max)
		dd.Hours++
	}
	out := make([]DegreeDay, 0, len(by))
	for _, d := range slices.SortedFunc(maps.Keys(by), time.Time.Compare) {
		dd := by[d]
		dd.DJU = DJU(dd.Tmin, dd.Tmax)
		out = append(out, *dd)
	}
	return out
}

// sumDJU returns the DJU of the days in [from, to) and how many days have
// some.
func sumDJU(dd []DegreeDay, from, to time.Time) (float64, int) {
	var s float64
	var n int
	for _, d := range dd {
		if !d.Day.Before(from) && d.Day.Before(to) {
			s += d.DJU
			n++
		}
	}
	return s, n
}

// WeatherCorrect returns consumption brought to the climate of DJU ref
// from that of DJU cur: base + (consumption − base) × ref / cur, the
// heating part (consumption above base, never below 0) scaled by the ratio
// of degree days. With cur = 0 there is nothing to scale: consumption is
// returned as it is.
func WeatherCorrect(consumption, base, cur, ref float64) float64 {
	if cur <= 0 {
		return consumption
	}
	heating := max(0, consumption-base)
	return consumption - heating + heating*ref/cur
}

// NonHeatingBaseline returns the mean daily consumption of the local days
// without heating (DJU = 0) that both daily have, in kWh per day, and how
// many such days there are (0 and 0 when none: in winter, give a baseline
// measured in summer).
func NonHeatingBaseline(daily []Period, dd []DegreeDay) (float64, int) {
	dju := map[time.Time]float64{}
	for _, d := range dd {
		dju[d.Day] = d.DJU
	}
	var s float64
	var n int
	for _, p := range daily {
		if v, ok := dju[p.Start]; ok && v == 0 {
			s += p.KWh
			n++
		}
	}
	if n == 0 {
		return 0, 0
	}
	return s / float64(n), n
}

// YearComparison compares consumption over a period with the same dates
// a year before, raw and weather-corrected.
type YearComparison struct {
	From, To         time.Time // the period, local calendar, To excluded
	PrevFrom, PrevTo time.Time // the same dates a year before
	KWh, PrevKWh     float64
	DJU, PrevDJU     float64
	// BaseKWh is the period's non-heating part: the baseline per day
	// times its days; HeatingKWh the rest.
	BaseKWh, HeatingKWh float64
	// CorrectedKWh is the period's consumption in the previous year's
	// climate: WeatherCorrect(KWh, BaseKWh, DJU, PrevDJU).
	CorrectedKWh float64
	// RawChange and CorrectedChange are (KWh − PrevKWh) / PrevKWh and
	// (CorrectedKWh − PrevKWh) / PrevKWh, in percent (0 when PrevKWh is
	// 0).
	RawChange, CorrectedChange float64
}

// CompareWithPreviousYear compares the hourly consumption of the local
// days [from, to) (moved out to whole days) with the same dates a year
// before, and corrects it for the weather with the degree days dd and a
// non-heating baseline of baseKWhPerDay.
func CompareWithPreviousYear(hours []Point, dd []DegreeDay, from, to time.Time, baseKWhPerDay float64, loc *time.Location) YearComparison {
	from = PeriodStart(from, StepDay, loc)
	if s := PeriodStart(to, StepDay, loc); !s.Equal(to) {
		to = s.AddDate(0, 0, 1)
	} else {
		to = s
	}
	c := YearComparison{From: from, To: to, PrevFrom: from.AddDate(-1, 0, 0), PrevTo: to.AddDate(-1, 0, 0)}
	c.KWh = sum(Between(hours, from, to))
	c.PrevKWh = sum(Between(hours, c.PrevFrom, c.PrevTo))
	c.DJU, _ = sumDJU(dd, from, to)
	c.PrevDJU, _ = sumDJU(dd, c.PrevFrom, c.PrevTo)
	c.BaseKWh = min(c.KWh, baseKWhPerDay*float64(daysBetween(from, to)))
	c.HeatingKWh = c.KWh - c.BaseKWh
	c.CorrectedKWh = WeatherCorrect(c.KWh, c.BaseKWh, c.DJU, c.PrevDJU)
	c.RawChange = change(c.KWh, c.PrevKWh)
	c.CorrectedChange = change(c.CorrectedKWh, c.PrevKWh)
	return c
}

// daysBetween counts the local days from local midnight from to local
// midnight to.
func daysBetween(from, to time.Time) int {
	n := 0
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		n++
	}
	return n
}

// change returns (v − ref) / ref in percent, 0 when ref is 0.
func change(v, ref float64) float64 {
	if ref == 0 {
		return 0
	}
	return (v - ref) / ref * 100
}
