package simulate

import (
	"math"
	"time"
)

// A parking space is free (0) or occupied (1), and changes every minute
// with probabilities that follow the time of day: a Markov chain whose
// stationary occupancy and mean stay are those of its regime.
//
// The chain is replayed from an anchor 12 to 18 hours back (the start of
// the UTC quarter-day before the last), drawn from the stationary law there.
// Its transitions use the same random numbers whatever the anchor (a
// monotone coupling), so two replays agree long before they reach the
// instant asked for: the space's history is one and the same, though no
// state is kept.

// regime returns the stationary occupancy and the mean stay, in minutes,
// of a parking space at a local time.
func regime(l local) (occupancy, stay float64) {
	h := l.hour
	switch l.weekday {
	case time.Sunday:
		if h >= 10 && h < 18 {
			return 0.45, 90
		}
		return 0.3, 480
	case time.Saturday:
		switch {
		case h >= 9 && h < 19:
			return 0.75, 60
		case h >= 19 && h < 23:
			return 0.5, 120
		}
		return 0.3, 480
	}
	switch {
	case h >= 8 && h < 19:
		return 0.85, 45
	case h >= 7 && h < 8:
		return 0.55, 60
	case h >= 19 && h < 22:
		return 0.5, 120
	}
	return 0.3, 480
}

func (t *Town) occupancy(m *sensor, at time.Time) float64 {
	attract := 0.8 + 0.3*m.rnd.unit(20) // some spaces are better placed
	law := func(minute int64) (pIn, pOut, occ float64) {
		o, stay := regime(t.localAt(time.Unix(minute*60, 0)))
		occ = math.Max(0.05, math.Min(0.95, o*attract))
		pOut = 1 / stay
		pIn = math.Min(0.5, pOut*occ/(1-occ))
		return pIn, pOut, occ
	}
	u := m.rnd.sub("parking")
	now := floorDiv(at.Unix(), 60)
	anchor := floorDiv(now, 360)*360 - 720
	_, _, occ := law(anchor)
	state := u.unit(anchor) < occ
	for minute := anchor + 1; minute <= now; minute++ {
		pIn, pOut, _ := law(minute)
		if state {
			state = u.unit(minute) < 1-pOut
		} else {
			state = u.unit(minute) < pIn
		}
	}
	if state {
		return 1
	}
	return 0
}
