package metrics

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExposition(t *testing.T) {
	r := NewRegistry()
	msgs := r.Counter("civisens_gateway_messages_received_total", "MQTT messages received.")
	rej := r.CounterVec("civisens_gateway_readings_rejected_total", "Readings refused, by reason.\nSecond line with a \\ backslash.", "reason", "sensor")
	q := r.Gauge("civisens_gateway_queue", "Queue length.")
	r.GaugeFunc("civisens_gateway_allowlist_sensors", "Sensors in the allow-list.", func() float64 { return 12 })
	r.CounterFunc("civisens_gateway_fetch_errors_total", "Fetch errors.", func() float64 { return 3 })
	r.Gauge("civisens_gateway_nan", "Not a number.").Set(math.NaN())
	r.Gauge("civisens_gateway_inf", "Infinite.").Set(math.Inf(-1))

	msgs.Add(41)
	msgs.Inc()
	rej.With("unknown_sensor", "").Add(2)
	rej.With("out_of_range", "air-01").Inc()
	rej.With("out_of_range", `we"ird\sen`+"\nsor").Inc()
	q.Set(2.5)
	q.Add(-1)

	var b strings.Builder
	n, err := r.WriteTo(&b)
	if err != nil {
		t.Fatal(err)
	}
	if int(n) != b.Len() {
		t.Errorf("WriteTo returned %d, wrote %d bytes", n, b.Len())
	}
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
civisens_gateway_readings_rejected_total{reason="out_of_range",sensor="air-01"} 1
civisens_gateway_readings_rejected_total{reason="out_of_range",sensor="we\"ird\\sen\nsor"} 1
civisens_gateway_readings_rejected_total{reason="unknown_sensor"} 2
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("exposition (-want +got):\n%s", diff)
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
