package sink

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"
	"github.com/influxdata/influxdb-client-go/v2/api/write"

	"github.com/google/go-cmp/cmp"

	"github.com/civisens/civisens/firmware-bridge/senml"
	"github.com/civisens/civisens/gateway/internal/metrics"
	"github.com/civisens/civisens/gateway/internal/validate"
	"github.com/civisens/civisens/registry/registryapi"
)

// fakeWriter records what it is asked to write, and fails while err is set.
type fakeWriter struct {
	lines []string
	err   error
}

func (f *fakeWriter) WriteRecord(_ context.Context, lines ...string) error {
	if f.err != nil {
		return f.err
	}
	for _, l := range lines {
		f.lines = append(f.lines, strings.Split(strings.TrimSpace(l), "\n")...)
	}
	return nil
}

func (f *fakeWriter) WritePoint(_ context.Context, pts ...*write.Point) error {
	if f.err != nil {
		return f.err
	}
	for _, p := range pts {
		f.lines = append(f.lines, strings.TrimSpace(write.PointToLineProtocol(p, time.Nanosecond)))
	}
	return nil
}

var (
	t0  = time.Date(2025, 3, 1, 11, 58, 0, 0, time.UTC) // 1740830280 s
	air = &registryapi.GatewaySensor{ID: "air-hdv-01", Category: "air", Site: "hotel-de-ville",
		Tags: map[string]string{"zone": "centre", "sensor": "spoofed", "site": "spoofed", "empty": ""}}
	meter = &registryapi.GatewaySensor{ID: "energy-ecole-02", Category: "energy", Site: "",
		Tags: map[string]string{"building": "ecole jules ferry", "meter": "main"}}
)

func acc(e *registryapi.GatewaySensor, q string, v float64, at time.Time) validate.Accepted {
	return validate.Accepted{Reading: senml.Reading{Sensor: e.ID, Quantity: q, Value: v, Time: at}, Entry: e}
}

func TestPoints(t *testing.T) {
	var fw fakeWriter
	s := New(&fw, nil, slog.New(slog.DiscardHandler), metrics.NewRegistry())
	batch := []validate.Accepted{
		acc(air, "pm10", 12.5, t0),
		acc(meter, "energy_wh", 1234, t0),
		acc(air, "temperature", 21.25, t0),                  // same sensor, same time: same point
		acc(air, "pm10", 13, t0.Add(1500*time.Millisecond)), // another time: another point
		acc(air, "pm10", 14, t0),                            // a duplicate overwrites
	}
	if err := s.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`air,sensor=air-hdv-01,site=hotel-de-ville,zone=centre pm10=14,temperature=21.25 1740830280000000000`,
		`energy,building=ecole\ jules\ ferry,meter=main,sensor=energy-ecole-02 energy_wh=1234 1740830280000000000`,
		`air,sensor=air-hdv-01,site=hotel-de-ville,zone=centre pm10=13 1740830281500000000`,
	}
	if diff := cmp.Diff(want, fw.lines); diff != "" {
		t.Errorf("points (-want +got):\n%s", diff)
	}
	for _, p := range Points(batch) {
		for _, f := range p.FieldList() {
			if _, ok := f.Value.(float64); !ok {
				t.Errorf("field %s is a %T, want float64", f.Key, f.Value)
			}
		}
	}
}

func TestWriteResults(t *testing.T) {
	batch := []validate.Accepted{acc(air, "pm10", 1, t0), acc(air, "temperature", 2, t0)}
	for _, tc := range []struct {
		name        string
		err         error
		wantErr     bool
		wantRefused int // HTTP status of a refusal for good
	}{
		{"network", &influxhttp.Error{Err: errors.New("connection refused")}, true, 0},
		{"server error", &influxhttp.Error{StatusCode: 503, Message: "overloaded"}, true, 0},
		{"too many requests", &influxhttp.Error{StatusCode: 429, Message: "slow down"}, true, 0},
		{"unauthorized", &influxhttp.Error{StatusCode: 401, Message: "authorization failed"}, true, 0},
		{"database missing", &influxhttp.Error{StatusCode: 404, Message: `database not found: "civisens"`}, true, 0},
		{"field type conflict", &influxhttp.Error{StatusCode: 400, Message: "partial write: field type conflict"}, true, 400},
		{"beyond retention", &influxhttp.Error{StatusCode: 422, Message: "points beyond retention policy"}, true, 422},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := metrics.NewRegistry()
			fw := &fakeWriter{err: tc.err}
			prepared := 0
			s := New(fw, func(context.Context) error { prepared++; return nil }, slog.New(slog.DiscardHandler), reg)
			err := s.Write(context.Background(), batch)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Write = %v, want error: %v", err, tc.wantErr)
			}
			var re *RefusedError
			if got := errors.As(err, &re); got != (tc.wantRefused != 0) || (got && re.Status != tc.wantRefused) {
				t.Errorf("Write = %v: refused for good %v, want status %d", err, got, tc.wantRefused)
			}
			if st := s.Status(); st.Reachable != (tc.wantRefused != 0) {
				t.Errorf("Status = %+v", st)
			}
			// The next write prepares again only if the database went away.
			fw.err = nil
			if err := s.Write(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
			wantPrepared := 1
			if tc.name == "database missing" {
				wantPrepared = 2
			}
			if prepared != wantPrepared {
				t.Errorf("prepared %d times, want %d", prepared, wantPrepared)
			}
			if st := s.Status(); !st.Reachable || st.LastError != nil || st.LastWrite.IsZero() {
				t.Errorf("Status after a good write = %+v", st)
			}
		})
	}
}

func TestPrepareFailureIsRetried(t *testing.T) {
	fw := &fakeWriter{}
	fail := true
	s := New(fw, func(context.Context) error {
		if fail {
			return errors.New("connection refused")
		}
		return nil
	}, slog.New(slog.DiscardHandler), metrics.NewRegistry())
	batch := []validate.Accepted{acc(air, "pm10", 1, t0)}
	if err := s.Write(context.Background(), batch); err == nil || len(fw.lines) != 0 {
		t.Fatalf("Write with an unprepared server = %v, wrote %v", err, fw.lines)
	}
	if s.writeErrors.Value() != 1 || s.Status().Reachable {
		t.Errorf("the failure was not counted: %+v", s.Status())
	}
	fail = false
	if err := s.Write(context.Background(), batch); err != nil || len(fw.lines) != 1 {
		t.Fatalf("Write = %v, wrote %v", err, fw.lines)
	}
}

// fakeInflux1 answers InfluxQL on /query as InfluxDB 1.8 does.
type fakeInflux1 struct {
	mu      sync.Mutex
	queries []string
	auth    []string
}

func (f *fakeInflux1) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/query" {
		http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusBadRequest)
		return
	}
	b, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(b))
	f.mu.Lock()
	f.queries = append(f.queries, form.Get("q"))
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.mu.Unlock()
	if strings.Contains(form.Get("q"), "forbidden") {
		w.Write([]byte(`{"results":[{"statement_id":0,"error":"database name is not allowed"}]}`))
		return
	}
	w.Write([]byte(`{"results":[{"statement_id":0}]}`))
}

func TestCreateDatabase(t *testing.T) {
	fi := &fakeInflux1{}
	srv := httptest.NewServer(fi)
	defer srv.Close()
	ctx := context.Background()

	if err := createDatabase(ctx, srv.Client(), srv.URL, "admin:s3cret", `civi"sens`); err != nil {
		t.Fatal(err)
	}
	if err := createDatabase(ctx, srv.Client(), srv.URL, "", "civisens"); err != nil {
		t.Fatal(err)
	}
	if err := createDatabase(ctx, srv.Client(), srv.URL, "", "forbidden"); err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Errorf("an InfluxQL error inside a 200 was not reported: %v", err)
	}
	want := []string{`CREATE DATABASE "civi\"sens"`, `CREATE DATABASE "civisens"`, `CREATE DATABASE "forbidden"`}
	if diff := cmp.Diff(want, fi.queries); diff != "" {
		t.Errorf("queries (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Token admin:s3cret", "", ""}, fi.auth); diff != "" {
		t.Errorf("authorization (-want +got):\n%s", diff)
	}
	if err := createDatabase(ctx, srv.Client(), "http://127.0.0.1:1", "", "civisens"); err == nil {
		t.Error("no error from an unreachable server")
	}
}

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		bucket, db, write string
	}{
		{"civisens", "civisens", "civisens/autogen"},
		{"civisens/one_year", "civisens", "civisens/one_year"},
		{"civisens/", "civisens", "civisens/autogen"},
	} {
		db, w := Config{Bucket: tc.bucket}.database()
		if db != tc.db || w != tc.write {
			t.Errorf("bucket %q: database %q, write to %q; want %q, %q", tc.bucket, db, w, tc.db, tc.write)
		}
	}
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("x", "influx", Config{URL: "http://x", Token: "admin:s3cret"})
	if strings.Contains(b.String(), "s3cret") {
		t.Errorf("the token was logged: %s", b.String())
	}
}
