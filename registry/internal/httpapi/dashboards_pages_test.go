package httpapi

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"

	"github.com/civisens/civisens/dashboards"
	"github.com/civisens/civisens/internal/testinfra"
	"github.com/civisens/civisens/registry/internal/auth"
	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/demo"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/internal/web"
)

// dashEnv is the demo town in a real store, its aggregates in a real
// InfluxDB 1.8, and a handler over both on 20 November 2026.
type dashEnv struct {
	*authEnv
	loc *time.Location
}

func influxWrite(t *testing.T, in *testinfra.Influx, rp string, lines []string) {
	t.Helper()
	resp, err := http.Post(in.URL+"/write?db=civisens&rp="+rp+"&precision=s", "text/plain", strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("write: %s: %s", resp.Status, b)
	}
}

func newDashEnv(t *testing.T) *dashEnv {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "registry.db")
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, s := range demo.Sensors() {
		switch s.ID {
		case "energie-mairie-01":
			s.Tags["floor_area_m2"] = "1000"
			s.Tags[TertiaryReferenceYearTag] = "2020"
			s.Tags[TertiaryReferenceKWhTag] = "500"
		case "energie-ecole-01":
			s.Tags["floor_area_m2"] = "2000"
			s.Tags[TertiaryReferenceYearTag] = "2025" // its consumption from the 2025 aggregates
		case "air-gare-01", "parking-marche-01": // closed data: never on the public dashboards
			s.OpenData, s.OpenDataLicence, s.OpenDataURL = false, "", ""
		}
		if _, err := st.Create(ctx, s, store.Change{ActorRole: catalog.RoleSystem, Actor: "test", Reason: "seed"}); err != nil {
			t.Fatalf("%s: %v", s.ID, err)
		}
	}

	in := testinfra.StartInfluxDB(t)
	in.Exec(t, "CREATE DATABASE civisens")
	in.Exec(t, `CREATE RETENTION POLICY "civisens_p10y" ON "civisens" DURATION 87600h REPLICATION 1`)
	in.Exec(t, `CREATE RETENTION POLICY "civisens_p1y" ON "civisens" DURATION 8760h REPLICATION 1`)
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, loc) }
	var agg, raw []string
	line := func(to *[]string, format string, args ...any) { *to = append(*to, fmt.Sprintf(format, args...)) }

	// Energy: from 2 to 15 November 2026 the town hall uses 1 kWh an
	// hour (24 kWh a day) but 2 kWh an hour on Thursday 12 (48 kWh: an
	// alert), the school 2 kWh an hour; 10 to 12 November 2025, the town
	// hall 1.5 kWh an hour; the school's 2025 reference year, 100 kWh.
	for at := day(2026, 11, 2); at.Before(day(2026, 11, 16)); at = at.Add(time.Hour) {
		mairie := 1000
		if !at.Before(day(2026, 11, 12)) && at.Before(day(2026, 11, 13)) {
			mairie = 2000
		}
		line(&agg, "energy_agg,building=hotel-de-ville,meter=general,sensor=energie-mairie-01,site=hotel-de-ville,window=1h energy_delta=%d %d", mairie, at.Unix())
		line(&agg, "energy_agg,building=ecole-jules-ferry,meter=general,sensor=energie-ecole-01,site=ecole-jules-ferry,window=1h energy_delta=2000 %d", at.Unix())
	}
	for at := day(2025, 11, 10); at.Before(day(2025, 11, 13)); at = at.Add(time.Hour) {
		line(&agg, "energy_agg,building=hotel-de-ville,meter=general,sensor=energie-mairie-01,site=hotel-de-ville,window=1h energy_delta=1500 %d", at.Unix())
	}
	line(&agg, "energy_agg,building=ecole-jules-ferry,meter=general,sensor=energie-ecole-01,site=ecole-jules-ferry,window=1h energy_delta=100000 %d", day(2025, 6, 2).Add(12*time.Hour).Unix())
	// The town's temperature (air-mairie-01): 8 to 12 °C in November
	// 2026 (8 DJU a day), 4 to 8 °C in November 2025 (12 DJU).
	for _, y := range []int{2025, 2026} {
		lo, hi := 8, 12
		if y == 2025 {
			lo, hi = 4, 8
		}
		for at := day(y, 10, 1); at.Before(day(y, 11, 16)); at = at.Add(time.Hour) {
			line(&agg, "air_agg,sensor=air-mairie-01,site=hotel-de-ville,window=1h temperature_min=%d,temperature_max=%d,temperature_mean=%d %d", lo, hi, (lo+hi)/2, at.Unix())
		}
	}
	// Air on Tuesday 10 November 2026: PM10 48 µg/m³ all day (ATMO
	// "dégradé", over the WHO 24-hour 45), NO2 30, PM2.5 8 at the open
	// town hall station; 200 µg/m³ of PM10 at the closed station.
	for at := day(2026, 11, 10); at.Before(day(2026, 11, 11)); at = at.Add(time.Hour) {
		line(&agg, "air_agg,sensor=air-mairie-01,site=hotel-de-ville,window=1h pm10_mean=48,pm2_5_mean=8,no2_mean=30 %d", at.Unix())
		line(&agg, "air_agg,sensor=air-gare-01,site=gare,window=1h pm10_mean=200 %d", at.Unix())
	}
	// Parking: bay 14 of the station car park taken three quarters of
	// every hour from 8 to 17 h on Tuesday 10 November; the closed
	// market bay full all day. Raw readings: bay 14 taken from 9 to 13 h
	// (a 4-hour stay).
	for h := 8; h < 18; h++ {
		at := day(2026, 11, 10).Add(time.Duration(h) * time.Hour)
		arrivals := 0
		if h == 8 {
			arrivals = 1
		}
		line(&agg, "parking_agg,sensor=parking-gare-01,site=parking-gare,zone=gare,window=1h occupancy_ratio=0.75,occupancy_arrivals=%d %d", arrivals, at.Unix())
		line(&agg, "parking_agg,sensor=parking-marche-01,site=place-du-marche,zone=centre,window=1h occupancy_ratio=1,occupancy_arrivals=0 %d", at.Unix())
	}
	stay := day(2026, 11, 10).Add(9 * time.Hour)
	line(&raw, "parking,sensor=parking-gare-01,site=parking-gare,zone=gare occupancy=0 %d", stay.Add(-time.Hour).Unix())
	line(&raw, "parking,sensor=parking-gare-01,site=parking-gare,zone=gare occupancy=1 %d", stay.Unix())
	line(&raw, "parking,sensor=parking-gare-01,site=parking-gare,zone=gare occupancy=0 %d", stay.Add(4*time.Hour).Unix())
	// Lighting: lamp 14 of rue de la Lise lit at 60 W at noon on 10
	// November (a fault) and in the evening (normal).
	for _, at := range []time.Time{day(2026, 11, 10).Add(12 * time.Hour), day(2026, 11, 10).Add(21 * time.Hour)} {
		line(&agg, "lighting_agg,sensor=eclairage-lise-01,site=rue-de-la-lise,cabinet=armoire-03,window=15m power_mean=60 %d", at.Unix())
	}
	influxWrite(t, in, "civisens_p10y", agg)
	influxWrite(t, in, "civisens_p1y", raw)

	client := influxdb2.NewClient(in.URL, "")
	t.Cleanup(client.Close)
	clock := &testClock{t: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}
	h, err := NewHandler(Deps{
		Sensors: st, PublicURL: publicURL, Now: clock.now, Location: loc,
		Readings: dashboards.NewReader(client.QueryAPI(""), dashboards.FluxBucket("", "civisens")),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &dashEnv{authEnv: &authEnv{t: t, st: st, path: path, h: h, clock: clock}, loc: loc}
}

// csvRows fetches a CSV download and returns its records, header first.
func (e *dashEnv) csvRows(path string, header ...string) [][]string {
	e.t.Helper()
	r := e.send(http.MethodGet, path, nil, header...)
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		e.t.Fatalf("GET %s: %d %s\n%s", path, r.status, r.header.Get("Content-Type"), r.body)
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(r.body, "\uFEFF"))).ReadAll()
	if err != nil {
		e.t.Fatalf("GET %s: %v", path, err)
	}
	return recs
}

// row returns the record whose first column is key, nil without.
func row(recs [][]string, key string) []string {
	for _, r := range recs {
		if len(r) > 0 && r[0] == key {
			return r
		}
	}
	return nil
}

func wantRow(t *testing.T, what string, recs [][]string, want ...string) {
	t.Helper()
	got := row(recs, want[0])
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%s: row %q = %q, want %q\nall: %q", what, want[0], got, want, recs)
	}
}

func wantIn(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

func TestDashboards(t *testing.T) {
	e := newDashEnv(t)
	e.account("eve", "", auth.RoleEnergyManager, "energy password")
	e.account("theo", "", auth.RoleTechnician, "tech password!")
	e.account("agnes", "", auth.RoleAdministrator, "admin password")
	eve := e.mustLogin("eve", "energy password")
	theo := e.mustLogin("theo", "tech password!")
	agnes := e.mustLogin("agnes", "admin password")

	t.Run("roles", func(t *testing.T) {
		for _, p := range []string{web.DashEnergyPath, web.DashTertiaryPath, web.DashLightingPath} {
			if r := e.send(http.MethodGet, p, nil); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), web.LoginPath) {
				t.Errorf("anonymous GET %s: %d %q, want the login page", p, r.status, r.header.Get("Location"))
			}
			if r := e.send(http.MethodGet, p, nil, "Cookie", theo.cookie); r.status != http.StatusForbidden {
				t.Errorf("technician GET %s: %d, want 403", p, r.status)
			}
			for _, s := range []session{eve, agnes} {
				if r := e.send(http.MethodGet, p, nil, "Cookie", s.cookie); r.status != http.StatusOK {
					t.Errorf("GET %s as energy manager or administrator: %d", p, r.status)
				}
			}
		}
		if r := e.send(http.MethodGet, web.DashEnergyPath+"?format=csv&chart=consumption", nil); r.status == http.StatusOK {
			t.Error("anonymous energy CSV served")
		}
		public := e.send(http.MethodGet, web.DashboardsPath, nil)
		if public.status != http.StatusOK || strings.Contains(public.body, web.DashEnergyPath) || !strings.Contains(public.body, web.DashAirPath) {
			t.Errorf("public index: %d, energy link shown or air link missing", public.status)
		}
		staff := e.send(http.MethodGet, web.DashboardsPath+"?lang=en", nil, "Cookie", eve.cookie)
		wantIn(t, "energy manager's index", staff.body, web.DashEnergyPath, web.DashTertiaryPath, web.DashLightingPath, "Energy of public buildings")
		for _, p := range []string{web.DashAirPath, web.DashParkingPath} {
			if r := e.send(http.MethodGet, p, nil); r.status != http.StatusOK {
				t.Errorf("anonymous GET %s: %d", p, r.status)
			}
		}
	})

	t.Run("energy", func(t *testing.T) {
		q := "?from=2026-11-10&to=2026-11-12&site=hotel-de-ville&day=2026-11-12"
		page := e.send(http.MethodGet, web.DashEnergyPath+q, nil, "Cookie", eve.cookie)
		if page.status != http.StatusOK {
			t.Fatalf("%d\n%s", page.status, page.body)
		}
		wantIn(t, "energy page", page.body, `<td class="num">48</td>`, "Courbe de charge du 12 novembre 2026",
			`<svg class="chart"`, "Alertes de surconsommation", "air-mairie-01", "chart=consumption")
		if strings.Contains(page.body, "⟦") {
			t.Error("a missing translation on the energy page")
		}
		recs := e.csvRows(web.DashEnergyPath+q+"&format=csv&chart=consumption", "Cookie", eve.cookie)
		wantRow(t, "consumption", recs, "start", "kwh", "hours")
		wantRow(t, "consumption", recs, "2026-11-10", "24", "24")
		wantRow(t, "consumption", recs, "2026-11-12", "48", "24")
		recs = e.csvRows(web.DashEnergyPath+q+"&format=csv&chart=loadcurve", "Cookie", eve.cookie)
		wantRow(t, "load curve", recs, "10", "2", "1", "1")
		recs = e.csvRows(web.DashEnergyPath+q+"&format=csv&chart=comparison", "Cookie", eve.cookie)
		wantRow(t, "comparison", recs, "kwh", "96")
		wantRow(t, "comparison", recs, "previous_kwh", "108")
		wantRow(t, "comparison", recs, "raw_change_pct", "-11.11")
		wantRow(t, "comparison", recs, "dju", "24")
		wantRow(t, "comparison", recs, "previous_dju", "36")
		wantRow(t, "comparison", recs, "corrected_kwh", "144")
		wantRow(t, "comparison", recs, "corrected_change_pct", "33.33")
		recs = e.csvRows(web.DashEnergyPath+q+"&format=csv&chart=alerts", "Cookie", eve.cookie)
		wantRow(t, "alerts", recs, "2026-11-12", "48", "24", "100", "true")
		recs = e.csvRows(web.DashEnergyPath+q+"&format=csv&chart=intensity", "Cookie", agnes.cookie)
		if len(recs) != 3 || recs[1][1] != "hotel-de-ville" {
			t.Errorf("intensity ranking %q: the town hall first", recs)
		}
		wantRow(t, "intensity", recs, "1", "hotel-de-ville", "288", "0.3")
		wantRow(t, "intensity", recs, "2", "ecole-jules-ferry", "528", "0.3")
		recs = e.csvRows(web.DashEnergyPath+q+"&format=csv&chart=drift", "Cookie", eve.cookie)
		wantRow(t, "drift", recs, "1", "hotel-de-ville", "288", "108", "166.67")
		// The estate by month: November's 10 days of the range and the
		// school's.
		recs = e.csvRows(web.DashEnergyPath+"?from=2026-11-01&to=2026-11-30&step=month&format=csv&chart=consumption", "Cookie", eve.cookie)
		wantRow(t, "estate per month", recs, "2026-11-01", fmt.Sprint(14*24+24+14*48), fmt.Sprint(14*24))
		en := e.send(http.MethodGet, web.DashEnergyPath+q+"&lang=en", nil, "Cookie", eve.cookie).body
		wantIn(t, "English energy page", en, "Load curve of 12 November 2026", "Overconsumption alerts")
	})

	t.Run("tertiary", func(t *testing.T) {
		q := "?from=2026-11-01&to=2026-11-12"
		page := e.send(http.MethodGet, web.DashTertiaryPath+q, nil, "Cookie", eve.cookie)
		wantIn(t, "tertiary page", page.body, "Trajectoire de hotel-de-ville", "non, au-dessus", `<svg class="chart"`, "format=csv")
		recs := e.csvRows(web.DashTertiaryPath+q+"&format=csv", "Cookie", eve.cookie)
		if strings.Join(recs[0], ",") != strings.Join(dashboards.TertiaryCSVHeader, ",") {
			t.Errorf("OPERAT header %q", recs[0])
		}
		mairie, ecole := row(recs, "hotel-de-ville"), row(recs, "ecole-jules-ferry")
		if mairie == nil || mairie[3] != "500.0" || mairie[8] != "288.0" || mairie[11] != "true" || mairie[1] != "1000" {
			t.Errorf("town hall %q", mairie)
		}
		if ecole == nil || ecole[3] != "100.0" || ecole[8] != "528.0" || ecole[11] != "false" {
			t.Errorf("school %q", ecole)
		}
		recs = e.csvRows(web.DashTertiaryPath+q+"&format=csv&chart=buildings", "Cookie", eve.cookie)
		wantRow(t, "tertiary table", recs, "hotel-de-ville", "2020", "500", "300", "250", "200", "288", row(recs, "hotel-de-ville")[7], "true", row(recs, "hotel-de-ville")[9])
	})

	t.Run("air", func(t *testing.T) {
		q := "?from=2026-11-10&to=2026-11-10"
		page := e.send(http.MethodGet, web.DashAirPath+q, nil)
		wantIn(t, "air page", page.body, `class="atmo atmo-3">dégradé`, "Indicateur local calculé", `href="https://www.atmo-france.org/"`,
			"Dépassements des lignes directrices", `<svg class="chart"`)
		if strings.Contains(page.body, "air-gare-01") || strings.Contains(page.body, "200") && strings.Contains(page.body, "extrêmement") {
			t.Error("the closed station shows on the public air dashboard")
		}
		recs := e.csvRows(web.DashAirPath + q + "&format=csv&chart=atmo")
		wantRow(t, "atmo", recs, "2026-11-10", "3", "dégradé", "pm10", "1", "3", "1", "", "")
		recs = e.csvRows(web.DashAirPath + q + "&format=csv&chart=hourly-pm10")
		if strings.Join(recs[0], ",") != "time,air-mairie-01" || len(recs) != 25 || recs[1][1] != "48" {
			t.Errorf("hourly PM10 %q", recs)
		}
		recs = e.csvRows(web.DashAirPath + q + "&format=csv&chart=who")
		wantRow(t, "who", recs, "2026-11-10", "2026-11-10", "pm10", string(dashboards.Mean24h), "48", "45", "1")
		if en := e.send(http.MethodGet, web.DashAirPath+q+"&lang=en", nil).body; !strings.Contains(en, ">degraded<") {
			t.Error("English ATMO level missing")
		}
	})

	t.Run("parking", func(t *testing.T) {
		q := "?from=2026-11-10&to=2026-11-10"
		page := e.send(http.MethodGet, web.DashParkingPath+q, nil)
		wantIn(t, "parking page", page.body, `heat heat-3">75</td>`, "parking-gare-01", "Dépassements de durée")
		if strings.Contains(page.body, "parking-marche-01") || strings.Contains(page.body, ">centre<") {
			t.Error("the closed bay shows on the public parking dashboard")
		}
		recs := e.csvRows(web.DashParkingPath + q + "&format=csv&chart=occupancy-1")
		tue := row(recs, "tuesday")
		if tue == nil || tue[1+8] != "75" || tue[1+7] != "" {
			t.Errorf("Tuesday's occupancy %q", tue)
		}
		recs = e.csvRows(web.DashParkingPath + q + "&format=csv&chart=zones")
		wantRow(t, "zones", recs, "gare", "1", "1", "1", "450")
		recs = e.csvRows(web.DashParkingPath + q + "&format=csv&chart=overstays")
		wantRow(t, "overstays", recs, "parking-gare-01", "gare", "2026-11-10T09:00:00+01:00", "2026-11-10T13:00:00+01:00", "240", "false")
	})

	t.Run("lighting", func(t *testing.T) {
		q := "?from=2026-11-10&to=2026-11-10"
		page := e.send(http.MethodGet, web.DashLightingPath+q, nil, "Cookie", eve.cookie)
		wantIn(t, "lighting page", page.body, "allumé en plein jour", "armoire-03")
		recs := e.csvRows(web.DashLightingPath+q+"&format=csv&chart=faults", "Cookie", eve.cookie)
		wantRow(t, "faults", recs, "eclairage-lise-01", "armoire-03", "lit_in_daylight", "2026-11-10T12:00:00+01:00", "2026-11-10T12:15:00+01:00")
		recs = e.csvRows(web.DashLightingPath+q+"&format=csv&chart=circuits", "Cookie", eve.cookie)
		wantRow(t, "circuits", recs, "armoire-03", "1", "0.5", "0.03", "0.125", "0.095")
	})

	t.Run("bad input", func(t *testing.T) {
		for _, c := range []struct{ path, notice string }{
			{web.DashAirPath + "?from=2026-11-12&to=2026-11-01", "La date de début est après la date de fin"},
			{web.DashAirPath + "?from=1800-01-01&to=2026-11-01", "hors des limites"},
			{web.DashParkingPath + "?from=demain&to=2026-11-01", "AAAA-MM-JJ"},
			{web.DashParkingPath + "?from=2020-01-01&to=2026-11-01", "trois ans"},
			{web.DashParkingPath + "?max_stay=-5", "durée maximale"},
			{web.DashAirPath + "?format=csv&chart=nope", "Ce graphique n’existe pas"},
			{web.DashAirPath + "?lang=en&format=csv&chart=../../etc", "no such chart"},
			{web.DashEnergyPath + "?step=week&site=nowhere&day=32-13-2026", "pas de temps est inconnu"},
			{web.DashEnergyPath + "?site=nowhere", "bâtiment est inconnu"},
			{web.DashEnergyPath + "?day=2026-02-30", "courbe de charge n’est pas une date valide"},
			{web.DashTertiaryPath + "?format=csv&chart=nope", "Ce graphique n’existe pas"},
		} {
			r := e.send(http.MethodGet, c.path, nil, "Cookie", eve.cookie)
			if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(r.body, c.notice) {
				t.Errorf("GET %s: %d %s, want 200 and the notice %q", c.path, r.status, r.header.Get("Content-Type"), c.notice)
			}
		}
	})
}

// Without InfluxDB the dashboards say that the readings are unavailable,
// with a 200.
func TestDashboardsWithoutReadings(t *testing.T) {
	e := newAuthEnv(t)
	e.account("eve", "", auth.RoleEnergyManager, "energy password")
	eve := e.mustLogin("eve", "energy password")
	for _, p := range []string{web.DashAirPath, web.DashParkingPath, web.DashEnergyPath, web.DashTertiaryPath, web.DashLightingPath} {
		r := e.send(http.MethodGet, p, nil, "Cookie", eve.cookie)
		if r.status != http.StatusOK || !strings.Contains(r.body, "ne peuvent pas être lues") {
			t.Errorf("GET %s without InfluxDB: %d", p, r.status)
		}
	}
}
