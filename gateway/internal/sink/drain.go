package sink

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"
	"github.com/influxdata/influxdb-client-go/v2/api/write"

	"github.com/civisens/civisens/gateway/internal/aggregate"
	"github.com/civisens/civisens/gateway/internal/metrics"
	"github.com/civisens/civisens/gateway/internal/ratelog"
	"github.com/civisens/civisens/gateway/internal/spool"
	"github.com/civisens/civisens/gateway/internal/validate"
	"github.com/civisens/civisens/registry/registryapi"
)

// Source is what the drainer needs of the spool.
type Source interface {
	Read(ctx context.Context, b *spool.Batch, max int, wait bool) error
	Done(b *spool.Batch) error
}

// Defaults of [DrainConfig].
const (
	DefaultBatchSize     = 5000
	DefaultFlushInterval = 100 * time.Millisecond
	DefaultWriters       = 4
	DefaultRetryMin      = 100 * time.Millisecond
	DefaultRetryMax      = 30 * time.Second
	// maxRetryAfter caps the wait a server may ask for with Retry-After.
	maxRetryAfter = time.Minute
)

// DrainConfig configures a [Drainer]. The zero value of each field means
// its default.
type DrainConfig struct {
	// BatchSize is the most readings per write (a batch may exceed it by
	// the readings of one spool record).
	BatchSize int
	// FlushInterval is the longest a batch waits to fill.
	FlushInterval time.Duration
	// Writers is the most batches written at once.
	Writers int
	// RetryMin and RetryMax bound the backoff between attempts.
	RetryMin, RetryMax time.Duration
}

func (c DrainConfig) withDefaults() DrainConfig {
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.Writers <= 0 {
		c.Writers = DefaultWriters
	}
	if c.RetryMin <= 0 {
		c.RetryMin = DefaultRetryMin
	}
	if c.RetryMax <= 0 {
		c.RetryMax = DefaultRetryMax
	}
	c.RetryMax = max(c.RetryMax, c.RetryMin)
	return c
}

// pointsWriter is what the drainer needs of the [Writer].
type pointsWriter interface {
	Destination(ctx context.Context, retention string) (string, error)
	WritePoints(ctx context.Context, dest string, pts []*write.Point, readings int) error
	WriteLines(ctx context.Context, dest, lines string, points, readings int) error
}

// Drainer sends the spool to InfluxDB; see the package documentation.
type Drainer struct {
	cfg  DrainConfig
	src  Source
	w    pointsWriter
	dead *DeadLetters
	log  *slog.Logger
	rl   *ratelog.Limiter

	retries *metrics.Counter
	refused *metrics.CounterVec

	agg            *aggregate.Aggregator // nil: no aggregates
	aggRefused     *metrics.CounterVec
	caughtUp       atomic.Bool  // the last read took all the spool had
	inFlight       atomic.Int32 // batches read and not yet completed
	lastTick       time.Time    // the completer's
	tickEvery      time.Duration
	repairBudget   time.Duration
	repairsPerTurn int
}

// readingKey identifies a reading.
type readingKey struct {
	sensor, quantity string
	t                int64
}

// rawSource reads raw readings back, for the aggregates' repairs
// ([Writer] is one).
type rawSource interface {
	Raw(ctx context.Context, dest string, e *registryapi.GatewaySensor, from, to time.Time, lookback time.Duration) (samples, carries []aggregate.Sample, err error)
}

// Aggregate makes the drainer hand a to every batch it wrote, write the
// windows a closes, and run a's repairs while it is caught up with the
// spool (see package aggregate). Call it before Run.
func (d *Drainer) Aggregate(a *aggregate.Aggregator, reg *metrics.Registry) {
	d.agg = a
	d.tickEvery, d.repairBudget, d.repairsPerTurn = time.Second, 500*time.Millisecond, 16
	d.aggRefused = reg.CounterVec("civisens_gateway_aggregate_windows_refused_total", "Aggregate windows the gateway could not write and dropped, by reason: influx_refused (InfluxDB refused the write for good), retention_mismatch, retention_missing, retention_invalid.", "reason")
}

// NewDrainer returns a drainer of src into w, refused points going to dead.
func NewDrainer(cfg DrainConfig, src Source, w pointsWriter, dead *DeadLetters, log *slog.Logger, reg *metrics.Registry) *Drainer {
	return &Drainer{
		cfg: cfg.withDefaults(), src: src, w: w, dead: dead, log: log,
		rl:      ratelog.New(log, ratelog.DefaultInterval, time.Now),
		retries: reg.Counter("civisens_gateway_influx_retries_total", "Writes tried again after a failure that may pass (network, 5xx, 429…)."),
		refused: reg.CounterVec("civisens_gateway_readings_refused_total", "Readings the gateway refused to write to InfluxDB (sent to the dead letters), by reason: retention_mismatch, retention_missing, retention_invalid.", "reason", "sensor"),
	}
}

// Run sends batches until ctx ends, or until stop is closed and the spool
// has nothing more to send (or ctx ends first: a graceful stop gives ctx a
// deadline). What was not sent stays in the spool for the next start.
//
// Up to Writers batches are written at once: Run reads the spool and hands
// each batch to a goroutine of its own, and a completer takes the batches
// back in the order they were read, hands them to the aggregator and marks
// them done in the spool. A batch is never marked done before every batch
// read before it was written, so a failure or a stop leaves in the spool
// exactly what may not be in InfluxDB.
func (d *Drainer) Run(ctx context.Context, stop <-chan struct{}) {
	readCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-readCtx.Done():
		}
	}()
	n := d.cfg.Writers
	inOrder := make(chan *job, n) // read, in order, to the completer
	free := make(chan *job, n)    // completed, to read into again
	prefixes := &prefixCache{}    // one for the writers: an entry's line start is the same for all
	for range n {
		free <- &job{st: writeState{lines: lineBatch{prefixes: prefixes}}}
	}
	completed := make(chan struct{})
	graceful := false
	go func() {
		defer close(completed)
		d.complete(ctx, inOrder, free, &graceful)
	}()
	defer func() {
		close(inOrder)
		<-completed
	}()
	for ctx.Err() == nil {
		var j *job
		select {
		case j = <-free:
		case <-ctx.Done():
			return
		}
		j.b.Reset()
		if readCtx.Err() == nil {
			if err := d.read(readCtx, &j.b); err != nil && readCtx.Err() == nil {
				d.log.Error("spool read failed", "err", err)
				return
			}
			d.fill(readCtx, &j.b)
		}
		if readCtx.Err() != nil {
			// Stopping: what is there, without waiting.
			if err := d.src.Read(ctx, &j.b, d.cfg.BatchSize, false); err != nil {
				return
			}
			if j.b.Records == 0 {
				graceful = true
				return
			}
		}
		j.caughtUp = len(j.b.Readings) < d.cfg.BatchSize
		if j.b.Records == 0 {
			d.caughtUp.Store(true)
			free <- j
			continue
		}
		j.done, j.err = make(chan struct{}), nil
		d.inFlight.Add(1) // before caughtUp: the completer reads them in the other order
		d.caughtUp.Store(j.caughtUp)
		inOrder <- j // never blocks: there are n jobs
		go func() {
			defer close(j.done)
			j.err = d.write(ctx, j.b.Readings, &j.st)
		}()
	}
}

// job is one batch on its way to InfluxDB.
type job struct {
	b        spool.Batch
	st       writeState
	caughtUp bool          // the read took all the spool had
	done     chan struct{} // closed when written, or when ctx ended
	err      error         // non-nil: ctx ended before it was written
}

// complete takes the jobs of Run in order as their writes end, hands what
// they wrote to the aggregator, marks them done in the spool and frees
// them; between jobs, while Run is caught up, it closes windows by the
// clock and runs repairs. It stops at the first job whose write did not
// end (ctx ended), without marking it or any later one done; when in is
// closed after a graceful stop, it writes the windows due and the
// aggregator's state.
func (d *Drainer) complete(ctx context.Context, in <-chan *job, free chan<- *job, graceful *bool) {
	var tick <-chan time.Time
	if d.agg != nil {
		t := time.NewTicker(d.tickEvery)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case j, ok := <-in:
			if !ok {
				if *graceful {
					d.stopAggregates(ctx)
				}
				return
			}
			<-j.done
			if j.err != nil {
				for j := range in {
					<-j.done // the others end with ctx too
				}
				return
			}
			if d.agg != nil {
				if err := d.writeWindows(ctx, d.agg.Add(written(j.b.Readings, j.st.notWritten))); err != nil {
					for j := range in {
						<-j.done
					}
					return
				}
			}
			clear(j.st.notWritten)
			d.inFlight.Add(-1)
			if err := d.src.Done(&j.b); err != nil {
				d.rl.Log(ctx, slog.LevelError, "checkpoint", "spool checkpoint failed; readings may be sent again after a restart", "err", err)
			}
			caughtUp := j.caughtUp
			free <- j
			// Caught up: this batch took all there was, and no later one
			// was read; a tick is due.
			if d.agg != nil && caughtUp && d.inFlight.Load() == 0 && time.Since(d.lastTick) >= d.tickEvery {
				d.tick(ctx)
			}
		case <-tick:
			// The same, while the spool is idle and no batch completes.
			if d.caughtUp.Load() && d.inFlight.Load() == 0 && time.Since(d.lastTick) >= d.tickEvery {
				d.tick(ctx)
			}
		}
	}
}

// written returns the readings of batch that were written raw: all but
// those refused for good (an aggregate is computed from stored readings
// only, as a repair would).
func written(batch []validate.Accepted, notWritten map[readingKey]bool) []validate.Accepted {
	if len(notWritten) == 0 {
		return batch
	}
	out := make([]validate.Accepted, 0, len(batch))
	for _, r := range batch {
		if !notWritten[readingKey{r.Sensor, r.Quantity, r.Time.UnixNano()}] {
			out = append(out, r)
		}
	}
	return out
}

// writeState is what the write of one batch needs and finds.
type writeState struct {
	lines      lineBatch
	notWritten map[readingKey]bool // readings refused for good
}

// markNotWritten records in st readings refused for good, for written.
func (d *Drainer) markNotWritten(st *writeState, rs []validate.Accepted) {
	if d.agg == nil {
		return
	}
	if st.notWritten == nil {
		st.notWritten = map[readingKey]bool{}
	}
	for _, r := range rs {
		st.notWritten[readingKey{r.Sensor, r.Quantity, r.Time.UnixNano()}] = true
	}
}

// read waits for a first record; with aggregates, at most tickEvery, so
// that Run notices it is caught up while the spool is idle.
func (d *Drainer) read(ctx context.Context, b *spool.Batch) error {
	if d.agg == nil {
		return d.src.Read(ctx, b, d.cfg.BatchSize, true)
	}
	rctx, cancel := context.WithTimeout(ctx, d.tickEvery)
	defer cancel()
	err := d.src.Read(rctx, b, d.cfg.BatchSize, true)
	if err != nil && ctx.Err() == nil && rctx.Err() != nil {
		return nil // idle
	}
	return err
}

// tick closes the windows due by the clock, writes them, and runs the
// repairs due, for at most repairBudget.
func (d *Drainer) tick(ctx context.Context) {
	d.lastTick = time.Now()
	ws, until := d.agg.Tick(true)
	if err := d.writeWindows(ctx, ws); err != nil {
		return
	}
	d.agg.Written(until)
	deadline := time.Now().Add(d.repairBudget)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		rs := d.agg.Due(d.repairsPerTurn)
		if len(rs) == 0 {
			return
		}
		for _, r := range rs {
			d.agg.Repaired(r, d.repair(ctx, r))
		}
	}
}

// stopAggregates writes the windows due and the aggregator's state, at a
// graceful stop (the windows still open are repaired at the next start).
func (d *Drainer) stopAggregates(ctx context.Context) {
	if d.agg == nil {
		return
	}
	ws, until := d.agg.Tick(true)
	if err := d.writeWindows(ctx, ws); err == nil {
		d.agg.Written(until)
	}
	if err := d.agg.Close(); err != nil {
		d.log.Error("cannot save the aggregate state", "err", err)
	}
}

// repair computes r's windows again from the raw readings in InfluxDB and
// writes them, once: an error reschedules it.
func (d *Drainer) repair(ctx context.Context, r aggregate.Repair) error {
	raw, ok := d.w.(rawSource)
	if !ok {
		return errors.New("the InfluxDB writer cannot read raw readings back")
	}
	dest, err := d.w.Destination(ctx, r.Entry.Retention)
	var re *RetentionError
	if errors.As(err, &re) {
		return nil // no raw readings were written there
	}
	if err != nil {
		return err
	}
	samples, carries, err := raw.Raw(ctx, dest, r.Entry, r.From, r.To, d.agg.Lookback())
	if err != nil {
		d.rl.Log(ctx, slog.LevelWarn, "repair", "cannot read raw readings back to repair aggregates; tried again later", "sensor", r.Entry.ID, "err", err)
		return err
	}
	ws := d.agg.Recompute(r, samples, carries)
	if len(ws) == 0 {
		return nil
	}
	return d.writeWindowsOnce(ctx, ws)
}

// writeWindows writes ws, retrying until they are written or ctx ends.
func (d *Drainer) writeWindows(ctx context.Context, ws []aggregate.Window) error {
	if len(ws) == 0 {
		return nil
	}
	for _, g := range d.byRetention(ws) {
		delay := d.cfg.RetryMin
		for attempt := 1; ; attempt++ {
			err := d.writeGroup(ctx, g.retention, g.windows)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			d.retries.Inc()
			d.rl.Log(ctx, slog.LevelWarn, "write-aggregates", "writing aggregates to InfluxDB failed; retrying", "err", err, "windows", len(g.windows), "attempt", attempt, "retry_in", delay)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
			delay = min(2*delay, d.cfg.RetryMax)
		}
	}
	return nil
}

// writeWindowsOnce writes ws once.
func (d *Drainer) writeWindowsOnce(ctx context.Context, ws []aggregate.Window) error {
	for _, g := range d.byRetention(ws) {
		if err := d.writeGroup(ctx, g.retention, g.windows); err != nil {
			return err
		}
	}
	return nil
}

type windowGroup struct {
	retention string
	windows   []aggregate.Window
}

func (d *Drainer) byRetention(ws []aggregate.Window) []windowGroup {
	var out []windowGroup
	for _, w := range ws {
		r := d.agg.Retention(w.Entry)
		i := slices.IndexFunc(out, func(g windowGroup) bool { return g.retention == r })
		if i < 0 {
			out = append(out, windowGroup{retention: r})
			i = len(out) - 1
		}
		out[i].windows = append(out[i].windows, w)
	}
	return out
}

// writeGroup writes windows whose aggregates go to retention. A refusal
// for good (of the destination or of the points) is counted, logged and
// the windows dropped: nil. Another error is to retry.
func (d *Drainer) writeGroup(ctx context.Context, retention string, ws []aggregate.Window) error {
	dest, err := d.w.Destination(ctx, retention)
	var re *RetentionError
	if errors.As(err, &re) {
		d.aggRefused.With(re.Reason).Add(uint64(len(ws)))
		d.rl.Log(ctx, slog.LevelError, "aggregates-retention", "aggregates not written: their InfluxDB destination does not enforce the retention they need", "reason", re.Reason, "detail", re.Msg, "windows", len(ws))
		return nil
	}
	if err != nil {
		return err
	}
	err = d.w.WritePoints(ctx, dest, AggregatePoints(ws), 0)
	var rf *RefusedError
	if errors.As(err, &rf) {
		d.aggRefused.With("influx_refused").Add(uint64(len(ws)))
		d.rl.Log(ctx, slog.LevelError, "aggregates-refused", "InfluxDB refused aggregates for good; dropped", "status", rf.Status, "err", rf.Err, "windows", len(ws))
		return nil
	}
	if err == nil {
		d.agg.Counted(ws)
	}
	return err
}

// fill waits until the batch's first record is FlushInterval old, then
// takes what came meanwhile, unless the batch is already full.
func (d *Drainer) fill(ctx context.Context, b *spool.Batch) {
	if b.Records == 0 || len(b.Readings) >= d.cfg.BatchSize {
		return
	}
	if wait := time.Until(b.First.Add(d.cfg.FlushInterval)); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	if ctx.Err() == nil {
		d.src.Read(ctx, b, d.cfg.BatchSize, false)
	}
}

// write writes batch, one request per destination (the retention policy
// or bucket of the entries' retention), retrying until it is written or ctx
// ends, and sends the points InfluxDB refuses for good, and the readings
// whose destination the gateway refuses, to the dead letters.
func (d *Drainer) write(ctx context.Context, batch []validate.Accepted, st *writeState) error {
	if len(batch) == 0 {
		return nil
	}
	retention := func(r validate.Accepted) string {
		if r.Entry == nil {
			return ""
		}
		return r.Entry.Retention
	}
	first := retention(batch[0])
	same := true
	for _, r := range batch[1:] {
		if retention(r) != first {
			same = false
			break
		}
	}
	if same {
		return d.writeTo(ctx, first, batch, st)
	}
	var order []string
	groups := map[string][]validate.Accepted{}
	for _, r := range batch {
		k := retention(r)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	for _, k := range order {
		if err := d.writeTo(ctx, k, groups[k], st); err != nil {
			return err
		}
	}
	return nil
}

// writeTo writes the readings of one retention.
func (d *Drainer) writeTo(ctx context.Context, retention string, batch []validate.Accepted, st *writeState) error {
	delay := d.cfg.RetryMin
	var dest string
	for attempt := 1; ; attempt++ {
		var err error
		dest, err = d.w.Destination(ctx, retention)
		if err == nil {
			break
		}
		var re *RetentionError
		if errors.As(err, &re) {
			d.refuse(ctx, batch, re, st)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d.retries.Inc()
		d.rl.Log(ctx, slog.LevelWarn, "destination", "cannot check the InfluxDB retention policy or bucket; retrying (the readings wait in the spool)",
			"err", err, "retention", retention, "attempt", attempt, "retry_in", delay)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		delay = min(2*delay, d.cfg.RetryMax)
	}
	st.lines.encode(batch)
	return d.writeRange(ctx, dest, batch, 0, len(st.lines.ends), st)
}

// refuse counts and dead-letters readings whose destination the gateway
// refuses to write to.
func (d *Drainer) refuse(ctx context.Context, batch []validate.Accepted, re *RetentionError, st *writeState) {
	d.markNotWritten(st, batch)
	bySensor := map[string]int{}
	for _, r := range batch {
		bySensor[r.Sensor]++
	}
	for sensor, n := range bySensor {
		d.refused.With(re.Reason, sensor).Add(uint64(n))
		d.rl.Log(ctx, slog.LevelError, "retention/"+sensor, "readings refused: their InfluxDB destination does not enforce the register's retention; written to the dead letters",
			"sensor", sensor, "readings", n, "reason", re.Reason, "detail", re.Msg)
	}
	if d.dead == nil {
		return
	}
	if err := d.dead.Write(batch, 0, re.Error()); err != nil {
		d.rl.Log(ctx, slog.LevelError, "deadletter-write", "cannot write the dead letters; the readings are lost", "err", err, "readings", len(batch))
	}
}

// writeRange writes lines [lo, hi) of st.lines, the encoding of batch.
func (d *Drainer) writeRange(ctx context.Context, dest string, batch []validate.Accepted, lo, hi int, st *writeState) error {
	if lo == hi {
		return nil
	}
	text, readings := st.lines.lines(lo, hi)
	if text == "" {
		return nil // only readings line protocol cannot carry
	}
	delay := d.cfg.RetryMin
	for attempt := 1; ; attempt++ {
		err := d.w.WriteLines(ctx, dest, text, hi-lo, readings)
		if err == nil {
			if attempt > 1 {
				d.log.Info("InfluxDB write succeeded after failures", "attempts", attempt, "points", hi-lo)
			}
			return nil
		}
		var re *RefusedError
		if errors.As(err, &re) {
			if hi-lo > 1 {
				mid := (lo + hi) / 2
				if err := d.writeRange(ctx, dest, batch, lo, mid, st); err != nil {
					return err
				}
				return d.writeRange(ctx, dest, batch, mid, hi, st)
			}
			d.deadLetter(ctx, batch, st.lines.owner, lo, re, st)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d.retries.Inc()
		wait := delay
		var he *influxhttp.Error
		if errors.As(err, &he) && he.RetryAfter > 0 {
			wait = min(max(wait, time.Duration(he.RetryAfter)*time.Second), maxRetryAfter)
		}
		d.rl.Log(ctx, slog.LevelWarn, "write", "InfluxDB write failed; retrying (the readings wait in the spool)",
			"err", err, "points", hi-lo, "attempt", attempt, "retry_in", wait)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		delay = min(2*delay, d.cfg.RetryMax)
	}
}

// deadLetter sends the readings of point p to the dead letters.
func (d *Drainer) deadLetter(ctx context.Context, batch []validate.Accepted, owner []int, p int, re *RefusedError, st *writeState) {
	var rs []validate.Accepted
	for i, o := range owner {
		if o == p {
			rs = append(rs, batch[i])
		}
	}
	d.markNotWritten(st, rs)
	reason := re.Err.Error()
	d.rl.Log(ctx, slog.LevelError, "deadletter/"+rs[0].Sensor, "InfluxDB refused readings for good; written to the dead letters",
		"sensor", rs[0].Sensor, "readings", len(rs), "status", re.Status, "reason", reason)
	if d.dead == nil {
		return
	}
	if err := d.dead.Write(rs, re.Status, reason); err != nil {
		d.rl.Log(ctx, slog.LevelError, "deadletter-write", "cannot write the dead letters; the readings are lost", "err", err, "readings", len(rs))
	}
}
