package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/civisens/civisens/gateway/internal/validate"
	"github.com/civisens/civisens/internal/testinfra"
)

// gated is a Committer whose appended batches become durable (or fail)
// only when the test says so. It records which readings (by value) are
// durable, so that an acknowledgement can be checked against it.
type gated struct {
	mu      sync.Mutex
	tickets []*gate
	durable map[float64]bool
}

type gate struct {
	c        *gated
	values   []float64
	done     chan struct{}
	err      error
	released bool
}

func newGated() *gated { return &gated{durable: map[float64]bool{}} }

func (c *gated) AppendAsync(b []validate.Accepted) (Durable, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := &gate{c: c, done: make(chan struct{})}
	for _, r := range b {
		g.values = append(g.values, r.Value)
	}
	c.tickets = append(c.tickets, g)
	return g, nil
}

func (g *gate) Wait(ctx context.Context) error {
	select {
	case <-g.done:
		return g.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// release makes the i-th appended batch durable, or failed with err.
func (c *gated) release(t *testing.T, i int, err error) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.tickets[i]
	if g.released {
		t.Fatalf("batch %d released twice", i)
	}
	g.released, g.err = true, err
	if err == nil {
		for _, v := range g.values {
			c.durable[v] = true
		}
	}
	close(g.done)
}

func (c *gated) appends() int { c.mu.Lock(); defer c.mu.Unlock(); return len(c.tickets) }

func (c *gated) values(i int) []float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.tickets[i].values)
}

func (c *gated) isDurable(v float64) bool { c.mu.Lock(); defer c.mu.Unlock(); return c.durable[v] }

// checkedMsg is a message of one reading of value id; its Ack records
// whether that reading was durable by then.
type checkedMsg struct {
	fakeMsg
	c     *gated
	early *[]int
	mu    *sync.Mutex
}

func (m *checkedMsg) Ack() {
	if !m.c.isDurable(float64(m.id)) && m.payload == good(float64(m.id)) {
		m.mu.Lock()
		*m.early = append(*m.early, m.id)
		m.mu.Unlock()
	}
	m.fakeMsg.Ack()
}

type checker struct {
	a     acks
	c     *gated
	mu    sync.Mutex
	early []int
}

func (k *checker) msg(id int, payload string) *checkedMsg {
	return &checkedMsg{fakeMsg: *msg(id, &k.a, "air-hdv-01", payload), c: k.c, early: &k.early, mu: &k.mu}
}

func (k *checker) acksBeforeDurable() []int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.early)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testinfra.Eventually(t, 10*time.Second, func() error {
		if !cond() {
			return errors.New(what)
		}
		return nil
	})
}

// The pipeline appends the next batches while earlier ones wait for
// durability, and acknowledges only what is durable, in arrival order,
// whatever order the batches become durable in.
func TestPipelinedAcksInOrderAfterDurability(t *testing.T) {
	k := &checker{c: newGated()}
	in, _ := newIngester(t, Config{BatchSize: 1, FlushInterval: time.Hour}, k.c)
	stop := start(in)
	defer stop()
	for id := 1; id <= 5; id++ {
		in.deliver(k.msg(id, good(float64(id))))
	}
	// Five appends without any durability: the pipeline did not wait.
	waitFor(t, "five appends", func() bool { return k.c.appends() == 5 })
	if got := k.a.got(); len(got) != 0 {
		t.Fatalf("acknowledged %v before any batch was durable", got)
	}
	for i := 4; i >= 1; i-- {
		k.c.release(t, i, nil)
	}
	// 2..5 are durable, 1 is not: nothing may be acknowledged. The
	// acknowledger waits on batch 0; give it its chance to misbehave.
	in.deliver(k.msg(6, good(6)))
	waitFor(t, "sixth append", func() bool { return k.c.appends() == 6 })
	if got := k.a.got(); len(got) != 0 {
		t.Fatalf("acknowledged %v while the first batch was not durable", got)
	}
	k.c.release(t, 0, nil)
	waitFor(t, "acks of 1..5", func() bool { return len(k.a.got()) == 5 })
	k.c.release(t, 5, nil)
	waitFor(t, "ack of 6", func() bool { return len(k.a.got()) == 6 })
	if diff := cmp.Diff([]int{1, 2, 3, 4, 5, 6}, k.a.got()); diff != "" {
		t.Errorf("acknowledgements (-want +got):\n%s", diff)
	}
	if early := k.acksBeforeDurable(); len(early) != 0 {
		t.Errorf("acknowledged before durable: %v", early)
	}
}

// A batch whose fsync fails is appended again, and neither it nor what
// follows is acknowledged before the new append is durable.
func TestPipelinedFailedSyncIsAppendedAgain(t *testing.T) {
	k := &checker{c: newGated()}
	in, reg := newIngester(t, Config{BatchSize: 1, FlushInterval: time.Hour, RetryMin: time.Millisecond}, k.c)
	stop := start(in)
	defer stop()
	in.deliver(k.msg(1, good(1)))
	in.deliver(k.msg(2, good(2)))
	waitFor(t, "two appends", func() bool { return k.c.appends() == 2 })
	k.c.release(t, 1, nil)
	k.c.release(t, 0, errors.New("spool: fsync: input/output error"))
	waitFor(t, "batch 1 appended again", func() bool { return k.c.appends() == 3 })
	if diff := cmp.Diff([]float64{1}, k.c.values(2)); diff != "" {
		t.Fatalf("appended again (-want +got):\n%s", diff)
	}
	if got := k.a.got(); len(got) != 0 {
		t.Fatalf("acknowledged %v after a failed fsync", got)
	}
	k.c.release(t, 2, nil)
	waitFor(t, "acks", func() bool { return len(k.a.got()) == 2 })
	if diff := cmp.Diff([]int{1, 2}, k.a.got()); diff != "" {
		t.Errorf("acknowledgements (-want +got):\n%s", diff)
	}
	if early := k.acksBeforeDurable(); len(early) != 0 {
		t.Errorf("acknowledged before durable: %v", early)
	}
	if m := exposition(t, reg); !containsLine(m, "civisens_gateway_commit_errors_total 1") {
		t.Errorf("commit errors not counted:\n%s", m)
	}
}

func containsLine(text, line string) bool {
	return slices.Contains(strings.Split(text, "\n"), line)
}

// A message without accepted readings waits for the batches before it.
func TestPipelinedRefusedMessageWaitsItsTurn(t *testing.T) {
	k := &checker{c: newGated()}
	in, _ := newIngester(t, Config{BatchSize: 1, FlushInterval: time.Millisecond}, k.c)
	stop := start(in)
	defer stop()
	in.deliver(k.msg(1, good(1)))
	waitFor(t, "one append", func() bool { return k.c.appends() == 1 })
	in.deliver(k.msg(2, `[]`))                                                 // refused whole
	in.deliver(k.msg(3, `[{"bt":1740830280,"n":"humidity","u":"%RH","v":3}]`)) // undeclared quantity
	waitFor(t, "messages taken", func() bool { return in.Pending() == 3 && len(in.queue) == 0 })
	if got := k.a.got(); len(got) != 0 {
		t.Fatalf("acknowledged %v before message 1 was durable", got)
	}
	k.c.release(t, 0, nil)
	waitFor(t, "acks", func() bool { return len(k.a.got()) == 3 })
	if diff := cmp.Diff([]int{1, 2, 3}, k.a.got()); diff != "" {
		t.Errorf("acknowledgements (-want +got):\n%s", diff)
	}
	if k.c.appends() != 1 {
		t.Errorf("%d appends, want 1 (refused messages append nothing)", k.c.appends())
	}
}

// At most MaxInFlight batches are held: the pipeline then stops taking
// messages until one is acknowledged.
func TestPipelinedInFlightBound(t *testing.T) {
	k := &checker{c: newGated()}
	in, _ := newIngester(t, Config{BatchSize: 1, FlushInterval: time.Hour, MaxInFlight: 2, QueueSize: 10}, k.c)
	stop := start(in)
	defer stop()
	for id := 1; id <= 4; id++ {
		in.deliver(k.msg(id, good(float64(id))))
	}
	waitFor(t, "two appends", func() bool { return k.c.appends() == 2 })
	waitFor(t, "two messages left queued", func() bool { return len(in.queue) == 2 })
	if n := k.c.appends(); n != 2 {
		t.Fatalf("%d appends with 2 batches in flight", n)
	}
	k.c.release(t, 0, nil)
	waitFor(t, "third append", func() bool { return k.c.appends() == 3 })
	if diff := cmp.Diff([]int{1}, k.a.got()); diff != "" {
		t.Errorf("acknowledgements (-want +got):\n%s", diff)
	}
	for i := 1; i <= 3; i++ {
		waitFor(t, fmt.Sprintf("append %d", i+1), func() bool { return k.c.appends() > i })
		k.c.release(t, i, nil)
	}
	waitFor(t, "acks", func() bool { return len(k.a.got()) == 4 })
	if early := k.acksBeforeDurable(); len(early) != 0 {
		t.Errorf("acknowledged before durable: %v", early)
	}
}

// At a stop, what was appended is acknowledged once durable, and the
// held batch is appended first; what is not durable within
// ShutdownTimeout stays unacknowledged, and so does what follows it.
func TestPipelinedShutdown(t *testing.T) {
	t.Run("acknowledges what becomes durable", func(t *testing.T) {
		k := &checker{c: newGated()}
		in, _ := newIngester(t, Config{BatchSize: 2, FlushInterval: time.Hour}, k.c)
		stop := start(in)
		in.deliver(k.msg(1, good(1)))
		in.deliver(k.msg(2, good(2)))
		in.deliver(k.msg(3, good(3))) // held in the batch being filled
		waitFor(t, "one append", func() bool { return k.c.appends() == 1 && len(in.queue) == 0 })
		stopped := make(chan struct{})
		go func() { stop(); close(stopped) }()
		waitFor(t, "the held batch appended", func() bool { return k.c.appends() == 2 })
		k.c.release(t, 0, nil)
		k.c.release(t, 1, nil)
		<-stopped
		if diff := cmp.Diff([]int{1, 2, 3}, k.a.got()); diff != "" {
			t.Errorf("acknowledgements (-want +got):\n%s", diff)
		}
	})
	t.Run("bounded", func(t *testing.T) {
		k := &checker{c: newGated()}
		in, _ := newIngester(t, Config{BatchSize: 1, FlushInterval: time.Hour, ShutdownTimeout: 100 * time.Millisecond}, k.c)
		stop := start(in)
		in.deliver(k.msg(1, good(1)))
		in.deliver(k.msg(2, good(2)))
		waitFor(t, "two appends", func() bool { return k.c.appends() == 2 })
		k.c.release(t, 1, nil) // 2 is durable, 1 never is
		stop()
		if got := k.a.got(); len(got) != 0 {
			t.Errorf("acknowledged %v although message 1 never became durable", got)
		}
	})
}
