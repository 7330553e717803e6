package dashboards

import (
	"math"
	"time"

	"github.com/civisens/civisens/internal/solar"
)

// The sun's position, to tell day from night for the street lights
// (package internal/solar, shared with the bridge's simulator).

// SunHorizon is the sun's elevation at the almanacs' sunrise and sunset:
// its upper limb on the horizon, with refraction.
const SunHorizon = solar.Horizon

// SunElevation returns the elevation of the sun above the horizon, in
// degrees, at a place (WGS84 degrees, east positive) and instant.
func SunElevation(at time.Time, lat, lon float64) float64 { return solar.Elevation(at, lat, lon) }

// Sunrise returns the sunrise and sunset of a calendar date (its year,
// month and day, in its own location) at a place: the sunrise equation,
// with the declination and equation of time of that solar day's noon.
// Both are the solar noon when the sun does not rise (polar night), and
// noon ∓ 12 h when it does not set.
func Sunrise(date time.Time, lat, lon float64) (rise, set time.Time) {
	y, m, d := date.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
	r, s := solar.Daylight(day, lat, lon, SunHorizon)
	return unixFloat(r), unixFloat(s)
}

func unixFloat(u float64) time.Time {
	sec := math.Floor(u)
	return time.Unix(int64(sec), int64((u-sec)*1e9))
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
		rise, set := solar.Daylight(i, lat, lon, SunHorizon)
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
