package simulate

import (
	"cmp"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/civisens/civisens/registry/registryapi"
)

// Backfill: at start, the runner can publish the town's recent past, so
// that dashboards have history at their first run. The past is the same
// town as the present (values are a function of the instant), published
// oldest first, each pack with its own time, as fast as the publisher takes
// them, then the live loop starts.

// Defaults of the backfill.
const (
	// DefaultBackfillStep is the interval between two backfilled packs of
	// a sensor, unless its period is longer.
	DefaultBackfillStep = 5 * time.Minute
	// DefaultMaxPast is how old a reading the gateway accepts by default
	// (its -max-past).
	DefaultMaxPast = 7 * 24 * time.Hour
	// backfillMargin keeps backfilled readings this much younger than
	// MaxPast: for the time they take to reach the gateway, and the clocks'
	// disagreement.
	backfillMargin = 5 * time.Minute
	// backfillGiveUp is how many consecutive failures to publish end a
	// backfill: the broker is away, and history is best effort.
	backfillGiveUp = 50
)

// ErrBackfillAborted is returned by [Runner.Backfill] when the publisher
// failed too many times in a row.
var ErrBackfillAborted = errors.New("backfill aborted: the publisher keeps failing")

// BackfillStats is what a backfill did.
type BackfillStats struct {
	From, To time.Time // the readings' times: From ≤ time < To
	Sent     int       // packs published
	Failed   int       // packs the publisher refused
	Skipped  int       // packs not sent: they had become older than MaxPast allows
}

// Backfill publishes the readings of the sensors over the last
// r.BackfillSpan before now (at most r.MaxPast, less a margin), oldest first:
// a pack per sensor every max(its period, r.BackfillStep), at instants
// that are multiples of that step since the Unix epoch. Packs are made one
// at a time (memory does not grow with the span). When it has caught up
// with the time it started, it goes on with what has passed since, so that
// the live loop follows without a gap. Sensors that are not simulable are
// left out silently.
//
// It returns ctx.Err() when ctx ends, and ErrBackfillAborted after
// repeated failures of the publisher; the stats count what was done.
func (r *Runner) Backfill(ctx context.Context, sensors []registryapi.Sensor, pub Publisher) (BackfillStats, error) {
	if r.Town == nil {
		return BackfillStats{}, errors.New("simulate: Runner without a Town")
	}
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := r.now()
	maxPast := orDefault(r.MaxPast, DefaultMaxPast)
	oldest := now.Add(-maxPast + backfillMargin)
	st := BackfillStats{From: now.Add(-r.BackfillSpan), To: now}
	if r.BackfillSpan <= 0 {
		st.From = now
		return st, nil
	}
	if st.From.Before(oldest) {
		log.Warn("backfill limited to what the gateway accepts", "backfill", r.BackfillSpan, "max_past", maxPast)
		st.From = oldest
	}
	if !st.From.Before(st.To) {
		st.From = st.To
		return st, nil
	}

	var q backfillQueue
	seen := map[string]bool{}
	estimate := 0
	for _, raw := range sensors {
		s, _, err := Simulable(raw)
		if err != nil || seen[s.ID] {
			continue
		}
		seen[s.ID] = true
		step := max(PeriodOf(s, orDefault(r.Period, 10*time.Second)), orDefault(r.BackfillStep, DefaultBackfillStep))
		first := alignUp(st.From, step)
		if first.Before(st.To) {
			q = append(q, &backfillEntry{sensor: s, step: step, next: first})
			estimate += int(st.To.Sub(first)/step) + 1
		}
	}
	heap.Init(&q)
	log.Info("backfilling", "from", st.From, "to", st.To, "sensors", len(q), "packs", estimate)

	started, decile, failing := now, 0, 0
	for q.Len() > 0 {
		e := q[0]
		if !e.next.Before(st.To) {
			// Caught up with the time we started: carry on with what has
			// passed since, then hand over to the live loop.
			if now := r.now(); e.next.Before(now) {
				st.To = now
				continue
			}
			break
		}
		at := e.next
		e.next = e.next.Add(e.step)
		heap.Fix(&q, 0)
		if at.Before(r.now().Add(-maxPast + backfillMargin)) {
			st.Skipped++
			continue
		}
		if err := pub.Publish(ctx, e.sensor.ID, r.Town.Pack(e.sensor, at)); err != nil {
			if ctx.Err() != nil {
				return st, ctx.Err()
			}
			st.Failed++
			if failing++; failing >= backfillGiveUp {
				log.Warn("backfill aborted: the publisher keeps failing", "sent", st.Sent, "failed", st.Failed, "err", err)
				return st, fmt.Errorf("%w (%d in a row; last: %w)", ErrBackfillAborted, failing, err)
			}
			continue
		}
		failing = 0
		st.Sent++
		if ctx.Err() != nil {
			return st, ctx.Err()
		}
		if d := 10 * (st.Sent + st.Failed + st.Skipped) / max(estimate, 1); d > decile && d < 10 {
			decile = d
			log.Info("backfill progress", "percent", 10*d, "sent", st.Sent, "failed", st.Failed, "through", at)
		}
	}
	log.Info("backfill done", "sent", st.Sent, "failed", st.Failed, "skipped", st.Skipped,
		"from", st.From, "to", st.To, "took", r.now().Sub(started).Round(time.Millisecond))
	return st, nil
}

// alignUp returns the first multiple of step since the Unix epoch at or
// after t.
func alignUp(t time.Time, step time.Duration) time.Time {
	ns := t.UnixNano()
	s := int64(step)
	r := ns - floorDiv(ns, s)*s
	if r == 0 {
		return t
	}
	return time.Unix(0, ns-r+s)
}

// backfillQueue is the sensors by the time of their next pack, then by id:
// a heap, so that packs come out oldest first.
type backfillQueue []*backfillEntry

type backfillEntry struct {
	sensor registryapi.Sensor
	step   time.Duration
	next   time.Time
}

func (q backfillQueue) Len() int { return len(q) }
func (q backfillQueue) Less(i, j int) bool {
	if c := q[i].next.Compare(q[j].next); c != 0 {
		return c < 0
	}
	return cmp.Less(q[i].sensor.ID, q[j].sensor.ID)
}
func (q backfillQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *backfillQueue) Push(x any)   { *q = append(*q, x.(*backfillEntry)) }
func (q *backfillQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// ParseSpan reads a span of time for a flag: a Go duration (90m, 36h) or
// a number of days, alone or before one ("2d", "1d12h"). It refuses
// negative spans.
func ParseSpan(s string) (time.Duration, error) {
	rest := strings.TrimSpace(s)
	var d time.Duration
	if i := strings.IndexByte(rest, 'd'); i >= 0 {
		n, err := strconv.ParseUint(rest[:i], 10, 16)
		if err != nil {
			return 0, fmt.Errorf("span %q: want a duration such as 36h, 2d or 1d12h", s)
		}
		d, rest = time.Duration(n)*24*time.Hour, rest[i+1:]
	}
	if rest != "" {
		more, err := time.ParseDuration(rest)
		if err != nil || (more < 0) {
			return 0, fmt.Errorf("span %q: want a duration such as 36h, 2d or 1d12h", s)
		}
		d += more
	}
	if d < 0 || (d == 0 && strings.TrimSpace(s) == "") {
		return 0, fmt.Errorf("span %q: want a duration such as 36h, 2d or 1d12h", s)
	}
	return d, nil
}
