package dashboards

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Two days (Monday 9 and Tuesday 10 March 2026, Paris) of a zone "gare"
// with two bays and a zone "centre" with one, by hand:
//
//	gare g1: Mon 8h taken all the hour (1 arrival), 9h half; Tue 8h a
//	  quarter (1 arrival), 14h three quarters (2 arrivals);
//	gare g2: Mon 8h free, 9h taken (1 arrival);
//	centre c1: Tue 10h half (1 arrival).
//
// gare: occupancy Mon 8h (1+0)/2, Mon 9h (0.5+1)/2, Tue 8h 0.25, Tue 14h
// 0.75; 5 sessions, 3.5 occupied hours: turnover 5/2 bays/2 days = 1.25,
// mean stay 3.5/5 h = 42 min. centre: turnover 1/1/2 = 0.5, stay 30 min.
func TestParkingFromInfluxDB(t *testing.T) {
	in, r := startAirPark(t)
	loc := europeParis(t)
	at := func(d, h, m int) time.Time { return time.Date(2026, 3, d, h, m, 0, 0, loc) }
	agg := func(sensor, zone string, t time.Time, ratio float64, arrivals int) string {
		return fmt.Sprintf("parking_agg,sensor=%s,site=parking-%s,zone=%s,window=1h occupancy_ratio=%g,occupancy_arrivals=%di,occupancy_count=4i,occupancy_last=0i %d",
			sensor, zone, zone, ratio, arrivals, t.Unix())
	}
	writeAirPark(t, in, "civisens_p10y", "parking_agg", []string{
		agg("park-g1", "gare", at(9, 8, 0), 1, 1),
		agg("park-g1", "gare", at(9, 9, 0), 0.5, 0),
		agg("park-g1", "gare", at(10, 8, 0), 0.25, 1),
		agg("park-g1", "gare", at(10, 14, 0), 0.75, 2),
		agg("park-g2", "gare", at(9, 8, 0), 0, 0),
		agg("park-g2", "gare", at(9, 9, 0), 1, 1),
		agg("park-c1", "centre", at(10, 10, 0), 0.5, 1),
		// Outside the period, or another window: not read.
		agg("park-g1", "gare", at(11, 8, 0), 1, 7),
		fmt.Sprintf("parking_agg,sensor=park-g1,zone=gare,window=15m occupancy_ratio=1,occupancy_arrivals=9i %d", at(9, 8, 0).Unix()),
	})
	zones, err := r.Parking(context.Background(), AggregateRetention, at(9, 0, 0), at(11, 0, 0), loc)
	if err != nil {
		t.Fatal(err)
	}
	var centre, gare ParkingZone
	centre.Zone, centre.Bays, centre.Days, centre.Sessions, centre.OccupiedHours = "centre", 1, 2, 1, 0.5
	centre.Turnover, centre.MeanStay = 0.5, 30*time.Minute
	centre.ByHour[time.Tuesday][10] = OccupancyCell{0.5, 1}
	gare.Zone, gare.Bays, gare.Days, gare.Sessions, gare.OccupiedHours = "gare", 2, 2, 5, 3.5
	gare.Turnover, gare.MeanStay = 1.25, 42*time.Minute
	gare.ByHour[time.Monday][8] = OccupancyCell{0.5, 2}
	gare.ByHour[time.Monday][9] = OccupancyCell{0.75, 2}
	gare.ByHour[time.Tuesday][8] = OccupancyCell{0.25, 1}
	gare.ByHour[time.Tuesday][14] = OccupancyCell{0.75, 1}
	if d := cmp.Diff([]ParkingZone{centre, gare}, zones); d != "" {
		t.Errorf("parking zones (-want +got):\n%s", d)
	}
}

// Overstays from the raw readings, with a maximum stay of 2 hours, on
// Monday 9 March 2026 (Paris):
//
//	g1: free 7h, taken 8h, free 9h30 (1h30: fine); taken 10h, still
//	  taken 11h (a repeated reading), free 14h30 (4h30: overstay);
//	g2: taken at 7h (start unknown: left out), free 8h, taken 20h and
//	  still at midnight (4 h so far: ongoing overstay).
func TestOverstaysFromInfluxDB(t *testing.T) {
	in, r := startAirPark(t)
	loc := europeParis(t)
	at := func(h, m int) time.Time { return time.Date(2026, 3, 9, h, m, 0, 0, loc) }
	raw := func(sensor string, t time.Time, v int) string {
		return fmt.Sprintf("parking,sensor=%s,site=gare,zone=gare occupancy=%d %d", sensor, v, t.Unix())
	}
	writeAirPark(t, in, "civisens_p1y", "parking", []string{
		raw("park-g1", at(7, 0), 0), raw("park-g1", at(8, 0), 1), raw("park-g1", at(9, 30), 0),
		raw("park-g1", at(10, 0), 1), raw("park-g1", at(11, 0), 1), raw("park-g1", at(14, 30), 0),
		raw("park-g2", at(7, 0), 1), raw("park-g2", at(8, 0), 0), raw("park-g2", at(20, 0), 1),
	})
	got, err := r.Overstays(context.Background(), "P1Y", at(0, 0), at(24, 0), 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	want := []Stay{
		{Sensor: "park-g1", Zone: "gare", Start: at(10, 0), End: at(14, 30)},
		{Sensor: "park-g2", Zone: "gare", Start: at(20, 0), End: at(24, 0), Ongoing: true},
	}
	if d := cmp.Diff(want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); d != "" {
		t.Errorf("overstays (-want +got):\n%s", d)
	}
	if got[0].Duration() != 4*time.Hour+30*time.Minute {
		t.Errorf("duration %v", got[0].Duration())
	}
}

func TestAirParkingLightingRejectInputBeforeQuerying(t *testing.T) {
	r := NewReader(refuse{t}, "civisens/autogen")
	ctx := context.Background()
	to := time.Now()
	from := to.Add(-24 * time.Hour)
	loc := time.UTC
	for name, call := range map[string]func() error{
		"air, forever":         func() error { _, err := r.AirHourly(ctx, "forever", from, to); return err },
		"air, to before from":  func() error { _, err := r.AirDays(ctx, AggregateRetention, to, from, loc); return err },
		"parking, forever":     func() error { _, err := r.Parking(ctx, "forever", from, to, loc); return err },
		"parking, empty":       func() error { _, err := r.Parking(ctx, AggregateRetention, from, from, loc); return err },
		"overstays, backwards": func() error { _, err := r.Overstays(ctx, "P1Y", to, from, time.Hour); return err },
		"drift, forever":       func() error { _, err := r.LightingDrift(ctx, "forever", to, LightingOptions{}); return err },
	} {
		if err := call(); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: %v, want ErrInvalidInput", name, err)
		}
	}
}
