package aggregate

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/civisens/civisens/gateway/internal/validate"
)

func TestLateReadingSchedulesARepair(t *testing.T) {
	th := thermometer("air-1")
	a, clk, reg := newAgg(t, Config{Windows: []time.Duration{time.Minute}, Grace: time.Minute}, "09:30:00")
	clk.set("10:00:11")
	a.Add(one(rd(th, "temperature", "10:00:10", 20)))
	clk.set("10:02:00")
	if ws, _ := a.Tick(true); len(ws) != 1 || value(t, ws[0], "temperature").Count != 1 {
		t.Fatalf("clock closed %v", names(ws))
	}
	clk.set("10:02:05")
	late := rd(th, "temperature", "10:00:40", 30)
	if ws := a.Add(one(late)); len(ws) != 0 {
		t.Fatalf("a late reading closed %v", names(ws))
	}
	if a.late.Value() != 1 || metric(t, reg, "civisens_gateway_aggregate_late_readings_total") != "1" {
		t.Fatalf("late readings %v", a.late.Value())
	}
	p := pending(a)
	if len(p) != 1 || p[0].Entry != th || p[0].Size != time.Minute || !p[0].From.Equal(at("10:00:00")) || !p[0].To.Equal(at("10:02:00")) || !p[0].Due.Equal(at("10:03:05")) {
		t.Fatalf("repairs %+v, want [10:00, 10:02) of 1m due 10:03:05", p)
	}
	if got := metric(t, reg, "civisens_gateway_aggregate_repairs_pending"); got != "1" {
		t.Errorf("repairs_pending %q", got)
	}
	clk.set("10:03:04")
	if rs := a.Due(10); len(rs) != 0 {
		t.Fatalf("due before Grace: %+v", rs)
	}
	clk.set("10:03:05")
	rs := a.Due(10)
	if len(rs) != 1 {
		t.Fatalf("due: %+v", rs)
	}
	if again := a.Due(10); len(again) != 0 {
		t.Fatalf("Due returned the repair twice")
	}
	// The raw readings, the late one included, give what memory would have
	// given in order.
	ws := a.Recompute(rs[0], []Sample{{"temperature", at("10:00:40"), 30}, {"temperature", at("10:00:10"), 20}}, nil)
	if len(ws) != 1 || !ws[0].Start.Equal(at("10:00:00")) || ws[0].Entry != th {
		t.Fatalf("recomputed %v", names(ws))
	}
	if v := value(t, ws[0], "temperature"); v.Count != 2 || v.Mean != 25 || v.Min != 20 || v.Max != 30 || v.Last != 30 {
		t.Errorf("recomputed %+v", v)
	}

	// A failed repair comes back after a backoff: 2 s, then 4 s, …
	a.Repaired(rs[0], errors.New("influxdb down"))
	if got := metric(t, reg, `civisens_gateway_aggregate_repairs_total{result="failed"}`); got != "1" {
		t.Errorf("repairs failed %q", got)
	}
	clk.set("10:03:06")
	if rs := a.Due(10); len(rs) != 0 {
		t.Fatalf("retried before the backoff: %+v", rs)
	}
	clk.set("10:03:07")
	rs = a.Due(10)
	if len(rs) != 1 || !rs[0].From.Equal(at("10:00:00")) || !rs[0].To.Equal(at("10:02:00")) || rs[0].Entry != th {
		t.Fatalf("retry %+v", rs)
	}
	a.Repaired(rs[0], errors.New("influxdb down"))
	clk.set("10:03:10")
	if rs := a.Due(10); len(rs) != 0 {
		t.Fatalf("second retry before 4 s: %+v", rs)
	}
	clk.set("10:03:11")
	rs = a.Due(10)
	if len(rs) != 1 {
		t.Fatalf("second retry %+v", rs)
	}
	a.Repaired(rs[0], nil)
	if got := metric(t, reg, `civisens_gateway_aggregate_repairs_total{result="ok"}`); got != "1" {
		t.Errorf("repairs ok %q", got)
	}
	if got := metric(t, reg, `civisens_gateway_aggregate_repairs_total{result="failed"}`); got != "2" {
		t.Errorf("repairs failed %q", got)
	}
	clk.add(time.Hour)
	if rs := a.Due(10); len(rs) != 0 || len(pending(a)) != 0 {
		t.Fatalf("a repair done is not done again: %+v", rs)
	}
}

func TestBackoffIsBounded(t *testing.T) {
	th := thermometer("air-1")
	a, clk, _ := newAgg(t, Config{Windows: []time.Duration{time.Minute}}, "09:30:00")
	clk.set("10:00:11")
	a.Add(one(rd(th, "temperature", "10:00:10", 20)))
	clk.set("10:02:00")
	a.Tick(true)
	a.Add(one(rd(th, "temperature", "10:00:40", 30)))
	clk.set("11:00:00")
	var last time.Duration
	for i := range 15 {
		rs := a.Due(10)
		if len(rs) != 1 {
			t.Fatalf("attempt %d: %+v", i, rs)
		}
		a.Repaired(rs[0], errors.New("down"))
		p := pending(a)
		if len(p) != 1 {
			t.Fatalf("attempt %d: not rescheduled", i)
		}
		last = p[0].Due.Sub(clk.now())
		if last > 10*time.Minute || last <= 0 {
			t.Fatalf("attempt %d: backoff %v", i, last)
		}
		clk.to(p[0].Due)
	}
	if last != 10*time.Minute {
		t.Errorf("backoff after 15 failures %v, want the 10 min bound", last)
	}
}

// Out of time order, an index or an occupancy cannot be aggregated in
// memory: its window is repaired; a stats quantity in its open window is.
func TestOutOfOrderInTheOpenWindow(t *testing.T) {
	for _, tc := range []struct {
		name string
		rs   []validate.Accepted
		late float64
	}{
		{"stats", one(rd(thermometer("x"), "temperature", "10:00:40", 1), rd(thermometer("x"), "temperature", "10:00:20", 2)), 0},
		{"index", one(rd(meter("x", nil), "energy", "10:00:40", 100), rd(meter("x", nil), "energy", "10:00:20", 90)), 1},
		{"occupancy", one(rd(bay("x"), "occupied", "10:00:40", 1), rd(bay("x"), "occupied", "10:00:20", 0)), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, clk, _ := newAgg(t, oneMinute, "09:30:00")
			clk.set("10:00:50")
			a.Add(tc.rs)
			if a.late.Value() != tc.late {
				t.Fatalf("late %v, want %v", a.late.Value(), tc.late)
			}
			if p := pending(a); len(p) != int(tc.late) || (tc.late > 0 && (!p[0].From.Equal(at("10:00:00")) || !p[0].To.Equal(at("10:02:00")))) {
				t.Fatalf("repairs %+v", p)
			}
		})
	}
}

// A start's barrier: the windows open at creation are left to repairs.
func TestBarrierAtStart(t *testing.T) {
	th := thermometer("air-1")
	a, clk, _ := newAgg(t, Config{}, "10:00:30")
	clk.set("10:00:31")
	if ws := a.Add(one(rd(th, "temperature", "10:00:10", 20))); len(ws) != 0 {
		t.Fatalf("closed %v", names(ws))
	}
	type rep struct {
		size     time.Duration
		from, to string
		due      string
	}
	want := []rep{{time.Minute, "10:00:00", "10:01:00", "10:02:00"}, {15 * time.Minute, "10:00:00", "10:15:00", "10:16:00"}, {time.Hour, "10:00:00", "11:00:00", "11:01:00"}}
	check := func(step string) {
		t.Helper()
		p := pending(a)
		if len(p) != len(want) {
			t.Fatalf("%s: repairs %+v", step, p)
		}
		for i, w := range want {
			if p[i].Size != w.size || !p[i].From.Equal(at(w.from)) || !p[i].To.Equal(at(w.to)) || !p[i].Due.Equal(at(w.due)) {
				t.Errorf("%s: %s repair [%v, %v) due %v; want [%s, %s) due %s", step, WindowName(p[i].Size), p[i].From, p[i].To, p[i].Due, w.from, w.to, w.due)
			}
		}
	}
	check("after a reading of 10:00:10")
	// From 10:01 on, the 1m windows are computed from memory (15m and 1h
	// still wait for their barrier).
	clk.set("10:01:11")
	a.Add(one(rd(th, "temperature", "10:01:10", 21)))
	clk.set("10:01:41")
	a.Add(one(rd(th, "temperature", "10:01:40", 23)))
	clk.set("10:02:06")
	ws := a.Add(one(rd(th, "temperature", "10:02:05", 0)))
	if got := names(ws); !slices.Equal(got, []string{"air-1/1m/10:01:00"}) {
		t.Fatalf("closed %v, want the 1m 10:01 window", got)
	}
	if v := value(t, ws[0], "temperature"); v.Count != 2 || v.Mean != 22 {
		t.Errorf("10:01 window %+v", v)
	}
	check("after readings of 10:01 and 10:02")
	if a.late.Value() != 0 {
		t.Errorf("a skipped reading counted late")
	}
	rs := a.Due(10)
	if len(rs) != 1 || rs[0].Size != time.Minute {
		t.Fatalf("due at 10:02:06: %+v", rs)
	}
	ws = a.Recompute(rs[0], []Sample{{"temperature", at("10:00:10"), 20}}, nil)
	if got := names(ws); !slices.Equal(got, []string{"air-1/1m/10:00:00"}) || value(t, ws[0], "temperature").Mean != 20 {
		t.Errorf("repair of the window open at start: %v", got)
	}
	a.Repaired(rs[0], nil)
	clk.set("10:15:59")
	if rs := a.Due(10); len(rs) != 0 {
		t.Fatalf("due at 10:15:59: %+v", rs)
	}
	clk.set("10:16:00")
	if rs := a.Due(10); len(rs) != 1 || rs[0].Size != 15*time.Minute {
		t.Fatalf("due at 10:16:00: %+v", rs)
	}
}

// The drainer's view: whatever the order readings arrive in, once memory's
// windows, then the repairs, are written (last write wins), InfluxDB holds
// the windows an in-order delivery gives.
func TestRepairsConvergeToInOrder(t *testing.T) {
	th, m, mr, b := thermometer("air-1"), meter("meter-1", nil), meter("meter-2", ptr(100000)), bay("bay-1")
	type delivery struct {
		at string // clock at delivery
		r  validate.Accepted
	}
	for _, tc := range []struct {
		name string
		ds   []delivery
	}{
		{"stats reading after the clock closed its window", []delivery{
			{"10:00:11", rd(th, "temperature", "10:00:10", 20)},
			{"10:01:11", rd(th, "temperature", "10:01:10", 25)},
			{"10:02:30", rd(th, "temperature", "10:00:40", 30)},
			{"10:03:11", rd(th, "temperature", "10:03:10", 22)},
		}},
		{"index reading after its 1m window closed, with a reset after it", []delivery{
			{"10:00:11", rd(m, "energy", "10:00:10", 5000)},
			{"10:01:11", rd(m, "energy", "10:01:10", 3)},
			{"10:01:20", rd(m, "energy", "10:00:50", 5010)},
			{"10:01:41", rd(m, "energy", "10:01:40", 9)},
			{"10:05:41", rd(m, "energy", "10:05:40", 19)},
		}},
		{"index out of order within its open window, around a rollover", []delivery{
			{"10:00:11", rd(mr, "energy", "10:00:10", 99990)},
			{"10:00:51", rd(mr, "energy", "10:00:50", 5)},
			{"10:00:52", rd(mr, "energy", "10:00:30", 99998)},
			{"10:01:21", rd(mr, "energy", "10:01:20", 20)},
		}},
		{"bay arrival reported after the next reading", []delivery{
			{"10:00:11", rd(b, "occupied", "10:00:10", 0)},
			{"10:01:11", rd(b, "occupied", "10:01:10", 1)},
			{"10:01:12", rd(b, "occupied", "10:00:50", 1)},
			{"10:01:41", rd(b, "occupied", "10:01:40", 0)},
		}},
		{"bay backlog after the clock closed its windows", []delivery{
			{"10:00:11", rd(b, "occupied", "10:00:10", 0)},
			{"10:04:00", rd(b, "occupied", "10:00:30", 1)},
			{"10:04:00", rd(b, "occupied", "10:01:30", 0)},
			{"10:04:00", rd(b, "occupied", "10:02:30", 1)},
			{"10:04:01", rd(b, "occupied", "10:04:00", 1)},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inOrder := slices.Clone(tc.ds)
			slices.SortStableFunc(inOrder, func(x, y delivery) int { return x.r.Time.Compare(y.r.Time) })
			run := func(ds []delivery, byTime bool) *sim {
				s := newSim(t, Config{}, "09:30:00")
				for _, d := range ds {
					when := at(d.at)
					if byTime {
						when = d.r.Time.Add(time.Second)
					}
					s.deliver(when, d.r)
				}
				s.runUntil(at("12:00:00"))
				return s
			}
			want, got := run(inOrder, true), run(tc.ds, false)
			if want.repairs != 0 || want.a.late.Value() != 0 {
				t.Fatalf("in order: %d repairs, %v late", want.repairs, want.a.late.Value())
			}
			if got.a.late.Value() == 0 {
				t.Fatalf("the scenario has no late reading")
			}
			for k, wv := range want.store {
				gv, ok := got.store[k]
				if !ok {
					t.Errorf("%s %s %s: missing; in order %+v", k.sensor, WindowName(k.size), k.start.Format(time.TimeOnly), wv)
				} else if !sameValues(gv, wv) {
					t.Errorf("%s %s %s:\n got  %+v\n want %+v", k.sensor, WindowName(k.size), k.start.Format(time.TimeOnly), gv, wv)
				}
			}
			for k, gv := range got.store {
				if _, ok := want.store[k]; !ok {
					t.Errorf("%s %s %s: extra window %+v", k.sensor, WindowName(k.size), k.start.Format(time.TimeOnly), gv)
				}
			}
			if p := pending(got.a); len(p) != 0 {
				t.Errorf("repairs left: %+v", p)
			}
		})
	}
}

// A reading before the barrier that arrives after its window's repair ran
// schedules that window again: the memory of what was scheduled does not
// outlive the repair.
func TestSkippedAfterItsRepairRan(t *testing.T) {
	th := thermometer("air-1")
	a, clk, _ := newAgg(t, Config{Windows: []time.Duration{time.Minute}}, "10:00:30")
	clk.set("10:00:31")
	a.Add(one(rd(th, "temperature", "10:00:10", 20)))
	a.Add(one(rd(th, "temperature", "10:00:20", 21))) // covered by the same repair
	if p := pending(a); len(p) != 1 || !p[0].From.Equal(at("10:00:00")) {
		t.Fatalf("repairs %+v, want the 10:00 window's", p)
	}
	clk.set("10:02:00")
	rs := a.Due(10)
	if len(rs) != 1 {
		t.Fatalf("due: %+v", rs)
	}
	a.Repaired(rs[0], nil)
	if p := pending(a); len(p) != 0 {
		t.Fatalf("repairs left after the repair: %+v", p)
	}
	clk.set("10:02:05")
	a.Add(one(rd(th, "temperature", "10:00:40", 22))) // late, before the barrier
	if p := pending(a); len(p) != 1 || !p[0].From.Equal(at("10:00:00")) || !p[0].To.Equal(at("10:01:00")) {
		t.Errorf("repairs %+v, want the 10:00 window's again", p)
	}
}
