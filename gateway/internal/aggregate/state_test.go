package aggregate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/civisens/civisens/gateway/internal/metrics"
	"github.com/civisens/civisens/registry/registryapi"
)

// A repair run while its window is still open in memory leaves that
// window out, and repairs it again once the clock has closed it — never
// sooner than a Grace later (no busy loop while not caught up).
func TestRecomputeReschedulesWindowsOpenInMemory(t *testing.T) {
	m := meter("meter-1", nil)
	a, clk, _ := newAgg(t, Config{Windows: []time.Duration{15 * time.Minute}}, "09:30:00")
	clk.set("10:00:11")
	a.Add(one(rd(m, "energy", "10:00:10", 100)))
	clk.set("10:00:51")
	a.Add(one(rd(m, "energy", "10:00:50", 110), rd(m, "energy", "10:00:30", 105))) // out of order: late
	clk.set("10:01:51")
	rs := a.Due(10)
	if len(rs) != 1 || !rs[0].From.Equal(at("10:00:00")) || !rs[0].To.Equal(at("10:30:00")) {
		t.Fatalf("due %+v", rs)
	}
	if ws := a.Recompute(rs[0], []Sample{{"energy", at("10:00:10"), 100}, {"energy", at("10:00:30"), 105}, {"energy", at("10:00:50"), 110}}, nil); len(ws) != 0 {
		t.Fatalf("recomputed the window open in memory: %v", names(ws))
	}
	a.Repaired(rs[0], nil)
	p := pending(a)
	if len(p) != 1 || !p[0].From.Equal(at("10:00:00")) || !p[0].To.Equal(at("10:30:00")) || !p[0].Due.Equal(at("10:16:00")) {
		t.Fatalf("repairs %+v, want [10:00, 10:30) again, due 10:16:00", p)
	}
	clk.set("10:16:00")
	ws, _ := a.Tick(true)
	if len(ws) != 1 || value(t, ws[0], "energy").Count != 2 {
		t.Fatalf("memory closed %v", names(ws))
	}
	rs = a.Due(10)
	if len(rs) != 1 {
		t.Fatalf("due at 10:16: %+v", rs)
	}
	ws = a.Recompute(rs[0], []Sample{{"energy", at("10:00:10"), 100}, {"energy", at("10:00:30"), 105}, {"energy", at("10:00:50"), 110}}, nil)
	if len(ws) != 1 || value(t, ws[0], "energy").Count != 3 || value(t, ws[0], "energy").Delta != 10 {
		t.Fatalf("repaired %+v", ws)
	}
	a.Repaired(rs[0], nil)
	if p := pending(a); len(p) != 0 {
		t.Fatalf("left %+v", p)
	}

	// Still open (the drainer not caught up): due a Grace later at least.
	a2, clk2, _ := newAgg(t, Config{Windows: []time.Duration{time.Minute}}, "09:30:00")
	clk2.set("10:00:51")
	a2.Add(one(rd(m, "energy", "10:00:50", 110), rd(m, "energy", "10:00:30", 105)))
	clk2.set("10:05:00")
	rs = a2.Due(10)
	if len(rs) != 1 {
		t.Fatalf("due %+v", rs)
	}
	a2.Recompute(rs[0], nil, nil)
	a2.Repaired(rs[0], nil)
	if p := pending(a2); len(p) != 1 || !p[0].Due.Equal(at("10:06:00")) {
		t.Fatalf("repairs %+v, want one due 10:06:00", p)
	}
}

func readState(t *testing.T, file string) state {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("state file %s: %v", b, err)
	}
	return st
}

func TestStateFileWrittenAtMostOnceAMinute(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sub", "aggregate.state")
	a, clk, _ := newAgg(t, Config{StateFile: file}, "10:00:00")
	clk.set("10:02:00")
	a.Written(at("10:01:00"))
	if st := readState(t, file); !st.Watermark.Equal(at("10:01:00")) {
		t.Fatalf("watermark %v", st.Watermark)
	}
	clk.set("10:02:30")
	a.Written(at("10:01:30"))
	if st := readState(t, file); !st.Watermark.Equal(at("10:01:00")) {
		t.Fatalf("written again after 30 s: %v", st.Watermark)
	}
	clk.set("10:03:00")
	a.Written(at("10:02:00"))
	if st := readState(t, file); !st.Watermark.Equal(at("10:02:00")) {
		t.Fatalf("not written a minute later: %v", st.Watermark)
	}
	a.Written(at("10:00:00")) // never backwards
	clk.set("10:03:10")
	a.Written(at("10:02:10"))
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if st := readState(t, file); !st.Watermark.Equal(at("10:02:10")) {
		t.Fatalf("Close did not force the write: %v", st.Watermark)
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(file), "*.tmp")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}
	// No state file configured: nothing written, no error.
	b, _, _ := newAgg(t, Config{}, "10:00:00")
	b.Written(at("10:00:00"))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestRestartFromTheStateFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "aggregate.state")
	s1, s2, gone := thermometer("air-1"), bay("bay-1"), thermometer("gone")

	// First life: a late reading leaves a repair pending for air-1 and one
	// for a sensor later removed from the allow-list.
	a, clk, _ := newAgg(t, Config{StateFile: file, Windows: []time.Duration{time.Minute, 15 * time.Minute}}, "09:30:00")
	clk.set("09:50:11")
	a.Add(one(rd(s1, "temperature", "09:50:10", 20), rd(gone, "temperature", "09:50:10", 1)))
	clk.set("09:52:00")
	a.Tick(true)
	clk.set("09:52:05")
	a.Add(one(rd(s1, "temperature", "09:50:40", 21), rd(gone, "temperature", "09:50:40", 2)))
	clk.set("10:00:00")
	a.Written(at("09:59:00"))
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	st := readState(t, file)
	if !st.Watermark.Equal(at("09:59:00")) || len(st.Groups) != 1 || !slices.Equal(st.Groups[0].Sensors, []string{"air-1", "gone"}) || st.Groups[0].Window != "1m" ||
		!st.Groups[0].From.Equal(at("09:50:00")) || !st.Groups[0].To.Equal(at("09:52:00")) {
		t.Fatalf("state %+v", st)
	}

	// Power cut; second life at 10:30:30.
	b, clk, _ := newAgg(t, Config{StateFile: file, Windows: []time.Duration{time.Minute, 15 * time.Minute}}, "10:30:30")
	clk.set("10:30:31")
	if rs := b.Due(10); len(rs) != 0 {
		t.Fatalf("repairs without an entry before Start: %+v", rs)
	}
	b.Start([]registryapi.GatewaySensor{*s1, *s2})
	p := pending(b)
	type rep struct {
		sensor   string
		size     time.Duration
		from, to string
	}
	want := []rep{
		{"air-1", time.Minute, "09:50:00", "10:31:00"}, // the pending one and the windows since the watermark
		{"air-1", 15 * time.Minute, "09:45:00", "10:45:00"},
		{"bay-1", time.Minute, "09:59:00", "10:31:00"},
		{"bay-1", 15 * time.Minute, "09:45:00", "10:45:00"},
	}
	if len(p) != len(want) {
		t.Fatalf("repairs %+v", p)
	}
	for i, w := range want {
		if p[i].Entry == nil || p[i].Entry.ID != w.sensor || p[i].Size != w.size || !p[i].From.Equal(at(w.from)) || !p[i].To.Equal(at(w.to)) {
			t.Errorf("repair %d: %+v; want %s %s [%s, %s)", i, p[i], w.sensor, WindowName(w.size), w.from, w.to)
		}
	}
	clk.set("10:32:00")
	rs := b.Due(10)
	if len(rs) != 2 || rs[0].Size != time.Minute || rs[1].Size != time.Minute {
		t.Fatalf("due at 10:32 (the 1m barrier + Grace): %+v", rs)
	}
	clk.set("10:46:00")
	if rs := b.Due(10); len(rs) != 2 {
		t.Fatalf("due at 10:46: %+v", rs)
	}
}

func TestStartWithoutStateFile(t *testing.T) {
	s1 := thermometer("air-1")
	a, clk, _ := newAgg(t, Config{Windows: []time.Duration{time.Minute}}, "10:00:30")
	a.Start([]registryapi.GatewaySensor{*s1})
	p := pending(a)
	if len(p) != 1 || !p[0].From.Equal(at("10:00:00")) || !p[0].To.Equal(at("10:01:00")) || !p[0].Due.Equal(at("10:02:00")) {
		t.Fatalf("repairs %+v, want the window open at start", p)
	}
	clk.set("10:02:00")
	if rs := a.Due(10); len(rs) != 1 || rs[0].Entry.ID != "air-1" {
		t.Fatalf("due %+v", rs)
	}
}

func TestCorruptStateFileIsSetAside(t *testing.T) {
	for _, content := range []string{"{not json", `{"watermark": 12}`} {
		file := filepath.Join(t.TempDir(), "aggregate.state")
		if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		a, clk, _ := newAgg(t, Config{StateFile: file}, "10:00:30")
		if _, err := os.Stat(file); !os.IsNotExist(err) {
			t.Errorf("%q: the corrupt file is still in place (%v)", content, err)
		}
		if b, err := os.ReadFile(file + ".bad"); err != nil || string(b) != content {
			t.Errorf("%q: not set aside as .bad: %q %v", content, b, err)
		}
		a.Start([]registryapi.GatewaySensor{*thermometer("air-1")})
		if p := pending(a); len(p) != 3 { // the windows open at start only
			t.Errorf("%q: repairs %+v", content, p)
		}
		clk.set("10:01:00")
		a.Written(at("10:00:00"))
		if st := readState(t, file); !st.Watermark.Equal(at("10:00:00")) {
			t.Errorf("%q: a new state file is not written: %+v", content, st)
		}
	}
}

func TestRetention(t *testing.T) {
	a, _, _ := newAgg(t, Config{Retention: "P20Y"}, "10:00:00")
	for _, tc := range []struct {
		identifiability string
		want            string
	}{
		{registryapi.NoPersonalData, "P20Y"},
		{registryapi.DeidentifiedAtSource, "P20Y"},
		{registryapi.AggregateOnly, "P20Y"},
		{registryapi.Identifiable, "P30D"},
		{registryapi.Pseudonymised, "P30D"},
	} {
		e := &registryapi.GatewaySensor{ID: "x", Retention: "P30D", Identifiability: tc.identifiability}
		if got := a.Retention(e); got != tc.want {
			t.Errorf("%s: retention %s, want %s", tc.identifiability, got, tc.want)
		}
	}
	d, _, _ := newAgg(t, Config{}, "10:00:00")
	if got := d.Retention(&registryapi.GatewaySensor{Retention: "P30D", Identifiability: registryapi.NoPersonalData}); got != DefaultRetention {
		t.Errorf("default retention %s", got)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults", Config{}, true},
		{"1m 5m 1h 1d", Config{Windows: []time.Duration{time.Minute, 5 * time.Minute, time.Hour, 24 * time.Hour}}, true},
		{"90s", Config{Windows: []time.Duration{90 * time.Second}}, true},
		{"7m does not divide a day", Config{Windows: []time.Duration{7 * time.Minute}}, false},
		{"1500ms", Config{Windows: []time.Duration{1500 * time.Millisecond}}, false},
		{"500ms", Config{Windows: []time.Duration{500 * time.Millisecond}}, false},
		{"48h", Config{Windows: []time.Duration{48 * time.Hour}}, false},
		{"negative", Config{Windows: []time.Duration{-time.Minute}}, false},
		{"decreasing", Config{Windows: []time.Duration{time.Hour, time.Minute}}, false},
		{"repeated", Config{Windows: []time.Duration{time.Minute, time.Minute}}, false},
		{"bad retention", Config{Retention: "10 years"}, false},
		{"retention shorter than an hour", Config{Retention: "PT30M"}, false},
		{"good retention", Config{Retention: "P5Y"}, true},
	} {
		err := tc.cfg.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok %v", tc.name, err, tc.ok)
		}
		if _, err2 := newWithClock(tc.cfg, quietLog(), metrics.NewRegistry(), time.Now); (err2 == nil) != tc.ok {
			t.Errorf("%s: New accepted it", tc.name)
		}
	}
}

func TestWindowName(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Minute: "1m", 15 * time.Minute: "15m", time.Hour: "1h", 24 * time.Hour: "1d", 90 * time.Second: "90s",
		5 * time.Second: "5s", 2 * time.Hour: "2h", 90 * time.Minute: "90m",
	} {
		if got := WindowName(d); got != want {
			t.Errorf("WindowName(%v) = %q, want %q", d, got, want)
		}
	}
}

// A state file written before repairs were grouped is still read.
func TestStateFileOfRepairsOneByOne(t *testing.T) {
	file := filepath.Join(t.TempDir(), "aggregate.state")
	old := `{"watermark":"2025-03-10T09:59:00Z","repairs":[` +
		`{"sensor":"air-1","window":"1m","from":"2025-03-10T09:50:00Z","to":"2025-03-10T09:52:00Z"},` +
		`{"sensor":"air-2","window":"15m","from":"2025-03-10T09:45:00Z","to":"2025-03-10T10:00:00Z"}]}`
	if err := os.WriteFile(file, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	a, _, _ := newAgg(t, Config{StateFile: file, Windows: []time.Duration{time.Minute, 15 * time.Minute}}, "10:30:30")
	r1, r2 := a.repairs[repairKey{"air-1", 0}], a.repairs[repairKey{"air-2", 1}]
	if len(a.repairs) != 2 || r1 == nil || r2 == nil || !r1.From.Equal(at("09:50:00")) || !r2.To.Equal(at("10:00:00")) || !a.watermark.Equal(at("09:59:00")) {
		t.Errorf("repairs %v, watermark %v", a.repairs, a.watermark)
	}
}
