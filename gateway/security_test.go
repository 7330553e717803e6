package main

// The embedded broker's security, through run(): credentials from the
// registry's allow-list, topic rules, revocation at the next refresh, a
// real InfluxDB.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/crypto/bcrypt"

	"github.com/civisens/civisens/internal/testinfra"
	"github.com/civisens/civisens/registry/registryapi"
)

// testBridge is a firmware bridge of the fake registry, assigned every
// sensor the tests publish for.
const testBridge = "bridge.test"

// testPassword is the MQTT password the fake registry issued to user.
func testPassword(user string) string { return "pw-" + user }

var testHashes sync.Map

func testHash(user string) string {
	if h, ok := testHashes.Load(user); ok {
		return h.(string)
	}
	// MinCost: the gateway checks any cost, and tests need not wait.
	h, err := bcrypt.GenerateFromPassword([]byte(testPassword(user)), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	testHashes.Store(user, string(h))
	return string(h)
}

// testCredentials are the MQTT credentials of the fake registry's
// allow-list: two sensors' own, and the test bridge's. The bridge is
// assigned the draft and an unknown sensor too, which a real registry would
// not list, so that tests can show that ingest still refuses their
// readings.
func testCredentials() []registryapi.Credential {
	return []registryapi.Credential{
		{Username: "air-hdv-01", Hash: testHash("air-hdv-01"), Sensors: []string{"air-hdv-01"}},
		{Username: "energy-ecole-02", Hash: testHash("energy-ecole-02"), Sensors: []string{"energy-ecole-02"}},
		{Username: testBridge, Hash: testHash(testBridge), Sensors: []string{"air-hdv-01", "energy-ecole-02", "parking-gare-03", "air-inconnu-99"}},
	}
}

// switchableRegistry serves an allow-list that the test replaces, with an
// ETag per version.
type switchableRegistry struct {
	*httptest.Server
	version atomic.Int64
	mu      sync.Mutex
	body    []byte
}

func newSwitchableRegistry(t *testing.T, al registryapi.AllowList) *switchableRegistry {
	t.Helper()
	r := &switchableRegistry{}
	r.set(t, al)
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != registryapi.PathAllowList {
			http.NotFound(w, req)
			return
		}
		etag := fmt.Sprintf(`"v%d"`, r.version.Load())
		if req.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		r.mu.Lock()
		body := r.body
		r.mu.Unlock()
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *switchableRegistry) set(t *testing.T, al registryapi.AllowList) {
	t.Helper()
	b, err := json.Marshal(al)
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.body = b
	r.mu.Unlock()
	r.version.Add(1)
}

// mqttClient connects to addr as user; it returns the client or the
// connection error.
func mqttClient(t *testing.T, addr, id, user, password string) (paho.Client, error) {
	t.Helper()
	opts := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).
		SetUsername(user).SetPassword(password).SetProtocolVersion(4).
		SetCleanSession(true).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	c := paho.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		t.Fatalf("connect to %s as %q timed out", addr, user)
	}
	if tok.Error() != nil {
		return nil, tok.Error()
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c, nil
}

func TestGatewayBrokerSecurity(t *testing.T) {
	influx := testinfra.StartInfluxDB(t)
	registry := newSwitchableRegistry(t, allowList())
	g := startGateway(t, "-registry-url", registry.URL, "-data-dir", t.TempDir(), "-influx-url", influx.URL,
		"-influx-bucket", "security", "-allowlist-refresh", "1s")
	failures := func(reason string) float64 {
		return max(g.metric(t, `civisens_gateway_broker_auth_failures_total{reason="`+reason+`"}`), 0)
	}
	denied := func(reason string) float64 {
		return max(g.metric(t, `civisens_gateway_broker_acl_denied_total{reason="`+reason+`"}`), 0)
	}

	// A sensor with the credential the registry issued lands in InfluxDB.
	sensor, err := mqttClient(t, g.MQTT, "capteur-hdv", "air-hdv-01", testPassword("air-hdv-01"))
	if err != nil {
		t.Fatalf("the sensor's own credential was refused: %v", err)
	}
	at := time.Now().Add(-time.Minute).Truncate(time.Second)
	if tok := sensor.Publish("sensors/air-hdv-01/senml", 1, false,
		fmt.Sprintf(`[{"bn":"air-hdv-01:","bt":%d,"n":"pm10","u":"ug/m3","v":17.5}]`, at.Unix())); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	row := waitRow(t, influx, "security", `SELECT * FROM "civisens_p1y"."air" WHERE "sensor" = 'air-hdv-01'`)
	checkRow(t, row, at.UnixNano(), map[string]float64{"pm10": 17.5}, map[string]string{"sensor": "air-hdv-01"})

	// Without the credential, nothing gets in.
	for _, tc := range []struct{ user, password, reason string }{
		{"", "", "anonymous"},
		{"air-hdv-01", "not-the-password", "bad_password"},
		{"air-inconnu-99", "pw-air-inconnu-99", "unknown_user"},
	} {
		before := failures(tc.reason)
		if _, err := mqttClient(t, g.MQTT, "intrus-"+tc.reason, tc.user, tc.password); err == nil {
			t.Errorf("connected as %q with a wrong credential (%s)", tc.user, tc.reason)
		}
		if got := failures(tc.reason); got != before+1 {
			t.Errorf("auth_failures{%s} = %v, want %v", tc.reason, got, before+1)
		}
	}

	// A sensor publishing on another sensor's topic, or subscribing, is
	// denied; its reading never lands.
	if tok := sensor.Publish("sensors/energy-ecole-02/senml", 1, false,
		fmt.Sprintf(`[{"n":"energy_wh","u":"Wh","v":9191,"t":%d}]`, at.Unix())); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	tok := sensor.Subscribe("sensors/+/senml", 1, nil)
	tok.WaitTimeout(5 * time.Second)
	if r := tok.(*paho.SubscribeToken).Result()["sensors/+/senml"]; r != 0x80 {
		t.Errorf("a sensor may subscribe: SUBACK %#x", r)
	}
	testinfra.Eventually(t, 5*time.Second, func() error {
		if denied("other_sensor") != 1 || denied("subscribe") != 1 {
			return fmt.Errorf("acl_denied other_sensor=%v subscribe=%v", denied("other_sensor"), denied("subscribe"))
		}
		return nil
	})
	// A later reading through the gateway's pipeline lands: the forged one
	// would have been before it.
	publish(t, g.MQTT, "energy-ecole-02", fmt.Sprintf(`[{"n":"energy_wh","u":"kWh","v":4.5,"t":%d}]`, at.Unix()))
	row = waitRow(t, influx, "security", `SELECT * FROM "civisens_p10y"."energy"`)
	checkRow(t, row, at.UnixNano(), map[string]float64{"energy_wh": 4500}, nil) // converted from kWh
	if v := g.metric(t, "civisens_gateway_messages_received_total"); v != 2 {
		t.Errorf("the gateway received %v messages, want 2 (the forged one never reached it)", v)
	}

	// The registry revokes the sensor's credential: at the next refresh its
	// session ends, and it cannot come back.
	revoked := allowList()
	revoked.Credentials = revoked.Credentials[1:]
	registry.set(t, revoked)
	testinfra.Eventually(t, 10*time.Second, func() error {
		if sensor.IsConnectionOpen() {
			return fmt.Errorf("the revoked sensor is still connected")
		}
		return nil
	})
	if _, err := mqttClient(t, g.MQTT, "capteur-hdv", "air-hdv-01", testPassword("air-hdv-01")); err == nil {
		t.Error("a revoked credential connects again")
	}
	if v := g.metric(t, "civisens_gateway_broker_sessions_revoked_total"); v != 1 {
		t.Errorf("sessions_revoked_total = %v", v)
	}
	if v := g.metric(t, "civisens_gateway_broker_credentials"); v != 2 {
		t.Errorf("broker_credentials = %v, want 2", v)
	}

	// The gateway's own reader is still subscribed, and no password shows.
	if v := g.metric(t, "civisens_gateway_mqtt_connected"); v != 1 {
		t.Error("the gateway's reader lost its connection")
	}
	_, health := g.health(t)
	if !strings.Contains(health, "gateway.reader:xxxxx@127.0.0.1:") {
		t.Errorf("/healthz does not show the reader's URL redacted: %s", health)
	}
	if strings.Contains(g.Log.String(), testPassword("air-hdv-01")) {
		t.Error("a sensor's password is logged")
	}
}
