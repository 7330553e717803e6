package dashboards

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	influxdb2 "github.com/influxdata/influxdb-client-go/v2"

	"github.com/civisens/civisens/internal/testinfra"
)

func TestSeriesRejectsInputBeforeQuerying(t *testing.T) {
	r := NewReader(refuse{t}, "civisens/autogen")
	to := time.Now()
	from := to.Add(-24 * time.Hour)
	for _, in := range []struct {
		category, id string
		from, to     time.Time
		every        time.Duration
	}{
		{"air", `x" or r.sensor != "`, from, to, time.Hour},
		{`air" or true or "`, "air-01", from, to, time.Hour},
		{"air", "air-01", from, to, 0},
		{"air", "air-01", to, from, time.Hour},
	} {
		if _, err := r.Series(context.Background(), in.category, in.id, "", in.from, in.to, in.every); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("Series(%q, %q, %v): %v, want ErrInvalidInput", in.category, in.id, in.every, err)
		}
	}
	if _, err := r.Series(context.Background(), "air", "air-01", "forever", from, to, time.Hour); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("Series with retention forever: %v, want ErrInvalidInput", err)
	}
}

// Series averages the raw readings of the last hours per hour, per
// quantity, across a move of site, from the entry's retention policy.
func TestSeriesFromInfluxDB(t *testing.T) {
	in := testinfra.StartInfluxDB(t)
	in.Exec(t, "CREATE DATABASE civisens")
	in.Exec(t, `CREATE RETENTION POLICY "civisens_p5y" ON "civisens" DURATION 43800h REPLICATION 1`)
	to := time.Now().UTC().Truncate(time.Hour)
	from := to.Add(-24 * time.Hour)
	h := func(n int, m int) int64 {
		return from.Add(time.Duration(n)*time.Hour + time.Duration(m)*time.Minute).Unix()
	}
	lines := []string{
		// Hour 0: pm10 10 and 20 → 15; temperature 19.5.
		fmt.Sprintf("air,sensor=air-test-01,site=mairie pm10=10,temperature=19.5 %d", h(0, 5)),
		fmt.Sprintf("air,sensor=air-test-01,site=mairie pm10=20 %d", h(0, 35)),
		// Hour 3: one reading at each site (the sensor moved): one mean.
		fmt.Sprintf("air,sensor=air-test-01,site=mairie pm10=12 %d", h(3, 1)),
		fmt.Sprintf("air,sensor=air-test-01,site=gare pm10=13 %d", h(3, 50)),
		// Hour 23, with integer and boolean fields.
		fmt.Sprintf("air,sensor=air-test-01,site=gare pm10=7,count=3i,door=true %d", h(23, 10)),
		fmt.Sprintf("air,sensor=air-test-01,site=gare count=4i,door=false %d", h(23, 20)),
		// Before the range, another sensor, another category: not read.
		fmt.Sprintf("air,sensor=air-test-01,site=mairie pm10=99 %d", from.Add(-time.Minute).Unix()),
		fmt.Sprintf("air,sensor=air-test-02,site=mairie pm10=99 %d", h(1, 0)),
		fmt.Sprintf("parking,sensor=air-test-01 occupancy=1 %d", h(1, 0)),
	}
	resp, err := http.Post(in.URL+"/write?db=civisens&rp=civisens_p5y&precision=s", "text/plain", strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("write: %s", resp.Status)
	}

	client := influxdb2.NewClient(in.URL, "")
	defer client.Close()
	r := NewReader(client.QueryAPI(""), FluxBucket("", "civisens"))
	ctx := context.Background()
	var got []Series
	testinfra.Eventually(t, 10*time.Second, func() error {
		got, err = r.Series(ctx, "air", "air-test-01", "P5Y", from, to, time.Hour)
		if err != nil {
			return err
		}
		if len(got) != 4 || len(got[2].Points) != 3 {
			return fmt.Errorf("series: %v", got)
		}
		return nil
	})
	at := func(n int) time.Time { return from.Add(time.Duration(n) * time.Hour) }
	want := []Series{
		{Quantity: "count", Points: []Point{{at(23), 3.5}}},
		{Quantity: "door", Points: []Point{{at(23), 0.5}}},
		{Quantity: "pm10", Points: []Point{{at(0), 15}, {at(3), 12.5}, {at(23), 7}}},
		{Quantity: "temperature", Points: []Point{{at(0), 19.5}}},
	}
	if d := cmp.Diff(want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); d != "" {
		t.Errorf("Series (-want +got):\n%s", d)
	}

	// Nothing in autogen, nothing for a sensor never written.
	if got, err := r.Series(ctx, "air", "air-test-01", "", from, to, time.Hour); err != nil || len(got) != 0 {
		t.Errorf("Series from autogen = %v, %v; want none", got, err)
	}
	if got, err := r.Series(ctx, "energy", "energie-mairie-01", "P5Y", from, to, time.Hour); err != nil || len(got) != 0 {
		t.Errorf("Series of a sensor never written = %v, %v; want none", got, err)
	}
	missing := NewReader(client.QueryAPI(""), "nodb/autogen")
	if _, err := missing.Series(ctx, "air", "air-test-01", "", from, to, time.Hour); err == nil {
		t.Error("no error from a bucket that does not exist")
	}
}
