// Package brokertest runs the MQTT parts of the bridge's tests: an
// in-process mochi-mqtt broker on a loopback port, and a paho subscriber
// that keeps what it receives. Only tests import it.
package brokertest

import (
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// Broker is an in-process broker started for a test.
type Broker struct {
	Addr   string // 127.0.0.1:port
	URL    string // tcp://127.0.0.1:port
	server *mochi.Server
	once   sync.Once
}

// Start starts a broker on addr ("127.0.0.1:0" for any free port) that
// accepts anonymous clients, and closes it when the test ends.
func Start(t testing.TB, addr string) *Broker {
	t.Helper()
	return start(t, addr, new(auth.AllowHook), nil)
}

// StartWithUser starts a broker that accepts only username/password.
func StartWithUser(t testing.TB, addr, username, password string) *Broker {
	t.Helper()
	ledger := &auth.Ledger{Users: auth.Users{username: {Username: auth.RString(username), Password: auth.RString(password)}}}
	return start(t, addr, new(auth.Hook), &auth.Options{Ledger: ledger})
}

func start(t testing.TB, addr string, hook mochi.Hook, config any) *Broker {
	t.Helper()
	s := mochi.New(&mochi.Options{InlineClient: false, Logger: slog.New(slog.DiscardHandler)})
	if err := s.AddHook(hook, config); err != nil {
		t.Fatal(err)
	}
	l := listeners.NewTCP(listeners.Config{ID: "tcp", Address: addr})
	if err := s.AddListener(l); err != nil {
		t.Fatalf("brokertest: listen on %s: %v", addr, err)
	}
	go s.Serve()
	b := &Broker{Addr: l.Address(), URL: "tcp://" + l.Address(), server: s}
	t.Cleanup(b.Close)
	return b
}

// Close stops the broker, dropping its clients.
func (b *Broker) Close() { b.once.Do(func() { b.server.Close() }) }

// Inbox is a subscriber that keeps every message it receives, by topic.
type Inbox struct {
	mu   sync.Mutex
	msgs map[string][][]byte
}

// Subscribe connects a subscriber to the broker at url, subscribes to
// filter with QoS 1, and returns once the broker has acknowledged. It
// disconnects when the test ends.
func Subscribe(t testing.TB, url, filter string) *Inbox {
	t.Helper()
	in := &Inbox{msgs: map[string][][]byte{}}
	opts := paho.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("test-sub-%p", in)).
		SetConnectTimeout(5 * time.Second)
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("brokertest: subscriber cannot connect to %s: %v", url, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	tok := c.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) {
		in.mu.Lock()
		defer in.mu.Unlock()
		in.msgs[m.Topic()] = append(in.msgs[m.Topic()], m.Payload())
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("brokertest: subscribe %s: %v", filter, tok.Error())
	}
	return in
}

// Messages returns a copy of what was received, by topic, oldest first.
func (in *Inbox) Messages() map[string][][]byte {
	in.mu.Lock()
	defer in.mu.Unlock()
	return maps.Clone(in.msgs)
}

// Last returns the last message received on topic, if any.
func (in *Inbox) Last(topic string) ([]byte, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	ms := in.msgs[topic]
	if len(ms) == 0 {
		return nil, false
	}
	return ms[len(ms)-1], true
}

// Count returns how many messages were received on topic.
func (in *Inbox) Count(topic string) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.msgs[topic])
}
