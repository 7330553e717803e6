package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/civisens/civisens/internal/testinfra"
)

// waitUntil returns at wall-clock time ts: the test needs readings dated
// in a given window, and the gateway accepts them only up to -max-future
// ahead of its clock.
func waitUntil(ts time.Time) { time.Sleep(time.Until(ts)) }

// energyAt publishes an index reading of energy-ecole-02 dated at.
func energyAt(t *testing.T, g *gateway, at time.Time, wh float64) {
	t.Helper()
	publish(t, g.MQTT, "energy-ecole-02", fmt.Sprintf(`[{"n":"energy_wh","u":"Wh","v":%g,"t":%.3f}]`, wh, float64(at.UnixMilli())/1000))
}

// The gateway process writes a window's aggregates once a reading of the
// next window arrives; a window open when it stops is written by the next
// process, repaired from the raw readings in InfluxDB.
func TestAggregatesWrittenAndRepairedAfterRestart(t *testing.T) {
	influx := testinfra.StartInfluxDB(t)
	registry := fakeRegistry(t)
	dataDir := t.TempDir()
	args := []string{"-registry-url", registry.URL, "-data-dir", dataDir, "-influx-url", influx.URL, "-influx-bucket", "aggr",
		"-aggregate-windows", "5s", "-aggregate-grace", "1s", "-max-future", "2s"}
	g := startGateway(t, args...)
	// Memory aggregates the windows that begin after start + max-future.
	w := time.Now().Add(2 * time.Second).Truncate(5 * time.Second).Add(5 * time.Second)
	window := func(start time.Time) string {
		return fmt.Sprintf(`SELECT * FROM "civisens_p10y"."energy_agg" WHERE "window" = '5s' AND time = %d`, start.UnixNano())
	}

	waitUntil(w)
	energyAt(t, g, w.Add(500*time.Millisecond), 1000)
	energyAt(t, g, w.Add(time.Second), 1200)
	waitUntil(w.Add(3 * time.Second))
	energyAt(t, g, w.Add(5*time.Second), 1500) // closes w
	// The window as a user reads it (were a reading to reach the gateway
	// out of order, a repair rewrites the window within seconds).
	waitWindow := func(start time.Time, want string, fields ...string) {
		t.Helper()
		testinfra.Eventually(t, 20*time.Second, func() error {
			rs, err := rows(influx, "aggr", window(start))
			if err != nil || len(rs) != 1 {
				return fmt.Errorf("window %s: %v %v", start, rs, err)
			}
			var got []string
			for _, f := range fields {
				got = append(got, fmt.Sprint(rs[0][f]))
			}
			if g := strings.Join(got, " "); g != want {
				return fmt.Errorf("window %s: %s = %s, want %s (row %v)", start, strings.Join(fields, ", "), g, want, rs[0])
			}
			return nil
		})
	}
	waitWindow(w, "200 2 1200 ecole-jules-ferry energy-ecole-02", "energy_wh_delta", "energy_wh_count", "energy_wh_last", "building", "sensor")

	// The next window is open when the gateway stops.
	waitUntil(w.Add(4 * time.Second))
	energyAt(t, g, w.Add(6*time.Second), 1600)
	waitRow(t, influx, "aggr", `SELECT * FROM "civisens_p10y"."energy" WHERE "energy_wh" = 1600`)
	if err := g.stop(); err != nil {
		t.Fatal(err)
	}
	if rs, err := rows(influx, "aggr", window(w.Add(5*time.Second))); err != nil || len(rs) != 0 {
		t.Fatalf("the open window was written at the stop: %v %v", rs, err)
	}
	g2 := startGateway(t, args...)
	// From 1200 (the last reading before the window) to 1600.
	waitWindow(w.Add(5*time.Second), "400 2 1600", "energy_wh_delta", "energy_wh_count", "energy_wh_last")
	// Counted once its windows are written.
	testinfra.Eventually(t, 10*time.Second, func() error {
		if v := g2.metric(t, `civisens_gateway_aggregate_repairs_total{result="ok"}`); v < 1 {
			return fmt.Errorf("repairs ok = %v", v)
		}
		return nil
	})
}
