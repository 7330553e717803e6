package web

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/civisens/civisens/dashboards"
)

// The public dashboards (air, parking: open sensors only) and the street
// lighting one.

// AirData is the air quality dashboard's figures.
type AirData struct {
	DashCommon
	// Hourly are the hourly means of the open air sensors over the range.
	Hourly []dashboards.AirSeries
	// Days are the town's daily statistics and local ATMO index.
	Days        []dashboards.AirDay
	Exceedances []dashboards.Exceedance
	// AASQAURL is the regional AASQA's page of the official index.
	AASQAURL string
}

var pollutantNames = map[dashboards.Pollutant]string{
	dashboards.PM25: "PM2,5", dashboards.PM10: "PM10", dashboards.NO2: "NO₂", dashboards.O3: "O₃", dashboards.SO2: "SO₂",
}

func (l localizer) pollutant(p dashboards.Pollutant) string {
	n, ok := pollutantNames[p]
	if !ok {
		return string(p)
	}
	if l.lang == LangEN {
		n = strings.ReplaceAll(n, ",", ".")
	}
	return n
}

// AirDashboard builds the air quality dashboard.
func (p *Pages) AirDashboard(r Request, d AirData) DashPage {
	l := p.localizer(r.Lang)
	loc := p.loc
	v := l.dashBase(DashAirPath, "dash.air.title", "dash.air.intro", d.DashCommon, loc)
	if d.Unavailable {
		return DashPage{view: v, title: v.Title + " – " + l.T("site.title")}
	}
	v.Notes = []dashNote{{Text: dashboards.LocalAtmoNotice(l.lang, ""), LinkText: l.T("dash.air.official"), LinkURL: d.AASQAURL}}

	atmo := dashSection{Name: "atmo", Heading: l.T("dash.air.atmo"), Intro: l.T("dash.air.atmo.intro"),
		Caption: l.T("dash.air.atmo.caption"), Empty: l.T("dash.air.atmo.none"),
		Head:    []string{l.T("dash.col.day"), l.T("dash.air.level"), l.T("dash.air.responsible")},
		CSVHead: []string{"day", "level", "level_label_fr", "responsible"}}
	for _, pol := range dashboards.Pollutants {
		atmo.Head = append(atmo.Head, l.T("dash.air.sub", l.pollutant(pol)))
		atmo.CSVHead = append(atmo.CSVHead, string(pol)+"_level")
	}
	for _, day := range d.Days {
		var resp, respCSV []string
		for _, p := range day.Responsible {
			resp = append(resp, l.pollutant(p))
			respCSV = append(respCSV, string(p))
		}
		row := dashRow{Cells: []dashCell{l.dayCell(day.Date),
			{Text: day.Atmo.Label(l.lang), CSV: strconv.Itoa(int(day.Atmo)), CSVMore: []string{day.Atmo.Label(LangFR)}, Class: "atmo atmo-" + strconv.Itoa(int(day.Atmo))},
			{Text: strings.Join(resp, ", "), CSV: strings.Join(respCSV, " ")}}}
		for _, pol := range dashboards.Pollutants {
			if sub, ok := day.SubIndex[pol]; ok {
				row.Cells = append(row.Cells, dashCell{Text: sub.Label(l.lang), CSV: strconv.Itoa(int(sub)), Class: "atmo atmo-" + strconv.Itoa(int(sub))})
			} else {
				row.Cells = append(row.Cells, emptyCell())
			}
		}
		atmo.Rows = append(atmo.Rows, row)
	}

	sections := []dashSection{atmo}
	// Hourly series per pollutant: one chart, one line per sensor.
	for _, pol := range dashboards.Pollutants {
		var series []dashboards.AirSeries
		for _, s := range d.Hourly {
			if s.Pollutant == pol && len(s.Points) > 0 {
				series = append(series, s)
			}
		}
		if len(series) == 0 {
			continue
		}
		name := "hourly-" + string(pol)
		title := l.T("dash.air.hourly", l.pollutant(pol))
		sec := dashSection{Name: name, Heading: title, Caption: l.T("dash.air.hourly.caption", l.pollutant(pol)),
			Head: []string{l.T("dash.col.time")}, CSVHead: []string{"time"}}
		values := map[int64][]float64{}
		times := map[int64]time.Time{}
		var cs []dashSeries
		for j, s := range series {
			sec.Head = append(sec.Head, s.Sensor+" (µg/m³)")
			sec.CSVHead = append(sec.CSVHead, s.Sensor)
			var pts []chartPoint
			for _, pt := range s.Points {
				k := pt.Time.Unix()
				if values[k] == nil {
					values[k] = make([]float64, len(series))
					for m := range values[k] {
						values[k][m] = math.NaN()
					}
				}
				values[k][j] = pt.Value
				times[k] = pt.Time
				pts = append(pts, chartPoint{T: pt.Time, V: pt.Value})
			}
			cs = append(cs, dashSeries{Label: s.Sensor, Points: pts, Square: j%2 == 1})
		}
		keys := make([]int64, 0, len(times))
		for k := range times {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			row := dashRow{Cells: []dashCell{l.timeCell(times[k], loc)}}
			for _, val := range values[k] {
				if math.IsNaN(val) {
					row.Cells = append(row.Cells, emptyCell())
				} else {
					row.Cells = append(row.Cells, l.numCell(val, 1))
				}
			}
			sec.Rows = append(sec.Rows, row)
		}
		sec.Chart = l.dashChart(dashChartData{ID: "chart-" + name, Title: title, Unit: "µg/m³",
			From: d.Range.From, To: d.Range.To, Step: time.Hour, Series: cs, ZeroBased: true}, loc)
		sections = append(sections, sec)
	}

	who := dashSection{Name: "who", Heading: l.T("dash.air.who"), Intro: l.T("dash.air.who.intro"),
		Caption: l.T("dash.air.who.caption"), Empty: l.T("dash.air.who.none"),
		Head:    []string{l.T("dash.col.from"), l.T("dash.col.to"), l.T("dash.air.pollutant"), l.T("dash.air.statistic"), l.T("dash.air.value"), l.T("dash.air.guideline"), l.T("dash.air.days")},
		CSVHead: []string{"from", "to", "pollutant", "statistic", "value_ugm3", "guideline_ugm3", "days"}}
	for _, e := range d.Exceedances {
		who.Rows = append(who.Rows, dashRow{Cells: []dashCell{l.dayCell(e.From), {Text: l.Date(e.To.AddDate(0, 0, -1)), CSV: e.To.AddDate(0, 0, -1).Format(time.DateOnly)},
			{Text: l.pollutant(e.Pollutant), CSV: string(e.Pollutant)}, {Text: l.T("dash.stat." + statKey(e.Statistic)), CSV: string(e.Statistic)},
			l.numCell(e.Value, 1), l.numCell(e.Level, 0), {Text: strconv.Itoa(e.Days), CSV: strconv.Itoa(e.Days), Class: "num"}}})
	}
	sections = append(sections, who)
	v.Sections = sections
	l.csvLinks(&v, DashAirPath, d.DashCommon)
	return DashPage{view: v, title: v.Title + " – " + l.T("site.title")}
}

func statKey(s dashboards.Statistic) string {
	switch s {
	case dashboards.Mean24h:
		return "24h"
	case dashboards.Max8h:
		return "8h"
	case dashboards.AnnualMean:
		return "annual"
	case dashboards.PeakSeason:
		return "peak"
	}
	return "other"
}

// ParkingData is the parking dashboard's figures.
type ParkingData struct {
	DashCommon
	Zones     []dashboards.ParkingZone
	Overstays []dashboards.Stay
	MaxStay   time.Duration
}

// ParkingDashboard builds the parking dashboard: per zone, a table
// heatmap of occupancy by weekday and hour (numbers, and shades for a
// glance), turnover and mean stay, and the overstays.
func (p *Pages) ParkingDashboard(r Request, d ParkingData) DashPage {
	l := p.localizer(r.Lang)
	loc := p.loc
	v := l.dashBase(DashParkingPath, "dash.parking.title", "dash.parking.intro", d.DashCommon, loc,
		dashField{Name: "max_stay", Label: l.T("dash.parking.maxstay"), Type: "number", Value: strconv.Itoa(int(d.MaxStay.Minutes()))})
	if d.Unavailable {
		return DashPage{view: v, title: v.Title + " – " + l.T("site.title")}
	}
	zones := dashSection{Name: "zones", Heading: l.T("dash.parking.zones"), Caption: l.T("dash.parking.zones.caption"),
		Empty:   l.T("dash.nodata"),
		Head:    []string{l.T("dash.parking.zone"), l.T("dash.parking.bays"), l.T("dash.parking.sessions"), l.T("dash.parking.turnover"), l.T("dash.parking.meanstay")},
		CSVHead: []string{"zone", "bays", "sessions", "turnover_per_bay_day", "mean_stay_minutes"}}
	var heat []dashSection
	weekdays := strings.Split(l.T("dash.weekdays"), ",")
	for i, z := range d.Zones {
		name := z.Zone
		if name == "" {
			name = l.T("dash.parking.nozone")
		}
		zones.Rows = append(zones.Rows, dashRow{Cells: []dashCell{headCell(name, z.Zone),
			{Text: strconv.Itoa(z.Bays), CSV: strconv.Itoa(z.Bays), Class: "num"}, l.numCell(z.Sessions, 0), l.numCell(z.Turnover, 2),
			l.numCell(z.MeanStay.Minutes(), 0)}})
		sec := dashSection{Name: "occupancy-" + strconv.Itoa(i+1), Heading: l.T("dash.parking.heat", name),
			Intro: l.T("dash.parking.heat.intro"), Caption: l.T("dash.parking.heat.caption", name),
			Head: []string{l.T("dash.col.weekday")}, CSVHead: []string{"weekday"}}
		for h := range 24 {
			sec.Head = append(sec.Head, strconv.Itoa(h)+"\u00a0h")
			sec.CSVHead = append(sec.CSVHead, strconv.Itoa(h))
		}
		for _, wd := range []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday} {
			label := wd.String()
			if len(weekdays) == 7 {
				label = weekdays[wd]
			}
			row := dashRow{Cells: []dashCell{headCell(label, strings.ToLower(wd.String()))}}
			for h := range 24 {
				c := z.ByHour[wd][h]
				if c.Hours == 0 {
					row.Cells = append(row.Cells, emptyCell())
					continue
				}
				pct := c.Mean * 100
				cell := l.numCell(pct, 0)
				cell.CSV = strconv.FormatFloat(roundTo(pct, 1), 'f', -1, 64)
				cell.Class = "num heat heat-" + strconv.Itoa(min(4, int(c.Mean*5)))
				row.Cells = append(row.Cells, cell)
			}
			sec.Rows = append(sec.Rows, row)
		}
		heat = append(heat, sec)
	}
	over := dashSection{Name: "overstays", Heading: l.T("dash.parking.over"), Intro: l.T("dash.parking.over.intro", int(d.MaxStay.Minutes())),
		Caption: l.T("dash.parking.over.caption"), Empty: l.T("dash.parking.over.none"),
		Head:    []string{l.T("dash.parking.sensor"), l.T("dash.parking.zone"), l.T("dash.col.from"), l.T("dash.col.to"), l.T("dash.parking.minutes")},
		CSVHead: []string{"sensor", "zone", "start", "end", "minutes", "ongoing"}}
	for _, s := range d.Overstays {
		end := l.timeCell(s.End, loc)
		end.Header = false
		if s.Ongoing {
			end.Text = l.T("dash.parking.ongoing")
		}
		over.Rows = append(over.Rows, dashRow{Cells: []dashCell{headCell(s.Sensor, s.Sensor), textCell(s.Zone), func() dashCell {
			c := l.timeCell(s.Start, loc)
			c.Header = false
			return c
		}(), end, l.numCell(s.Duration().Minutes(), 0), {CSV: strconv.FormatBool(s.Ongoing)}}})
	}
	over.Head = append(over.Head, l.T("dash.parking.ongoingcol"))
	for i := range over.Rows {
		c := &over.Rows[i].Cells[5]
		c.Text = l.T("dash.no")
		if c.CSV == "true" {
			c.Text = l.T("dash.yes")
		}
	}
	v.Sections = append(append([]dashSection{zones}, heat...), over)
	l.csvLinks(&v, DashParkingPath, d.DashCommon)
	return DashPage{view: v, title: v.Title + " – " + l.T("site.title")}
}

// LightingData is the street lighting dashboard's figures.
type LightingData struct {
	DashCommon
	Report dashboards.LightingReport
	Drifts []dashboards.PowerDrift
	// Lat and Lon are the town's coordinates the sun was computed for.
	Lat, Lon float64
}

// LightingDashboard builds the street lighting dashboard.
func (p *Pages) LightingDashboard(r Request, d LightingData) DashPage {
	l := p.localizer(r.Lang)
	loc := p.loc
	v := l.dashBase(DashLightingPath, "dash.lighting.title", "dash.lighting.intro", d.DashCommon, loc)
	if d.Unavailable {
		return DashPage{view: v, title: v.Title + " – " + l.T("site.title")}
	}
	v.Notes = []dashNote{{Text: l.T("dash.lighting.sun", l.Coordinate(d.Lat), l.Coordinate(d.Lon))}}
	circ := dashSection{Name: "circuits", Heading: l.T("dash.lighting.circuits"), Caption: l.T("dash.lighting.circuits.caption"),
		Empty: l.T("dash.nodata"),
		Head: []string{l.T("dash.lighting.cabinet"), l.T("dash.lighting.lamps"), l.T("dash.lighting.hours"), l.T("dash.col.kwh"),
			l.T("dash.lighting.full"), l.T("dash.lighting.savings")},
		CSVHead: []string{"cabinet", "lamps", "burning_hours", "energy_kwh", "full_power_kwh", "savings_kwh"}}
	var total float64
	for _, c := range d.Report.Circuits {
		name := c.Cabinet
		if name == "" {
			name = l.T("dash.lighting.nocabinet")
		}
		total += c.EnergyWh / 1000
		circ.Rows = append(circ.Rows, dashRow{Cells: []dashCell{headCell(name, c.Cabinet),
			{Text: strconv.Itoa(c.Lamps), CSV: strconv.Itoa(c.Lamps), Class: "num"}, l.numCell(c.BurningHours, 2),
			l.numCell(c.EnergyWh/1000, 3), l.numCell(c.FullPowerWh/1000, 3), l.numCell(c.SavingsWh/1000, 3)}})
	}
	v.Facts = []dashFact{{l.T("dash.lighting.fact.energy"), l.number(total, 1) + "\u00a0kWh"},
		{l.T("dash.lighting.fact.faults"), strconv.Itoa(len(d.Report.Faults))}}
	faults := dashSection{Name: "faults", Heading: l.T("dash.lighting.faults"), Intro: l.T("dash.lighting.faults.intro"),
		Caption: l.T("dash.lighting.faults.caption"), Empty: l.T("dash.lighting.faults.none"),
		Head:    []string{l.T("dash.parking.sensor"), l.T("dash.lighting.cabinet"), l.T("dash.lighting.kind"), l.T("dash.col.from"), l.T("dash.col.to")},
		CSVHead: []string{"sensor", "cabinet", "kind", "from", "to"}}
	for _, f := range d.Report.Faults {
		from, to := l.timeCell(f.From, loc), l.timeCell(f.To, loc)
		from.Header, to.Header = false, false
		faults.Rows = append(faults.Rows, dashRow{Cells: []dashCell{headCell(f.Sensor, f.Sensor), textCell(f.Cabinet),
			{Text: l.T("dash.fault." + string(f.Kind)), CSV: string(f.Kind)}, from, to}})
	}
	drift := dashSection{Name: "drift", Heading: l.T("dash.lighting.drift"), Intro: l.T("dash.lighting.drift.intro", l.Date(d.Range.To.AddDate(0, 0, -1))),
		Caption: l.T("dash.lighting.drift.caption"), Empty: l.T("dash.nodata"),
		Head:    []string{l.T("dash.lighting.cabinet"), l.T("dash.lighting.recent"), l.T("dash.lighting.baseline"), l.T("dash.col.drift"), l.T("dash.lighting.drifted")},
		CSVHead: []string{"cabinet", "recent_w", "baseline_w", "change_pct", "drifted"}}
	for _, dr := range d.Drifts {
		w := l.T("dash.no")
		if dr.Drifted {
			w = l.T("dash.yes")
		}
		drift.Rows = append(drift.Rows, dashRow{Cells: []dashCell{headCell(dr.Cabinet, dr.Cabinet), l.numCell(dr.RecentW, 1), l.numCell(dr.BaselineW, 1),
			l.pctCell(dr.Change * 100), {Text: w, CSV: strconv.FormatBool(dr.Drifted)}}})
	}
	v.Sections = []dashSection{circ, faults, drift}
	l.csvLinks(&v, DashLightingPath, d.DashCommon)
	return DashPage{view: v, title: v.Title + " – " + l.T("site.title")}
}
