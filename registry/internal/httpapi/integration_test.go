package httpapi

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"

	"github.com/civisens/civisens/dashboards"
	"github.com/civisens/civisens/internal/testinfra"
	"github.com/civisens/civisens/registry/internal/demo"
	"github.com/civisens/civisens/registry/registryapi"
)

// The entry page shows the latest readings that a real InfluxDB 1.8 holds,
// read by the real dashboards.Reader, as the registry wires it.
func TestEntryPageShowsInfluxDBReadings(t *testing.T) {
	in := testinfra.StartInfluxDB(t)
	in.Exec(t, "CREATE DATABASE civisens")
	// The gateway writes into the retention policy of the entry's
	// retention; the entry page reads it from there.
	var ret registryapi.Retention
	for _, d := range demo.Sensors() {
		if d.ID == "air-mairie-01" {
			r, err := registryapi.ParseRetention(d.Retention)
			if err != nil {
				t.Fatal(err)
			}
			ret = r
		}
	}
	in.Exec(t, fmt.Sprintf(`CREATE RETENTION POLICY %q ON "civisens" DURATION %dh REPLICATION 1`, ret.RetentionPolicy(), ret.Hours()))
	now := time.Now().Truncate(time.Second)
	lines := strings.Join([]string{
		fmt.Sprintf("air,sensor=air-mairie-01,site=hotel-de-ville,zone=centre pm10=31.5,temperature=18 %d", now.Add(-time.Hour).Unix()),
		fmt.Sprintf("air,sensor=air-mairie-01,site=hotel-de-ville,zone=centre pm10=14.25,humidity=62.5 %d", now.Add(-time.Minute).Unix()),
	}, "\n")
	resp, err := http.Post(in.URL+"/write?db=civisens&rp="+ret.RetentionPolicy()+"&precision=s", "text/plain", strings.NewReader(lines))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("write: %s: %s", resp.Status, b)
	}

	// As run() configures it: token and org empty, bucket "civisens".
	client := influxdb2.NewClient(in.URL, "")
	defer client.Close()
	reader := dashboards.NewReader(client.QueryAPI(""), dashboards.FluxBucket("", "civisens"))
	h := newHandler(t, testStore(t), reader)

	var fr answer
	testinfra.Eventually(t, 10*time.Second, func() error {
		fr = get(t, h, "/sensors/air-mairie-01")
		if !strings.Contains(fr.body, ">14,25<") {
			return fmt.Errorf("%d: the page does not show 14,25 yet", fr.status)
		}
		return nil
	})
	for _, want := range []string{">18<", ">62,5<", "% HR", "°C"} {
		if !strings.Contains(fr.body, want) {
			t.Errorf("French page lacks %q", want)
		}
	}
	_, latest, _ := strings.Cut(fr.body, `class="readings"`)
	latest, _, _ = strings.Cut(latest, "</table>")
	if strings.Contains(latest, ">31,5<") {
		t.Error("the latest readings show an older pm10 than the latest")
	}
	// The last 24 hours: a chart per quantity, and the hourly averages in
	// a table, with the hour-old pm10 among them (or, when both readings
	// fall in the same clock hour, their mean).
	for _, want := range []string{`<svg class="chart" role="img"`, "Particules PM10 (µg/m³), moyennes horaires", `<table class="recent">`} {
		if !strings.Contains(fr.body, want) {
			t.Errorf("French page lacks %q", want)
		}
	}
	if !strings.Contains(fr.body, `<td class="num">31,5</td>`) && !strings.Contains(fr.body, `<td class="num">22,875</td>`) {
		t.Error("the hourly averages lack the hour-old pm10")
	}
	en := get(t, h, "/sensors/air-mairie-01?lang=en")
	if !strings.Contains(en.body, ">14.25<") {
		t.Error("English page lacks 14.25")
	}
	// A sensor with nothing written says so.
	if a := get(t, h, "/sensors/air-gare-01"); !strings.Contains(a.body, "Aucune mesure reçue") {
		t.Error("a sensor without readings does not say so")
	}

	// InfluxDB stops: the page is still served, and says why.
	in.Proc.Stop(t)
	a := get(t, h, "/sensors/air-mairie-01")
	if a.status != http.StatusOK || !strings.Contains(a.body, "momentanément indisponibles") {
		t.Errorf("with InfluxDB stopped: %d, page lacks the unavailable notice", a.status)
	}
}
