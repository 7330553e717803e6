package drivers

import (
	"math"
	"sync"
	"testing"
	"time"

	"github.com/civisens/civisens/firmware-bridge/internal/firmware"
)

// t0 is when every test's fake clock starts.
var t0 = time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *fakeClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// want is a reading a technician checks: its quantity, unit, and value
// within tol.
type want struct {
	quantity, unit string
	value, tol     float64
}

// checkReadings asserts that rs holds exactly the readings of ws, in
// order, all from src at now.
func checkReadings(t *testing.T, rs []firmware.Reading, src string, now time.Time, ws ...want) {
	t.Helper()
	if len(rs) != len(ws) {
		t.Fatalf("got %d readings %+v, want %d", len(rs), rs, len(ws))
	}
	for i, w := range ws {
		r := rs[i]
		if r.Quantity != w.quantity || r.Unit != w.unit {
			t.Errorf("reading %d: %s in %q, want %s in %q", i, r.Quantity, r.Unit, w.quantity, w.unit)
		}
		if math.Abs(r.Value-w.value) > w.tol {
			t.Errorf("%s: %.6f %s, want %.6f ± %g", w.quantity, r.Value, r.Unit, w.value, w.tol)
		}
		if r.Source != src {
			t.Errorf("%s: source %q, want %q", w.quantity, r.Source, src)
		}
		if !r.Time.Equal(now) {
			t.Errorf("%s: time %s, want %s", w.quantity, r.Time, now)
		}
		if r.Field == "" || r.Health {
			t.Errorf("%s: field %q health %v", w.quantity, r.Field, r.Health)
		}
	}
}
