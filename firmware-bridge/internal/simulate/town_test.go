package simulate

import (
	"math"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Paris without the system's zoneinfo

	"github.com/google/go-cmp/cmp"

	"github.com/civisens/civisens/registry/registryapi"
)

func f(v float64) *float64 { return &v }

func q(name, unit string, lo, hi float64) registryapi.Quantity {
	return registryapi.Quantity{Name: name, Unit: unit, Min: f(lo), Max: f(hi), PeriodSeconds: 60}
}

// testSensors is one sensor of each kind the model knows, with the ranges
// a register would declare.
var testSensors = []registryapi.Sensor{
	{ID: "air-gambetta-01", Category: registryapi.CategoryAir, Location: registryapi.Location{Lat: 48.8566, Lon: 2.3522}, Quantities: []registryapi.Quantity{
		q("pm10", "ug/m3", 0, 500), q("pm2_5", "ug/m3", 0, 300), q("pm1", "ug/m3", 0, 300),
		q("no2", "ug/m3", 0, 400), q("o3", "ug/m3", 0, 400), q("co2", "ppm", 300, 2000), q("noise", "dBA", 20, 120),
		q("temperature", "Cel", -30, 50), q("humidity", "%RH", 0, 100), q("pressure", "hPa", 950, 1060),
	}},
	{ID: "air-narrow-02", Category: registryapi.CategoryAir, Quantities: []registryapi.Quantity{
		// Ranges narrower than the weather: values are clipped into them.
		q("pm10", "ug/m3", 15, 20), q("temperature", "Cel", 10, 12), q("pressure", "Pa", 101000, 101500),
	}},
	{ID: "parking-gare-01", Category: registryapi.CategoryParking, Quantities: []registryapi.Quantity{q("occupancy", "/", 0, 1)}},
	{ID: "parking-gare-02", Category: registryapi.CategoryParking, Quantities: []registryapi.Quantity{q("occupancy", "/", 0, 1)}},
	{ID: "lighting-rue-haute-07", Category: registryapi.CategoryLighting, Location: registryapi.Location{Lat: 47.2184, Lon: -1.5536}, Quantities: []registryapi.Quantity{
		q("power", "W", 0, 150), q("illuminance", "lx", 0, 150000), q("dimming", "/", 0, 1), q("energy", "Wh", 0, 1e9),
	}},
	{ID: "energy-mairie-01", Category: registryapi.CategoryEnergy, Location: registryapi.Location{Indoor: true}, Quantities: []registryapi.Quantity{
		q("power", "W", 0, 60000), q("energy", "Wh", 0, 1e10), q("temperature", "Cel", 5, 35), q("humidity", "%RH", 10, 90), q("co2", "ppm", 300, 5000),
	}},
	{ID: "energy-ecole-kw-02", Category: registryapi.CategoryEnergy, Quantities: []registryapi.Quantity{
		q("power", "kW", 0, 40), q("energy", "kWh", 0, 1e7),
	}},
	{ID: "other-river-01", Category: registryapi.CategoryOther, Quantities: []registryapi.Quantity{
		q("water_level", "m", 0.2, 3.5),
		{Name: "flow", Unit: "m3/s"}, // no range declared
		{Name: "turbidity", Unit: "NTU", Min: f(0)},
	}},
}

func paris(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func sensorByID(t testing.TB, id string) registryapi.Sensor {
	t.Helper()
	for _, s := range testSensors {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no test sensor %s", id)
	return registryapi.Sensor{}
}

func valueOf(t testing.TB, town *Town, s registryapi.Sensor, quantity string, at time.Time) float64 {
	t.Helper()
	for _, v := range town.Values(s, at) {
		if v.Quantity == quantity {
			return v.Value
		}
	}
	t.Fatalf("%s declares no %s", s.ID, quantity)
	return 0
}

var week = time.Date(2025, 11, 24, 0, 0, 0, 0, time.UTC) // a Monday

func TestDeterministic(t *testing.T) {
	loc := paris(t)
	a, b, other := NewTown(7, loc), NewTown(7, loc), NewTown(8, loc)
	differs := 0
	for _, s := range testSensors {
		for _, at := range []time.Time{week, week.Add(7*time.Hour + 13*time.Minute), week.Add(50 * time.Hour)} {
			va, vb := a.Values(s, at), b.Values(s, at)
			if diff := cmp.Diff(va, vb); diff != "" {
				t.Errorf("%s at %v: same seed, different values (-a +b):\n%s", s.ID, at, diff)
			}
			if !cmp.Equal(va, other.Values(s, at)) {
				differs++
			}
			if diff := cmp.Diff(a.Pack(s, at), b.Pack(s, at)); diff != "" {
				t.Errorf("%s: same seed, different packs:\n%s", s.ID, diff)
			}
		}
	}
	if differs == 0 {
		t.Error("seeds 7 and 8 simulate the same town")
	}
}

func TestValuesInRangeOverAWeek(t *testing.T) {
	town := NewTown(1, paris(t))
	for _, s := range testSensors {
		t.Run(s.ID, func(t *testing.T) {
			seen := map[string]map[float64]bool{}
			for at := week; at.Before(week.Add(7 * 24 * time.Hour)); at = at.Add(7*time.Minute + 3*time.Second) {
				for i, v := range town.Values(s, at) {
					decl := s.Quantities[i]
					if v.Quantity != decl.Name || v.Unit != decl.Unit {
						t.Fatalf("value %d is %s %s, declared %s %s", i, v.Quantity, v.Unit, decl.Name, decl.Unit)
					}
					lo, hi := bounds(decl)
					if math.IsNaN(v.Value) || v.Value < lo || v.Value > hi {
						t.Fatalf("%s at %v = %g, outside [%g, %g]", v.Quantity, at, v.Value, lo, hi)
					}
					if seen[v.Quantity] == nil {
						seen[v.Quantity] = map[float64]bool{}
					}
					seen[v.Quantity][v.Value] = true
				}
			}
			for name, vs := range seen {
				if len(vs) < 2 {
					t.Errorf("%s never changes over a week: %v", name, vs)
				}
			}
		})
	}
}

func TestPlausibleAir(t *testing.T) {
	town := NewTown(1, paris(t))
	s := sensorByID(t, "air-gambetta-01")
	var pm10Peak, pm10Night, n float64
	for day := 0; day < 5; day++ { // Monday to Friday
		d := week.AddDate(0, 0, day)
		pm10Peak += valueOf(t, town, s, "pm10", d.Add(7*time.Hour+15*time.Minute)) // 8h15 in Paris
		pm10Night += valueOf(t, town, s, "pm10", d.Add(2*time.Hour))               // 3h
		n++
		pm10 := valueOf(t, town, s, "pm10", d.Add(10*time.Hour))
		pm25 := valueOf(t, town, s, "pm2_5", d.Add(10*time.Hour))
		if r := pm25 / pm10; r < 0.45 || r > 0.75 {
			t.Errorf("pm2_5/pm10 = %.2f on day %d, want about 0.6", r, day)
		}
		// Warmer at 15h than at 5h, and drier.
		t5, t15 := valueOf(t, town, s, "temperature", d.Add(4*time.Hour)), valueOf(t, town, s, "temperature", d.Add(14*time.Hour))
		h5, h15 := valueOf(t, town, s, "humidity", d.Add(4*time.Hour)), valueOf(t, town, s, "humidity", d.Add(14*time.Hour))
		if t15 <= t5 || h15 >= h5 {
			t.Errorf("day %d: 5h %.1f Cel %.0f %%RH, 15h %.1f Cel %.0f %%RH: want warmer and drier in the afternoon", day, t5, h5, t15, h15)
		}
	}
	if pm10Peak/n < 1.3*pm10Night/n {
		t.Errorf("pm10 at the morning peak %.1f, at night %.1f: want a traffic peak", pm10Peak/n, pm10Night/n)
	}
	if m := pm10Peak / n; m < 10 || m > 45 {
		t.Errorf("pm10 at the morning peak = %.1f ug/m3, want 10–45", m)
	}
	// Seasons: July afternoons are warmer than January ones.
	jan := valueOf(t, town, s, "temperature", time.Date(2026, 1, 15, 14, 0, 0, 0, time.UTC))
	jul := valueOf(t, town, s, "temperature", time.Date(2026, 7, 15, 13, 0, 0, 0, time.UTC))
	if jul-jan < 8 {
		t.Errorf("15 January %.1f Cel, 15 July %.1f Cel: want seasons", jan, jul)
	}
}

func TestEnergyIndexMonotonic(t *testing.T) {
	loc := paris(t)
	for _, id := range []string{"energy-mairie-01", "energy-ecole-kw-02", "lighting-rue-haute-07"} {
		t.Run(id, func(t *testing.T) {
			s := sensorByID(t, id)
			name := "energy"
			town := NewTown(3, loc)
			start := time.Date(2026, 3, 27, 0, 0, 0, 0, time.UTC) // over the switch to summer time
			first := valueOf(t, town, s, name, start)
			prev := first
			for at := start; at.Before(start.Add(8 * 24 * time.Hour)); at = at.Add(time.Duration(1+at.Unix()%613) * time.Second) {
				v := valueOf(t, town, s, name, at)
				if v < prev {
					t.Fatalf("index went back at %v: %f after %f", at, v, prev)
				}
				prev = v
			}
			if prev <= first {
				t.Fatalf("index did not grow in a week: %f → %f", first, prev)
			}
			// A fresh town (a restarted bridge) computes the same index.
			end := start.Add(8*24*time.Hour + 17*time.Minute)
			if a, b := valueOf(t, town, s, name, end), valueOf(t, NewTown(3, loc), s, name, end); a != b {
				t.Fatalf("index %f after a week of calls, %f from a fresh town", a, b)
			}
			// Asking for the past after the present does not disturb it.
			past := valueOf(t, town, s, name, start.Add(-48*time.Hour))
			if past > first || valueOf(t, town, s, name, end) != valueOf(t, NewTown(3, loc), s, name, end) {
				t.Fatal("index depends on the order of calls")
			}
		})
	}
}

func TestEnergyMatchesPower(t *testing.T) {
	// The index grows by the integral of the published power.
	town := NewTown(5, paris(t))
	s := sensorByID(t, "energy-mairie-01")
	start := week.Add(30 * time.Hour) // a Tuesday
	var wh float64
	for i := 0; i < 24*12; i++ {
		at := start.Add(time.Duration(i) * 5 * time.Minute)
		wh += valueOf(t, town, s, "power", at.Add(time.Minute)) / 12
	}
	got := valueOf(t, town, s, "energy", start.Add(24*time.Hour)) - valueOf(t, town, s, "energy", start)
	if math.Abs(got-wh) > 0.01*wh {
		t.Errorf("index grew by %.0f Wh in a day, power integrates to %.0f Wh", got, wh)
	}
	// More during office hours than at night, and on weekdays than on Sunday.
	office := valueOf(t, town, s, "power", week.Add(9*time.Hour))   // Monday 10h
	night := valueOf(t, town, s, "power", week.Add(1*time.Hour))    // Monday 2h
	sunday := valueOf(t, town, s, "power", week.Add(-14*time.Hour)) // Sunday 11h
	if office < 2*night || office < 2*sunday {
		t.Errorf("power at 10h %.0f W, at 2h %.0f W, on Sunday %.0f W: want office hours", office, night, sunday)
	}
}

func TestLighting(t *testing.T) {
	town := NewTown(1, paris(t))
	s := sensorByID(t, "lighting-rue-haute-07")
	for _, day := range []time.Time{
		time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 6, 21, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 10, 3, 0, 0, 0, 0, time.UTC),
	} {
		noon := day.Add(11 * time.Hour)                    // 12h or 13h in Paris
		midnight := day.Add(22*time.Hour + 30*time.Minute) // 23h30 or 0h30
		evening := day.Add(21*time.Hour + 30*time.Minute)  // 22h30 or 23h30
		if p := valueOf(t, town, s, "power", noon); p != 0 {
			t.Errorf("%v: power at noon = %g W, want 0", day, p)
		}
		if d := valueOf(t, town, s, "dimming", noon); d != 0 {
			t.Errorf("%v: dimming at noon = %g, want 0", day, d)
		}
		if lx := valueOf(t, town, s, "illuminance", noon); lx < 5000 {
			t.Errorf("%v: %g lx at noon", day, lx)
		}
		pm := valueOf(t, town, s, "power", midnight)
		if pm <= 0 {
			t.Errorf("%v: power at midnight = %g W, want on", day, pm)
		}
		if d := valueOf(t, town, s, "dimming", midnight); d != 0.5 {
			t.Errorf("%v: dimming at midnight = %g, want 0.5", day, d)
		}
		if lx := valueOf(t, town, s, "illuminance", midnight); lx > 1 {
			t.Errorf("%v: %g lx at midnight", day, lx)
		}
		if day.Month() == time.January {
			if pe := valueOf(t, town, s, "power", evening); pe < 1.5*pm {
				t.Errorf("%v: power %g W at 22h30, %g W after 23h: want dimming", day, pe, pm)
			}
		}
	}
}

func TestParkingOccupancyVaries(t *testing.T) {
	town := NewTown(1, paris(t))
	var day, night, dayN, nightN float64
	changes := 0
	for _, id := range []string{"parking-gare-01", "parking-gare-02"} {
		s := sensorByID(t, id)
		prev := -1.0
		for at := week; at.Before(week.Add(5 * 24 * time.Hour)); at = at.Add(10 * time.Minute) {
			v := valueOf(t, town, s, "occupancy", at)
			if v != 0 && v != 1 {
				t.Fatalf("occupancy %g", v)
			}
			if prev >= 0 && v != prev {
				changes++
			}
			prev = v
			switch h := at.In(town.loc).Hour(); {
			case h >= 9 && h < 18:
				day += v
				dayN++
			case h < 5:
				night += v
				nightN++
			}
		}
	}
	if changes < 20 {
		t.Errorf("occupancy changed %d times in a working week", changes)
	}
	if day/dayN < night/nightN+0.2 {
		t.Errorf("occupancy %.2f by day, %.2f at night: want busier by day", day/dayN, night/nightN)
	}
	// The chain is one history: consecutive minutes agree far more than not.
	s := sensorByID(t, "parking-gare-01")
	agree := 0
	for i := 0; i < 600; i++ {
		at := week.Add(time.Duration(i) * time.Minute)
		if valueOf(t, town, s, "occupancy", at) == valueOf(t, town, s, "occupancy", at.Add(time.Minute)) {
			agree++
		}
	}
	if agree < 540 {
		t.Errorf("only %d of 600 consecutive minutes agree", agree)
	}
}

func TestPack(t *testing.T) {
	town := NewTown(1, paris(t))
	s := sensorByID(t, "air-gambetta-01")
	at := time.Date(2026, 11, 27, 8, 30, 12, 345678900, time.UTC)
	p := town.Pack(s, at)
	if len(p) != len(s.Quantities) {
		t.Fatalf("%d records for %d quantities", len(p), len(s.Quantities))
	}
	if p[0].BaseName != "air-gambetta-01:" || p[0].BaseTime != 1795768212.345 {
		t.Errorf("base name %q, base time %v", p[0].BaseName, p[0].BaseTime)
	}
	rs, err := p.Resolve(s.ID, at)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		if r.Quantity != s.Quantities[i].Name || r.Unit != s.Quantities[i].Unit || r.Time.UnixMilli() != at.UnixMilli() {
			t.Errorf("reading %d: %+v", i, r)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		category string
		indoor   bool
		name     string
		unit     string
		want     kind
	}{
		{"air", false, "pm10", "ug/m3", kindPM10},
		{"air", false, "pm2_5", "ug/m3", kindPM25},
		{"air", false, "pm25", "ug/m3", kindPM25},
		{"air", false, "pm1", "ug/m3", kindPM1},
		{"air", false, "no2", "ug/m3", kindNO2},
		{"air", false, "o3", "ug/m3", kindO3},
		{"air", false, "benzene", "ug/m3", kindGeneric},
		{"air", false, "temperature", "Cel", kindOutdoorTemp},
		{"air", true, "temperature", "Cel", kindIndoorTemp},
		{"energy", false, "temperature", "Cel", kindIndoorTemp},
		{"air", false, "humidity", "%RH", kindHumidity},
		{"air", false, "pressure", "hPa", kindPressure},
		{"parking", false, "occupancy", "/", kindOccupancy},
		{"other", false, "occupied", "", kindOccupancy},
		{"lighting", false, "power", "W", kindLampPower},
		{"lighting", false, "illuminance", "lx", kindIlluminance},
		{"lighting", false, "dimming", "/", kindDimming},
		{"lighting", false, "energy", "Wh", kindLampEnergy},
		{"energy", false, "power", "kW", kindBuildingPower},
		{"energy", false, "energy", "kWh", kindBuildingEnergy},
		{"other", false, "level", "m", kindGeneric},
	}
	for _, tt := range tests {
		if got := classify(tt.category, tt.indoor, registryapi.Quantity{Name: tt.name, Unit: tt.unit}); got != tt.want {
			t.Errorf("classify(%s, %v, %s %s) = %d, want %d", tt.category, tt.indoor, tt.name, tt.unit, got, tt.want)
		}
	}
}

func TestSunElevation(t *testing.T) {
	// Paris, 21 June 2026: the sun culminates near 64.5° at about 11h50 UTC.
	noon := sunElevation(time.Date(2026, 6, 21, 11, 50, 0, 0, time.UTC), 48.8566, 2.3522)
	if math.Abs(noon-64.6) > 0.5 {
		t.Errorf("elevation at solar noon %.2f°, want about 64.6°", noon)
	}
	if e := sunElevation(time.Date(2026, 12, 21, 23, 50, 0, 0, time.UTC), 48.8566, 2.3522); e > -60 {
		t.Errorf("elevation at solar midnight in December %.2f°", e)
	}
	// The lamps' daylight windows start and end when the sun crosses
	// lampOnElevation.
	for _, place := range [][2]float64{{48.8566, 2.3522}, {43.2965, 5.3698}, {47.2184, -1.5536}, {-21.1151, 55.5364}, {45.8, 170}} {
		for _, date := range []time.Time{time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC), time.Date(2026, 6, 21, 0, 0, 0, 0, time.UTC), time.Date(2026, 9, 23, 0, 0, 0, 0, time.UTC)} {
			dawn, dusk := daylight(date.Unix()/86400, place[0], place[1], lampOnElevation)
			for _, at := range []float64{dawn, dusk} {
				tm := time.Unix(int64(at), 0)
				if e := sunElevation(tm, place[0], place[1]); math.Abs(e-lampOnElevation) > 0.3 {
					t.Errorf("%v at %v: elevation %.2f° at %v, want %.1f°", place, date, e, tm, lampOnElevation)
				}
			}
			s := &sky{lat: place[0], lon: place[1]}
			if mid := int64(dawn+dusk) / 2; s.dark(mid) || !s.dark(int64(dusk)+600) || !s.dark(int64(dawn)-600) {
				t.Errorf("%v at %v: dark at noon, or not after dusk or before dawn", place, date)
			}
		}
	}
}

func BenchmarkValues(b *testing.B) {
	town := NewTown(1, paris(b))
	at := time.Date(2026, 11, 27, 8, 30, 0, 0, time.UTC)
	for b.Loop() {
		for _, s := range testSensors {
			town.Values(s, at)
		}
		at = at.Add(10 * time.Second)
	}
}

// BenchmarkColdMeter is the cost of the first index of a meter: a restarted
// bridge integrates its power from the meter epoch.
func BenchmarkColdMeter(b *testing.B) {
	loc := paris(b)
	s := sensorByID(b, "lighting-rue-haute-07")
	at := time.Date(2026, 11, 27, 8, 30, 0, 0, time.UTC)
	for b.Loop() {
		NewTown(1, loc).Values(s, at)
	}
}
