package broker

import (
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// A reader that falls behind slows the publishers down instead of losing
// their messages: with 8 messages allowed in flight to the reader, a
// publisher's 40 messages wait for their PUBACK while the reader holds
// its acknowledgements, and all 40 arrive once it acknowledges; the
// broker drops none.
func TestSlowReaderHoldsPublishersBack(t *testing.T) {
	b := start(t, Config{MaxInflight: 8, ReceiveMaximum: 8})
	r := holdingReader(t, b)
	var (
		mu      = &r.mu
		held    = &r.held
		arrived = r.arrived
	)
	pub := mustConnect(t, b.Addr(), "pub", "air-hdv-01", "pw-air-hdv-01")
	const n = 40
	toks := make([]paho.Token, n)
	for i := range n {
		toks[i] = pub.Publish("sensors/air-hdv-01/senml", 1, false, fmt.Sprintf(`[{"n":"pm10","v":%d}]`, i))
	}
	// The reader holds 8 unacknowledged; the broker holds the rest back.
	eventually(t, "the broker to hold publishers back", func() bool {
		return b.metric(t, "civisens_gateway_broker_backpressure_waits_total") >= 1
	})
	done := 0
	for _, tok := range toks {
		select {
		case <-tok.Done():
			done++
		default:
		}
	}
	if done == n {
		t.Fatalf("every publication was acknowledged while the reader held %d messages", len(*held))
	}
	// The reader catches up.
	mu.Lock()
	r.acking = true
	for _, m := range *held {
		m.Ack()
	}
	mu.Unlock()
	for i, tok := range toks {
		if !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
			t.Fatalf("publication %d: %v", i, tok.Error())
		}
	}
	eventually(t, "every message at the reader", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(arrived) == n
	})
	if st := b.Stats(); st.MessagesDropped != 0 || st.InflightDropped != 0 {
		t.Errorf("the broker dropped messages: %+v", st)
	}
}

// holdReader is the gateway's reader, holding its acknowledgements until
// acking is set.
type holdReader struct {
	mu      sync.Mutex
	held    []paho.Message
	acking  bool
	arrived map[string]bool
}

func holdingReader(t *testing.T, b *testBroker) *holdReader {
	t.Helper()
	r := &holdReader{arrived: map[string]bool{}}
	u, _ := url.Parse(b.policy.ReaderURL(b.InternalAddr()))
	pass, _ := u.User.Password()
	opts := paho.NewClientOptions().AddBroker("tcp://" + u.Host).SetClientID("civisens-gateway").
		SetUsername(u.User.Username()).SetPassword(pass).SetAutoReconnect(false).SetCleanSession(false).
		SetProtocolVersion(4).SetAutoAckDisabled(true).SetOrderMatters(false)
	reader := paho.NewClient(opts)
	if tok := reader.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("reader: %v", tok.Error())
	}
	t.Cleanup(func() { reader.Disconnect(100) })
	if tok := reader.Subscribe("sensors/+/senml", 1, func(_ paho.Client, m paho.Message) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.arrived[string(m.Payload())] = true
		if r.acking {
			m.Ack()
			return
		}
		r.held = append(r.held, m)
	}); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("reader subscribe: %v", tok.Error())
	}
	return r
}

// A reader full for longer than the broker waits: the publication is
// refused without a PUBACK and its publisher disconnected, so that it
// sends the message again when it reconnects (an MQTT client does not
// before) instead of holding it in flight for good.
func TestPublisherDisconnectedWhenTheReaderStaysFull(t *testing.T) {
	b := start(t, Config{MaxInflight: 8, ReceiveMaximum: 8})
	b.hook.maxWait = 200 * time.Millisecond
	holdingReader(t, b)
	lost := make(chan error, 1)
	opts := paho.NewClientOptions().AddBroker("tcp://" + b.Addr()).SetClientID("pub").
		SetUsername("air-hdv-01").SetPassword("pw-air-hdv-01").SetAutoReconnect(false).
		SetConnectionLostHandler(func(_ paho.Client, err error) { lost <- err })
	pub := paho.NewClient(opts)
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher: %v", tok.Error())
	}
	t.Cleanup(func() { pub.Disconnect(100) })
	for i := range 20 {
		pub.Publish("sensors/air-hdv-01/senml", 1, false, fmt.Sprintf(`[{"n":"pm10","v":%d}]`, i))
	}
	select {
	case <-lost:
	case <-time.After(15 * time.Second):
		t.Fatal("the publisher stayed connected with its message refused")
	}
	if v := b.metric(t, "civisens_gateway_broker_backpressure_refused_total"); v < 1 {
		t.Errorf("refusals counted: %v", v)
	}
}
