package dashboards

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"

	"github.com/civisens/civisens/internal/testinfra"
	"github.com/civisens/civisens/registry/registryapi"
)

// writeRP writes line protocol, times in seconds, into db's retention
// policy rp.
func writeRP(t *testing.T, in *testinfra.Influx, db, rp string, lines []string) {
	t.Helper()
	resp, err := http.Post(in.URL+"/write?db="+db+"&rp="+rp+"&precision=s", "text/plain", strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("write: %s: %s", resp.Status, b)
	}
}

func energySensor(id, site, meter, quantity, unit string) registryapi.Sensor {
	return registryapi.Sensor{
		ID: id, Category: registryapi.CategoryEnergy, Site: site,
		Tags: map[string]string{"building": site, "meter": meter},
		Quantities: []registryapi.Quantity{
			{Name: "power", Unit: "W"},
			{Name: quantity, Unit: unit},
		},
	}
}

// The energy figures from the gateway's hourly aggregates in a real
// InfluxDB 1.8: kWh per local day across both summer-time changes' days
// and a meter reset, per local month and year, per building and for the
// estate; sub-meters, other windows and other retention policies are not
// read; and the weather-corrected comparison with last year from the
// town's temperature aggregates, checked against the hand computation of
// TestCompareWithPreviousYear.
func TestEnergyFromInfluxDB(t *testing.T) {
	loc := paris(t)
	in := testinfra.StartInfluxDB(t)
	in.Exec(t, "CREATE DATABASE civisens")
	in.Exec(t, `CREATE RETENTION POLICY "civisens_p10y" ON "civisens" DURATION 87600h REPLICATION 1`)

	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, loc) }
	var lines []string
	agg := func(tags, fields string, at time.Time) {
		lines = append(lines, fmt.Sprintf("energy_agg,%s %s %d", tags, fields, at.Unix()))
	}
	const mairie = "building=hotel-de-ville,meter=general,sensor=energie-mairie-01,site=hotel-de-ville"
	const cuisine = "building=hotel-de-ville,meter=cuisine,sensor=energie-mairie-02,site=hotel-de-ville"
	const ecole = "building=ecole-jules-ferry,meter=general,sensor=energie-ecole-01,site=ecole-jules-ferry"
	// The town hall: 1 kWh (1 000 Wh) an hour from 24 to 26 October 2026
	// (summer time ends on the 25th: 25 hours), the index reset at 10 h
	// on the 26th (the gateway's delta is then the new index, 3 500 Wh).
	index := 18_000_000.0
	for at := day(2026, 10, 24); at.Before(day(2026, 10, 27)); at = at.Add(time.Hour) {
		delta := 1000.0
		if at.Equal(day(2026, 10, 26).Add(10 * time.Hour)) {
			delta, index = 3500, 0
		}
		index += delta
		agg(mairie+",window=1h", fmt.Sprintf("energy_count=60i,energy_delta=%g,energy_last=%g,power_mean=1000", delta, index), at)
		// Other windows and the kitchen's sub-meter are not summed.
		agg(mairie+",window=15m", "energy_count=15i,energy_delta=250", at)
		agg(cuisine+",window=1h", "energy_count=60i,energy_delta=50000", at)
	}
	// 1 November, 0 h in Paris is 31 October, 23 h UTC.
	agg(mairie+",window=1h", "energy_count=60i,energy_delta=5000", day(2026, 11, 1))
	// The school's meter counts in kWh: 2 kWh an hour on 25 October.
	for at := day(2026, 10, 25); at.Before(day(2026, 10, 26)); at = at.Add(time.Hour) {
		agg(ecole+",window=1h", "index_count=60i,index_delta=2", at)
	}
	// Summer time starts on 29 March: 23 hours.
	for at := day(2026, 3, 29); at.Before(day(2026, 3, 30)); at = at.Add(time.Hour) {
		agg(mairie+",window=1h", "energy_count=60i,energy_delta=1000", at)
	}
	// A week of January 2026 at 10 kWh an hour, and the same dates in
	// 2025 at 12; the town's temperature: 4 to 8 °C in 2026, 0 to 6 °C in
	// 2025.
	jan, jan25 := day(2026, 1, 12), day(2025, 1, 12)
	for h := range 7 * 24 {
		at, at25 := jan.Add(time.Duration(h)*time.Hour), jan25.Add(time.Duration(h)*time.Hour)
		agg(mairie+",window=1h", "energy_count=60i,energy_delta=10000", at)
		agg(mairie+",window=1h", "energy_count=60i,energy_delta=12000", at25)
		lines = append(lines,
			fmt.Sprintf("air_agg,sensor=air-mairie-01,site=hotel-de-ville,window=1h temperature_min=4,temperature_max=8,temperature_mean=6,temperature_count=12i %d", at.Unix()),
			fmt.Sprintf("air_agg,sensor=air-mairie-01,site=hotel-de-ville,window=1h temperature_min=0,temperature_max=6,temperature_mean=3,temperature_count=12i %d", at25.Unix()))
	}
	// An hour with a mean only: Tmin = Tmax = 10 °C, 8 DJU.
	lines = append(lines, fmt.Sprintf("air_agg,sensor=air-mairie-01,window=1h temperature_mean=10 %d", day(2026, 2, 1).Add(12*time.Hour).Unix()))
	writeRP(t, in, "civisens", "civisens_p10y", lines)
	// The same sensor in autogen: not the aggregates' retention policy.
	writeRP(t, in, "civisens", "autogen", []string{fmt.Sprintf("energy_agg,%s,window=1h energy_delta=1e9 %d", mairie, day(2026, 10, 24).Unix())})

	client := influxdb2.NewClient(in.URL, "")
	defer client.Close()
	r := NewReader(client.QueryAPI(""), FluxBucket("", "civisens"))
	ctx := context.Background()
	sensors := []registryapi.Sensor{
		energySensor("energie-mairie-01", "hotel-de-ville", "general", "energy", "Wh"),
		energySensor("energie-mairie-02", "hotel-de-ville", "cuisine", "energy", "Wh"),
		energySensor("energie-ecole-01", "ecole-jules-ferry", "general", "index", "kWh"),
	}
	meters := MainMeters(sensors)
	aggs := Aggregates{Location: loc} // civisens/civisens_p10y

	var days Consumption
	testinfra.Eventually(t, 10*time.Second, func() error {
		var err error
		days, err = r.Consumption(ctx, aggs, meters, day(2026, 10, 24), day(2026, 10, 27), StepDay)
		if err != nil {
			return err
		}
		if len(days.Buildings) != 2 || len(days.Estate) != 3 {
			return fmt.Errorf("consumption by day: %+v", days)
		}
		return nil
	})
	type want struct {
		start time.Time
		kwh   float64
		hours int
	}
	check := func(name string, got []Period, want []want) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: %d periods, want %d: %+v", name, len(got), len(want), got)
			return
		}
		for i, w := range want {
			if !got[i].Start.Equal(w.start) || !near(got[i].KWh, w.kwh) || got[i].Hours != w.hours {
				t.Errorf("%s: period %d = %v, %v kWh in %d hours; want %v, %v kWh in %d hours",
					name, i, got[i].Start, got[i].KWh, got[i].Hours, w.start, w.kwh, w.hours)
			}
		}
	}
	if days.Step != StepDay || days.Buildings[0].Site != "ecole-jules-ferry" || days.Buildings[1].Site != "hotel-de-ville" {
		t.Fatalf("buildings: %+v", days.Buildings)
	}
	check("school by day", days.Buildings[0].Periods, []want{{day(2026, 10, 25), 50, 25}})
	check("town hall by day", days.Buildings[1].Periods, []want{
		{day(2026, 10, 24), 24, 24}, {day(2026, 10, 25), 25, 25}, {day(2026, 10, 26), 23 + 3.5, 24},
	})
	check("estate by day", days.Estate, []want{
		{day(2026, 10, 24), 24, 24}, {day(2026, 10, 25), 75, 25}, {day(2026, 10, 26), 26.5, 24},
	})
	if !days.Buildings[1].Periods[1].Complete() {
		t.Error("25 October (25 hours) is not complete")
	}

	// A day's kWh is the sum of its hourly deltas, on both days summer
	// time changes.
	hours, err := r.EnergyHours(ctx, aggs, meters[:1], day(2026, 3, 1), day(2026, 11, 2))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []time.Time{day(2026, 3, 29), day(2026, 10, 25), day(2026, 10, 26)} {
		hs := Between(hours["hotel-de-ville"], d, d.AddDate(0, 0, 1))
		var s float64
		for _, h := range hs {
			s += h.Value
		}
		per := Rollup(hs, StepDay, loc)
		if len(per) != 1 || per[0].KWh != s || per[0].Hours != len(hs) || len(hs) != int(d.AddDate(0, 0, 1).Sub(d)/time.Hour) {
			t.Errorf("%v: %d hours summing to %v kWh, rolled up to %+v", d, len(hs), s, per)
		}
	}

	// Months, moved out to whole months: 1 November's first hour is
	// November's.
	months, err := r.Consumption(ctx, aggs, meters, day(2026, 10, 10), day(2026, 11, 5), StepMonth)
	if err != nil {
		t.Fatal(err)
	}
	check("town hall by month", months.Buildings[1].Periods, []want{{day(2026, 10, 1), 75.5, 73}, {day(2026, 11, 1), 5, 1}})
	check("estate by month", months.Estate, []want{{day(2026, 10, 1), 125.5, 73}, {day(2026, 11, 1), 5, 1}})
	years, err := r.Consumption(ctx, aggs, meters, day(2025, 1, 1), day(2027, 1, 1), StepYear)
	if err != nil {
		t.Fatal(err)
	}
	check("town hall by year", years.Buildings[1].Periods, []want{{day(2025, 1, 1), 7 * 24 * 12, 168}, {day(2026, 1, 1), 7*24*10 + 23 + 75.5 + 5, 168 + 23 + 73 + 1}})
	hourly, err := r.Consumption(ctx, aggs, meters, day(2026, 10, 25), day(2026, 10, 26), StepHour)
	if err != nil {
		t.Fatal(err)
	}
	if len(hourly.Estate) != 25 || hourly.Estate[2].KWh != 3 || !hourly.Estate[2].Start.Equal(time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("hourly estate on 25 October: %+v", hourly.Estate)
	}

	// What the dashboard pages read agrees with EnergyHours: the hourly
	// series of the estate (meters in Wh and in kWh) and of each
	// building, and the totals with their hours — also of a building
	// with two meters whose hours overlap (the town hall's sub-meter
	// included).
	for _, ms := range [][]registryapi.Sensor{meters, sensors} {
		from, to := day(2025, 1, 1), day(2026, 11, 2)
		all, err := r.EnergyHours(ctx, aggs, ms, from, to)
		if err != nil {
			t.Fatal(err)
		}
		est, err := r.EnergySeries(ctx, aggs, ms, "", from, to)
		if err != nil {
			t.Fatal(err)
		}
		samePoints(t, "estate", est, all.Estate())
		stats, err := r.EnergyStats(ctx, aggs, ms, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if len(stats) != len(all) || len(all) != 2 {
			t.Errorf("EnergyStats of %d sites, EnergyHours of %d", len(stats), len(all))
		}
		for _, site := range all.Sites() {
			pts, err := r.EnergySeries(ctx, aggs, ms, site, from, to)
			if err != nil {
				t.Fatal(err)
			}
			samePoints(t, site, pts, all[site])
			if st := stats[site]; !near(st.KWh, sum(all[site])) || st.Hours != len(all[site]) {
				t.Errorf("EnergyStats[%s] = %+v, want %v kWh in %d hours", site, st, sum(all[site]), len(all[site]))
			}
		}
	}

	// Weather-corrected comparison of the January week with 2025's.
	town := registryapi.Sensor{ID: "air-mairie-01", Category: registryapi.CategoryAir}
	temps, err := r.Temperatures(ctx, aggs, town, "temperature", day(2025, 1, 1), day(2026, 3, 1))
	if err != nil {
		t.Fatal(err)
	}
	dd := DegreeDays(temps, loc)
	if len(dd) != 15 || dd[0].DJU != 15 || dd[0].Hours != 24 || dd[7].DJU != 12 || dd[7].Tmin != 4 || dd[7].Tmax != 8 || dd[14].DJU != 8 || dd[14].Hours != 1 {
		t.Errorf("degree days: %+v", dd)
	}
	jh, err := r.EnergyHours(ctx, aggs, meters, day(2025, 1, 1), day(2026, 2, 1))
	if err != nil {
		t.Fatal(err)
	}
	checkComparison(t, CompareWithPreviousYear(jh.Estate(), dd, jan, jan.AddDate(0, 0, 7), 100, loc), jan, jan.AddDate(0, 0, 7))

	// Errors.
	if _, err := r.Consumption(ctx, aggs, []registryapi.Sensor{town}, jan, jan.AddDate(0, 0, 1), StepDay); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("Consumption of a sensor without an energy index: %v", err)
	}
	if _, err := r.Consumption(ctx, aggs, []registryapi.Sensor{energySensor(`x" or true or "`, "s", "", "energy", "Wh")}, jan, jan.AddDate(0, 0, 1), StepDay); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("Consumption of an invalid sensor id: %v", err)
	}
	if _, err := r.Temperatures(ctx, aggs, town, `temperature" or true`, jan, jan.AddDate(0, 0, 1)); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("Temperatures of an invalid quantity: %v", err)
	}
	none, err := r.Consumption(ctx, aggs, nil, jan, jan.AddDate(0, 0, 1), StepDay)
	if err != nil || len(none.Buildings) != 0 || len(none.Estate) != 0 {
		t.Errorf("Consumption of no sensor = %+v, %v", none, err)
	}
	missing := NewReader(client.QueryAPI(""), "nodb/autogen")
	if _, err := missing.Consumption(ctx, aggs, meters, jan, jan.AddDate(0, 0, 1), StepDay); err == nil {
		t.Error("no error from a database that does not exist")
	}
}

// The décret tertiaire table and the ranking from aggregates in a real
// InfluxDB 1.8: the médiathèque consumed 500 MWh in 2019 (its reference
// year) and 420 MWh in 2026; at the end of 2026 the trajectory allows
// 500 − 200 × 2 557 / 4 018 = 372.7 MWh (see TestTrajectoryAt): it is off
// track. The floor area comes from the register entry's tag.
func TestTertiaryFromInfluxDB(t *testing.T) {
	loc := paris(t)
	in := testinfra.StartInfluxDB(t)
	in.Exec(t, "CREATE DATABASE civisens")
	in.Exec(t, `CREATE RETENTION POLICY "civisens_p10y" ON "civisens" DURATION 87600h REPLICATION 1`)
	const media = "building=mediatheque,meter=general,sensor=energie-mediatheque-01,site=mediatheque,window=1h"
	const gym = "building=gymnase,meter=general,sensor=energie-gymnase-01,site=gymnase,window=1h"
	var lines []string
	at := func(y int, m time.Month, d int) int64 { return time.Date(y, m, d, 10, 0, 0, 0, loc).Unix() }
	for m := time.January; m <= time.December; m++ {
		ref := 40000.0
		if m == time.December {
			ref = 60000
		}
		lines = append(lines,
			fmt.Sprintf("energy_agg,%s energy_delta=%g %d", media, ref, at(2019, m, 15)),
			fmt.Sprintf("energy_agg,%s energy_delta=35000 %d", media, at(2026, m, 15)),
			fmt.Sprintf("energy_agg,%s energy_delta=10000 %d", gym, at(2026, m, 15)))
	}
	lines = append(lines,
		fmt.Sprintf("energy_agg,%s energy_delta=28000 %d", media, at(2025, time.December, 15)),
		fmt.Sprintf("energy_agg,%s energy_delta=12500 %d", gym, at(2025, time.December, 15)))
	writeRP(t, in, "civisens", "civisens_p10y", lines)

	sensors := []registryapi.Sensor{
		energySensor("energie-mediatheque-01", "mediatheque", "general", "energy", "kWh"),
		energySensor("energie-gymnase-01", "gymnase", "general", "energy", "kWh"),
	}
	sensors[0].Tags[FloorAreaTag] = "2100"
	sensors[1].Tags[FloorAreaTag] = "400"
	areas, err := FloorAreas(sensors)
	if err != nil {
		t.Fatal(err)
	}
	client := influxdb2.NewClient(in.URL, "")
	defer client.Close()
	r := NewReader(client.QueryAPI(""), FluxBucket("", "civisens"))
	ctx := context.Background()
	asOf := time.Date(2027, 1, 1, 0, 0, 0, 0, loc)
	var h SiteHours
	testinfra.Eventually(t, 10*time.Second, func() error {
		h, err = r.EnergyHours(ctx, Aggregates{Bucket: "civisens/civisens_p10y", Location: loc}, sensors, time.Date(2019, 1, 1, 0, 0, 0, 0, loc), asOf)
		if err != nil {
			return err
		}
		if len(h["mediatheque"]) != 25 || len(h["gymnase"]) != 13 {
			return fmt.Errorf("hours: %v", h)
		}
		return nil
	})

	rows, err := TertiaryRows(h, []TertiaryReference{{Site: "mediatheque", Year: 2019, FloorAreaM2: areas["mediatheque"]}}, asOf, loc)
	if err != nil {
		t.Fatal(err)
	}
	traj := 500000 - 200000*2557.0/4018
	m := rows[0]
	if m.ReferenceKWh != 500000 || m.Target2030KWh != 300000 || m.Rolling12KWh != 420000 || !near(m.TrajectoryKWh, traj) || m.OnTrack {
		t.Errorf("médiathèque: reference %v, 2030 target %v, rolling %v, trajectory %v (want %v), on track %v",
			m.ReferenceKWh, m.Target2030KWh, m.Rolling12KWh, m.TrajectoryKWh, traj, m.OnTrack)
	}
	var buf strings.Builder
	if err := WriteTertiaryCSV(&buf, rows); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(buf.String(), "\uFEFF"))).ReadAll()
	if err != nil || len(recs) != 2 || recs[1][0] != "mediatheque" || recs[1][8] != "420000.0" || recs[1][9] != "200.0" || recs[1][10] != "372722.7" || recs[1][11] != "false" {
		t.Errorf("CSV = %q, %v", recs, err)
	}

	// BuildingRanking: the gymnasium, 120 MWh on 400 m² (300 kWh/m²), before the
	// médiathèque (200 kWh/m²); by drift, the médiathèque (35 against 28
	// MWh: +25 %) before the gymnasium (10 against 12.5: −20 %).
	rk := RankBuildings(h, areas, asOf, loc)
	gi, mi := rk.ByIntensity[0], rk.ByIntensity[1]
	if gi.Site != "gymnase" || gi.KWhPerM2Year != 300 || mi.Site != "mediatheque" || mi.KWhPerM2Year != 200 {
		t.Errorf("by intensity: %+v", rk.ByIntensity)
	}
	if d := rk.ByDrift; d[0].Site != "mediatheque" || !near(d[0].DriftPct, 25) || d[1].Site != "gymnase" || !near(d[1].DriftPct, -20) {
		t.Errorf("by drift: %+v", d)
	}
}

// samePoints reports a difference between two series.
func samePoints(t *testing.T, name string, got, want []Point) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d points, want %d", name, len(got), len(want))
		return
	}
	for i := range want {
		if !got[i].Time.Equal(want[i].Time) || !near(got[i].Value, want[i].Value) {
			t.Errorf("%s: point %d = %+v, want %+v", name, i, got[i], want[i])
			return
		}
	}
}
