// Package solar is the sun's position for the firmware bridge's
// simulated street lights and the dashboards' lighting faults: the
// low-precision formulas of the Astronomical Almanac (section C, "Low
// precision formulas for the Sun", as NOAA's solar calculator also uses
// them), good to about 0.1° and a minute or two — plenty for street
// lights. Standard library only, like a contract package, so that any
// part may use it (internal/archtest).
package solar

import (
	"math"
	"time"
)

// Horizon is the sun's elevation at the almanacs' sunrise and sunset: its
// upper limb on the horizon, with refraction.
const Horizon = -0.833

// Elevation returns the elevation of the sun above the horizon, in
// degrees, at a place (WGS84 degrees, east positive) and instant.
func Elevation(at time.Time, lat, lon float64) float64 {
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

// Daylight returns the Unix times at which the sun rises above and sets
// below an elevation (degrees) on the solar day whose noon is closest to
// the middle of a UTC day (days since the Unix epoch), at a place: the
// sunrise equation, with the declination and equation of time of that
// noon. Both are the noon when the sun never rises that high (polar
// night), and noon ± 12 h when it never sets that low.
func Daylight(day int64, lat, lon, elevation float64) (dawn, dusk float64) {
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
