package metrics

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// civisensLines returns the lines of the exposition about the families
// named civisens_…, leaving out the go_*, process_* and promhttp_* ones.
func civisensLines(t *testing.T, r *Registry) string {
	t.Helper()
	var b strings.Builder
	n, err := r.WriteTo(&b)
	if err != nil {
		t.Fatal(err)
	}
	if int(n) != b.Len() {
		t.Errorf("WriteTo returned %d, wrote %d bytes", n, b.Len())
	}
	var out strings.Builder
	for line := range strings.Lines(b.String()) {
		if strings.HasPrefix(line, "civisens_") || strings.Contains(line, " civisens_") {
			out.WriteString(line)
		}
	}
	return out.String()
}

// TestExposition: the text that a scraper, or a grep in a test, reads.
func TestExposition(t *testing.T) {
	r := NewRegistry()
	msgs := r.Counter("civisens_gateway_messages_received_total", "MQTT messages received.")
	rej := r.CounterVec("civisens_gateway_readings_rejected_total", "Readings refused, by reason.\nSecond line with a \\ backslash.", "reason", "sensor")
	q := r.Gauge("civisens_gateway_queue", "Queue length.")
	r.GaugeFunc("civisens_gateway_allowlist_sensors", "Sensors in the allow-list.", func() float64 { return 12 })
	r.CounterFunc("civisens_gateway_fetch_errors_total", "Fetch errors.", func() float64 { return 3 })
	r.Gauge("civisens_gateway_nan", "Not a number.").Set(math.NaN())
	r.Gauge("civisens_gateway_inf", "Infinite.").Set(math.Inf(-1))
	h := r.Histogram("civisens_gateway_write_seconds", "Write latency.", []float64{0.01, 0.1, 1})

	msgs.Add(41)
	msgs.Inc()
	rej.With("unknown_sensor", "").Add(2)
	rej.With("out_of_range", "air-01").Inc()
	rej.With("out_of_range", `we"ird\sen`+"\nsor").Inc()
	q.Set(2.5)
	q.Add(-1)
	h.ObserveDuration(3 * time.Millisecond)
	h.Observe(0.25)
	h.Observe(4)

	// Series with fewer labels (an empty value left out) sort first.
	want := `# HELP civisens_gateway_allowlist_sensors Sensors in the allow-list.
# TYPE civisens_gateway_allowlist_sensors gauge
civisens_gateway_allowlist_sensors 12
# HELP civisens_gateway_fetch_errors_total Fetch errors.
# TYPE civisens_gateway_fetch_errors_total counter
civisens_gateway_fetch_errors_total 3
# HELP civisens_gateway_inf Infinite.
# TYPE civisens_gateway_inf gauge
civisens_gateway_inf -Inf
# HELP civisens_gateway_messages_received_total MQTT messages received.
# TYPE civisens_gateway_messages_received_total counter
civisens_gateway_messages_received_total 42
# HELP civisens_gateway_nan Not a number.
# TYPE civisens_gateway_nan gauge
civisens_gateway_nan NaN
# HELP civisens_gateway_queue Queue length.
# TYPE civisens_gateway_queue gauge
civisens_gateway_queue 1.5
# HELP civisens_gateway_readings_rejected_total Readings refused, by reason.\nSecond line with a \\ backslash.
# TYPE civisens_gateway_readings_rejected_total counter
civisens_gateway_readings_rejected_total{reason="unknown_sensor"} 2
civisens_gateway_readings_rejected_total{reason="out_of_range",sensor="air-01"} 1
civisens_gateway_readings_rejected_total{reason="out_of_range",sensor="we\"ird\\sen\nsor"} 1
# HELP civisens_gateway_write_seconds Write latency.
# TYPE civisens_gateway_write_seconds histogram
civisens_gateway_write_seconds_bucket{le="0.01"} 1
civisens_gateway_write_seconds_bucket{le="0.1"} 1
civisens_gateway_write_seconds_bucket{le="1"} 2
civisens_gateway_write_seconds_bucket{le="+Inf"} 3
civisens_gateway_write_seconds_sum 4.253
civisens_gateway_write_seconds_count 3
`
	if diff := cmp.Diff(want, civisensLines(t, r)); diff != "" {
		t.Errorf("exposition (-want +got):\n%s", diff)
	}
}

// parse reads the exposition back as a Prometheus server would.
func parse(t *testing.T, r *Registry) map[string]*dto.MetricFamily {
	t.Helper()
	var b bytes.Buffer
	if _, err := r.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(&b)
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, b.String())
	}
	return mfs
}

// series returns the labels of m as name=value pairs, sorted.
func series(m *dto.Metric) string {
	var ls []string
	for _, l := range m.GetLabel() {
		ls = append(ls, l.GetName()+"="+l.GetValue())
	}
	return strings.Join(ls, ",")
}

// TestParsedBack: counters, labels, gauges, functions and histograms hold
// the values a user would read in Prometheus.
func TestParsedBack(t *testing.T) {
	r := NewRegistry()
	acked := r.Counter("civisens_gateway_messages_acknowledged_total", "Acknowledged.")
	rej := r.CounterVec("civisens_gateway_payloads_rejected_total", "Refused.", "reason", "sensor")
	pending := r.Gauge("civisens_gateway_messages_pending", "Pending.")
	depth := 7.0
	r.GaugeFunc("civisens_gateway_spool_records", "Spool depth.", func() float64 { return depth })
	r.CounterFunc("civisens_gateway_spool_fsyncs_total", "Fsyncs.", func() float64 { return 9 })
	fsync := r.Histogram("civisens_gateway_spool_fsync_seconds", "Fsync duration.", []float64{0.0001, 0.001, 0.01, 0.1, 1, 5})
	commit := r.HistogramVec("civisens_gateway_commit_seconds", "Commit latency.", []float64{0.01, 0.1}, "result")

	acked.Add(3)
	acked.AddFloat(0.5)
	acked.AddFloat(-1) // ignored
	acked.AddFloat(math.NaN())
	rej.With("syntax", "air-01").Inc()
	rej.With("syntax", "").Add(4)
	pending.Set(5)
	pending.Add(-2)
	for _, d := range []time.Duration{50 * time.Microsecond, 300 * time.Microsecond, 2 * time.Millisecond, 2 * time.Millisecond, 40 * time.Millisecond, 10 * time.Second} {
		fsync.ObserveDuration(d)
	}
	commit.With("ok").Observe(0.005)
	commit.With("ok").Observe(0.05)
	commit.With("").Observe(1)

	mfs := parse(t, r)
	value := func(name string) float64 {
		t.Helper()
		mf, ok := mfs[name]
		if !ok || len(mf.Metric) != 1 {
			t.Fatalf("%s: %v", name, mf)
		}
		m := mf.Metric[0]
		switch mf.GetType() {
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue()
		case dto.MetricType_GAUGE:
			return m.GetGauge().GetValue()
		}
		t.Fatalf("%s is a %v", name, mf.GetType())
		return 0
	}
	if v := value("civisens_gateway_messages_acknowledged_total"); v != 3.5 {
		t.Errorf("acknowledged = %v, want 3.5", v)
	}
	if v := acked.Value(); v != 3.5 {
		t.Errorf("acknowledged Value() = %v, want 3.5", v)
	}
	if v := value("civisens_gateway_messages_pending"); v != 3 || pending.Value() != 3 {
		t.Errorf("pending = %v, Value() = %v, want 3", v, pending.Value())
	}
	if v := value("civisens_gateway_spool_records"); v != 7 {
		t.Errorf("spool_records = %v, want 7", v)
	}
	depth = 8
	if v := parse(t, r)["civisens_gateway_spool_records"].Metric[0].GetGauge().GetValue(); v != 8 {
		t.Errorf("spool_records after a change = %v, want 8 (read at each scrape)", v)
	}
	if v := value("civisens_gateway_spool_fsyncs_total"); v != 9 {
		t.Errorf("fsyncs = %v, want 9", v)
	}

	got := map[string]float64{}
	for _, m := range mfs["civisens_gateway_payloads_rejected_total"].Metric {
		got[series(m)] = m.GetCounter().GetValue()
	}
	if diff := cmp.Diff(map[string]float64{"reason=syntax": 4, "reason=syntax,sensor=air-01": 1}, got); diff != "" {
		t.Errorf("payloads_rejected_total by series (-want +got):\n%s", diff)
	}

	type hist struct {
		Buckets map[float64]uint64 // cumulative counts by upper bound
		Count   uint64
		Sum     float64
	}
	read := func(m *dto.Metric) hist {
		h := hist{Buckets: map[float64]uint64{}, Count: m.GetHistogram().GetSampleCount(), Sum: m.GetHistogram().GetSampleSum()}
		for _, b := range m.GetHistogram().GetBucket() {
			h.Buckets[b.GetUpperBound()] = b.GetCumulativeCount()
		}
		return h
	}
	approx := cmpopts.EquateApprox(0, 1e-9)
	mf := mfs["civisens_gateway_spool_fsync_seconds"]
	if mf.GetType() != dto.MetricType_HISTOGRAM {
		t.Fatalf("fsync_seconds is a %v", mf.GetType())
	}
	want := hist{
		Buckets: map[float64]uint64{0.0001: 1, 0.001: 2, 0.01: 4, 0.1: 5, 1: 5, 5: 5, math.Inf(1): 6},
		Count:   6,
		Sum:     0.00005 + 0.0003 + 0.002 + 0.002 + 0.04 + 10,
	}
	if diff := cmp.Diff(want, read(mf.Metric[0]), approx); diff != "" {
		t.Errorf("fsync_seconds (-want +got):\n%s", diff)
	}

	gotVec := map[string]hist{}
	for _, m := range mfs["civisens_gateway_commit_seconds"].Metric {
		gotVec[series(m)] = read(m)
	}
	wantVec := map[string]hist{
		"result=ok": {Buckets: map[float64]uint64{0.01: 1, 0.1: 2, math.Inf(1): 2}, Count: 2, Sum: 0.055},
		"":          {Buckets: map[float64]uint64{0.01: 0, 0.1: 0, math.Inf(1): 1}, Count: 1, Sum: 1},
	}
	if diff := cmp.Diff(wantVec, gotVec, approx); diff != "" {
		t.Errorf("commit_seconds by series (-want +got):\n%s", diff)
	}
}

// TestRuntimeFamilies: the Go runtime's and the process's families are
// there from the start.
func TestRuntimeFamilies(t *testing.T) {
	mfs := parse(t, NewRegistry())
	want := []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "go_gc_duration_seconds", "promhttp_metric_handler_errors_total"}
	if runtime.GOOS == "linux" {
		want = append(want, "process_resident_memory_bytes", "process_cpu_seconds_total", "process_open_fds", "process_start_time_seconds")
	}
	for _, name := range want {
		if _, ok := mfs[name]; !ok {
			t.Errorf("no %s", name)
		}
	}
	if v := mfs["go_goroutines"].GetMetric()[0].GetGauge().GetValue(); v < 1 {
		t.Errorf("go_goroutines = %v", v)
	}
}

func TestCountersAreSafeForConcurrentUse(t *testing.T) {
	r := NewRegistry()
	v := r.CounterVec("x_total", "x", "reason")
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 1000; j++ {
				v.With("a").Inc()
			}
		}()
	}
	wg.Wait()
	if got := v.With("a").Value(); got != 8000 {
		t.Errorf("x_total = %v, want 8000", got)
	}
}

func TestMisuseIsAProgrammingError(t *testing.T) {
	for name, f := range map[string]func(r *Registry){
		"twice":       func(r *Registry) { r.Counter("a_total", ""); r.Counter("a_total", "") },
		"bad name":    func(r *Registry) { r.Counter("a-total", "") },
		"bad label":   func(r *Registry) { r.CounterVec("a_total", "", "a-b") },
		"label count": func(r *Registry) { r.CounterVec("a_total", "", "a", "b").With("x") },
		"twice, other kind": func(r *Registry) {
			r.GaugeFunc("a", "", func() float64 { return 0 })
			r.Histogram("a", "", nil)
		},
		"histogram label count": func(r *Registry) { r.HistogramVec("a_seconds", "", nil, "a").With() },
		"histogram le label":    func(r *Registry) { r.HistogramVec("a_seconds", "", nil, "le") },
		"buckets not increasing": func(r *Registry) {
			r.Histogram("a_seconds", "", []float64{1, 0.5})
		},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("did not panic")
				}
			}()
			f(NewRegistry())
		})
	}
}

func TestHandler(t *testing.T) {
	r := NewRegistry()
	r.Counter("civisens_gateway_messages_received_total", "m").Inc()
	health := Health{
		Version:   "test",
		MQTT:      MQTTHealth{Connected: true},
		Influx:    InfluxHealth{Reachable: true},
		AllowList: AllowListHealth{Loaded: true, Sensors: 3},
	}
	h := NewHandler(r, func() Health { return health })

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != ContentType {
		t.Errorf("/metrics: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if !strings.Contains(rec.Body.String(), "civisens_gateway_messages_received_total 1\n") {
		t.Errorf("/metrics body:\n%s", rec.Body)
	}

	// A Prometheus server that asks for the protobuf format reads the same
	// series, an empty label value left out there too.
	r.CounterVec("civisens_gateway_readings_rejected_total", "r", "reason", "sensor").With("unknown_sensor", "").Inc()
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Accept", `application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3`)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	dec := expfmt.NewDecoder(rec.Body, expfmt.ResponseFormat(rec.Result().Header))
	found := false
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); err != nil {
			break
		}
		if mf.GetName() == "civisens_gateway_readings_rejected_total" {
			found = true
			if got := series(mf.Metric[0]); got != "reason=unknown_sensor" {
				t.Errorf("protobuf series %q, want reason=unknown_sensor", got)
			}
		}
	}
	if !found {
		t.Errorf("protobuf exposition (%s) without readings_rejected_total", rec.Header().Get("Content-Type"))
	}

	check := func(wantCode int, wantProblems int) {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		if rec.Code != wantCode {
			t.Errorf("/healthz = %d, want %d: %s", rec.Code, wantCode, rec.Body)
		}
		var got Health
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if got.OK != (wantCode == http.StatusOK) || len(got.Problems) != wantProblems {
			t.Errorf("/healthz body: %s", rec.Body)
		}
	}
	check(http.StatusOK, 0)
	health.MQTT.Connected = false
	health.Influx.Reachable = false
	check(http.StatusServiceUnavailable, 2)

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/metrics", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics = %d, want 405", rec.Code)
	}
}

// TestReadyz: ready when the allow-list is loaded, the gateway subscribed
// and the spool not full, whatever InfluxDB does.
func TestReadyz(t *testing.T) {
	health := Health{
		MQTT:      MQTTHealth{Connected: true},
		Influx:    InfluxHealth{Reachable: false},
		AllowList: AllowListHealth{Loaded: true},
		Spool:     &SpoolHealth{},
	}
	h := NewHandler(NewRegistry(), func() Health { return health })
	check := func(wantCode int, wantProblem string) {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		var got Readiness
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if rec.Code != wantCode || got.Ready != (wantCode == http.StatusOK) || !strings.Contains(strings.Join(got.Problems, ";"), wantProblem) {
			t.Errorf("/readyz = %d %s, want %d %q", rec.Code, rec.Body, wantCode, wantProblem)
		}
	}
	check(http.StatusOK, "")
	health.Spool.Full = true
	check(http.StatusServiceUnavailable, "spool full")
	health.Spool.Full = false
	health.AllowList.Loaded = false
	check(http.StatusServiceUnavailable, "no allow-list")
	health.AllowList.Loaded = true
	health.MQTT.Connected = false
	check(http.StatusServiceUnavailable, "not subscribed")
}
