package dashboards

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/civisens/civisens/registry/registryapi"
)

// FloorAreaTag is the tag of a register entry that gives the floor area of
// its building in m² ("1250" or "1250.5"), until the register has a field
// of its own for it.
const FloorAreaTag = "floor_area_m2"

// FloorAreas returns the floor area of each site from its entries' tag
// FloorAreaTag. Entries without the tag are skipped; a value that is not a
// positive number, or two entries of a site that disagree, are an
// ErrInvalidInput.
func FloorAreas(sensors []registryapi.Sensor) (map[string]float64, error) {
	out := map[string]float64{}
	for _, s := range sensors {
		v, ok := s.Tags[FloorAreaTag]
		if !ok {
			continue
		}
		a, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || !(a > 0) || a > 1e7 {
			return nil, fmt.Errorf("dashboards: sensor %s: %s %q is not a positive area: %w", s.ID, FloorAreaTag, v, ErrInvalidInput)
		}
		if prev, seen := out[s.Site]; seen && prev != a {
			return nil, fmt.Errorf("dashboards: site %s: %s is %v and %v: %w", s.Site, FloorAreaTag, prev, a, ErrInvalidInput)
		}
		out[s.Site] = a
	}
	return out, nil
}

// BuildingRank is a building's place among the estate's: its intensity
// over the last twelve months and its drift over the last thirty days.
type BuildingRank struct {
	Site        string
	FloorAreaM2 float64 // 0 when unknown
	// YearKWh is the consumption of the twelve months before AsOf,
	// KWhPerM2Year = YearKWh / FloorAreaM2 (0 when the area is unknown).
	YearKWh, KWhPerM2Year float64
	// Last30KWh is the consumption of the thirty days before AsOf,
	// Prev30KWh that of the same days a year before, DriftPct the change
	// in percent; HasDrift is false when Prev30KWh is 0 (no data then).
	Last30KWh, Prev30KWh, DriftPct float64
	HasDrift                       bool
}

// BuildingRanking is the buildings ranked, worst first.
type BuildingRanking struct {
	AsOf time.Time
	// ByIntensity: the highest kWh/m²/year first, buildings without a
	// floor area last.
	ByIntensity []BuildingRank
	// ByDrift: the largest increase first, buildings without last year's
	// data last.
	ByDrift []BuildingRank
}

// RankBuildings ranks the buildings of h by intensity (kWh/m² over the twelve
// months before asOf) and by drift (the thirty days before asOf against
// the same days a year before), asOf taken at local midnight.
func RankBuildings(h SiteHours, areas map[string]float64, asOf time.Time, loc *time.Location) BuildingRanking {
	asOf = PeriodStart(asOf, StepDay, loc)
	yearAgo := asOf.AddDate(-1, 0, 0)
	d30 := asOf.AddDate(0, 0, -30)
	var ranks []BuildingRank
	for _, site := range h.Sites() {
		pts := h[site]
		b := BuildingRank{Site: site, FloorAreaM2: areas[site]}
		b.YearKWh = sum(Between(pts, yearAgo, asOf))
		if b.FloorAreaM2 > 0 {
			b.KWhPerM2Year = b.YearKWh / b.FloorAreaM2
		}
		b.Last30KWh = sum(Between(pts, d30, asOf))
		b.Prev30KWh = sum(Between(pts, d30.AddDate(-1, 0, 0), yearAgo))
		if b.Prev30KWh != 0 {
			b.DriftPct, b.HasDrift = change(b.Last30KWh, b.Prev30KWh), true
		}
		ranks = append(ranks, b)
	}
	r := BuildingRanking{AsOf: asOf, ByIntensity: slices.Clone(ranks), ByDrift: slices.Clone(ranks)}
	slices.SortStableFunc(r.ByIntensity, func(a, b BuildingRank) int {
		if c := boolFirst(a.FloorAreaM2 > 0, b.FloorAreaM2 > 0); c != 0 {
			return c
		}
		return cmp.Compare(b.KWhPerM2Year, a.KWhPerM2Year)
	})
	slices.SortStableFunc(r.ByDrift, func(a, b BuildingRank) int {
		if a.HasDrift != b.HasDrift {
			return boolFirst(a.HasDrift, b.HasDrift)
		}
		return cmp.Compare(b.DriftPct, a.DriftPct)
	})
	return r
}

// boolFirst orders true before false.
func boolFirst(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
}

// EnergyAlertOptions tune ConsumptionAlerts. The zero value means the defaults.
type EnergyAlertOptions struct {
	// Weeks is how many previous weeks the expected day is the mean of
	// (the same weekday); 0: 4.
	Weeks int
	// Margin is how far above the expected a day must be to alert, as a
	// fraction; 0: 0.20 (20 %).
	Margin float64
	// DegreeDays, when given, correct the expected day for the weather:
	// see ConsumptionAlerts.
	DegreeDays []DegreeDay
	// BaseKWhPerDay is the non-heating baseline of the weather correction
	// (see NonHeatingBaseline).
	BaseKWhPerDay float64
}

// EnergyAlert is a day that consumed more than expected.
type EnergyAlert struct {
	Day         time.Time // local midnight
	KWh         float64
	ExpectedKWh float64
	ExcessPct   float64 // (KWh − ExpectedKWh) / ExpectedKWh, in percent
	// ReferenceDays is how many previous weeks the expectation rests on.
	ReferenceDays int
	// WeatherCorrected tells whether degree days corrected the
	// expectation.
	WeatherCorrected bool
}

// ConsumptionAlerts returns the local days in [from, to) whose consumption
// exceeds the expected by more than the margin, in time order. The
// expected consumption of a day d is the mean of the same weekday of the
// previous weeks that have data; with degree days, its heating part is
// scaled to the day's climate:
//
//	expected = base + (mean − base) × DJU(d) / mean DJU of those days
//
// (base = BaseKWhPerDay, no correction when those days have no DJU or
// some lack one). A day without a previous week to compare with, or that
// is incomplete (a gap in the data), never alerts.
func ConsumptionAlerts(hours []Point, from, to time.Time, loc *time.Location, o EnergyAlertOptions) []EnergyAlert {
	if o.Weeks <= 0 {
		o.Weeks = 4
	}
	if o.Margin <= 0 {
		o.Margin = 0.20
	}
	daily := map[time.Time]Period{}
	for _, p := range Rollup(hours, StepDay, loc) {
		daily[p.Start] = p
	}
	dju := map[time.Time]float64{}
	for _, d := range o.DegreeDays {
		dju[d.Day] = d.DJU
	}
	var out []EnergyAlert
	for d := PeriodStart(from, StepDay, loc); d.Before(to); d = d.AddDate(0, 0, 1) {
		day, ok := daily[d]
		if !ok || !day.Complete() {
			continue
		}
		var s, sDJU float64
		n, nDJU := 0, 0
		for k := 1; k <= o.Weeks; k++ {
			w := d.AddDate(0, 0, -7*k)
			ref, ok := daily[w]
			if !ok || !ref.Complete() {
				continue
			}
			s += ref.KWh
			n++
			if v, ok := dju[w]; ok {
				sDJU += v
				nDJU++
			}
		}
		if n == 0 {
			continue
		}
		a := EnergyAlert{Day: d, KWh: day.KWh, ExpectedKWh: s / float64(n), ReferenceDays: n}
		if cur, ok := dju[d]; ok && len(o.DegreeDays) > 0 && nDJU == n && sDJU > 0 {
			a.ExpectedKWh = WeatherCorrect(a.ExpectedKWh, o.BaseKWhPerDay, sDJU/float64(n), cur)
			a.WeatherCorrected = true
		}
		if a.KWh > a.ExpectedKWh*(1+o.Margin) {
			a.ExcessPct = change(a.KWh, a.ExpectedKWh)
			out = append(out, a)
		}
	}
	return out
}
