package sink

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/civisens/civisens/firmware-bridge/senml"
	"github.com/civisens/civisens/gateway/internal/aggregate"
	"github.com/civisens/civisens/gateway/internal/metrics"
	"github.com/civisens/civisens/gateway/internal/spool"
	"github.com/civisens/civisens/gateway/internal/validate"
	"github.com/civisens/civisens/internal/testinfra"
	"github.com/civisens/civisens/registry/registryapi"
)

func fptr(v float64) *float64 { return &v }

// The drainer writes the windows the aggregator closes into the retention
// each entry's identifiability allows, in InfluxDB 1.8.10, and a late
// reading's window is repaired from the raw readings read back with
// InfluxQL.
func TestAggregatesInInfluxDB(t *testing.T) {
	influx := testinfra.StartInfluxDB(t)
	dir := t.TempDir()
	reg := metrics.NewRegistry()
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	sp, err := spool.Open(spool.Config{Dir: filepath.Join(dir, "spool"), SyncInterval: time.Millisecond}, log, reg)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	w := Open(Config{URL: influx.URL, Bucket: "agg"}, log, reg)
	defer w.Close()

	meter := &registryapi.GatewaySensor{ID: "energie-test", Category: "energy", Site: "mairie", Retention: "P1Y",
		Identifiability: registryapi.NoPersonalData, Tags: map[string]string{"building": "mairie"},
		Quantities: []registryapi.Quantity{
			{Name: "power", Unit: "W"},
			{Name: "energy", Unit: "Wh", Max: fptr(1e6), Aggregation: registryapi.AggregationIndex},
		}}
	bay := &registryapi.GatewaySensor{ID: "place-test", Category: "parking", Retention: "P1Y",
		Identifiability: registryapi.Pseudonymised,
		Quantities:      []registryapi.Quantity{{Name: "occupancy", Unit: "/", Aggregation: registryapi.AggregationOccupancy}}}
	entries := map[string]registryapi.GatewaySensor{meter.ID: *meter, bay.ID: *bay}
	agg, err := aggregate.New(aggregate.Config{Windows: []time.Duration{time.Minute, 15 * time.Minute}, Grace: time.Millisecond,
		StateFile: filepath.Join(dir, "aggregate.state"),
		Entries: func(id string) *registryapi.GatewaySensor {
			if e, ok := entries[id]; ok {
				return &e
			}
			return nil
		}}, log, reg)
	if err != nil {
		t.Fatal(err)
	}
	d := NewDrainer(DrainConfig{BatchSize: 1000, FlushInterval: time.Millisecond, RetryMin: time.Millisecond}, sp, w, nil, log, reg)
	d.Aggregate(agg, reg)
	// Windows that begin after the aggregator started are computed in
	// memory: the readings are dated from the next quarter hour on.
	t0 := time.Now().Truncate(15 * time.Minute).Add(30 * time.Minute).UTC()
	at := func(e *registryapi.GatewaySensor, q string, sec int, v float64) validate.Accepted {
		return validate.Accepted{Reading: senml.Reading{Sensor: e.ID, Quantity: q, Value: v, Time: t0.Add(time.Duration(sec) * time.Second)}, Entry: e}
	}
	commit := func(rs ...validate.Accepted) {
		t.Helper()
		if err := sp.Commit(context.Background(), rs); err != nil {
			t.Fatal(err)
		}
	}
	commit(at(meter, "power", 10, 100), at(meter, "energy", 10, 1000), at(bay, "occupancy", 0, 0))
	commit(at(meter, "power", 40, 300), at(meter, "energy", 40, 1010), at(bay, "occupancy", 15, 1), at(bay, "occupancy", 45, 0))
	commit(at(meter, "power", 70, 200), at(meter, "energy", 70, 1030), at(bay, "occupancy", 75, 1))
	commit(at(meter, "power", 130, 0), at(meter, "energy", 130, 5)) // the meter was reset

	ctx, cancel := context.WithCancel(context.Background())
	stop, done := make(chan struct{}), make(chan struct{})
	go func() { defer close(done); d.Run(ctx, stop) }()
	defer func() { close(stop); <-done; cancel() }()

	window := func(measurement, rp string, start time.Time) (testinfra.Row, error) {
		rs, err := influx.Query("agg", fmt.Sprintf(`SELECT * FROM %q.%q WHERE "window" = '1m' AND time = %d`, rp, measurement, start.UnixNano()))
		if err != nil {
			return nil, err
		}
		if len(rs) != 1 {
			return nil, fmt.Errorf("%s %s at %s: %d rows", rp, measurement, start, len(rs))
		}
		return rs[0], nil
	}
	want := func(r testinfra.Row, fields map[string]float64) error {
		for k, v := range fields {
			if got := fmt.Sprint(r[k]); got != strconv.FormatFloat(v, 'f', -1, 64) {
				return fmt.Errorf("%s = %v, want %v (row %v)", k, r[k], v, r)
			}
		}
		return nil
	}
	testinfra.Eventually(t, 20*time.Second, func() error {
		r, err := window("energy_agg", "civisens_p10y", t0)
		if err != nil {
			all, _ := influx.Query("agg", `SELECT * FROM /.*/./.*/`)
			var out strings.Builder
			reg.WriteTo(&out)
			return fmt.Errorf("%v; all: %v\n%s", err, all, out.String())
		}
		if err := want(r, map[string]float64{"power_mean": 200, "power_min": 100, "power_max": 300, "power_count": 2, "power_last": 300,
			"energy_delta": 10, "energy_last": 1010, "energy_count": 2}); err != nil {
			return err
		}
		if r["building"] != "mairie" || r["sensor"] != "energie-test" || r["site"] != "mairie" {
			return fmt.Errorf("tags of %v", r)
		}
		r, err = window("energy_agg", "civisens_p10y", t0.Add(time.Minute))
		if err != nil {
			return err
		}
		if err := want(r, map[string]float64{"energy_delta": 20, "power_mean": 200}); err != nil {
			return err
		}
		// Pseudonymised: its aggregates live no longer than its readings.
		r, err = window("parking_agg", "civisens_p1y", t0)
		if err != nil {
			return err
		}
		return want(r, map[string]float64{"occupancy_ratio": 0.5, "occupancy_arrivals": 1, "occupancy_count": 3, "occupancy_last": 0})
	})
	if rs, err := influx.Query("agg", `SELECT * FROM "civisens_p10y"."parking_agg"`); err != nil || len(rs) != 0 {
		t.Errorf("aggregates of a pseudonymised sensor kept beyond its retention: %v %v", rs, err)
	}

	// A late reading: its window is computed again from InfluxDB.
	commit(at(meter, "power", 20, 500))
	testinfra.Eventually(t, 20*time.Second, func() error {
		r, err := window("energy_agg", "civisens_p10y", t0)
		if err != nil {
			return err
		}
		return want(r, map[string]float64{"power_mean": 300, "power_max": 500, "power_count": 3, "power_last": 300,
			"energy_delta": 10, "energy_last": 1010})
	})
	// The repair is counted once its windows are written.
	testinfra.Eventually(t, 10*time.Second, func() error {
		var out strings.Builder
		reg.WriteTo(&out)
		for _, line := range []string{
			"civisens_gateway_aggregate_late_readings_total 1",
			"civisens_gateway_aggregate_index_resets_total 1",
			`civisens_gateway_aggregate_repairs_total{result="ok"} 1`,
		} {
			if !strings.Contains(out.String(), line+"\n") {
				return fmt.Errorf("metrics lack %q", line)
			}
		}
		return nil
	})
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}
