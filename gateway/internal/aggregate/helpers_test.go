package aggregate

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civisens/civisens/firmware-bridge/senml"
	"github.com/civisens/civisens/gateway/internal/metrics"
	"github.com/civisens/civisens/gateway/internal/validate"
	"github.com/civisens/civisens/registry/registryapi"
)

// day is the date of every test time given as "15:04:05".
var day = time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)

// at returns the time hh:mm:ss of day, in UTC.
func at(hms string) time.Time {
	t, err := time.Parse("15:04:05", hms)
	if err != nil {
		panic(err)
	}
	return day.Add(time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second)
}

// clock is a fake clock moved by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) set(hms string)      { c.t = at(hms) }
func (c *clock) to(t time.Time)      { c.t = t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newAgg returns an aggregator whose clock starts at start ("15:04:05").
func newAgg(t *testing.T, cfg Config, start string) (*Aggregator, *clock, *metrics.Registry) {
	t.Helper()
	return newAggAt(t, cfg, at(start))
}

func newAggAt(t *testing.T, cfg Config, start time.Time) (*Aggregator, *clock, *metrics.Registry) {
	t.Helper()
	c := &clock{start}
	reg := metrics.NewRegistry()
	a, err := newWithClock(cfg, quietLog(), reg, c.now)
	if err != nil {
		t.Fatalf("newWithClock: %v", err)
	}
	return a, c, reg
}

func ptr(f float64) *float64 { return &f }

func thermometer(id string) *registryapi.GatewaySensor {
	return &registryapi.GatewaySensor{ID: id, Category: "air", Retention: "P30D", Identifiability: registryapi.NoPersonalData,
		Quantities: []registryapi.Quantity{{Name: "temperature", Unit: "Cel"}, {Name: "humidity", Unit: "%RH"}, {Name: "pressure", Unit: "Pa"}}}
}

// meter is an energy meter whose index wraps at max (nil: no declared max).
func meter(id string, max *float64) *registryapi.GatewaySensor {
	return &registryapi.GatewaySensor{ID: id, Category: "energy", Retention: "P30D", Identifiability: registryapi.NoPersonalData,
		Quantities: []registryapi.Quantity{{Name: "energy", Unit: "Wh", Aggregation: registryapi.AggregationIndex, Max: max}}}
}

func bay(id string) *registryapi.GatewaySensor {
	return &registryapi.GatewaySensor{ID: id, Category: "parking", Retention: "P30D", Identifiability: registryapi.AggregateOnly,
		Quantities: []registryapi.Quantity{{Name: "occupied", Aggregation: registryapi.AggregationOccupancy}}}
}

// rd is a reading of quantity q of e at hh:mm:ss.
func rd(e *registryapi.GatewaySensor, q, hms string, v float64) validate.Accepted {
	return rdT(e, q, at(hms), v)
}

func rdT(e *registryapi.GatewaySensor, q string, t time.Time, v float64) validate.Accepted {
	return validate.Accepted{Reading: senml.Reading{Sensor: e.ID, Quantity: q, Value: v, Time: t}, Entry: e}
}

func one(rs ...validate.Accepted) []validate.Accepted { return rs }

// value returns the value of quantity q in w, failing when absent.
func value(t *testing.T, w Window, q string) Value {
	t.Helper()
	for _, v := range w.Values {
		if v.Quantity == q {
			return v
		}
	}
	t.Fatalf("window %s %s of %s has no %s: %+v", WindowName(w.Size), w.Start.Format(time.TimeOnly), w.Entry.ID, q, w.Values)
	return Value{}
}

// find returns the window of sensor, size and start among ws.
func find(ws []Window, sensor string, size time.Duration, start time.Time) (Window, bool) {
	for _, w := range ws {
		if w.Entry.ID == sensor && w.Size == size && w.Start.Equal(start) {
			return w, true
		}
	}
	return Window{}, false
}

func names(ws []Window) []string {
	var out []string
	for _, w := range ws {
		out = append(out, fmt.Sprintf("%s/%s/%s", w.Entry.ID, WindowName(w.Size), w.Start.UTC().Format(time.TimeOnly)))
	}
	return out
}

func near(x, y float64) bool {
	return math.Abs(x-y) <= 1e-9*math.Max(1, math.Max(math.Abs(x), math.Abs(y)))
}

// sameValues compares two windows' values, floats within rounding.
func sameValues(x, y []Value) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		a, b := x[i], y[i]
		if a.Quantity != b.Quantity || a.Kind != b.Kind || a.Count != b.Count || a.Arrivals != b.Arrivals || a.Covered != b.Covered ||
			!near(a.Mean, b.Mean) || !near(a.Min, b.Min) || !near(a.Max, b.Max) || !near(a.Last, b.Last) || !near(a.Delta, b.Delta) || !near(a.Ratio, b.Ratio) {
			return false
		}
	}
	return true
}

// metric returns the line of the exposition of reg for series name
// (with its labels), "" if absent.
func metric(t *testing.T, reg *metrics.Registry, series string) string {
	t.Helper()
	var b bytes.Buffer
	if _, err := reg.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(b.String(), "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			return v
		}
	}
	return ""
}

// pending returns the repairs scheduled, sorted by sensor and size.
func pending(a *Aggregator) []Repair {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []Repair
	for _, r := range a.repairs {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(x, y Repair) int {
		if c := strings.Compare(x.Entry.ID, y.Entry.ID); c != 0 {
			return c
		}
		// cmp.Compare, not int(x.Size-y.Size): a Duration difference overflows
		// the 32-bit int of linux/arm.
		return cmp.Compare(x.Size, y.Size)
	})
	return out
}

// wkey names a window in the simulated InfluxDB.
type wkey struct {
	sensor string
	size   time.Duration
	start  time.Time
}

// sim plays the drainer: it keeps the raw readings (InfluxDB's raw
// measurement) and the aggregates written (last write wins, as InfluxDB
// keeps one point per series and time), ticks the clock and runs repairs
// the way sink.Drainer does.
type sim struct {
	t       *testing.T
	a       *Aggregator
	clk     *clock
	raw     []validate.Accepted
	store   map[wkey][]Value
	repairs int
}

func newSim(t *testing.T, cfg Config, start string) *sim {
	a, c, _ := newAgg(t, cfg, start)
	return &sim{t: t, a: a, clk: c, store: map[wkey][]Value{}}
}

func (s *sim) write(ws []Window) {
	for _, w := range ws {
		s.store[wkey{w.Entry.ID, w.Size, w.Start.UTC()}] = w.Values
	}
}

// deliver runs the clock to when, then hands rs to the aggregator.
func (s *sim) deliver(when time.Time, rs ...validate.Accepted) {
	s.runUntil(when)
	s.raw = append(s.raw, rs...)
	s.write(s.a.Add(rs))
	s.tick()
}

// runUntil moves the clock to end by 10 s steps, ticking at each.
func (s *sim) runUntil(end time.Time) {
	for s.clk.t.Before(end) {
		next := s.clk.t.Add(10 * time.Second)
		if next.After(end) {
			next = end
		}
		s.clk.to(next)
		s.tick()
	}
}

func (s *sim) tick() {
	ws, until := s.a.Tick(true)
	s.write(ws)
	s.a.Written(until)
	for range 100 {
		rs := s.a.Due(10)
		if len(rs) == 0 {
			return
		}
		for _, r := range rs {
			samples, carries := s.rawFor(r)
			s.write(s.a.Recompute(r, samples, carries))
			s.a.Repaired(r, nil)
			s.repairs++
		}
	}
	s.t.Fatal("repairs never end")
}

// rawFor is what sink.Writer.Raw reads back for r.
func (s *sim) rawFor(r Repair) (samples, carries []Sample) {
	last := map[string]Sample{}
	for _, x := range s.raw {
		if x.Sensor != r.Entry.ID {
			continue
		}
		smp := Sample{Quantity: x.Quantity, Time: x.Time, Value: x.Value}
		if !x.Time.Before(r.From) && x.Time.Before(r.To) {
			samples = append(samples, smp)
		}
		if x.Time.Before(r.From) && !x.Time.Before(r.From.Add(-s.a.Lookback())) {
			if l, ok := last[x.Quantity]; !ok || !x.Time.Before(l.Time) {
				last[x.Quantity] = smp
			}
		}
	}
	for _, q := range r.Entry.Quantities {
		if l, ok := last[q.Name]; ok && q.AggregationKind() != registryapi.AggregationStats {
			carries = append(carries, l)
		}
	}
	return samples, carries
}
