package dashboards

import (
	"bytes"
	"encoding/csv"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The trajectory of a reference of 500 MWh in 2019, by hand: 2030's target
// is 300 MWh, reached at the end of 2030, 2 January 2020 to 1 January 2031
// being 4 018 days.
func TestTrajectoryAt(t *testing.T) {
	loc := paris(t)
	jan1 := func(y int) time.Time { return time.Date(y, 1, 1, 0, 0, 0, 0, loc) }
	const ref = 500000.0
	for _, c := range []struct {
		at   time.Time
		want float64
	}{
		{jan1(2015), ref},
		{jan1(2020), ref}, // the end of the reference year
		// End of 2026: 2 557 days of 4 018 (2020 and 2024 are leap years).
		{jan1(2027), ref - 200000*2557.0/4018},
		{jan1(2031), 300000},
		// End of 2035: 1 826 days of the 3 653 to the end of 2040.
		{jan1(2036), 300000 - 50000*1826.0/3653},
		{jan1(2041), 250000},
		{jan1(2051), 200000},
		{jan1(2070), 200000},
	} {
		if got := TrajectoryAt(2019, ref, c.at, loc); !near(got, c.want) {
			t.Errorf("TrajectoryAt(%v) = %v, want %v", c.at, got, c.want)
		}
	}
}

// Reference 2019 = 500 MWh, a building at 420 MWh over 2026 is off track
// (the trajectory says 372.7 MWh at the end of 2026); one at 360 MWh is
// on track. The reference and the rolling year are read from hourly
// consumption.
func TestTertiaryRows(t *testing.T) {
	loc := paris(t)
	asOf := time.Date(2027, 1, 1, 9, 30, 0, 0, loc)
	var mairie, ecole []Point
	for m := time.January; m <= time.December; m++ {
		mairie = append(mairie, Point{Time: time.Date(2019, m, 15, 12, 0, 0, 0, time.UTC), Value: 500000.0 / 12})
		mairie = append(mairie, Point{Time: time.Date(2026, m, 15, 12, 0, 0, 0, time.UTC), Value: 35000})
		ecole = append(ecole, Point{Time: time.Date(2026, m, 15, 12, 0, 0, 0, time.UTC), Value: 30000})
	}
	// Outside the reference year and the rolling year: not counted.
	mairie = append(mairie, Point{Time: time.Date(2019, 12, 31, 23, 30, 0, 0, time.UTC), Value: 1e6}, Point{Time: time.Date(2027, 1, 1, 0, 0, 0, 0, loc), Value: 1e6})
	h := SiteHours{"hotel-de-ville": mairie, "ecole-jules-ferry": ecole}
	rows, err := TertiaryRows(h, []TertiaryReference{
		{Site: "hotel-de-ville", Year: 2019, FloorAreaM2: 2100},
		{Site: "ecole-jules-ferry", Year: 2019, KWh: 500000},
	}, asOf, loc)
	if err != nil {
		t.Fatal(err)
	}
	traj := 500000 - 200000*2557.0/4018 // 372 722.75 kWh
	m, e := rows[0], rows[1]
	if !near(m.ReferenceKWh, 500000) || m.ReferenceHours != 12 || !near(m.Target2030KWh, 300000) || !near(m.Target2040KWh, 250000) || !near(m.Target2050KWh, 200000) {
		t.Errorf("mairie's reference and targets: %+v", m)
	}
	if !m.AsOf.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, loc)) || m.Rolling12KWh != 420000 || m.RollingHours != 12 {
		t.Errorf("mairie's rolling year: %v kWh in %d hours as of %v", m.Rolling12KWh, m.RollingHours, m.AsOf)
	}
	if !near(m.TrajectoryKWh, traj) || m.OnTrack || !near(m.GapPct, (420000-traj)/traj*100) {
		t.Errorf("mairie: trajectory %v, on track %v, gap %v %%; want %v, false, %v", m.TrajectoryKWh, m.OnTrack, m.GapPct, traj, (420000-traj)/traj*100)
	}
	if e.Rolling12KWh != 360000 || !e.OnTrack || e.ReferenceHours != 0 || e.GapPct >= 0 {
		t.Errorf("ecole: %+v", e)
	}
	at := func(i int, y int, kwh float64) bool {
		return m.Trajectory[i].Year == y && near(m.Trajectory[i].KWh, kwh)
	}
	if n := len(m.Trajectory); n != 2050-2019+1 || !at(0, 2019, 500000) || !at(7, 2026, traj) || !at(11, 2030, 300000) || !at(n-1, 2050, 200000) {
		t.Errorf("trajectory for the chart: %v", m.Trajectory)
	}

	for _, bad := range []TertiaryReference{{Site: "x", Year: 2009, KWh: 1}, {Site: "x", Year: 2030, KWh: 1}, {Site: "x", Year: 2019, KWh: -1}} {
		if _, err := NewTertiaryRow(bad, 1, asOf, loc); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("NewTertiaryRow(%+v): %v, want ErrInvalidInput", bad, err)
		}
	}
	// A reference year without data is an error, not a 0 % target.
	if _, err := TertiaryRows(h, []TertiaryReference{{Site: "gymnase", Year: 2019}}, asOf, loc); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("TertiaryRows without reference data: %v", err)
	}

	// The CSV export, parsed back.
	var buf bytes.Buffer
	if err := WriteTertiaryCSV(&buf, rows); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if !bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")) {
		t.Errorf("no UTF-8 byte order mark: %q", b[:min(len(b), 8)])
	}
	if bytes.ContainsRune(b, ';') || !bytes.Contains(b, []byte("\r\n")) {
		t.Errorf("CSV with a semicolon or without CRLF:\n%s", b)
	}
	recs, err := csv.NewReader(bytes.NewReader(b[3:])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || strings.Join(recs[0], ",") != strings.Join(TertiaryCSVHeader, ",") {
		t.Fatalf("CSV = %q", recs)
	}
	want := []string{"hotel-de-ville", "2100", "2019", "500000.0", "300000.0", "250000.0", "200000.0",
		"2027-01-01", "420000.0", "200.0", strconv.FormatFloat(traj, 'f', 1, 64), "false", strconv.FormatFloat((420000-traj)/traj*100, 'f', 2, 64)}
	if got := strings.Join(recs[1], "|"); got != strings.Join(want, "|") {
		t.Errorf("CSV row\n got %s\nwant %s", got, strings.Join(want, "|"))
	}
	if recs[2][0] != "ecole-jules-ferry" || recs[2][1] != "" || recs[2][9] != "" || recs[2][11] != "true" {
		t.Errorf("CSV row without a floor area: %q", recs[2])
	}
}
