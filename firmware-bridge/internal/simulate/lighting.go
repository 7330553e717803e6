package simulate

import (
	"math"
	"time"
)

// Street lights switch on when the sun is 1.5° below the horizon (a
// photocell at about 50 lx), run at full power until 23h, dimmed to half
// until 5h, and at full power again until dawn. By day they draw nothing.

const lampOnElevation = -1.5

// dimLevel is the ratio of nominal power of a lit lamp at a local time.
func dimLevel(l local) float64 {
	if l.hour >= 23 || l.hour < 5 {
		return 0.5
	}
	return 1
}

// sky tells whether it is dark enough for the street lights at a place:
// outside the daylight windows (dawn to dusk) of the solar days around an
// instant. A window is a few trigonometric functions; a sky keeps those of
// three consecutive days, so that a meter integrating a lamp's power over
// years computes them once a day, not once a slot.
type sky struct {
	lat, lon float64
	day      int64 // UTC day of win[1]; win[0] is the day before
	win      [3][2]float64
	ready    bool
}

func (s *sky) dark(unix int64) bool {
	d := floorDiv(unix, 86400)
	if !s.ready || d != s.day {
		for i := range s.win {
			s.win[i][0], s.win[i][1] = daylight(d-1+int64(i), s.lat, s.lon, lampOnElevation)
		}
		s.day, s.ready = d, true
	}
	u := float64(unix)
	for _, w := range s.win {
		if u >= w[0] && u < w[1] {
			return false
		}
	}
	return true
}

// lampPower is the power of a luminaire over a slot, in W.
func lampPower(m *sensor, s *sky, c slot) float64 {
	if !s.dark(c.unix) {
		return 0
	}
	return m.lamp * dimLevel(c.local) * (1 + 0.01*m.lampRnd.signed(c.index))
}

// dimming is the ratio of nominal power the luminaire runs at.
func dimming(s *sky, c slot) float64 {
	if !s.dark(c.unix) {
		return 0
	}
	return dimLevel(c.local)
}

// illuminance is the daylight on the sensor, in lx: about 400 lx at
// sunset, tens of thousands under a high sun, depending on the clouds.
func (t *Town) illuminance(m *sensor, at time.Time) float64 {
	e := sunElevation(at, m.lat, m.lon)
	switch {
	case e > 0:
		clouds := 0.3 + 0.7*(0.5+0.5*t.weather.sub("clouds").smooth(hoursOf(at)/5))
		return 400 + 110000*math.Sin(e*math.Pi/180)*clouds
	case e > -8:
		return 400 * math.Pow(10, e/2) // twilight
	}
	return 0.1 // night sky and stray light
}
