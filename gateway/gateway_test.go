package main

// End-to-end tests: run() with a real broker (the embedded one, or Debian's
// mosquitto) and a real InfluxDB 1.8.10. The registry is a fake serving a
// realistic allow-list: it is not what these tests are about.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/civisens/civisens/internal/testinfra"
	"github.com/civisens/civisens/registry/registryapi"
)

func fp(v float64) *float64 { return &v }

// allowList is what the fake registry serves.
func allowList() registryapi.AllowList {
	return registryapi.AllowList{
		GeneratedAt: time.Now().UTC(),
		Sensors: []registryapi.GatewaySensor{
			{
				ID: "air-hdv-01", Category: registryapi.CategoryAir, Site: "hotel-de-ville",
				Tags: map[string]string{"zone": "centre"},
				Quantities: []registryapi.Quantity{
					{Name: "pm10", Unit: "ug/m3", Min: fp(0), Max: fp(1000), PeriodSeconds: 60, Label: registryapi.Text{FR: "PM10", EN: "PM10"}},
					{Name: "temperature", Unit: "Cel", Min: fp(-40), Max: fp(60), PeriodSeconds: 60, Label: registryapi.Text{FR: "Température", EN: "Temperature"}},
				},
				Retention: "P1Y", Status: registryapi.StatusActive,
			},
			{
				ID: "energy-ecole-02", Category: registryapi.CategoryEnergy, Site: "ecole-jules-ferry",
				Tags: map[string]string{"building": "ecole-jules-ferry", "meter": "general"},
				Quantities: []registryapi.Quantity{
					{Name: "energy_wh", Unit: "Wh", Min: fp(0), PeriodSeconds: 600, Label: registryapi.Text{FR: "Énergie", EN: "Energy"}},
				},
				Retention: "P10Y", Status: registryapi.StatusActive,
			},
			{
				ID: "parking-gare-03", Category: registryapi.CategoryParking, Site: "gare",
				Quantities: []registryapi.Quantity{{Name: "occupancy", Unit: "/", Min: fp(0), Max: fp(1)}},
				Retention:  "P3M", Status: registryapi.StatusDraft, // not published
			},
		},
		Credentials: testCredentials(), // security_test.go
	}
}

// fakeRegistry serves the allow-list with an ETag, as the registry does.
func fakeRegistry(t *testing.T) *httptest.Server {
	t.Helper()
	return testinfra.AllowListServer(t, allowList(), `"allowlist-1"`)
}

// logWatch collects the gateway's log lines.
type logWatch struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logWatch) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

func (l *logWatch) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// find returns the first submatch of re in the log.
func (l *logWatch) find(re *regexp.Regexp) (string, bool) {
	m := re.FindStringSubmatch(l.String())
	if m == nil {
		return "", false
	}
	return m[1], true
}

var (
	brokerAddrRe = regexp.MustCompile(`msg="mqtt broker listening".* addr=(\S+)`)
	httpAddrRe   = regexp.MustCompile(`msg="http listening".* addr=(\S+)`)
)

// gateway is a run() of the program.
type gateway struct {
	MQTT string // the embedded broker's address, if any
	HTTP string
	Log  *logWatch
	stop func() error
}

// startGateway calls run with args (every address on a free port) and waits
// until it is subscribed.
func startGateway(t *testing.T, args ...string) *gateway {
	t.Helper()
	base := []string{"-mqtt-listen", "127.0.0.1:0", "-http-listen", "127.0.0.1:0", "-flush-interval", "50ms", "-log-level", "debug"}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &logWatch{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, append(base, args...), func(string) string { return "" }, io.Discard, logs) }()
	var once sync.Once
	var runErr error
	g := &gateway{Log: logs, stop: func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(30 * time.Second):
				runErr = errors.New("run did not return within 30s of its context ending")
			}
		})
		return runErr
	}}
	t.Cleanup(func() {
		if err := g.stop(); err != nil {
			t.Errorf("run: %v", err)
		}
		if t.Failed() {
			t.Logf("gateway log:\n%s", logs)
		}
	})
	testinfra.Eventually(t, 20*time.Second, func() error {
		select {
		case err := <-done:
			done <- err
			return fmt.Errorf("run returned early: %v\n%s", err, logs)
		default:
		}
		var ok bool
		if g.HTTP, ok = logs.find(httpAddrRe); !ok {
			return errors.New("no \"http listening\" line yet")
		}
		g.MQTT, _ = logs.find(brokerAddrRe)
		if v := g.metric(t, "civisens_gateway_mqtt_connected"); v != 1 {
			return errors.New("not subscribed yet")
		}
		return nil
	})
	return g
}

// metrics returns the exposition.
func (g *gateway) metrics(t *testing.T) string {
	t.Helper()
	resp, err := http.Get("http://" + g.HTTP + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// metric returns the value of the series whose name and labels are given
// exactly as in the exposition, or -1 if it is absent.
func (g *gateway) metric(t *testing.T, series string) float64 {
	t.Helper()
	for _, line := range strings.Split(g.metrics(t), "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(rest, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", line, err)
			}
			return v
		}
	}
	return -1
}

func (g *gateway) health(t *testing.T) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + g.HTTP + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// publish sends payload to sensors/{sensor}/senml at QoS 1 through the
// broker at addr, and waits for the broker's PUBACK. It authenticates as
// the test bridge, to which the fake registry assigns every test sensor
// (security_test.go); Mosquitto ignores the credential.
func publish(t *testing.T, addr, sensor, payload string) {
	t.Helper()
	opts := paho.NewClientOptions().AddBroker("tcp://" + addr).
		SetClientID(fmt.Sprintf("test-publisher-%d", time.Now().UnixNano())).
		SetUsername(testBridge).SetPassword(testPassword(testBridge)).
		SetCleanSession(true).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher connect to %s: %v", addr, tok.Error())
	}
	defer c.Disconnect(250)
	if tok := c.Publish("sensors/"+sensor+"/senml", 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
}

// rows queries InfluxDB and returns the rows.
func rows(in *testinfra.Influx, db, q string) ([]testinfra.Row, error) {
	rs, err := in.Query(db, q)
	if err != nil && strings.Contains(err.Error(), "database not found") {
		return nil, nil
	}
	return rs, err
}

// waitRow waits until q returns exactly one row, and returns it.
func waitRow(t *testing.T, in *testinfra.Influx, db, q string) testinfra.Row {
	t.Helper()
	var row testinfra.Row
	testinfra.Eventually(t, 20*time.Second, func() error {
		rs, err := rows(in, db, q)
		if err != nil {
			return err
		}
		if len(rs) != 1 {
			return fmt.Errorf("%s: %d rows: %v", q, len(rs), rs)
		}
		row = rs[0]
		return nil
	})
	return row
}

func num(t *testing.T, v any) float64 {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("%v (%T) is not a number", v, v)
	}
	f, err := n.Float64()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// checkReading checks that the row holds the reading at exactly at (ns).
func checkRow(t *testing.T, row testinfra.Row, wantNS int64, fields map[string]float64, tags map[string]string) {
	t.Helper()
	if got := row["time"].(json.Number).String(); got != strconv.FormatInt(wantNS, 10) {
		t.Errorf("time = %s, want %d (the reading's own time)", got, wantNS)
	}
	for k, want := range fields {
		if got := num(t, row[k]); got != want {
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}
	for k, want := range tags {
		if row[k] != want {
			t.Errorf("tag %s = %v, want %q", k, row[k], want)
		}
	}
}

func TestGatewayEmbeddedBroker(t *testing.T) {
	influx := testinfra.StartInfluxDB(t)
	registry := fakeRegistry(t)
	dataDir := t.TempDir()
	g := startGateway(t, "-registry-url", registry.URL, "-data-dir", dataDir, "-influx-url", influx.URL, "-influx-bucket", "civisens")
	if g.MQTT == "" {
		t.Fatal(`no "mqtt broker listening" line with the bound address`)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "allowlist.json")); err != nil {
		t.Errorf("no last-known-good allow-list on disk: %v", err)
	}

	t.Run("published sensor lands with its own timestamp", func(t *testing.T) {
		// Millisecond digits, as firmwares send them: stored exactly.
		bt := time.Now().Add(-120 * time.Second).Truncate(time.Second).Add(123 * time.Millisecond)
		publish(t, g.MQTT, "air-hdv-01", fmt.Sprintf(
			`[{"bn":"air-hdv-01:","bt":%d.123,"n":"pm10","u":"ug/m3","v":12.5},{"n":"temperature","u":"Cel","v":21.25}]`, bt.Unix()))
		row := waitRow(t, influx, "civisens", `SELECT * FROM "civisens_p1y"."air" WHERE "sensor" = 'air-hdv-01' AND "pm10" = 12.5`)
		checkRow(t, row, bt.UnixNano(),
			map[string]float64{"pm10": 12.5, "temperature": 21.25},
			map[string]string{"sensor": "air-hdv-01", "site": "hotel-de-ville", "zone": "centre"})

		testinfra.Eventually(t, 10*time.Second, func() error {
			if v := g.metric(t, "civisens_gateway_messages_acknowledged_total"); v < 1 {
				return fmt.Errorf("acknowledged = %v", v)
			}
			return nil
		})
		// InfluxDB shows a point to queries before its write request returns
		// (the WAL fsync is delayed), so the counter may follow a moment later.
		testinfra.Eventually(t, 10*time.Second, func() error {
			if v := g.metric(t, "civisens_gateway_readings_written_total"); v < 2 {
				return fmt.Errorf("readings_written_total = %v, want >= 2", v)
			}
			return nil
		})
		// The latencies are histograms; the runtime and the process are
		// described too.
		for _, series := range []string{
			"civisens_gateway_influx_write_seconds_count",
			"civisens_gateway_spool_fsync_seconds_count",
			"civisens_gateway_ingest_commit_seconds_count",
			"civisens_gateway_ingest_batch_readings_count",
			"go_goroutines",
			"process_resident_memory_bytes",
		} {
			if v := g.metric(t, series); v < 1 {
				t.Errorf("%s = %v, want >= 1", series, v)
			}
		}
		if code, body := g.health(t); code != http.StatusOK {
			t.Errorf("/healthz = %d: %s", code, body)
		}
	})

	t.Run("unknown sensor is refused and counted", func(t *testing.T) {
		const series = `civisens_gateway_readings_rejected_total{reason="unknown_sensor"}`
		before := max(g.metric(t, series), 0)
		publish(t, g.MQTT, "air-inconnu-99", `[{"n":"pm10","u":"ug/m3","v":77}]`)
		publish(t, g.MQTT, "parking-gare-03", `[{"n":"occupancy","u":"/","v":1}]`) // draft: not published
		testinfra.Eventually(t, 10*time.Second, func() error {
			if v := g.metric(t, series); v < before+2 {
				return fmt.Errorf("%s = %v, want %v", series, v, before+2)
			}
			return nil
		})
		// A later good reading lands: everything before it was processed.
		publish(t, g.MQTT, "energy-ecole-02", fmt.Sprintf(`[{"n":"energy_wh","u":"Wh","v":4242,"t":%d}]`, time.Now().Add(-time.Minute).Unix()))
		waitRow(t, influx, "civisens", `SELECT * FROM "civisens_p10y"."energy" WHERE "energy_wh" = 4242`)
		for _, q := range []string{
			`SELECT * FROM "civisens_p1y"."air" WHERE "sensor" = 'air-inconnu-99'`,
			`SELECT * FROM "parking"`,
			`SELECT * FROM "civisens_p1y"./.*/ WHERE "pm10" = 77`,
		} {
			rs, err := rows(influx, "civisens", q)
			if err != nil || len(rs) != 0 {
				t.Errorf("%s: %v %v; want nothing written", q, rs, err)
			}
		}
		if strings.Contains(g.metrics(t), `sensor="air-inconnu-99"`) {
			t.Error("an unknown sensor got its own series: unbounded cardinality")
		}
	})

	t.Run("bad input is counted by reason and later readings still land", func(t *testing.T) {
		publish(t, g.MQTT, "air-hdv-01", `not json at all`)
		publish(t, g.MQTT, "air-hdv-01", `[{"bn":"air-autre-07:","n":"pm10","u":"ug/m3","v":5}]`)
		publish(t, g.MQTT, "air-hdv-01", `[{"bv":1e308,"n":"pm10","u":"ug/m3","v":1e308}]`)
		publish(t, g.MQTT, "air-hdv-01", `[{"n":"pm10","u":"ug/m3","v":-3}]`) // below the declared range
		for _, series := range []string{
			`civisens_gateway_payloads_rejected_total{reason="syntax",sensor="air-hdv-01"}`,
			`civisens_gateway_payloads_rejected_total{reason="sensor_mismatch",sensor="air-hdv-01"}`,
			`civisens_gateway_payloads_rejected_total{reason="non_finite",sensor="air-hdv-01"}`,
			`civisens_gateway_readings_rejected_total{reason="out_of_range",sensor="air-hdv-01"}`,
		} {
			testinfra.Eventually(t, 10*time.Second, func() error {
				if v := g.metric(t, series); v != 1 {
					return fmt.Errorf("%s = %v, want 1", series, v)
				}
				return nil
			})
		}
		at := time.Now().Add(-30 * time.Second).Truncate(time.Second)
		publish(t, g.MQTT, "air-hdv-01", fmt.Sprintf(`[{"bn":"air-hdv-01:","bt":%d,"n":"pm10","u":"ug/m3","v":33}]`, at.Unix()))
		row := waitRow(t, influx, "civisens", `SELECT * FROM "civisens_p1y"."air" WHERE "pm10" = 33`)
		checkRow(t, row, at.UnixNano(), map[string]float64{"pm10": 33}, map[string]string{"sensor": "air-hdv-01"})
		if !strings.Contains(g.Log.String(), `msg="payload refused"`) || !strings.Contains(g.Log.String(), "reason=non_finite") {
			t.Errorf("refusals were not logged")
		}
	})

	if err := g.stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	for _, want := range []string{"mqtt disconnected", "mqtt broker closed", "stopped"} {
		if !strings.Contains(g.Log.String(), want) {
			t.Errorf("shutdown did not log %q", want)
		}
	}
}

func TestGatewayMosquitto(t *testing.T) {
	influx := testinfra.StartInfluxDB(t)
	mosq := testinfra.StartMosquitto(t)
	registry := fakeRegistry(t)
	g := startGateway(t, "-broker-url", mosq.URL, "-registry-url", registry.URL, "-data-dir", t.TempDir(),
		"-influx-url", influx.URL, "-influx-bucket", "interop", "-client-id", "civisens-gateway-test")
	if g.MQTT != "" {
		t.Errorf("the embedded broker was started although BROKER_URL names one (%s)", g.MQTT)
	}
	bt := time.Now().Add(-120 * time.Second).Truncate(time.Second)
	publish(t, mosq.Addr, "air-hdv-01", fmt.Sprintf(`[{"bn":"air-hdv-01:","bt":%d,"n":"pm10","u":"ug/m3","v":8.5}]`, bt.Unix()))
	row := waitRow(t, influx, "interop", `SELECT * FROM "civisens_p1y"."air" WHERE "sensor" = 'air-hdv-01'`)
	checkRow(t, row, bt.UnixNano(), map[string]float64{"pm10": 8.5}, map[string]string{"sensor": "air-hdv-01", "site": "hotel-de-ville"})

	publish(t, mosq.Addr, "air-inconnu-99", `[{"n":"pm10","u":"ug/m3","v":1}]`)
	testinfra.Eventually(t, 10*time.Second, func() error {
		if v := g.metric(t, `civisens_gateway_readings_rejected_total{reason="unknown_sensor"}`); v != 1 {
			return fmt.Errorf("unknown_sensor = %v", v)
		}
		return nil
	})
}

// startInfluxOn starts InfluxDB 1.8.10 on a port chosen beforehand, so that
// the gateway can be pointed at it before it runs.
func startInfluxOn(t *testing.T, port int) *testinfra.Influx {
	t.Helper()
	root := testinfra.RepoRoot(t)
	p := testinfra.Start(t, filepath.Join(root, "scripts", "influxd.sh"), "run", t.TempDir(), strconv.Itoa(port), strconv.Itoa(testinfra.FreePort(t)))
	in := &testinfra.Influx{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Proc: p}
	testinfra.Eventually(t, 30*time.Second, func() error {
		if p.Exited() {
			t.Fatalf("influxd exited: %s", p.Output())
		}
		resp, err := http.Get(in.URL + "/ping")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
	return in
}

// TestGatewayInfluxLate: with InfluxDB away, a message is acknowledged once
// spooled, the spool and /healthz say so, and the reading lands when
// InfluxDB comes.
func TestGatewayInfluxLate(t *testing.T) {
	if testing.Short() {
		t.Skip("needs InfluxDB 1.8.10: skipped under -short")
	}
	mosq := testinfra.StartMosquitto(t)
	registry := fakeRegistry(t)
	port := testinfra.FreePort(t) // nothing listens there yet
	g := startGateway(t, "-broker-url", mosq.URL, "-client-id", "civisens-gateway-late", "-registry-url", registry.URL,
		"-data-dir", t.TempDir(), "-influx-url", fmt.Sprintf("http://127.0.0.1:%d", port), "-drain-timeout", "1s")

	bt := time.Now().Add(-120 * time.Second).Truncate(time.Second)
	publish(t, mosq.Addr, "air-hdv-01", fmt.Sprintf(`[{"bn":"air-hdv-01:","bt":%d,"n":"pm10","u":"ug/m3","v":41}]`, bt.Unix()))
	testinfra.Eventually(t, 10*time.Second, func() error {
		if v := g.metric(t, "civisens_gateway_influx_write_errors_total"); v < 2 {
			return fmt.Errorf("influx_write_errors_total = %v: the write was not tried and retried", v)
		}
		if v := g.metric(t, "civisens_gateway_messages_acknowledged_total"); v != 1 {
			return fmt.Errorf("acknowledged = %v, want 1: the message is acknowledged once spooled", v)
		}
		return nil
	})
	if v := g.metric(t, "civisens_gateway_spool_records"); v != 1 {
		t.Errorf("spool_records = %v, want 1", v)
	}
	if v := g.metric(t, "civisens_gateway_messages_pending"); v != 0 {
		t.Errorf("pending = %v, want 0", v)
	}
	if code, body := g.health(t); code != http.StatusServiceUnavailable || !strings.Contains(body, "InfluxDB") || !strings.Contains(body, `"records": 1`) {
		t.Errorf("/healthz with InfluxDB down = %d: %s", code, body)
	}

	influx := startInfluxOn(t, port)
	row := waitRow(t, influx, "civisens", `SELECT * FROM "civisens_p1y"."air"`)
	checkRow(t, row, bt.UnixNano(), map[string]float64{"pm10": 41}, map[string]string{"sensor": "air-hdv-01"})
	testinfra.Eventually(t, 20*time.Second, func() error {
		if v := g.metric(t, "civisens_gateway_spool_records"); v != 0 {
			return fmt.Errorf("spool_records = %v", v)
		}
		if code, body := g.health(t); code != http.StatusOK {
			return fmt.Errorf("/healthz = %d: %s", code, body)
		}
		return nil
	})
}

// TestGatewayRedelivery proves that what is acknowledged survives the
// gateway: a gateway that spooled a reading but could not write it stops,
// and the next gateway on the same data folder writes it.
func TestGatewayRedelivery(t *testing.T) {
	mosq := testinfra.StartMosquitto(t)
	registry := fakeRegistry(t)
	port := testinfra.FreePort(t)
	args := []string{"-broker-url", mosq.URL, "-registry-url", registry.URL, "-data-dir", t.TempDir(),
		"-influx-url", fmt.Sprintf("http://127.0.0.1:%d", port), "-client-id", "civisens-gateway-redelivery", "-drain-timeout", "500ms"}

	first := startGateway(t, args...)
	bt := time.Now().Add(-120 * time.Second).Truncate(time.Second)
	publish(t, mosq.Addr, "air-hdv-01", fmt.Sprintf(`[{"bn":"air-hdv-01:","bt":%d,"n":"pm10","u":"ug/m3","v":57}]`, bt.Unix()))
	testinfra.Eventually(t, 10*time.Second, func() error {
		if v := first.metric(t, "civisens_gateway_influx_write_errors_total"); v < 1 {
			return fmt.Errorf("influx_write_errors_total = %v", v)
		}
		if v := first.metric(t, "civisens_gateway_messages_acknowledged_total"); v != 1 {
			return fmt.Errorf("acknowledged = %v", v)
		}
		return nil
	})
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(first.Log.String(), "they stay in the spool for the next start") {
		t.Errorf("the first gateway did not report what it left in the spool")
	}

	influx := startInfluxOn(t, port)
	startGateway(t, args...)
	row := waitRow(t, influx, "civisens", `SELECT * FROM "civisens_p1y"."air"`)
	checkRow(t, row, bt.UnixNano(), map[string]float64{"pm10": 57}, map[string]string{"sensor": "air-hdv-01"})
}
