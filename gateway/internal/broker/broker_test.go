package broker

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/civisens/civisens/gateway/internal/metrics"
	"github.com/civisens/civisens/internal/testinfra"
)

// testBroker is a running broker with the test credentials.
type testBroker struct {
	*Broker
	policy *Policy
	reg    *metrics.Registry
	logs   *syncBuffer
}

func start(t *testing.T, cfg Config) *testBroker {
	t.Helper()
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	reg := metrics.NewRegistry()
	p, err := NewPolicy(PolicyConfig{ReaderClientID: "civisens-gateway"}, log, reg)
	if err != nil {
		t.Fatal(err)
	}
	p.SetCredentials(testCredentials(t))
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	cfg.Access = p
	b, err := Start(cfg, log, reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return &testBroker{Broker: b, policy: p, reg: reg, logs: &logs}
}

// metric returns the value of a series as exposed, e.g.
// `civisens_gateway_broker_acl_denied_total{reason="subscribe"}`.
func (b *testBroker) metric(t *testing.T, series string) float64 {
	t.Helper()
	var buf bytes.Buffer
	b.reg.WriteTo(&buf)
	for _, line := range strings.Split(buf.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(rest, 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatalf("no series %s in:\n%s", series, buf.String())
	return 0
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

func connectURL(t *testing.T, broker, id, user, pass string, tlsCfg *tls.Config) (paho.Client, error) {
	t.Helper()
	opts := paho.NewClientOptions().AddBroker(broker).SetClientID(id).
		SetUsername(user).SetPassword(pass).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).
		SetCleanSession(true).SetProtocolVersion(4) // else paho tries 3.1.1, then 3.1
	if tlsCfg != nil {
		opts.SetTLSConfig(tlsCfg)
	}
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

func connect(t *testing.T, addr, id, user, pass string) (paho.Client, error) {
	t.Helper()
	return connectURL(t, "tcp://"+addr, id, user, pass, nil)
}

func mustConnect(t *testing.T, addr, id, user, pass string) paho.Client {
	t.Helper()
	c, err := connect(t, addr, id, user, pass)
	if err != nil {
		t.Fatalf("connect as %q: %v", user, err)
	}
	return c
}

// reader connects as the gateway's reader and subscribes to
// sensors/+/senml; what arrives goes to the channel, as topic payload.
func (b *testBroker) reader(t *testing.T) chan string {
	t.Helper()
	got := make(chan string, 100)
	u, _ := url.Parse(b.policy.ReaderURL(b.InternalAddr()))
	pass, _ := u.User.Password()
	c, err := connect(t, u.Host, "civisens-gateway", u.User.Username(), pass)
	if err != nil {
		t.Fatalf("reader: %v", err)
	}
	tok := c.Subscribe("sensors/+/senml", 1, func(_ paho.Client, m paho.Message) { got <- m.Topic() + " " + string(m.Payload()) })
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("reader subscribe: %v", tok.Error())
	}
	if st := tok.(*paho.SubscribeToken); st.Result()["sensors/+/senml"] != 1 {
		t.Fatalf("reader subscription refused: %v", st.Result())
	}
	return got
}

func publish(t *testing.T, c paho.Client, topic, payload string) {
	t.Helper()
	if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

func expect(t *testing.T, got chan string, want string) {
	t.Helper()
	select {
	case m := <-got:
		if m != want {
			t.Errorf("received %q, want %q", m, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%q did not arrive", want)
	}
}

func expectNothing(t *testing.T, got chan string) {
	t.Helper()
	select {
	case m := <-got:
		t.Errorf("received %q, want nothing", m)
	case <-time.After(300 * time.Millisecond):
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPublishSubscribe(t *testing.T) {
	b := start(t, Config{})
	host, port, err := net.SplitHostPort(b.Addr())
	if err != nil || host != "127.0.0.1" || port == "0" {
		t.Fatalf("Addr() = %q: the bound port is not reported", b.Addr())
	}
	if h, _, _ := net.SplitHostPort(b.InternalAddr()); h != "127.0.0.1" || b.InternalAddr() == b.Addr() {
		t.Errorf("InternalAddr() = %q", b.InternalAddr())
	}
	if b.TLSAddr() != "" {
		t.Errorf("a TLS listener without TLSAddr: %q", b.TLSAddr())
	}
	got := b.reader(t)
	pub := mustConnect(t, b.Addr(), "pub", "air-hdv-01", "pw-air-hdv-01")
	publish(t, pub, "sensors/air-hdv-01/senml", `[{"n":"pm10","v":1}]`)
	expect(t, got, `sensors/air-hdv-01/senml [{"n":"pm10","v":1}]`)
	if st := b.Stats(); st.ClientsConnected != 2 {
		t.Errorf("Stats = %+v, want 2 clients", st)
	}
	if strings.Contains(b.logs.String(), "level=INFO msg=\"mochi") {
		t.Errorf("mochi's info lines were not silenced:\n%s", b.logs)
	}
	if strings.Contains(b.logs.String(), "pw-air-hdv-01") || strings.Contains(b.logs.String(), string(b.policy.readerPassword)) {
		t.Errorf("a password was logged:\n%s", b.logs)
	}
}

func TestAuthentication(t *testing.T) {
	b := start(t, Config{})
	for _, tc := range []struct {
		name, user, pass, reason string
	}{
		{"anonymous", "", "", AuthAnonymous},
		{"unknown user", "air-inconnu-99", "x", AuthUnknownUser},
		{"wrong password", "air-hdv-01", "pw-air-gare-02", AuthBadPassword},
		{"reader's username on the public listener", ReaderUsername, string(b.policy.readerPassword), AuthReaderElsewhere},
	} {
		before := b.metric(t, `civisens_gateway_broker_auth_failures_total{reason="`+tc.reason+`"}`)
		if _, err := connect(t, b.Addr(), "c-"+tc.reason, tc.user, tc.pass); err == nil {
			t.Errorf("%s: admitted", tc.name)
		}
		if got := b.metric(t, `civisens_gateway_broker_auth_failures_total{reason="`+tc.reason+`"}`); got != before+1 {
			t.Errorf("%s: auth_failures{%s} = %v, want %v", tc.name, tc.reason, got, before+1)
		}
	}
	// A sensor's credential on the internal listener.
	if _, err := connect(t, b.InternalAddr(), "x", "air-hdv-01", "pw-air-hdv-01"); err == nil {
		t.Error("a sensor was admitted on the internal listener")
	}
	// The right password, twice: the second costs no bcrypt.
	c := mustConnect(t, b.Addr(), "first", "air-hdv-01", "pw-air-hdv-01")
	c.Disconnect(100)
	mustConnect(t, b.Addr(), "second", "air-hdv-01", "pw-air-hdv-01")
	if got := b.metric(t, "civisens_gateway_broker_auth_cache_hits_total"); got != 1 {
		t.Errorf("auth_cache_hits_total = %v, want 1", got)
	}
	// Nobody takes the gateway's client id, nor another user's connection.
	if _, err := connect(t, b.Addr(), "civisens-gateway", "air-gare-02", "pw-air-gare-02"); err == nil {
		t.Error("a sensor took the gateway's client id")
	}
	if _, err := connect(t, b.Addr(), "second", "air-gare-02", "pw-air-gare-02"); err == nil {
		t.Error("a sensor took the client id of another user's connection")
	}
	if !strings.Contains(b.logs.String(), `msg="mqtt connection refused" reason=bad_password username=air-hdv-01`) {
		t.Errorf("refusals are not logged:\n%s", b.logs)
	}
}

func TestACL(t *testing.T) {
	b := start(t, Config{})
	got := b.reader(t)
	sensor := mustConnect(t, b.Addr(), "s1", "air-hdv-01", "pw-air-hdv-01")

	// Another sensor's topic: acknowledged (MQTT 3.1.1), not delivered,
	// counted, and the client stays connected.
	publish(t, sensor, "sensors/air-gare-02/senml", `[{"n":"pm10","v":2}]`)
	publish(t, sensor, "sensors/air-hdv-01/raw", `x`)
	publish(t, sensor, "sensors/air-hdv-01/senml", `[{"n":"pm10","v":3}]`)
	expect(t, got, `sensors/air-hdv-01/senml [{"n":"pm10","v":3}]`)
	expectNothing(t, got)
	if !sensor.IsConnectionOpen() {
		t.Error("a denied publication disconnected the sensor")
	}
	if v := b.metric(t, `civisens_gateway_broker_acl_denied_total{reason="other_sensor"}`); v != 1 {
		t.Errorf("acl_denied{other_sensor} = %v", v)
	}
	if v := b.metric(t, `civisens_gateway_broker_acl_denied_total{reason="bad_topic"}`); v != 1 {
		t.Errorf("acl_denied{bad_topic} = %v", v)
	}

	// Subscriptions by a sensor are refused.
	tok := sensor.Subscribe("sensors/+/senml", 1, nil)
	tok.WaitTimeout(5 * time.Second)
	if st := tok.(*paho.SubscribeToken); st.Result()["sensors/+/senml"] != 0x80 {
		t.Errorf("a sensor's subscription was granted: %v", st.Result())
	}
	if v := b.metric(t, `civisens_gateway_broker_acl_denied_total{reason="subscribe"}`); v != 1 {
		t.Errorf("acl_denied{subscribe} = %v", v)
	}

	// A bridge publishes for its assigned sensors only.
	bridge := mustConnect(t, b.Addr(), "lora", "bridge.lora", "pw-bridge-lora")
	publish(t, bridge, "sensors/air-hdv-01/senml", `[{"n":"pm10","v":4}]`)
	publish(t, bridge, "sensors/parking-gare-03/senml", `[{"n":"occupancy","v":1}]`)
	expect(t, got, `sensors/parking-gare-03/senml [{"n":"occupancy","v":1}]`)
	expectNothing(t, got)
	if v := b.metric(t, `civisens_gateway_broker_acl_denied_total{reason="not_assigned"}`); v != 1 {
		t.Errorf("acl_denied{not_assigned} = %v", v)
	}

	// The retain flag is dropped: a late subscriber gets nothing old.
	publish(t, sensor, "sensors/air-hdv-01/senml", `retained?`) // QoS 1, retain false
	if tok := sensor.Publish("sensors/air-hdv-01/senml", 1, true, `[{"n":"pm10","v":5}]`); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	expect(t, got, `sensors/air-hdv-01/senml retained?`)
	expect(t, got, `sensors/air-hdv-01/senml [{"n":"pm10","v":5}]`)
	for topic := range b.srv.Topics.Retained.GetAll() {
		if !strings.HasPrefix(topic, "$SYS/") {
			t.Errorf("the broker kept a retained message on %s", topic)
		}
	}
}

func TestRevocationDisconnects(t *testing.T) {
	b := start(t, Config{})
	got := b.reader(t)
	kept := mustConnect(t, b.Addr(), "kept", "air-gare-02", "pw-air-gare-02")
	gone := mustConnect(t, b.Addr(), "gone", "air-hdv-01", "pw-air-hdv-01")

	creds := testCredentials(t)
	b.policy.SetCredentials(creds[1:]) // air-hdv-01 revoked at the refresh
	if n := b.Revalidate(); n != 1 {
		t.Errorf("Revalidate ended %d sessions, want 1", n)
	}
	eventually(t, "the revoked sensor is disconnected", func() bool { return !gone.IsConnectionOpen() })
	if _, err := connect(t, b.Addr(), "gone2", "air-hdv-01", "pw-air-hdv-01"); err == nil {
		t.Error("a revoked credential connects again")
	}
	publish(t, kept, "sensors/air-gare-02/senml", `still here`)
	expect(t, got, `sensors/air-gare-02/senml still here`)
	if v := b.metric(t, "civisens_gateway_broker_sessions_revoked_total"); v != 1 {
		t.Errorf("sessions_revoked_total = %v", v)
	}

	// A rotation ends the session too; the new password works.
	creds[1].Hash = bcryptHash(t, "new-password")
	b.policy.SetCredentials(creds[1:])
	b.Revalidate()
	eventually(t, "the rotated sensor is disconnected", func() bool { return !kept.IsConnectionOpen() })
	if _, err := connect(t, b.Addr(), "kept2", "air-gare-02", "pw-air-gare-02"); err == nil {
		t.Error("the old password works after rotation")
	}
	mustConnect(t, b.Addr(), "kept3", "air-gare-02", "new-password")
	// The reader was never disconnected.
	publish(t, mustConnect(t, b.Addr(), "kept4", "air-gare-02", "new-password"), "sensors/air-gare-02/senml", `after`)
	expect(t, got, `sensors/air-gare-02/senml after`)
}

func TestPacketSizeLimit(t *testing.T) {
	b := start(t, Config{MaxPacketSize: 1024})
	pub := mustConnect(t, b.Addr(), "pub", "air-hdv-01", "pw-air-hdv-01")
	tok := pub.Publish("sensors/air-hdv-01/senml", 1, false, strings.Repeat("x", 2048))
	tok.WaitTimeout(5 * time.Second)
	eventually(t, "a client that sent an oversized packet is disconnected", func() bool { return !pub.IsConnectionOpen() })
	eventually(t, "the limit is counted", func() bool {
		return b.metric(t, `civisens_gateway_broker_limited_total{limit="packet_size"}`) == 1
	})
}

func TestConnectionRateLimit(t *testing.T) {
	b := start(t, Config{MaxConnRate: 1}) // a burst of 2, then 1 a second
	// The reader's internal listener is not limited. (Connected first:
	// mochi's Close races with a connection that started from zero
	// connections and never sent CONNECT.)
	b.reader(t)
	var open, closed int
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
		// Let the broker drop them before it closes: mochi's Close races
		// with connections still waiting for their CONNECT.
		time.Sleep(200 * time.Millisecond)
	}()
	for range 6 {
		c, err := net.Dial("tcp", b.Addr())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, err = c.Read(make([]byte, 1))
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() { // kept open, waiting for CONNECT
			open++
		} else {
			closed++
		}
	}
	if open < 2 || closed < 3 {
		t.Errorf("%d connections kept, %d closed; want the burst (2, maybe 3) kept and the rest closed", open, closed)
	}
	// The broker counts a refused connection as it closes it: the client may
	// see the close a moment before the count.
	testinfra.Eventually(t, 5*time.Second, func() error {
		if v := b.metric(t, `civisens_gateway_broker_limited_total{limit="conn_rate"}`); v != float64(closed) {
			return fmt.Errorf("limited_total{conn_rate} = %v, want %d", v, closed)
		}
		return nil
	})
}

func TestHandshakeTimeout(t *testing.T) {
	b := start(t, Config{HandshakeTimeout: 200 * time.Millisecond})
	b.reader(t) // see TestConnectionRateLimit
	c, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if _, err := c.Read(make([]byte, 1)); err == nil || time.Since(start) > 3*time.Second {
		t.Errorf("a connection that sent no CONNECT is still open after %v (%v)", time.Since(start), err)
	}
}

// TestWillOnAnotherTopicIsDropped connects with a raw CONNECT whose will
// names another sensor's topic, then drops the connection: the will must
// not reach the reader.
func TestWillOnAnotherTopicIsDropped(t *testing.T) {
	b := start(t, Config{})
	got := b.reader(t)
	for _, tc := range []struct{ topic, payload string }{
		{"sensors/air-gare-02/senml", "forged"},
		{"sensors/air-hdv-01/senml", "own will"},
	} {
		conn, err := net.Dial("tcp", b.Addr())
		if err != nil {
			t.Fatal(err)
		}
		pk := packets.Packet{
			FixedHeader:     packets.FixedHeader{Type: packets.Connect},
			ProtocolVersion: 4,
			Connect: packets.ConnectParams{
				ProtocolName: []byte("MQTT"), Clean: true, Keepalive: 30, ClientIdentifier: "will-" + tc.payload[:3],
				UsernameFlag: true, Username: []byte("air-hdv-01"), PasswordFlag: true, Password: []byte("pw-air-hdv-01"),
				WillFlag: true, WillTopic: tc.topic, WillPayload: []byte(tc.payload), WillQos: 1,
			},
		}
		var buf bytes.Buffer
		if err := pk.ConnectEncode(&buf); err != nil {
			t.Fatal(err)
		}
		conn.Write(buf.Bytes())
		ack := make([]byte, 4)
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := conn.Read(ack); err != nil || ack[0] != 0x20 || ack[3] != 0 {
			t.Fatalf("CONNACK %x, %v", ack, err)
		}
		conn.Close() // without DISCONNECT: the will is due
	}
	expect(t, got, "sensors/air-hdv-01/senml own will")
	expectNothing(t, got)
	if v := b.metric(t, `civisens_gateway_broker_acl_denied_total{reason="other_sensor"}`); v != 1 {
		t.Errorf("the forged will was not counted: %v", v)
	}
}
