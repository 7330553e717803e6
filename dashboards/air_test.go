package dashboards

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	influxdb2 "github.com/influxdata/influxdb-client-go/v2"

	"github.com/civisens/civisens/internal/testinfra"
)

// startAirPark starts InfluxDB with the database civisens and its
// retention policies civisens_p10y (aggregates) and civisens_p1y (the
// demonstration town's readings), and returns a Reader of it.
func startAirPark(t *testing.T) (*testinfra.Influx, *Reader) {
	t.Helper()
	in := testinfra.StartInfluxDB(t)
	in.Exec(t, "CREATE DATABASE civisens")
	in.Exec(t, `CREATE RETENTION POLICY "civisens_p10y" ON "civisens" DURATION 87600h REPLICATION 1`)
	in.Exec(t, `CREATE RETENTION POLICY "civisens_p1y" ON "civisens" DURATION 8760h REPLICATION 1`)
	client := influxdb2.NewClient(in.URL, "")
	t.Cleanup(client.Close)
	return in, NewReader(client.QueryAPI(""), FluxBucket("", "civisens"))
}

// writeAirPark writes line protocol with times in seconds into civisens/rp and
// waits until InfluxDB answers with as many points.
func writeAirPark(t *testing.T, in *testinfra.Influx, rp, measurement string, lines []string) {
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
	testinfra.Eventually(t, 10*time.Second, func() error {
		rows, err := in.Query("civisens", fmt.Sprintf(`SELECT count(*) FROM %q.%q`, rp, measurement))
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return fmt.Errorf("no points yet")
		}
		return nil
	})
	time.Sleep(200 * time.Millisecond)
}

// airLine is one hourly air aggregate of a sensor starting at a Paris
// local hour.
func airLine(sensor string, at time.Time, fields string) string {
	return fmt.Sprintf("air_agg,sensor=%s,site=%s,window=1h %s %d", sensor, sensor, fields, at.Unix())
}

// A town with two air sensors over three days of March 2026 (CET):
//
//	10 March: air-a PM2.5 12, PM10 30, NO2 30 but 95 at 8h; air-b PM2.5
//	  16, PM10 52 → PM2.5 16 (the worse sensor), PM10 52 mauvais, NO2
//	  max 95 dégradé: mauvais, by PM10;
//	11 March: air-a only 10 hours (no daily value); air-b PM2.5 8, NO2
//	  20, O3 48 but 110 from 12h to 19h → dégradé by O3, 8-hour max 110;
//	12 March: air-b PM2.5 22, NO2 20 but 100 at 18h → dégradé, by PM2.5
//	  and NO2.
func TestAirDaysFromInfluxDB(t *testing.T) {
	in, r := startAirPark(t)
	loc := europeParis(t)
	day := func(d, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, loc) }
	var lines []string
	for h := range 24 {
		no2 := 30.0
		if h == 8 {
			no2 = 95
		}
		lines = append(lines,
			airLine("air-a", day(10, h), fmt.Sprintf("pm2_5_mean=12,pm10_mean=30,no2_mean=%g,pm10_max=80,pm10_count=60i", no2)),
			airLine("air-b", day(10, h), "pm2_5_mean=16,pm10_mean=52"),
		)
		if h < 10 {
			lines = append(lines, airLine("air-a", day(11, h), "pm10_mean=200"))
		}
		o3 := 48.0
		if h >= 12 && h < 20 {
			o3 = 110
		}
		lines = append(lines, airLine("air-b", day(11, h), fmt.Sprintf("pm2_5_mean=8,no2_mean=20,o3_mean=%g", o3)))
		no2 = 20
		if h == 18 {
			no2 = 100
		}
		lines = append(lines, airLine("air-b", day(12, h), fmt.Sprintf("pm2_5_mean=22,no2_mean=%g", no2)))
	}
	lines = append(lines,
		// Another window, the raw readings and the day after are not read.
		fmt.Sprintf("air_agg,sensor=air-a,window=15m pm10_mean=900 %d", day(10, 3).Unix()),
		fmt.Sprintf("air,sensor=air-a pm10=900 %d", day(10, 4).Unix()),
		airLine("air-a", day(13, 1), "pm10_mean=900"),
	)
	writeAirPark(t, in, "civisens_p10y", "air_agg", lines)
	ctx := context.Background()

	series, err := r.AirHourly(ctx, AggregateRetention, day(10, 0), day(13, 0))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range series {
		names = append(names, fmt.Sprintf("%s %s %d", s.Sensor, s.Pollutant, len(s.Points)))
	}
	if d := cmp.Diff([]string{
		"air-a pm2_5 24", "air-a pm10 34", "air-a no2 24",
		"air-b pm2_5 72", "air-b pm10 24", "air-b no2 48", "air-b o3 24",
	}, names); d != "" {
		t.Errorf("hourly series (-want +got):\n%s", d)
	}

	days, err := r.AirDays(ctx, AggregateRetention, day(10, 0), day(13, 0), loc)
	if err != nil {
		t.Fatal(err)
	}
	type dayIndex struct {
		Date        string
		Atmo        string
		Sub         map[Pollutant]AtmoLevel
		Responsible []Pollutant
	}
	var got []dayIndex
	for _, d := range days {
		got = append(got, dayIndex{d.Date.Format(time.DateOnly), d.Atmo.String(), d.SubIndex, d.Responsible})
	}
	want := []dayIndex{
		{"2026-03-10", "mauvais", map[Pollutant]AtmoLevel{PM25: AtmoMedium, PM10: AtmoPoor, NO2: AtmoDegraded}, []Pollutant{PM10}},
		{"2026-03-11", "dégradé", map[Pollutant]AtmoLevel{PM25: AtmoGood, NO2: AtmoGood, O3: AtmoDegraded}, []Pollutant{O3}},
		{"2026-03-12", "dégradé", map[Pollutant]AtmoLevel{PM25: AtmoDegraded, NO2: AtmoDegraded}, []Pollutant{PM25, NO2}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("daily local ATMO (-want +got):\n%s", d)
	}
	round := cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-9 })
	if d := cmp.Diff(map[Pollutant]float64{PM25: 16, PM10: 52, NO2: (23*30 + 95) / 24.0}, days[0].Mean, round); d != "" {
		t.Errorf("10 March means (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[Pollutant]float64{O3: 110}, days[1].Max8h, round); d != "" {
		t.Errorf("11 March 8-hour maxima (-want +got):\n%s", d)
	}

	type exc struct {
		What  string
		Value float64
		Days  int
	}
	var gotExc []exc
	for _, e := range WHOExceedances(days) {
		gotExc = append(gotExc, exc{fmt.Sprintf("%s %s %s..%s", e.Pollutant, e.Statistic, e.From.Format(time.DateOnly), e.To.Format(time.DateOnly)), e.Value, e.Days})
	}
	no2Mean10 := (23*30 + 95) / 24.0
	no2Mean12 := (23*20 + 100) / 24.0
	wantExc := []exc{
		{"pm2_5 annual mean 2026-01-01..2027-01-01", (16 + 8 + 22) / 3.0, 3},
		{"pm10 annual mean 2026-01-01..2027-01-01", 52, 1},
		{"no2 annual mean 2026-01-01..2027-01-01", (no2Mean10 + 20 + no2Mean12) / 3, 3},
		{"pm2_5 24-hour mean 2026-03-10..2026-03-11", 16, 1},
		{"pm10 24-hour mean 2026-03-10..2026-03-11", 52, 1},
		{"no2 24-hour mean 2026-03-10..2026-03-11", no2Mean10, 1},
		{"o3 daily maximum 8-hour mean 2026-03-11..2026-03-12", 110, 1},
		{"pm2_5 24-hour mean 2026-03-12..2026-03-13", 22, 1},
	}
	if d := cmp.Diff(wantExc, gotExc, round); d != "" {
		t.Errorf("WHO 2021 exceedances (-want +got):\n%s", d)
	}
}

// The ozone peak season: six consecutive months all with data, the
// highest mean of the daily maximum 8-hour means.
func TestWHOPeakSeason(t *testing.T) {
	loc := europeParis(t)
	var days []AirDay
	for d := time.Date(2026, 1, 1, 0, 0, 0, 0, loc); d.Year() == 2026; d = d.AddDate(0, 0, 1) {
		v := 40.0
		if d.Month() >= time.April && d.Month() <= time.September {
			v = 70 // 6 months at 70: the peak season
		}
		days = append(days, AirDay{Date: d, Max8h: map[Pollutant]float64{O3: v}})
	}
	ex := WHOExceedances(days)
	if len(ex) != 1 || ex[0].Statistic != PeakSeason || ex[0].Value != 70 || ex[0].From.Month() != time.April || ex[0].To.Month() != time.October || ex[0].Days != 183 {
		t.Errorf("exceedances %v, want the peak season April–September at 70", ex)
	}
}
