package simulate

import (
	"math"
	"time"
)

// The weather is the town's: every sensor sees the same sky, give or take
// its own small offsets (a sunny wall, a sheltered street).

// seasonMean is the mean outdoor temperature of the season, in Cel: about
// 4 in January and 21 in July (a French lowland town).
func seasonMean(l local) float64 { return 12.5 - 8.5*l.winter }

func (t *Town) outdoorTemp(m *sensor, at time.Time) float64 {
	l, h := t.localAt(at), hoursOf(at)
	amp := 5 - 1.5*l.winter                           // the daily swing is larger in summer
	daily := amp * math.Cos(2*math.Pi*(l.hour-15)/24) // warmest at 15h, coldest at 3h
	weather := 4*t.weather.sub("temp").smooth(h/36) + 1.5*t.weather.sub("temp/fast").smooth(h/7)
	own := 0.8*m.rnd.signed(1) + 0.3*m.rnd.sub("temp").smooth(h/3)
	return seasonMean(l) + daily + weather + own
}

// humidity falls as the air warms up: its daily cycle is the temperature's,
// upside down.
func (t *Town) humidity(m *sensor, at time.Time) float64 {
	l, h := t.localAt(at), hoursOf(at)
	rh := 74 - 3*(t.outdoorTemp(m, at)-seasonMean(l)) + 10*t.weather.sub("rh").smooth(h/30) + 2*m.rnd.sub("rh").smooth(h/4)
	return math.Max(18, math.Min(100, rh))
}

// pressure drifts slowly around the sea-level mean as weather systems pass.
func (t *Town) pressure(m *sensor, at time.Time) float64 {
	h := hoursOf(at)
	return 1016 + 9*t.weather.sub("p").smooth(h/60) + 3*t.weather.sub("p/fast").smooth(h/12) + 0.4*m.rnd.signed(2)
}

// stagnation is how much the weather keeps pollution in: about 0.55 on a
// windy summer day, 1.45 under a winter anticyclone.
func (t *Town) stagnation(at time.Time) float64 {
	return 1 + 0.3*t.weather.sub("stagnation").smooth(hoursOf(at)/40) + 0.15*t.localAt(at).winter
}

// traffic is the road traffic, from about 0.1 at night to 1.35 at the
// morning peak of a weekday.
func traffic(l local) float64 {
	h := l.hour
	switch l.weekday {
	case time.Saturday:
		return 0.15 + 0.6*gauss(h, 12.5, 3)
	case time.Sunday:
		return 0.12 + 0.35*gauss(h, 15, 3)
	}
	return 0.12 + 1.0*gauss(h, 8.2, 1.1) + 0.85*gauss(h, 18, 1.4) + 0.4*gauss(h, 13, 2.5)
}

func (t *Town) pm10(m *sensor, at time.Time) float64 {
	h := hoursOf(at)
	v := (11 + 9*traffic(t.localAt(at))) * t.stagnation(at) * (1 + 0.12*m.rnd.sub("pm10").smooth(h*2))
	return math.Max(2, v+2*m.rnd.signed(3))
}

func (t *Town) no2(m *sensor, at time.Time) float64 {
	h := hoursOf(at)
	v := (8 + 30*traffic(t.localAt(at))) * t.stagnation(at) * (1 + 0.1*m.rnd.sub("no2").smooth(h*2))
	return math.Max(2, v+2*m.rnd.signed(4))
}

// o3 builds up in the sun, in summer, and is eaten by NO2.
func (t *Town) o3(m *sensor, at time.Time) float64 {
	summer := (1 - t.localAt(at).winter) / 2
	sun := math.Max(0, math.Sin(sunElevation(at, m.lat, m.lon)*math.Pi/180))
	v := (30+45*summer)*(0.5+0.9*sun) - 0.3*t.no2(m, at) + 5*m.rnd.sub("o3").smooth(hoursOf(at)/2)
	return math.Max(3, v)
}
