package sink

import (
	"context"
	"errors"
	"log/slog"
	"time"

	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"
	"github.com/influxdata/influxdb-client-go/v2/api/write"

	"github.com/civisens/civisens/gateway/internal/metrics"
	"github.com/civisens/civisens/gateway/internal/ratelog"
	"github.com/civisens/civisens/gateway/internal/spool"
	"github.com/civisens/civisens/gateway/internal/validate"
)

// Source is what the drainer needs of the spool.
type Source interface {
	Read(ctx context.Context, b *spool.Batch, max int, wait bool) error
	Done(b *spool.Batch) error
}

// Defaults of [DrainConfig].
const (
	DefaultBatchSize     = 500
	DefaultFlushInterval = time.Second
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
	var b spool.Batch
	for ctx.Err() == nil {
		b.Reset()
		if readCtx.Err() == nil {
			if err := d.src.Read(readCtx, &b, d.cfg.BatchSize, true); err != nil && readCtx.Err() == nil {
				d.log.Error("spool read failed", "err", err)
				return
			}
			d.fill(readCtx, &b)
		}
		if readCtx.Err() != nil {
			// Stopping: what is there, without waiting.
			if err := d.src.Read(ctx, &b, d.cfg.BatchSize, false); err != nil {
				return
			}
			if b.Records == 0 {
				return
			}
		}
		if err := d.write(ctx, b.Readings); err != nil {
			return // ctx ended: the batch stays in the spool
		}
		if err := d.src.Done(&b); err != nil {
			d.rl.Log(ctx, slog.LevelError, "checkpoint", "spool checkpoint failed; readings may be sent again after a restart", "err", err)
		}
	}
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
func (d *Drainer) write(ctx context.Context, batch []validate.Accepted) error {
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
		return d.writeTo(ctx, first, batch)
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
		if err := d.writeTo(ctx, k, groups[k]); err != nil {
			return err
		}
	}
	return nil
}

// writeTo writes the readings of one retention.
func (d *Drainer) writeTo(ctx context.Context, retention string, batch []validate.Accepted) error {
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
			d.refuse(ctx, batch, re)
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
	pts, owner := points(batch)
	// prefix[i] is the number of readings of points before i.
	prefix := make([]int, len(pts)+1)
	for _, o := range owner {
		prefix[o+1]++
	}
	for i := range pts {
		prefix[i+1] += prefix[i]
	}
	return d.writeRange(ctx, dest, batch, pts, owner, prefix, 0, len(pts))
}

// refuse counts and dead-letters readings whose destination the gateway
// refuses to write to.
func (d *Drainer) refuse(ctx context.Context, batch []validate.Accepted, re *RetentionError) {
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

func (d *Drainer) writeRange(ctx context.Context, dest string, batch []validate.Accepted, pts []*write.Point, owner, prefix []int, lo, hi int) error {
	delay := d.cfg.RetryMin
	for attempt := 1; ; attempt++ {
		err := d.w.WritePoints(ctx, dest, pts[lo:hi], prefix[hi]-prefix[lo])
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
				if err := d.writeRange(ctx, dest, batch, pts, owner, prefix, lo, mid); err != nil {
					return err
				}
				return d.writeRange(ctx, dest, batch, pts, owner, prefix, mid, hi)
			}
			d.deadLetter(ctx, batch, owner, lo, re)
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
func (d *Drainer) deadLetter(ctx context.Context, batch []validate.Accepted, owner []int, p int, re *RefusedError) {
	var rs []validate.Accepted
	for i, o := range owner {
		if o == p {
			rs = append(rs, batch[i])
		}
	}
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
