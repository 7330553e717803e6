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
	WritePoints(ctx context.Context, pts []*write.Point, readings int) error
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
}

// NewDrainer returns a drainer of src into w, refused points going to dead.
func NewDrainer(cfg DrainConfig, src Source, w pointsWriter, dead *DeadLetters, log *slog.Logger, reg *metrics.Registry) *Drainer {
	return &Drainer{
		cfg: cfg.withDefaults(), src: src, w: w, dead: dead, log: log,
		rl:      ratelog.New(log, ratelog.DefaultInterval, time.Now),
		retries: reg.Counter("civisens_gateway_influx_retries_total", "Writes tried again after a failure that may pass (network, 5xx, 429…)."),
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

// write writes batch, retrying until it is written or ctx ends, and sends
// the points InfluxDB refuses for good to the dead letters.
func (d *Drainer) write(ctx context.Context, batch []validate.Accepted) error {
	if len(batch) == 0 {
		return nil
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
	return d.writeRange(ctx, batch, pts, owner, prefix, 0, len(pts))
}

func (d *Drainer) writeRange(ctx context.Context, batch []validate.Accepted, pts []*write.Point, owner, prefix []int, lo, hi int) error {
	delay := d.cfg.RetryMin
	for attempt := 1; ; attempt++ {
		err := d.w.WritePoints(ctx, pts[lo:hi], prefix[hi]-prefix[lo])
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
				if err := d.writeRange(ctx, batch, pts, owner, prefix, lo, mid); err != nil {
					return err
				}
				return d.writeRange(ctx, batch, pts, owner, prefix, mid, hi)
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
