// Package bench measures the whole civisens chain against its targets
// (issue 8): `make bench` runs the full set (medians of three runs, min and
// max printed), `make bench BENCH=quick` one short run. It is a test that
// runs only when CIVISENS_BENCH is set (quick or full), so that `make test`
// compiles and vets it but never runs it.
//
// It starts the real programs, built from this checkout, with the real
// InfluxDB 1.8.10 (bin/influxd) and Debian's mosquitto, each on a free
// loopback port, and ends only the processes it started, by PID. It prints
// a table on stdout and writes one JSON file per run and a summary under
// var/bench/.
package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/civisens/civisens/internal/testinfra"
)

// config is one mode's sizes.
type config struct {
	Mode             string
	Runs             int
	Conns            int
	CeilingN         int           // messages for the publishers' ceiling
	ThroughputN      int           // messages for the sustained rate
	LatencyFor       time.Duration // at 2,000 msg/s
	RecoveryReadings int
	RegistryFor      time.Duration // per page
	RegistryWorkers  int
	Poll             time.Duration // InfluxDB count polling
	Cross            bool
}

var modes = map[string]config{
	"quick": {Mode: "quick", Runs: 1, Conns: 8, CeilingN: 20000, ThroughputN: 15000, LatencyFor: 4 * time.Second,
		RecoveryReadings: 100000, RegistryFor: time.Second, RegistryWorkers: 4, Poll: 100 * time.Millisecond, Cross: true},
	"full": {Mode: "full", Runs: 3, Conns: 8, CeilingN: 100000, ThroughputN: 100000, LatencyFor: 20 * time.Second,
		RecoveryReadings: 1000000, RegistryFor: 10 * time.Second, RegistryWorkers: 16, Poll: 200 * time.Millisecond, Cross: true},
}

// target is what a figure must reach.
type target struct {
	Text string
	OK   func(v float64) bool
}

func atLeast(x float64, text string) target {
	return target{text, func(v float64) bool { return v >= x }}
}
func atMost(x float64, text string) target {
	return target{text, func(v float64) bool { return v <= x }}
}

var targets = map[string]target{
	"mosq.e2e":            atLeast(45000, "≥ 45,000"),
	"mosq.lost":           atMost(0, "0"),
	"emb.lost":            atMost(0, "0"),
	"emb.reached":         atLeast(90, "≥ 90 (ceiling reached)"),
	"mosq.cpu":            atMost(0.8, "≤ 0.8 (8 µs/msg)"),
	"emb.cpu":             atMost(1.5, "≤ 1.5 (15 µs/msg)"),
	"mosq.rss":            atMost(40, "≤ 40"),
	"emb.rss":             atMost(40, "≤ 40"),
	"mosq.disk_byte":      atMost(1.2, "≤ 1.2"),
	"emb.disk_byte":       atMost(1.2, "≤ 1.2"),
	"lat.mosq.ack_p99":    atMost(25, "≤ 25"),
	"lat.emb.ack_p99":     atMost(25, "≤ 25"),
	"lat.mosq.influx_p99": atMost(250, "≤ 250"),
	"lat.emb.influx_p99":  atMost(250, "≤ 250"),
	"rec.accept":          atMost(2, "≤ 2 (1M spooled)"),
	"rec.drain":           atLeast(70000, "≥ 70,000"),
	"reg.list.rps":        atLeast(3000, "≥ 3,000"),
	"reg.list.p99":        atMost(20, "≤ 20"),
}

// figure is one measurement of one run.
type figure struct {
	Key   string  `json:"key"`
	Name  string  `json:"name"`
	Unit  string  `json:"unit"`
	Value float64 `json:"value"`
}

// recorder keeps one run's figures in the order they were measured.
type recorder struct{ figures []figure }

func (r *recorder) add(key, name, unit string, v float64) {
	r.figures = append(r.figures, figure{key, name, unit, v})
}

// runFile is what var/bench/run-*.json holds.
type runFile struct {
	Mode    string    `json:"mode"`
	Run     int       `json:"run"`
	Started time.Time `json:"started"`
	Host    hostInfo  `json:"host"`
	Figures []figure  `json:"figures"`
}

type hostInfo struct {
	CPUs      int    `json:"cpus"`
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
	GoVersion string `json:"go_version"`
}

// summaryRow is one line of the table and of var/bench/summary-*.json.
type summaryRow struct {
	Key    string    `json:"key"`
	Name   string    `json:"name"`
	Unit   string    `json:"unit"`
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Values []float64 `json:"values"`
	Target string    `json:"target,omitempty"`
	Result string    `json:"result,omitempty"` // PASS, MISS
}

func TestBench(t *testing.T) {
	mode := os.Getenv("CIVISENS_BENCH")
	if mode == "" {
		t.Skip("the bench runs with `make bench` (CIVISENS_BENCH=quick or full)")
	}
	cfg, ok := modes[mode]
	if !ok {
		t.Fatalf("CIVISENS_BENCH=%q: quick or full", mode)
	}
	root := testinfra.RepoRoot(t)
	outDir := filepath.Join(root, "var", "bench")
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	stamp := time.Now().UTC().Format("20060102T150405Z")
	host := hostInfo{runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version()}
	began := time.Now()

	bin := buildGateway(t)
	var runs []runFile
	for i := 1; i <= cfg.Runs; i++ {
		rec := &recorder{}
		started := time.Now()
		t.Run(fmt.Sprintf("run%d", i), func(t *testing.T) {
			influx := newInflux(t)
			influx.start(t)
			c := &chain{cfg: cfg, bin: bin, registry: fakeRegistry(t).URL, influx: influx, rec: rec}
			step(t, "mosq", "gateway through Mosquitto", func() { c.throughput(t, "mosq") })
			step(t, "emb", "gateway with its embedded broker", func() { c.throughput(t, "emb") })
			step(t, "rec", "recovery after kill -9", func() { c.recovery(t) })
			step(t, "reg", "registry", func() { registryBench(t, cfg, bin, influx.URL, rec) })
		})
		if i == 1 {
			step(t, "sizes", "binary sizes", func() { binarySizes(t, cfg, rec) })
		}
		rf := runFile{Mode: cfg.Mode, Run: i, Started: started.UTC(), Host: host, Figures: rec.figures}
		writeJSON(t, filepath.Join(outDir, fmt.Sprintf("run-%s-%s-%d.json", stamp, cfg.Mode, i)), rf)
		runs = append(runs, rf)
	}
	rows := summarize(runs)
	writeJSON(t, filepath.Join(outDir, fmt.Sprintf("summary-%s-%s.json", stamp, cfg.Mode)), struct {
		Mode    string       `json:"mode"`
		Runs    int          `json:"runs"`
		Started time.Time    `json:"started"`
		Seconds float64      `json:"seconds"`
		Host    hostInfo     `json:"host"`
		Rows    []summaryRow `json:"rows"`
	}{cfg.Mode, len(runs), began.UTC(), time.Since(began).Seconds(), host, rows})
	printTable(cfg, host, rows, time.Since(began))
	fmt.Printf("\nJSON: var/bench/run-%s-%s-*.json, var/bench/summary-%s-%s.json\n", stamp, cfg.Mode, stamp, cfg.Mode)
}

// step runs a part and logs how long it took; CIVISENS_BENCH_ONLY (a
// comma-separated list of mosq, emb, rec, reg, sizes) runs only those.
func step(t *testing.T, key, name string, f func()) {
	if only := os.Getenv("CIVISENS_BENCH_ONLY"); only != "" && !slices.Contains(strings.Split(only, ","), key) {
		return
	}
	start := time.Now()
	fmt.Printf("bench: %s…\n", name)
	f()
	fmt.Printf("bench: %s: %.1fs\n", name, time.Since(start).Seconds())
}

func writeJSON(t *testing.T, path string, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func summarize(runs []runFile) []summaryRow {
	var rows []summaryRow
	idx := map[string]int{}
	for _, r := range runs {
		for _, f := range r.Figures {
			i, ok := idx[f.Key]
			if !ok {
				i = len(rows)
				idx[f.Key] = i
				rows = append(rows, summaryRow{Key: f.Key, Name: f.Name, Unit: f.Unit})
			}
			rows[i].Values = append(rows[i].Values, f.Value)
		}
	}
	for i := range rows {
		v := append([]float64(nil), rows[i].Values...)
		sort.Float64s(v)
		rows[i].Min, rows[i].Max = v[0], v[len(v)-1]
		if len(v)%2 == 1 {
			rows[i].Median = v[len(v)/2]
		} else {
			rows[i].Median = (v[len(v)/2-1] + v[len(v)/2]) / 2
		}
		if tg, ok := targets[rows[i].Key]; ok {
			rows[i].Target = tg.Text
			rows[i].Result = "MISS"
			if !math.IsNaN(rows[i].Median) && tg.OK(rows[i].Median) {
				rows[i].Result = "PASS"
			}
		}
	}
	return rows
}

func num(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return fmt.Sprint(v)
	case math.Abs(v) >= 1000:
		s := fmt.Sprintf("%.0f", v)
		var b strings.Builder
		for i, r := range s {
			if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
				b.WriteByte(',')
			}
			b.WriteRune(r)
		}
		return b.String()
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func printTable(cfg config, host hostInfo, rows []summaryRow, took time.Duration) {
	fmt.Printf("\ncivisens bench — mode %s, %d run(s), %d CPUs, %s, %s; took %.0fs\n\n", cfg.Mode, cfg.Runs, host.CPUs, host.GoVersion, time.Now().UTC().Format(time.RFC3339), took.Seconds())
	w := 0
	for _, r := range rows {
		if n := len([]rune(r.Name)); n > w {
			w = n
		}
	}
	pad := func(s string, n int) string { return s + strings.Repeat(" ", max(0, n-len([]rune(s)))) }
	header := fmt.Sprintf("%s  %12s  %12s  %12s  %-10s  %-24s  %s", pad("measurement", w), "median", "min", "max", "unit", "target", "result")
	fmt.Println(header)
	fmt.Println(strings.Repeat("-", len([]rune(header))))
	pass, miss := 0, 0
	for _, r := range rows {
		fmt.Printf("%s  %12s  %12s  %12s  %-10s  %-24s  %s\n", pad(r.Name, w), num(r.Median), num(r.Min), num(r.Max), r.Unit, pad(r.Target, 24), r.Result)
		switch r.Result {
		case "PASS":
			pass++
		case "MISS":
			miss++
		}
	}
	fmt.Printf("\n%d targets: %d PASS, %d MISS\n", pass+miss, pass, miss)
}
