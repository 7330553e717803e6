package dashboards

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// 21 June 2026 in Paris (sunrise 03:47 UTC, sunset 19:58 UTC), windows of
// 15 minutes, times in UTC:
//
//	lamp-1 (arm-01, 100 W): lit 00:00–03:45 and 20:00–24:00 (31 windows),
//	  dimmed to 50 W from 21:00 to 03:00 (23h–5h local, 24 windows):
//	  7.75 burning hours, (24×50 + 7×100) × 0.25 = 475 Wh, 775 Wh at full
//	  power: 300 Wh saved;
//	lamp-2 (arm-01, 100 W): the same, and lit at 100 W by day from 10:00
//	  to 11:00; it meters its energy, 1 Wh more per lit window than its
//	  power says: 8.75 h, 24×13.5 + 11×26 = 610 Wh, 875 Wh at full power,
//	  265 Wh saved;
//	lamp-3 (arm-02, 150 W): dark all night. The town switches off from 23h
//	  to 5h local (21:00–03:00 UTC): its faults are 20:30–21:00 and
//	  03:00–03:15 (with a 25 min margin around sunset and sunrise).
func TestLightingFromInfluxDB(t *testing.T) {
	in, r := startAirPark(t)
	start := time.Date(2026, 6, 21, 0, 0, 0, 0, time.UTC)
	at := func(h, m int) time.Time { return start.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	var lines []string
	for i := range 96 {
		w := start.Add(time.Duration(i) * 15 * time.Minute)
		power := 0.0
		if w.Before(at(3, 45)) || !w.Before(at(20, 0)) {
			power = 100
			if w.Before(at(3, 0)) || !w.Before(at(21, 0)) {
				power = 50
			}
		}
		lines = append(lines, fmt.Sprintf("lighting_agg,sensor=lamp-1,cabinet=arm-01,zone=centre,window=15m power_mean=%g,power_max=%g,dimming_mean=%g %d", power, power, power/100, w.Unix()))
		p2 := power
		if !w.Before(at(10, 0)) && w.Before(at(11, 0)) {
			p2 = 100
		}
		energy := 0.0
		if p2 > 0 {
			energy = p2*0.25 + 1
		}
		lines = append(lines,
			fmt.Sprintf("lighting_agg,sensor=lamp-2,cabinet=arm-01,zone=centre,window=15m power_mean=%g,energy_delta=%g %d", p2, energy, w.Unix()),
			fmt.Sprintf("lighting_agg,sensor=lamp-3,cabinet=arm-02,zone=gare,window=15m power_mean=0.4,energy_delta=0.1 %d", w.Unix()),
		)
	}
	// The hourly windows are not read with the 15 min ones.
	lines = append(lines, fmt.Sprintf("lighting_agg,sensor=lamp-1,cabinet=arm-01,window=1h power_mean=900 %d", at(12, 0).Unix()))
	writeAirPark(t, in, "civisens_p10y", "lighting_agg", lines)

	opts := LightingOptions{
		MaxPowerW:     map[string]float64{"lamp-1": 100, "lamp-2": 100, "lamp-3": 150},
		Lat:           parisLat,
		Lon:           parisLon,
		Margin:        25 * time.Minute,
		Location:      europeParis(t),
		PartNightFrom: 23 * time.Hour,
		PartNightTo:   5 * time.Hour,
	}
	rep, err := r.Lighting(context.Background(), AggregateRetention, start, start.Add(24*time.Hour), opts)
	if err != nil {
		t.Fatal(err)
	}
	round := cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-9 })
	wantCircuits := []Circuit{
		{Cabinet: "arm-01", Lamps: 2, BurningHours: 16.5, EnergyWh: 475 + 610, FullPowerWh: 775 + 875, SavingsWh: 300 + 265},
		{Cabinet: "arm-02", Lamps: 1, EnergyWh: 9.6},
	}
	if d := cmp.Diff(wantCircuits, rep.Circuits, round); d != "" {
		t.Errorf("circuits (-want +got):\n%s", d)
	}
	wantFaults := []LampFault{
		{Sensor: "lamp-3", Cabinet: "arm-02", Kind: DarkAtNight, From: at(3, 0), To: at(3, 15)},
		{Sensor: "lamp-2", Cabinet: "arm-01", Kind: LitInDaylight, From: at(10, 0), To: at(11, 0)},
		{Sensor: "lamp-3", Cabinet: "arm-02", Kind: DarkAtNight, From: at(20, 30), To: at(21, 0)},
	}
	if d := cmp.Diff(wantFaults, rep.Faults, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); d != "" {
		t.Errorf("faults (-want +got):\n%s", d)
	}
}

// Circuits lit one hour a night for 37 days: arm-08 from 100 W to 90 W
// over the last 7 days (−10 %: no drift), arm-09 from 100 W to 80 W (two
// lamps of 40 and 60 W to 40 and 40: −20 %, a drift); arm-07 lit only in
// the last week has no baseline.
func TestLightingDriftFromInfluxDB(t *testing.T) {
	in, r := startAirPark(t)
	end := time.Date(2026, 6, 22, 0, 0, 0, 0, time.UTC)
	var lines []string
	for d := 1; d <= 37; d++ {
		night := end.Add(-time.Duration(d)*24*time.Hour + 22*time.Hour)
		p8, p9b := 100.0, 60.0
		if d <= 7 {
			p8, p9b = 90, 40
			lines = append(lines, fmt.Sprintf("lighting_agg,sensor=lamp-71,cabinet=arm-07,window=1h power_mean=50 %d", night.Unix()))
		}
		lines = append(lines,
			fmt.Sprintf("lighting_agg,sensor=lamp-81,cabinet=arm-08,window=1h power_mean=%g %d", p8, night.Unix()),
			fmt.Sprintf("lighting_agg,sensor=lamp-91,cabinet=arm-09,window=1h power_mean=40 %d", night.Unix()),
			fmt.Sprintf("lighting_agg,sensor=lamp-92,cabinet=arm-09,window=1h power_mean=%g %d", p9b, night.Unix()),
			// By day, off: not part of the lit means.
			fmt.Sprintf("lighting_agg,sensor=lamp-81,cabinet=arm-08,window=1h power_mean=0 %d", night.Add(-10*time.Hour).Unix()),
		)
	}
	writeAirPark(t, in, "civisens_p10y", "lighting_agg", lines)
	got, err := r.LightingDrift(context.Background(), AggregateRetention, end, LightingOptions{Window: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	want := []PowerDrift{
		{Cabinet: "arm-08", RecentW: 90, BaselineW: 100, Change: -0.1},
		{Cabinet: "arm-09", RecentW: 80, BaselineW: 100, Change: -0.2, Drifted: true},
	}
	if d := cmp.Diff(want, got, cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-9 })); d != "" {
		t.Errorf("drifts (-want +got):\n%s", d)
	}
}

func TestLightingRejectsAWindow(t *testing.T) {
	r := NewReader(refuse{t}, "civisens/autogen")
	now := time.Now()
	if _, err := r.Lighting(context.Background(), AggregateRetention, now.Add(-time.Hour), now, LightingOptions{Window: `1h" or true`}); err == nil {
		t.Error("no error for a window that is not one")
	}
}
