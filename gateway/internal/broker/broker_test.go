package broker

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

func start(t *testing.T, cfg Config) (*Broker, *syncBuffer) {
	t.Helper()
	var logs syncBuffer
	b, err := Start(cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, &logs
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func connect(t *testing.T, addr, id, user, pass string) (paho.Client, error) {
	t.Helper()
	opts := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).
		SetUsername(user).SetPassword(pass).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	c := paho.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		t.Fatal("connect timed out")
	}
	if tok.Error() == nil {
		t.Cleanup(func() { c.Disconnect(100) })
	}
	return c, tok.Error()
}

func TestPublishSubscribe(t *testing.T) {
	b, logs := start(t, Config{Addr: "127.0.0.1:0"})
	host, port, err := net.SplitHostPort(b.Addr())
	if err != nil || host != "127.0.0.1" || port == "0" {
		t.Fatalf("Addr() = %q: the bound port is not reported", b.Addr())
	}

	sub, err := connect(t, b.Addr(), "sub", "", "")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	if tok := sub.Subscribe("sensors/+/senml", 1, func(_ paho.Client, m paho.Message) { got <- string(m.Payload()) }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	pub, err := connect(t, b.Addr(), "pub", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if tok := pub.Publish("sensors/air-hdv-01/senml", 1, false, `[{"n":"pm10","v":1}]`); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	select {
	case m := <-got:
		if m != `[{"n":"pm10","v":1}]` {
			t.Errorf("received %q", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the message did not arrive")
	}
	if st := b.Stats(); st.ClientsConnected != 2 {
		t.Errorf("Stats = %+v, want 2 clients", st)
	}
	if strings.Contains(logs.String(), "level=INFO") {
		t.Errorf("mochi's info lines were not silenced:\n%s", logs)
	}
}

func TestPacketSizeLimit(t *testing.T) {
	b, _ := start(t, Config{Addr: "127.0.0.1:0", MaxPacketSize: 1024})
	pub, err := connect(t, b.Addr(), "pub", "", "")
	if err != nil {
		t.Fatal(err)
	}
	tok := pub.Publish("sensors/air-hdv-01/senml", 1, false, strings.Repeat("x", 2048))
	tok.WaitTimeout(5 * time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for pub.IsConnectionOpen() {
		if time.Now().After(deadline) {
			t.Fatal("a client that sent an oversized packet is still connected")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// denyAccess admits one user and lets it publish to its own topic only.
type denyAccess struct{}

func (denyAccess) Authenticate(c Client, password []byte) bool {
	return c.Username == "air-hdv-01" && string(password) == "right"
}
func (denyAccess) Authorize(c Client, topic string, write bool) bool {
	return write && topic == "sensors/"+c.Username+"/senml"
}

func TestAccessSeam(t *testing.T) {
	b, _ := start(t, Config{Addr: "127.0.0.1:0", Access: denyAccess{}})
	if _, err := connect(t, b.Addr(), "x", "air-hdv-01", "wrong"); err == nil {
		t.Error("a wrong password was admitted")
	}
	c, err := connect(t, b.Addr(), "y", "air-hdv-01", "right")
	if err != nil {
		t.Fatalf("the right password was refused: %v", err)
	}
	tok := c.Subscribe("sensors/+/senml", 1, nil)
	tok.WaitTimeout(5 * time.Second)
	st, ok := tok.(*paho.SubscribeToken)
	if !ok || st.Result()["sensors/+/senml"] != 0x80 {
		t.Errorf("a subscription the policy refuses was granted: %v", st.Result())
	}
}
