package ingest

import (
	"context"
	"log/slog"
	"time"

	"github.com/civisens/civisens/gateway/internal/validate"
)

// batch is what the pipeline holds between two appends: the accepted
// readings and, in arrival order, every message not yet acknowledged; once
// appended, what tells when the readings are durable.
type batch struct {
	readings []validate.Accepted
	msgs     []Message
	durable  Durable   // nil until appended, and for a batch without readings
	started  time.Time // when its first append began
}

// reset empties b for reuse, dropping its references to entries and
// messages.
func (b *batch) reset() {
	clear(b.readings)
	clear(b.msgs)
	b.readings, b.msgs, b.durable = b.readings[:0], b.msgs[:0], nil
}

// pipeline takes messages from the queue in arrival order, batches their
// readings and appends each batch to the committer; the acknowledger it
// starts waits for each appended batch to be durable and acknowledges its
// messages, in order, while the pipeline goes on with the next batches. At
// most MaxInFlight batches wait for the acknowledger. It returns when ctx
// ended and what it held was appended and acknowledged (see shutdown).
func (in *Ingester) pipeline(ctx context.Context) {
	actx, acancel := context.WithCancel(context.WithoutCancel(ctx))
	defer acancel()
	ackDone := make(chan struct{})
	go func() {
		defer close(ackDone)
		in.acknowledger(actx)
	}()
	stop := func(b *batch) { in.shutdown(ctx, b, acancel, ackDone) }

	b := <-in.free
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var due <-chan time.Time // the flush timer's channel while b is not empty

	for {
		flush := false
		select {
		case m := <-in.queue:
			in.add(ctx, b, m)
			switch {
			case len(b.readings) >= in.cfg.BatchSize,
				in.cfg.FlushWhenIdle && len(b.msgs) > 0 && len(in.queue) == 0 && in.inflight.Load() == 0:
				flush = true
			case len(b.msgs) > 0 && due == nil:
				timer.Reset(in.cfg.FlushInterval)
				due = timer.C
			}
		case <-in.idle:
			// Every appended batch is acknowledged: what gathered
			// meanwhile goes now.
			flush = in.cfg.FlushWhenIdle && len(b.msgs) > 0 && len(in.queue) == 0 && in.inflight.Load() == 0
		case <-due:
			due = nil
			flush = len(b.msgs) > 0
		case <-ctx.Done():
			stop(b)
			return
		}
		if flush {
			if !in.appendBatch(ctx, b) {
				stop(b)
				return
			}
			in.handOff(b)
			if b = in.nextBatch(ctx); b == nil {
				stop(nil)
				return
			}
		}
		if len(b.msgs) == 0 && due != nil {
			timer.Stop()
			due = nil
		}
	}
}

// add processes m into b. A message without accepted readings is
// acknowledged at once when no message before it waits; otherwise it waits
// its turn in b.
func (in *Ingester) add(ctx context.Context, b *batch, m inbound) {
	before := len(b.readings)
	b.readings = in.process(ctx, m, b.readings)
	if len(b.readings) == before && len(b.msgs) == 0 && in.inflight.Load() == 0 {
		in.ack(m.msg)
		return
	}
	b.msgs = append(b.msgs, m.msg)
}

// appendBatch appends b's readings to the committer, retrying with a capped
// backoff while it fails (a full spool: nothing after b is acknowledged
// meanwhile, and the broker keeps the messages). It reports false when ctx
// ended first.
func (in *Ingester) appendBatch(ctx context.Context, b *batch) bool {
	delay := in.cfg.RetryMin
	b.started = in.cfg.Now()
	for attempt := 1; len(b.readings) > 0; attempt++ {
		d, err := in.commit.AppendAsync(b.readings)
		if err == nil {
			if attempt > 1 {
				in.log.Info("commit succeeded after failures", "attempts", attempt, "readings", len(b.readings), "messages", len(b.msgs))
			}
			b.durable = d
			return true
		}
		if !in.retry(ctx, err, b, attempt, &delay) {
			return false
		}
	}
	return true
}

// retry counts and logs a failed commit of b, then waits for the backoff.
// It reports false when ctx ended first.
func (in *Ingester) retry(ctx context.Context, err error, b *batch, attempt int, delay *time.Duration) bool {
	in.commitErrors.Inc()
	if ctx.Err() != nil {
		return false
	}
	in.rl.Log(ctx, slog.LevelWarn, "commit", "commit failed; its messages stay unacknowledged and the batch is retried",
		"err", err, "readings", len(b.readings), "messages", len(b.msgs), "attempt", attempt, "retry_in", *delay)
	t := time.NewTimer(*delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return false
	}
	*delay = min(2**delay, in.cfg.RetryMax)
	return true
}

// handOff passes an appended b to the acknowledger.
func (in *Ingester) handOff(b *batch) {
	in.inflight.Add(1)
	in.flight <- b // never blocks: there are MaxInFlight batches
}

// nextBatch returns an empty batch, waiting while MaxInFlight batches are
// in flight, or nil if ctx ends first.
func (in *Ingester) nextBatch(ctx context.Context) *batch {
	select {
	case b := <-in.free:
		return b
	default:
	}
	select {
	case b := <-in.free:
		return b
	case <-ctx.Done():
		return nil
	}
}

// acknowledger takes the appended batches in order, waits until each is
// durable and acknowledges its messages in arrival order, until the
// pipeline closes in.flight. When ctx ends first, it acknowledges nothing
// more.
func (in *Ingester) acknowledger(ctx context.Context) {
	unacked := 0
	for b := range in.flight {
		if unacked == 0 && in.settle(ctx, b) {
			for _, m := range b.msgs {
				in.ack(m)
			}
		} else {
			unacked += len(b.msgs) // what follows an unacknowledged message waits too
		}
		b.reset()
		in.free <- b
		if in.inflight.Add(-1) == 0 {
			select {
			case in.idle <- struct{}{}:
			default:
			}
		}
	}
	if unacked > 0 {
		in.log.Warn("stopping with messages unacknowledged: a broker with the gateway's session redelivers them", "messages", unacked)
	}
}

// settle waits until b's readings are durable. When the committer reports
// that they are not (a failed fsync), b is appended again, with the
// backoff, until they are. It reports false when ctx ended first.
func (in *Ingester) settle(ctx context.Context, b *batch) bool {
	delay := in.cfg.RetryMin
	for attempt := 1; len(b.readings) > 0; attempt++ {
		var err error
		if b.durable == nil {
			b.durable, err = in.commit.AppendAsync(b.readings)
		}
		if err == nil {
			if err = b.durable.Wait(ctx); err == nil {
				in.commitSeconds.ObserveDuration(in.cfg.Now().Sub(b.started))
				in.batchReadings.Observe(float64(len(b.readings)))
				if attempt > 1 {
					in.log.Info("commit succeeded after failures", "attempts", attempt, "readings", len(b.readings), "messages", len(b.msgs))
				}
				return true
			}
			b.durable = nil
		}
		if !in.retry(ctx, err, b, attempt, &delay) {
			return false
		}
	}
	return true
}

func (in *Ingester) ack(m Message) {
	m.Ack()
	in.acked.Inc()
	in.pending.Add(-1)
}

// shutdown appends what b holds and what is still queued, lets the
// acknowledger acknowledge what becomes durable, and returns, all within
// ShutdownTimeout. b may be nil (no batch was free when ctx ended).
func (in *Ingester) shutdown(ctx context.Context, b *batch, acancel context.CancelFunc, ackDone <-chan struct{}) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), in.cfg.ShutdownTimeout)
	defer cancel()
	stop := context.AfterFunc(sctx, acancel) // the acknowledger's deadline too
	defer stop()
	if b == nil {
		b = in.nextBatch(sctx)
	}
	if b != nil {
		for drained := false; !drained; {
			select {
			case m := <-in.queue:
				in.add(sctx, b, m)
			default:
				drained = true
			}
		}
		if len(b.msgs) > 0 {
			if in.appendBatch(sctx, b) {
				in.handOff(b)
			} else {
				in.log.Warn("stopping with messages unacknowledged: a broker with the gateway's session redelivers them",
					"messages", len(b.msgs), "readings", len(b.readings))
			}
		}
	}
	close(in.flight)
	<-ackDone
}
