package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/civisens/civisens/gateway/internal/metrics"
	"github.com/civisens/civisens/gateway/internal/spool"
	"github.com/civisens/civisens/gateway/internal/validate"
	"github.com/civisens/civisens/registry/registryapi"
)

// Run with:
//
//	go test -run '^$' -bench . -benchmem ./gateway/internal/ingest/
//
// BenchmarkIngestPipeline goes through the whole hot path but MQTT: decode,
// validate, batch, spool append (fsync for real, in the test's temporary
// folder), group commit, acknowledgement in order.

const benchSensors = 10000

// benchAllow is an allow-list of benchSensors air sensors declaring pm10,
// pm2_5 and temperature, as the gateway's allow-list serves them (a copy of
// the entry per lookup).
type benchAllow map[string]*registryapi.GatewaySensor

func (a benchAllow) Entry(id string) *registryapi.GatewaySensor {
	return a[id]
}

func benchSensorID(i int) string { return fmt.Sprintf("air-%05d", i) }

func newBenchAllow() benchAllow {
	a := make(benchAllow, benchSensors)
	for i := range benchSensors {
		id := benchSensorID(i)
		a[id] = &registryapi.GatewaySensor{ID: id, Category: "air", Site: fmt.Sprintf("site-%03d", i%300), Status: "active",
			Retention: "P1Y", Tags: map[string]string{"zone": fmt.Sprintf("z%d", i%12)},
			Quantities: []registryapi.Quantity{
				{Name: "pm10", Unit: "ug/m3", Min: f(0), Max: f(1000)},
				{Name: "pm2_5", Unit: "ug/m3", Min: f(0), Max: f(1000)},
				{Name: "temperature", Unit: "Cel", Min: f(-40), Max: f(60)},
			}}
	}
	return a
}

// benchMsg is a message whose acknowledgement is counted.
type benchMsg struct {
	topic   string
	payload []byte
	acked   *atomic.Int64
}

func (m *benchMsg) Topic() string   { return m.topic }
func (m *benchMsg) Payload() []byte { return m.payload }
func (m *benchMsg) Ack()            { m.acked.Add(1) }

// benchMessages returns one message per sensor, a pack of three readings as
// the firmware bridge publishes them.
func benchMessages(acked *atomic.Int64) []*benchMsg {
	msgs := make([]*benchMsg, benchSensors)
	for i := range msgs {
		id := benchSensorID(i)
		p := fmt.Sprintf(`[{"bn":"%s:","bt":%d.%03d,"n":"pm10","u":"ug/m3","v":%d.%d},{"n":"pm2_5","u":"ug/m3","v":%d.%d},{"n":"temperature","u":"Cel","v":%d.%d}]`,
			id, bt+i%100, i%1000, 5+i%40, i%10, 2+i%20, i%7, 10+i%15, i%9)
		msgs[i] = &benchMsg{topic: "sensors/" + id + "/senml", payload: []byte(p), acked: acked}
	}
	return msgs
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS is the process's peak resident set size in MiB (Linux: KiB).
func peakRSS() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024
}

// BenchmarkProcess is the decode and validation of one message (3 readings).
func BenchmarkProcess(b *testing.B) {
	var acked atomic.Int64
	msgs := benchMessages(&acked)
	in := New(Config{Now: func() time.Time { return now }}, newBenchAllow(), &committer{}, slog.New(slog.DiscardHandler), metrics.NewRegistry())
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	var out []validate.Accepted
	for b.Loop() {
		if out = in.process(ctx, inbound{msg: msgs[i%len(msgs)], at: now}, out[:0]); len(out) != 3 {
			b.Fatalf("accepted %d readings", len(out))
		}
		i++
	}
}

// BenchmarkIngestPipeline delivers messages as the MQTT client does and
// waits until every one is acknowledged, with a real spool fsyncing in the
// test's temporary folder. msgs/s and readings/s are the figures; cpu-µs/msg
// is the process's CPU time (all goroutines, the spool's sync loop and
// reader included) per message; peak-rss-MiB is the test process's, its
// 10,000 prepared messages included.
func BenchmarkIngestPipeline(b *testing.B) {
	var acked atomic.Int64
	msgs := benchMessages(&acked)
	sp, err := spool.Open(spool.Config{Dir: b.TempDir(), MaxBytes: 1 << 30, SegmentBytes: 8 << 20}, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer sp.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // keep the spool from filling, as the drainer does
		var bt spool.Batch
		for ctx.Err() == nil {
			bt.Reset()
			if sp.Read(ctx, &bt, 5000, true) != nil {
				return
			}
			sp.Done(&bt)
		}
	}()
	in := New(Config{FlushWhenIdle: true, Now: func() time.Time { return now }}, newBenchAllow(), benchCommitter(sp), slog.New(slog.DiscardHandler), metrics.NewRegistry())
	pctx, pcancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { in.pipeline(pctx); close(done) }()
	defer func() { pcancel(); close(in.stopping); <-done }()

	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := range b.N {
		in.deliver(msgs[i%len(msgs)])
	}
	for acked.Load() < int64(b.N) {
		time.Sleep(100 * time.Microsecond)
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/sec, "msgs/s")
	b.ReportMetric(float64(3*b.N)/sec, "readings/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/msg")
	st := sp.Stats()
	b.ReportMetric(float64(st.Appends)/float64(max(st.Fsyncs, 1)), "records/fsync")
	b.ReportMetric(peakRSS(), "peak-rss-MiB")
}
