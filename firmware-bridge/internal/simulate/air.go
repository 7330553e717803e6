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
// windy summer day, 1.45 under a winter anticyclone, more during a winter
// particulate episode (a lasting anticyclone and its temperature inversion).
func (t *Town) stagnation(at time.Time) float64 {
	return 1 + 0.3*t.weather.sub("stagnation").smooth(hoursOf(at)/40) + 0.15*t.localAt(at).winter + 0.35*t.episode(at).still
}

// An episode is a particulate pollution episode, the town's (every air
// sensor sees it): a few days when secondary particles build up over the
// region, on top of local traffic.
//
//   - winter: a lasting anticyclone with a temperature inversion; wood
//     heating and traffic accumulate, worst in the evening and at night,
//     and NO2 rises too (still);
//   - spring (March–April): ammonium nitrate formed from farm ammonia and
//     traffic NOx, mostly fine particles, worst in the cool morning.
//
// Episodes are drawn per five-day window of UTC days: in each window, one
// may start (likelier deep in winter or in early spring) and lasts two to
// five days.
type episode struct {
	pm    float64 // extra PM10, in ug/m3
	fine  float64 // the PM2.5 share of pm
	still float64 // 0 to 1: how much the episode holds the air still
}

const episodeWindowDays = 5

func (t *Town) episode(at time.Time) episode {
	sec := float64(at.Unix())
	day := floorDiv(at.Unix(), 86400)
	w := floorDiv(day, episodeWindowDays)
	var e episode
	for i := w - 1; i <= w; i++ { // an episode lasts at most 3+5 days from its window's start
		s := t.weather.sub("episode")
		mid := i*episodeWindowDays + episodeWindowDays/2
		winter := math.Max(0, winterOfDay(mid)-0.3) / 0.7 // 0 outside December–February
		yd := float64(time.Unix(mid*86400, 0).UTC().YearDay())
		spring := gauss(yd, 95, 18) // March–April, at its worst in early April
		if s.unit(4*i) >= 0.38*winter+0.3*spring {
			continue
		}
		start := float64(i*episodeWindowDays)*86400 + s.unit(4*i+1)*3*86400
		length := (2 + 3*s.unit(4*i+2)) * 86400
		if sec < start || sec >= start+length {
			continue
		}
		// Builds up over a day or two, clears within half a day (a front).
		env := math.Min(ramp(sec, start, start+0.4*length), 1-ramp(sec, start+length-43200, start+length))
		env = env * env * (3 - 2*env)
		hour := t.localAt(at).hour
		if winter >= spring {
			peak := 20 + 30*s.unit(4*i+3)
			e.pm += env * peak * (1 + 0.3*math.Cos(2*math.Pi*(hour-21)/24))
			e.fine = 0.78
			e.still = math.Max(e.still, env)
		} else {
			peak := 15 + 25*s.unit(4*i+3)
			e.pm += env * peak * (1 + 0.25*math.Cos(2*math.Pi*(hour-8)/24))
			e.fine = 0.72
		}
	}
	return e
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

// particulates returns PM10, PM2.5 and PM1, in ug/m3: local particles
// (traffic, and wood heating on winter evenings) held in by the weather,
// plus the episode's, finer.
func (t *Town) particulates(m *sensor, at time.Time) (pm10, pm25, pm1 float64) {
	h, l := hoursOf(at), t.localAt(at)
	heating := 6 * math.Max(0, l.winter) * gauss(l.hour, 20.5, 2.5)
	local := (11 + 9*traffic(l) + heating) * t.stagnation(at) * (1 + 0.12*m.rnd.sub("pm10").smooth(h*2))
	local = math.Max(2, local+2*m.rnd.signed(3))
	e := t.episode(at)
	pm10 = local + e.pm
	pm25 = 0.6*local*(1+0.08*m.rnd.sub("pm2_5").smooth(h*3)) + e.fine*e.pm
	pm1 = 0.45*local*(1+0.08*m.rnd.sub("pm1").smooth(h*3)) + (e.fine-0.1)*e.pm
	return pm10, pm25, pm1
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
