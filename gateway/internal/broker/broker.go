// Package broker is the gateway's embedded MQTT broker: a mochi-mqtt v2
// server with one TCP listener, started when the gateway is not told to use
// an external broker.
//
// The gateway itself subscribes to it over TCP with the same MQTT client it
// uses for an external broker, so that both paths behave alike (persistent
// session, QoS 1, acknowledgements after commit).
//
// # Who may connect
//
// [Access] is the broker's authentication and authorisation policy. This
// version runs with [OpenAccess]: any client may connect, publish and
// subscribe, as the gateway filters readings by the register's allow-list
// anyway. Listen on loopback (the default) until per-sensor credentials are
// enforced: the next version implements Access from the allow-list's
// credentials (bcrypt/argon2id hashes) with topic ACLs (a sensor publishes
// to sensors/{its id}/senml only).
//
// # Limits
//
// Packets are bounded to [DefaultMaxPacketSize] (a SenML payload of
// senml.DefaultMaxBytes plus its topic); a client that sends more is
// disconnected. Each client may have [DefaultMaxInflight] QoS 1/2 messages
// awaiting acknowledgement; beyond that, and beyond [DefaultMaxPendingWrites]
// messages queued for one slow subscriber, the broker drops messages and
// counts them ([Stats]): an MQTT 3.1.1 subscriber (the gateway) cannot
// announce a receive window, so these bounds are what protects the
// broker's memory.
//
// mochi's own log lines go to the gateway's logger at warning level and
// above.
package broker

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/civisens/civisens/firmware-bridge/senml"
)

// Defaults of [Config].
const (
	DefaultAddr             = "127.0.0.1:1883"
	DefaultMaxPacketSize    = senml.DefaultMaxBytes + 1024
	DefaultMaxInflight      = 4096
	DefaultMaxPendingWrites = 8192
	// DefaultSessionExpiry bounds how long the broker keeps the session
	// (subscriptions and unacknowledged messages) of a client that left
	// without a clean session, in seconds: a week.
	DefaultSessionExpiry = 7 * 24 * 3600
)

// Client is what [Access] knows of a client.
type Client struct {
	ID       string // the MQTT client identifier
	Username string
	Remote   string // its network address
}

// Access decides who may connect, and who may publish or subscribe where.
// Implementations must be safe for concurrent use.
type Access interface {
	// Authenticate reports whether c may connect with password.
	Authenticate(c Client, password []byte) bool
	// Authorize reports whether c may publish to (write) or subscribe to
	// (!write) topic, a topic filter when subscribing.
	Authorize(c Client, topic string, write bool) bool
}

// OpenAccess lets every client connect, publish and subscribe everywhere.
// It is the policy of this version (see the package documentation).
type OpenAccess struct{}

// Authenticate admits every client.
func (OpenAccess) Authenticate(Client, []byte) bool { return true }

// Authorize allows every topic.
func (OpenAccess) Authorize(Client, string, bool) bool { return true }

// Config configures the broker. The zero value of each field means its
// default.
type Config struct {
	// Addr is the TCP address to listen on; DefaultAddr if empty. Port 0
	// picks a free port: see [Broker.Addr].
	Addr string
	// MaxPacketSize bounds one MQTT packet, in bytes.
	MaxPacketSize uint32
	// MaxInflight bounds the QoS 1/2 messages awaiting acknowledgement per
	// client.
	MaxInflight uint16
	// MaxPendingWrites bounds the messages queued for one client.
	MaxPendingWrites int32
	// Access is the authentication and authorisation policy; OpenAccess if
	// nil.
	Access Access
}

// Broker is a running embedded broker.
type Broker struct {
	srv *mqtt.Server
	tcp *listeners.TCP
}

// Start listens on cfg.Addr and serves MQTT until Close.
func Start(cfg Config, log *slog.Logger) (*Broker, error) {
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.MaxPacketSize == 0 {
		cfg.MaxPacketSize = DefaultMaxPacketSize
	}
	if cfg.MaxInflight == 0 {
		cfg.MaxInflight = DefaultMaxInflight
	}
	if cfg.MaxPendingWrites == 0 {
		cfg.MaxPendingWrites = DefaultMaxPendingWrites
	}
	if cfg.Access == nil {
		cfg.Access = OpenAccess{}
	}
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumPacketSize = cfg.MaxPacketSize
	caps.MaximumInflight = cfg.MaxInflight
	caps.MaximumClientWritesPending = cfg.MaxPendingWrites
	caps.MaximumSessionExpiryInterval = DefaultSessionExpiry
	srv := mqtt.New(&mqtt.Options{
		Capabilities: caps,
		Logger:       slog.New(minLevel{min: slog.LevelWarn, h: log.Handler()}),
	})
	if err := srv.AddHook(&accessHook{access: cfg.Access}, nil); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	tcp := listeners.NewTCP(listeners.Config{ID: "tcp", Address: cfg.Addr})
	if err := srv.AddListener(tcp); err != nil {
		return nil, fmt.Errorf("broker: listen on %s: %w", cfg.Addr, err)
	}
	if err := srv.Serve(); err != nil {
		srv.Close()
		return nil, fmt.Errorf("broker: %w", err)
	}
	return &Broker{srv: srv, tcp: tcp}, nil
}

// Addr returns the address the broker listens on, with the port it got.
func (b *Broker) Addr() string { return b.tcp.Address() }

// Close disconnects every client and stops listening.
func (b *Broker) Close() error { return b.srv.Close() }

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

// accessHook plugs an Access into mochi's hooks.
type accessHook struct {
	mqtt.HookBase
	access Access
}

func (h *accessHook) ID() string { return "civisens-access" }

func (h *accessHook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnConnectAuthenticate, mqtt.OnACLCheck}, []byte{b})
}

func (h *accessHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	return h.access.Authenticate(client(cl), pk.Connect.Password)
}

func (h *accessHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	return h.access.Authorize(client(cl), topic, write)
}

func client(cl *mqtt.Client) Client {
	return Client{ID: cl.ID, Username: string(cl.Properties.Username), Remote: cl.Net.Remote}
}

// minLevel is a slog handler that drops records below min.
type minLevel struct {
	min slog.Level
	h   slog.Handler
}

func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.h.Enabled(ctx, l)
}
func (m minLevel) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "" { // mochi logs a client connection's end this way
		r.Message = "mqtt client connection ended with an error"
	}
	return m.h.Handle(ctx, r)
}
func (m minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{min: m.min, h: m.h.WithAttrs(as)}
}
func (m minLevel) WithGroup(name string) slog.Handler {
	return minLevel{min: m.min, h: m.h.WithGroup(name)}
}
