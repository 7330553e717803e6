package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/civisens/civisens/internal/testinfra"
)

// retentionPolicies returns the durations of db's retention policies.
func retentionPolicies(t *testing.T, in *testinfra.Influx, db string) map[string]string {
	t.Helper()
	rs, err := in.Query(db, "SHOW RETENTION POLICIES ON "+fmt.Sprintf("%q", db))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rs {
		name, _ := r["name"].(string)
		d, _ := r["duration"].(string)
		out[name] = d
	}
	return out
}

// deadLetters returns the dead-letter lines of dataDir.
func deadLetters(t *testing.T, dataDir string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dataDir, "deadletter", "deadletter-*.jsonl"))
	var lines []string
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		fh.Close()
	}
	return lines
}

// Each sensor's readings land in the retention policy of its entry's
// retention (air-hdv-01 P1Y, energy-ecole-02 P10Y), created with that
// duration.
func TestRetentionPoliciesCreated(t *testing.T) {
	influx := testinfra.StartInfluxDB(t)
	registry := fakeRegistry(t)
	g := startGateway(t, "-registry-url", registry.URL, "-data-dir", t.TempDir(), "-influx-url", influx.URL, "-influx-bucket", "ret")
	bt := time.Now().Add(-time.Minute).Truncate(time.Second)
	publish(t, g.MQTT, "air-hdv-01", fmt.Sprintf(`[{"bn":"air-hdv-01:","bt":%d,"n":"pm10","u":"ug/m3","v":11}]`, bt.Unix()))
	publish(t, g.MQTT, "energy-ecole-02", fmt.Sprintf(`[{"n":"energy_wh","u":"Wh","v":1234,"t":%d}]`, bt.Unix()))
	waitRow(t, influx, "ret", `SELECT * FROM "civisens_p1y"."air" WHERE "pm10" = 11`)
	waitRow(t, influx, "ret", `SELECT * FROM "civisens_p10y"."energy" WHERE "energy_wh" = 1234`)
	rps := retentionPolicies(t, influx, "ret")
	if rps["civisens_p1y"] != "8760h0m0s" || rps["civisens_p10y"] != "87600h0m0s" {
		t.Errorf("retention policies %v; want civisens_p1y 8760h, civisens_p10y 87600h", rps)
	}
	if rs, err := rows(influx, "ret", `SELECT * FROM "autogen"./.*/`); err != nil || len(rs) != 0 {
		t.Errorf("readings in autogen: %v, %v", rs, err)
	}
}

// A retention policy that exists with another duration is not written to:
// its readings are refused (retention_mismatch), counted and dead-lettered;
// the other sensor's readings still land. Without the right to create
// retention policies, a missing one refuses its readings (retention_missing).
func TestRetentionRefused(t *testing.T) {
	influx := testinfra.StartInfluxDB(t)
	registry := fakeRegistry(t)
	influx.Exec(t, "CREATE DATABASE mism")
	influx.Exec(t, `CREATE RETENTION POLICY "civisens_p1y" ON "mism" DURATION 720h REPLICATION 1`)
	bt := time.Now().Add(-time.Minute).Truncate(time.Second)

	t.Run("mismatch", func(t *testing.T) {
		dataDir := t.TempDir()
		g := startGateway(t, "-registry-url", registry.URL, "-data-dir", dataDir, "-influx-url", influx.URL, "-influx-bucket", "mism")
		publish(t, g.MQTT, "air-hdv-01", fmt.Sprintf(`[{"bn":"air-hdv-01:","bt":%d,"n":"pm10","u":"ug/m3","v":21}]`, bt.Unix()))
		publish(t, g.MQTT, "energy-ecole-02", fmt.Sprintf(`[{"n":"energy_wh","u":"Wh","v":2121,"t":%d}]`, bt.Unix()))
		waitRow(t, influx, "mism", `SELECT * FROM "civisens_p10y"."energy" WHERE "energy_wh" = 2121`)
		testinfra.Eventually(t, 10*time.Second, func() error {
			if v := g.metric(t, `civisens_gateway_readings_refused_total{reason="retention_mismatch",sensor="air-hdv-01"}`); v != 1 {
				return fmt.Errorf("refused = %v, want 1", v)
			}
			return nil
		})
		dl := deadLetters(t, dataDir)
		if len(dl) != 1 || !strings.Contains(dl[0], "retention_mismatch") || !strings.Contains(dl[0], "has duration 720h, the register declares P1Y") {
			t.Errorf("dead letters %q; want the pm10 reading with retention_mismatch", dl)
		}
		if _, ok := g.Log.find(regexp.MustCompile(`(retention_mismatch)`)); !ok {
			t.Error("no log line says why the readings were refused")
		}
		if rs, err := rows(influx, "mism", `SELECT * FROM "civisens_p1y"."air"`); err != nil || len(rs) != 0 {
			t.Errorf("readings written to the mismatching policy: %v, %v", rs, err)
		}
		if d := retentionPolicies(t, influx, "mism")["civisens_p1y"]; d != "720h0m0s" {
			t.Errorf("the operator's policy was changed to %s", d)
		}
	})

	t.Run("missing and not allowed to create", func(t *testing.T) {
		dataDir := t.TempDir()
		g := startGateway(t, "-registry-url", registry.URL, "-data-dir", dataDir, "-influx-url", influx.URL, "-influx-bucket", "nocreate",
			"-influx-create-retention=false")
		publish(t, g.MQTT, "air-hdv-01", fmt.Sprintf(`[{"bn":"air-hdv-01:","bt":%d,"n":"pm10","u":"ug/m3","v":31}]`, bt.Unix()))
		testinfra.Eventually(t, 10*time.Second, func() error {
			if v := g.metric(t, `civisens_gateway_readings_refused_total{reason="retention_missing",sensor="air-hdv-01"}`); v != 1 {
				return fmt.Errorf("refused = %v, want 1", v)
			}
			return nil
		})
		if dl := deadLetters(t, dataDir); len(dl) != 1 || !strings.Contains(dl[0], "retention_missing") {
			t.Errorf("dead letters %q; want the reading with retention_missing", dl)
		}
		if _, ok := retentionPolicies(t, influx, "nocreate")["civisens_p1y"]; ok {
			t.Error("civisens_p1y was created although -influx-create-retention=false")
		}
	})
}
