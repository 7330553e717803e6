package dashboards

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// LightingOptions says how street lights are read. The zero value of each
// field is its default.
type LightingOptions struct {
	// Window is the aggregate window read: "15m" by default (a lamp's
	// burning time is counted by whole windows).
	Window string
	// LitW is the mean power above which a lamp counts as lit in a
	// window: 5 W by default (above an LED driver's standby).
	LitW float64
	// MaxPowerW is the declared full power of each lamp (by sensor id: the
	// maximum of its power quantity in the register), for the dimming
	// savings; lamps not in it have none.
	MaxPowerW map[string]float64
	// Lat and Lon are the town's coordinates (WGS84 degrees) for sunrise
	// and sunset.
	Lat, Lon float64
	// Margin is how far from sunrise and sunset a window must be to be
	// judged day or night: 30 minutes by default (photocells switch around
	// civil twilight).
	Margin time.Duration
	// Location is the town's time zone, for PartNight: Europe/Paris's
	// offsets are the caller's to load (time.LoadLocation); nil is UTC.
	Location *time.Location
	// PartNightFrom and PartNightTo are the local times of day (durations
	// since midnight) between which the town switches its lights off on
	// purpose (extinction en cœur de nuit, e.g. 23h to 5h): darkness then
	// is no fault. Equal: none.
	PartNightFrom, PartNightTo time.Duration
	// Drift is the relative change of a circuit's lit power that counts as
	// a drift: 0.15 by default.
	Drift float64
}

func (o LightingOptions) withDefaults() LightingOptions {
	if o.Window == "" {
		o.Window = "15m"
	}
	if o.LitW == 0 {
		o.LitW = 5
	}
	if o.Margin == 0 {
		o.Margin = 30 * time.Minute
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Drift == 0 {
		o.Drift = 0.15
	}
	return o
}

func (o LightingOptions) partNight(t time.Time) bool {
	if o.PartNightFrom == o.PartNightTo {
		return false
	}
	l := t.In(o.Location)
	since := l.Sub(time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, o.Location))
	if o.PartNightFrom < o.PartNightTo {
		return since >= o.PartNightFrom && since < o.PartNightTo
	}
	return since >= o.PartNightFrom || since < o.PartNightTo
}

// Circuit is the use of the lamps of one lighting circuit (the sensors'
// cabinet tag; "" for lamps without one) over a period.
type Circuit struct {
	Cabinet string
	Lamps   int
	// BurningHours is the lamps' lit time, summed over the lamps, in
	// hours (whole windows whose mean power is above LitW).
	BurningHours float64
	// EnergyWh is the lamps' energy: the window's energy_delta where the
	// sensor meters energy, its power_mean × the window's length otherwise.
	EnergyWh float64
	// FullPowerWh is what the lamps with a declared power would have used
	// at full power while lit, and SavingsWh that minus their energy: the
	// savings of dimming (only lamps in MaxPowerW count in both).
	FullPowerWh, SavingsWh float64
}

// FaultKind is a kind of lamp fault.
type FaultKind string

// The faults Lighting finds.
const (
	LitInDaylight FaultKind = "lit_in_daylight"
	DarkAtNight   FaultKind = "dark_at_night"
)

// LampFault is a run of consecutive windows in which a lamp was lit by day
// or dark by night.
type LampFault struct {
	Sensor, Cabinet string
	Kind            FaultKind
	From, To        time.Time
}

// LightingReport is the street lighting of a period.
type LightingReport struct {
	Circuits []Circuit   // by cabinet
	Faults   []LampFault // by start, then sensor
}

// lampWindow is one aggregate window of one lamp.
type lampWindow struct {
	power, energy       float64
	hasPower, hasEnergy bool
	cabinet             string
}

// lampWindows reads the windows of the lamps that start in [from, to).
func (r *Reader) lampWindows(ctx context.Context, retention string, from, to time.Time, o LightingOptions) (map[string]map[time.Time]*lampWindow, error) {
	rows, err := r.windowRows(ctx, retention, "lighting_agg", o.Window, []string{"power_mean", "energy_delta"}, from, to)
	if err != nil {
		return nil, err
	}
	lamps := map[string]map[time.Time]*lampWindow{}
	for _, row := range rows {
		ws := lamps[row.Sensor]
		if ws == nil {
			ws = map[time.Time]*lampWindow{}
			lamps[row.Sensor] = ws
		}
		w := ws[row.Time]
		if w == nil {
			w = &lampWindow{cabinet: row.Tags["cabinet"]}
			ws[row.Time] = w
		}
		switch row.Field {
		case "power_mean":
			w.power, w.hasPower = row.Value, true
		case "energy_delta":
			w.energy, w.hasEnergy = row.Value, true
		}
	}
	return lamps, nil
}

// Lighting returns the burning hours, energy and dimming savings of each
// circuit and the lamps' faults between from and to (windows starting in
// [from, to)), from the gateway's lighting_agg aggregates (power_mean W,
// energy_delta Wh) read from the bucket of retention (usually
// [AggregateRetention]). A lamp is lit in daylight when a window wholly
// between sunrise + Margin and sunset − Margin has its power above LitW,
// dark at night when a window wholly more than Margin away from daylight,
// outside the part-night hours, has it at or below.
func (r *Reader) Lighting(ctx context.Context, retention string, from, to time.Time, opts LightingOptions) (LightingReport, error) {
	o := opts.withDefaults()
	size, err := time.ParseDuration(o.Window)
	if err != nil || !aggWindowRE.MatchString(o.Window) {
		return LightingReport{}, fmt.Errorf("dashboards: lighting window %q: %w", o.Window, ErrInvalidInput)
	}
	lamps, err := r.lampWindows(ctx, retention, from, to, o)
	if err != nil {
		return LightingReport{}, err
	}
	hours := size.Hours()
	circuits := map[string]*Circuit{}
	var rep LightingReport
	for sensor, ws := range lamps {
		times := make([]time.Time, 0, len(ws))
		for t := range ws {
			times = append(times, t)
		}
		slices.SortFunc(times, time.Time.Compare)
		var open *LampFault
		for _, t := range times {
			w := ws[t]
			c := circuits[w.cabinet]
			if c == nil {
				c = &Circuit{Cabinet: w.cabinet}
				circuits[w.cabinet] = c
			}
			energy := w.energy
			if !w.hasEnergy {
				energy = w.power * hours
			}
			c.EnergyWh += energy
			lit := energy/hours > o.LitW // a meter without power
			if w.hasPower {
				lit = w.power > o.LitW
			}
			if lit {
				c.BurningHours += hours
				if full, ok := o.MaxPowerW[sensor]; ok {
					c.FullPowerWh += full * hours
					c.SavingsWh += full*hours - energy
				}
			}
			var kind FaultKind
			day, night := sunSide(t, t.Add(size), o.Lat, o.Lon, o.Margin)
			switch {
			case day && lit:
				kind = LitInDaylight
			case night && !lit && !o.partNight(t) && !o.partNight(t.Add(size-time.Nanosecond)):
				kind = DarkAtNight
			}
			if open != nil && (kind != open.Kind || !open.To.Equal(t)) {
				rep.Faults = append(rep.Faults, *open)
				open = nil
			}
			if kind == "" {
				continue
			}
			if open == nil {
				open = &LampFault{Sensor: sensor, Cabinet: w.cabinet, Kind: kind, From: t}
			}
			open.To = t.Add(size)
		}
		if open != nil {
			rep.Faults = append(rep.Faults, *open)
		}
	}
	lampsOf := map[string]map[string]bool{}
	for sensor, ws := range lamps {
		for _, w := range ws {
			if lampsOf[w.cabinet] == nil {
				lampsOf[w.cabinet] = map[string]bool{}
			}
			lampsOf[w.cabinet][sensor] = true
		}
	}
	for cab, c := range circuits {
		c.Lamps = len(lampsOf[cab])
		rep.Circuits = append(rep.Circuits, *c)
	}
	slices.SortFunc(rep.Circuits, func(a, b Circuit) int { return strings.Compare(a.Cabinet, b.Cabinet) })
	slices.SortFunc(rep.Faults, func(a, b LampFault) int {
		if c := a.From.Compare(b.From); c != 0 {
			return c
		}
		return strings.Compare(a.Sensor, b.Sensor)
	})
	return rep, nil
}

// PowerDrift compares the mean power of a circuit while lit over the last
// 7 days with the 30 days before.
type PowerDrift struct {
	Cabinet   string
	RecentW   float64 // mean lit power of the circuit, last 7 days
	BaselineW float64 // the same, the 30 days before
	Change    float64 // RecentW / BaselineW − 1
	Drifted   bool    // |Change| > the options' Drift (15 %)
}

// LightingDrift returns, for each circuit lit in both periods, the mean of
// its power (summed over its lamps, per window) over the windows in which
// it was lit (above LitW), over the 7 days before at and over the 30 days
// before those; a lamp gone dark lowers it, a lamp stuck at full power
// raises it. Sorted by cabinet.
func (r *Reader) LightingDrift(ctx context.Context, retention string, at time.Time, opts LightingOptions) ([]PowerDrift, error) {
	o := opts.withDefaults()
	recentFrom := at.Add(-7 * 24 * time.Hour)
	baseFrom := recentFrom.Add(-30 * 24 * time.Hour)
	lamps, err := r.lampWindows(ctx, retention, baseFrom, at, o)
	if err != nil {
		return nil, err
	}
	type key struct {
		cabinet string
		t       time.Time
	}
	sum := map[key]float64{}
	for _, ws := range lamps {
		for t, w := range ws {
			if w.hasPower {
				sum[key{w.cabinet, t}] += w.power
			}
		}
	}
	type acc struct{ rn, bn, rs, bs float64 }
	accs := map[string]*acc{}
	for k, p := range sum {
		if p <= o.LitW {
			continue
		}
		a := accs[k.cabinet]
		if a == nil {
			a = &acc{}
			accs[k.cabinet] = a
		}
		if k.t.Before(recentFrom) {
			a.bn++
			a.bs += p
		} else {
			a.rn++
			a.rs += p
		}
	}
	var out []PowerDrift
	for cab, a := range accs {
		if a.rn == 0 || a.bn == 0 {
			continue
		}
		d := PowerDrift{Cabinet: cab, RecentW: a.rs / a.rn, BaselineW: a.bs / a.bn}
		d.Change = d.RecentW/d.BaselineW - 1
		d.Drifted = math.Abs(d.Change) > o.Drift
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b PowerDrift) int { return strings.Compare(a.Cabinet, b.Cabinet) })
	return out, nil
}
