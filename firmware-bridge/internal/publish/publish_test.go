package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/civisens/civisens/firmware-bridge/internal/brokertest"
	"github.com/civisens/civisens/firmware-bridge/senml"
	"github.com/civisens/civisens/internal/testinfra"
)

var pack = senml.Pack{{BaseName: "air-test-01:", BaseTime: 1764230400.5, Name: "pm10", Unit: "ug/m3", Value: senml.Float(21.4)}}

// syncBuffer is a log destination safe for paho's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func connect(t *testing.T, cfg Config, log *slog.Logger) *Client {
	t.Helper()
	c := Start(cfg, log)
	t.Cleanup(c.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPublish(t *testing.T) {
	b := brokertest.Start(t, "127.0.0.1:0")
	in := brokertest.Subscribe(t, b.URL, senml.Subscription)
	c := connect(t, Config{BrokerURL: b.URL, ClientID: "bridge-test"}, nil)
	if err := c.Publish(context.Background(), "air-test-01", pack); err != nil {
		t.Fatal(err)
	}
	want, _ := senml.Encode(pack)
	testinfra.Eventually(t, 5*time.Second, func() error {
		got, ok := in.Last("sensors/air-test-01/senml")
		if !ok {
			return errors.New("nothing received")
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("received %s, want %s", got, want)
		}
		return nil
	})
}

func TestPublishWithCredentials(t *testing.T) {
	b := brokertest.StartWithUser(t, "127.0.0.1:0", "bridge", "s3cret-pw")
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))

	// Wrong password: the client keeps trying, and says why (once); the
	// pack waits in the queue.
	wrong := Start(Config{BrokerURL: b.URL, ClientID: "bridge-wrong", Username: "bridge", Password: "nope", CloseTimeout: time.Millisecond}, log)
	defer wrong.Close()
	testinfra.Eventually(t, 5*time.Second, func() error {
		if !strings.Contains(logs.String(), "cannot connect to the broker") {
			return fmt.Errorf("no log of the refused connection: %s", logs.String())
		}
		return nil
	})
	if err := wrong.Publish(context.Background(), "air-test-01", pack); err != nil {
		t.Errorf("Publish while refused: %v, want nil (queued)", err)
	}
	if s := wrong.Stats(); s.Queued != 1 || s.Published != 0 {
		t.Errorf("Stats while refused = %+v, want 1 queued", s)
	}

	c := connect(t, Config{BrokerURL: b.URL, ClientID: "bridge-right", Username: "bridge", Password: "s3cret-pw"}, log)
	if err := c.Publish(context.Background(), "air-test-01", pack); err != nil {
		t.Fatal(err)
	}
	waitStats(t, c, func(s Stats) bool { return s.Published == 1 })
	if strings.Contains(logs.String(), "s3cret-pw") {
		t.Errorf("the password is in the logs: %s", logs.String())
	}
}

// seq is the pack number i of sensor, whose value is i.
func seq(i int) senml.Pack {
	return senml.Pack{{BaseName: "air-test-01:", BaseTime: 1764230400, Name: "pm10", Unit: "ug/m3", Value: senml.Float(float64(i))}}
}

// values returns the value of each pack received, in order of arrival.
func values(t *testing.T, msgs [][]byte) []int {
	t.Helper()
	var vs []int
	for _, m := range msgs {
		p, err := senml.Decode(m)
		if err != nil || len(p) != 1 || p[0].Value == nil {
			t.Fatalf("received %s: %v", m, err)
		}
		vs = append(vs, int(*p[0].Value))
	}
	return vs
}

// upTo returns 0, 1, ... n-1 from from.
func upTo(from, n int) []int {
	var vs []int
	for i := from; i < n; i++ {
		vs = append(vs, i)
	}
	return vs
}

// waitStats waits until cond holds for c's counters.
func waitStats(t *testing.T, c *Client, cond func(Stats) bool) {
	t.Helper()
	testinfra.Eventually(t, 15*time.Second, func() error {
		if s := c.Stats(); !cond(s) {
			return fmt.Errorf("stats %+v", s)
		}
		return nil
	})
}

// waitValues waits until the broker b has received exactly want, in
// that order.
func waitValues(t *testing.T, b *testBroker, want []int) {
	t.Helper()
	testinfra.Eventually(t, 15*time.Second, func() error {
		got := values(t, b.received())
		if len(got) < len(want) {
			return fmt.Errorf("received %d packs, want %d", len(got), len(want))
		}
		if !slices.Equal(got, want) {
			t.Fatalf("received %v, want %v", got, want)
		}
		return nil
	})
}

// TestBrokerAwayAtStart: packs published before the broker exists are
// queued, and delivered in order once it starts.
func TestBrokerAwayAtStart(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", testinfra.FreePort(t))
	c := Start(Config{BrokerURL: "tcp://" + addr, ClientID: "bridge-late", MaxInFlight: 5}, nil)
	t.Cleanup(c.Close)
	const n = 200
	for i := range n {
		start := time.Now()
		if err := c.Publish(context.Background(), "air-test-01", seq(i)); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Fatalf("Publish took %v with the broker away", d)
		}
	}
	if s := c.Stats(); s.Queued != n || s.Published != 0 {
		t.Fatalf("Stats before the broker = %+v, want %d queued", s, n)
	}
	b := startBroker(t, addr, false)
	waitValues(t, b, upTo(0, n))
	waitStats(t, c, func(s Stats) bool { return s.Published == n && s.Queued == 0 && s.InFlight == 0 })
}

// TestBrokerLoss stops the broker under a connected client: publications
// are queued at once, logged once, and delivered in order once the broker
// is back on the same address.
func TestBrokerLoss(t *testing.T) {
	b := startBroker(t, "127.0.0.1:0", false)
	var logs syncBuffer
	c := connect(t, Config{BrokerURL: b.URL, ClientID: "bridge-loss", MaxReconnectInterval: 500 * time.Millisecond, LogEvery: time.Hour},
		slog.New(slog.NewTextHandler(&logs, nil)))
	for i := range 10 {
		c.Publish(context.Background(), "air-test-01", seq(i))
	}
	waitValues(t, b, upTo(0, 10))
	waitStats(t, c, func(s Stats) bool { return s.Published == 10 })
	b.Close()
	testinfra.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(logs.String(), "connection to the broker lost") {
			return errors.New("loss not noticed yet")
		}
		return nil
	})
	for i := 10; i < 60; i++ {
		start := time.Now()
		if err := c.Publish(context.Background(), "air-test-01", seq(i)); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Fatalf("Publish took %v with the broker away", d)
		}
	}
	if s := c.Stats(); s.Queued != 50 {
		t.Errorf("Stats with the broker away = %+v, want 50 queued", s)
	}
	b2 := startBroker(t, b.Addr, false)
	waitValues(t, b2, upTo(10, 60))
	waitStats(t, c, func(s Stats) bool { return s.Published == 60 && s.Queued == 0 && s.DroppedFull == 0 })
	if n := strings.Count(logs.String(), "cannot connect to the broker"); n > 1 {
		t.Errorf("%d log lines for failed connections, want 1 per interval:\n%s", n, logs.String())
	}
}

// TestQueueBound: with room for 10 packs and the broker away, 15 packs
// leave the 10 newest, delivered; the 5 oldest are dropped and counted,
// and logged once.
func TestQueueBound(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", testinfra.FreePort(t))
	var logs syncBuffer
	c := Start(Config{BrokerURL: "tcp://" + addr, ClientID: "bridge-bound", QueueSize: 10, LogEvery: time.Hour},
		slog.New(slog.NewTextHandler(&logs, nil)))
	t.Cleanup(c.Close)
	for i := range 15 {
		if err := c.Publish(context.Background(), "air-test-01", seq(i)); err != nil {
			t.Fatal(err)
		}
	}
	if s := c.Stats(); s.Queued != 10 || s.DroppedFull != 5 {
		t.Errorf("Stats = %+v, want 10 queued, 5 dropped", s)
	}
	if n := strings.Count(logs.String(), "publish queue full"); n != 1 {
		t.Errorf("%d log lines for dropped packs, want 1:\n%s", n, logs.String())
	}
	b := startBroker(t, addr, false)
	waitValues(t, b, upTo(5, 15))
	waitStats(t, c, func(s Stats) bool { return s.Published == 10 && s.DroppedFull == 5 && s.Queued == 0 })
}

// TestFileStoreSurvivesRestart: a pack that reached a broker that never
// acknowledged it stays in the store folder when the client closes, and
// the next client with the same folder and id delivers it, before any
// newer pack.
func TestFileStoreSurvivesRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	silent := startBroker(t, "127.0.0.1:0", true)
	c1 := connect(t, Config{BrokerURL: silent.URL, ClientID: "bridge-store", StoreDir: dir}, nil)
	if err := c1.Publish(context.Background(), "air-test-01", seq(7)); err != nil {
		t.Fatal(err)
	}
	waitValues(t, silent, []int{7}) // received, never acknowledged
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if left := c1.Shutdown(ctx); left.InFlight != 1 || left.Queued != 0 || left.Published != 0 {
		t.Fatalf("Shutdown left %+v, want 1 in flight", left)
	}

	b := startBroker(t, "127.0.0.1:0", false)
	c2 := Start(Config{BrokerURL: b.URL, ClientID: "bridge-store", StoreDir: dir}, nil)
	t.Cleanup(c2.Close)
	if s := c2.Stats(); s.InFlight != 1 {
		t.Errorf("Stats of the restarted client = %+v, want the stored pack in flight", s)
	}
	if err := c2.Publish(context.Background(), "air-test-01", seq(8)); err != nil {
		t.Fatal(err)
	}
	waitValues(t, b, []int{7, 8})
	waitStats(t, c2, func(s Stats) bool { return s.Published == 2 && s.InFlight == 0 })
	if left := c2.Shutdown(context.Background()); left.Queued+left.InFlight != 0 {
		t.Errorf("Shutdown left %+v", left)
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 0 {
		t.Errorf("the store still holds %d files", len(files))
	}
}

// TestCloseFlushes: Close delivers what is queued when the broker is
// there, and gives up within its timeout when it is not.
func TestCloseFlushes(t *testing.T) {
	b := startBroker(t, "127.0.0.1:0", false)
	c := connect(t, Config{BrokerURL: b.URL, ClientID: "bridge-flush", MaxInFlight: 1}, nil)
	for i := range 100 {
		c.Publish(context.Background(), "air-test-01", seq(i))
	}
	if left := c.Shutdown(context.Background()); left.Queued+left.InFlight != 0 || left.Published != 100 {
		t.Errorf("Shutdown = %+v, want everything published", left)
	}
	waitValues(t, b, upTo(0, 100))
	if err := c.Publish(context.Background(), "air-test-01", pack); !errors.Is(err, ErrClosed) {
		t.Errorf("Publish after Close = %v, want %v", err, ErrClosed)
	}

	away := Start(Config{BrokerURL: fmt.Sprintf("tcp://127.0.0.1:%d", testinfra.FreePort(t)), ClientID: "bridge-away", CloseTimeout: 200 * time.Millisecond}, nil)
	for i := range 3 {
		away.Publish(context.Background(), "air-test-01", seq(i))
	}
	start := time.Now()
	away.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v with a 200ms timeout", d)
	}
	if s := away.Stats(); s.Queued != 3 {
		t.Errorf("Stats after Close = %+v, want 3 left queued", s)
	}
}

// TestMosquittoRestart publishes a steady stream while Debian's mosquitto
// (with persistence) is stopped and started again: a persistent
// subscriber receives every pack, in order of first arrival.
func TestMosquittoRestart(t *testing.T) {
	m := testinfra.StartMosquittoWith(t, testinfra.MosquittoOptions{Persistence: true, MaxQueued: -1})
	var mu sync.Mutex
	var got []int
	seen := map[int]bool{}
	opts := paho.NewClientOptions().AddBroker(m.URL).SetClientID("test-sub-persistent").
		SetCleanSession(false).SetAutoReconnect(true).SetMaxReconnectInterval(200 * time.Millisecond).
		SetDefaultPublishHandler(func(_ paho.Client, msg paho.Message) {
			p, err := senml.Decode(msg.Payload())
			if err != nil || len(p) != 1 || p[0].Value == nil {
				t.Errorf("received %s: %v", msg.Payload(), err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if v := int(*p[0].Value); !seen[v] { // QoS 1: duplicates are allowed
				seen[v] = true
				got = append(got, v)
			}
		})
	sub := paho.NewClient(opts)
	if tok := sub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber: %v", tok.Error())
	}
	t.Cleanup(func() { sub.Disconnect(100) })
	if tok := sub.Subscribe(senml.Subscription, 1, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}

	c := connect(t, Config{BrokerURL: m.URL, ClientID: "bridge-mosquitto", StoreDir: t.TempDir(), MaxReconnectInterval: 200 * time.Millisecond}, nil)
	const n = 300
	down := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for i := range n {
			if i == n/2 {
				<-down // the second half meets the broker away, then back
			}
			c.Publish(context.Background(), "air-test-01", seq(i))
			time.Sleep(time.Millisecond) // a stream, not a burst
		}
	}()
	waitStats(t, c, func(s Stats) bool { return s.Published >= 50 })
	m.Stop(t) // mid-stream: packs may be in flight
	close(down)
	waitStats(t, c, func(s Stats) bool { return s.Queued > 0 })
	m.Start(t)
	<-stopped
	waitStats(t, c, func(s Stats) bool { return s.Queued == 0 && s.InFlight == 0 })
	testinfra.Eventually(t, 15*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(got) < n {
			return fmt.Errorf("received %d distinct packs, want %d", len(got), n)
		}
		// Every pack arrives. A broker that stops may lose packs it had
		// not yet saved while later ones of the same in-flight window
		// reached the subscriber: those resent come after them, never
		// further than the in-flight window.
		sorted := slices.Sorted(slices.Values(got))
		if !slices.Equal(sorted, upTo(0, n)) {
			t.Fatalf("received %v, want each of 0..%d", got, n-1)
		}
		for i, v := range got {
			if d := v - i; d > DefaultMaxInFlight || -d > DefaultMaxInFlight {
				t.Fatalf("pack %d arrived %d places away from its turn (in-flight window %d): %v", v, d, DefaultMaxInFlight, got)
			}
		}
		return nil
	})
	if s := c.Stats(); s.DroppedFull != 0 {
		t.Errorf("Stats = %+v, want nothing dropped", s)
	}
}

func TestPublishRefusesNonFinite(t *testing.T) {
	b := brokertest.Start(t, "127.0.0.1:0")
	c := connect(t, Config{BrokerURL: b.URL, ClientID: "bridge-nan"}, nil)
	bad := senml.Pack{{Name: "pm10", Value: senml.Float(-1 / zero())}}
	if err := c.Publish(context.Background(), "air-test-01", bad); !errors.Is(err, senml.ErrNonFinite) {
		t.Errorf("Publish(-Inf) = %v, want %v", err, senml.ErrNonFinite)
	}
}

func zero() float64 { return 0 }

func TestWaitConnectedHonoursContext(t *testing.T) {
	// Nothing listens there: the client retries until the context ends.
	c := Start(Config{BrokerURL: fmt.Sprintf("tcp://127.0.0.1:%d", testinfra.FreePort(t)), ClientID: "bridge-wait"}, nil)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := c.WaitConnected(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitConnected = %v, want %v", err, context.DeadlineExceeded)
	}
}

func TestSecretIsRedacted(t *testing.T) {
	type config struct {
		User     string
		Password Secret
	}
	cfg := config{User: "bridge", Password: "hunter2"}
	var logs bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&logs, nil), slog.NewJSONHandler(&logs, nil)} {
		slog.New(h).Info("config", "password", cfg.Password, "config", cfg)
	}
	j, _ := json.Marshal(cfg)
	for _, out := range []string{
		logs.String(), string(j),
		fmt.Sprint(cfg.Password), fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg.Password),
	} {
		if strings.Contains(out, "hunter2") {
			t.Errorf("password printed: %s", out)
		}
		if !strings.Contains(out, "REDACTED") {
			t.Errorf("no REDACTED in %s", out)
		}
	}
	if Secret("").String() != "" {
		t.Error("an empty password prints as REDACTED")
	}
}

func TestLimiter(t *testing.T) {
	l := &limiter{every: time.Minute}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, ok := l.allow(t0); !ok {
		t.Fatal("first event held back")
	}
	for i := 1; i <= 5; i++ {
		if _, ok := l.allow(t0.Add(time.Duration(i) * time.Second)); ok {
			t.Fatal("event let through within the interval")
		}
	}
	if skipped, ok := l.allow(t0.Add(time.Minute)); !ok || skipped != 5 {
		t.Fatalf("after the interval: %d, %v; want 5, true", skipped, ok)
	}
}
