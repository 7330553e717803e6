package sink

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/civisens/civisens/gateway/internal/metrics"
	"github.com/civisens/civisens/gateway/internal/validate"
)

// DefaultDeadLetterMaxBytes bounds the dead-letter files by default.
const DefaultDeadLetterMaxBytes = 16 << 20

// DeadLetters keeps the readings that InfluxDB refused for good, one JSON
// object per line, in files dir/deadletter-<unix ns>.jsonl. A file is
// closed at a quarter of maxBytes and the oldest files are deleted
// (counted) to keep the folder within maxBytes. Each line:
//
//	{"dead_at":"2026-03-01T12:00:00Z","status":400,"reason":"partial write: field type conflict…",
//	 "sensor":"air-hdv-01","category":"air","site":"hotel-de-ville","tags":{"zone":"centre"},
//	 "retention":"P1Y","quantity":"pm10","unit":"ug/m3","value":12.5,"time":"2026-03-01T11:59:00.5Z"}
//
// A value that JSON cannot carry (NaN, ±Inf) is written as a string.
// Status 0 means the gateway itself refused the readings: their retention
// policy or bucket does not enforce the entry's retention (the reason starts
// with retention_mismatch, retention_missing or retention_invalid).
type DeadLetters struct {
	dir      string
	maxBytes int64
	log      *slog.Logger
	now      func() time.Time

	readings *metrics.CounterVec
	removed  *metrics.Counter

	mu    sync.Mutex
	f     *os.File
	size  int64
	files []dlFile // oldest first, the open one last
	total int64
}

type dlFile struct {
	name string
	size int64
}

// OpenDeadLetters opens the dead-letter folder, creating it if needed.
func OpenDeadLetters(dir string, maxBytes int64, log *slog.Logger, reg *metrics.Registry) (*DeadLetters, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultDeadLetterMaxBytes
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("deadletter: %w", err)
	}
	d := &DeadLetters{dir: dir, maxBytes: maxBytes, log: log, now: time.Now,
		readings: reg.CounterVec("civisens_gateway_deadletter_readings_total", "Readings InfluxDB refused for good, written to the dead-letter files, by HTTP status.", "status"),
		removed:  reg.Counter("civisens_gateway_deadletter_files_removed_total", "Dead-letter files deleted to keep within -deadletter-max-bytes."),
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("deadletter: %w", err)
	}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), "deadletter-") || !strings.HasSuffix(e.Name(), ".jsonl") {
			continue
		}
		if fi, err := e.Info(); err == nil {
			d.files = append(d.files, dlFile{e.Name(), fi.Size()})
			d.total += fi.Size()
		}
	}
	slices.SortFunc(d.files, func(a, b dlFile) int { return strings.Compare(a.name, b.name) })
	reg.GaugeFunc("civisens_gateway_deadletter_bytes", "Size of the dead-letter files.", func() float64 {
		d.mu.Lock()
		defer d.mu.Unlock()
		return float64(d.total)
	})
	return d, nil
}

type deadLine struct {
	DeadAt    time.Time         `json:"dead_at"`
	Status    int               `json:"status"`
	Reason    string            `json:"reason"`
	Sensor    string            `json:"sensor"`
	Category  string            `json:"category"`
	Site      string            `json:"site,omitempty"`
	Tags      map[string]string `json:"tags,omitempty"`
	Retention string            `json:"retention,omitempty"`
	Quantity  string            `json:"quantity"`
	Unit      string            `json:"unit,omitempty"`
	Value     any               `json:"value"`
	Time      time.Time         `json:"time"`
}

// Write appends readings, refused with status for reason, and makes them
// durable.
func (d *DeadLetters) Write(readings []validate.Accepted, status int, reason string) error {
	if len(readings) == 0 {
		return nil
	}
	var b []byte
	now := d.now().UTC()
	for _, r := range readings {
		var v any = r.Value
		if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
			v = strconv.FormatFloat(r.Value, 'g', -1, 64)
		}
		line := deadLine{DeadAt: now, Status: status, Reason: reason, Sensor: r.Sensor, Quantity: r.Quantity, Unit: r.Unit,
			Value: v, Time: r.Time.UTC()}
		if e := r.Entry; e != nil {
			line.Category, line.Site, line.Tags, line.Retention = e.Category, e.Site, e.Tags, e.Retention
		}
		j, err := json.Marshal(line)
		if err != nil {
			return fmt.Errorf("deadletter: %w", err)
		}
		b = append(append(b, j...), '\n')
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil || d.size+int64(len(b)) > max(d.maxBytes/4, 1) && d.size > 0 {
		if err := d.roll(); err != nil {
			return err
		}
	}
	if _, err := d.f.Write(b); err != nil {
		return fmt.Errorf("deadletter: %w", err)
	}
	d.size += int64(len(b))
	d.files[len(d.files)-1].size = d.size
	d.total += int64(len(b))
	err := d.f.Sync()
	d.readings.With(strconv.Itoa(status)).Add(uint64(len(readings)))
	for d.total > d.maxBytes && len(d.files) > 1 {
		old := d.files[0]
		if err := os.Remove(filepath.Join(d.dir, old.name)); err != nil && !os.IsNotExist(err) {
			d.log.Error("deadletter: cannot delete the oldest file", "file", old.name, "err", err)
			break
		}
		d.files = d.files[1:]
		d.total -= old.size
		d.removed.Inc()
		d.log.Warn("deadletter: oldest file deleted to stay within -deadletter-max-bytes", "file", old.name)
	}
	if err != nil {
		return fmt.Errorf("deadletter: %w", err)
	}
	return nil
}

// roll starts a new file.
func (d *DeadLetters) roll() error {
	if d.f != nil {
		d.f.Close()
		d.f = nil
	}
	name := fmt.Sprintf("deadletter-%019d.jsonl", d.now().UnixNano())
	f, err := os.OpenFile(filepath.Join(d.dir, name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("deadletter: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("deadletter: %w", err)
	}
	d.f, d.size = f, fi.Size()
	if n := len(d.files); n == 0 || d.files[n-1].name != name {
		d.files = append(d.files, dlFile{name, d.size})
	}
	return nil
}

// Close closes the open file.
func (d *DeadLetters) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		return nil
	}
	err := d.f.Close()
	d.f = nil
	return err
}
