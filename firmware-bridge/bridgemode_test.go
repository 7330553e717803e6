package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/civisens/civisens/firmware-bridge/internal/brokertest"
	"github.com/civisens/civisens/firmware-bridge/senml"
	"github.com/civisens/civisens/internal/testinfra"
)

// devicePublish publishes payload on topic, as a device's firmware does.
func devicePublish(t *testing.T, url, topic, payload string) {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("device-%d", time.Now().UnixNano())))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("device connect: %v", tok.Error())
	}
	defer c.Disconnect(100)
	if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("device publish: %v", tok.Error())
	}
}

// In -mode bridge, a Tasmota board's MQTT message and a Sensor.Community
// kit's HTTP push reach the broker as SenML of the register sensors they
// are mapped to; a device no mapping names is listed by `sources`.
func TestBridgeModeMapsDevices(t *testing.T) {
	devices := brokertest.Start(t, "127.0.0.1:0")  // where the firmwares publish
	civisens := brokertest.Start(t, "127.0.0.1:0") // where the gateway reads
	inbox := brokertest.Subscribe(t, civisens.URL, "sensors/+/senml")
	pushAddr := fmt.Sprintf("127.0.0.1:%d", testinfra.FreePort(t))
	dir := t.TempDir()
	config := filepath.Join(dir, "bridge.json")
	os.WriteFile(config, []byte(fmt.Sprintf(`{
  "inputs": [
    {"format": "tasmota", "mqtt": {"broker": %q, "topics": ["tele/+/SENSOR"]}},
    {"format": "sensor-community", "http": %q}
  ],
  "sources": [
    {"format": "tasmota", "source": "salle", "sensor": "air-salle-01"},
    {"format": "sensor-community", "source": "esp8266-1234567", "sensor": "air-ecole-02",
     "fields": {"SDS_P1": "pm10", "SDS_P2": "pm2_5"}}
  ]
}`, devices.URL, pushAddr)), 0o644)
	dataDir := filepath.Join(dir, "state")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs := new(syncBuffer)
	go func() {
		done <- run(ctx, []string{"-mode", "bridge", "-config", config, "-data-dir", dataDir, "-broker-url", civisens.URL}, func(string) string { return "" }, logs, logs)
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("bridge logs:\n%s", logs)
		}
	})

	// The Tasmota board: retried until the bridge has subscribed.
	testinfra.Eventually(t, 20*time.Second, func() error {
		devicePublish(t, devices.URL, "tele/salle/SENSOR",
			`{"Time":"2026-11-27T10:00:00","BME280":{"Temperature":19.5,"Humidity":55.2,"Pressure":1013.2},"PressureUnit":"hPa","TempUnit":"C"}`)
		devicePublish(t, devices.URL, "tele/cuisine/SENSOR", `{"Time":"2026-11-27T10:00:00","AM2301":{"Temperature":21.0,"Humidity":48.0},"TempUnit":"C"}`)
		if inbox.Count("sensors/air-salle-01/senml") == 0 {
			return fmt.Errorf("no SenML for air-salle-01 yet")
		}
		return nil
	})
	payload, _ := inbox.Last("sensors/air-salle-01/senml")
	got := resolved(t, payload, "air-salle-01")
	for q, v := range map[string]float64{"temperature": 19.5, "humidity": 55.2, "pressure": 1013.2} {
		if got[q] != v {
			t.Errorf("air-salle-01 %s = %v, want %v (pack %s)", q, got[q], v, payload)
		}
	}

	// The Sensor.Community kit pushes over HTTP.
	body := `{"esp8266id":"1234567","software_version":"NRZ-2024-135","sensordatavalues":[{"value_type":"SDS_P1","value":"15.20"},{"value_type":"SDS_P2","value":"9.70"},{"value_type":"signal","value":"-71"}]}`
	testinfra.Eventually(t, 10*time.Second, func() error {
		req, _ := http.NewRequest(http.MethodPost, "http://"+pushAddr+"/data.php", strings.NewReader(body))
		req.Header.Set("X-Sensor", "esp8266-1234567")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("push: %s", resp.Status)
		}
		if inbox.Count("sensors/air-ecole-02/senml") == 0 {
			return fmt.Errorf("no SenML for air-ecole-02 yet")
		}
		return nil
	})
	payload, _ = inbox.Last("sensors/air-ecole-02/senml")
	got = resolved(t, payload, "air-ecole-02")
	if len(got) != 2 || got["pm10"] != 15.2 || got["pm2_5"] != 9.7 {
		t.Errorf("air-ecole-02: %v; want pm10 15.2 and pm2_5 9.7 only (pack %s)", got, payload)
	}
	// A push that is not Sensor.Community's is refused, saying why.
	resp, err := http.Post("http://"+pushAddr+"/data.php", "application/json", strings.NewReader(`{"nothing":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a bad push got %s, want 400", resp.Status)
	}

	// The kitchen's board is mapped to nothing: `sources` lists it.
	stop()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"sources", "-data-dir", dataDir}, func(string) string { return "" }, &out, &out); err != nil {
		t.Fatalf("sources: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "tasmota cuisine") || !strings.Contains(out.String(), "AM2301.Temperature") || strings.Contains(out.String(), "salle") {
		t.Errorf("sources printed:\n%s\nwant the unmapped cuisine board with its fields, not the mapped salle", out.String())
	}
}

// resolved returns the readings of a SenML payload received on sensor's
// topic, by quantity.
func resolved(t *testing.T, payload []byte, sensor string) map[string]float64 {
	t.Helper()
	p, err := senml.Decode(payload)
	if err != nil {
		t.Fatalf("%s: %v", payload, err)
	}
	rs, err := p.Resolve(sensor, time.Now())
	if err != nil {
		t.Fatalf("%s: %v", payload, err)
	}
	out := map[string]float64{}
	for _, r := range rs {
		out[r.Quantity] = r.Value
	}
	return out
}

// decode prints the SenML a payload would give, and fails clearly.
func TestDecodeCommand(t *testing.T) {
	dec := func(stdin string, args ...string) (string, error) {
		var out bytes.Buffer
		err := runWithInput(context.Background(), append([]string{"decode"}, args...), func(string) string { return "" }, strings.NewReader(stdin), &out, &out)
		return out.String(), err
	}
	out, err := dec(`{"Time":"2026-11-27T10:00:00","BME280":{"Temperature":68.0},"TempUnit":"F"}`, "-format", "tasmota", "-topic", "tele/salle/SENSOR")
	if err != nil || !strings.Contains(out, `"topic": "sensors/salle/senml"`) || !strings.Contains(out, `"u": "Cel"`) || !strings.Contains(out, `"v": 20`) {
		t.Errorf("tasmota: %v\n%s", err, out)
	}
	if _, err := dec(`{}`, "-format", "sigfox"); err == nil || !strings.Contains(err.Error(), "want one of") {
		t.Errorf("unknown format: %v", err)
	}
	if out, err := dec(`not json at all`, "-format", "tasmota", "-topic", "tele/salle/SENSOR"); err == nil {
		t.Errorf("garbage decoded without error:\n%s", out)
	}
}

// A bridge file is checked whole before anything starts, every problem
// named with its input.
func TestBridgeFileErrors(t *testing.T) {
	good := `{"inputs": [
  {"driver": "bme280", "i2c": "1", "address": 118, "source": "bme280-salle", "every": "30s"},
  {"driver": "s0", "gpio": "GPIO17", "pulses_per_kwh": 1000, "source": "compteur-ecole"},
  {"format": "tic", "serial": {"port": "/dev/ttyAMA0", "mode": "historique"}}],
 "sources": [{"format": "local", "source": "bme280-salle", "sensor": "air-salle-01"}]}`
	if _, err := parseBridgeFile(strings.NewReader(good)); err != nil {
		t.Fatalf("a good file refused: %v", err)
	}
	for _, tc := range []struct{ name, in, want string }{
		{"unknown driver", `{"inputs": [{"driver": "dht22", "gpio": "GPIO4", "source": "x"}]}`, `unknown driver "dht22"`},
		{"driver without bus", `{"inputs": [{"driver": "bh1750", "source": "lux"}]}`, "no i2c bus"},
		{"too short a period", `{"inputs": [{"driver": "bh1750", "i2c": "1", "source": "lux", "every": "1ms"}]}`, "below 100ms"},
		{"tic without mode", `{"inputs": [{"format": "tic", "serial": {"port": "/dev/ttyAMA0"}}]}`, `needs "historique"`},
		{"serial format over mqtt", `{"inputs": [{"format": "sds011", "mqtt": {"broker": "tcp://127.0.0.1:1883", "topics": ["x"]}}]}`, "a serial format"},
		{"two transports", `{"inputs": [{"format": "tasmota", "http": "127.0.0.1:8181", "mqtt": {"broker": "tcp://127.0.0.1:1883", "topics": ["x"]}}]}`, "exactly one"},
		{"unknown field", "{\"inputs\": [],\n \"source\": []}", `line 2`},
		{"mapping of an unknown format", `{"sources": [{"format": "lora", "source": "a", "sensor": "air-01"}]}`, `unknown format "lora"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseBridgeFile(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v; want one saying %q", err, tc.want)
			}
		})
	}
}
