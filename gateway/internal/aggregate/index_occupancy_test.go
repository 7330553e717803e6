package aggregate

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/civisens/civisens/registry/registryapi"
)

// reading is a value at hh:mm:ss.
type reading struct {
	hms string
	v   float64
}

// closeAllByClock runs the clock far enough for every window to close.
func closeAllByClock(a *Aggregator, clk *clock) []Window {
	clk.add(48 * time.Hour)
	ws, _ := a.Tick(true)
	return ws
}

func TestIndexDeltas(t *testing.T) {
	type win struct {
		start       string
		delta, last float64
		count       int
	}
	for _, tc := range []struct {
		name              string
		max               *float64
		readings          []reading
		want              []win
		resets, rollovers float64
	}{
		{"first window counts from its first reading; the next includes the step from the previous window's last",
			nil, []reading{{"10:00:10", 1000}, {"10:00:40", 1012}, {"10:01:10", 1020}, {"10:01:40", 1030}, {"10:03:10", 1031}},
			[]win{{"10:00:00", 12, 1012, 2}, {"10:01:00", 18, 1030, 2}, {"10:03:00", 1, 1031, 1}}, 0, 0},
		{"a single first reading: no increase yet", nil, []reading{{"10:00:10", 1000}, {"10:01:10", 1005}},
			[]win{{"10:00:00", 0, 1000, 1}, {"10:01:00", 5, 1005, 1}}, 0, 0},
		{"a flat index", nil, []reading{{"10:00:10", 7}, {"10:01:10", 7}, {"10:02:10", 7}},
			[]win{{"10:00:00", 0, 7, 1}, {"10:01:00", 0, 7, 1}, {"10:02:00", 0, 7, 1}}, 0, 0},
		{"meter reset: the new index is the consumption since", nil, []reading{{"10:00:10", 5000}, {"10:00:40", 5010}, {"10:01:10", 3}, {"10:01:40", 8}},
			[]win{{"10:00:00", 10, 5010, 2}, {"10:01:00", 8, 8, 2}}, 1, 0},
		{"meter reset to zero at a window's first reading", nil, []reading{{"10:00:10", 5000}, {"10:01:10", 0}, {"10:01:40", 4}},
			[]win{{"10:00:00", 0, 5000, 1}, {"10:01:00", 4, 4, 2}}, 1, 0},
		{"rollover at the declared max", ptr(100000), []reading{{"10:00:10", 99990}, {"10:00:40", 99995}, {"10:01:10", 4}, {"10:01:40", 9}},
			[]win{{"10:00:00", 5, 99995, 2}, {"10:01:00", 14, 9, 2}}, 0, 1},
		{"rollover at the edges: 90 % and 10 % of max", ptr(1000), []reading{{"10:00:10", 900}, {"10:01:10", 100}},
			[]win{{"10:00:00", 0, 900, 1}, {"10:01:00", 200, 100, 1}}, 0, 1},
		{"a drop from below 90 % of max is a reset", ptr(100000), []reading{{"10:00:10", 50000}, {"10:01:10", 4}},
			[]win{{"10:00:00", 0, 50000, 1}, {"10:01:00", 4, 4, 1}}, 1, 0},
		{"a drop to above 10 % of max is a reset", ptr(100000), []reading{{"10:00:10", 99990}, {"10:01:10", 20000}},
			[]win{{"10:00:00", 0, 99990, 1}, {"10:01:00", 20000, 20000, 1}}, 1, 0},
		{"a reset inside a window", nil, []reading{{"10:00:10", 100}, {"10:00:20", 150}, {"10:00:30", 2}, {"10:00:40", 6}},
			[]win{{"10:00:00", 56, 6, 4}}, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := meter("meter-1", tc.max)
			a, clk, reg := newAgg(t, oneMinute, "09:59:00")
			var ws []Window
			for _, r := range tc.readings {
				clk.to(at(r.hms).Add(time.Second))
				ws = append(ws, a.Add(one(rd(m, "energy", r.hms, r.v)))...)
			}
			ws = append(ws, closeAllByClock(a, clk)...)
			if len(ws) != len(tc.want) {
				t.Fatalf("windows %v, want %d", names(ws), len(tc.want))
			}
			for i, w := range tc.want {
				got := ws[i]
				v := value(t, got, "energy")
				if !got.Start.Equal(at(w.start)) || v.Kind != registryapi.AggregationIndex || v.Delta != w.delta || v.Last != w.last || v.Count != w.count {
					t.Errorf("window %s: delta %v last %v count %d; want %s: delta %v last %v count %d",
						got.Start.Format(time.TimeOnly), v.Delta, v.Last, v.Count, w.start, w.delta, w.last, w.count)
				}
			}
			if got := a.resets.Value(); got != tc.resets {
				t.Errorf("resets counted %v, want %v", got, tc.resets)
			}
			if got := a.rollovers.Value(); got != tc.rollovers {
				t.Errorf("rollovers counted %v, want %v", got, tc.rollovers)
			}
			// What a scrape shows.
			if tc.resets > 0 {
				if got := metric(t, reg, "civisens_gateway_aggregate_index_resets_total"); got != "1" {
					t.Errorf("exposition: civisens_gateway_aggregate_index_resets_total %q, want 1", got)
				}
			}
			if a.late.Value() != 0 {
				t.Errorf("late readings %v", a.late.Value())
			}
		})
	}
}

// An energy manager adds the consumption of consecutive windows: without
// resets, the sum is the last index minus the first, for every size, and
// the 1m windows of a 15m window add up to it.
func TestIndexDeltasAddUp(t *testing.T) {
	m := meter("meter-1", nil)
	a, clk, _ := newAgg(t, Config{}, "08:59:00")
	rng := rand.New(rand.NewPCG(1, 2))
	first, idx := 123456.0, 123456.0
	tm := at("10:00:07")
	var ws []Window
	for tm.Before(at("13:00:00")) {
		clk.to(tm.Add(time.Second))
		ws = append(ws, a.Add(one(rdT(m, "energy", tm, idx)))...)
		idx += float64(rng.IntN(40))                              // whole Wh: sums are exact
		tm = tm.Add(time.Duration(5+rng.IntN(120)) * time.Second) // irregular, gaps of up to 2 min
	}
	ws = append(ws, closeAllByClock(a, clk)...)
	sums := map[time.Duration]float64{}
	var lastIdx float64
	per15 := map[time.Time]float64{}
	for _, w := range ws {
		v := value(t, w, "energy")
		sums[w.Size] += v.Delta
		if w.Size == time.Minute {
			per15[w.Start.Truncate(15*time.Minute)] += v.Delta
			lastIdx = v.Last
		}
	}
	for _, size := range DefaultWindows {
		if sums[size] != lastIdx-first {
			t.Errorf("%s windows add up to %v, want last−first = %v", WindowName(size), sums[size], lastIdx-first)
		}
	}
	for _, w := range ws {
		if w.Size == 15*time.Minute {
			if d := value(t, w, "energy").Delta; d != per15[w.Start] {
				t.Errorf("15m window %s: delta %v, its 1m windows add up to %v", w.Start.Format(time.TimeOnly), d, per15[w.Start])
			}
		}
	}
	if a.resets.Value() != 0 || a.rollovers.Value() != 0 {
		t.Errorf("resets %v rollovers %v on an increasing index", a.resets.Value(), a.rollovers.Value())
	}
}

func TestOccupancy(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lookback time.Duration
		readings []reading
		ratio    float64
		covered  time.Duration
		arrivals int
		count    int
	}{
		{"occupied 10:00:15–10:00:45, free before", 0,
			[]reading{{"09:59:50", 0}, {"10:00:15", 1}, {"10:00:45", 0}}, 0.5, time.Minute, 1, 2},
		{"occupied all along, state carried from the previous window", 0,
			[]reading{{"09:59:30", 1}, {"10:00:30", 1}}, 1, time.Minute, 0, 1},
		{"freed at 10:00:20 after being occupied before", 0,
			[]reading{{"09:59:30", 1}, {"10:00:20", 0}}, 20.0 / 60, time.Minute, 0, 1},
		{"two arrivals", 0,
			[]reading{{"09:59:50", 0}, {"10:00:10", 1}, {"10:00:20", 0}, {"10:00:30", 1}, {"10:00:40", 0}}, 20.0 / 60, time.Minute, 2, 4},
		{"a repeated 1 is no arrival", 0,
			[]reading{{"09:59:50", 1}, {"10:00:10", 1}, {"10:00:20", 1}}, 1, time.Minute, 0, 2},
		{"state before unknown: counted from the first reading", 0,
			[]reading{{"10:00:15", 1}, {"10:00:45", 0}}, 30.0 / 45, 45 * time.Second, 0, 2},
		{"a previous state older than the lookback is not carried", 10 * time.Minute,
			[]reading{{"09:45:00", 1}, {"10:00:30", 1}}, 1, 30 * time.Second, 0, 1},
		{"a previous state within the lookback is carried, across silent windows", 10 * time.Minute,
			[]reading{{"09:52:00", 0}, {"10:00:30", 1}}, 0.5, time.Minute, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bay("bay-1")
			a, clk, _ := newAgg(t, Config{Windows: []time.Duration{time.Minute}, Lookback: tc.lookback}, "09:30:00")
			var ws []Window
			for _, r := range tc.readings {
				clk.to(at(r.hms).Add(time.Second))
				ws = append(ws, a.Add(one(rd(b, "occupied", r.hms, r.v)))...)
			}
			clk.set("10:01:06")
			ws = append(ws, a.Add(one(rd(b, "occupied", "10:01:05", 0)))...)
			w, ok := find(ws, "bay-1", time.Minute, at("10:00:00"))
			if !ok {
				t.Fatalf("no 10:00 window among %v", names(ws))
			}
			v := value(t, w, "occupied")
			if v.Kind != registryapi.AggregationOccupancy || !near(v.Ratio, tc.ratio) || v.Covered != tc.covered || v.Arrivals != tc.arrivals || v.Count != tc.count {
				t.Errorf("ratio %v covered %v arrivals %d count %d; want %v %v %d %d", v.Ratio, v.Covered, v.Arrivals, v.Count, tc.ratio, tc.covered, tc.arrivals, tc.count)
			}
			if v.Mean != 0 || v.Delta != 0 {
				t.Errorf("occupancy value with stats/index fields: %+v", v)
			}
		})
	}
}

// A bay's window closed by the clock integrates its state to the
// window's end; the next window starts from that state.
func TestOccupancyClosedByClock(t *testing.T) {
	b := bay("bay-1")
	a, clk, _ := newAgg(t, Config{Windows: []time.Duration{time.Minute, 15 * time.Minute}}, "09:30:00")
	clk.set("09:59:51")
	a.Add(one(rd(b, "occupied", "09:59:50", 0)))
	clk.set("10:00:16")
	a.Add(one(rd(b, "occupied", "10:00:15", 1))) // the car arrives; the sensor says nothing more
	clk.set("10:01:59")
	if ws, _ := a.Tick(true); len(ws) != 0 {
		t.Fatalf("closed before Grace: %v", names(ws))
	}
	clk.set("10:02:00")
	ws, _ := a.Tick(true)
	if got := names(ws); !slices.Equal(got, []string{"bay-1/1m/10:00:00"}) {
		t.Fatalf("closed %v", got)
	}
	if v := value(t, ws[0], "occupied"); v.Ratio != 0.75 || v.Covered != time.Minute || v.Arrivals != 1 || v.Last != 1 {
		t.Errorf("10:00 window: %+v, want ratio 0.75 over 60 s, 1 arrival", v)
	}
	// The car leaves at 10:05:30: the 15m window is occupied 10:00:15–10:05:30.
	clk.set("10:05:31")
	if ws := a.Add(one(rd(b, "occupied", "10:05:30", 0))); len(ws) != 0 {
		t.Fatalf("closed %v", names(ws))
	}
	clk.set("10:07:00")
	ws, _ = a.Tick(true)
	w, ok := find(ws, "bay-1", time.Minute, at("10:05:00"))
	if !ok {
		t.Fatalf("closed %v", names(ws))
	}
	if v := value(t, w, "occupied"); v.Ratio != 0.5 || v.Covered != time.Minute || v.Arrivals != 0 {
		t.Errorf("10:05 window: %+v, want occupied the first 30 s, no arrival", v)
	}
	clk.set("10:16:00")
	ws, _ = a.Tick(true)
	w, ok = find(ws, "bay-1", 15*time.Minute, at("10:00:00"))
	if !ok {
		t.Fatalf("closed %v", names(ws))
	}
	if v := value(t, w, "occupied"); !near(v.Ratio, 315.0/900) || v.Covered != 15*time.Minute || v.Arrivals != 1 || v.Count != 2 {
		t.Errorf("15m window: %+v, want ratio 315/900, 1 arrival, 2 readings", v)
	}
}

func TestTick(t *testing.T) {
	th := thermometer("air-1")
	a, clk, _ := newAgg(t, Config{Windows: []time.Duration{time.Minute, 15 * time.Minute}, Grace: time.Minute}, "09:30:00")
	clk.set("10:00:11")
	a.Add(one(rd(th, "temperature", "10:00:10", 20)))
	for _, s := range []struct {
		now      string
		caughtUp bool
		want     []string
		until    time.Time
	}{
		{"10:05:00", false, nil, time.Time{}}, // a backlog in the spool: nothing closes, no watermark
		{"10:01:59", true, nil, at("10:00:59")},
		{"10:02:00", true, []string{"air-1/1m/10:00:00"}, at("10:01:00")},
		{"10:02:30", true, nil, at("10:01:30")}, // closed once
		{"10:15:59", true, nil, at("10:14:59")},
		{"10:30:00", false, nil, time.Time{}},
		{"10:16:00", true, []string{"air-1/15m/10:00:00"}, at("10:15:00")},
	} {
		clk.set(s.now)
		ws, until := a.Tick(s.caughtUp)
		if got := names(ws); !slices.Equal(got, s.want) || !until.Equal(s.until) {
			t.Errorf("Tick(%v) at %s: %v, %v; want %v, %v", s.caughtUp, s.now, got, until, s.want, s.until)
		}
	}
	// The clock closes by Grace after the end, whatever the grace.
	a2, clk2, _ := newAgg(t, Config{Windows: []time.Duration{time.Minute}, Grace: 5 * time.Minute}, "09:30:00")
	clk2.set("10:00:11")
	a2.Add(one(rd(th, "temperature", "10:00:10", 20)))
	clk2.set("10:05:59")
	if ws, until := a2.Tick(true); len(ws) != 0 || !until.Equal(at("10:00:59")) {
		t.Errorf("grace 5m at 10:05:59: %v %v", names(ws), until)
	}
	clk2.set("10:06:00")
	if ws, _ := a2.Tick(true); len(ws) != 1 {
		t.Errorf("grace 5m at 10:06:00: %v", names(ws))
	}
	// A reading after the clock closed its window is late.
	clk2.set("10:06:01")
	if ws := a2.Add(one(rd(th, "temperature", "10:00:50", 21))); len(ws) != 0 || a2.late.Value() != 1 {
		t.Errorf("reading after the clock closed its window: windows %v, late %v", names(ws), a2.late.Value())
	}
}
