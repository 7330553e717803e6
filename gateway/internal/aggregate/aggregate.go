// Package aggregate computes the gateway's aggregates at the edge: per
// sensor and time window (1 min, 15 min, 1 h by default), the mean,
// minimum, maximum, count and last value of each quantity; for a meter
// index, the consumption of the window; for an occupancy, the share of the
// window's time in state 1 and the number of arrivals. How a quantity is
// aggregated is its register entry's choice
// (registryapi.Quantity.AggregationKind).
//
// # Where it sits
//
// The sink's drainer hands the [Aggregator] every batch of readings once
// it is written raw to InfluxDB, in the spool's order, and writes the
// windows it returns. So an aggregate is only ever computed from readings
// already stored raw, and a window can always be computed again from
// InfluxDB: that is a repair ([Repair]).
//
// # When a window closes
//
// Windows are in the readings' own time (event time), aligned on
// multiples of their size since the Unix epoch, in UTC. A sensor's window
// closes when a reading of a later window of that sensor arrives (a sensor
// reports in time order, also when it sends a backlog), or by the clock,
// Grace after its end, but only while the drainer is caught up with the
// spool ([Aggregator.Tick]): a backlog waiting in the spool never closes a
// window early.
//
// # Repairs: what memory cannot know
//
// A reading that arrives for a window already closed (late), or out of
// time order for an index or an occupancy, schedules a repair of its
// window (and the next, whose increase or starting state it changes): the
// drainer, when caught up and Grace later, reads the raw readings of the
// window back from InfluxDB, computes it again with the same code, and
// writes it over the old one (same series, same time: InfluxDB keeps one).
//
// After a start, the windows open at the time, whose first readings a
// previous process may have seen, are computed by repair only: readings of
// windows that began before the start are left out of memory and their
// windows repaired when they end. The repair at start covers, for every
// sensor of the allow-list, the windows since the last time the gateway
// knew every closed window to be written (the watermark in the state
// file), so that windows closed just before a crash or a power cut and not
// written are written. The state file holds that watermark and the
// pending repairs; it is written at most once a minute, atomically.
package aggregate

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/civisens/civisens/firmware-bridge/senml"
	"github.com/civisens/civisens/gateway/internal/metrics"
	"github.com/civisens/civisens/gateway/internal/validate"
	"github.com/civisens/civisens/internal/atomicfile"
	"github.com/civisens/civisens/registry/registryapi"
)

// Defaults of [Config].
const (
	DefaultGrace      = time.Minute
	DefaultRetention  = "P10Y"
	DefaultLookback   = 7 * 24 * time.Hour
	DefaultMaxSeries  = 100_000
	DefaultRepairSpan = 7 * 24 * time.Hour
	// saveEvery bounds how often the state file is written (SD cards).
	saveEvery = time.Minute
)

// DefaultWindows are the window sizes aggregated by default.
var DefaultWindows = []time.Duration{time.Minute, 15 * time.Minute, time.Hour}

// Config configures an [Aggregator]. The zero value of each field means
// its default.
type Config struct {
	// Windows are the window sizes, each a whole number of seconds that
	// divides a day; DefaultWindows if empty.
	Windows []time.Duration
	// Grace is how long after its end a window waits for its readings
	// before the clock closes it, and a repair for late readings.
	Grace time.Duration
	// Retention is how long InfluxDB keeps the aggregates of sensors whose
	// data is not identifiable or pseudonymised (an ISO 8601 duration);
	// those of identifiable or pseudonymised sensors are kept as long as
	// their raw readings, no longer.
	Retention string
	// Lookback bounds how old the last reading before a window may be to
	// count as the window's starting point (index, occupancy): a meter
	// silent for longer starts again from its next reading. Sensors silent
	// for longer are forgotten.
	Lookback time.Duration
	// MaxSeries bounds the number of sensors followed in memory.
	MaxSeries int
	// RepairSpan bounds how far back a repair reaches.
	RepairSpan time.Duration
	// MaxFuture is how far ahead of the clock a reading may be dated (the
	// validation's rule): a previous process may have seen readings of
	// windows up to that far ahead, so memory starts after them.
	MaxFuture time.Duration
	// StateFile keeps the watermark and the pending repairs across
	// restarts; empty: none (every start repairs only its first windows).
	StateFile string
	// Entries returns the current register entry of a sensor (the
	// allow-list's): how its quantities are aggregated and where its
	// aggregates go follow the register as it is now, as a repair does.
	// The spool keeps only what raw points need of an entry; a reading of
	// a sensor no longer in the list is aggregated with that, its
	// quantities' aggregation inferred from their units. Entries returns
	// nil for a sensor not in the list, and a shared entry the aggregator
	// does not modify. Nil: the readings' own entries.
	Entries func(id string) *registryapi.GatewaySensor
	// EntriesVersion, when not nil, changes whenever Entries may answer
	// differently: the aggregator then keeps each sensor's entry until it
	// changes, instead of asking Entries for every message.
	EntriesVersion func() uint64
}

func (c Config) withDefaults() Config {
	if len(c.Windows) == 0 {
		c.Windows = DefaultWindows
	}
	if c.Grace <= 0 {
		c.Grace = DefaultGrace
	}
	if c.Retention == "" {
		c.Retention = DefaultRetention
	}
	if c.Lookback <= 0 {
		c.Lookback = DefaultLookback
	}
	if c.MaxSeries <= 0 {
		c.MaxSeries = DefaultMaxSeries
	}
	if c.RepairSpan <= 0 {
		c.RepairSpan = DefaultRepairSpan
	}
	return c
}

// Validate reports what is wrong with c.
func (c Config) Validate() error {
	c = c.withDefaults()
	for i, w := range c.Windows {
		switch {
		case w < time.Second || w%time.Second != 0:
			return fmt.Errorf("aggregate window %s: not a whole number of seconds", w)
		case (24*time.Hour)%w != 0:
			return fmt.Errorf("aggregate window %s: does not divide a day (1m, 5m, 10m, 15m, 30m, 1h, 2h, 3h, 6h, 12h, 24h do)", w)
		case i > 0 && w <= c.Windows[i-1]:
			return fmt.Errorf("aggregate windows must be given in increasing order, each once: %s after %s", w, c.Windows[i-1])
		}
	}
	if _, err := registryapi.ParseRetention(c.Retention); err != nil {
		return fmt.Errorf("aggregate retention: %w", err)
	}
	return nil
}

// WindowName is how a window size is written in the window tag: "1m",
// "15m", "1h", "1d", "90s".
func WindowName(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

// Repair is a range of windows of one sensor and one size to compute
// again from the raw readings in InfluxDB.
type Repair struct {
	Entry    *registryapi.GatewaySensor
	Size     time.Duration
	From, To time.Time // window starts in [From, To)
	Due      time.Time
	size     int
	attempts int
}

type repairKey struct {
	sensor string
	size   int
}

// Sample is a raw reading read back from InfluxDB.
type Sample struct {
	Quantity string
	Time     time.Time
	Value    float64
}

// Aggregator aggregates readings into windows; see the package
// documentation. It is safe for concurrent use.
type Aggregator struct {
	cfg       Config
	log       *slog.Logger
	now       func() time.Time
	startedAt time.Time
	addNow    time.Time // the clock at the start of the current Add

	mu       sync.Mutex
	en       *engine
	repairs  map[repairKey]*Repair
	counters stepCounters
	// watermark: every window that ended at or before it is written.
	watermark time.Time
	savedAt   time.Time
	saved     bool // the file holds the current state

	windows     *metrics.CounterVec
	late        *metrics.Counter
	repairsRun  *metrics.CounterVec
	refused     *metrics.Counter
	rollovers   *metrics.Counter
	resets      *metrics.Counter
	seenCounter stepCounters
}

// New returns an aggregator, reading its state file if there is one. A
// state file that cannot be read is logged and set aside: the gateway
// starts anyway, repairing only its first windows.
func New(cfg Config, log *slog.Logger, reg *metrics.Registry) (*Aggregator, error) {
	return newWithClock(cfg, log, reg, time.Now)
}

// newWithClock is New with the clock now (tests).
func newWithClock(cfg Config, log *slog.Logger, reg *metrics.Registry, now func() time.Time) (*Aggregator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	a := &Aggregator{
		cfg: cfg, log: log, now: now,
		repairs:    map[repairKey]*Repair{},
		windows:    reg.CounterVec("civisens_gateway_aggregate_windows_total", "Aggregate windows written to InfluxDB (repairs included), by window size.", "window"),
		late:       reg.Counter("civisens_gateway_aggregate_late_readings_total", "Readings that arrived after their window was aggregated (or out of time order for an index or occupancy): their window is repaired from InfluxDB."),
		repairsRun: reg.CounterVec("civisens_gateway_aggregate_repairs_total", "Repairs of aggregate windows from the raw readings in InfluxDB, by result (ok, failed: tried again).", "result"),
		refused:    reg.Counter("civisens_gateway_aggregate_series_refused_total", "Readings not aggregated because the gateway already follows -aggregate-max-series sensors."),
		rollovers:  reg.Counter("civisens_gateway_aggregate_index_rollovers_total", "Meter indices seen wrapping at their declared maximum."),
		resets:     reg.Counter("civisens_gateway_aggregate_index_resets_total", "Meter indices seen going down (a meter reset: the consumption since is counted from zero)."),
	}
	a.startedAt = a.now()
	a.en = a.newEngine(cfg.Windows)
	a.en.maxSeries = cfg.MaxSeries
	a.en.refused = func(string) { a.refused.Inc() }
	start := a.startedAt.UnixNano()
	a.en.barrier = make([]int64, len(a.en.sizes))
	for i, s := range a.en.sizes {
		a.en.barrier[i] = floor(start+int64(max(cfg.MaxFuture, 0)), s) + s
	}
	// Both run within Add, which sets addNow.
	a.en.late = func(e *registryapi.GatewaySensor, i int, ws int64) {
		a.late.Inc()
		size := a.en.sizes[i]
		a.schedule(e, i, ws, ws+2*size, a.addNow.Add(a.cfg.Grace))
	}
	a.en.skipped = func(e *registryapi.GatewaySensor, i int, ws int64) {
		b := a.en.barrier[i]
		a.schedule(e, i, ws, b, later(time.Unix(0, b).Add(a.cfg.Grace), a.addNow.Add(a.cfg.Grace)))
	}
	reg.GaugeFunc("civisens_gateway_aggregate_repairs_pending", "Aggregate repairs waiting (one per sensor and window size).", func() float64 {
		a.mu.Lock()
		defer a.mu.Unlock()
		return float64(len(a.repairs))
	})
	reg.GaugeFunc("civisens_gateway_aggregate_series", "Sensors whose aggregates the gateway follows in memory.", func() float64 {
		a.mu.Lock()
		defer a.mu.Unlock()
		return float64(len(a.en.series))
	})
	if err := a.load(); err != nil {
		log.Warn("aggregate state file unreadable; set aside, only the windows open at start are repaired", "file", cfg.StateFile, "err", err)
		if cfg.StateFile != "" {
			os.Rename(cfg.StateFile, cfg.StateFile+".bad")
		}
	}
	return a, nil
}

func (a *Aggregator) newEngine(sizes []time.Duration) *engine {
	return newEngine(sizes, a.cfg.Lookback)
}

func later(x, y time.Time) time.Time {
	if x.After(y) {
		return x
	}
	return y
}

// schedule adds windows [from, to) of size i of e to the repairs, due no
// earlier than due. The caller holds a.mu.
func (a *Aggregator) schedule(e *registryapi.GatewaySensor, i int, from, to int64, due time.Time) {
	if e == nil {
		return
	}
	k := repairKey{e.ID, i}
	r := a.repairs[k]
	if r != nil && from >= r.From.UnixNano() && to <= r.To.UnixNano() && !due.After(r.Due) {
		r.Entry = e
		return // already scheduled: every reading before the barrier comes here
	}
	size := a.en.sizes[i]
	from = floor(from, size)
	if min := a.now().Add(-a.cfg.RepairSpan).UnixNano(); from < min {
		from = floor(min, size)
	}
	if to <= from {
		return
	}
	if r == nil {
		a.repairs[k] = &Repair{Entry: e, size: i, Size: time.Duration(size), From: time.Unix(0, from).UTC(), To: time.Unix(0, to).UTC(), Due: due}
		a.saved = false
		return
	}
	r.Entry = e
	if f := time.Unix(0, from).UTC(); f.Before(r.From) {
		r.From, a.saved = f, false
	}
	if t := time.Unix(0, to).UTC(); t.After(r.To) {
		r.To, a.saved = t, false
	}
	r.Due = later(r.Due, due)
}

// Start schedules the repairs a start needs, for the sensors of the
// allow-list: the windows since the watermark, up to those computed from
// memory.
func (a *Aggregator) Start(sensors []registryapi.GatewaySensor) {
	a.mu.Lock()
	defer a.mu.Unlock()
	from := a.startedAt
	if !a.watermark.IsZero() && a.watermark.Before(from) {
		from = a.watermark
	}
	for j := range sensors {
		e := &sensors[j]
		for i := range a.en.sizes {
			b := a.en.barrier[i]
			// The watermark's window may have closed after it: from its start.
			a.schedule(e, i, from.UnixNano(), b, time.Unix(0, b).Add(a.cfg.Grace))
		}
	}
	// Pending repairs read from the state file name sensors by id.
	byID := make(map[string]*registryapi.GatewaySensor, len(sensors))
	for j := range sensors {
		byID[sensors[j].ID] = &sensors[j]
	}
	for k, r := range a.repairs {
		if r.Entry != nil {
			continue
		}
		if e, ok := byID[k.sensor]; ok {
			r.Entry = e
		} else {
			delete(a.repairs, k)
		}
	}
}

// Lookback is how old the reading before a window may be to count as its
// starting point.
func (a *Aggregator) Lookback() time.Duration { return a.cfg.Lookback }

// Retention is the retention whose InfluxDB destination keeps the
// aggregates of e: the configured one, or the entry's own for
// identifiable or pseudonymised data.
func (a *Aggregator) Retention(e *registryapi.GatewaySensor) string {
	if e.KeepsAggregatesLonger() {
		return a.cfg.Retention
	}
	return e.Retention
}

// Add aggregates rs, readings written raw, in the spool's order, and
// returns the windows they closed.
func (a *Aggregator) Add(rs []validate.Accepted) []Window {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.addNow = a.now()
	now := a.addNow.UnixNano()
	a.en.current = a.cfg.Entries
	if a.cfg.EntriesVersion != nil {
		a.en.version = a.cfg.EntriesVersion()
	} else {
		a.en.version++ // every Add asks again
	}
	for _, r := range rs {
		if r.Entry == nil {
			continue
		}
		a.en.add(r, now, &a.counters)
	}
	a.flushCounters()
	return a.en.take()
}

func (a *Aggregator) flushCounters() {
	if d := a.counters.rollovers - a.seenCounter.rollovers; d > 0 {
		a.rollovers.Add(uint64(d))
	}
	if d := a.counters.resets - a.seenCounter.resets; d > 0 {
		a.resets.Add(uint64(d))
	}
	a.seenCounter = a.counters
}

// Tick closes, when caughtUp (the drainer has read everything the spool
// holds), the windows that ended Grace ago or more, forgets sensors
// silent for longer than the lookback, and returns the windows closed and
// the time up to which every window is now closed (zero when not caught
// up): once the caller wrote the windows, it passes that time to Written.
func (a *Aggregator) Tick(caughtUp bool) ([]Window, time.Time) {
	if !caughtUp {
		return nil, time.Time{}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	until := now.Add(-a.cfg.Grace)
	a.en.closeDue(until.UnixNano())
	a.en.forget(now.Add(-a.cfg.Lookback).UnixNano())
	return a.en.take(), until
}

// Written tells that every window closed up to until is written; the
// watermark moves there, and the state file is written when it is a
// minute old.
func (a *Aggregator) Written(until time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if until.After(a.watermark) {
		a.watermark, a.saved = until, false
	}
	a.saveLocked(false)
}

// Close writes the state file.
func (a *Aggregator) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.saveLocked(true)
}

// Due returns, and takes out, at most max repairs that are due. The
// caller runs each ([Aggregator.Recompute]) and reports with Repaired.
func (a *Aggregator) Due(max int) []Repair {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	var out []Repair
	for k, r := range a.repairs {
		if len(out) >= max {
			break
		}
		if r.Entry == nil || r.Due.After(now) {
			continue
		}
		out = append(out, *r)
		delete(a.repairs, k)
		a.saved = false
	}
	if len(out) > 0 {
		a.en.skipEpoch++ // what the series remember as scheduled may be gone
	}
	slices.SortFunc(out, func(x, y Repair) int { return x.Due.Compare(y.Due) })
	return out
}

// Repaired reports the outcome of a repair from Due: on failure it is
// scheduled again, after a backoff.
func (a *Aggregator) Repaired(r Repair, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err == nil {
		a.repairsRun.With("ok").Inc()
		return
	}
	a.repairsRun.With("failed").Inc()
	r.attempts++
	backoff := min(time.Duration(1<<min(r.attempts, 10))*time.Second, 10*time.Minute)
	a.schedule(r.Entry, r.size, r.From.UnixNano(), r.To.UnixNano(), a.now().Add(backoff))
	if nr := a.repairs[repairKey{r.Entry.ID, r.size}]; nr != nil {
		nr.attempts = r.attempts
	}
}

// Counted counts windows written.
func (a *Aggregator) Counted(ws []Window) {
	for _, w := range ws {
		a.windows.With(WindowName(w.Size)).Inc()
	}
}

// Recompute computes the windows of r from samples, the raw readings of
// r.Entry in [r.From, r.To) in any order, and carries, the last
// reading of each quantity before r.From (within the lookback). Windows
// still open in memory are left out: memory writes them when they close,
// and they are scheduled for repair again, due once the clock closed them.
func (a *Aggregator) Recompute(r Repair, samples, carries []Sample) []Window {
	a.mu.Lock()
	to := r.To.UnixNano()
	if s := a.en.series[r.Entry.ID]; s != nil && s.opens[r.size].ok {
		to = min(to, s.opens[r.size].start)
	}
	if to < r.To.UnixNano() {
		// Memory will close the windows left out without the reading that
		// caused the repair (out of time order, it cannot take it): repair
		// them again once the clock has closed them.
		size := a.en.sizes[r.size]
		a.schedule(r.Entry, r.size, to, r.To.UnixNano(), later(time.Unix(0, to+size).Add(a.cfg.Grace), a.now().Add(a.cfg.Grace)))
	}
	a.mu.Unlock()

	en := a.newEngine([]time.Duration{r.Size})
	e := r.Entry
	s := &series{entry: e, carries: map[string]*carry{}, opens: make([]open, 1), emitted: make([]int64, 1)}
	for _, c := range carries {
		s.carries[c.Quantity] = &carry{v: c.Value, t: c.Time.UnixNano(), ok: true}
	}
	en.series[e.ID] = s
	sorted := slices.Clone(samples)
	slices.SortStableFunc(sorted, func(x, y Sample) int { return x.Time.Compare(y.Time) })
	for _, smp := range sorted {
		en.add(validate.Accepted{Reading: senml.Reading{Sensor: e.ID, Quantity: smp.Quantity, Value: smp.Value, Time: smp.Time}, Entry: e}, 0, nil)
	}
	en.closeAll()
	var out []Window
	for _, w := range en.take() {
		if ws := w.Start.UnixNano(); ws >= r.From.UnixNano() && ws < to {
			out = append(out, w)
		}
	}
	return out
}

// state is the state file's content.
type state struct {
	Watermark time.Time `json:"watermark"`
	// Repairs is the format before groups, still read.
	Repairs []stateRepair `json:"repairs,omitempty"`
	// Groups: the repairs of the same windows, with their sensors. After
	// a start every sensor has the same ones: 30,000 repairs of 10,000
	// sensors are three groups, a tenth of the bytes on the SD card.
	Groups []stateGroup `json:"groups,omitempty"`
}

type stateGroup struct {
	Window  string    `json:"window"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Sensors []string  `json:"sensors"`
}

type stateRepair struct {
	Sensor string    `json:"sensor"`
	Window string    `json:"window"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
}

func (a *Aggregator) load() error {
	if a.cfg.StateFile == "" {
		return nil
	}
	b, err := os.ReadFile(a.cfg.StateFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("%s: %w", a.cfg.StateFile, err)
	}
	a.watermark = st.Watermark
	for _, g := range st.Groups {
		for _, s := range g.Sensors {
			st.Repairs = append(st.Repairs, stateRepair{Sensor: s, Window: g.Window, From: g.From, To: g.To})
		}
	}
	for _, r := range st.Repairs {
		i := slices.IndexFunc(a.cfg.Windows, func(d time.Duration) bool { return WindowName(d) == r.Window })
		if i < 0 || r.Sensor == "" {
			continue // a window size no longer configured
		}
		a.repairs[repairKey{r.Sensor, i}] = &Repair{size: i, Size: a.cfg.Windows[i], From: r.From, To: r.To, Due: a.startedAt.Add(a.cfg.Grace)}
	}
	a.saved = true
	return nil
}

// saveLocked writes the state file if it changed and, unless force, the
// last write is a minute old.
func (a *Aggregator) saveLocked(force bool) error {
	if a.cfg.StateFile == "" || a.saved || (!force && a.now().Sub(a.savedAt) < saveEvery) {
		return nil
	}
	// Grouped by windows, and streamed: after a start, 10,000 sensors
	// have 30,000 repairs pending that need not be in memory twice.
	type span struct {
		size     int
		from, to int64
	}
	groups := map[span][]string{}
	for k, r := range a.repairs {
		g := span{k.size, r.From.UnixNano(), r.To.UnixNano()}
		groups[g] = append(groups[g], k.sensor)
	}
	spans := slices.SortedFunc(maps.Keys(groups), func(x, y span) int {
		return cmp.Or(cmp.Compare(x.size, y.size), cmp.Compare(x.from, y.from), cmp.Compare(x.to, y.to))
	})
	write := func(w io.Writer) error {
		head, err := json.Marshal(state{Watermark: a.watermark.UTC()})
		if err != nil {
			return err
		}
		if len(spans) == 0 {
			_, err = w.Write(head)
			return err
		}
		// {"watermark":"…","groups":[{…},…]}
		w.Write(head[:len(head)-1])
		io.WriteString(w, `,"groups":[`)
		enc := json.NewEncoder(w)
		for i, g := range spans {
			if i > 0 {
				io.WriteString(w, ",")
			}
			sensors := groups[g]
			slices.Sort(sensors)
			err := enc.Encode(stateGroup{Window: WindowName(a.cfg.Windows[g.size]), From: time.Unix(0, g.from).UTC(), To: time.Unix(0, g.to).UTC(), Sensors: sensors})
			if err != nil {
				return err
			}
		}
		_, err = io.WriteString(w, "]}")
		return err
	}
	if err := atomicfile.Write(a.cfg.StateFile, 0o600, write); err != nil {
		a.log.Error("cannot write the aggregate state file; a restart will repair more windows", "file", a.cfg.StateFile, "err", err)
		return err
	}
	a.savedAt, a.saved = a.now(), true
	return nil
}
