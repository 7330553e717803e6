package dashboards

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"

	"github.com/civisens/civisens/internal/testinfra"
)

func TestFluxBucket(t *testing.T) {
	for _, tt := range []struct{ org, bucket, want string }{
		{"", "civisens", "civisens/autogen"},
		{"", "civisens/one_year", "civisens/one_year"},
		{"", "civisens/autogen", "civisens/autogen"},
		{"valmont", "civisens", "civisens"},
		{"", "", ""},
	} {
		if got := FluxBucket(tt.org, tt.bucket); got != tt.want {
			t.Errorf("FluxBucket(%q, %q) = %q, want %q", tt.org, tt.bucket, got, tt.want)
		}
	}
}

func TestFluxString(t *testing.T) {
	for in, want := range map[string]string{
		"civisens/autogen": `"civisens/autogen"`,
		`a"b`:              `"a\"b"`,
		`a\b`:              `"a\\b"`,
		"a${x}":            `"a\${x}"`,
		"a$b":              `"a$b"`,
		"a\nb":             `"a\nb"`,
	} {
		if got := fluxString(in); got != want {
			t.Errorf("fluxString(%q) = %s, want %s", in, got, want)
		}
	}
}

type refuse struct{ t *testing.T }

func (r refuse) Query(context.Context, string) (*api.QueryTableResult, error) {
	r.t.Error("queried InfluxDB with an invalid input")
	return nil, errors.New("refused")
}

func TestLatestRejectsInputBeforeQuerying(t *testing.T) {
	r := NewReader(refuse{t}, "civisens/autogen")
	for _, in := range [][2]string{
		{"air", `x" or r.sensor != "`},
		{"air", "Air-01"},
		{"air", ""},
		{`air" or true or "`, "air-01"},
		{"", "air-01"},
	} {
		if _, err := r.Latest(context.Background(), in[0], in[1], ""); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("Latest(%q, %q): %v, want ErrInvalidInput", in[0], in[1], err)
		}
	}
}

func TestLatestWhenInfluxDBIsDown(t *testing.T) {
	url := fmt.Sprintf("http://127.0.0.1:%d", testinfra.FreePort(t))
	client := influxdb2.NewClientWithOptions(url, "", influxdb2.DefaultOptions().SetHTTPRequestTimeout(2))
	defer client.Close()
	r := NewReader(client.QueryAPI(""), "civisens/autogen")
	if _, err := r.Latest(context.Background(), "air", "air-mairie-01", ""); err == nil {
		t.Fatal("no error from an InfluxDB that is not there")
	}
}

// WriteLines writes InfluxDB line protocol, with times in seconds, into
// database db of in.
func writeLines(t *testing.T, in *testinfra.Influx, db string, lines ...string) {
	t.Helper()
	resp, err := http.Post(in.URL+"/write?db="+db+"&precision=s", "text/plain", strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("write: %s: %s", resp.Status, b)
	}
}

func TestLatestFromInfluxDB(t *testing.T) {
	in := testinfra.StartInfluxDB(t)
	in.Exec(t, "CREATE DATABASE civisens")
	now := time.Now().Truncate(time.Second)
	t1, t2, t3 := now.Add(-2*time.Hour), now.Add(-time.Hour), now.Add(-time.Minute)
	old := now.Add(-8 * 24 * time.Hour)
	writeLines(t, in, "civisens",
		fmt.Sprintf("air,sensor=air-test-01,site=mairie,zone=centre pm10=40,temperature=19.5 %d", old.Unix()),
		fmt.Sprintf("air,sensor=air-test-01,site=mairie,zone=centre pm10=12.5,temperature=20.25 %d", t1.Unix()),
		fmt.Sprintf("air,sensor=air-test-01,site=mairie,zone=centre pm10=14 %d", t2.Unix()),
		// The same sensor after it moved site: another series, later.
		fmt.Sprintf("air,sensor=air-test-01,site=gare,zone=gare pm10=17.75 %d", t3.Unix()),
		// Other sensors, and another category with the same id, are not read.
		fmt.Sprintf("air,sensor=air-test-02,site=mairie,zone=centre pm10=99 %d", t3.Unix()),
		fmt.Sprintf("parking,sensor=air-test-01,site=gare occupancy=1 %d", t3.Unix()),
		// A sensor clock running two minutes fast is still read; an hour
		// ahead is beyond the skew Latest allows.
		fmt.Sprintf("air,sensor=air-test-01,site=gare,zone=gare no2=21 %d", now.Add(2*time.Minute).Unix()),
		fmt.Sprintf("air,sensor=air-test-01,site=gare,zone=gare o3=80 %d", now.Add(time.Hour).Unix()),
		// Only old readings: outside the seven-day window.
		fmt.Sprintf("air,sensor=air-old-01,site=mairie pm10=5 %d", old.Unix()),
	)

	client := influxdb2.NewClient(in.URL, "")
	defer client.Close()
	r := NewReader(client.QueryAPI(""), FluxBucket("", "civisens"))
	ctx := context.Background()

	var got []Reading
	// InfluxDB acknowledges a write before every query can see it.
	testinfra.Eventually(t, 10*time.Second, func() error {
		var err error
		got, err = r.Latest(ctx, "air", "air-test-01", "")
		if err != nil {
			return err
		}
		if len(got) != 3 {
			return fmt.Errorf("%d readings: %v", len(got), got)
		}
		return nil
	})
	want := []Reading{
		{Quantity: "no2", Value: 21, Time: now.Add(2 * time.Minute)},
		{Quantity: "pm10", Value: 17.75, Time: t3},
		{Quantity: "temperature", Value: 20.25, Time: t1},
	}
	if d := cmp.Diff(want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); d != "" {
		t.Errorf("Latest (-want +got):\n%s", d)
	}

	none, err := r.Latest(ctx, "air", "air-old-01", "")
	if err != nil || len(none) != 0 {
		t.Errorf("Latest of a sensor silent for eight days = %v, %v; want none", none, err)
	}
	none, err = r.Latest(ctx, "energy", "energie-mairie-01", "")
	if err != nil || len(none) != 0 {
		t.Errorf("Latest of a sensor never written = %v, %v; want none", none, err)
	}

	// Readings of an entry kept five years are in civisens/civisens_p5y.
	in.Exec(t, `CREATE RETENTION POLICY "civisens_p5y" ON "civisens" DURATION 43800h REPLICATION 1`)
	resp, err := http.Post(in.URL+"/write?db=civisens&rp=civisens_p5y&precision=s", "text/plain",
		strings.NewReader(fmt.Sprintf("air,sensor=air-p5y-01 pm10=3 %d", t3.Unix())))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	testinfra.Eventually(t, 10*time.Second, func() error {
		got, err := r.Latest(ctx, "air", "air-p5y-01", "P5Y")
		if err != nil || len(got) != 1 || got[0].Value != 3 {
			return fmt.Errorf("Latest with P5Y = %v, %v", got, err)
		}
		return nil
	})
	if got, err := r.Latest(ctx, "air", "air-p5y-01", ""); err != nil || len(got) != 0 {
		t.Errorf("Latest from autogen = %v, %v; want none (the readings are in civisens_p5y)", got, err)
	}
	if _, err := r.Latest(ctx, "air", "air-p5y-01", "forever"); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("Latest with retention forever: %v, want ErrInvalidInput", err)
	}

	missing := NewReader(client.QueryAPI(""), "nodb/autogen")
	if _, err := missing.Latest(ctx, "air", "air-test-01", ""); err == nil {
		t.Error("no error from a bucket that does not exist")
	}
}

func TestRetentionBucket(t *testing.T) {
	for _, c := range [][3]string{
		{"civisens/autogen", "P5Y", "civisens/civisens_p5y"},
		{FluxBucket("", "civisens"), "P1Y", "civisens/civisens_p1y"},
		{"civisens", "P30D", "civisens_p30d"}, // 2.x
		{"civisens/autogen", "", "civisens/autogen"},
	} {
		if got, err := RetentionBucket(c[0], c[1]); err != nil || got != c[2] {
			t.Errorf("RetentionBucket(%q, %q) = %q, %v; want %q", c[0], c[1], got, err, c[2])
		}
	}
}
