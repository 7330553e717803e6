package dashboards

// The décret tertiaire (dispositif éco-énergie tertiaire, articles
// R. 174-22 ff. of the Code de la construction et de l'habitation): the
// final energy consumption of a tertiary building of 1 000 m² or more must
// fall by 40 % in 2030, 50 % in 2040 and 60 % in 2050 against a reference
// year no earlier than 2010, declared each year on OPERAT.
//
// Model of the trajectory ([TrajectoryAt]). A year's consumption is the
// value of the rolling twelve months at the year's end (1 January of the
// next year, local midnight). The trajectory is linear in time between
// the end of the reference year (the reference consumption), the end of
// 2030 (60 % of it), the end of 2040 (50 %) and the end of 2050 (40 %);
// it is the reference before, and 40 % after. A building is on track when
// its consumption over the twelve months before a date is at most the
// trajectory at that date. Only the relative targets ("valeur relative")
// are modelled, without the adjustments OPERAT allows (weather with its
// own DJU, activity, surface changes) nor the absolute targets ("valeur
// absolue" in kWh/m² per activity category).

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"
)

// TertiaryTargets are the décret's target years and the share of the
// reference consumption left in each.
var TertiaryTargets = []struct {
	Year  int
	Share float64
}{{2030, 0.60}, {2040, 0.50}, {2050, 0.40}}

// yearEnd returns the end of year y on loc's calendar: 1 January of y+1.
func yearEnd(y int, loc *time.Location) time.Time {
	return time.Date(y+1, time.January, 1, 0, 0, 0, 0, loc)
}

// TrajectoryAt returns the décret tertiaire trajectory of a building whose
// reference year refYear consumed refKWh, at t: see the model above.
func TrajectoryAt(refYear int, refKWh float64, t time.Time, loc *time.Location) float64 {
	x0, y0 := yearEnd(refYear, loc), refKWh
	if !t.After(x0) {
		return refKWh
	}
	for _, tg := range TertiaryTargets {
		x1, y1 := yearEnd(tg.Year, loc), refKWh*tg.Share
		if !t.After(x1) {
			f := float64(t.Sub(x0)) / float64(x1.Sub(x0))
			return y0 + (y1-y0)*f
		}
		x0, y0 = x1, y1
	}
	return y0
}

// TertiaryReference is what the trajectory of a building starts from.
type TertiaryReference struct {
	Site string
	// Year is the reference year, from 2010 to 2029.
	Year int
	// KWh is the reference year's consumption; 0: computed from the
	// aggregates of the local calendar year Year.
	KWh float64
	// FloorAreaM2 is the building's floor area subject to the décret
	// (0: unknown).
	FloorAreaM2 float64
}

// TrajectoryPoint is the trajectory at the end of a year.
type TrajectoryPoint struct {
	Year int
	KWh  float64
}

// TertiaryRow is one building's position against the décret, for a table,
// a chart and the OPERAT export.
type TertiaryRow struct {
	Site          string
	FloorAreaM2   float64
	ReferenceYear int
	ReferenceKWh  float64
	// ReferenceHours is how many hourly aggregates the reference was
	// computed from (0 when it was given): fewer than the year's hours
	// means a gap.
	ReferenceHours int
	// Targets for 2030, 2040 and 2050: 60, 50 and 40 % of ReferenceKWh.
	Target2030KWh, Target2040KWh, Target2050KWh float64
	// AsOf is the date (local midnight) of the rolling figures.
	AsOf time.Time
	// Rolling12KWh is the consumption of the twelve months before AsOf,
	// from RollingHours hourly aggregates.
	Rolling12KWh float64
	RollingHours int
	// TrajectoryKWh is the trajectory at AsOf; OnTrack reports
	// Rolling12KWh <= TrajectoryKWh; GapPct is (Rolling12KWh −
	// TrajectoryKWh) / TrajectoryKWh in percent (negative: ahead).
	TrajectoryKWh float64
	OnTrack       bool
	GapPct        float64
	// Trajectory is the trajectory at the end of each year from the
	// reference year to 2050, for a chart.
	Trajectory []TrajectoryPoint
}

// NewTertiaryRow returns a building's position against the décret at asOf
// (moved to local midnight) given its reference and its consumption over
// the twelve months before.
func NewTertiaryRow(ref TertiaryReference, rolling12KWh float64, asOf time.Time, loc *time.Location) (TertiaryRow, error) {
	if ref.Year < 2010 || ref.Year >= 2030 {
		return TertiaryRow{}, fmt.Errorf("dashboards: tertiary %s: reference year %d not in 2010–2029: %w", ref.Site, ref.Year, ErrInvalidInput)
	}
	if !(ref.KWh > 0) {
		return TertiaryRow{}, fmt.Errorf("dashboards: tertiary %s: reference consumption %v: %w", ref.Site, ref.KWh, ErrInvalidInput)
	}
	asOf = PeriodStart(asOf, StepDay, loc)
	row := TertiaryRow{
		Site: ref.Site, FloorAreaM2: ref.FloorAreaM2,
		ReferenceYear: ref.Year, ReferenceKWh: ref.KWh,
		Target2030KWh: ref.KWh * TertiaryTargets[0].Share,
		Target2040KWh: ref.KWh * TertiaryTargets[1].Share,
		Target2050KWh: ref.KWh * TertiaryTargets[2].Share,
		AsOf:          asOf, Rolling12KWh: rolling12KWh,
		TrajectoryKWh: TrajectoryAt(ref.Year, ref.KWh, asOf, loc),
	}
	row.OnTrack = row.Rolling12KWh <= row.TrajectoryKWh
	row.GapPct = change(row.Rolling12KWh, row.TrajectoryKWh)
	for y := ref.Year; y <= 2050; y++ {
		row.Trajectory = append(row.Trajectory, TrajectoryPoint{Year: y, KWh: TrajectoryAt(ref.Year, ref.KWh, yearEnd(y, loc), loc)})
	}
	return row, nil
}

// TertiaryRows returns the position against the décret of each building
// of refs at asOf from hourly consumption: the rolling twelve months
// before asOf (local midnight), and the reference year's consumption when
// a reference does not give it. h must cover both.
func TertiaryRows(h SiteHours, refs []TertiaryReference, asOf time.Time, loc *time.Location) ([]TertiaryRow, error) {
	asOf = PeriodStart(asOf, StepDay, loc)
	var rows []TertiaryRow
	for _, ref := range refs {
		pts := h[ref.Site]
		var year EnergyTotal
		if ref.KWh == 0 {
			y := Between(pts, yearEnd(ref.Year-1, loc), yearEnd(ref.Year, loc))
			year = EnergyTotal{KWh: sum(y), Hours: len(y)}
		}
		rolling := Between(pts, asOf.AddDate(-1, 0, 0), asOf)
		row, err := TertiaryRowOf(ref, year, EnergyTotal{KWh: sum(rolling), Hours: len(rolling)}, asOf, loc)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// TertiaryRowOf returns a building's position against the décret at asOf
// (moved to local midnight) from its totals: rolling over the twelve
// months before, year over its reference year (used when ref.KWh is 0).
// See [Reader.EnergyStats], [TertiaryRollingRange] and [TertiaryYearRange]
// for reading them.
func TertiaryRowOf(ref TertiaryReference, year, rolling EnergyTotal, asOf time.Time, loc *time.Location) (TertiaryRow, error) {
	var refHours int
	if ref.KWh == 0 {
		ref.KWh, refHours = year.KWh, year.Hours
	}
	row, err := NewTertiaryRow(ref, rolling.KWh, asOf, loc)
	if err != nil {
		return TertiaryRow{}, err
	}
	row.ReferenceHours, row.RollingHours = refHours, rolling.Hours
	return row, nil
}

// TertiaryRollingRange returns the twelve months before asOf (local
// midnight) that TertiaryRowOf's rolling total covers.
func TertiaryRollingRange(asOf time.Time, loc *time.Location) (from, to time.Time) {
	to = PeriodStart(asOf, StepDay, loc)
	return to.AddDate(-1, 0, 0), to
}

// TertiaryYearRange returns the reference year that TertiaryRowOf's year
// total covers, up to asOf when the year has not ended: empty (from not
// before to) when it has not begun.
func TertiaryYearRange(year int, asOf time.Time, loc *time.Location) (from, to time.Time) {
	return yearEnd(year-1, loc), minTimeOf(yearEnd(year, loc), asOf)
}

func minTimeOf(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// TertiaryCSVHeader is the header row of WriteTertiaryCSV, one column per
// field of TertiaryRow (energies in kWh with one decimal, percentages with
// two, dates as YYYY-MM-DD, on_track as true or false, empty
// floor_area_m2 and kwh_per_m2 when the area is unknown):
//
//	site, floor_area_m2, reference_year, reference_kwh,
//	target_2030_kwh, target_2040_kwh, target_2050_kwh,
//	as_of, rolling_12m_kwh, rolling_12m_kwh_per_m2,
//	trajectory_kwh, on_track, gap_pct
var TertiaryCSVHeader = []string{
	"site", "floor_area_m2", "reference_year", "reference_kwh",
	"target_2030_kwh", "target_2040_kwh", "target_2050_kwh",
	"as_of", "rolling_12m_kwh", "rolling_12m_kwh_per_m2",
	"trajectory_kwh", "on_track", "gap_pct",
}

// WriteTertiaryCSV writes rows as CSV (RFC 4180: commas, CRLF line ends,
// quotes where needed; numbers with a decimal point, never a semicolon)
// after a UTF-8 byte order mark, so that Excel reads the accents of site
// names: the annual figures for the OPERAT declaration. Columns: see
// TertiaryCSVHeader.
func WriteTertiaryCSV(w io.Writer, rows []TertiaryRow) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(TertiaryCSVHeader); err != nil {
		return err
	}
	kwh := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	for _, r := range rows {
		area, perM2 := "", ""
		if r.FloorAreaM2 > 0 {
			area = strconv.FormatFloat(r.FloorAreaM2, 'f', -1, 64)
			perM2 = kwh(r.Rolling12KWh / r.FloorAreaM2)
		}
		if err := cw.Write([]string{
			r.Site, area, strconv.Itoa(r.ReferenceYear), kwh(r.ReferenceKWh),
			kwh(r.Target2030KWh), kwh(r.Target2040KWh), kwh(r.Target2050KWh),
			r.AsOf.Format(time.DateOnly), kwh(r.Rolling12KWh), perM2,
			kwh(r.TrajectoryKWh), strconv.FormatBool(r.OnTrack), strconv.FormatFloat(r.GapPct, 'f', 2, 64),
		}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
