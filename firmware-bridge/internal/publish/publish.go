// Package publish sends SenML packs to the MQTT broker, in the civisens
// wire format: one pack per message on sensors/{sensor_id}/senml, QoS 1,
// not retained.
//
// Publish never waits for the broker: it puts the pack at the end of a
// bounded queue in memory (Config.QueueSize) and returns. When the queue
// is full, the oldest pack is dropped, counted and logged at most once per
// interval. A sender goroutine hands the packs to paho in queue order
// while the broker is connected, with at most Config.MaxInFlight of them
// waiting for their PUBACK; the order of the queue is the order on the
// wire, so each sensor's packs arrive in order (a pack may arrive twice:
// QoS 1 is at least once).
//
// Paho keeps each pack it was handed in its store until the PUBACK, and
// resends what it holds on every reconnection. With Config.StoreDir that
// store is a folder of files and the MQTT session is persistent (clean
// session off, with the fixed Config.ClientID): a pack that had left the
// queue but was not acknowledged when the bridge stopped or crashed is
// resent by the next start with the same folder and client id. What is
// still in the queue lives in memory only: Close tries to deliver it
// within Config.CloseTimeout and reports what is left.
//
// The client connects in the background, retrying every second, and
// reconnects with a backoff capped at Config.MaxReconnectInterval. It
// sends nothing new on a connection until paho has resent what its store
// held, so that resent packs stay ahead of newer ones. Failures are logged
// at most once per interval, with the count of those left out.
package publish

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
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

// ErrNotConnected was returned by Publish while the broker was away. Publish
// now queues instead; the error is kept for callers that test for it.
var ErrNotConnected = errors.New("not connected to the broker")

// ErrClosed is returned by Publish and WaitConnected after Close.
var ErrClosed = errors.New("publish client closed")

// Defaults of Config's zero values.
const (
	DefaultQueueSize    = 10000
	DefaultMaxInFlight  = 20
	DefaultCloseTimeout = 5 * time.Second
)

// Config is how to reach the broker, and how much to keep while it is
// away. The zero value of each field means its default.
type Config struct {
	// BrokerURL is the broker, as tcp://host:port (also mqtt://, ssl://,
	// tls://, mqtts://, ws://, wss://).
	BrokerURL string
	// ClientID identifies the session; two clients with the same id take
	// the connection from each other. The session is persistent (clean
	// session off): keep the id from one start to the next.
	ClientID string
	// Username and Password are optional credentials.
	Username string
	Password Secret
	// Timeout is how long a pack may wait for its PUBACK before a warning
	// is logged and counted in Stats.Failures (the pack is still waited
	// for, and resent on the next connection); 0 means 10s.
	Timeout time.Duration
	// MaxReconnectInterval caps the backoff between reconnections; 0
	// means 30s. The first connection is retried every second.
	MaxReconnectInterval time.Duration
	// LogEvery is the shortest interval between two logs of failed
	// publications, failed connections or dropped packs; 0 means 30s.
	LogEvery time.Duration
	// StoreDir is the folder where paho keeps the packs it was handed
	// until their PUBACK, so that they survive a restart; it is created
	// (0700) if missing. Empty means in memory: they survive
	// reconnections, not restarts. Give each client id its own folder.
	StoreDir string
	// QueueSize bounds the packs waiting in memory while the broker is
	// away or slow; when full, the oldest is dropped. 0 means 10000.
	QueueSize int
	// MaxInFlight bounds the packs handed to paho and not yet
	// acknowledged; 0 means 20. 1 waits for each PUBACK before the next.
	MaxInFlight int
	// CloseTimeout bounds how long Close tries to deliver what is queued
	// and in flight; 0 means 5s.
	CloseTimeout time.Duration
}

// Validate reports the values that cannot be used, without side effects.
func (c Config) Validate() error {
	var errs []error
	if c.BrokerURL == "" {
		errs = append(errs, errors.New("publish: BrokerURL is empty"))
	}
	if c.ClientID == "" {
		errs = append(errs, errors.New("publish: ClientID is empty (a persistent session needs a fixed id)"))
	}
	if c.QueueSize < 0 {
		errs = append(errs, fmt.Errorf("publish: QueueSize %d is negative", c.QueueSize))
	}
	if c.MaxInFlight < 0 || c.MaxInFlight > 1000 {
		errs = append(errs, fmt.Errorf("publish: MaxInFlight %d is not within [0, 1000]", c.MaxInFlight))
	}
	for name, d := range map[string]time.Duration{"Timeout": c.Timeout, "MaxReconnectInterval": c.MaxReconnectInterval, "LogEvery": c.LogEvery, "CloseTimeout": c.CloseTimeout} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("publish: %s %v is negative", name, d))
		}
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Timeout, 10*time.Second)
	def(&c.MaxReconnectInterval, 30*time.Second)
	def(&c.LogEvery, 30*time.Second)
	def(&c.CloseTimeout, DefaultCloseTimeout)
	if c.QueueSize <= 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	return c
}

// Stats are the client's counters, for logs and metrics.
type Stats struct {
	// Queued is the number of packs waiting in memory now.
	Queued int `json:"queued"`
	// InFlight is the number of packs handed to paho and not yet
	// acknowledged now (in its store; with StoreDir, including those a
	// previous run left).
	InFlight int `json:"in_flight"`
	// Published counts the PUBACKs received since Start.
	Published uint64 `json:"published"`
	// DroppedFull counts the packs dropped because the queue was full.
	DroppedFull uint64 `json:"dropped_full"`
	// Failures counts hand-overs that paho refused because the connection
	// had just dropped (the pack went back to the head of the queue), and
	// packs whose PUBACK took longer than Config.Timeout.
	Failures uint64 `json:"failures"`
}

// LogValue implements slog.LogValuer.
func (s Stats) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("queued", s.Queued), slog.Int("in_flight", s.InFlight),
		slog.Uint64("published", s.Published), slog.Uint64("dropped_full", s.DroppedFull),
		slog.Uint64("failures", s.Failures))
}

// pending is a pack waiting in the queue.
type pending struct {
	sensor  string
	payload []byte
}

// Client publishes packs to the broker. It is safe for concurrent use.
type Client struct {
	cfg   Config
	mqtt  mqtt.Client
	store *ackStore
	log   *slog.Logger

	failures *limiter // failed hand-overs and late PUBACKs
	attempts *limiter // failed connection attempts
	drops    *limiter // packs dropped from a full queue

	up      chan struct{} // closed at the first connection
	wake    chan struct{} // (cap 1) the sender may have something to do
	stop    chan struct{} // closed when Close stops the goroutines
	stopped chan struct{} // closed once Close is done
	wg      sync.WaitGroup
	once    sync.Once

	mu        sync.Mutex
	queue     []pending
	closing   bool
	conns     int // successful connections
	losts     int // connections lost; online while conns > losts
	refused   int // the connection on which paho refused a pack
	lostWake  chan struct{}
	lateSince time.Time // when the in-flight count last moved (PUBACK watch)
	late      bool      // the current stall was counted
	lastAcks  uint64    // PUBACKs seen by the last watch
	dropped   uint64
	failed    uint64
}

// Start returns a client that connects to the broker in the background.
// log nil means no logs. Close it when done.
func Start(cfg Config, log *slog.Logger) *Client {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	c := &Client{
		cfg:      cfg,
		log:      log,
		failures: &limiter{every: cfg.LogEvery},
		attempts: &limiter{every: cfg.LogEvery},
		drops:    &limiter{every: cfg.LogEvery},
		up:       make(chan struct{}),
		wake:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		stopped:  make(chan struct{}),
		lostWake: make(chan struct{}, 1),
	}
	var store mqtt.Store = mqtt.NewOrderedMemoryStore()
	if cfg.StoreDir != "" {
		if err := os.MkdirAll(cfg.StoreDir, 0o700); err != nil {
			log.Error("cannot use the message store folder; keeping packs in flight in memory", "dir", cfg.StoreDir, "err", err)
		} else {
			store = mqtt.NewFileStore(cfg.StoreDir)
		}
	}
	c.store = newAckStore(store, log, &limiter{every: cfg.LogEvery}, c.poke)
	c.store.Open()
	if n := c.store.inFlight(); n > 0 {
		log.Info("packs left unacknowledged by the previous run will be resent", "count", n, "dir", cfg.StoreDir)
	}
	opts := mqtt.NewClientOptions().
		AddBroker(cfg.BrokerURL).
		SetClientID(cfg.ClientID).
		SetUsername(cfg.Username).
		SetPassword(string(cfg.Password)).
		SetStore(c.store).
		SetCleanSession(false). // paho resends what its store holds
		SetResumeSubs(false).
		SetOrderMatters(false).
		SetKeepAlive(30 * time.Second).
		SetConnectTimeout(10 * time.Second).
		SetWriteTimeout(10 * time.Second).
		// Reconnections are this package's, so that it knows when paho has
		// resent its store (the connect token completes then) and never
		// sends a newer pack ahead of an older one.
		SetConnectRetry(false).
		SetAutoReconnect(false).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			c.mu.Lock()
			c.losts++
			c.mu.Unlock()
			select {
			case c.lostWake <- struct{}{}:
			default:
			}
			log.Warn("connection to the broker lost; reconnecting", "broker", cfg.BrokerURL, "err", err, "stats", c.Stats())
		})
	c.mqtt = mqtt.NewClient(opts)
	c.wg.Add(2)
	go c.connectLoop()
	go c.sendLoop()
	return c
}

// poke wakes the sender.
func (c *Client) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// connectLoop connects, waits for the loss of the connection, and
// connects again, until Close.
func (c *Client) connectLoop() {
	defer c.wg.Done()
	const first = time.Second
	delay := min(first, c.cfg.MaxReconnectInterval)
	connectedOnce := false
	for {
		tok := c.mqtt.Connect()
		select {
		case <-tok.Done():
		case <-c.stop:
			return
		}
		if err := tok.Error(); err != nil {
			if skipped, ok := c.attempts.allow(time.Now()); ok {
				c.log.Warn("cannot connect to the broker; retrying", "broker", c.cfg.BrokerURL, "err", err, "unlogged", skipped)
			}
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-c.stop:
				t.Stop()
				return
			}
			if connectedOnce {
				delay = min(2*delay, c.cfg.MaxReconnectInterval)
			}
			continue
		}
		// Connected, and paho has resent what its store held.
		c.mu.Lock()
		c.conns++
		conn := c.conns
		c.lateSince, c.late = time.Now(), false
		c.mu.Unlock()
		c.log.Info("connected to the broker", "broker", c.cfg.BrokerURL, "client_id", c.cfg.ClientID, "stats", c.Stats())
		if !connectedOnce {
			connectedOnce = true
			close(c.up)
		}
		c.poke()
		// Each connection made is lost exactly once (Close aside): wait
		// for the handler of this one before connecting again.
		for lost := false; !lost; {
			select {
			case <-c.lostWake:
				c.mu.Lock()
				lost = c.losts >= conn
				c.mu.Unlock()
			case <-c.stop:
				return
			}
		}
		delay = min(first, c.cfg.MaxReconnectInterval)
	}
}

// sendLoop hands the queued packs to paho, in order, while connected.
func (c *Client) sendLoop() {
	defer c.wg.Done()
	watch := time.NewTicker(max(c.cfg.Timeout/4, 10*time.Millisecond))
	defer watch.Stop()
	for {
		c.mu.Lock()
		ready := c.conns > c.losts && c.refused != c.conns && len(c.queue) > 0 &&
			c.store.inFlight() < c.cfg.MaxInFlight
		var p pending
		conn := c.conns
		if ready {
			p = c.queue[0]
			c.queue[0] = pending{}
			c.queue = c.queue[1:]
		}
		c.mu.Unlock()
		if !ready {
			select {
			case <-c.wake:
			case <-watch.C:
				c.watchAcks()
			case <-c.stop:
				return
			}
			continue
		}
		tok := c.mqtt.Publish(senml.Topic(p.sensor), 1, false, p.payload)
		select {
		case <-tok.Done():
			if err := tok.Error(); errors.Is(err, mqtt.ErrNotConnected) {
				// Not stored by paho: back to the head, and wait for the
				// next connection.
				c.mu.Lock()
				c.refused = conn
				c.failed++
				c.queue = append([]pending{p}, c.queue...)
				c.trimLocked()
				c.mu.Unlock()
				if skipped, ok := c.failures.allow(time.Now()); ok {
					c.log.Warn("cannot publish; the pack stays queued", "sensor", p.sensor, "err", err, "unlogged", skipped)
				}
				continue
			} else if err != nil {
				// Stored by paho before the error (a write timeout on a
				// dying connection): resent on the next connection.
				c.log.Debug("publication delayed to the next connection", "sensor", p.sensor, "err", err)
			}
		default: // sent, or stored while the connection drops
		}
	}
}

// watchAcks counts and logs a stall: packs in flight and no PUBACK for
// longer than Config.Timeout on a live connection. Paho resends them on
// the next connection only (MQTT 3.1.1).
func (c *Client) watchAcks() {
	inFlight, acked := c.store.inFlight(), c.store.acknowledged()
	c.mu.Lock()
	defer c.mu.Unlock()
	if inFlight == 0 || c.conns <= c.losts {
		c.lateSince, c.late = time.Now(), false
		return
	}
	if acked != c.lastAcks {
		c.lastAcks, c.lateSince, c.late = acked, time.Now(), false
		return
	}
	if c.late || time.Since(c.lateSince) < c.cfg.Timeout {
		return
	}
	c.late = true
	c.failed++
	if skipped, ok := c.failures.allow(time.Now()); ok {
		c.log.Warn("no PUBACK from the broker; the packs stay in flight", "in_flight", inFlight, "waited", c.cfg.Timeout, "unlogged", skipped)
	}
}

// trimLocked drops the oldest packs beyond the queue's bound.
func (c *Client) trimLocked() {
	for len(c.queue) > c.cfg.QueueSize {
		old := c.queue[0]
		c.queue[0] = pending{}
		c.queue = c.queue[1:]
		c.dropped++
		if skipped, ok := c.drops.allow(time.Now()); ok {
			c.log.Warn("publish queue full: oldest pack dropped", "sensor", old.sensor, "queue_size", c.cfg.QueueSize, "dropped_total", c.dropped, "unlogged", skipped)
		}
	}
}

// WaitConnected returns once the client is first connected (and has
// resent what its store held), or with the error of ctx, or ErrClosed.
func (c *Client) WaitConnected(ctx context.Context) error {
	select {
	case <-c.up:
		return nil
	case <-c.stopped:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Publish puts p at the end of the queue of packs to send on the topic of
// sensor, and returns at once: it never waits for the broker. If the
// queue is full, the oldest pack is dropped (counted in
// Stats.DroppedFull). Its error means that p was not queued: it cannot be
// encoded (senml.ErrNonFinite…), ctx is done, or the client is closed
// (ErrClosed). A nil error is no proof of delivery; Stats tells what
// became of the packs.
func (c *Client) Publish(ctx context.Context, sensor string, p senml.Pack) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	payload, err := senml.Encode(p)
	if err != nil {
		return fmt.Errorf("publish %s: %w", sensor, err)
	}
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return fmt.Errorf("publish %s: %w", sensor, ErrClosed)
	}
	c.queue = append(c.queue, pending{sensor: sensor, payload: payload})
	c.trimLocked()
	c.mu.Unlock()
	c.poke()
	return nil
}

// Stats returns the client's counters now.
func (c *Client) Stats() Stats {
	inFlight, acked := c.store.inFlight(), c.store.acknowledged()
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{Queued: len(c.queue), InFlight: inFlight, Published: acked, DroppedFull: c.dropped, Failures: c.failed}
}

// Close stops accepting packs, tries for Config.CloseTimeout to deliver
// those queued and in flight, disconnects, and logs what was left.
func (c *Client) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.CloseTimeout)
	defer cancel()
	c.Shutdown(ctx)
}

// Shutdown is Close with the deadline of ctx. It returns the counters
// once closed; Queued+InFlight is what was not delivered: the queued packs
// are lost, those in flight stay in paho's store (with Config.StoreDir,
// the next start resends them). A second call returns at once.
func (c *Client) Shutdown(ctx context.Context) (left Stats) {
	c.once.Do(func() {
		c.mu.Lock()
		c.closing = true
		c.mu.Unlock()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
	flush:
		for s := c.Stats(); s.Queued+s.InFlight > 0; s = c.Stats() {
			select {
			case <-tick.C:
			case <-ctx.Done():
				break flush
			}
		}
		close(c.stop)
		c.wg.Wait()
		c.mqtt.Disconnect(250)
		close(c.stopped)
		s := c.Stats()
		where := "memory: lost"
		if c.cfg.StoreDir != "" {
			where = c.cfg.StoreDir + ": resent by the next start"
		}
		if s.Queued+s.InFlight > 0 {
			c.log.Warn("closed with packs not delivered", "queued_lost", s.Queued, "in_flight_kept", s.InFlight, "store", where, "stats", s)
		} else {
			c.log.Info("closed; everything delivered", "stats", s)
		}
	})
	return c.Stats()
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
