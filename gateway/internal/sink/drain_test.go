package sink

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"
	"github.com/influxdata/influxdb-client-go/v2/api/write"

	"github.com/civisens/civisens/gateway/internal/metrics"
	"github.com/civisens/civisens/gateway/internal/spool"
	"github.com/civisens/civisens/gateway/internal/validate"
)

// refusingWriter refuses (400) any request holding a point whose pm10 is
// negative, fails the first transient requests, and records the rest.
type refusingWriter struct {
	mu        sync.Mutex
	transient int
	calls     int
	written   map[string]bool
}

func (w *refusingWriter) WritePoint(ctx context.Context, pts ...*write.Point) error {
	var lines []string
	for _, p := range pts {
		lines = append(lines, write.PointToLineProtocol(p, time.Nanosecond))
	}
	return w.WriteRecord(ctx, strings.Join(lines, ""))
}

func (w *refusingWriter) WriteRecord(_ context.Context, text ...string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls++
	if w.transient > 0 {
		w.transient--
		return &influxhttp.Error{StatusCode: 503, Message: "starting"}
	}
	lines := strings.Split(strings.TrimSpace(strings.Join(text, "\n")), "\n")
	for _, l := range lines {
		if strings.Contains(l, " pm10=-") || strings.Contains(l, ",pm10=-") {
			return &influxhttp.Error{StatusCode: 400, Code: "invalid", Message: "partial write: field type conflict"}
		}
	}
	for _, l := range lines {
		w.written[l] = true
	}
	return nil
}

func (w *refusingWriter) count() int { w.mu.Lock(); defer w.mu.Unlock(); return len(w.written) }

func TestDrainerSplitsRefusedBatchesAndRetries(t *testing.T) {
	dir := t.TempDir()
	reg := metrics.NewRegistry()
	log := slog.New(slog.DiscardHandler)
	sp, err := spool.Open(spool.Config{Dir: filepath.Join(dir, "spool"), SyncInterval: time.Millisecond}, log, reg)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	dead, err := OpenDeadLetters(filepath.Join(dir, "deadletter"), 0, log, reg)
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	fw := &refusingWriter{transient: 2, written: map[string]bool{}}
	w := New(fw, nil, log, reg)
	d := NewDrainer(DrainConfig{BatchSize: 100, FlushInterval: time.Millisecond, RetryMin: time.Millisecond}, sp, w, dead, log, reg)

	// 200 points, of which 3 are refused.
	bad := map[int]bool{17: true, 18: true, 150: true}
	for k := 0; k < 200; k += 20 {
		var batch []validate.Accepted
		for i := k; i < k+20; i++ {
			v := float64(i)
			if bad[i] {
				v = -1
			}
			batch = append(batch, acc(air, "pm10", v, t0.Add(time.Duration(i)*time.Second)), acc(air, "temperature", 20, t0.Add(time.Duration(i)*time.Second)))
		}
		if err := sp.Append(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stop := make(chan struct{})
	close(stop) // drain what is there, then return
	d.Run(ctx, stop)

	if n := fw.count(); n != 197 {
		t.Errorf("%d points written, want 197", n)
	}
	if st := sp.Stats(); st.Records != 0 {
		t.Errorf("spool still holds %d records", st.Records)
	}
	if v := d.retries.Value(); v != 2 {
		t.Errorf("retries = %v, want 2", v)
	}
	if v := dead.readings.With("400").Value(); v != 6 {
		t.Errorf("dead letters = %v, want 6 (3 points of 2 readings)", v)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "deadletter", "*.jsonl"))
	if len(files) != 1 {
		t.Fatalf("dead-letter files %v", files)
	}
	f, _ := os.Open(files[0])
	defer f.Close()
	sc := bufio.NewScanner(f)
	lines := 0
	for sc.Scan() {
		var l deadLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		if l.Status != 400 || !strings.Contains(l.Reason, "field type conflict") || l.Sensor != "air-hdv-01" || l.Category != "air" || l.Time.IsZero() {
			t.Errorf("dead letter %s", sc.Text())
		}
		lines++
	}
	if lines != 6 {
		t.Errorf("%d dead-letter lines, want 6", lines)
	}
}

func TestDrainerStopsAtItsDeadline(t *testing.T) {
	reg := metrics.NewRegistry()
	log := slog.New(slog.DiscardHandler)
	sp, err := spool.Open(spool.Config{Dir: t.TempDir(), SyncInterval: time.Millisecond}, log, reg)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	fw := &fakeWriter{err: &influxhttp.Error{Err: errors.New("connection refused")}}
	d := NewDrainer(DrainConfig{RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond}, sp, New(fw, nil, log, reg), nil, log, reg)
	sp.Append(context.Background(), []validate.Accepted{acc(air, "pm10", 1, t0)})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	stop := make(chan struct{})
	close(stop)
	start := time.Now()
	d.Run(ctx, stop)
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("Run took %v after its deadline", el)
	}
	if st := sp.Stats(); st.Records != 1 {
		t.Errorf("the unsent record left the spool: %+v", st)
	}
}

func TestDeadLettersAreBounded(t *testing.T) {
	dir := t.TempDir()
	reg := metrics.NewRegistry()
	d, err := OpenDeadLetters(dir, 4096, slog.New(slog.DiscardHandler), reg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	n := int64(0)
	d.now = func() time.Time { n++; return t0.Add(time.Duration(n) * time.Second) }
	for range 100 {
		if err := d.Write([]validate.Accepted{acc(air, "pm10", 1, t0)}, 422, "points beyond retention policy"); err != nil {
			t.Fatal(err)
		}
	}
	var total int64
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	for _, f := range files {
		fi, _ := os.Stat(f)
		total += fi.Size()
	}
	if total > 4096 || len(files) < 2 {
		t.Errorf("%d files, %d bytes; want several within 4096", len(files), total)
	}
	if d.removed.Value() == 0 || d.readings.With("422").Value() != 100 {
		t.Errorf("removed %v, readings %v", d.removed.Value(), d.readings.With("422").Value())
	}
}

// gatedWriter holds every write of a point at time first until open is
// closed, and records the times of the points it wrote.
type gatedWriter struct {
	first time.Time
	open  chan struct{}
	mu    sync.Mutex
	times map[time.Time]bool
	later chan struct{} // closed once a later write went through
	once  sync.Once
}

func (w *gatedWriter) WriteRecord(ctx context.Context, text ...string) error {
	var pts []*write.Point
	for _, l := range strings.Split(strings.TrimSpace(strings.Join(text, "\n")), "\n") {
		ns, err := strconv.ParseInt(l[strings.LastIndexByte(l, ' ')+1:], 10, 64)
		if err != nil {
			return err
		}
		pts = append(pts, write.NewPoint("x", nil, map[string]any{"v": 1.0}, time.Unix(0, ns)))
	}
	return w.WritePoint(ctx, pts...)
}

func (w *gatedWriter) WritePoint(ctx context.Context, pts ...*write.Point) error {
	held := false
	for _, p := range pts {
		held = held || p.Time().Equal(w.first)
	}
	if held {
		select {
		case <-w.open:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	w.mu.Lock()
	for _, p := range pts {
		w.times[p.Time()] = true
	}
	w.mu.Unlock()
	if !held {
		w.once.Do(func() { close(w.later) })
	}
	return nil
}

// The drainer writes several batches at once, but marks none done in the
// spool before every batch read before it is written: a stop while the
// first write hangs leaves every batch in the spool.
func TestDrainerMarksBatchesDoneInOrder(t *testing.T) {
	reg := metrics.NewRegistry()
	log := slog.New(slog.DiscardHandler)
	dir := t.TempDir()
	sp, err := spool.Open(spool.Config{Dir: dir, SyncInterval: time.Millisecond}, log, reg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 { // four records of 10 readings: four batches
		var batch []validate.Accepted
		for j := range 10 {
			batch = append(batch, acc(air, "pm10", 1, t0.Add(time.Duration(10*i+j)*time.Second)))
		}
		if err := sp.Append(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
	}
	fw := &gatedWriter{first: t0, open: make(chan struct{}), times: map[time.Time]bool{}, later: make(chan struct{})}
	d := NewDrainer(DrainConfig{BatchSize: 10, FlushInterval: time.Millisecond, Writers: 4, RetryMin: time.Millisecond}, sp, New(fw, nil, log, reg), nil, log, reg)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		d.Run(ctx, nil)
	}()
	select {
	case <-fw.later:
	case <-time.After(10 * time.Second):
		t.Fatal("no batch after the first was written while the first was held")
	}
	cancel() // a crash, as far as the spool knows
	<-ran
	if st := sp.Stats(); st.Records != 4 {
		t.Errorf("the spool holds %d records after a stop with the first batch unwritten, want all 4", st.Records)
	}
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}

	// The next start sends everything, and marks it done.
	reg = metrics.NewRegistry()
	sp, err = spool.Open(spool.Config{Dir: dir, SyncInterval: time.Millisecond}, log, reg)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	close(fw.open)
	d = NewDrainer(DrainConfig{BatchSize: 10, FlushInterval: time.Millisecond, Writers: 4, RetryMin: time.Millisecond}, sp, New(fw, nil, log, reg), nil, log, reg)
	stop := make(chan struct{})
	close(stop)
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d.Run(ctx, stop)
	if st := sp.Stats(); st.Records != 0 {
		t.Errorf("the spool still holds %d records", st.Records)
	}
	if len(fw.times) != 40 {
		t.Errorf("%d points written, want 40", len(fw.times))
	}
}
