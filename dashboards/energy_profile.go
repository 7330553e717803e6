package dashboards

import (
	"slices"
	"time"
)

// localHour is an hour of the local calendar: a date and a clock hour.
type localHour struct {
	date time.Time // local midnight
	hour int
}

// byLocalHour sums hourly points per local date and clock hour: on the day
// summer time ends, the two hours from 2 to 3 h fall on the same clock
// hour 2 and are summed; on the day it starts there is no hour 2.
func byLocalHour(hours []Point, loc *time.Location) map[localHour]float64 {
	m := map[localHour]float64{}
	for _, p := range hours {
		l := p.Time.In(loc)
		m[localHour{PeriodStart(l, StepDay, loc), l.Hour()}] += p.Value
	}
	return m
}

// LoadCurve is the hourly consumption of a day against a typical day: for
// each clock hour, the mean of the same hour on the same weekday of the
// previous weeks that have it.
type LoadCurve struct {
	Day   time.Time  // local midnight
	Weeks int        // how many previous weeks the typical day looks at
	Hours []LoadHour // 24, by local clock hour
	// KWh and TypicalKWh are the day's and the typical day's totals.
	KWh, TypicalKWh float64
}

// LoadHour is one clock hour of a LoadCurve.
type LoadHour struct {
	Hour int     // local clock hour, 0 to 23
	KWh  float64 // the day's consumption in the hour
	// Known is false when the day has no aggregate for the hour (a gap,
	// or 2 h on the day summer time starts).
	Known bool
	// Typical is the mean of the hour over TypicalDays of the previous
	// weeks (0 when none has it).
	Typical     float64
	TypicalDays int
}

// LoadCurveOf returns the load curve of the local day that day falls in
// from hourly consumption, with a typical day averaged over the same
// weekday of the weeks previous (4 when weeks <= 0).
func LoadCurveOf(hours []Point, day time.Time, weeks int, loc *time.Location) LoadCurve {
	if weeks <= 0 {
		weeks = 4
	}
	m := byLocalHour(hours, loc)
	d := PeriodStart(day, StepDay, loc)
	lc := LoadCurve{Day: d, Weeks: weeks, Hours: make([]LoadHour, 24)}
	for h := range lc.Hours {
		lh := &lc.Hours[h]
		lh.Hour = h
		lh.KWh, lh.Known = m[localHour{d, h}]
		var s float64
		for k := 1; k <= weeks; k++ {
			if v, ok := m[localHour{d.AddDate(0, 0, -7*k), h}]; ok {
				s += v
				lh.TypicalDays++
			}
		}
		if lh.TypicalDays > 0 {
			lh.Typical = s / float64(lh.TypicalDays)
		}
		lc.KWh += lh.KWh
		lc.TypicalKWh += lh.Typical
	}
	return lc
}

// OpeningHours is when a building is in use, on the local clock. Its zero
// value means Monday to Friday, 7 to 19 h. Public holidays and school
// holidays are not known: they count as occupied weekdays.
type OpeningHours struct {
	// Days are the days of use; empty: Monday to Friday.
	Days []time.Weekday
	// From and To are the clock hours of use, From <= hour < To; both
	// zero: 7 and 19.
	From, To int
}

// Occupied reports whether the hour starting at t is one of use.
func (o OpeningHours) Occupied(t time.Time, loc *time.Location) bool {
	l := t.In(loc)
	days := o.Days
	if len(days) == 0 {
		days = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	}
	from, to := o.From, o.To
	if from == 0 && to == 0 {
		from, to = 7, 19
	}
	return slices.Contains(days, l.Weekday()) && l.Hour() >= from && l.Hour() < to
}

// Baseline is what a building consumes when nobody is there.
type Baseline struct {
	// NightKW is the median of the hourly consumption from 0 to 5 h
	// (clock hours 0 to 4, every day): a kWh in an hour is a mean power
	// in kW. NightHours is how many hours it is the median of.
	NightKW    float64
	NightHours int
	// WeekendKW is the mean hourly consumption on Saturdays and Sundays,
	// over WeekendHours hours.
	WeekendKW    float64
	WeekendHours int
	// KWh is the total consumption; OutsideKWh the part in hours outside
	// occupancy, OutsideShare = OutsideKWh / KWh (0 when KWh is 0).
	KWh, OutsideKWh, OutsideShare float64
}

// BaselineOf returns the night and weekend baseline of hourly consumption
// and its share outside the hours of occupancy.
func BaselineOf(hours []Point, occ OpeningHours, loc *time.Location) Baseline {
	var b Baseline
	var night []float64
	var weekend float64
	for _, p := range hours {
		l := p.Time.In(loc)
		if l.Hour() < 5 {
			night = append(night, p.Value)
		}
		if wd := l.Weekday(); wd == time.Saturday || wd == time.Sunday {
			weekend += p.Value
			b.WeekendHours++
		}
		b.KWh += p.Value
		if !occ.Occupied(p.Time, loc) {
			b.OutsideKWh += p.Value
		}
	}
	b.NightKW, b.NightHours = median(night), len(night)
	if b.WeekendHours > 0 {
		b.WeekendKW = weekend / float64(b.WeekendHours)
	}
	if b.KWh != 0 {
		b.OutsideShare = b.OutsideKWh / b.KWh
	}
	return b
}

// median returns the median of vs (the mean of the middle two for an even
// count), 0 for none.
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
