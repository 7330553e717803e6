package httpapi

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/civisens/civisens/dashboards"
	"github.com/civisens/civisens/registry/registryapi"
)

// hourlyReadings is a DashboardReadings of made-up hourly energy and
// temperatures — each meter's hour worth value(meter, hour) kWh — that
// records the ranges it is asked.
type hourlyReadings struct {
	DashboardReadings // nil: the other reads are not used

	mu     sync.Mutex
	value  func(meter string, t time.Time) float64
	ranges [][2]time.Time
}

func (f *hourlyReadings) asked(from, to time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ranges = append(f.ranges, [2]time.Time{from, to})
}

// since returns the ranges asked since the n-th and how many there are.
func (f *hourlyReadings) since(n int) ([][2]time.Time, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ranges[n:]), len(f.ranges)
}

func (f *hourlyReadings) EnergySeries(_ context.Context, _ dashboards.Aggregates, meters []registryapi.Sensor, site string, from, to time.Time) ([]dashboards.Point, error) {
	f.asked(from, to)
	var out []dashboards.Point
	for t := from.Truncate(time.Hour); t.Before(to); t = t.Add(time.Hour) {
		if t.Before(from) {
			continue
		}
		var v float64
		for _, m := range meters {
			if site == "" || m.Site == site {
				v += f.value(m.ID, t)
			}
		}
		out = append(out, dashboards.Point{Time: t.UTC(), Value: v})
	}
	return out, nil
}

func (f *hourlyReadings) EnergyTotals(_ context.Context, _ dashboards.Aggregates, meters []registryapi.Sensor, from, to time.Time) (map[string]float64, error) {
	f.asked(from, to)
	out := map[string]float64{}
	for t := from; t.Before(to); t = t.Add(time.Hour) {
		for _, m := range meters {
			out[m.Site] += f.value(m.ID, t)
		}
	}
	return out, nil
}

func (f *hourlyReadings) EnergyStats(_ context.Context, _ dashboards.Aggregates, meters []registryapi.Sensor, from, to time.Time) (map[string]dashboards.EnergyTotal, error) {
	f.asked(from, to)
	out := map[string]dashboards.EnergyTotal{}
	for t := from; t.Before(to); t = t.Add(time.Hour) {
		for _, m := range meters {
			e := out[m.Site]
			e.KWh += f.value(m.ID, t)
			e.Hours++
			out[m.Site] = e
		}
	}
	return out, nil
}

func (f *hourlyReadings) Temperatures(_ context.Context, _ dashboards.Aggregates, sensor registryapi.Sensor, _ string, from, to time.Time) ([]dashboards.TemperatureHour, error) {
	f.asked(from, to)
	var out []dashboards.TemperatureHour
	for t := from; t.Before(to); t = t.Add(time.Hour) {
		v := f.value(sensor.ID, t)
		out = append(out, dashboards.TemperatureHour{Time: t.UTC(), Min: v - 1, Max: v + 1, Mean: v})
	}
	return out, nil
}

func settledMeters(n int) []registryapi.Sensor {
	var out []registryapi.Sensor
	for i := 1; i <= n; i++ {
		out = append(out, registryapi.Sensor{ID: fmt.Sprintf("energie-bat-%02d", i), Site: fmt.Sprintf("batiment-%02d", i), Category: registryapi.CategoryEnergy,
			Quantities: []registryapi.Quantity{{Name: "energy", Unit: "Wh", Aggregation: registryapi.AggregationIndex}}})
	}
	return out
}

// The settled cache answers what InfluxDB would, reads the settled days
// once, and the recent ones every time.
func TestSettledCache(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	agg := dashboards.Aggregates{Location: loc}
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	cut := time.Date(2026, 11, 12, 0, 0, 0, 0, loc) // eight days before, local midnight
	repaired := 0.0
	fake := &hourlyReadings{value: func(m string, t time.Time) float64 {
		v := float64(len(m)) + float64(t.In(loc).Hour())
		if t.In(loc).Day() == 18 && t.In(loc).Month() == time.November { // a recent day the gateway repairs
			v += repaired
		}
		return v
	}}
	ref := &hourlyReadings{value: fake.value} // what InfluxDB answers, its reads not counted
	meters := settledMeters(3)
	c := newSettledCache(defaultSettledAfter)
	c.splitRows = 0 // totals split however few the meters
	rd := c.reader(fake, now)
	// From 1 January across both summer-time changes, to today; and
	// ranges that start or end within a day.
	from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, loc), time.Date(2026, 11, 20, 10, 0, 0, 0, loc)

	same := func(t *testing.T, site string, from, to time.Time) {
		t.Helper()
		got, err := rd.EnergySeries(ctx, agg, meters, site, from, to)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := ref.EnergySeries(ctx, agg, meters, site, from, to)
		if !slices.Equal(got, want) {
			t.Fatalf("EnergySeries(%q, %v, %v): %d points, want %d", site, from, to, len(got), len(want))
		}
		gotT, err := rd.EnergyTotals(ctx, agg, meters, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if wantT, _ := ref.EnergyTotals(ctx, agg, meters, from, to); !maps.Equal(gotT, wantT) {
			t.Fatalf("EnergyTotals(%v, %v) = %v, want %v", from, to, gotT, wantT)
		}
		gotS, err := rd.EnergyStats(ctx, agg, meters, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if wantS, _ := ref.EnergyStats(ctx, agg, meters, from, to); !maps.Equal(gotS, wantS) {
			t.Fatalf("EnergyStats(%v, %v) = %v, want %v", from, to, gotS, wantS)
		}
		gotH, err := rd.Temperatures(ctx, agg, registryapi.Sensor{ID: "air-mairie-01", Category: "air"}, "temperature", from, to)
		if err != nil {
			t.Fatal(err)
		}
		if wantH, _ := ref.Temperatures(ctx, agg, registryapi.Sensor{ID: "air-mairie-01", Category: "air"}, "temperature", from, to); !slices.Equal(gotH, wantH) {
			t.Fatalf("Temperatures(%v, %v): %d hours, want %d", from, to, len(gotH), len(wantH))
		}
	}

	t.Run("same answers", func(t *testing.T) {
		for range 2 { // read, then kept
			same(t, "", from, to)
			same(t, "batiment-02", from, to)
			same(t, "", from.Add(5*time.Hour), cut.Add(-3*time.Hour))
			same(t, "", time.Date(2026, 3, 10, 0, 0, 0, 0, loc), time.Date(2026, 4, 2, 0, 0, 0, 0, loc))
			same(t, "", cut.Add(time.Hour), to)
		}
	})

	t.Run("settled days not read again", func(t *testing.T) {
		_, n := fake.since(0)
		same(t, "", from, to)
		asked, _ := fake.since(n)
		for _, r := range asked {
			if r[0].Before(cut) {
				t.Errorf("read [%v, %v) again, settled before %v", r[0], r[1], cut)
			}
		}
		if len(asked) != 4 { // the recent days: series, totals, stats, temperatures
			t.Errorf("%d reads, want 4: %v", len(asked), asked)
		}
	})

	t.Run("few rows read whole", func(t *testing.T) {
		few := newSettledCache(defaultSettledAfter).reader(fake, now)
		_, n := fake.since(0)
		for range 2 {
			if _, err := few.EnergyTotals(ctx, agg, meters, cut.AddDate(0, 0, -30), to); err != nil {
				t.Fatal(err)
			}
		}
		if asked, _ := fake.since(n); len(asked) != 2 || !asked[1][0].Equal(cut.AddDate(0, 0, -30)) {
			t.Errorf("30 days and 8 of 3 meters: read %v, want the whole range each time", asked)
		}
	})

	t.Run("a repaired recent day shows at once", func(t *testing.T) {
		before, _ := rd.EnergySeries(ctx, agg, meters, "", from, to)
		totals, _ := rd.EnergyTotals(ctx, agg, meters, from, to)
		repaired = 10
		defer func() { repaired = 0 }()
		after, _ := rd.EnergySeries(ctx, agg, meters, "", from, to)
		if d := sumPoints(after) - sumPoints(before); d != 24*3*10 {
			t.Errorf("the repaired day adds %v kWh to the series, want %v", d, 24*3*10)
		}
		newTotals, _ := rd.EnergyTotals(ctx, agg, meters, from, to)
		if d := newTotals["batiment-01"] - totals["batiment-01"]; d != 24*10 {
			t.Errorf("the repaired day adds %v kWh to a building's total, want %v", d, 24*10)
		}
	})

	t.Run("a change of meters shows at once", func(t *testing.T) {
		_, n := fake.since(0)
		more := settledMeters(4)
		got, err := rd.EnergySeries(ctx, agg, more, "", from, to)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := ref.EnergySeries(ctx, agg, more, "", from, to)
		if !slices.Equal(got, want) {
			t.Error("a fourth meter does not show in the estate")
		}
		if asked, _ := fake.since(n); !slices.ContainsFunc(asked, func(r [2]time.Time) bool { return r[0].Equal(from) }) {
			t.Errorf("the settled days not read again for the new meters: %v", asked)
		}
		moved := settledMeters(3)
		moved[2].Site = "batiment-01"
		totals, _ := rd.EnergyTotals(ctx, agg, moved, from, to)
		if _, ok := totals["batiment-03"]; ok || totals["batiment-01"] == 0 {
			t.Errorf("a meter moved to another building: totals %v", totals)
		}
		if _, ok := c.series[metersKey(agg, meters)+"\x00site\x00"]; ok {
			t.Error("the series of the old meters still kept")
		}
	})

	t.Run("not kept after a day", func(t *testing.T) {
		_, n := fake.since(0)
		later := c.reader(fake, now.Add(settledKeep))
		if _, err := later.EnergySeries(ctx, agg, meters, "", from, to); err != nil {
			t.Fatal(err)
		}
		if asked, _ := fake.since(n); len(asked) != 1 || !asked[0][0].Equal(from) {
			t.Errorf("a day later, read %v, want the whole range", asked)
		}
	})

	t.Run("bounded", func(t *testing.T) {
		small := newSettledCache(defaultSettledAfter)
		small.maxBytes, small.maxTotals = 100_000, 4
		rd := small.reader(fake, now)
		sites := []string{""}
		for _, m := range meters {
			sites = append(sites, m.Site)
		}
		for i := range 20 {
			f := from.AddDate(0, 0, i*7)
			for _, site := range sites {
				if _, err := rd.EnergySeries(ctx, agg, meters, site, f, to); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := rd.EnergyTotals(ctx, agg, meters, f, to); err != nil {
				t.Fatal(err)
			}
			if b, n := small.size(); b > small.maxBytes || n > small.maxTotals {
				t.Fatalf("%d bytes and %d totals kept, at most %d and %d", b, n, small.maxBytes, small.maxTotals)
			}
		}
		same(t, "", from, to) // what is evicted is read again
	})
}

func sumPoints(pts []dashboards.Point) float64 {
	var s float64
	for _, p := range pts {
		s += p.Value
	}
	return s
}

// The settled cache's size with a year of 50 buildings: the estate's and
// every building's hours and the degree days' temperatures over the
// year view's range (13 months and the year before).
func TestSettledCacheSize(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	agg := dashboards.Aggregates{Location: loc}
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	fake := &hourlyReadings{value: func(string, time.Time) float64 { return 1 }}
	meters := settledMeters(50)
	c := newSettledCache(defaultSettledAfter)
	rd := c.reader(fake, now)
	from, to := time.Date(2025, 11, 20, 0, 0, 0, 0, loc), time.Date(2026, 11, 20, 0, 0, 0, 0, loc)
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	estate, err := rd.EnergySeries(ctx, agg, meters, "", from, to)
	if err != nil {
		t.Fatal(err)
	}
	estateBytes, _ := c.size()
	for _, m := range meters {
		if _, err := rd.EnergySeries(ctx, agg, meters, m.Site, from, to); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := rd.Temperatures(ctx, agg, registryapi.Sensor{ID: "air-mairie-01", Category: "air"}, "temperature", from, to); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	b, _ := c.size()
	t.Logf("a year of hours: the estate %d KiB (%d hours); with every one of 50 buildings and the temperatures %d KiB counted, %d KiB more heap",
		estateBytes>>10, len(estate), b>>10, (int64(m1.HeapAlloc)-int64(m0.HeapAlloc))>>10)
	if b > c.maxBytes || b > 20<<20 {
		t.Errorf("%d bytes kept", b)
	}
	if heap := int64(m1.HeapAlloc) - int64(m0.HeapAlloc); heap > int64(b)*5/4 {
		t.Errorf("%d bytes more heap for %d bytes counted", heap, b)
	}
	runtime.KeepAlive(c)
}
