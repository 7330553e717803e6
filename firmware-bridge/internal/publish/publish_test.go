package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

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

	// Wrong password: the client keeps trying, and says why (once).
	wrong := Start(Config{BrokerURL: b.URL, ClientID: "bridge-wrong", Username: "bridge", Password: "nope"}, log)
	defer wrong.Close()
	testinfra.Eventually(t, 5*time.Second, func() error {
		if !strings.Contains(logs.String(), "cannot connect to the broker") {
			return fmt.Errorf("no log of the refused connection: %s", logs.String())
		}
		return nil
	})
	if err := wrong.Publish(context.Background(), "air-test-01", pack); !errors.Is(err, ErrNotConnected) {
		t.Errorf("Publish while refused: %v, want %v", err, ErrNotConnected)
	}

	c := connect(t, Config{BrokerURL: b.URL, ClientID: "bridge-right", Username: "bridge", Password: "s3cret-pw"}, log)
	if err := c.Publish(context.Background(), "air-test-01", pack); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "s3cret-pw") {
		t.Errorf("the password is in the logs: %s", logs.String())
	}
}

// TestBrokerLoss stops the broker under a connected client: publications
// fail at once without a panic, and succeed again once the broker is back
// on the same address.
func TestBrokerLoss(t *testing.T) {
	b := brokertest.Start(t, "127.0.0.1:0")
	var logs syncBuffer
	c := connect(t, Config{BrokerURL: b.URL, ClientID: "bridge-loss", MaxReconnectInterval: 500 * time.Millisecond, LogEvery: time.Hour},
		slog.New(slog.NewTextHandler(&logs, nil)))
	if err := c.Publish(context.Background(), "air-test-01", pack); err != nil {
		t.Fatal(err)
	}
	b.Close()
	testinfra.Eventually(t, 10*time.Second, func() error {
		start := time.Now()
		err := c.Publish(context.Background(), "air-test-01", pack)
		if err == nil {
			return errors.New("published with the broker down")
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("Publish took %v to fail", d)
		}
		return nil
	})
	for i := 0; i < 50; i++ { // many failures, one log line
		c.Publish(context.Background(), "air-test-01", pack)
	}
	if n := strings.Count(logs.String(), "cannot publish"); n != 1 {
		t.Errorf("%d log lines for failed publications, want 1 per interval:\n%s", n, logs.String())
	}

	b2 := brokertest.Start(t, b.Addr)
	in := brokertest.Subscribe(t, b2.URL, senml.Subscription)
	testinfra.Eventually(t, 15*time.Second, func() error {
		if err := c.Publish(context.Background(), "air-test-01", pack); err != nil {
			return err
		}
		if in.Count("sensors/air-test-01/senml") == 0 {
			return errors.New("nothing received yet")
		}
		return nil
	})
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
