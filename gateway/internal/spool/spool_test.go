package spool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/civisens/civisens/firmware-bridge/senml"
	"github.com/civisens/civisens/gateway/internal/metrics"
	"github.com/civisens/civisens/gateway/internal/validate"
	"github.com/civisens/civisens/registry/registryapi"
)

var (
	t0  = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	air = &registryapi.GatewaySensor{ID: "air-hdv-01", Category: "air", Site: "hotel-de-ville", Retention: "P1Y",
		Tags: map[string]string{"zone": "centre", "street": "rue de la Paix"}}
	meter = &registryapi.GatewaySensor{ID: "energy-ecole-02", Category: "energy", Retention: "P10Y"}
)

func acc(e *registryapi.GatewaySensor, q, unit string, v float64, at time.Time) validate.Accepted {
	return validate.Accepted{Reading: senml.Reading{Sensor: e.ID, Quantity: q, Unit: unit, Value: v, Time: at}, Entry: e}
}

// batchOf returns n readings numbered from i0: value i, time t0 + i ms.
func batchOf(i0, n int) []validate.Accepted {
	out := make([]validate.Accepted, n)
	for i := range out {
		k := i0 + i
		e, q, u := air, "pm10", "ug/m3"
		if k%3 == 0 {
			e, q, u = meter, "energy_wh", "Wh"
		}
		out[i] = acc(e, q, u, float64(k), t0.Add(time.Duration(k)*time.Millisecond))
	}
	return out
}

// flat describes readings comparably: the entry by value.
type flat struct {
	Sensor, Quantity, Unit, Category, Site, Retention string
	Tags                                              map[string]string
	Value                                             float64
	Time                                              int64
}

func flatten(rs []validate.Accepted) []flat {
	out := make([]flat, len(rs))
	for i, r := range rs {
		tags := r.Entry.Tags
		if len(tags) == 0 {
			tags = nil
		}
		out[i] = flat{r.Sensor, r.Quantity, r.Unit, r.Entry.Category, r.Entry.Site, r.Entry.Retention, tags, r.Value, r.Time.UnixNano()}
	}
	return out
}

func TestRecordRoundTrip(t *testing.T) {
	batch := []validate.Accepted{
		acc(air, "pm10", "ug/m3", 12.5, t0),
		acc(air, "temperature", "Cel", -3.25, t0),
		acc(meter, "energy_wh", "Wh", 1e12, t0.Add(-time.Hour)),
		acc(air, "pm10", "ug/m3", 0, t0.Add(1500*time.Microsecond+7)),
	}
	rec, err := EncodeRecord(batch, t0)
	if err != nil {
		t.Fatal(err)
	}
	got, n, err := DecodeRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(rec) {
		t.Errorf("size %d, want %d", n, len(rec))
	}
	if diff := cmp.Diff(flatten(batch), flatten(got)); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if got[0].Entry != got[1].Entry || got[0].Entry == got[2].Entry {
		t.Error("readings of one entry should share it, and only them")
	}
	t.Logf("%d readings in %d bytes", len(batch), len(rec))

	// Every cut and every flipped bit is detected.
	for i := range rec {
		if _, _, err := ReadRecord(rec[:i]); !errors.Is(err, ErrShort) && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("cut at %d: %v", i, err)
		}
		for bit := range 8 {
			b := append([]byte(nil), rec...)
			b[i] ^= 1 << bit
			if _, _, err := ReadRecord(b); err == nil {
				t.Fatalf("bit %d of byte %d flipped: not detected", bit, i)
			}
		}
	}
	if _, err := EncodeRecord([]validate.Accepted{{Reading: batch[0].Reading}}, t0); !errors.Is(err, ErrNoEntry) {
		t.Errorf("a reading without entry: %v", err)
	}
}

type testSpool struct {
	*Spool
	reg *metrics.Registry
	log *strings.Builder
}

func open(t *testing.T, cfg Config) *testSpool {
	t.Helper()
	var log strings.Builder
	var mu sync.Mutex
	reg := metrics.NewRegistry()
	s, err := Open(cfg, slog.New(slog.NewTextHandler(lockedWriter{&mu, &log}, nil)), reg)
	if err != nil {
		t.Fatal(err)
	}
	return &testSpool{s, reg, &log}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// readAll reads every durable record, marking them done.
func readAll(t *testing.T, s *Spool) []validate.Accepted {
	t.Helper()
	var out []validate.Accepted
	var b Batch
	for {
		b.Reset()
		if err := s.Read(context.Background(), &b, 100, false); err != nil {
			t.Fatal(err)
		}
		if b.Records == 0 {
			return out
		}
		out = append(out, b.Readings...)
		if err := s.Done(&b); err != nil {
			t.Fatal(err)
		}
	}
}

func segments(t *testing.T, dir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	sort.Strings(m)
	return m
}

func TestAppendReadAcrossSegmentsAndRestarts(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, SegmentBytes: MinSegmentBytes, MaxBytes: 1 << 20, SyncInterval: time.Millisecond}
	s := open(t, cfg)
	ctx := context.Background()
	var want []validate.Accepted
	for i := 0; i < 600; i += 10 {
		b := batchOf(i, 10)
		if err := s.Append(ctx, b); err != nil {
			t.Fatal(err)
		}
		want = append(want, b...)
	}
	if n := len(segments(t, dir)); n < 3 {
		t.Fatalf("%d segments; want several with %d-byte segments", n, MinSegmentBytes)
	}
	st := s.Stats()
	if st.Records != 60 || st.Appends != 60 || st.AppendedReadings != 600 {
		t.Errorf("stats %+v", st)
	}
	// Read half, mark done, close: the rest is read after reopening.
	var b Batch
	if err := s.Read(ctx, &b, 100, true); err != nil {
		t.Fatal(err)
	}
	if len(b.Readings) != 100 || b.Records != 10 {
		t.Fatalf("read %d readings in %d records, want 100 in 10", len(b.Readings), b.Records)
	}
	got := append([]validate.Accepted(nil), b.Readings...)
	s.Done(&b)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, batchOf(0, 1)); !errors.Is(err, ErrClosed) {
		t.Errorf("append after close: %v", err)
	}

	s = open(t, cfg)
	got = append(got, readAll(t, s.Spool)...)
	if diff := cmp.Diff(flatten(want), flatten(got)); diff != "" {
		t.Fatalf("read (-want +got):\n%s", diff)
	}
	if st := s.Stats(); st.Records != 0 || st.Bytes != 0 || st.Segments != 1 {
		t.Errorf("after reading everything: %+v", st)
	}
	if n := len(segments(t, dir)); n != 1 {
		t.Errorf("%d segments left, want 1 (consumed ones deleted)", n)
	}
	// Appends after a restart continue the sequence.
	if err := s.Append(ctx, batchOf(500, 3)); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s.Spool); len(got) != 3 || got[0].Value != 500 {
		t.Errorf("after restart: %v", flatten(got))
	}
	s.Close()
}

func TestReplayAfterCrashWithoutCheckpoint(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, SyncInterval: time.Millisecond, CheckpointInterval: time.Hour}
	s := open(t, cfg)
	for i := range 5 {
		if err := s.Append(context.Background(), batchOf(i*10, 10)); err != nil {
			t.Fatal(err)
		}
	}
	if got := readAll(t, s.Spool); len(got) != 50 {
		t.Fatalf("read %d", len(got))
	}
	// A crash: no Close, the checkpoint was not written. Everything is
	// read again.
	s2 := open(t, cfg)
	if got := readAll(t, s2.Spool); len(got) != 50 {
		t.Errorf("after a crash, %d readings read again, want 50", len(got))
	}
	s2.Close()
	s.Close()
}

func TestGroupCommit(t *testing.T) {
	s := open(t, Config{Dir: t.TempDir(), SyncInterval: 20 * time.Millisecond})
	defer s.Close()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 25 {
				if err := s.Append(context.Background(), batchOf(g*1000+i*10, 10)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	st := s.Stats()
	if st.Appends != 200 {
		t.Fatalf("appends %d", st.Appends)
	}
	if st.Fsyncs >= 100 {
		t.Errorf("%d fsyncs for 200 concurrent appends: not grouped", st.Fsyncs)
	}
	t.Logf("200 appends, %d fsyncs", st.Fsyncs)
	if got := readAll(t, s.Spool); len(got) != 2000 {
		t.Errorf("read %d readings, want 2000", len(got))
	}
}

func TestTornTailIsTruncated(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, SyncInterval: time.Millisecond}
	s := open(t, cfg)
	for i := range 4 {
		if err := s.Append(context.Background(), batchOf(i*10, 10)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	segs := segments(t, dir)
	last := segs[len(segs)-1]
	fi, _ := os.Stat(last)
	rec, _ := EncodeRecord(batchOf(100, 10), t0)
	for _, tail := range [][]byte{rec[:len(rec)/2], []byte("garbage after a power cut"), make([]byte, 4096)} {
		f, err := os.OpenFile(last, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write(tail)
		f.Close()
		s = open(t, cfg)
		if st := s.Stats(); st.TornTails != 1 {
			t.Errorf("tail %q: torn tails %d, want 1", tail[:min(8, len(tail))], st.TornTails)
		}
		if fi2, _ := os.Stat(last); fi2.Size() != fi.Size() {
			t.Errorf("size after recovery %d, want %d", fi2.Size(), fi.Size())
		}
		if !strings.Contains(s.log.String(), "torn tail truncated") {
			t.Error("truncation not logged")
		}
		// Appends after it are read normally.
		if err := s.Append(context.Background(), batchOf(200, 1)); err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, s.Spool); len(got) != 41 {
			t.Errorf("read %d readings after recovery, want 41", len(got))
		}
		s.Close()
		// Put the file back as it was, with its 40 readings unread.
		os.Truncate(last, fi.Size())
		os.Remove(filepath.Join(dir, checkpointName))
	}
}

func TestCorruptRecordIsSkipped(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, SegmentBytes: MinSegmentBytes, SyncInterval: time.Millisecond}
	s := open(t, cfg)
	for i := range 30 {
		if err := s.Append(context.Background(), batchOf(i*10, 10)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	segs := segments(t, dir)
	if len(segs) < 2 {
		t.Fatal("want two segments")
	}
	// Flip a byte inside the second record of the first segment.
	b, _ := os.ReadFile(segs[0])
	_, n, err := ReadRecord(b[segHeader:])
	if err != nil {
		t.Fatal(err)
	}
	b[segHeader+n+20] ^= 0xff
	os.WriteFile(segs[0], b, 0o600)

	s = open(t, cfg)
	defer s.Close()
	got := readAll(t, s.Spool)
	if len(got) != 290 {
		t.Errorf("read %d readings, want 290 (one record of 10 lost)", len(got))
	}
	for _, r := range got {
		if r.Value >= 10 && r.Value < 20 {
			t.Fatalf("reading %v of the corrupt record was read", r.Value)
		}
	}
	if st := s.Stats(); st.CorruptSkipped != 1 || st.TornTails != 0 {
		t.Errorf("corrupt skipped %d, torn %d; want 1, 0", st.CorruptSkipped, st.TornTails)
	}
}

func TestBadSegmentHeaderIsSetAside(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, segName(0)), []byte("not a segment"), 0o600)
	os.WriteFile(filepath.Join(dir, checkpointName), []byte("junk"), 0o600)
	s := open(t, Config{Dir: dir})
	defer s.Close()
	if err := s.Append(context.Background(), batchOf(0, 2)); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s.Spool); len(got) != 2 {
		t.Errorf("read %d", len(got))
	}
	if _, err := os.Stat(filepath.Join(dir, segName(0)+".corrupt")); err != nil {
		t.Error("the bad segment was not set aside")
	}
}

func TestFull(t *testing.T) {
	for _, evict := range []bool{false, true} {
		t.Run(fmt.Sprint("evict=", evict), func(t *testing.T) {
			cfg := Config{Dir: t.TempDir(), SegmentBytes: MinSegmentBytes, MaxBytes: 4 * MinSegmentBytes, SyncInterval: time.Millisecond, EvictOldest: evict}
			s := open(t, cfg)
			defer s.Close()
			ctx := context.Background()
			appended := 0
			var err error
			for i := 0; i < 200 && err == nil; i++ {
				if err = s.Append(ctx, batchOf(i*10, 10)); err == nil {
					appended++
				}
			}
			st := s.Stats()
			if !evict {
				if !errors.Is(err, ErrFull) || !st.Full || st.RefusedFull != 1 {
					t.Fatalf("err %v, stats %+v", err, st)
				}
				if st.DiskBytes > cfg.MaxBytes {
					t.Errorf("disk bytes %d > max %d", st.DiskBytes, cfg.MaxBytes)
				}
				// Sending frees room.
				if got := readAll(t, s.Spool); len(got) != appended*10 {
					t.Errorf("read %d, want %d", len(got), appended*10)
				}
				if err := s.Append(ctx, batchOf(0, 10)); err != nil {
					t.Errorf("after the sink caught up: %v", err)
				}
				return
			}
			if err != nil || st.EvictedSegments == 0 || st.EvictedRecords == 0 {
				t.Fatalf("err %v, stats %+v", err, st)
			}
			if st.DiskBytes > cfg.MaxBytes {
				t.Errorf("disk bytes %d > max %d", st.DiskBytes, cfg.MaxBytes)
			}
			got := readAll(t, s.Spool)
			if want := (200 - int(st.EvictedRecords)) * 10; len(got) != want {
				t.Errorf("read %d, want %d", len(got), want)
			}
			if got[len(got)-1].Value != 1999 {
				t.Errorf("last reading %v, want the newest", got[len(got)-1].Value)
			}
		})
	}
}

func TestReadWaitsForDurableRecords(t *testing.T) {
	s := open(t, Config{Dir: t.TempDir(), SyncInterval: time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got := make(chan int)
	go func() {
		var b Batch
		if err := s.Read(ctx, &b, 10, true); err != nil {
			t.Error(err)
		}
		got <- len(b.Readings)
	}()
	time.Sleep(20 * time.Millisecond)
	if err := s.Append(ctx, batchOf(0, 3)); err != nil {
		t.Fatal(err)
	}
	if n := <-got; n != 3 {
		t.Errorf("read %d readings", n)
	}
	s.Close()
	var b Batch
	if err := s.Read(ctx, &b, 10, true); !errors.Is(err, ErrClosed) {
		t.Errorf("read after close: %v", err)
	}
}

func TestMetrics(t *testing.T) {
	s := open(t, Config{Dir: t.TempDir(), SyncInterval: time.Millisecond})
	defer s.Close()
	s.Append(context.Background(), batchOf(0, 5))
	var b strings.Builder
	s.reg.WriteTo(&b)
	for _, want := range []string{
		"civisens_gateway_spool_records 1\n",
		"civisens_gateway_spool_appended_readings_total 5\n",
		"civisens_gateway_spool_segments 1\n",
		"civisens_gateway_spool_torn_tails_total 0\n",
		"civisens_gateway_spool_full 0\n",
		"civisens_gateway_spool_fsyncs_total 1\n",
		"civisens_gateway_spool_fsync_seconds_count 1\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
}

func TestRecordWritesAnEntryOnce(t *testing.T) {
	a, b := *air, *air // the ingest hands each message its own copy
	changed := *air
	changed.Site = "ailleurs"
	copies, _ := EncodeRecord([]validate.Accepted{acc(&a, "pm10", "ug/m3", 1, t0), acc(&b, "pm10", "ug/m3", 2, t0.Add(time.Second))}, t0)
	shared, _ := EncodeRecord([]validate.Accepted{acc(air, "pm10", "ug/m3", 1, t0), acc(air, "pm10", "ug/m3", 2, t0.Add(time.Second))}, t0)
	if len(copies) != len(shared) {
		t.Errorf("copies of one entry take %d bytes, one entry %d", len(copies), len(shared))
	}
	rs, _, err := DecodeRecord(mustEncode(t, []validate.Accepted{acc(air, "pm10", "ug/m3", 1, t0), acc(&changed, "pm10", "ug/m3", 2, t0)}))
	if err != nil || rs[0].Entry.Site != "hotel-de-ville" || rs[1].Entry.Site != "ailleurs" {
		t.Errorf("an entry that changed within a batch: %v %v", flatten(rs), err)
	}
}

func mustEncode(t *testing.T, batch []validate.Accepted) []byte {
	t.Helper()
	b, err := EncodeRecord(batch, t0)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
