package publish

import (
	"log/slog"
	"slices"
	"sync"
	"testing"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// testBroker is an in-process mochi broker that records every PUBLISH it
// receives, in order of arrival, from the moment it listens: unlike a
// subscriber, it cannot miss what a fast client sends before the test
// subscribes.
type testBroker struct {
	Addr, URL string
	server    *mochi.Server
	once      sync.Once

	mu   sync.Mutex
	msgs [][]byte
}

// recordHook records publications; with reject, it swallows them without
// a PUBACK, like a broker that dies before acknowledging.
type recordHook struct {
	mochi.HookBase
	b      *testBroker
	reject bool
}

func (h *recordHook) ID() string { return "record" }

func (h *recordHook) Provides(b byte) bool { return b == mochi.OnPublish }

func (h *recordHook) OnPublish(_ *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	h.b.mu.Lock()
	h.b.msgs = append(h.b.msgs, slices.Clone(pk.Payload))
	h.b.mu.Unlock()
	if h.reject {
		return pk, packets.ErrRejectPacket
	}
	return pk, nil
}

// startBroker starts a recording broker on addr ("127.0.0.1:0" for any
// free port), closed when the test ends.
func startBroker(t *testing.T, addr string, reject bool) *testBroker {
	t.Helper()
	b := &testBroker{}
	s := mochi.New(&mochi.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := s.AddHook(new(auth.AllowHook), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.AddHook(&recordHook{b: b, reject: reject}, nil); err != nil {
		t.Fatal(err)
	}
	l := listeners.NewTCP(listeners.Config{ID: "tcp", Address: addr})
	if err := s.AddListener(l); err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	go s.Serve()
	b.Addr, b.URL, b.server = l.Address(), "tcp://"+l.Address(), s
	t.Cleanup(b.Close)
	return b
}

// Close stops the broker, dropping its clients.
func (b *testBroker) Close() { b.once.Do(func() { b.server.Close() }) }

// received returns the payloads received so far.
func (b *testBroker) received() [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.msgs)
}
