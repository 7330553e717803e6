package simulate

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/civisens/civisens/firmware-bridge/senml"
	"github.com/civisens/civisens/registry/registryapi"
)

// recorder keeps the time of every pack, by sensor, in order.
type recorder struct {
	mu    sync.Mutex
	times []time.Time
	by    map[string][]time.Time
	stop  int // cancel after that many packs, when > 0
	fail  bool
	cncl  context.CancelFunc
}

func (r *recorder) Publish(_ context.Context, sensor string, p senml.Pack) error {
	if r.fail {
		return errors.New("broker away")
	}
	rs, err := p.Resolve(sensor, time.Now())
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.by == nil {
		r.by = map[string][]time.Time{}
	}
	r.times = append(r.times, rs[0].Time)
	r.by[sensor] = append(r.by[sensor], rs[0].Time)
	if r.stop > 0 && len(r.times) == r.stop {
		r.cncl()
	}
	return nil
}

func TestBackfill(t *testing.T) {
	now := time.Date(2026, 3, 10, 14, 7, 31, 0, time.UTC)
	town := NewTown(1, paris(t))
	sensors := append([]registryapi.Sensor(nil), testSensors...)
	slow := sensorByID(t, "energy-ecole-kw-02")
	slow.ID = "energy-slow-03"
	slow.Quantities = []registryapi.Quantity{{Name: "power", Unit: "kW", Min: f(0), Max: f(40), PeriodSeconds: 900}}
	retired := sensorByID(t, "air-narrow-02")
	retired.ID, retired.Status = "air-retired-04", registryapi.StatusRetired
	sensors = append(sensors, slow, retired)

	// Live, a sensor publishes every min(its period_s, Period).
	r := &Runner{Town: town, Period: 15 * time.Minute, BackfillSpan: 2 * 24 * time.Hour, Now: func() time.Time { return now }}
	pub := &recorder{}
	st, err := r.Backfill(context.Background(), sensors, pub)
	if err != nil {
		t.Fatal(err)
	}
	// 2 days at 5 min: 576 packs per sensor; the 15-minute sensor 192.
	wantEach := map[string]int{"energy-slow-03": 192}
	want := 192
	for _, s := range testSensors {
		wantEach[s.ID] = 576
		want += 576
	}
	if st.Sent != want || len(pub.times) != want || st.Failed != 0 || st.Skipped != 0 {
		t.Fatalf("stats %+v, %d packs; want %d sent", st, len(pub.times), want)
	}
	for id, n := range wantEach {
		if got := len(pub.by[id]); got != n {
			t.Errorf("%s: %d packs, want %d", id, got, n)
		}
	}
	if len(pub.by["air-retired-04"]) != 0 {
		t.Error("a retired sensor was backfilled")
	}
	for i, at := range pub.times {
		if i > 0 && at.Before(pub.times[i-1]) {
			t.Fatalf("pack %d at %v after one at %v: want oldest first", i, at, pub.times[i-1])
		}
		if at.Before(now.Add(-2*24*time.Hour)) || !at.Before(now) {
			t.Fatalf("pack at %v, outside the last two days before %v", at, now)
		}
	}
	if first := pub.by["energy-slow-03"][0]; first.Unix()%900 != 0 {
		t.Errorf("first pack of the slow sensor at %v, want a multiple of its period", first)
	}
}

func TestBackfillWithinMaxPast(t *testing.T) {
	now := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
	s := sensorByID(t, "parking-gare-01")
	r := &Runner{Town: NewTown(1, paris(t)), BackfillSpan: 30 * 24 * time.Hour, MaxPast: 3 * 24 * time.Hour,
		BackfillStep: time.Hour, Now: func() time.Time { return now }}
	pub := &recorder{}
	st, err := r.Backfill(context.Background(), []registryapi.Sensor{s}, pub)
	if err != nil {
		t.Fatal(err)
	}
	limit := now.Add(-3 * 24 * time.Hour)
	if len(pub.times) != 71 || st.Sent != 71 { // 14h05 three days ago is the limit: 15h then to 13h today
		t.Errorf("%d packs, want 71", len(pub.times))
	}
	for _, at := range pub.times {
		if !at.After(limit) {
			t.Fatalf("pack at %v, older than the limit %v", at, limit)
		}
	}
	// The default limit is the gateway's: 7 days.
	r.MaxPast, r.BackfillSpan = 0, 8*24*time.Hour
	pub = &recorder{}
	if _, err := r.Backfill(context.Background(), []registryapi.Sensor{s}, pub); err != nil {
		t.Fatal(err)
	}
	if got := pub.times[0]; got.Before(now.Add(-DefaultMaxPast)) || len(pub.times) != 7*24-1 {
		t.Errorf("%d packs from %v, want 7 days less the margin", len(pub.times), got)
	}
}

func TestBackfillCatchesUp(t *testing.T) {
	// Time passes while it publishes: it goes on until it has caught up.
	clock := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	r := &Runner{Town: NewTown(1, nil), BackfillSpan: time.Hour, Now: func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(30 * time.Second) // every look at the clock
		return clock
	}}
	pub := &recorder{}
	st, err := r.Backfill(context.Background(), []registryapi.Sensor{sensorByID(t, "parking-gare-01")}, pub)
	if err != nil {
		t.Fatal(err)
	}
	if last := pub.times[len(pub.times)-1]; st.To.Sub(last) > DefaultBackfillStep {
		t.Errorf("last pack at %v, %v before the end %v", last, st.To.Sub(last), st.To)
	}
	if st.To.Sub(st.From) <= time.Hour {
		t.Errorf("backfilled %v to %v: did not catch up", st.From, st.To)
	}
}

func TestBackfillCancelAndFailures(t *testing.T) {
	now := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
	r := &Runner{Town: NewTown(1, nil), BackfillSpan: 24 * time.Hour, Now: func() time.Time { return now }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pub := &recorder{stop: 10, cncl: cancel}
	if _, err := r.Backfill(ctx, testSensors, pub); !errors.Is(err, context.Canceled) || len(pub.times) != 10 {
		t.Errorf("err %v after %d packs, want canceled after 10", err, len(pub.times))
	}
	st, err := r.Backfill(context.Background(), testSensors, &recorder{fail: true})
	if !errors.Is(err, ErrBackfillAborted) || st.Failed != backfillGiveUp {
		t.Errorf("err %v, %d failures; want aborted after %d", err, st.Failed, backfillGiveUp)
	}
	// No span, no backfill.
	r.BackfillSpan = 0
	if st, err := r.Backfill(context.Background(), testSensors, &recorder{fail: true}); err != nil || st.Sent+st.Failed != 0 {
		t.Errorf("%+v, %v", st, err)
	}
}

func TestParseSpan(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"0": 0, "90m": 90 * time.Minute, "36h": 36 * time.Hour, "2d": 48 * time.Hour, "1d12h": 36 * time.Hour, "7d": 7 * 24 * time.Hour,
	} {
		if got, err := ParseSpan(in); err != nil || got != want {
			t.Errorf("ParseSpan(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "-1h", "2days", "1d-5h", "x"} {
		if got, err := ParseSpan(in); err == nil {
			t.Errorf("ParseSpan(%q) = %v, want an error", in, got)
		}
	}
}
