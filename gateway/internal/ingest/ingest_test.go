package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/civisens/civisens/gateway/internal/metrics"
	"github.com/civisens/civisens/gateway/internal/validate"
	"github.com/civisens/civisens/internal/testinfra"
	"github.com/civisens/civisens/registry/registryapi"
)

func f(v float64) *float64 { return &v }

var now = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

type allowList map[string]registryapi.GatewaySensor

func (a allowList) Entry(id string) *registryapi.GatewaySensor {
	if e, ok := a[id]; ok {
		return &e
	}
	return nil
}

var register = allowList{
	"air-hdv-01": {ID: "air-hdv-01", Category: "air", Site: "hotel-de-ville", Status: "active",
		Quantities: []registryapi.Quantity{
			{Name: "pm10", Unit: "ug/m3", Min: f(0), Max: f(1000)},
			{Name: "temperature", Unit: "Cel", Min: f(-40), Max: f(60)},
		}},
}

// acks records acknowledgements in order.
type acks struct {
	mu  sync.Mutex
	ids []int
}

func (a *acks) got() []int { a.mu.Lock(); defer a.mu.Unlock(); return slices.Clone(a.ids) }

type fakeMsg struct {
	id      int
	topic   string
	payload string
	acks    *acks
}

func (m *fakeMsg) Topic() string   { return m.topic }
func (m *fakeMsg) Payload() []byte { return []byte(m.payload) }
func (m *fakeMsg) Ack() {
	m.acks.mu.Lock()
	defer m.acks.mu.Unlock()
	m.acks.ids = append(m.acks.ids, m.id)
}

// committer records committed batches and fails while failing is set; an
// appended batch is durable at once.
type committer struct {
	mu      sync.Mutex
	failing bool
	calls   int
	batches [][]validate.Accepted
}

func (c *committer) AppendAsync(b []validate.Accepted) (Durable, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.failing {
		return nil, errors.New("spool: full")
	}
	c.batches = append(c.batches, slices.Clone(b))
	return durableNow{}, nil
}

type durableNow struct{}

func (durableNow) Wait(context.Context) error { return nil }

func (c *committer) set(failing bool) { c.mu.Lock(); defer c.mu.Unlock(); c.failing = failing }
func (c *committer) callCount() int   { c.mu.Lock(); defer c.mu.Unlock(); return c.calls }
func (c *committer) committed() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, b := range c.batches {
		for _, r := range b {
			out = append(out, fmt.Sprintf("%s %s=%g@%d", r.Sensor, r.Quantity, r.Value, r.Time.Unix()))
		}
	}
	return out
}

func newIngester(t *testing.T, cfg Config, c Committer) (*Ingester, *metrics.Registry) {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return now }
	}
	reg := metrics.NewRegistry()
	return New(cfg, register, c, slog.New(slog.DiscardHandler), reg), reg
}

// start runs the pipeline as Run does, and returns a stop function that
// waits for it to end.
func start(in *Ingester) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { in.pipeline(ctx); close(done) }()
	return func() {
		cancel()
		close(in.stopping)
		<-done
	}
}

func exposition(t *testing.T, reg *metrics.Registry) string {
	t.Helper()
	var b strings.Builder
	reg.WriteTo(&b)
	return b.String()
}

const bt = 1740830280 // now - 120 s

func TestProcess(t *testing.T) {
	for _, tc := range []struct {
		name, topic, payload string
		want                 []string // accepted readings
		metrics              []string // lines expected in the exposition
	}{
		{
			name:    "pack with base name",
			topic:   "sensors/air-hdv-01/senml",
			payload: `[{"bn":"air-hdv-01:","bt":1740830280,"n":"pm10","u":"ug/m3","v":12.5},{"n":"temperature","u":"Cel","v":21.5,"t":1}]`,
			want:    []string{"air-hdv-01 pm10=12.5@1740830280", "air-hdv-01 temperature=21.5@1740830281"},
			metrics: []string{"civisens_gateway_readings_accepted_total 2"},
		},
		{
			name:    "relative time is against arrival",
			topic:   "sensors/air-hdv-01/senml",
			payload: `[{"n":"pm10","u":"ug/m3","v":3,"t":-60}]`,
			want:    []string{fmt.Sprintf("air-hdv-01 pm10=3@%d", now.Unix()-60)},
		},
		{
			name:    "register checks are per record",
			topic:   "sensors/air-hdv-01/senml",
			payload: `[{"bt":1740830280,"n":"pm10","u":"ug/m3","v":5000},{"n":"temperature","u":"Cel","v":20},{"n":"no2","u":"ug/m3","v":1},{"n":"temperature","u":"W","v":293}]`,
			want:    []string{"air-hdv-01 temperature=20@1740830280"},
			metrics: []string{
				`civisens_gateway_readings_rejected_total{reason="out_of_range",sensor="air-hdv-01"} 1`,
				`civisens_gateway_readings_rejected_total{reason="undeclared_quantity",sensor="air-hdv-01"} 1`,
				`civisens_gateway_readings_rejected_total{reason="unit_mismatch",sensor="air-hdv-01"} 1`,
			},
		},
		{
			name:    "too old",
			topic:   "sensors/air-hdv-01/senml",
			payload: `[{"bt":1000000000,"n":"pm10","u":"ug/m3","v":5}]`,
			metrics: []string{`civisens_gateway_readings_rejected_total{reason="too_old",sensor="air-hdv-01"} 1`},
		},
		{
			name:    "unknown sensor: no sensor label",
			topic:   "sensors/air-inconnu-9/senml",
			payload: `[{"n":"pm10","u":"ug/m3","v":1},{"n":"pm25","u":"ug/m3","v":1}]`,
			metrics: []string{`civisens_gateway_readings_rejected_total{reason="unknown_sensor"} 2`},
		},
		{
			name:    "garbage",
			topic:   "sensors/air-hdv-01/senml",
			payload: `temperature=21`,
			metrics: []string{`civisens_gateway_payloads_rejected_total{reason="syntax",sensor="air-hdv-01"} 1`},
		},
		{
			name:    "garbage from an unknown sensor",
			topic:   "sensors/air-inconnu-9/senml",
			payload: `{`,
			metrics: []string{`civisens_gateway_payloads_rejected_total{reason="syntax"} 1`},
		},
		{
			name:    "record names another sensor: the pack is refused whole",
			topic:   "sensors/air-hdv-01/senml",
			payload: `[{"n":"pm10","u":"ug/m3","v":1},{"bn":"air-other-02:","n":"pm10","u":"ug/m3","v":1}]`,
			metrics: []string{`civisens_gateway_payloads_rejected_total{reason="sensor_mismatch",sensor="air-hdv-01"} 1`},
		},
		{
			name:    "overflow to infinity",
			topic:   "sensors/air-hdv-01/senml",
			payload: `[{"bv":1e308,"n":"pm10","u":"ug/m3","v":1e308}]`,
			metrics: []string{`civisens_gateway_payloads_rejected_total{reason="non_finite",sensor="air-hdv-01"} 1`},
		},
		{
			name:    "string value",
			topic:   "sensors/air-hdv-01/senml",
			payload: `[{"n":"pm10","vs":"high"}]`,
			metrics: []string{`civisens_gateway_payloads_rejected_total{reason="no_value",sensor="air-hdv-01"} 1`},
		},
		{
			name:    "bad topic",
			topic:   "sensors/AIR/senml",
			payload: `[{"n":"pm10","v":1}]`,
			metrics: []string{`civisens_gateway_payloads_rejected_total{reason="bad_topic"} 1`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, reg := newIngester(t, Config{}, &committer{})
			got := in.process(context.Background(), inbound{msg: &fakeMsg{topic: tc.topic, payload: tc.payload}, at: now}, nil)
			var gotS []string
			for _, a := range got {
				if a.Entry == nil || a.Entry.ID != a.Sensor {
					t.Errorf("reading without its entry: %+v", a)
				}
				gotS = append(gotS, fmt.Sprintf("%s %s=%g@%d", a.Sensor, a.Quantity, a.Value, a.Time.Unix()))
			}
			if diff := cmp.Diff(tc.want, gotS); diff != "" {
				t.Errorf("accepted (-want +got):\n%s", diff)
			}
			exp := exposition(t, reg)
			for _, m := range tc.metrics {
				if !strings.Contains(exp, m+"\n") {
					t.Errorf("exposition lacks %q:\n%s", m, exp)
				}
			}
		})
	}
}

func msg(id int, a *acks, sensor, payload string) *fakeMsg {
	return &fakeMsg{id: id, topic: "sensors/" + sensor + "/senml", payload: payload, acks: a}
}

func good(v float64) string {
	return fmt.Sprintf(`[{"bt":%d,"n":"pm10","u":"ug/m3","v":%g}]`, bt, v)
}

func TestAckOnlyAfterCommitInOrder(t *testing.T) {
	var a acks
	c := &committer{failing: true}
	in, reg := newIngester(t, Config{FlushInterval: 10 * time.Millisecond, RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond}, c)
	stop := start(in)
	defer stop()

	in.deliver(msg(1, &a, "air-hdv-01", good(1)))
	in.deliver(msg(2, &a, "air-hdv-01", `garbage`)) // refused, but must not overtake 1
	in.deliver(msg(3, &a, "air-inconnu-9", good(3)))
	in.deliver(msg(4, &a, "air-hdv-01", good(4)))

	// The committer fails: it is retried, and nothing is acknowledged.
	testinfra.Eventually(t, 10*time.Second, func() error {
		if n := c.callCount(); n < 5 {
			return fmt.Errorf("%d commit attempts", n)
		}
		return nil
	})
	if got := a.got(); len(got) != 0 {
		t.Fatalf("acknowledged %v before any commit succeeded", got)
	}
	if in.Pending() != 4 {
		t.Errorf("pending = %d, want 4", in.Pending())
	}

	c.set(false)
	testinfra.Eventually(t, 10*time.Second, func() error {
		if got := a.got(); len(got) != 4 {
			return fmt.Errorf("acknowledged %v", got)
		}
		return nil
	})
	if diff := cmp.Diff([]int{1, 2, 3, 4}, a.got()); diff != "" {
		t.Errorf("acknowledgement order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"air-hdv-01 pm10=1@1740830280", "air-hdv-01 pm10=4@1740830280"}, c.committed()); diff != "" {
		t.Errorf("committed (-want +got):\n%s", diff)
	}
	exp := exposition(t, reg)
	for _, want := range []string{
		"civisens_gateway_messages_acknowledged_total 4\n",
		"civisens_gateway_messages_pending 0\n",
		"civisens_gateway_messages_received_total 4\n",
	} {
		if !strings.Contains(exp, want) {
			t.Errorf("exposition lacks %q:\n%s", want, exp)
		}
	}

	// A refused message with nothing before it is acknowledged at once,
	// without a commit.
	calls := c.callCount()
	in.deliver(msg(5, &a, "air-hdv-01", `[]`))
	testinfra.Eventually(t, 10*time.Second, func() error {
		if got := a.got(); len(got) != 5 {
			return fmt.Errorf("acknowledged %v", got)
		}
		return nil
	})
	if c.callCount() != calls {
		t.Error("a message without readings caused a commit")
	}
}

func TestBatchSizeTriggersCommit(t *testing.T) {
	var a acks
	c := &committer{}
	in, reg := newIngester(t, Config{BatchSize: 3, FlushInterval: time.Hour}, c)
	stop := start(in)
	defer stop()

	in.deliver(msg(1, &a, "air-hdv-01", good(1)))
	in.deliver(msg(2, &a, "air-hdv-01", good(2)))
	in.deliver(msg(3, &a, "air-hdv-01", `[{"bt":1740830280,"n":"pm10","u":"ug/m3","v":3},{"n":"temperature","u":"Cel","v":4}]`))
	testinfra.Eventually(t, 10*time.Second, func() error {
		if got := a.got(); len(got) != 3 {
			return fmt.Errorf("acknowledged %v", got)
		}
		return nil
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.batches) != 1 || len(c.batches[0]) != 4 {
		t.Errorf("batches = %v, want one of 4 readings", c.batches)
	}
	exp := exposition(t, reg)
	for _, want := range []string{
		"civisens_gateway_ingest_batch_readings_bucket{le=\"2\"} 0\n",
		"civisens_gateway_ingest_batch_readings_bucket{le=\"5\"} 1\n",
		"civisens_gateway_ingest_batch_readings_sum 4\n",
		"civisens_gateway_ingest_batch_readings_count 1\n",
		"civisens_gateway_ingest_commit_seconds_count 1\n",
	} {
		if !strings.Contains(exp, want) {
			t.Errorf("exposition lacks %q:\n%s", want, exp)
		}
	}
}

func TestBackPressure(t *testing.T) {
	var a acks
	c := &committer{failing: true}
	in, _ := newIngester(t, Config{QueueSize: 1, FlushInterval: time.Millisecond, RetryMin: time.Millisecond, RetryMax: time.Millisecond}, c)
	stop := start(in)
	defer stop()

	// 1 is taken into the batch that fails; 2 fills the queue; 3 must wait.
	in.deliver(msg(1, &a, "air-hdv-01", good(1)))
	testinfra.Eventually(t, 10*time.Second, func() error {
		if c.callCount() == 0 {
			return errors.New("no commit yet")
		}
		return nil
	})
	in.deliver(msg(2, &a, "air-hdv-01", good(2)))
	third := make(chan struct{})
	go func() { in.deliver(msg(3, &a, "air-hdv-01", good(3))); close(third) }()

	calls := c.callCount()
	testinfra.Eventually(t, 10*time.Second, func() error {
		if c.callCount() < calls+20 {
			return errors.New("waiting for more retries")
		}
		return nil
	})
	select {
	case <-third:
		t.Fatal("a message was taken while the queue was full")
	default:
	}

	c.set(false)
	select {
	case <-third:
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting message was not taken once commits succeeded")
	}
	testinfra.Eventually(t, 10*time.Second, func() error {
		if got := a.got(); !slices.Equal(got, []int{1, 2, 3}) {
			return fmt.Errorf("acknowledged %v", got)
		}
		return nil
	})
}

func TestShutdown(t *testing.T) {
	t.Run("commits what it holds", func(t *testing.T) {
		var a acks
		c := &committer{}
		in, _ := newIngester(t, Config{FlushInterval: time.Hour}, c)
		stop := start(in)
		in.deliver(msg(1, &a, "air-hdv-01", good(1)))
		in.deliver(msg(2, &a, "air-hdv-01", good(2)))
		stop()
		if diff := cmp.Diff([]int{1, 2}, a.got()); diff != "" {
			t.Errorf("acknowledged at shutdown (-want +got):\n%s", diff)
		}
	})
	t.Run("bounded when the committer fails", func(t *testing.T) {
		var a acks
		c := &committer{failing: true}
		in, _ := newIngester(t, Config{FlushInterval: time.Hour, ShutdownTimeout: 200 * time.Millisecond, RetryMin: time.Millisecond}, c)
		stop := start(in)
		in.deliver(msg(1, &a, "air-hdv-01", good(1)))
		begin := time.Now()
		stop()
		if d := time.Since(begin); d > 5*time.Second {
			t.Errorf("shutdown took %v", d)
		}
		if got := a.got(); len(got) != 0 {
			t.Errorf("acknowledged %v without a commit", got)
		}
		if c.callCount() == 0 {
			t.Error("no last commit attempt")
		}
	})
}
