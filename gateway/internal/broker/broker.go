package broker

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/civisens/civisens/gateway/internal/metrics"
	"github.com/civisens/civisens/gateway/internal/ratelog"
)

// Defaults of [Config].
const (
	DefaultAddr             = "127.0.0.1:1883"
	DefaultMaxPacketSize    = 64 << 10
	DefaultMaxInflight      = 4096
	DefaultReceiveMaximum   = 256
	DefaultMaxPendingWrites = 8192
	DefaultMaxConnRate      = 20
	DefaultHandshakeTimeout = 5 * time.Second
	// DefaultSessionExpiry bounds how long the broker keeps the session
	// (subscriptions and unacknowledged messages) of a client that left
	// without a clean session, in seconds: a week.
	DefaultSessionExpiry = 7 * 24 * 3600
)

// Listener ids, as [Client.Listener] gives them.
const (
	ListenerTCP      = "tcp"
	ListenerTLS      = "tls"
	ListenerInternal = "internal"
)

// Client is what [Access] knows of a client.
type Client struct {
	ID       string // the MQTT client identifier
	Username string
	Remote   string // its network address
	Listener string // ListenerTCP, ListenerTLS or ListenerInternal
	// IDInUseBy is, at authentication, the username of a connected client
	// that already uses ID ("" when none).
	IDInUseBy string
}

// Access decides who may connect, and who may publish or subscribe where.
// Implementations must be safe for concurrent use, and count and log their
// refusals.
type Access interface {
	// Authenticate reports whether c may connect with password, and what
	// it was admitted with (for Valid).
	Authenticate(c Client, password []byte) (grant string, ok bool)
	// Authorize reports whether c may publish to (write) or subscribe to
	// (!write) topic, a topic filter when subscribing.
	Authorize(c Client, topic string, write bool) bool
	// Valid reports whether c, admitted with grant, may stay connected.
	Valid(c Client, grant string) bool
}

// Config configures the broker. The zero value of each field means its
// default.
type Config struct {
	// Addr is the TCP address to listen on; DefaultAddr if empty. Port 0
	// picks a free port: see [Broker.Addr].
	Addr string
	// TLSAddr is the address of the TLS listener; empty: none. TLSCert and
	// TLSKey are its certificate (chain) and private key, PEM files.
	TLSAddr, TLSCert, TLSKey string
	// MaxPacketSize bounds one MQTT packet, in bytes.
	MaxPacketSize uint32
	// MaxInflight bounds the QoS 1/2 messages awaiting acknowledgement
	// towards each client.
	MaxInflight uint16
	// ReceiveMaximum bounds the QoS 1/2 messages each client may have
	// unacknowledged towards the broker.
	ReceiveMaximum uint16
	// MaxPendingWrites bounds the messages queued for one client.
	MaxPendingWrites int32
	// MaxConnRate bounds the connections accepted per second on the tcp
	// and tls listeners together, with a burst of twice as many.
	MaxConnRate float64
	// HandshakeTimeout bounds the time from a connection's acceptance to
	// its CONNECT packet (TLS handshake included).
	HandshakeTimeout time.Duration
	// Access is the authentication and authorisation policy; required.
	Access Access
}

// Broker is a running embedded broker.
type Broker struct {
	srv      *mqtt.Server
	hook     *hook
	tcp      net.Addr
	tls      net.Addr
	internal net.Addr
	revoked  *metrics.Counter
	log      *slog.Logger
}

// Start listens and serves MQTT until Close. Its counters go to reg (a
// private registry if nil).
func Start(cfg Config, log *slog.Logger, reg *metrics.Registry) (*Broker, error) {
	if cfg.Access == nil {
		return nil, errors.New("broker: no access policy")
	}
	if reg == nil {
		reg = metrics.NewRegistry()
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.MaxPacketSize == 0 {
		cfg.MaxPacketSize = DefaultMaxPacketSize
	}
	if cfg.MaxInflight == 0 {
		cfg.MaxInflight = DefaultMaxInflight
	}
	if cfg.ReceiveMaximum == 0 {
		cfg.ReceiveMaximum = DefaultReceiveMaximum
	}
	if cfg.MaxPendingWrites == 0 {
		cfg.MaxPendingWrites = DefaultMaxPendingWrites
	}
	if cfg.MaxConnRate <= 0 {
		cfg.MaxConnRate = DefaultMaxConnRate
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	var tlsCfg *tls.Config
	if cfg.TLSAddr != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("broker: TLS certificate: %w", err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}

	limited := reg.CounterVec("civisens_gateway_broker_limited_total",
		"Connections the embedded broker closed on a limit: conn_rate (refused at accept), packet_size, receive_maximum.", "limit")
	for _, l := range []string{"conn_rate", "packet_size", "receive_maximum"} {
		limited.With(l)
	}
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumPacketSize = cfg.MaxPacketSize
	caps.MaximumInflight = cfg.MaxInflight
	caps.ReceiveMaximum = min(cfg.ReceiveMaximum, cfg.MaxInflight)
	caps.MaximumClientWritesPending = cfg.MaxPendingWrites
	caps.MaximumSessionExpiryInterval = DefaultSessionExpiry
	srv := mqtt.New(&mqtt.Options{
		Capabilities: caps,
		Logger:       slog.New(&mochiLog{min: slog.LevelWarn, h: log.Handler(), every: ratelog.DefaultInterval, last: new(atomic.Int64), held: new(atomic.Int64)}),
	})
	h := &hook{access: cfg.Access, srv: srv, grants: make(map[*mqtt.Client]string), limited: limited,
		rl: ratelog.New(log, ratelog.DefaultInterval, nil),
		// Publishers wait a little before the bound, so that what is
		// already on its way (up to a receive maximum per publisher) fits.
		high: max(1, int(cfg.MaxInflight)-max(int(cfg.MaxInflight)/4, 1)), maxWait: 10 * time.Second,
		waits: reg.Counter("civisens_gateway_broker_backpressure_waits_total",
			"Publications the embedded broker held because the gateway's reader had too many messages unacknowledged (its PUBACK waits: back-pressure, not loss)."),
		waitRefused: reg.Counter("civisens_gateway_broker_backpressure_refused_total",
			"Publications refused without a PUBACK after 10 s of waiting for the gateway's reader; the publisher keeps them and sends them again."),
	}
	if err := srv.AddHook(h, nil); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	b := &Broker{srv: srv, hook: h, log: log,
		revoked: reg.Counter("civisens_gateway_broker_sessions_revoked_total", "Sessions the embedded broker ended because their credential was revoked or rotated.")}

	// Listeners. What is opened is closed on failure; once Serve runs,
	// srv.Close closes them.
	var opened []net.Listener
	fail := func(err error) (*Broker, error) {
		for _, l := range opened {
			l.Close()
		}
		return nil, err
	}
	connRate := newRateLimit(cfg.MaxConnRate, 2*cfg.MaxConnRate, nil)
	refused := func() { limited.With("conn_rate").Inc() }
	listen := func(addr string) (net.Listener, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("broker: listen on %s: %w", addr, err)
		}
		opened = append(opened, ln)
		return ln, nil
	}

	ln, err := listen(cfg.Addr)
	if err != nil {
		return fail(err)
	}
	b.tcp = ln.Addr()
	pub := []mochiListener{{ListenerTCP, &limitedListener{Listener: ln, limit: connRate, deadline: cfg.HandshakeTimeout, refused: refused}}}
	if tlsCfg != nil {
		ln, err := listen(cfg.TLSAddr)
		if err != nil {
			return fail(err)
		}
		b.tls = ln.Addr()
		pub = append(pub, mochiListener{ListenerTLS,
			tls.NewListener(&limitedListener{Listener: ln, limit: connRate, deadline: cfg.HandshakeTimeout, refused: refused}, tlsCfg)})
	}
	in, err := listen("127.0.0.1:0")
	if err != nil {
		if in, err = listen("[::1]:0"); err != nil {
			return fail(err)
		}
	}
	b.internal = in.Addr()
	for _, l := range append(pub, mochiListener{ListenerInternal, in}) {
		if err := srv.AddListener(listeners.NewNet(l.id, l.ln)); err != nil {
			return fail(fmt.Errorf("broker: %w", err))
		}
	}
	if err := srv.Serve(); err != nil {
		srv.Close()
		return nil, fmt.Errorf("broker: %w", err)
	}
	return b, nil
}

type mochiListener struct {
	id string
	ln net.Listener
}

// Addr returns the address of the tcp listener, with the port it got.
func (b *Broker) Addr() string { return b.tcp.String() }

// TLSAddr returns the address of the TLS listener, or "" without one.
func (b *Broker) TLSAddr() string {
	if b.tls == nil {
		return ""
	}
	return b.tls.String()
}

// InternalAddr returns the loopback address of the gateway reader's
// listener.
func (b *Broker) InternalAddr() string { return b.internal.String() }

// Close disconnects every client and stops listening.
func (b *Broker) Close() error { return b.srv.Close() }

// Revalidate disconnects the connected clients whose credential is no
// longer valid (Access.Valid), and returns how many. Call it after the
// policy's credentials changed.
func (b *Broker) Revalidate() int {
	n := 0
	for _, cl := range b.srv.Clients.GetAll() {
		if cl.Closed() {
			continue
		}
		b.hook.mu.Lock()
		grant, ok := b.hook.grants[cl]
		b.hook.mu.Unlock()
		c := client(cl)
		if !ok || b.hook.access.Valid(c, grant) {
			continue
		}
		n++
		b.log.Info("mqtt session ended: its credential was revoked or changed", "username", clip(c.Username), "client_id", clip(c.ID), "remote", c.Remote)
		// In the background: a write to a stuck client must not hold the
		// allow-list refresh.
		go b.srv.DisconnectClient(cl, packets.ErrNotAuthorized)
	}
	b.revoked.Add(uint64(n))
	return n
}

// Stats are the broker's counters.
type Stats struct {
	ClientsConnected int64
	MessagesDropped  int64 // publishes dropped for slow subscribers
	InflightDropped  int64 // QoS 1/2 messages dropped over the inflight bound
}

// Stats returns the broker's counters.
func (b *Broker) Stats() Stats {
	return Stats{
		ClientsConnected: atomic.LoadInt64(&b.srv.Info.ClientsConnected),
		MessagesDropped:  atomic.LoadInt64(&b.srv.Info.MessagesDropped),
		InflightDropped:  atomic.LoadInt64(&b.srv.Info.InflightDropped),
	}
}

// hook plugs an Access into mochi's hooks, and counts the limits that end
// connections.
type hook struct {
	mqtt.HookBase
	access  Access
	srv     *mqtt.Server
	limited *metrics.CounterVec
	rl      *ratelog.Limiter

	mu     sync.Mutex
	grants map[*mqtt.Client]string // what each connected client was admitted with

	// Back-pressure towards the gateway's reader (see waitForReader).
	reader      atomic.Pointer[string] // its client id, once it connected
	high        int                    // inflight messages at which publishers wait
	maxWait     time.Duration
	waits       *metrics.Counter
	waitRefused *metrics.Counter
}

// waitForReader holds a publication while the gateway's reader has high
// messages or more in flight (received, not yet acknowledged: the gateway
// acknowledges once its spool has them on disk): mochi would drop what
// goes beyond its inflight bound after the publisher had its PUBACK — a
// silent loss. Holding the publisher's packet holds its PUBACK, and TCP
// slows it down, as a full Mosquitto queue would. It reports false when
// the reader stayed full for maxWait: the packet is then refused without
// a PUBACK and the publisher disconnected; it sends the packet again when
// it reconnects.
func (h *hook) waitForReader() bool {
	id := h.reader.Load()
	if id == nil {
		return true
	}
	full := func() bool {
		rd, ok := h.srv.Clients.Get(*id)
		return ok && rd.State.Inflight.Len() >= h.high
	}
	if !full() {
		return true
	}
	h.waits.Inc()
	deadline := time.Now().Add(h.maxWait)
	for full() {
		if time.Now().After(deadline) {
			h.waitRefused.Inc()
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

func (h *hook) ID() string { return "civisens-access" }

func (h *hook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnPublish, mqtt.OnDisconnect}, []byte{b})
}

func (h *hook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	c := client(cl)
	if old, ok := h.srv.Clients.Get(cl.ID); ok && !old.Closed() {
		c.IDInUseBy = string(old.Properties.Username)
	}
	grant, ok := h.access.Authenticate(c, pk.Connect.Password)
	if !ok {
		return false
	}
	if c.Listener != ListenerInternal {
		// Publishers keep no session: a client id cannot pin memory.
		cl.Properties.Clean = true
		cl.Properties.Props.SessionExpiryInterval = 0
		cl.Properties.Props.SessionExpiryIntervalFlag = false
	}
	if atomic.LoadUint32(&cl.Properties.Will.Flag) == 1 {
		if !h.access.Authorize(c, cl.Properties.Will.TopicName, true) {
			atomic.StoreUint32(&cl.Properties.Will.Flag, 0)
		}
		cl.Properties.Will.Retain = false
	}
	h.mu.Lock()
	h.grants[cl] = grant
	h.mu.Unlock()
	if c.Listener == ListenerInternal {
		id := cl.ID
		h.reader.Store(&id)
	}
	return true
}

// OnACLCheck answers subscriptions and deliveries; publications are
// decided in OnPublish, where a denial can be answered without
// disconnecting the client.
func (h *hook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if write {
		return true
	}
	return h.access.Authorize(client(cl), topic, false)
}

func (h *hook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if !h.access.Authorize(client(cl), pk.TopicName, true) {
		switch {
		case pk.FixedHeader.Qos == 0:
			return pk, packets.ErrRejectPacket // dropped
		case cl.Properties.ProtocolVersion == 5:
			return pk, packets.ErrNotAuthorized // PUBACK 0x87
		}
		return pk, packets.CodeSuccessIgnore // PUBACK, not delivered
	}
	pk.FixedHeader.Retain = false
	if client(cl).Listener != ListenerInternal && !h.waitForReader() {
		// No PUBACK, and the publisher disconnected: an MQTT client sends
		// its unacknowledged messages again when it reconnects, not
		// before (it would otherwise hold the message in flight for good).
		if cl.Properties.ProtocolVersion == 5 {
			h.srv.DisconnectClient(cl, packets.ErrServerBusy)
		} else {
			cl.Stop(packets.ErrServerBusy)
		}
		return pk, packets.ErrRejectPacket
	}
	return pk, nil
}

func (h *hook) OnDisconnect(cl *mqtt.Client, err error, _ bool) {
	h.mu.Lock()
	delete(h.grants, cl)
	h.mu.Unlock()
	var limit string
	switch {
	case errors.Is(err, packets.ErrPacketTooLarge):
		limit = "packet_size"
	case errors.Is(err, packets.ErrReceiveMaximum):
		limit = "receive_maximum"
	default:
		return
	}
	h.limited.With(limit).Inc()
	c := client(cl)
	h.rl.Log(context.Background(), slog.LevelWarn, "limit/"+limit+"/"+clip(c.Username), "mqtt client disconnected on a limit",
		"limit", limit, "username", clip(c.Username), "client_id", clip(c.ID), "remote", c.Remote)
}

func client(cl *mqtt.Client) Client {
	return Client{ID: cl.ID, Username: string(cl.Properties.Username), Remote: cl.Net.Remote, Listener: cl.Net.Listener}
}

// mochiLog is the slog handler of mochi's own lines: records below min
// are dropped; the line mochi writes, with an empty message, for every
// connection that ended in an error (a refused login, a client gone) is
// written at most once per interval with the count of those held back;
// "publish packet error" is dropped, as the denials it reports are
// counted and logged by the policy.
type mochiLog struct {
	min   slog.Level
	h     slog.Handler
	every time.Duration
	last  *atomic.Int64 // unix nanoseconds of the last connection line written
	held  *atomic.Int64 // connection lines held back since
}

func (m *mochiLog) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.h.Enabled(ctx, l)
}

func (m *mochiLog) Handle(ctx context.Context, r slog.Record) error {
	switch r.Message {
	case "publish packet error":
		return nil
	case "":
		now := time.Now().UnixNano()
		last := m.last.Load()
		if now-last < int64(m.every) || !m.last.CompareAndSwap(last, now) {
			m.held.Add(1)
			return nil
		}
		r.Message = "mqtt client connection ended with an error"
		if n := m.held.Swap(0); n > 0 {
			r.AddAttrs(slog.Int64("suppressed", n))
		}
	}
	return m.h.Handle(ctx, r)
}

func (m *mochiLog) WithAttrs(as []slog.Attr) slog.Handler {
	return &mochiLog{min: m.min, h: m.h.WithAttrs(as), every: m.every, last: m.last, held: m.held}
}

func (m *mochiLog) WithGroup(name string) slog.Handler {
	return &mochiLog{min: m.min, h: m.h.WithGroup(name), every: m.every, last: m.last, held: m.held}
}
