package ingest

import (
	"context"
	"log/slog"
	"time"

	"github.com/civisens/civisens/gateway/internal/validate"
)

// batch is what the pipeline holds between two commits: the accepted
// readings and, in arrival order, every message not yet acknowledged.
type batch struct {
	readings []validate.Accepted
	msgs     []Message
}

// pipeline takes messages from the queue in arrival order, batches their
// readings, commits and acknowledges, until ctx ends.
func (in *Ingester) pipeline(ctx context.Context) {
	var b batch
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var due <-chan time.Time // the flush timer's channel while b is not empty

	for {
		select {
		case m := <-in.queue:
			in.add(ctx, &b, m)
			switch {
			case len(b.readings) >= in.cfg.BatchSize,
				in.cfg.FlushWhenIdle && len(b.readings) > 0 && len(in.queue) == 0:
				timer.Stop()
				due = nil
				in.flush(ctx, &b)
			case len(b.msgs) > 0 && due == nil:
				timer.Reset(in.cfg.FlushInterval)
				due = timer.C
			}
		case <-due:
			due = nil
			in.flush(ctx, &b)
		case <-ctx.Done():
			in.shutdown(ctx, &b)
			return
		}
		if len(b.msgs) == 0 && due != nil {
			timer.Stop()
			due = nil
		}
	}
}

// add processes m into b. A message without accepted readings is
// acknowledged at once when nothing before it waits; otherwise it waits its
// turn in b.
func (in *Ingester) add(ctx context.Context, b *batch, m inbound) {
	acc := in.process(ctx, m)
	if len(acc) == 0 && len(b.msgs) == 0 {
		in.ack(m.msg)
		return
	}
	b.readings = append(b.readings, acc...)
	b.msgs = append(b.msgs, m.msg)
}

// flush commits b, retrying with a capped backoff until it succeeds or ctx
// ends, then acknowledges b's messages in order. It reports whether b was
// committed.
func (in *Ingester) flush(ctx context.Context, b *batch) bool {
	delay := in.cfg.RetryMin
	start := in.cfg.Now()
	for attempt := 1; len(b.readings) > 0; attempt++ {
		err := in.commit.Commit(ctx, b.readings)
		if err == nil {
			in.commitSeconds.ObserveDuration(in.cfg.Now().Sub(start))
			in.batchReadings.Observe(float64(len(b.readings)))
			if attempt > 1 {
				in.log.Info("commit succeeded after failures", "attempts", attempt, "readings", len(b.readings), "messages", len(b.msgs))
			}
			break
		}
		in.commitErrors.Inc()
		if ctx.Err() != nil {
			return false
		}
		in.rl.Log(ctx, slog.LevelWarn, "commit", "commit failed; its messages stay unacknowledged and the batch is retried",
			"err", err, "readings", len(b.readings), "messages", len(b.msgs), "attempt", attempt, "retry_in", delay)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return false
		}
		delay = min(2*delay, in.cfg.RetryMax)
	}
	for _, m := range b.msgs {
		in.ack(m)
	}
	clear(b.readings) // drop references to entries
	b.readings, b.msgs = b.readings[:0], b.msgs[:0]
	return true
}

func (in *Ingester) ack(m Message) {
	m.Ack()
	in.acked.Inc()
	in.pending.Add(-1)
}

// shutdown commits what b holds and what is still queued, for at most
// ShutdownTimeout.
func (in *Ingester) shutdown(ctx context.Context, b *batch) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), in.cfg.ShutdownTimeout)
	defer cancel()
	for {
		select {
		case m := <-in.queue:
			in.add(sctx, b, m)
			continue
		default:
		}
		break
	}
	if len(b.msgs) == 0 {
		return
	}
	if !in.flush(sctx, b) {
		in.log.Warn("stopping with messages unacknowledged: a broker with the gateway's session redelivers them",
			"messages", len(b.msgs), "readings", len(b.readings))
	}
}
