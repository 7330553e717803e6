package simulate

import (
	"math"
	"time"
)

// A parking bay is free (0) or occupied (1). Cars arrive at a free bay at
// a rate that follows the hour and the day of the week, and each stays for
// a time drawn at its arrival from the kind of visit likely then:
//
//   - commuters arrive on weekday mornings (6h–9h30) and leave between 17h
//     and 19h30;
//   - errands (a bakery, the station drop-off): about 20 minutes;
//   - visits and shopping: about an hour and a half, more on Saturdays;
//   - residents arrive in the evening and leave the next morning.
//
// Durations are log-logistic around their median (a long tail, as
// measured on street parking), from 3 minutes to 18 hours.
//
// The bay's history is replayed minute by minute from an anchor 24 to 36
// hours back (the start of the UTC half-day before the last), free there.
// Every replay uses the same random number for a given minute, so two
// replays from different anchors are one history from the first minute
// both find the bay free, which comes long before the instant asked for:
// no state is kept.

// arrivalRate returns the arrivals per hour at a free bay at a local time.
func arrivalRate(l local) float64 {
	h := l.hour
	day := ramp(h, 9, 10) * (1 - ramp(h, 18, 19.5)) // shops and offices open
	switch l.weekday {
	case time.Sunday:
		return 0.03 + 0.55*gauss(h, 11.5, 1.8) + 0.45*gauss(h, 16, 2) + 0.3*gauss(h, 20.5, 1.5)
	case time.Saturday:
		return 0.03 + 1.5*ramp(h, 8, 10)*(1-ramp(h, 18.5, 20)) + 0.3*gauss(h, 20.5, 1.5)
	}
	return 0.03 + 2.4*gauss(h, 7.8, 0.8) + 1.3*day + 0.3*gauss(h, 19.5, 1.5)
}

// stayMinutes draws the stay of a car arriving at a local time from two
// uniform numbers: u picks the kind of visit, v its length.
func stayMinutes(l local, u, v float64) float64 {
	h := l.hour
	weekday := l.weekday != time.Saturday && l.weekday != time.Sunday
	var commute, errand, visit, night float64
	if weekday {
		commute = 1.4 * gauss(h, 7.8, 0.9)
	}
	errand = 0.35 + 0.25*gauss(h, 12.5, 4)
	visit = 0.45 * ramp(h, 8, 10) * (1 - ramp(h, 18, 20))
	if l.weekday == time.Saturday {
		visit *= 1.6
	}
	night = 0.4 * (ramp(h, 18, 21) + 1 - ramp(h, 1, 3))
	u *= commute + errand + visit + night
	// A log-logistic length around a median, in minutes.
	loglogistic := func(median, shape float64) float64 {
		v = math.Max(1e-6, math.Min(1-1e-6, v))
		return median * math.Pow(v/(1-v), 1/shape)
	}
	var d float64
	switch {
	case u < commute:
		d = (17+2.5*v-h)*60 + 20*v
	case u < commute+errand:
		d = loglogistic(20, 2.2)
	case u < commute+errand+visit:
		d = loglogistic(95, 2.8)
	default: // until the next morning, 6h30 to 9h
		leave := 6.5 + 2.5*v
		if l.weekday == time.Saturday || l.weekday == time.Sunday && h >= 12 {
			leave += 1 // a later start after a Friday or Saturday night
		}
		d = math.Mod(leave-h+24, 24) * 60
	}
	return math.Max(3, math.Min(18*60, d))
}

func (t *Town) occupancy(m *sensor, at time.Time) float64 {
	now := floorDiv(at.Unix(), 60)
	if t.bayOccupied(m, floorDiv(now, 720)*720-1440, now) {
		return 1
	}
	return 0
}

// bayOccupied replays a bay from the minute anchor, free, to the minute
// now, and tells whether it is occupied then.
func (t *Town) bayOccupied(m *sensor, anchor, now int64) bool {
	attract := 0.8 + 0.3*m.rnd.unit(20) // some bays are better placed
	arrive, length := m.rnd.sub("parking"), m.rnd.sub("parking/stay")
	first, last := t.offsetAt(anchor*60), t.offsetAt(now*60)
	var (
		until int64 = math.MinInt64 // the minute the car in the bay leaves
		off         = first
		pIn   float64
	)
	for minute := anchor; minute <= now; minute++ {
		if minute == anchor || minute%10 == 0 { // the rate changes slowly
			if first != last { // a daylight saving time change in between
				off = t.offsetAt(minute * 60)
			}
			pIn = 1 - math.Exp(-attract*arrivalRate(wallClock(minute*60, off, 0))/60)
		}
		if minute < until {
			continue
		}
		if arrive.unit(minute) < pIn {
			stay := stayMinutes(wallClock(minute*60, off, 0), length.unit(2*minute), length.unit(2*minute+1))
			until = minute + int64(math.Round(stay))
		}
	}
	return now < until
}
