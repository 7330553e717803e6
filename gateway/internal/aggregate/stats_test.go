package aggregate

import (
	"slices"
	"testing"
	"time"

	"github.com/civisens/civisens/gateway/internal/validate"
	"github.com/civisens/civisens/registry/registryapi"
)

var oneMinute = Config{Windows: []time.Duration{time.Minute}}

func TestStatsOfAWindow(t *testing.T) {
	th := thermometer("air-1")
	for _, tc := range []struct {
		name                 string
		readings             []validate.Accepted
		mean, min, max, last float64
		count                int
	}{
		{"four readings", one(rd(th, "temperature", "10:00:05", 20), rd(th, "temperature", "10:00:20", 26), rd(th, "temperature", "10:00:35", 22), rd(th, "temperature", "10:00:50", 24)),
			23, 20, 26, 24, 4},
		{"one reading", one(rd(th, "temperature", "10:00:59", 18.5)), 18.5, 18.5, 18.5, 18.5, 1},
		{"first and last second of the window", one(rd(th, "temperature", "10:00:00", 10), rd(th, "temperature", "10:00:59", 30)), 20, 10, 30, 30, 2},
		{"below zero", one(rd(th, "temperature", "10:00:10", -5), rd(th, "temperature", "10:00:20", -1), rd(th, "temperature", "10:00:30", -3)), -3, -5, -1, -3, 3},
		// A stats quantity does not depend on order: out of order within
		// the open window is aggregated, and last is the latest in time.
		{"out of order within the window", one(rd(th, "temperature", "10:00:50", 24), rd(th, "temperature", "10:00:05", 20), rd(th, "temperature", "10:00:35", 22)),
			22, 20, 24, 24, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, clk, _ := newAgg(t, oneMinute, "09:59:00")
			clk.set("10:00:59")
			for _, r := range tc.readings {
				if ws := a.Add(one(r)); len(ws) != 0 {
					t.Fatalf("a reading of the open window closed %v", names(ws))
				}
			}
			if a.late.Value() != 0 {
				t.Fatalf("late readings = %v, want 0", a.late.Value())
			}
			clk.set("10:01:06")
			ws := a.Add(one(rd(th, "temperature", "10:01:05", 99)))
			if len(ws) != 1 {
				t.Fatalf("the next window's reading closed %v, want the 10:00 window", names(ws))
			}
			w := ws[0]
			if w.Entry != th || w.Size != time.Minute || !w.Start.Equal(at("10:00:00")) || w.Start.Location() != time.UTC {
				t.Fatalf("window %s %v %v %s", w.Entry.ID, w.Size, w.Start, w.Start.Location())
			}
			if len(w.Values) != 1 {
				t.Fatalf("values %+v, want temperature only", w.Values)
			}
			v := w.Values[0]
			if v.Quantity != "temperature" || v.Kind != registryapi.AggregationStats || v.Count != tc.count || v.Mean != tc.mean || v.Min != tc.min || v.Max != tc.max || v.Last != tc.last {
				t.Errorf("got %+v, want mean %v min %v max %v last %v count %d", v, tc.mean, tc.min, tc.max, tc.last, tc.count)
			}
			if v.Delta != 0 || v.Ratio != 0 || v.Arrivals != 0 || v.Covered != 0 {
				t.Errorf("stats value with index/occupancy fields: %+v", v)
			}
		})
	}
}

// A window closes on a reading of a later window, not one of the same
// window, and a gap of silent windows yields no empty windows.
func TestNextWindowClosesThePrevious(t *testing.T) {
	th := thermometer("air-1")
	a, clk, _ := newAgg(t, oneMinute, "09:59:00")
	clk.set("10:10:00")
	steps := []struct {
		r    validate.Accepted
		want []string
	}{
		{rd(th, "temperature", "10:00:10", 1), nil},
		{rd(th, "temperature", "10:00:59", 2), nil},
		{rd(th, "temperature", "10:01:00", 3), []string{"air-1/1m/10:00:00"}},
		{rd(th, "temperature", "10:01:30", 4), nil},
		{rd(th, "temperature", "10:05:00", 5), []string{"air-1/1m/10:01:00"}}, // no window for the silent 10:02-10:04
		{rd(th, "humidity", "10:06:00", 50), []string{"air-1/1m/10:05:00"}},   // another quantity of the sensor closes it too
	}
	for _, s := range steps {
		if got := names(a.Add(one(s.r))); !slices.Equal(got, s.want) {
			t.Errorf("after %s %s: closed %v, want %v", s.r.Quantity, s.r.Time.Format(time.TimeOnly), got, s.want)
		}
	}
}

func TestWindowsAlignedOnUTCMultiples(t *testing.T) {
	india := time.FixedZone("IST", 5*3600+1800)
	paris := time.FixedZone("CET", 3600)
	for _, tc := range []struct {
		name    string
		windows []time.Duration
		reading time.Time
		want    []time.Time // one start per size
	}{
		{"default sizes", DefaultWindows, at("10:20:30"), []time.Time{at("10:20:00"), at("10:15:00"), at("10:00:00")}},
		{"reading in +05:30: hours of UTC, not of India", DefaultWindows, at("10:20:30").In(india), []time.Time{at("10:20:00"), at("10:15:00"), at("10:00:00")}},
		{"day in UTC, not in Paris", []time.Duration{time.Hour, 24 * time.Hour}, day.Add(-30 * time.Minute).In(paris), []time.Time{day.Add(-time.Hour), day.Add(-24 * time.Hour)}},
		{"90 s windows", []time.Duration{90 * time.Second}, at("10:01:40"), []time.Time{at("10:01:30")}},
		{"exactly on a boundary", DefaultWindows, at("11:00:00"), []time.Time{at("11:00:00"), at("11:00:00"), at("11:00:00")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			th := thermometer("air-1")
			a, clk, _ := newAggAt(t, Config{Windows: tc.windows}, tc.reading.Add(-48*time.Hour)) // no barrier in the way
			clk.to(tc.reading)
			a.Add(one(rdT(th, "temperature", tc.reading, 1)))
			ws, _ := a.Tick(true)
			if len(ws) != 0 {
				t.Fatalf("closed early: %v", names(ws))
			}
			clk.add(72 * time.Hour)
			ws, _ = a.Tick(true)
			if len(ws) != len(tc.want) {
				t.Fatalf("closed %v, want %d windows", names(ws), len(tc.want))
			}
			for i, w := range ws {
				if w.Size != tc.windows[i] || !w.Start.Equal(tc.want[i]) || w.Start.Location() != time.UTC {
					t.Errorf("window %d: %s at %v, want %s at %v UTC", i, WindowName(w.Size), w.Start, WindowName(tc.windows[i]), tc.want[i])
				}
				if w.Start.UnixNano()%int64(w.Size) != 0 {
					t.Errorf("window %s starts at %v, not a multiple of its size since the epoch", WindowName(w.Size), w.Start)
				}
			}
		})
	}
}

func TestSensorsAreIndependent(t *testing.T) {
	s1, s2 := thermometer("air-1"), thermometer("air-2")
	a, clk, _ := newAgg(t, oneMinute, "09:59:00")
	clk.set("10:05:00")
	if ws := a.Add(one(rd(s1, "temperature", "10:00:10", 10), rd(s2, "temperature", "10:00:20", 30), rd(s1, "temperature", "10:00:30", 12))); len(ws) != 0 {
		t.Fatalf("closed %v", names(ws))
	}
	ws := a.Add(one(rd(s1, "temperature", "10:01:05", 0)))
	if got := names(ws); !slices.Equal(got, []string{"air-1/1m/10:00:00"}) {
		t.Fatalf("air-1's next window closed %v, want only air-1's", got)
	}
	if v := value(t, ws[0], "temperature"); v.Count != 2 || v.Mean != 11 {
		t.Errorf("air-1: %+v, want count 2 mean 11 (air-2's reading not mixed in)", v)
	}
	a.Add(one(rd(s2, "temperature", "10:00:40", 34)))
	ws = a.Add(one(rd(s2, "temperature", "10:01:10", 0)))
	if got := names(ws); !slices.Equal(got, []string{"air-2/1m/10:00:00"}) {
		t.Fatalf("closed %v", got)
	}
	if v := value(t, ws[0], "temperature"); v.Count != 2 || v.Mean != 32 || v.Min != 30 || v.Max != 34 {
		t.Errorf("air-2: %+v", v)
	}
	if a.late.Value() != 0 {
		t.Errorf("late = %v", a.late.Value())
	}
}

func TestQuantitiesInTheEntrysOrder(t *testing.T) {
	th := thermometer("air-1") // temperature, humidity, pressure
	a, clk, _ := newAgg(t, oneMinute, "09:59:00")
	clk.set("10:05:00")
	a.Add(one(
		rd(th, "pressure", "10:00:01", 101300),
		rd(th, "co2", "10:00:02", 400), // not declared: not aggregated
		rd(th, "humidity", "10:00:03", 40),
		rd(th, "temperature", "10:00:04", 21),
		rd(th, "humidity", "10:00:33", 44),
	))
	ws := a.Add(one(rd(th, "humidity", "10:01:00", 41)))
	if len(ws) != 1 {
		t.Fatalf("closed %v", names(ws))
	}
	var got []string
	for _, v := range ws[0].Values {
		got = append(got, v.Quantity)
	}
	if want := []string{"temperature", "humidity", "pressure"}; !slices.Equal(got, want) {
		t.Fatalf("quantities %v, want %v", got, want)
	}
	if v := value(t, ws[0], "humidity"); v.Count != 2 || v.Mean != 42 || v.Last != 44 {
		t.Errorf("humidity %+v", v)
	}
	// A window where a quantity has no reading leaves it out.
	ws = a.Add(one(rd(th, "temperature", "10:02:00", 20)))
	if len(ws) != 1 || len(ws[0].Values) != 1 || ws[0].Values[0].Quantity != "humidity" {
		t.Fatalf("10:01 window %+v, want humidity only", ws)
	}
}

// Several sizes: a reading closes every size whose window it leaves, in
// the configured order of sizes.
func TestSeveralSizes(t *testing.T) {
	th := thermometer("air-1")
	a, clk, _ := newAgg(t, Config{}, "08:59:00")
	clk.set("11:00:00")
	var all []Window
	for m := 0; m < 60; m++ { // one reading a minute, value m
		all = append(all, a.Add(one(rdT(th, "temperature", at("10:00:30").Add(time.Duration(m)*time.Minute), float64(m))))...)
	}
	all = append(all, a.Add(one(rd(th, "temperature", "11:00:30", 60)))...)
	var n1, n15, n60 int
	for _, w := range all {
		switch w.Size {
		case time.Minute:
			n1++
		case 15 * time.Minute:
			n15++
			m := float64(w.Start.Sub(at("10:00:00")) / time.Minute)
			if v := value(t, w, "temperature"); v.Count != 15 || v.Min != m || v.Max != m+14 || v.Mean != m+7 || v.Last != m+14 {
				t.Errorf("15m window %s: %+v", w.Start.Format(time.TimeOnly), v)
			}
		case time.Hour:
			n60++
			if v := value(t, w, "temperature"); v.Count != 60 || v.Mean != 29.5 || v.Max != 59 {
				t.Errorf("1h window: %+v", v)
			}
		}
	}
	if n1 != 60 || n15 != 4 || n60 != 1 {
		t.Errorf("windows closed: %d of 1m, %d of 15m, %d of 1h; want 60, 4, 1", n1, n15, n60)
	}
	if got := names(all[len(all)-3:]); !slices.Equal(got, []string{"air-1/1m/10:59:00", "air-1/15m/10:45:00", "air-1/1h/10:00:00"}) {
		t.Errorf("the 11:00:30 reading closed %v", got)
	}
}

// The aggregation of a quantity follows the register's entry as it is
// now: the aggregator keeps a sensor's entry while the list's version
// stays, and takes the new one when it changes.
func TestAggregationFollowsTheCurrentEntry(t *testing.T) {
	spooled := meter("energie-1", nil) // what the spool hands: no matter its quantities
	spooled.Quantities = nil
	stats := meter("energie-1", nil)
	stats.Quantities[0].Aggregation = registryapi.AggregationStats
	index := meter("energie-1", nil)
	current, version, asked := stats, uint64(1), 0
	cfg := Config{Windows: []time.Duration{time.Minute},
		Entries:        func(string) *registryapi.GatewaySensor { asked++; return current },
		EntriesVersion: func() uint64 { return version }}
	a, clk, _ := newAgg(t, cfg, "09:59:00")
	clk.set("10:00:30")
	a.Add(one(rd(spooled, "energy", "10:00:10", 100)))
	a.Add(one(rd(spooled, "energy", "10:00:20", 150)))
	clk.set("10:01:30")
	ws := a.Add(one(rd(spooled, "energy", "10:01:10", 180)))
	if len(ws) != 1 || value(t, ws[0], "energy").Kind != registryapi.AggregationStats || ws[0].Entry != stats {
		t.Fatalf("windows %+v, want the 10:00 window aggregated as stats", ws)
	}
	if asked != 1 {
		t.Errorf("the entry was asked %d times under one version, want once", asked)
	}
	// The register says index now.
	current, version = index, 2
	clk.set("10:02:30")
	a.Add(one(rd(spooled, "energy", "10:02:10", 200)))
	ws = a.Add(one(rd(spooled, "energy", "10:03:10", 260)))
	w, ok := find(ws, "energie-1", time.Minute, at("10:02:00"))
	if !ok || value(t, w, "energy").Kind != registryapi.AggregationIndex || asked != 2 {
		t.Errorf("windows %v (asked %d), want the 10:02 window aggregated as an index", names(ws), asked)
	}
}
