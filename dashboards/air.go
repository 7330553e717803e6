package dashboards

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// AirSeries is the hourly means of one pollutant at one sensor, in time
// order (a point is stamped with the start of its hour).
type AirSeries struct {
	Sensor    string
	Pollutant Pollutant
	Points    []Point
}

// AirHourly returns the hourly means of the five pollutants of every air
// sensor, for the hours starting in [from, to): the `<pollutant>_mean`
// fields of the gateway's air_agg aggregates of window "1h", read from the
// bucket of retention (usually [AggregateRetention]). Sorted by sensor,
// then in the order of [Pollutants]; a sensor that moved site keeps one
// series per pollutant.
func (r *Reader) AirHourly(ctx context.Context, retention string, from, to time.Time) ([]AirSeries, error) {
	fields := make([]string, len(Pollutants))
	for i, p := range Pollutants {
		fields[i] = string(p) + "_mean"
	}
	rows, err := r.windowRows(ctx, retention, "air_agg", "1h", fields, from, to)
	if err != nil {
		return nil, err
	}
	type key struct {
		sensor string
		p      Pollutant
	}
	by := map[key][]Point{}
	for _, row := range rows {
		k := key{row.Sensor, Pollutant(strings.TrimSuffix(row.Field, "_mean"))}
		by[k] = append(by[k], Point{Time: row.Time, Value: row.Value})
	}
	out := make([]AirSeries, 0, len(by))
	for k, pts := range by {
		out = append(out, AirSeries{Sensor: k.sensor, Pollutant: k.p, Points: pts})
	}
	slices.SortFunc(out, func(a, b AirSeries) int {
		if c := strings.Compare(a.Sensor, b.Sensor); c != 0 {
			return c
		}
		return slices.Index(Pollutants, a.Pollutant) - slices.Index(Pollutants, b.Pollutant)
	})
	return out, nil
}

// MinHoursPerDay is how many hourly means (or 8-hour means) of a sensor a
// day needs for its daily statistics: 75 %, the data capture the European
// air quality directive 2008/50/EC (annex VII and XI) asks of daily values.
const MinHoursPerDay = 18

// min8h is how many hourly means an 8-hour mean needs (75 % of 8).
const min8h = 6

// AirDay is the town's statistics of one local day, each the highest
// among the sensors that measured the pollutant for at least
// [MinHoursPerDay] hours (the worst exposure in the town, as the arrêté
// takes « le maximum » over its zone), and the day's local ATMO index.
type AirDay struct {
	Date time.Time // local midnight

	// Mean is the 24-hour mean of the hourly means.
	Mean map[Pollutant]float64
	// MaxHourly is the highest hourly mean of the day.
	MaxHourly map[Pollutant]float64
	// Max8h is the highest 8-hour running mean ending in the day (ozone
	// only; a mean needs 6 hours of 8).
	Max8h map[Pollutant]float64

	// Atmo is the local ATMO index of the day from Mean (particles) and
	// MaxHourly (NO2, O3, SO2), SubIndex its sub-indices and Responsible
	// the pollutants that set it: see AtmoIndex. It is a local indicator,
	// to be shown with LocalAtmoNotice.
	Atmo        AtmoLevel
	SubIndex    map[Pollutant]AtmoLevel
	Responsible []Pollutant
}

// AirDays returns the statistics and local ATMO index of each local day
// (in loc, Europe/Paris for a French town) from the day of from to the day
// before to's, reading the hourly means (see AirHourly) from 7 hours
// before from, for the 8-hour means of ozone. Days without any statistic
// are left out.
func (r *Reader) AirDays(ctx context.Context, retention string, from, to time.Time, loc *time.Location) ([]AirDay, error) {
	series, err := r.AirHourly(ctx, retention, from.Add(-7*time.Hour), to)
	if err != nil {
		return nil, err
	}
	days := DailyAir(series, loc)
	first, last := localMidnight(from, loc), to
	return slices.DeleteFunc(days, func(d AirDay) bool { return d.Date.Before(first) || !d.Date.Before(last) }), nil
}

func localMidnight(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// DailyAir computes the town's daily statistics and index from hourly
// series (AirHourly's), by local day in loc, in date order.
func DailyAir(series []AirSeries, loc *time.Location) []AirDay {
	days := map[time.Time]*AirDay{}
	day := func(t time.Time) *AirDay {
		d, ok := days[t]
		if !ok {
			d = &AirDay{Date: t, Mean: map[Pollutant]float64{}, MaxHourly: map[Pollutant]float64{}, Max8h: map[Pollutant]float64{}}
			days[t] = d
		}
		return d
	}
	keepMax := func(m map[Pollutant]float64, p Pollutant, v float64) {
		if cur, ok := m[p]; !ok || v > cur {
			m[p] = v
		}
	}
	for _, s := range series {
		type acc struct {
			n        int
			sum, max float64
		}
		perDay := map[time.Time]*acc{}
		for _, pt := range s.Points {
			d := localMidnight(pt.Time, loc)
			a := perDay[d]
			if a == nil {
				a = &acc{max: pt.Value}
				perDay[d] = a
			}
			a.n++
			a.sum += pt.Value
			a.max = max(a.max, pt.Value)
		}
		for d, a := range perDay {
			if a.n < MinHoursPerDay {
				continue
			}
			keepMax(day(d).Mean, s.Pollutant, a.sum/float64(a.n))
			keepMax(day(d).MaxHourly, s.Pollutant, a.max)
		}
		if s.Pollutant == O3 {
			for d, a := range eightHourMeans(s.Points, loc) {
				if a.n >= MinHoursPerDay {
					keepMax(day(d).Max8h, O3, a.max)
				}
			}
		}
	}
	out := make([]AirDay, 0, len(days))
	for _, d := range days {
		in := map[Pollutant]float64{}
		for _, p := range Pollutants {
			v, ok := d.MaxHourly[p]
			if p == PM25 || p == PM10 {
				v, ok = d.Mean[p]
			}
			if ok {
				in[p] = v
			}
		}
		d.Atmo, d.SubIndex, d.Responsible = AtmoIndex(in)
		out = append(out, *d)
	}
	slices.SortFunc(out, func(a, b AirDay) int { return a.Date.Compare(b.Date) })
	return out
}

// eightHourMeans returns, per local day, how many 8-hour running means of
// the hourly points end in it (the mean of the hour starting at t and the
// 7 before, belonging to t's day) and the highest.
func eightHourMeans(points []Point, loc *time.Location) map[time.Time]*struct {
	n   int
	max float64
} {
	byHour := map[int64]float64{}
	for _, p := range points {
		byHour[p.Time.Truncate(time.Hour).Unix()] = p.Value
	}
	out := map[time.Time]*struct {
		n   int
		max float64
	}{}
	for _, p := range points {
		end := p.Time.Truncate(time.Hour).Unix()
		n, sum := 0, 0.0
		for h := range int64(8) {
			if v, ok := byHour[end-h*3600]; ok {
				n++
				sum += v
			}
		}
		if n < min8h {
			continue
		}
		d := localMidnight(p.Time, loc)
		a := out[d]
		if a == nil {
			a = &struct {
				n   int
				max float64
			}{max: sum / float64(n)}
			out[d] = a
		}
		a.n++
		a.max = max(a.max, sum/float64(n))
	}
	return out
}

// Statistic is the averaging of a WHO guideline value.
type Statistic string

// The statistics of the WHO 2021 guidelines.
const (
	Mean24h    Statistic = "24-hour mean"
	Max8h      Statistic = "daily maximum 8-hour mean"
	AnnualMean Statistic = "annual mean"
	PeakSeason Statistic = "peak season" // mean of the daily maximum 8-hour means over the six consecutive months where it is highest
)

// Guideline is an air quality guideline level, in µg/m³: a statistic
// above it is an exceedance.
type Guideline struct {
	Pollutant Pollutant
	Statistic Statistic
	Level     float64
}

// WHO2021 are the air quality guideline levels of the WHO global air
// quality guidelines (World Health Organization, 22 September 2021, ISBN
// 9789240034228, table 0.1 of the executive summary,
// https://www.who.int/publications/i/item/9789240034228): PM2.5 annual 5 and
// 24-hour 15; PM10 annual 15 and 24-hour 45; NO2 annual 10 and 24-hour 25;
// O3 peak season 60 and 8-hour 100; SO2 24-hour 40. The WHO states the
// short-term levels as 99th percentiles (3–4 exceedance days a year are
// tolerated): every exceeding day is listed here, the count is the
// reader's to judge.
var WHO2021 = []Guideline{
	{PM25, AnnualMean, 5}, {PM25, Mean24h, 15},
	{PM10, AnnualMean, 15}, {PM10, Mean24h, 45},
	{NO2, AnnualMean, 10}, {NO2, Mean24h, 25},
	{O3, PeakSeason, 60}, {O3, Max8h, 100},
	{SO2, Mean24h, 40},
}

// Exceedance is a period whose statistic exceeded a guideline level.
type Exceedance struct {
	Guideline
	From, To time.Time // the day, year or six months: [From, To)
	Value    float64
	Days     int // days with the statistic in the period (1 for a day)
}

// WHOExceedances returns the exceedances of the WHO 2021 guidelines in
// the days (DailyAir's): the days whose 24-hour mean (PM, NO2, SO2) or
// daily maximum 8-hour mean (O3) is above the level; the calendar years
// whose mean of the daily means is (over the days there are: Days says
// how many, a partial year is the reader's to qualify); the six
// consecutive calendar months, all with data, whose mean of the daily
// maximum 8-hour ozone means is the highest, when above 60. Sorted by
// start, then pollutant.
func WHOExceedances(days []AirDay) []Exceedance {
	var out []Exceedance
	type acc struct {
		n   int
		sum float64
	}
	years := map[Guideline]map[int]*acc{}
	months := map[time.Time]*acc{} // ozone, by first of the month
	for _, d := range days {
		next := d.Date.AddDate(0, 0, 1)
		for _, g := range WHO2021 {
			var v float64
			var ok bool
			switch g.Statistic {
			case Mean24h:
				v, ok = d.Mean[g.Pollutant]
			case Max8h:
				v, ok = d.Max8h[g.Pollutant]
			case AnnualMean:
				if v, ok := d.Mean[g.Pollutant]; ok {
					if years[g] == nil {
						years[g] = map[int]*acc{}
					}
					a := years[g][d.Date.Year()]
					if a == nil {
						a = &acc{}
						years[g][d.Date.Year()] = a
					}
					a.n++
					a.sum += v
				}
				continue
			case PeakSeason:
				if v, ok := d.Max8h[g.Pollutant]; ok {
					m := time.Date(d.Date.Year(), d.Date.Month(), 1, 0, 0, 0, 0, d.Date.Location())
					if months[m] == nil {
						months[m] = &acc{}
					}
					months[m].n++
					months[m].sum += v
				}
				continue
			}
			if ok && v > g.Level {
				out = append(out, Exceedance{Guideline: g, From: d.Date, To: next, Value: v, Days: 1})
			}
		}
	}
	for g, ys := range years {
		for y, a := range ys {
			if mean := a.sum / float64(a.n); mean > g.Level {
				loc := days[0].Date.Location()
				out = append(out, Exceedance{Guideline: g, From: time.Date(y, 1, 1, 0, 0, 0, 0, loc), To: time.Date(y+1, 1, 1, 0, 0, 0, 0, loc), Value: mean, Days: a.n})
			}
		}
	}
	var best *Exceedance
	for m := range months {
		var total acc
		for i := range 6 {
			a := months[m.AddDate(0, i, 0)]
			if a == nil {
				total.n = 0
				break
			}
			total.n += a.n
			total.sum += a.sum
		}
		if total.n == 0 {
			continue
		}
		if mean := total.sum / float64(total.n); best == nil || mean > best.Value || (mean == best.Value && m.Before(best.From)) {
			best = &Exceedance{Guideline: Guideline{O3, PeakSeason, 60}, From: m, To: m.AddDate(0, 6, 0), Value: mean, Days: total.n}
		}
	}
	if best != nil && best.Value > best.Level {
		out = append(out, *best)
	}
	slices.SortFunc(out, func(a, b Exceedance) int {
		if c := a.From.Compare(b.From); c != 0 {
			return c
		}
		if c := slices.Index(Pollutants, a.Pollutant) - slices.Index(Pollutants, b.Pollutant); c != 0 {
			return c
		}
		return strings.Compare(string(a.Statistic), string(b.Statistic))
	})
	return out
}

// String describes an exceedance for a log or a table.
func (e Exceedance) String() string {
	return fmt.Sprintf("%s %s %.1f > %g µg/m³ [%s, %s)", e.Pollutant, e.Statistic, e.Value, e.Level,
		e.From.Format(time.DateOnly), e.To.Format(time.DateOnly))
}
