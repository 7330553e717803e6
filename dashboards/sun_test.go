package dashboards

import (
	"math"
	"testing"
	"time"
)

func europeParis(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

const parisLat, parisLon = 48.8566, 2.3522

func TestSunriseParis(t *testing.T) {
	// The almanac's: Paris, 21 June 2026 05:47 and 21:58 CEST; 21
	// December 2026 08:42 and 16:56 CET; 20 March 2026 06:51 and 19:02
	// CET (the same as the bridge's simulation is tested with).
	loc := europeParis(t)
	for _, tt := range []struct{ rise, set time.Time }{
		{time.Date(2026, 6, 21, 5, 47, 0, 0, loc), time.Date(2026, 6, 21, 21, 58, 0, 0, loc)},
		{time.Date(2026, 12, 21, 8, 42, 0, 0, loc), time.Date(2026, 12, 21, 16, 56, 0, 0, loc)},
		{time.Date(2026, 3, 20, 6, 51, 0, 0, loc), time.Date(2026, 3, 20, 19, 2, 0, 0, loc)},
	} {
		rise, set := Sunrise(tt.rise, parisLat, parisLon)
		for _, c := range [][2]time.Time{{rise, tt.rise}, {set, tt.set}} {
			if d := c[0].Sub(c[1]); d.Abs() > 3*time.Minute {
				t.Errorf("%v computed, want %v (±3 min)", c[0].In(loc), c[1])
			}
		}
		// At sunrise the sun's centre is 0.833° below the horizon (to
		// 0.15°: the declination is the noon's, and moves fastest in March).
		if e := SunElevation(rise, parisLat, parisLon); math.Abs(e-SunHorizon) > 0.15 {
			t.Errorf("elevation at sunrise %v: %.3f°", rise, e)
		}
	}
	noon := time.Date(2026, 6, 21, 13, 50, 0, 0, loc)
	if e := SunElevation(noon, parisLat, parisLon); math.Abs(e-64.6) > 0.3 {
		t.Errorf("elevation at solar noon on 21 June %.2f°, want about 64.6°", e)
	}
}

func TestSunSide(t *testing.T) {
	loc := europeParis(t)
	at := func(h, m int) time.Time { return time.Date(2026, 6, 21, h, m, 0, 0, loc) }
	for _, tt := range []struct {
		from, to   time.Time
		day, night bool
	}{
		{at(12, 0), at(12, 15), true, false},
		{at(1, 0), at(1, 15), false, true},
		{at(5, 45), at(6, 0), false, false},   // sunrise
		{at(6, 0), at(6, 15), false, false},   // within the margin
		{at(22, 30), at(22, 45), false, true}, // 32 min after sunset
		{at(21, 45), at(22, 15), false, false},
	} {
		day, night := sunSide(tt.from, tt.to, parisLat, parisLon, 30*time.Minute)
		if day != tt.day || night != tt.night {
			t.Errorf("[%s, %s): day %v night %v, want %v %v", tt.from.Format("15:04"), tt.to.Format("15:04"), day, night, tt.day, tt.night)
		}
	}
}
