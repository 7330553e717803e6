package aggregate

import (
	"math"
	"time"

	"github.com/civisens/civisens/gateway/internal/validate"
	"github.com/civisens/civisens/registry/registryapi"
)

// Window is the aggregate of one sensor over one time window.
type Window struct {
	Entry *registryapi.GatewaySensor
	// Size is the window's length, Start its beginning (aligned on
	// multiples of Size since the Unix epoch, in UTC).
	Size  time.Duration
	Start time.Time
	// Values has one item per quantity that had readings in the window,
	// in the entry's order.
	Values []Value
}

// Value is the aggregate of one quantity over a window.
type Value struct {
	Quantity string
	Kind     string // registryapi.AggregationStats, …Index, …Occupancy
	// Count is the number of readings in the window.
	Count int
	// Mean, Min, Max of the readings (stats); Last is the value of the
	// latest reading (every kind), the index at the window's last reading.
	Mean, Min, Max, Last float64
	// Delta is an index's increase over the window: from the last reading
	// before the window to its last one, rollovers and resets included
	// (index).
	Delta float64
	// Ratio is the share of the window's known time in state 1, and
	// Covered that known time (occupancy): from the window's start, when
	// the state before it is known, otherwise from its first reading.
	Ratio   float64
	Covered time.Duration
	// Arrivals counts changes from 0 to 1 (occupancy).
	Arrivals int
}

// carry is a quantity's latest reading, in time order: the starting point
// of an index's next increase and of an occupancy's next window.
type carry struct {
	v  float64
	t  int64 // Unix ns
	ok bool
}

// acc accumulates one quantity over one window.
type acc struct {
	kind          string
	n             int
	sum, min, max float64
	last          float64
	lastT         int64
	delta         float64
	state         float64 // occupancy: the state since stateT
	stateT        int64
	hasState      bool
	occ, cov      int64 // ns in state 1, ns known
	arrivals      int
	maxIndex      *float64
}

func (a *acc) add(t int64, v float64) {
	if a.n == 0 || v < a.min {
		a.min = v
	}
	if a.n == 0 || v > a.max {
		a.max = v
	}
	if a.n == 0 || t >= a.lastT {
		a.last, a.lastT = v, t
	}
	a.n++
	a.sum += v
}

// occupy advances the occupancy's known time to t, then takes state v.
func (a *acc) occupy(t int64, v float64) {
	if a.hasState {
		if d := t - a.stateT; d > 0 {
			a.cov += d
			if a.state >= 0.5 {
				a.occ += d
			}
		}
		if a.state < 0.5 && v >= 0.5 {
			a.arrivals++
		}
	}
	a.state, a.stateT, a.hasState = v, t, true
}

// open is the window a series has open for one window size.
type open struct {
	start int64 // Unix ns
	ok    bool
	accs  map[string]*acc
}

// series is the state of one sensor.
type series struct {
	entry *registryapi.GatewaySensor
	// current is the register's entry of the sensor (nil: not in the
	// list), as engine.current answered at version currentV.
	current  *registryapi.GatewaySensor
	currentV uint64
	resolved bool
	// skippedFrom, per size, is the earliest window reported to
	// engine.skipped at skipEpoch for entry skippedOf: a later reading
	// of a window from there on before the barrier needs no report
	// (the repair scheduled covers it), which spares a map lookup per
	// reading for the minutes after a start.
	skippedFrom  []int64
	skippedEpoch uint64
	skippedOf    *registryapi.GatewaySensor
	carries      map[string]*carry
	opens        []open  // per window size
	emitted      []int64 // per size: the end of the last window emitted
	touched      int64   // Unix ns, wall clock of the last reading
}

// skipReported reports whether the skipped window ws of size i is covered
// by one reported before, and else records it as reported.
func (s *series) skipReported(en *engine, e *registryapi.GatewaySensor, i int, ws int64) bool {
	if s.skippedFrom == nil || s.skippedEpoch != en.skipEpoch || s.skippedOf != e {
		if s.skippedFrom == nil {
			s.skippedFrom = make([]int64, len(en.sizes))
		}
		for j := range s.skippedFrom {
			s.skippedFrom[j] = math.MaxInt64
		}
		s.skippedEpoch, s.skippedOf = en.skipEpoch, e
	}
	if ws >= s.skippedFrom[i] {
		return true
	}
	s.skippedFrom[i] = ws
	return false
}

// lateFunc hears of a reading that arrived for a window already emitted,
// or out of time order for a quantity whose windows depend on the order.
type lateFunc func(e *registryapi.GatewaySensor, size int, start int64)

// engine aggregates readings, in the order they come, into windows of
// each size; it is the part of the [Aggregator] that knows no clock, no
// storage and no locking, and also what a repair runs on raw readings.
type engine struct {
	sizes []int64 // window sizes, ns
	// barrier, per size, is the first window start computed from memory:
	// readings of earlier windows are left to repairs (reported to
	// skipped). Zero: no barrier.
	barrier []int64
	// lookback bounds how old a carried state may be.
	lookback int64
	series   map[string]*series
	out      []Window
	late     lateFunc
	skipped  func(e *registryapi.GatewaySensor, size int, start int64)
	// maxSeries bounds the number of sensors followed; more are refused
	// (counted by the caller through refused).
	maxSeries int
	refused   func(sensor string)
	// current, when not nil, returns a sensor's entry in the register now,
	// which replaces the reading's; version changes when its answers may.
	current func(id string) *registryapi.GatewaySensor
	version uint64
	// skipEpoch changes whenever repairs are taken out: then a series'
	// skippedFrom no longer says they are scheduled.
	skipEpoch uint64
}

func newEngine(sizes []time.Duration, lookback time.Duration) *engine {
	e := &engine{series: map[string]*series{}, lookback: int64(lookback)}
	for _, s := range sizes {
		e.sizes = append(e.sizes, int64(s))
	}
	return e
}

// floor returns the start of the window of size d holding t.
func floor(t, d int64) int64 {
	s := t - t%d
	if t%d < 0 {
		s -= d
	}
	return s
}

// indexStep is the consumption between two readings of an index: their
// difference, or when the index went down, a rollover (the index was in
// the top tenth of its declared maximum and is in the bottom tenth: the
// meter wrapped at the maximum) or else a reset (the meter restarted from
// zero: the consumption since is the new index), the way Prometheus reads
// a counter that went down.
func indexStep(prev, cur float64, max *float64) (step float64, rollover, reset bool) {
	if cur >= prev {
		return cur - prev, false, false
	}
	if max != nil && *max > 0 && prev >= 0.9**max && cur <= 0.1**max {
		return *max - prev + cur, true, false
	}
	return math.Max(cur, 0), false, true
}

// add takes reading r at wall time now (Unix ns); counters, if not nil,
// counts the index rollovers and resets met.
func (en *engine) add(r validate.Accepted, now int64, counters *stepCounters) {
	s := en.series[r.Sensor]
	if s == nil {
		if en.maxSeries > 0 && len(en.series) >= en.maxSeries {
			if en.refused != nil {
				en.refused(r.Sensor)
			}
			return
		}
		s = &series{carries: map[string]*carry{}, opens: make([]open, len(en.sizes)), emitted: make([]int64, len(en.sizes))}
		en.series[r.Sensor] = s
	}
	if en.current != nil {
		if !s.resolved || s.currentV != en.version {
			s.current, s.currentV, s.resolved = en.current(r.Sensor), en.version, true
		}
		if s.current != nil {
			r.Entry = s.current
		}
	}
	s.entry, s.touched = r.Entry, now
	var decl *registryapi.Quantity
	for i := range r.Entry.Quantities {
		if r.Entry.Quantities[i].Name == r.Quantity {
			decl = &r.Entry.Quantities[i]
			break
		}
	}
	kind := registryapi.AggregationStats
	var maxIndex *float64
	if decl != nil {
		kind = decl.AggregationKind()
		maxIndex = decl.Max
	}
	t := r.Time.UnixNano()
	c := s.carries[r.Quantity]
	if c == nil {
		c = &carry{}
		s.carries[r.Quantity] = c
	}
	inOrder := !c.ok || t >= c.t
	var step float64
	if kind == registryapi.AggregationIndex && c.ok && inOrder && t-c.t <= en.lookback {
		var roll, reset bool
		step, roll, reset = indexStep(c.v, r.Value, maxIndex)
		if counters != nil {
			if roll {
				counters.rollovers++
			}
			if reset {
				counters.resets++
			}
		}
	}
	for i, size := range en.sizes {
		ws := floor(t, size)
		if en.barrier != nil && ws < en.barrier[i] {
			if en.skipped != nil && !s.skipReported(en, r.Entry, i, ws) {
				en.skipped(r.Entry, i, ws)
			}
			continue
		}
		o := &s.opens[i]
		if o.ok && ws > o.start {
			en.emit(s, i)
		}
		if !o.ok {
			if ws < s.emitted[i] {
				en.lateReading(r.Entry, i, ws)
				continue
			}
			o.start, o.ok = ws, true
			if o.accs == nil {
				o.accs = map[string]*acc{}
			}
		} else if ws < o.start {
			en.lateReading(r.Entry, i, ws)
			continue
		}
		if !inOrder && kind != registryapi.AggregationStats {
			en.lateReading(r.Entry, i, ws)
			continue
		}
		a := o.accs[r.Quantity]
		if a == nil {
			a = &acc{kind: kind, maxIndex: maxIndex}
			if kind == registryapi.AggregationOccupancy && c.ok && c.t <= t && ws-c.t <= en.lookback {
				a.state, a.stateT, a.hasState = c.v, max(c.t, ws), true
			}
			o.accs[r.Quantity] = a
		}
		a.add(t, r.Value)
		switch kind {
		case registryapi.AggregationIndex:
			a.delta += step
		case registryapi.AggregationOccupancy:
			a.occupy(t, r.Value)
		}
	}
	if inOrder {
		c.v, c.t, c.ok = r.Value, t, true
	}
}

func (en *engine) lateReading(e *registryapi.GatewaySensor, size int, start int64) {
	if en.late != nil {
		en.late(e, size, start)
	}
}

// emit closes the open window of size i of s.
func (en *engine) emit(s *series, i int) {
	o := &s.opens[i]
	if !o.ok {
		return
	}
	size := en.sizes[i]
	end := o.start + size
	w := Window{Entry: s.entry, Size: time.Duration(size), Start: time.Unix(0, o.start).UTC()}
	for _, q := range s.entry.Quantities {
		a := o.accs[q.Name]
		if a == nil {
			continue
		}
		delete(o.accs, q.Name)
		if a.kind == registryapi.AggregationOccupancy {
			a.occupy(end, a.state)
		}
		if a.n == 0 {
			continue
		}
		v := Value{Quantity: q.Name, Kind: a.kind, Count: a.n, Last: a.last}
		switch a.kind {
		case registryapi.AggregationIndex:
			v.Delta = a.delta
		case registryapi.AggregationOccupancy:
			v.Covered = time.Duration(a.cov)
			if a.cov > 0 {
				v.Ratio = float64(a.occ) / float64(a.cov)
			}
			v.Arrivals = a.arrivals
		default:
			v.Mean, v.Min, v.Max = a.sum/float64(a.n), a.min, a.max
		}
		w.Values = append(w.Values, v)
	}
	clear(o.accs) // quantities the entry no longer declares
	o.ok = false
	s.emitted[i] = end
	if len(w.Values) > 0 {
		en.out = append(en.out, w)
	}
}

// closeDue closes the windows that ended at or before until (Unix ns).
func (en *engine) closeDue(until int64) {
	for _, s := range en.series {
		for i, size := range en.sizes {
			if o := &s.opens[i]; o.ok && o.start+size <= until {
				en.emit(s, i)
			}
		}
	}
}

// closeAll closes every open window.
func (en *engine) closeAll() {
	for _, s := range en.series {
		for i := range en.sizes {
			en.emit(s, i)
		}
	}
}

// forget drops the series with no open window untouched since before
// (Unix ns, wall clock): their carried state is too old to use.
func (en *engine) forget(before int64) {
	for id, s := range en.series {
		if s.touched >= before {
			continue
		}
		idle := true
		for i := range s.opens {
			idle = idle && !s.opens[i].ok
		}
		if idle {
			delete(en.series, id)
		}
	}
}

// take returns the windows emitted since the last call.
func (en *engine) take() []Window {
	out := en.out
	en.out = nil
	return out
}

// stepCounters counts what index steps met.
type stepCounters struct{ rollovers, resets int }
