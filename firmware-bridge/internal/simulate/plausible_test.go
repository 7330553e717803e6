package simulate

import (
	"encoding/json"
	"math"
	"os"
	"testing"
	"time"

	"github.com/civisens/civisens/registry/registryapi"
)

// demoTown is testdata/town.json: a snapshot of the bridge's sample town
// (firmware-bridge/testdata/town.json), kept here so that the golden
// summary does not move when the sample does. Only simulable sensors.
func demoTown(t testing.TB) []registryapi.Sensor {
	t.Helper()
	b, err := os.ReadFile("testdata/town.json")
	if err != nil {
		t.Fatal(err)
	}
	var list registryapi.SensorList
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	var out []registryapi.Sensor
	for _, s := range list.Sensors {
		if s, _, err := Simulable(s); err == nil {
			out = append(out, s)
		}
	}
	return out
}

func TestSunriseSunsetParis(t *testing.T) {
	// The almanac's (the sun's upper limb on the horizon, refraction):
	// Paris, 21 June 2026 05:47 and 21:58 CEST; 21 December 2026 08:42 and
	// 16:56 CET.
	loc := paris(t)
	for _, tt := range []struct{ rise, set time.Time }{
		{time.Date(2026, 6, 21, 5, 47, 0, 0, loc), time.Date(2026, 6, 21, 21, 58, 0, 0, loc)},
		{time.Date(2026, 12, 21, 8, 42, 0, 0, loc), time.Date(2026, 12, 21, 16, 56, 0, 0, loc)},
	} {
		rise, set := daylight(tt.rise.Unix()/86400, 48.8566, 2.3522, -0.833)
		for _, c := range []struct {
			got  float64
			want time.Time
		}{{rise, tt.rise}, {set, tt.set}} {
			if d := c.got - float64(c.want.Unix()); math.Abs(d) > 3*60 {
				t.Errorf("%v computed, want %v (±3 min)", time.Unix(int64(c.got), 0).In(loc), c.want)
			}
		}
	}
}

// lamps returns the lighting sensors of the test towns.
func lamps(t testing.TB) []registryapi.Sensor {
	var out []registryapi.Sensor
	for _, s := range append(demoTown(t), testSensors...) {
		if s.Category == registryapi.CategoryLighting {
			out = append(out, s)
		}
	}
	return out
}

func TestLightingDayNightAndDimming(t *testing.T) {
	town := NewTown(1, paris(t))
	for _, month := range []time.Month{time.January, time.June} {
		start := time.Date(2026, month, 1, 0, 0, 0, 0, time.UTC)
		for _, s := range lamps(t) {
			m := town.sensorModel(s)
			var full, dimmed, nFull, nDimmed float64
			for at := start; at.Before(start.AddDate(0, 0, 30)); at = at.Add(5 * time.Minute) {
				e := sunElevation(at, m.lat, m.lon)
				p := valueOf(t, town, s, "power", at)
				d := valueOf(t, town, s, "dimming", at)
				hour := at.In(town.loc).Hour()
				switch {
				case e > 3:
					if p != 0 || d != 0 {
						t.Fatalf("%s at %v: sun at %.1f°, power %g W, dimming %g: want off", s.ID, at, e, p, d)
					}
				case e < -4:
					if p <= 0 {
						t.Fatalf("%s at %v: sun at %.1f°, power %g W: want on", s.ID, at, e, p)
					}
					if hour >= 23 || hour < 5 {
						dimmed += p
						nDimmed++
						if d != 0.5 {
							t.Fatalf("%s at %v: dimming %g after 23h", s.ID, at, d)
						}
					} else {
						full += p
						nFull++
						if d != 1 {
							t.Fatalf("%s at %v: dimming %g before 23h", s.ID, at, d)
						}
					}
				}
			}
			if r := (dimmed / nDimmed) / (full / nFull); math.Abs(r-0.5) > 0.03 {
				t.Errorf("%s in %v: power after 23h is %.2f of the evening's, want 0.5", s.ID, month, r)
			}
		}
	}
}

func TestMeterIndicesGrowOverAMonth(t *testing.T) {
	town := NewTown(1, paris(t))
	start := time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC) // over the switch to summer time
	for _, s := range append(demoTown(t), testSensors...) {
		for i, q := range s.Quantities {
			if k := classify(s.Category, s.Location.Indoor, q); k != kindLampEnergy && k != kindBuildingEnergy {
				continue
			}
			prev := math.Inf(-1)
			for at := start; at.Before(start.AddDate(0, 1, 0)); at = at.Add(5 * time.Minute) {
				v := town.Values(s, at)[i].Value
				if v < prev {
					t.Fatalf("%s %s went back at %v: %f after %f", s.ID, q.Name, at, v, prev)
				}
				prev = v
			}
		}
	}
}

// dailyEnergy is a building's energy over a local day, in Wh.
func dailyEnergy(t *testing.T, town *Town, s registryapi.Sensor, day time.Time) float64 {
	return valueOf(t, town, s, "energy", day.AddDate(0, 0, 1)) - valueOf(t, town, s, "energy", day)
}

func TestBuildingEnergyWeekdaysAndWinter(t *testing.T) {
	loc := paris(t)
	town := NewTown(1, loc)
	s := sensorByID(t, "energy-mairie-01")
	weekOf := func(y int, m time.Month, d int) (weekdays, weekend float64) {
		for i := 0; i < 7; i++ {
			day := time.Date(y, m, d+i, 0, 0, 0, 0, loc)
			e := dailyEnergy(t, town, s, day)
			if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
				weekend += e / 2
			} else {
				weekdays += e / 5
			}
		}
		return weekdays, weekend
	}
	janWd, janWe := weekOf(2026, 1, 12)
	julWd, julWe := weekOf(2026, 7, 13)
	if janWd < 1.5*janWe || julWd < 1.5*julWe {
		t.Errorf("a weekday %.0f kWh, a week-end day %.0f kWh in January; %.0f and %.0f in July: want weekdays higher",
			janWd/1e3, janWe/1e3, julWd/1e3, julWe/1e3)
	}
	if janWd < 1.2*julWd || janWe < 1.2*julWe {
		t.Errorf("January %.0f/%.0f kWh a day, July %.0f/%.0f: want more in the heating season", janWd/1e3, janWe/1e3, julWd/1e3, julWe/1e3)
	}
	// The night baseline: never off.
	for at := time.Date(2026, 7, 13, 0, 0, 0, 0, loc); at.Before(time.Date(2026, 7, 20, 0, 0, 0, 0, loc)); at = at.Add(time.Hour) {
		if p := valueOf(t, town, s, "power", at); p < 0.15*60000/maxBuildingFactor {
			t.Fatalf("power %g W at %v, below the baseline", p, at)
		}
	}
}

func TestNO2RushHour(t *testing.T) {
	loc := paris(t)
	town := NewTown(1, loc)
	s := sensorByID(t, "air-gambetta-01")
	for day := time.Date(2026, 1, 1, 0, 0, 0, 0, loc); day.Year() == 2026; day = day.AddDate(0, 0, 1) {
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		n3, n8 := valueOf(t, town, s, "no2", day.Add(3*time.Hour)), valueOf(t, town, s, "no2", day.Add(8*time.Hour))
		if n8 <= 1.5*n3 {
			t.Errorf("%s: NO2 %.1f at 3h, %.1f at 8h: want a rush hour", day.Format("Mon 2006-01-02"), n3, n8)
		}
	}
}

func TestParticulateEpisodes(t *testing.T) {
	// Over a year, particulates exceed the EU daily limit (50 ug/m3 of PM10)
	// on some winter and spring days, in runs of days, never in summer;
	// the episodes' particles are finer.
	loc := paris(t)
	town := NewTown(1, loc)
	s := sensorByID(t, "air-gambetta-01")
	var over, summer, longest, run int
	var ratioEpisode, nEpisode, ratioClean, nClean float64
	for day := time.Date(2026, 1, 1, 0, 0, 0, 0, loc); day.Year() == 2026; day = day.AddDate(0, 0, 1) {
		var pm10, pm25 float64
		for h := 0; h < 24; h++ {
			pm10 += valueOf(t, town, s, "pm10", day.Add(time.Duration(h)*time.Hour)) / 24
			pm25 += valueOf(t, town, s, "pm2_5", day.Add(time.Duration(h)*time.Hour)) / 24
		}
		if pm10 > 50 {
			over++
			run++
			longest = max(longest, run)
			if m := day.Month(); m >= time.June && m <= time.September {
				summer++
			}
			ratioEpisode += pm25 / pm10
			nEpisode++
		} else {
			run = 0
			ratioClean += pm25 / pm10
			nClean++
		}
	}
	t.Logf("%d days over 50 ug/m3 of PM10, longest run %d days", over, longest)
	if over < 5 || over > 45 || longest < 2 || summer > 0 {
		t.Errorf("%d days over 50 ug/m3, the longest run %d days, %d in summer: want a few episodes of days, in winter and spring", over, longest, summer)
	}
	if ratioEpisode/nEpisode < ratioClean/nClean+0.05 {
		t.Errorf("PM2.5/PM10 %.2f in episodes, %.2f otherwise: want finer particles in episodes", ratioEpisode/nEpisode, ratioClean/nClean)
	}
}

func TestParkingBusierAt11ThanAt3(t *testing.T) {
	loc := paris(t)
	town := NewTown(1, loc)
	var at3, at11, n float64
	for _, s := range append(demoTown(t), testSensors...) {
		if s.Category != registryapi.CategoryParking {
			continue
		}
		for day := time.Date(2026, 2, 2, 0, 0, 0, 0, loc); day.Month() < time.April; day = day.AddDate(0, 0, 1) {
			if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
				continue
			}
			at3 += valueOf(t, town, s, "occupancy", day.Add(3*time.Hour))
			at11 += valueOf(t, town, s, "occupancy", day.Add(11*time.Hour))
			n++
		}
	}
	if at11/n < at3/n+0.3 {
		t.Errorf("weekday occupancy %.2f at 11h, %.2f at 3h: want busier by day", at11/n, at3/n)
	}
}

func TestParkingReplaysAgree(t *testing.T) {
	// Replays from two anchors half a day apart are one history at the
	// instants asked for (or almost always: they meet when both find the
	// bay free).
	town := NewTown(1, paris(t))
	m := town.sensorModel(sensorByID(t, "parking-gare-01"))
	start := floorDiv(time.Date(2026, 2, 2, 0, 0, 0, 0, time.UTC).Unix(), 60)
	differ, n := 0, 0
	for now := start; now < start+60*24*30; now += 37 {
		anchor := floorDiv(now, 720)*720 - 1440
		if town.bayOccupied(m, anchor, now) != town.bayOccupied(m, anchor-720, now) {
			differ++
		}
		n++
	}
	if differ*100 > n {
		t.Errorf("replays disagree at %d of %d instants", differ, n)
	}
}

func TestValuesInRangeOverAYear(t *testing.T) {
	town := NewTown(2, paris(t))
	for _, s := range append(demoTown(t), testSensors...) {
		for at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); at.Year() == 2026; at = at.Add(173 * time.Minute) {
			for i, v := range town.Values(s, at) {
				lo, hi := bounds(s.Quantities[i])
				if math.IsNaN(v.Value) || v.Value < lo || v.Value > hi {
					t.Fatalf("%s %s at %v = %g, outside [%g, %g]", s.ID, v.Quantity, at, v.Value, lo, hi)
				}
			}
		}
	}
}
