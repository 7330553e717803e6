package web

import (
	"io"
	"net/url"
	"strconv"
	"time"

	"github.com/civisens/civisens/dashboards"
)

// The energy managers' dashboards: the energy of the public buildings and
// their trajectory against the décret tertiaire.

// dashIndexItem is a dashboard in the index.
type dashIndexItem struct{ Label, Text, URL string }

// DashboardsIndex renders the index of the dashboards; the energy ones
// (energy, tertiary, street lighting) only when energy is true.
func (p *Pages) DashboardsIndex(w io.Writer, r Request, energy bool) error {
	l := p.localizer(r.Lang)
	items := []dashIndexItem{
		{l.T("dash.air.title"), l.T("dash.air.short"), l.link(DashAirPath)},
		{l.T("dash.parking.title"), l.T("dash.parking.short"), l.link(DashParkingPath)},
	}
	if energy {
		items = append(items,
			dashIndexItem{l.T("dash.energy.title"), l.T("dash.energy.short"), l.link(DashEnergyPath)},
			dashIndexItem{l.T("dash.tertiary.title"), l.T("dash.tertiary.short"), l.link(DashTertiaryPath)},
			dashIndexItem{l.T("dash.lighting.title"), l.T("dash.lighting.short"), l.link(DashLightingPath)})
	}
	return p.render(w, "dash_index", r, l.T("dash.index.title")+" – "+l.T("site.title"), items)
}

// EnergyData is the energy dashboard's figures, computed by the caller
// from the buildings' hourly consumption (package dashboards).
type EnergyData struct {
	DashCommon
	Sites []string // every building
	Site  string   // the building shown, "" for the whole estate
	Step  dashboards.Step
	// Consumption is the site's (or the estate's) consumption per step
	// over the range.
	Consumption []dashboards.Period
	// Totals is each building's consumption over the range, and Areas
	// their floor areas (m², 0 unknown).
	Totals map[string]float64
	Areas  map[string]float64
	// Day is the day of LoadCurve.
	LoadCurve dashboards.LoadCurve
	Baseline  dashboards.Baseline
	// Comparison is the range against the same dates a year before;
	// Corrected says whether degree days corrected it (a temperature
	// sensor was found), TemperatureSensor which one.
	Comparison        dashboards.YearComparison
	Corrected         bool
	TemperatureSensor string
	Ranking           dashboards.BuildingRanking
	Alerts            []dashboards.EnergyAlert
}

var stepNames = map[dashboards.Step]string{dashboards.StepDay: "day", dashboards.StepMonth: "month", dashboards.StepYear: "year"}

// ParseStep reads the step parameter: day (default), month or year.
func ParseStep(s string) (dashboards.Step, bool) {
	switch s {
	case "", "day":
		return dashboards.StepDay, true
	case "month":
		return dashboards.StepMonth, true
	case "year":
		return dashboards.StepYear, true
	}
	return dashboards.StepDay, false
}

// EnergyDashboard builds the energy dashboard.
func (p *Pages) EnergyDashboard(r Request, d EnergyData) DashPage {
	l := p.localizer(r.Lang)
	loc := p.loc
	siteOpts := []dashOption{{Value: "", Label: l.T("dash.energy.estate"), Selected: d.Site == ""}}
	for _, s := range d.Sites {
		siteOpts = append(siteOpts, dashOption{Value: s, Label: s, Selected: s == d.Site})
	}
	var stepOpts []dashOption
	for _, st := range []dashboards.Step{dashboards.StepDay, dashboards.StepMonth, dashboards.StepYear} {
		stepOpts = append(stepOpts, dashOption{Value: stepNames[st], Label: l.T("dash.step." + stepNames[st]), Selected: st == d.Step})
	}
	day := d.LoadCurve.Day
	if day.IsZero() {
		day = d.Range.To.AddDate(0, 0, -1)
	}
	v := l.dashBase(DashEnergyPath, "dash.energy.title", "dash.energy.intro", d.DashCommon, loc,
		dashField{Name: "site", Label: l.T("dash.energy.site"), Type: "select", Options: siteOpts},
		dashField{Name: "step", Label: l.T("dash.energy.step"), Type: "select", Options: stepOpts},
		dashField{Name: "day", Label: l.T("dash.energy.day"), Type: "date", Value: day.Format(time.DateOnly)})
	if d.Unavailable {
		return DashPage{view: v, title: v.Title + " – " + l.T("site.title")}
	}
	who := l.T("dash.energy.estate")
	if d.Site != "" {
		who = d.Site
	}
	var total float64
	for _, per := range d.Consumption {
		total += per.KWh
	}
	v.Facts = []dashFact{
		{l.T("dash.energy.fact.who"), who},
		{l.T("dash.energy.fact.total"), l.number(total, 1) + "\u00a0kWh"},
		{l.T("dash.energy.fact.outside"), l.number(d.Baseline.OutsideShare*100, 1) + "\u00a0%"},
		{l.T("dash.energy.fact.night"), l.number(d.Baseline.NightKW, 2) + "\u00a0kW"},
	}

	// Consumption per step.
	cons := dashSection{Name: "consumption", Heading: l.T("dash.energy.cons", l.T("dash.step."+stepNames[d.Step])),
		Caption: l.T("dash.energy.cons.caption", who), Empty: l.T("dash.nodata"),
		Head:    []string{l.T("dash.col.period"), l.T("dash.col.kwh"), l.T("dash.col.complete")},
		CSVHead: []string{"start", "kwh", "hours"}}
	var pts []chartPoint
	for _, per := range d.Consumption {
		label := l.Date(per.Start)
		switch d.Step {
		case dashboards.StepMonth:
			label = l.monthYear(per.Start)
		case dashboards.StepYear:
			label = per.Start.Format("2006")
		}
		complete := l.T("dash.yes")
		if !per.Complete() {
			complete = l.T("dash.no.hours", per.Hours)
		}
		cons.Rows = append(cons.Rows, dashRow{Cells: []dashCell{
			{Text: label, CSV: per.Start.Format(time.DateOnly), Header: true},
			l.numCell(per.KWh, 1),
			{Text: complete, CSV: strconv.Itoa(per.Hours)},
		}})
		pts = append(pts, chartPoint{T: per.Start, V: per.KWh})
	}
	if len(pts) > 0 {
		from, to := d.Consumption[0].Start, d.Consumption[len(d.Consumption)-1].End
		cons.Chart = l.dashChart(dashChartData{ID: "chart-consumption", Title: l.T("dash.energy.cons.chart", who), Unit: "kWh",
			From: from, To: to, Series: []dashSeries{{Label: who, Points: pts}}, ZeroBased: true}, loc)
	}

	// The load curve of the day against the typical day.
	lc := dashSection{Name: "loadcurve", Heading: l.T("dash.energy.load", l.Date(day)),
		Intro:   l.T("dash.energy.load.intro", d.LoadCurve.Weeks),
		Caption: l.T("dash.energy.load.caption", l.Date(day), who), Empty: l.T("dash.nodata"),
		Head:    []string{l.T("dash.col.hour"), l.T("dash.col.kwh"), l.T("dash.col.typical")},
		CSVHead: []string{"hour", "kwh", "typical_kwh", "typical_days"}}
	var dayPts, typPts []chartPoint
	known := false
	for _, h := range d.LoadCurve.Hours {
		at := d.LoadCurve.Day.Add(time.Duration(h.Hour) * time.Hour)
		c := emptyCell()
		if h.Known {
			c, known = l.numCell(h.KWh, 2), true
			dayPts = append(dayPts, chartPoint{T: at, V: h.KWh})
		}
		t := emptyCell()
		if h.TypicalDays > 0 {
			t = l.numCell(h.Typical, 2)
			typPts = append(typPts, chartPoint{T: at, V: h.Typical})
		}
		lc.Rows = append(lc.Rows, dashRow{Cells: []dashCell{
			{Text: strconv.Itoa(h.Hour) + "\u00a0h", CSV: strconv.Itoa(h.Hour), Header: true}, c, t,
			{Text: strconv.Itoa(h.TypicalDays), CSV: strconv.Itoa(h.TypicalDays), Class: "num"},
		}})
	}
	lc.Head = append(lc.Head, l.T("dash.col.typicaldays"))
	if !known && len(typPts) == 0 {
		lc.Rows = nil
	} else {
		lc.Chart = l.dashChart(dashChartData{ID: "chart-loadcurve", Title: l.T("dash.energy.load.chart", l.Date(day)), Unit: "kWh",
			From: d.LoadCurve.Day, To: d.LoadCurve.Day.Add(24 * time.Hour), Step: time.Hour, ZeroBased: true,
			Series: []dashSeries{{Label: l.Date(day), Points: dayPts}, {Label: l.T("dash.col.typical"), Points: typPts, Dashed: true, Square: true}}}, loc)
	}

	// Baseline.
	b := d.Baseline
	base := dashSection{Name: "baseline", Heading: l.T("dash.energy.baseline"), Intro: l.T("dash.energy.baseline.intro"),
		Caption: l.T("dash.energy.baseline.caption", who),
		Head:    []string{l.T("dash.col.indicator"), l.T("dash.col.value")},
		CSVHead: []string{"indicator", "value"},
		Rows: []dashRow{
			{Cells: []dashCell{headCell(l.T("dash.energy.night"), "night_kw"), l.numCell(b.NightKW, 2)}},
			{Cells: []dashCell{headCell(l.T("dash.energy.weekend"), "weekend_kw"), l.numCell(b.WeekendKW, 2)}},
			{Cells: []dashCell{headCell(l.T("dash.energy.outsidekwh"), "outside_kwh"), l.numCell(b.OutsideKWh, 1)}},
			{Cells: []dashCell{headCell(l.T("dash.energy.outsideshare"), "outside_share_pct"), l.pctCell(b.OutsideShare * 100)}},
		}}

	// Comparison with last year.
	c := d.Comparison
	cmpIntro := l.T("dash.energy.cmp.nodju")
	if d.Corrected {
		cmpIntro = l.T("dash.energy.cmp.dju", d.TemperatureSensor)
	}
	cmp := dashSection{Name: "comparison", Heading: l.T("dash.energy.cmp"), Intro: cmpIntro,
		Caption: l.T("dash.energy.cmp.caption", who),
		Head:    []string{l.T("dash.col.indicator"), l.T("dash.col.value")},
		CSVHead: []string{"indicator", "value"},
		Rows: []dashRow{
			{Cells: []dashCell{headCell(l.T("dash.energy.cmp.kwh", l.Date(c.From), l.Date(c.To.AddDate(0, 0, -1))), "kwh"), l.numCell(c.KWh, 1)}},
			{Cells: []dashCell{headCell(l.T("dash.energy.cmp.prev", l.Date(c.PrevFrom), l.Date(c.PrevTo.AddDate(0, 0, -1))), "previous_kwh"), l.numCell(c.PrevKWh, 1)}},
			{Cells: []dashCell{headCell(l.T("dash.energy.cmp.raw"), "raw_change_pct"), l.pctCell(c.RawChange)}},
		}}
	if d.Corrected {
		cmp.Rows = append(cmp.Rows,
			dashRow{Cells: []dashCell{headCell(l.T("dash.energy.cmp.djucur"), "dju"), l.numCell(c.DJU, 1)}},
			dashRow{Cells: []dashCell{headCell(l.T("dash.energy.cmp.djuprev"), "previous_dju"), l.numCell(c.PrevDJU, 1)}},
			dashRow{Cells: []dashCell{headCell(l.T("dash.energy.cmp.corrkwh"), "corrected_kwh"), l.numCell(c.CorrectedKWh, 1)}},
			dashRow{Cells: []dashCell{headCell(l.T("dash.energy.cmp.corr"), "corrected_change_pct"), l.pctCell(c.CorrectedChange)}})
	}

	// Buildings over the range, and the rankings.
	bld := dashSection{Name: "buildings", Heading: l.T("dash.energy.buildings"), Caption: l.T("dash.energy.buildings.caption"),
		Empty:   l.T("dash.nodata"),
		Head:    []string{l.T("dash.col.building"), l.T("dash.col.kwh"), l.T("dash.col.area"), l.T("dash.col.kwhm2")},
		CSVHead: []string{"site", "kwh", "floor_area_m2", "kwh_per_m2"}}
	for _, s := range d.Sites {
		kwh := d.Totals[s]
		area, perM2 := emptyCell(), emptyCell()
		if a := d.Areas[s]; a > 0 {
			area, perM2 = l.numCell(a, 1), l.numCell(kwh/a, 2)
		}
		bld.Rows = append(bld.Rows, dashRow{Cells: []dashCell{headCell(s, s), l.numCell(kwh, 1), area, perM2}})
	}
	intensity := dashSection{Name: "intensity", Heading: l.T("dash.energy.intensity"),
		Intro:   l.T("dash.energy.intensity.intro", l.Date(d.Ranking.AsOf)),
		Caption: l.T("dash.energy.intensity.caption"), Empty: l.T("dash.nodata"),
		Head:    []string{l.T("dash.col.rank"), l.T("dash.col.building"), l.T("dash.col.kwh12"), l.T("dash.col.kwhm2y")},
		CSVHead: []string{"rank", "site", "kwh_12_months", "kwh_per_m2_year"}}
	for i, br := range d.Ranking.ByIntensity {
		per := emptyCell()
		if br.FloorAreaM2 > 0 {
			per = l.numCell(br.KWhPerM2Year, 1)
		}
		intensity.Rows = append(intensity.Rows, dashRow{Cells: []dashCell{
			{Text: strconv.Itoa(i + 1), CSV: strconv.Itoa(i + 1), Class: "num"}, headCell(br.Site, br.Site), l.numCell(br.YearKWh, 1), per}})
	}
	drift := dashSection{Name: "drift", Heading: l.T("dash.energy.drift"), Intro: l.T("dash.energy.drift.intro"),
		Caption: l.T("dash.energy.drift.caption"), Empty: l.T("dash.nodata"),
		Head:    []string{l.T("dash.col.rank"), l.T("dash.col.building"), l.T("dash.col.last30"), l.T("dash.col.prev30"), l.T("dash.col.drift")},
		CSVHead: []string{"rank", "site", "last_30_days_kwh", "same_days_last_year_kwh", "drift_pct"}}
	for i, br := range d.Ranking.ByDrift {
		dc := emptyCell()
		if br.HasDrift {
			dc = l.pctCell(br.DriftPct)
		}
		drift.Rows = append(drift.Rows, dashRow{Cells: []dashCell{
			{Text: strconv.Itoa(i + 1), CSV: strconv.Itoa(i + 1), Class: "num"}, headCell(br.Site, br.Site),
			l.numCell(br.Last30KWh, 1), l.numCell(br.Prev30KWh, 1), dc}})
	}

	alerts := dashSection{Name: "alerts", Heading: l.T("dash.energy.alerts"), Intro: l.T("dash.energy.alerts.intro"),
		Caption: l.T("dash.energy.alerts.caption", who), Empty: l.T("dash.energy.alerts.none"),
		Head:    []string{l.T("dash.col.day"), l.T("dash.col.kwh"), l.T("dash.col.expected"), l.T("dash.col.excess"), l.T("dash.col.weather")},
		CSVHead: []string{"day", "kwh", "expected_kwh", "excess_pct", "weather_corrected"}}
	for _, a := range d.Alerts {
		w := l.T("dash.no")
		if a.WeatherCorrected {
			w = l.T("dash.yes")
		}
		alerts.Rows = append(alerts.Rows, dashRow{Cells: []dashCell{l.dayCell(a.Day), l.numCell(a.KWh, 1), l.numCell(a.ExpectedKWh, 1),
			l.pctCell(a.ExcessPct), {Text: w, CSV: strconv.FormatBool(a.WeatherCorrected)}}})
	}
	v.Sections = []dashSection{cons, lc, base, cmp, bld, intensity, drift, alerts}
	l.csvLinks(&v, DashEnergyPath, d.DashCommon)
	return DashPage{view: v, title: v.Title + " – " + l.T("site.title")}
}

// TertiaryData is the décret tertiaire dashboard's figures.
type TertiaryData struct {
	DashCommon
	Rows []dashboards.TertiaryRow
	// Missing are the buildings whose entries give no reference year
	// (tag tertiary_reference_year), or a bad one.
	Missing []string
}

// TertiaryDashboard builds the décret tertiaire dashboard: one chart per
// building (the trajectory and the rolling twelve months), a table, and
// the CSV of the annual declaration (?format=csv without chart).
func (p *Pages) TertiaryDashboard(r Request, d TertiaryData) DashPage {
	l := p.localizer(r.Lang)
	loc := p.loc
	v := l.dashBase(DashTertiaryPath, "dash.tertiary.title", "dash.tertiary.intro", d.DashCommon, loc)
	v.Intro += " " + l.T("dash.tertiary.model")
	if d.Unavailable {
		return DashPage{view: v, title: v.Title + " – " + l.T("site.title")}
	}
	for _, m := range d.Missing {
		v.Notes = append(v.Notes, dashNote{Text: l.T("dash.tertiary.missing", m)})
	}
	q := url.Values{"format": {"csv"}, "from": {v.Form.From}, "to": {v.Form.To}}
	v.Downloads = []dashLink{{Label: l.T("dash.tertiary.csv"), URL: l.linkQ(DashTertiaryPath, q)}}
	table := dashSection{Name: "buildings", Heading: l.T("dash.tertiary.table"), Caption: l.T("dash.tertiary.caption"),
		Empty: l.T("dash.tertiary.none"),
		Head: []string{l.T("dash.col.building"), l.T("dash.col.refyear"), l.T("dash.col.refkwh"), l.T("dash.col.t2030"),
			l.T("dash.col.t2040"), l.T("dash.col.t2050"), l.T("dash.col.rolling"), l.T("dash.col.trajectory"), l.T("dash.col.ontrack"), l.T("dash.col.gap")},
	}
	table.CSVHead = []string{"site", "reference_year", "reference_kwh", "target_2030_kwh", "target_2040_kwh", "target_2050_kwh",
		"rolling_12m_kwh", "trajectory_kwh", "on_track", "gap_pct"}
	traj := dashSection{Name: "trajectory", Heading: l.T("dash.tertiary.traj"), Caption: l.T("dash.tertiary.traj.caption"),
		Head:    []string{l.T("dash.col.building"), l.T("dash.col.yearend"), l.T("dash.col.trajectory")},
		CSVHead: []string{"site", "year", "trajectory_kwh"}}
	var charts []dashSection
	for i, row := range d.Rows {
		on := l.T("dash.tertiary.ontrack")
		if !row.OnTrack {
			on = l.T("dash.tertiary.offtrack")
		}
		table.Rows = append(table.Rows, dashRow{Cells: []dashCell{
			headCell(row.Site, row.Site), {Text: strconv.Itoa(row.ReferenceYear), CSV: strconv.Itoa(row.ReferenceYear), Class: "num"},
			l.numCell(row.ReferenceKWh, 1), l.numCell(row.Target2030KWh, 1), l.numCell(row.Target2040KWh, 1), l.numCell(row.Target2050KWh, 1),
			l.numCell(row.Rolling12KWh, 1), l.numCell(row.TrajectoryKWh, 1),
			{Text: on, CSV: strconv.FormatBool(row.OnTrack)}, l.pctCell(row.GapPct)}})
		var tp []chartPoint
		for _, pt := range row.Trajectory {
			end := time.Date(pt.Year+1, 1, 1, 0, 0, 0, 0, loc)
			tp = append(tp, chartPoint{T: end, V: pt.KWh})
			traj.Rows = append(traj.Rows, dashRow{Cells: []dashCell{headCell(row.Site, row.Site),
				{Text: strconv.Itoa(pt.Year), CSV: strconv.Itoa(pt.Year), Class: "num"}, l.numCell(pt.KWh, 1)}})
		}
		if len(tp) == 0 {
			continue
		}
		name := "building-" + strconv.Itoa(i+1)
		sec := dashSection{Name: name, Heading: l.T("dash.tertiary.chart", row.Site), Caption: l.T("dash.tertiary.chart.caption", row.Site),
			Head:    []string{l.T("dash.col.indicator"), l.T("dash.col.kwh")},
			CSVHead: []string{"indicator", "kwh"},
			Rows: []dashRow{
				{Cells: []dashCell{headCell(l.T("dash.col.refkwh"), "reference_kwh"), l.numCell(row.ReferenceKWh, 1)}},
				{Cells: []dashCell{headCell(l.T("dash.col.rolling"), "rolling_12m_kwh"), l.numCell(row.Rolling12KWh, 1)}},
				{Cells: []dashCell{headCell(l.T("dash.col.trajectory"), "trajectory_kwh"), l.numCell(row.TrajectoryKWh, 1)}},
				{Cells: []dashCell{headCell(l.T("dash.col.t2030"), "target_2030_kwh"), l.numCell(row.Target2030KWh, 1)}},
				{Cells: []dashCell{headCell(l.T("dash.col.t2040"), "target_2040_kwh"), l.numCell(row.Target2040KWh, 1)}},
				{Cells: []dashCell{headCell(l.T("dash.col.t2050"), "target_2050_kwh"), l.numCell(row.Target2050KWh, 1)}},
			}}
		sec.Chart = l.dashChart(dashChartData{ID: "chart-" + name, Title: l.T("dash.tertiary.chart", row.Site), Unit: "kWh",
			From: time.Date(row.ReferenceYear, 1, 1, 0, 0, 0, 0, loc), To: time.Date(2051, 1, 1, 0, 0, 0, 0, loc), ZeroBased: true,
			Series: []dashSeries{
				{Label: l.T("dash.col.trajectory"), Points: tp, Dashed: true},
				{Label: l.T("dash.tertiary.rolling.at", l.Date(row.AsOf)), Points: []chartPoint{{T: row.AsOf, V: row.Rolling12KWh}}, NoLine: true},
			}}, loc)
		charts = append(charts, sec)
	}
	v.Sections = append([]dashSection{table}, charts...)
	v.Sections = append(v.Sections, traj)
	l.csvLinks(&v, DashTertiaryPath, d.DashCommon)
	return DashPage{view: v, title: v.Title + " – " + l.T("site.title")}
}
