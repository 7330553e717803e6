// Package publish sends SenML packs to the MQTT broker, in the civisens
// wire format: one pack per message on sensors/{sensor_id}/senml, QoS 1,
// not retained.
//
// The client connects in the background and retries for ever, reconnects
// with a capped backoff when the broker goes away, and never queues: while
// the broker is away a publication fails at once (the simulator's next
// reading replaces it; the gateway, not the bridge, is where readings are
// made durable). Failures are logged at most once per interval, with the
// count of those left out.
package publish

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/civisens/civisens/firmware-bridge/senml"
)

// Secret is a password. It prints as REDACTED in logs, in fmt's verbs and
// in JSON, so that configurations can be logged whole.
type Secret string

const redacted = "REDACTED"

func (s Secret) mask() string {
	if s == "" {
		return ""
	}
	return redacted
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.mask()) }

// String implements fmt.Stringer.
func (s Secret) String() string { return s.mask() }

// GoString implements fmt.GoStringer (%#v).
func (s Secret) GoString() string { return fmt.Sprintf("%q", s.mask()) }

// MarshalText implements encoding.TextMarshaler (JSON and text logs).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.mask()), nil }

// ErrNotConnected is returned by Publish while the broker is away.
var ErrNotConnected = errors.New("not connected to the broker")

// Config is how to reach the broker.
type Config struct {
	// BrokerURL is the broker, as tcp://host:port (also mqtt://, ssl://,
	// tls://, mqtts://, ws://, wss://).
	BrokerURL string
	// ClientID identifies the session; two clients with the same id take
	// the connection from each other.
	ClientID string
	// Username and Password are optional credentials.
	Username string
	Password Secret
	// Timeout bounds the wait for the broker's PUBACK; 0 means 10s.
	Timeout time.Duration
	// MaxReconnectInterval caps the backoff between reconnections; 0
	// means 30s. The first connection is retried every second.
	MaxReconnectInterval time.Duration
	// LogEvery is the shortest interval between two logs of failed
	// publications or connections; 0 means 30s.
	LogEvery time.Duration
}

// Client publishes packs to the broker. It is safe for concurrent use.
type Client struct {
	mqtt      mqtt.Client
	connected mqtt.Token
	timeout   time.Duration
	log       *slog.Logger
	failures  *limiter // failed publications
	attempts  *limiter // failed connection attempts

	mu   sync.Mutex
	lost chan struct{} // closed when the connection is lost, then replaced
}

// Start returns a client that connects to the broker in the background.
// log nil means no logs. Close it when done.
func Start(cfg Config, log *slog.Logger) *Client {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	every := cfg.LogEvery
	if every <= 0 {
		every = 30 * time.Second
	}
	c := &Client{
		timeout:  cfg.Timeout,
		log:      log,
		failures: &limiter{every: every},
		attempts: &limiter{every: every},
		lost:     make(chan struct{}),
	}
	if c.timeout <= 0 {
		c.timeout = 10 * time.Second
	}
	maxReconnect := cfg.MaxReconnectInterval
	if maxReconnect <= 0 {
		maxReconnect = 30 * time.Second
	}
	opts := mqtt.NewClientOptions().
		AddBroker(cfg.BrokerURL).
		SetClientID(cfg.ClientID).
		SetUsername(cfg.Username).
		SetPassword(string(cfg.Password)).
		SetCleanSession(true).
		SetOrderMatters(false).
		SetKeepAlive(30 * time.Second).
		SetConnectTimeout(10 * time.Second).
		SetWriteTimeout(10 * time.Second).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(maxReconnect).
		SetOnConnectHandler(func(mqtt.Client) {
			log.Info("connected to the broker", "broker", cfg.BrokerURL, "client_id", cfg.ClientID)
		}).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			c.mu.Lock()
			close(c.lost) // fail the publications in flight now, not at their timeout
			c.lost = make(chan struct{})
			c.mu.Unlock()
			log.Warn("connection to the broker lost; reconnecting", "broker", cfg.BrokerURL, "err", err)
		}).
		SetConnectionNotificationHandler(func(_ mqtt.Client, n mqtt.ConnectionNotification) {
			if f, ok := n.(mqtt.ConnectionNotificationFailed); ok {
				if skipped, ok := c.attempts.allow(time.Now()); ok {
					log.Warn("cannot connect to the broker; retrying", "broker", cfg.BrokerURL, "err", f.Reason, "unlogged", skipped)
				}
			}
		})
	c.mqtt = mqtt.NewClient(opts)
	c.connected = c.mqtt.Connect()
	return c
}

// WaitConnected returns once the client is first connected, or with the
// error of ctx.
func (c *Client) WaitConnected(ctx context.Context) error {
	select {
	case <-c.connected.Done():
		if err := c.connected.Error(); err != nil {
			return fmt.Errorf("connect to the broker: %w", err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Publish sends p on the topic of sensor and waits for the broker's PUBACK.
func (c *Client) Publish(ctx context.Context, sensor string, p senml.Pack) error {
	err := c.publish(ctx, sensor, p)
	if err != nil && ctx.Err() == nil {
		if skipped, ok := c.failures.allow(time.Now()); ok {
			c.log.Warn("cannot publish", "sensor", sensor, "err", err, "unlogged", skipped)
		}
	}
	return err
}

func (c *Client) publish(ctx context.Context, sensor string, p senml.Pack) error {
	payload, err := senml.Encode(p)
	if err != nil {
		return fmt.Errorf("publish %s: %w", sensor, err)
	}
	c.mu.Lock()
	lost := c.lost // before the check: a loss after it closes this one
	c.mu.Unlock()
	if !c.mqtt.IsConnectionOpen() {
		return fmt.Errorf("publish %s: %w", sensor, ErrNotConnected)
	}
	topic := senml.Topic(sensor)
	tok := c.mqtt.Publish(topic, 1, false, payload)
	timer := time.NewTimer(c.timeout)
	defer timer.Stop()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("publish %s: %w", topic, err)
		}
		return nil
	case <-lost:
		return fmt.Errorf("publish %s: connection lost before the PUBACK: %w", topic, ErrNotConnected)
	case <-timer.C:
		return fmt.Errorf("publish %s: no PUBACK within %v", topic, c.timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close disconnects, waiting up to half a second for publications in
// flight.
func (c *Client) Close() {
	c.mqtt.Disconnect(500)
}

// limiter lets an event through at most once per interval, and counts
// those it holds back.
type limiter struct {
	every time.Duration

	mu      sync.Mutex
	last    time.Time
	skipped int
}

// allow reports whether to log now, and how many events were not logged
// since the last one.
func (l *limiter) allow(now time.Time) (skipped int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && now.Sub(l.last) < l.every {
		l.skipped++
		return 0, false
	}
	skipped, l.skipped, l.last = l.skipped, 0, now
	return skipped, true
}
