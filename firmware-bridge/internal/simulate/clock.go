package simulate

import (
	"math"
	"time"

	"github.com/civisens/civisens/internal/solar"
)

// Virtual time. The model never reads the system clock: every value is a
// function of the seed, the sensor and the instant it is asked for.

// hoursOf returns the hours since the Unix epoch, the abscissa of the noise
// streams.
func hoursOf(at time.Time) float64 {
	return float64(at.Unix())/3600 + float64(at.Nanosecond())/3.6e12
}

// local is the wall clock of the town at an instant.
type local struct {
	hour    float64      // local time of day, in hours: 0 ≤ hour < 24
	weekday time.Weekday // local day of the week
	// winter is 1 in mid-January and -1 in mid-July: cos of the season.
	winter float64
}

func (t *Town) localAt(at time.Time) local {
	lt := at.In(t.loc)
	return local{
		hour:    float64(lt.Hour()) + float64(lt.Minute())/60 + (float64(lt.Second())+float64(lt.Nanosecond())/1e9)/3600,
		weekday: lt.Weekday(),
		winter:  winterOfDay(floorDiv(at.Unix(), 86400)),
	}
}

// winterOfDay returns the season of a UTC day (days since the Unix epoch).
func winterOfDay(day int64) float64 {
	yd := time.Unix(day*86400, 0).UTC().YearDay()
	return math.Cos(2 * math.Pi * float64(yd-20) / 365.25)
}

// offsetAt returns the town's UTC offset, in seconds, at a Unix time.
func (t *Town) offsetAt(unix int64) int {
	_, off := time.Unix(unix, 0).In(t.loc).Zone()
	return off
}

// wallClock returns the local clock at a Unix time, given the UTC offset
// then and the season of the day: cheap arithmetic for the meters, which
// evaluate every slot since their epoch.
func wallClock(unix int64, offset int, winter float64) local {
	l := unix + int64(offset)
	days := floorDiv(l, 86400)
	return local{
		hour:    float64(l-days*86400) / 3600,
		weekday: time.Weekday((days%7 + 7 + 4) % 7), // 1970-01-01 was a Thursday
		winter:  winter,
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// sunElevation and daylight are package solar's, under the names the
// models use.
func sunElevation(at time.Time, lat, lon float64) float64 { return solar.Elevation(at, lat, lon) }

func daylight(day int64, lat, lon, elevation float64) (dawn, dusk float64) {
	return solar.Daylight(day, lat, lon, elevation)
}

// gauss is a bell of height 1 centred on mu, of width sigma.
func gauss(x, mu, sigma float64) float64 {
	d := (x - mu) / sigma
	return math.Exp(-d * d / 2)
}

// ramp rises linearly from 0 at a to 1 at b.
func ramp(x, a, b float64) float64 {
	return math.Max(0, math.Min(1, (x-a)/(b-a)))
}
