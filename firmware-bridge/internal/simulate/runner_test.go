package simulate

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/civisens/civisens/firmware-bridge/senml"
	"github.com/civisens/civisens/internal/testinfra"
	"github.com/civisens/civisens/registry/registryapi"
)

func TestPeriodOf(t *testing.T) {
	tests := []struct {
		periods []int
		longest time.Duration
		want    time.Duration
	}{
		{nil, 10 * time.Second, 10 * time.Second},
		{[]int{0}, 10 * time.Second, 10 * time.Second},
		{[]int{60, 300}, 10 * time.Second, 10 * time.Second},
		{[]int{60, 5, 300}, 10 * time.Second, 5 * time.Second},
		{[]int{600}, time.Hour, 10 * time.Minute},
	}
	for _, tt := range tests {
		var s registryapi.Sensor
		for _, p := range tt.periods {
			s.Quantities = append(s.Quantities, registryapi.Quantity{Name: "pm10", PeriodSeconds: p})
		}
		if got := PeriodOf(s, tt.longest); got != tt.want {
			t.Errorf("PeriodOf(%v, %v) = %v, want %v", tt.periods, tt.longest, got, tt.want)
		}
	}
}

func TestSimulable(t *testing.T) {
	ok := registryapi.Quantity{Name: "pm10", Unit: "ug/m3"}
	tests := []struct {
		name    string
		sensor  registryapi.Sensor
		wantErr error
		keep    int // quantities kept
		dropped int
	}{
		{"active", registryapi.Sensor{ID: "air-test-01", Status: "active", Quantities: []registryapi.Quantity{ok}}, nil, 1, 0},
		{"maintenance", registryapi.Sensor{ID: "air-test-01", Status: "maintenance", Quantities: []registryapi.Quantity{ok}}, nil, 1, 0},
		{"retired", registryapi.Sensor{ID: "air-test-01", Status: "retired", Quantities: []registryapi.Quantity{ok}}, ErrNotPublished, 0, 0},
		{"draft", registryapi.Sensor{ID: "air-test-01", Status: "draft", Quantities: []registryapi.Quantity{ok}}, ErrNotPublished, 0, 0},
		{"bad id", registryapi.Sensor{ID: "Air Test", Status: "active", Quantities: []registryapi.Quantity{ok}}, ErrBadEntry, 0, 0},
		{"no quantity", registryapi.Sensor{ID: "air-test-01", Status: "active"}, ErrBadEntry, 0, 0},
		{"bad quantities dropped", registryapi.Sensor{ID: "air-test-01", Status: "active", Quantities: []registryapi.Quantity{
			ok, {Name: "PM 10"}, {Name: "no2", Min: f(10), Max: f(1)},
		}}, nil, 1, 2},
		{"only bad quantities", registryapi.Sensor{ID: "air-test-01", Status: "active", Quantities: []registryapi.Quantity{{Name: "PM 10"}}}, ErrBadEntry, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, dropped, err := Simulable(tt.sensor)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if len(dropped) != tt.dropped {
				t.Errorf("dropped %v, want %d", dropped, tt.dropped)
			}
			if err == nil && len(s.Quantities) != tt.keep {
				t.Errorf("kept %d quantities, want %d", len(s.Quantities), tt.keep)
			}
		})
	}
}

// fakeSource fails a number of times, then returns its list.
type fakeSource struct {
	mu       sync.Mutex
	failures int
	calls    int
	list     []registryapi.Sensor
}

func (f *fakeSource) Sensors(context.Context) ([]registryapi.Sensor, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls <= f.failures {
		return nil, errors.New("registry starting")
	}
	return f.list, nil
}

func (f *fakeSource) set(list []registryapi.Sensor) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.list = list
}

// fakePublisher counts the packs of each sensor.
type fakePublisher struct {
	mu    sync.Mutex
	packs map[string]int
}

func (f *fakePublisher) Publish(_ context.Context, sensor string, p senml.Pack) error {
	if _, err := p.Resolve(sensor, time.Now()); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.packs[sensor]++
	return nil
}

func (f *fakePublisher) count(sensor string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.packs[sensor]
}

func TestRunner(t *testing.T) {
	active := func(id string) registryapi.Sensor {
		return registryapi.Sensor{ID: id, Category: "air", Status: "active", Quantities: []registryapi.Quantity{q("pm10", "ug/m3", 0, 500)}}
	}
	src := &fakeSource{failures: 3, list: []registryapi.Sensor{active("air-a-01"), active("air-b-02")}}
	pub := &fakePublisher{packs: map[string]int{}}
	r := &Runner{Town: NewTown(1, time.UTC), Period: 50 * time.Millisecond, Refresh: 100 * time.Millisecond, RetryMin: 5 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx, src, pub) }()

	testinfra.Eventually(t, 5*time.Second, func() error {
		if a, b := pub.count("air-a-01"), pub.count("air-b-02"); a < 3 || b < 3 {
			return fmt.Errorf("%d and %d packs", a, b)
		}
		return nil
	})
	// air-b-02 is retired, air-c-03 published.
	retired := active("air-b-02")
	retired.Status = registryapi.StatusRetired
	src.set([]registryapi.Sensor{active("air-a-01"), retired, active("air-c-03")})
	testinfra.Eventually(t, 5*time.Second, func() error {
		if n := pub.count("air-c-03"); n < 2 {
			return fmt.Errorf("%d packs from the new sensor", n)
		}
		return nil
	})
	stopped := pub.count("air-b-02")
	before := pub.count("air-a-01")
	testinfra.Eventually(t, 5*time.Second, func() error {
		if n := pub.count("air-a-01"); n < before+3 {
			return fmt.Errorf("%d packs", n)
		}
		return nil
	})
	if n := pub.count("air-b-02"); n > stopped {
		t.Errorf("the retired sensor published %d more packs", n-stopped)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}
