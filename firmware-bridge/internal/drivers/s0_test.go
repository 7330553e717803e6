package drivers

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// newPin is a fake GPIO whose edges the test injects.
func newPin(name string) *gpiotest.Pin {
	return &gpiotest.Pin{N: name, Num: 17, EdgesChan: make(chan gpio.Level, 8)}
}

// s0Rig drives an S0 counter edge by edge on the fake clock.
type s0Rig struct {
	t   *testing.T
	clk *fakeClock
	pin *gpiotest.Pin
	s   *S0
}

func newS0Rig(t *testing.T, cfg S0Config) *s0Rig {
	t.Helper()
	r := &s0Rig{t: t, clk: newFakeClock(), pin: newPin("GPIO17")}
	cfg.Now = r.clk.Now
	s, err := NewS0(r.pin, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.s = s
	return r
}

// edge injects a falling edge at t0+at and lets the counter take it.
func (r *s0Rig) edge(at time.Duration) {
	r.t.Helper()
	r.clk.Set(t0.Add(at))
	r.pin.EdgesChan <- gpio.Low
	if !r.s.Step(time.Second) {
		r.t.Fatalf("edge at %s not seen", at)
	}
}

func (r *s0Rig) read(at time.Duration, ws ...want) {
	r.t.Helper()
	now := t0.Add(at)
	rs, err := r.s.Read(context.Background(), now)
	if err != nil {
		r.t.Fatal(err)
	}
	checkReadings(r.t, rs, r.s.cfg.Source, now, ws...)
}

func readState(t *testing.T, path string) s0State {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var st s0State
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestS0CountsDebouncesAndPersists(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "meter.json")
	r := newS0Rig(t, S0Config{StateFile: state, SaveEvery: 30 * time.Second})
	if r.pin.P != gpio.PullUp {
		t.Fatalf("pull %s, want the internal pull-up", r.pin.P)
	}
	r.read(0, want{"energy", "Wh", 0, 0}) // no power before two pulses

	// 1000 imp/kWh: a pulse every 3.6 s is 1 kW. The second pulse bounces
	// twice, 5 and 12 ms after its edge.
	r.edge(0)
	r.edge(3600 * time.Millisecond)
	r.edge(3605 * time.Millisecond)
	r.edge(3612 * time.Millisecond)
	r.edge(7200 * time.Millisecond)
	if n := r.s.Pulses(); n != 3 {
		t.Fatalf("%d pulses, want 3 (bounces dropped)", n)
	}
	r.read(7200*time.Millisecond,
		want{"energy", "Wh", 3, 0},
		want{"power", "W", 1000, 1e-9},
	)
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Fatalf("state written before SaveEvery: %v", err)
	}
	// The load stops: 36 s without a pulse bounds the power to
	// 1 Wh / 36 s = 100 W. Now 43.2 s since start: the state is saved.
	r.read(43200*time.Millisecond,
		want{"energy", "Wh", 3, 0},
		want{"power", "W", 100, 1e-9},
	)
	if st := readState(t, state); st.Pulses != 3 || st.PulsesPerKWh != 1000 {
		t.Fatalf("state %+v", st)
	}
	// A pulse, and a read 16.8 s after the save: not saved yet.
	r.edge(50 * time.Second)
	r.read(60*time.Second, want{"energy", "Wh", 4, 0}, want{"power", "W", 1000 * 3.6 / 42.8, 1e-9})
	if st := readState(t, state); st.Pulses != 3 {
		t.Fatalf("saved again within SaveEvery: %+v", st)
	}
	// Close saves what is left.
	if err := r.s.Close(); err != nil {
		t.Fatal(err)
	}
	if st := readState(t, state); st.Pulses != 4 {
		t.Fatalf("state after Close %+v", st)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}

	// Restart: the index goes on from the state file.
	r2 := newS0Rig(t, S0Config{StateFile: state})
	r2.read(0, want{"energy", "Wh", 4, 0})
	r2.edge(time.Second)
	r2.read(time.Second, want{"energy", "Wh", 5, 0})

	// Another meter constant than the file's is refused, and so is a
	// corrupt file: an index is never reset behind the technician's back.
	if _, err := NewS0(newPin("GPIO17"), S0Config{StateFile: state, PulsesPerKWh: 800}); err == nil || !strings.Contains(err.Error(), "1000 imp/kWh") {
		t.Fatalf("constant changed: %v", err)
	}
	if err := os.WriteFile(state, []byte(`{"pulses": 4, "pulses_per`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewS0(newPin("GPIO17"), S0Config{StateFile: state}); err == nil {
		t.Fatal("corrupt state file accepted")
	}
}

func TestS0PulsesPerKWh(t *testing.T) {
	// 800 imp/kWh: 1.25 Wh a pulse; 4.5 s apart is 1 kW.
	r := newS0Rig(t, S0Config{PulsesPerKWh: 800, Source: "meter-1"})
	for i := range 9 {
		r.edge(time.Duration(i) * 4500 * time.Millisecond)
	}
	r.read(36*time.Second, want{"energy", "Wh", 11.25, 1e-12}, want{"power", "W", 1000, 1e-9})
}

func TestS0ActiveHigh(t *testing.T) {
	r := newS0Rig(t, S0Config{ActiveHigh: true})
	if r.pin.P != gpio.PullDown {
		t.Fatalf("pull %s, want pull-down", r.pin.P)
	}
}

func TestS0Run(t *testing.T) {
	// Run in its own goroutine, as the program does; the clock moves a
	// second at each call so the pulses are not taken for bounces.
	var mu sync.Mutex
	now := t0
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Second)
		return now
	}
	pin := newPin("GPIO17")
	s, err := NewS0(pin, S0Config{Now: clock, PollTimeout: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	for range 3 {
		pin.EdgesChan <- gpio.Low
	}
	deadline := time.After(5 * time.Second)
	for s.Pulses() != 3 {
		select {
		case <-deadline:
			t.Fatalf("%d pulses counted, want 3", s.Pulses())
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
