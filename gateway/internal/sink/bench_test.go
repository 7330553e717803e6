package sink

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/api/write"

	"github.com/civisens/civisens/firmware-bridge/senml"
	"github.com/civisens/civisens/gateway/internal/aggregate"
	"github.com/civisens/civisens/gateway/internal/metrics"
	"github.com/civisens/civisens/gateway/internal/spool"
	"github.com/civisens/civisens/gateway/internal/validate"
	"github.com/civisens/civisens/registry/registryapi"
)

// discardWriter takes every write at once, counting the bytes of line
// protocol; the benchmark measures the drainer, not InfluxDB.
type discardWriter struct{ bytes atomic.Int64 }

func (w *discardWriter) WritePoint(context.Context, ...*write.Point) error { return nil }
func (w *discardWriter) WriteRecord(_ context.Context, lines ...string) error {
	for _, l := range lines {
		w.bytes.Add(int64(len(l)))
	}
	return nil
}

// BenchmarkDrain is the gateway's side of a drain, per message of 3
// readings from 10,000 sensors: spool read and decode, line protocol,
// aggregation in windows of 1m, 15m and 1h, checkpoint.
func BenchmarkDrain(b *testing.B) {
	for _, aggregated := range []bool{false, true} {
		b.Run(fmt.Sprintf("aggregates=%v", aggregated), func(b *testing.B) {
			benchDrain(b, aggregated)
		})
	}
}

func benchDrain(b *testing.B, aggregated bool) {
	dir := b.TempDir()
	reg := metrics.NewRegistry()
	log := slog.New(slog.DiscardHandler)
	sp, err := spool.Open(spool.Config{Dir: filepath.Join(dir, "spool"), MaxBytes: 4 << 30, SyncInterval: time.Millisecond}, log, reg)
	if err != nil {
		b.Fatal(err)
	}
	defer sp.Close()
	const sensors = 10000
	entries := make([]*registryapi.GatewaySensor, sensors)
	for i := range entries {
		entries[i] = &registryapi.GatewaySensor{ID: fmt.Sprintf("air-%05d", i), Category: "air", Site: "site-" + fmt.Sprint(i%50),
			Retention: "P1Y", Tags: map[string]string{"zone": "centre"},
			Quantities: []registryapi.Quantity{{Name: "pm10", Unit: "ug/m3"}, {Name: "pm2_5", Unit: "ug/m3"}, {Name: "temperature", Unit: "Cel"}}}
	}
	// The readings are dated after the aggregator's barrier, so that the
	// windows are computed in memory, as in steady operation.
	t0 := time.Now().Add(time.Hour).Truncate(time.Hour)
	ctx := context.Background()
	var batch []validate.Accepted
	for n := range b.N {
		e := entries[n%sensors]
		at := t0.Add(time.Duration(n) * time.Millisecond)
		for q, v := range []float64{12.5, 7.25, 18.5} {
			batch = append(batch, validate.Accepted{Reading: senml.Reading{Sensor: e.ID, Quantity: e.Quantities[q].Name, Unit: e.Quantities[q].Unit, Value: v, Time: at}, Entry: e})
		}
		if len(batch) >= 1500 || n == b.N-1 {
			if err := sp.Append(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	w := &discardWriter{}
	d := NewDrainer(DrainConfig{}, sp, New(w, nil, log, reg), nil, log, reg)
	if aggregated {
		agg, err := aggregate.New(aggregate.Config{Windows: []time.Duration{time.Minute, 15 * time.Minute, time.Hour}}, log, reg)
		if err != nil {
			b.Fatal(err)
		}
		d.Aggregate(agg, reg)
	}
	stop := make(chan struct{})
	close(stop)
	b.ReportAllocs()
	b.ResetTimer()
	d.Run(ctx, stop)
	b.StopTimer()
	if st := sp.Stats(); st.Records != 0 {
		b.Fatalf("%d records left in the spool", st.Records)
	}
	b.ReportMetric(float64(3*b.N)/b.Elapsed().Seconds(), "readings/s")
	b.ReportMetric(float64(w.bytes.Load())/float64(b.N), "lp-bytes/msg")
}
