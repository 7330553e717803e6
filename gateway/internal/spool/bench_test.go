package spool

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/civisens/civisens/firmware-bridge/senml"
	"github.com/civisens/civisens/gateway/internal/validate"
	"github.com/civisens/civisens/registry/registryapi"
)

// Run with: make bench, or
//
//	go test -run '^$' -bench . -benchmem ./gateway/internal/spool/
//
// Appends fsync for real, on the disk of the test's temporary folder.

func benchSpool(b *testing.B) *Spool {
	s, err := Open(Config{Dir: b.TempDir()}, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// drain keeps the spool from filling during long benchmarks.
func drain(ctx context.Context, s *Spool) {
	var bt Batch
	for ctx.Err() == nil {
		bt.Reset()
		if s.Read(ctx, &bt, 5000, true) != nil {
			return
		}
		s.Done(&bt)
	}
}

// BenchmarkAppend appends batches of 50 readings from many goroutines, as
// ingest pipelines would, sharing fsyncs. readings/s is the figure.
func BenchmarkAppend(b *testing.B) {
	for _, n := range []int{1, 50} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			s := benchSpool(b)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go drain(ctx, s)
			batch := batchOf(0, n)
			b.SetParallelism(16) // 16 × GOMAXPROCS appenders
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := s.Append(ctx, batch); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			st := s.Stats()
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "readings/s")
			b.ReportMetric(float64(st.Appends)/float64(max(st.Fsyncs, 1)), "appends/fsync")
		})
	}
}

// BenchmarkAppendSequential is one appender (one ingest pipeline): each
// append waits for its fsync.
func BenchmarkAppendSequential(b *testing.B) {
	s := benchSpool(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go drain(ctx, s)
	batch := batchOf(0, 500)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Append(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "readings/s")
}

// BenchmarkAppendPipelined is one appender as the ingest pipelines it:
// AppendAsync of batches of 500 readings without waiting, while another
// goroutine waits for the tickets in order, at most 32 in flight.
func BenchmarkAppendPipelined(b *testing.B) {
	s := benchSpool(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go drain(ctx, s)
	batch := batchOf(0, 500)
	tickets := make(chan Ticket, 32)
	waited := make(chan struct{})
	go func() {
		defer close(waited)
		for t := range tickets {
			if err := t.Wait(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	}()
	b.ReportAllocs()
	for b.Loop() {
		t, err := s.AppendAsync(batch)
		if err != nil {
			b.Fatal(err)
		}
		tickets <- t
	}
	close(tickets)
	<-waited
	st := s.Stats()
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "readings/s")
	b.ReportMetric(float64(st.Appends)/float64(max(st.Fsyncs, 1)), "appends/fsync")
}

// BenchmarkDecodeRecord decodes a record of 500 readings of 20 sensors.
func BenchmarkDecodeRecord(b *testing.B) {
	entries := make([]*registryapi.GatewaySensor, 20)
	for i := range entries {
		entries[i] = &registryapi.GatewaySensor{ID: fmt.Sprintf("air-%02d", i), Category: "air", Site: "site", Retention: "P1Y",
			Tags: map[string]string{"zone": "centre"}}
	}
	batch := make([]validate.Accepted, 500)
	for i := range batch {
		batch[i] = acc(entries[i%20], []string{"pm10", "pm25", "temperature"}[i%3], "ug/m3", float64(i), t0.Add(time.Duration(i/20)*time.Minute))
	}
	rec, err := EncodeRecord(batch, t0)
	if err != nil {
		b.Fatal(err)
	}
	p, _, _ := ReadRecord(rec)
	dst := make([]validate.Accepted, 0, len(batch))
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ReadRecord(rec); err != nil {
			b.Fatal(err)
		}
		clear(dst)
		if dst, _, err = decodePayload(dst[:0], p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "readings/s")
	b.ReportMetric(float64(len(rec))/float64(len(batch)), "bytes/reading")
}

// BenchmarkHotPath is the gateway's path for a typical SenML pack of one
// air sensor (four quantities): decode, resolve, validate against its
// entry, then append to the spool in batches of 64 packs as the ingest
// batches them under load. "cpu" leaves out the append; "spool" runs 32
// appenders (16 × GOMAXPROCS) that share fsyncs.
func BenchmarkHotPath(b *testing.B) {
	entry := &registryapi.GatewaySensor{ID: "air-hdv-01", Category: "air", Site: "hotel-de-ville", Retention: "P1Y",
		Tags: map[string]string{"zone": "centre"}, Status: "active",
		Quantities: []registryapi.Quantity{
			{Name: "pm10", Unit: "ug/m3", Min: senml.Float(0), Max: senml.Float(1000)},
			{Name: "pm25", Unit: "ug/m3", Min: senml.Float(0), Max: senml.Float(1000)},
			{Name: "temperature", Unit: "Cel", Min: senml.Float(-40), Max: senml.Float(60)},
			{Name: "humidity", Unit: "%RH", Min: senml.Float(0), Max: senml.Float(100)},
		}}
	now := time.Now()
	payload := fmt.Appendf(nil, `[{"bn":"air-hdv-01:","bt":%d,"n":"pm10","u":"ug/m3","v":12.5},{"n":"pm25","u":"ug/m3","v":7.25},`+
		`{"n":"temperature","u":"Cel","v":21.5},{"n":"humidity","u":"%%RH","v":48}]`, now.Unix()-30)
	var rules validate.Rules
	var lim senml.Limits
	process := func(b *testing.B, batch []validate.Accepted) []validate.Accepted {
		p, err := lim.Decode(payload)
		if err != nil {
			b.Fatal(err)
		}
		rs, err := p.Resolve("air-hdv-01", now)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range rs {
			a, err := rules.Check(entry, r, now)
			if err != nil {
				b.Fatal(err)
			}
			batch = append(batch, a)
		}
		return batch
	}
	const packsPerAppend = 64

	b.Run("cpu", func(b *testing.B) {
		batch := make([]validate.Accepted, 0, 4*packsPerAppend)
		b.SetBytes(int64(len(payload)))
		b.ReportAllocs()
		for b.Loop() {
			batch = process(b, batch[:0])
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packs/s")
	})
	b.Run("spool", func(b *testing.B) {
		s := benchSpool(b)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go drain(ctx, s)
		b.SetBytes(int64(len(payload)))
		b.SetParallelism(16)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			batch := make([]validate.Accepted, 0, 4*packsPerAppend)
			packs := 0
			for pb.Next() {
				batch = process(b, batch)
				if packs++; packs%packsPerAppend == 0 {
					if err := s.Append(ctx, batch); err != nil {
						b.Error(err)
						return
					}
					clear(batch)
					batch = batch[:0]
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packs/s")
		b.ReportMetric(float64(b.N*4)/b.Elapsed().Seconds(), "readings/s")
	})
}
