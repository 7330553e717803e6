package dashboards

import (
	"math"
	"time"
)

// The sun's position, to tell day from night for the street lights. The
// algorithm is the one of firmware-bridge/internal/simulate (clock.go:
// sunElevation and daylight), copied because that package is internal to
// the bridge: the low-precision formulas of the Astronomical Almanac
// (section C, "Low precision formulas for the Sun", as NOAA's solar
// calculator also uses them), good to about 0.1° and a minute or two —
// plenty for street lights.

// SunHorizon is the sun's elevation at the almanacs' sunrise and sunset:
// its upper limb on the horizon, with refraction.
const SunHorizon = -0.833

// SunElevation returns the elevation of the sun above the horizon, in
// degrees, at a place (WGS84 degrees, east positive) and instant.
func SunElevation(at time.Time, lat, lon float64) float64 {
	const rad = math.Pi / 180
	n := float64(at.Unix())/86400 + 2440587.5 - 2451545.0 // days since J2000
	l := math.Mod(280.460+0.9856474*n, 360)
	g := math.Mod(357.528+0.9856003*n, 360) * rad
	lambda := (l + 1.915*math.Sin(g) + 0.020*math.Sin(2*g)) * rad
	eps := (23.439 - 0.0000004*n) * rad
	dec := math.Asin(math.Sin(eps) * math.Sin(lambda))
	ra := math.Atan2(math.Cos(eps)*math.Sin(lambda), math.Cos(lambda))
	gmst := math.Mod(18.697374558+24.06570982441908*n, 24) // hours
	ha := (gmst*15+lon)*rad - ra
	phi := lat * rad
	return math.Asin(math.Sin(phi)*math.Sin(dec)+math.Cos(phi)*math.Cos(dec)*math.Cos(ha)) / rad
}

// Sunrise returns the sunrise and sunset of a calendar date (its year,
// month and day, in its own location) at a place: the sunrise equation,
// with the declination and equation of time of that solar day's noon.
// Both are the solar noon when the sun does not rise (polar night), and
// noon ∓ 12 h when it does not set.
func Sunrise(date time.Time, lat, lon float64) (rise, set time.Time) {
	y, m, d := date.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
	r, s := daylight(day, lat, lon, SunHorizon)
	return unixFloat(r), unixFloat(s)
}

func unixFloat(u float64) time.Time {
	sec := math.Floor(u)
	return time.Unix(int64(sec), int64((u-sec)*1e9))
}

// daylight returns the Unix times at which the sun rises above and sets
// below an elevation (degrees) on the solar day whose noon is closest to
// the middle of a UTC day (days since the Unix epoch), at a place.
func daylight(day int64, lat, lon, elevation float64) (dawn, dusk float64) {
	const rad = math.Pi / 180
	noonGuess := float64(day)*86400 + 43200 - lon*240 // 240 s per degree of longitude
	n := noonGuess/86400 + 2440587.5 - 2451545.0
	l := math.Mod(280.460+0.9856474*n, 360)
	g := math.Mod(357.528+0.9856003*n, 360) * rad
	lambda := (l + 1.915*math.Sin(g) + 0.020*math.Sin(2*g)) * rad
	eps := (23.439 - 0.0000004*n) * rad
	dec := math.Asin(math.Sin(eps) * math.Sin(lambda))
	ra := math.Atan2(math.Cos(eps)*math.Sin(lambda), math.Cos(lambda)) / rad
	eot := math.Remainder(l-ra, 360) // equation of time, in degrees
	noon := noonGuess - eot*240
	phi := lat * rad
	cosH := (math.Sin(elevation*rad) - math.Sin(phi)*math.Sin(dec)) / (math.Cos(phi) * math.Cos(dec))
	switch {
	case cosH >= 1: // polar night
		return noon, noon
	case cosH <= -1: // midnight sun
		return noon - 43200, noon + 43200
	}
	half := math.Acos(cosH) / rad * 240
	return noon - half, noon + half
}

// sunSide tells whether [start, end) lies wholly in daylight (more than
// margin after a sunrise and before its sunset) or wholly in the night
// (more than margin away from any daylight), at a place; neither near a
// sunrise or sunset.
func sunSide(start, end time.Time, lat, lon float64, margin time.Duration) (day, night bool) {
	s, e, m := float64(start.Unix()), float64(end.Unix()), margin.Seconds()
	d := start.Unix() / 86400
	if start.Unix() < 0 {
		d--
	}
	night = true
	for i := d - 1; i <= d+1; i++ {
		rise, set := daylight(i, lat, lon, SunHorizon)
		if rise == set {
			continue
		}
		if s >= rise+m && e <= set-m {
			day = true
		}
		if e > rise-m && s < set+m {
			night = false
		}
	}
	return day, night
}
