package simulate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/civisens/civisens/firmware-bridge/senml"
	"github.com/civisens/civisens/registry/registryapi"
)

// Source returns the sensors of the register, as the registry publishes
// them (GET /api/v1/sensors) or as a file holds them.
type Source interface {
	Sensors(ctx context.Context) ([]registryapi.Sensor, error)
}

// Publisher sends the pack of a sensor on its topic, and returns once the
// broker has it.
type Publisher interface {
	Publish(ctx context.Context, sensor string, p senml.Pack) error
}

// Runner publishes a town: every sensor of the register that is not
// retired, once at start and then every period.
type Runner struct {
	Town *Town
	// Period is the longest interval between two packs of a sensor; a
	// sensor whose quantities declare a shorter period_s publishes at that
	// period. 0 means 10s.
	Period time.Duration
	// Refresh is how often the sensors are read again, so that newly
	// published sensors start and retired ones stop. 0 means 60s.
	Refresh time.Duration
	// RetryMin and RetryMax bound the backoff between attempts to read the
	// sensors the first time. 0 means 500ms and 10s.
	RetryMin, RetryMax time.Duration
	// BackfillSpan is how far back the runner publishes the town's history
	// at start, before going live (see [Runner.Backfill]). 0 means none.
	BackfillSpan time.Duration
	// BackfillStep is the interval between two backfilled packs of a
	// sensor; a sensor whose period is longer keeps its period. 0 means
	// 5m.
	BackfillStep time.Duration
	// MaxPast is how old a reading the consumer accepts (the gateway's
	// -max-past): backfilled readings are kept 5 minutes younger. 0 means
	// 7 days.
	MaxPast time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives the runner's events; nil means none.
	Log *slog.Logger
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Run publishes until ctx is done, then returns nil. It waits for the
// first list of sensors as long as it takes, retrying with a capped
// backoff; later failures to refresh the list keep the last one.
func (r *Runner) Run(ctx context.Context, src Source, pub Publisher) error {
	if r.Town == nil {
		return errors.New("simulate: Runner without a Town")
	}
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sensors, err := r.firstList(ctx, src, log)
	if err != nil {
		return nil // ctx is done
	}
	sched := &schedule{period: orDefault(r.Period, 10*time.Second), entries: map[string]*entry{}, skipped: map[string]string{}}
	sched.update(sensors, r.now(), log)
	if r.BackfillSpan > 0 {
		list := make([]registryapi.Sensor, 0, len(sched.entries))
		for _, e := range sched.entries {
			list = append(list, e.sensor)
		}
		if _, err := r.Backfill(ctx, list, pub); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			log.Warn("going live without the rest of the history", "err", err)
		}
	}

	refresh := time.NewTicker(orDefault(r.Refresh, 60*time.Second))
	defer refresh.Stop()
	timer := time.NewTimer(0)
	defer timer.Stop()
	var sent, failed int
	for {
		for _, e := range sched.due(r.now()) {
			at := r.now()
			if err := pub.Publish(ctx, e.sensor.ID, r.Town.Pack(e.sensor, at)); err != nil {
				failed++ // the publisher logs, rate-limited
			} else {
				sent++
				log.Debug("published", "sensor", e.sensor.ID, "time", at)
			}
			e.next = e.next.Add(e.period)
			if now := r.now(); !e.next.After(now) { // running late: skip, do not burst
				e.next = now.Add(e.period)
			}
			if ctx.Err() != nil {
				return nil
			}
		}
		now := r.now()
		timer.Reset(max(sched.next(now).Sub(now), 0))
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-refresh.C:
			log.Info("packs published", "sensors", len(sched.entries), "sent", sent, "failed", failed)
			sent, failed = 0, 0
			list, err := src.Sensors(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				log.Warn("cannot refresh the sensors; keeping the last list", "err", err)
				continue
			}
			sched.update(list, r.now(), log)
		}
	}
}

// firstList reads the sensors until it succeeds or ctx is done.
func (r *Runner) firstList(ctx context.Context, src Source, log *slog.Logger) ([]registryapi.Sensor, error) {
	lo, hi := orDefault(r.RetryMin, 500*time.Millisecond), orDefault(r.RetryMax, 10*time.Second)
	delay := lo
	for attempt := 1; ; attempt++ {
		list, err := src.Sensors(ctx)
		if err == nil {
			return list, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// ±20 % of jitter, so that bridges started together spread out.
		d := time.Duration(float64(delay) * (0.8 + 0.4*rand.Float64()))
		log.Warn("cannot read the sensors yet; retrying", "attempt", attempt, "retry_in", d.Round(time.Millisecond), "err", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(d):
		}
		delay = min(2*delay, hi)
	}
}

// schedule is when each simulated sensor publishes next.
type schedule struct {
	period  time.Duration
	entries map[string]*entry
	skipped map[string]string // sensor id → why, as last logged
}

type entry struct {
	sensor registryapi.Sensor
	period time.Duration
	next   time.Time
}

// update replaces the sensors of the schedule: new sensors are due now,
// known ones keep their rhythm, missing ones stop.
func (s *schedule) update(sensors []registryapi.Sensor, now time.Time, log *slog.Logger) {
	seen := make(map[string]bool, len(sensors))
	skipped := make(map[string]string)
	for _, raw := range sensors {
		// Say why a sensor or a quantity is left out once, not every refresh.
		sn, dropped, err := Simulable(raw)
		if err != nil {
			if skipped[raw.ID] = err.Error(); s.skipped[raw.ID] != err.Error() {
				log.Info("not simulating sensor", "sensor", raw.ID, "reason", err)
			}
			continue
		}
		for _, d := range dropped {
			key := raw.ID + "\x00" + d.Error()
			if _, ok := s.skipped[key]; !ok {
				log.Warn("not simulating a quantity", "sensor", raw.ID, "reason", d)
			}
			skipped[key] = d.Error()
		}
		if seen[sn.ID] {
			continue // the register lists each sensor once; keep the first
		}
		seen[sn.ID] = true
		p := PeriodOf(sn, s.period)
		if e, ok := s.entries[sn.ID]; ok {
			if p < e.period && e.next.Sub(now) > p {
				e.next = now.Add(p)
			}
			e.sensor, e.period = sn, p
			continue
		}
		s.entries[sn.ID] = &entry{sensor: sn, period: p, next: now}
		log.Info("simulating sensor", "sensor", sn.ID, "category", sn.Category, "quantities", len(sn.Quantities), "period", p)
	}
	for id := range s.entries {
		if !seen[id] {
			delete(s.entries, id)
			log.Info("sensor no longer published; stopping it", "sensor", id)
		}
	}
	s.skipped = skipped
	if len(s.entries) == 0 {
		log.Warn("no sensor to simulate; waiting for the register to publish some")
	}
}

// due returns the sensors due at now, by id.
func (s *schedule) due(now time.Time) []*entry {
	var out []*entry
	for _, e := range s.entries {
		if !e.next.After(now) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b *entry) int { return cmp.Compare(a.sensor.ID, b.sensor.ID) })
	return out
}

// next returns when the next sensor is due; an hour from now without any.
func (s *schedule) next(now time.Time) time.Time {
	next := now.Add(time.Hour)
	for _, e := range s.entries {
		if e.next.Before(next) {
			next = e.next
		}
	}
	return next
}

// PeriodOf returns how often s publishes: the shortest period_s of its
// quantities, and at most longest.
func PeriodOf(s registryapi.Sensor, longest time.Duration) time.Duration {
	p := longest
	for _, q := range s.Quantities {
		if q.PeriodSeconds > 0 {
			p = min(p, time.Duration(q.PeriodSeconds)*time.Second)
		}
	}
	return p
}

// Reasons not to simulate a sensor or a quantity.
var (
	ErrNotPublished = errors.New("not an active entry of the register")
	ErrBadEntry     = errors.New("entry outside the civisens profile")
)

// Simulable returns the part of a register entry that the town simulates:
// an error (wrapping ErrNotPublished or ErrBadEntry) for a sensor that is
// retired, a draft, or whose id is not a sensor id; otherwise the sensor
// without the quantities that could never pass the gateway (a name that is
// not a SenML quantity name, a minimum above the maximum), and why each was
// dropped.
func Simulable(s registryapi.Sensor) (registryapi.Sensor, []error, error) {
	switch s.Status {
	case registryapi.StatusRetired, registryapi.StatusDraft:
		return s, nil, fmt.Errorf("%w: status %s", ErrNotPublished, s.Status)
	}
	if !senml.ValidSensorID(s.ID) {
		return s, nil, fmt.Errorf("%w: id %q is not a sensor id", ErrBadEntry, s.ID)
	}
	var dropped []error
	qs := make([]registryapi.Quantity, 0, len(s.Quantities))
	for _, q := range s.Quantities {
		switch {
		case !senml.ValidQuantity(q.Name):
			dropped = append(dropped, fmt.Errorf("%w: quantity %q is not a SenML quantity name", ErrBadEntry, q.Name))
		case q.Min != nil && q.Max != nil && *q.Min > *q.Max:
			dropped = append(dropped, fmt.Errorf("%w: quantity %q has min %g above max %g", ErrBadEntry, q.Name, *q.Min, *q.Max))
		default:
			qs = append(qs, q)
		}
	}
	if len(qs) == 0 {
		return s, dropped, fmt.Errorf("%w: no quantity to simulate", ErrBadEntry)
	}
	s.Quantities = qs
	return s, dropped, nil
}
