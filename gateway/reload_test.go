package main

import (
	"fmt"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/civisens/civisens/internal/testinfra"
)

// httpStatus returns the status and body of GET http://addr/path.
func httpStatus(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestSIGHUPReloadsAllowList runs the gateway program with a one-hour
// refresh interval and a register without air-hdv-01: its readings are
// refused; once the register lists it, SIGHUP makes the gateway ask at
// once, and the next reading is accepted. With InfluxDB away, /readyz says
// ready (the spool takes the readings) while /healthz says unhealthy.
func TestSIGHUPReloadsAllowList(t *testing.T) {
	faultTest(t)
	without := allowList()
	without.Sensors = without.Sensors[1:]
	if without.Sensors[0].ID == "air-hdv-01" {
		t.Fatal("allowList() changed: air-hdv-01 is not first")
	}
	registry := newSwitchableRegistry(t, without)
	mosq := testinfra.StartMosquittoWith(t, testinfra.MosquittoOptions{})
	bin := buildGateway(t)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testinfra.FreePort(t))
	noInflux := fmt.Sprintf("http://127.0.0.1:%d", testinfra.FreePort(t))
	g := startGatewayProc(t, bin, httpAddr, "-broker-url", mosq.URL, "-client-id", "civisens-gateway-sighup", "-registry-url", registry.URL,
		"-data-dir", t.TempDir(), "-influx-url", noInflux, "-allowlist-refresh", "1h")

	if code, body := httpStatus(t, httpAddr, "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz with InfluxDB away = %d: %s", code, body)
	}
	if code, body := httpStatus(t, httpAddr, "/healthz"); code != http.StatusServiceUnavailable {
		t.Errorf("/healthz with InfluxDB away = %d: %s", code, body)
	}

	pub := newPublisher(t, mosq.Addr)
	pub.publish(0, 1, 1, 0)
	const unknown = `civisens_gateway_readings_rejected_total{reason="unknown_sensor"}`
	testinfra.Eventually(t, 10*time.Second, func() error {
		if v, err := g.metric(unknown); err != nil || v != 2 {
			return fmt.Errorf("unknown_sensor rejections %v (%v)", v, err)
		}
		return nil
	})
	before := g.must(t, "civisens_gateway_allowlist_sensors")

	registry.set(t, allowList())
	if err := g.SignalGroup(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	testinfra.Eventually(t, 5*time.Second, func() error {
		if v, err := g.metric("civisens_gateway_allowlist_sensors"); err != nil || v != before+1 {
			return fmt.Errorf("allow-list sensors %v, want %v (%v)", v, before+1, err)
		}
		return nil
	})
	pub.publish(1, 2, 1, 0)
	testinfra.Eventually(t, 5*time.Second, func() error {
		if v, err := g.metric("civisens_gateway_readings_accepted_total"); err != nil || v != 2 {
			return fmt.Errorf("readings accepted %v (%v)", v, err)
		}
		return nil
	})
	if g.Exited() {
		t.Fatal("the gateway exited on SIGHUP")
	}
}
