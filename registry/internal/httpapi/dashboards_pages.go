package httpapi

// The dashboards (issue 7) under /dashboards: the index (public), air
// quality and parking (public, open-data sensors only), and the energy
// managers' energy, décret tertiaire and street lighting dashboards
// (energy_manager or administrator). Each reads InfluxDB through package
// dashboards — the gateway's aggregates — once per request, within
// DashboardDeps.Timeout; package web lays the figures out. Every
// dashboard takes from and to (YYYY-MM-DD, both included); each chart's
// numbers are downloadable with ?format=csv&chart=<name>. Bad parameters
// give the page with a notice, never an error status; an InfluxDB failure
// gives the page saying the readings are unavailable.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/civisens/civisens/dashboards"
	"github.com/civisens/civisens/registry/internal/auth"
	"github.com/civisens/civisens/registry/internal/web"
	"github.com/civisens/civisens/registry/registryapi"
)

// DashboardReadings is what the dashboards read of InfluxDB;
// *dashboards.Reader has it. When Deps.Readings lacks it, the dashboards
// say that the readings are unavailable.
type DashboardReadings interface {
	EnergySeries(ctx context.Context, agg dashboards.Aggregates, sensors []registryapi.Sensor, site string, from, to time.Time) ([]dashboards.Point, error)
	EnergyTotals(ctx context.Context, agg dashboards.Aggregates, sensors []registryapi.Sensor, from, to time.Time) (map[string]float64, error)
	EnergyStats(ctx context.Context, agg dashboards.Aggregates, sensors []registryapi.Sensor, from, to time.Time) (map[string]dashboards.EnergyTotal, error)
	Temperatures(ctx context.Context, agg dashboards.Aggregates, sensor registryapi.Sensor, quantity string, from, to time.Time) ([]dashboards.TemperatureHour, error)
	AirHourly(ctx context.Context, retention string, from, to time.Time) ([]dashboards.AirSeries, error)
	ParkingOf(ctx context.Context, retention string, from, to time.Time, loc *time.Location, keep func(string) bool) ([]dashboards.ParkingZone, error)
	Overstays(ctx context.Context, retention string, from, to time.Time, maxStay time.Duration) ([]dashboards.Stay, error)
	Lighting(ctx context.Context, retention string, from, to time.Time, opts dashboards.LightingOptions) (dashboards.LightingReport, error)
	LightingDrift(ctx context.Context, retention string, at time.Time, opts dashboards.LightingOptions) ([]dashboards.PowerDrift, error)
}

// DashboardDeps configures the dashboards. Its zero value means the
// defaults.
type DashboardDeps struct {
	// TemperatureSensor is the id of the sensor whose hourly temperature
	// aggregates give the degree days of the energy dashboard's weather
	// correction; empty: the published air sensors with a "temperature"
	// quantity, by id, the first that has aggregates in the period.
	TemperatureSensor string
	// AASQAURL is the page of the regional AASQA's official air quality
	// index, linked from the air dashboard; default DefaultAASQAURL.
	AASQAURL string
	// Timeout bounds the InfluxDB queries of one dashboard; default 10 s.
	Timeout time.Duration
	// RankingCacheTTL is how long the energy dashboard keeps the
	// buildings' ranking totals of a day (twelve months of every
	// building, the same for every view of the day: most of what the
	// page asks of InfluxDB): default 5 minutes; negative: no cache.
	// Aggregates repaired by the gateway show in the ranking that much
	// later; a change of the register's meters shows at once.
	RankingCacheTTL time.Duration
	// SettledAfter is how long after a local day ends its energy
	// aggregates are settled: read once and kept (see
	// dashboards_settled.go), each page reading only the days since.
	// Default 8 days: the gateway's -max-past (7 days by default, beyond
	// which it takes no reading and repairs no aggregate) and a day; set
	// it above a -max-past raised. Negative: nothing kept.
	SettledAfter time.Duration
}

// DefaultAASQAURL is Atmo France's site, which leads to every region's
// AASQA.
const DefaultAASQAURL = "https://www.atmo-france.org/"

// Tags of the energy meters' entries that hold the décret tertiaire
// reference, until the register has fields for it: the reference year
// (2010 to 2029) and, optionally, its consumption in kWh (otherwise
// computed from that year's aggregates).
const (
	TertiaryReferenceYearTag = "tertiary_reference_year"
	TertiaryReferenceKWhTag  = "tertiary_reference_kwh"
)

// Default ranges, in days up to yesterday.
const (
	dashDefaultDays       = 30
	dashPublicDefaultDays = 7
	defaultMaxStay        = 2 * time.Hour
)

type dashState struct {
	deps    DashboardDeps
	loc     *time.Location
	ranking *rankingCache
	settled *settledCache
}

func newDashState(d Deps) dashState {
	s := dashState{deps: d.Dashboards, loc: d.Location}
	if s.deps.RankingCacheTTL == 0 {
		s.deps.RankingCacheTTL = 5 * time.Minute
	}
	s.ranking = &rankingCache{ttl: s.deps.RankingCacheTTL, now: time.Now, entries: map[string]rankingEntry{}}
	if s.deps.SettledAfter == 0 {
		s.deps.SettledAfter = defaultSettledAfter
	}
	s.settled = newSettledCache(s.deps.SettledAfter)
	if s.loc == nil {
		s.loc = time.UTC
	}
	if s.deps.AASQAURL == "" {
		s.deps.AASQAURL = DefaultAASQAURL
	}
	if s.deps.Timeout <= 0 {
		s.deps.Timeout = 10 * time.Second
	}
	return s
}

var energyRoles = []auth.Role{auth.RoleEnergyManager, auth.RoleAdministrator}

func (h *handler) dashboardRoutes(e *gin.Engine) {
	energy := h.require(energyRoles...)
	e.GET(web.DashboardsPath, h.pageDashboards)
	e.GET(web.DashAirPath, h.pageDashAir)
	e.GET(web.DashParkingPath, h.pageDashParking)
	e.GET(web.DashEnergyPath, energy, h.pageDashEnergy)
	e.GET(web.DashTertiaryPath, energy, h.pageDashTertiary)
	e.GET(web.DashLightingPath, energy, h.pageDashLighting)
}

func (h *handler) pageDashboards(c *gin.Context) {
	r := request(c)
	p, ok := principal(c)
	var buf bytes.Buffer
	if err := h.pages.DashboardsIndex(&buf, r, ok && p.Is(energyRoles...)); err != nil {
		h.fail(c, err)
		return
	}
	writePage(c, http.StatusOK, r, buf.Bytes())
}

// dashReader returns the InfluxDB reader of the dashboards, nil without.
func (h *handler) dashReader() DashboardReadings {
	dr, _ := h.readings.(DashboardReadings)
	return dr
}

// dashCommon reads the range of a dashboard.
func (h *handler) dashCommon(c *gin.Context, defaultDays int) web.DashCommon {
	now := h.reports.now()
	rg, notice := web.ParseDashRange(strings.TrimSpace(c.Query("from")), strings.TrimSpace(c.Query("to")), now, h.dash.loc, defaultDays)
	d := web.DashCommon{Range: rg, Now: now, Keep: url.Values{}}
	if notice != "" {
		d.Notices = append(d.Notices, notice)
	}
	return d
}

// dashFailed logs a failed read (once a minute at most) and marks the
// page unavailable.
func (h *handler) dashFailed(d *web.DashCommon, what string, err error) {
	if ok, suppressed := h.readingsErrors.allow(time.Now()); ok {
		h.log.Warn("dashboard readings unavailable", "dashboard", what, "err", err, "suppressed", suppressed)
	}
	d.Unavailable = true
}

// serveDash answers a dashboard: the CSV of a chart for format=csv and a
// known chart, the page otherwise (with a notice for an unknown chart).
func (h *handler) serveDash(c *gin.Context, r web.Request, name string, d web.DashCommon, page web.DashPage) {
	if c.Query("format") == "csv" {
		chart := c.Query("chart")
		if page.HasChart(chart) {
			var buf bytes.Buffer
			if err := h.pages.DashboardCSV(&buf, page, chart); err != nil {
				h.fail(c, err)
				return
			}
			writeDashCSV(c, fmt.Sprintf("%s-%s-%s-%s.csv", name, chart, d.Range.From.Format(time.DateOnly), d.Range.To.AddDate(0, 0, -1).Format(time.DateOnly)), buf.Bytes())
			return
		}
		h.pages.DashNotice(r, &page, "dash.err.chart")
	}
	var buf bytes.Buffer
	if err := h.pages.Dashboard(&buf, r, page); err != nil {
		h.fail(c, err)
		return
	}
	writePage(c, http.StatusOK, r, buf.Bytes())
}

func writeDashCSV(c *gin.Context, filename string, body []byte) {
	c.Header("Content-Disposition", `attachment; filename="`+filename+`"`)
	c.Header("Cache-Control", "no-cache")
	if _, staff := principal(c); staff {
		c.Header("Cache-Control", "private, no-store")
	}
	c.Data(http.StatusOK, "text/csv; charset=utf-8", body)
}

// openSensors returns the published sensors of category whose data are
// open, and the set of their ids.
func (h *handler) openSensors(ctx context.Context, category string) ([]registryapi.Sensor, map[string]bool, error) {
	all, err := h.published(ctx)
	if err != nil {
		return nil, nil, err
	}
	var out []registryapi.Sensor
	ids := map[string]bool{}
	for _, s := range all {
		if s.Category == category && s.OpenData {
			out = append(out, s)
			ids[s.ID] = true
		}
	}
	return out, ids, nil
}

func (h *handler) pageDashAir(c *gin.Context) {
	r := request(c)
	d := web.AirData{DashCommon: h.dashCommon(c, dashPublicDefaultDays), AASQAURL: h.dash.deps.AASQAURL}
	rd := h.dashReader()
	_, open, err := h.openSensors(c.Request.Context(), registryapi.CategoryAir)
	if err != nil {
		h.fail(c, err)
		return
	}
	if rd == nil {
		d.Unavailable = true
	} else {
		ctx, cancel := context.WithTimeout(c.Request.Context(), h.dash.deps.Timeout)
		defer cancel()
		rg := d.Range
		// From 7 hours before, for the 8-hour means of ozone.
		series, err := rd.AirHourly(ctx, dashboards.AggregateRetention, rg.From.Add(-7*time.Hour), rg.To)
		if err != nil {
			h.dashFailed(&d.DashCommon, "air", err)
		} else {
			series = slices.DeleteFunc(series, func(s dashboards.AirSeries) bool { return !open[s.Sensor] })
			days := dashboards.DailyAir(series, h.dash.loc)
			d.Days = slices.DeleteFunc(days, func(a dashboards.AirDay) bool { return a.Date.Before(rg.From) || !a.Date.Before(rg.To) })
			d.Exceedances = dashboards.WHOExceedances(d.Days)
			for _, s := range series {
				s.Points = dashboards.Between(s.Points, rg.From, rg.To)
				d.Hourly = append(d.Hourly, s)
			}
		}
	}
	h.serveDash(c, r, "air", d.DashCommon, h.pages.AirDashboard(r, d))
}

func (h *handler) pageDashParking(c *gin.Context) {
	r := request(c)
	d := web.ParkingData{DashCommon: h.dashCommon(c, dashPublicDefaultDays), MaxStay: defaultMaxStay}
	if s := strings.TrimSpace(c.Query("max_stay")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 7*24*60 {
			d.Notices = append(d.Notices, "dash.err.maxstay")
		} else {
			d.MaxStay = time.Duration(n) * time.Minute
			d.Keep.Set("max_stay", s)
		}
	}
	sensors, open, err := h.openSensors(c.Request.Context(), registryapi.CategoryParking)
	if err != nil {
		h.fail(c, err)
		return
	}
	rd := h.dashReader()
	if rd == nil {
		d.Unavailable = true
	} else {
		ctx, cancel := context.WithTimeout(c.Request.Context(), h.dash.deps.Timeout)
		defer cancel()
		rg := d.Range
		zones, err := rd.ParkingOf(ctx, dashboards.AggregateRetention, rg.From, rg.To, h.dash.loc, func(id string) bool { return open[id] })
		if err != nil {
			h.dashFailed(&d.DashCommon, "parking", err)
		}
		d.Zones = zones
		// Overstays from the raw readings, kept where each entry's
		// retention says.
		retentions := map[string]bool{}
		for _, s := range sensors {
			retentions[s.Retention] = true
		}
		for _, ret := range slices.Sorted(maps.Keys(retentions)) {
			if d.Unavailable {
				break
			}
			stays, err := rd.Overstays(ctx, ret, rg.From, rg.To, d.MaxStay)
			if err != nil {
				h.dashFailed(&d.DashCommon, "parking", err)
				break
			}
			for _, s := range stays {
				if open[s.Sensor] {
					d.Overstays = append(d.Overstays, s)
				}
			}
		}
		slices.SortFunc(d.Overstays, func(a, b dashboards.Stay) int { return a.Start.Compare(b.Start) })
	}
	h.serveDash(c, r, "parking", d.DashCommon, h.pages.ParkingDashboard(r, d))
}

func (h *handler) pageDashLighting(c *gin.Context) {
	r := request(c)
	d := web.LightingData{DashCommon: h.dashCommon(c, dashPublicDefaultDays)}
	all, err := h.published(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	opts := dashboards.LightingOptions{Location: h.dash.loc, MaxPowerW: map[string]float64{}}
	var n int
	for _, s := range all {
		if s.Category != registryapi.CategoryLighting {
			continue
		}
		opts.Lat += s.Location.Lat
		opts.Lon += s.Location.Lon
		n++
		for _, q := range s.Quantities {
			if q.Name == "power" && q.Max != nil {
				opts.MaxPowerW[s.ID] = *q.Max
			}
		}
	}
	if n > 0 {
		opts.Lat, opts.Lon = opts.Lat/float64(n), opts.Lon/float64(n)
	}
	d.Lat, d.Lon = opts.Lat, opts.Lon
	rd := h.dashReader()
	if rd == nil {
		d.Unavailable = true
	} else {
		ctx, cancel := context.WithTimeout(c.Request.Context(), h.dash.deps.Timeout)
		defer cancel()
		rep, err := rd.Lighting(ctx, dashboards.AggregateRetention, d.Range.From, d.Range.To, opts)
		if err != nil {
			h.dashFailed(&d.DashCommon, "lighting", err)
		}
		d.Report = rep
		if !d.Unavailable {
			if d.Drifts, err = rd.LightingDrift(ctx, dashboards.AggregateRetention, d.Range.To, opts); err != nil {
				h.dashFailed(&d.DashCommon, "lighting", err)
			}
		}
	}
	h.serveDash(c, r, "lighting", d.DashCommon, h.pages.LightingDashboard(r, d))
}

// energyMeters returns the buildings' main meters among the published
// entries, their sites in order, their floor areas, and all the entries.
func (h *handler) energyMeters(ctx context.Context) (meters []registryapi.Sensor, sites []string, areas map[string]float64, all []registryapi.Sensor, err error) {
	all, err = h.published(ctx)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	meters = dashboards.MainMeters(all)
	for _, m := range meters {
		if !slices.Contains(sites, m.Site) {
			sites = append(sites, m.Site)
		}
	}
	slices.Sort(sites)
	if areas, err = dashboards.FloorAreas(meters); err != nil {
		h.log.Warn("floor areas", "err", err)
		areas, err = map[string]float64{}, nil
	}
	return meters, sites, areas, all, nil
}

// temperatureSensors are the candidate sensors of the degree days: the
// configured one, or the published air sensors with a temperature
// quantity, by id (the first with data is used).
func (h *handler) temperatureSensors(all []registryapi.Sensor) []registryapi.Sensor {
	hasTemp := func(s registryapi.Sensor) bool {
		return slices.ContainsFunc(s.Quantities, func(q registryapi.Quantity) bool { return q.Name == "temperature" })
	}
	var out []registryapi.Sensor
	for _, s := range all {
		switch {
		case h.dash.deps.TemperatureSensor != "":
			if s.ID == h.dash.deps.TemperatureSensor && hasTemp(s) {
				return []registryapi.Sensor{s}
			}
		case s.Category == registryapi.CategoryAir && hasTemp(s):
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b registryapi.Sensor) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func (h *handler) pageDashEnergy(c *gin.Context) {
	r := request(c)
	loc := h.dash.loc
	d := web.EnergyData{DashCommon: h.dashCommon(c, dashDefaultDays)}
	meters, sites, areas, all, err := h.energyMeters(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	d.Sites, d.Areas = sites, areas
	if site := c.Query("site"); site != "" {
		if slices.Contains(sites, site) {
			d.Site = site
			d.Keep.Set("site", site)
		} else {
			d.Notices = append(d.Notices, "dash.err.site")
		}
	}
	step, ok := web.ParseStep(c.Query("step"))
	if !ok {
		d.Notices = append(d.Notices, "dash.err.step")
	} else if s := c.Query("step"); s != "" {
		d.Keep.Set("step", s)
	}
	d.Step = step
	rg := d.Range
	day := rg.To.AddDate(0, 0, -1)
	if s := strings.TrimSpace(c.Query("day")); s != "" {
		t, err := time.ParseInLocation(time.DateOnly, s, loc)
		if err != nil || t.Year() < 2000 || t.After(d.Now.AddDate(1, 0, 0)) {
			d.Notices = append(d.Notices, "dash.err.day")
		} else {
			day = t
		}
	}
	d.LoadCurve.Day = day
	rd := h.dashReader()
	if rd != nil {
		rd = h.dash.settled.reader(rd, d.Now)
	}
	if rd == nil {
		d.Unavailable = true
		h.serveDash(c, r, "energy", d.DashCommon, h.pages.EnergyDashboard(r, d))
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), h.dash.deps.Timeout)
	defer cancel()
	asOf := rg.To
	// Hours where the page shows hours: the period (from the start of its
	// first step) with the four weeks before (typical days, alerts), the
	// load curve's day with its four weeks, and the same period a year
	// before (the comparison) — of the building shown only, or of the
	// estate summed hour by hour as it is read; totals summed by InfluxDB
	// for the rest: the buildings' consumption over the period, the sites
	// with data in those hours, and the rankings' totals (12 months, 30
	// days and their year-ago twin). The reads are independent and run at
	// once; a year of every building's hours would be the page's whole
	// cost.
	agg := dashboards.Aggregates{Location: loc}
	nowFrom := minTime(rg.From.AddDate(0, 0, -28), day.AddDate(0, 0, -28), dashboards.PeriodStart(rg.From, step, loc))
	nowTo := maxTime(rg.To, day.AddDate(0, 0, 1))
	beforeFrom, beforeTo := rg.From.AddDate(-1, 0, -28), minTime(rg.To.AddDate(-1, 0, 1), nowFrom)
	var (
		sel, selBefore           []dashboards.Point
		seen, seenBefore, totals map[string]float64
		ranking                  dashboards.SiteHours
		temps                    []dashboards.TemperatureHour
		tempSensor               string
	)
	err = readAll(
		func() (err error) { sel, err = rd.EnergySeries(ctx, agg, meters, d.Site, nowFrom, nowTo); return err },
		func() (err error) {
			if beforeTo.After(beforeFrom) {
				selBefore, err = rd.EnergySeries(ctx, agg, meters, d.Site, beforeFrom, beforeTo)
			}
			return err
		},
		func() (err error) { seen, err = rd.EnergyTotals(ctx, agg, meters, nowFrom, nowTo); return err },
		func() (err error) {
			if beforeTo.After(beforeFrom) {
				seenBefore, err = rd.EnergyTotals(ctx, agg, meters, beforeFrom, beforeTo)
			}
			return err
		},
		func() (err error) {
			ranking, err = h.dash.ranking.get(ctx, rd, agg, meters, asOf, loc)
			return err
		},
		func() (err error) {
			if rr := rankingRange(asOf, loc); !rr.From.Equal(rg.From) || !rr.To.Equal(rg.To) { // the default range is the ranking's 30 days
				totals, err = rd.EnergyTotals(ctx, agg, meters, rg.From, rg.To)
			}
			return err
		},
		func() error {
			temps, tempSensor = h.degreeDayTemperatures(ctx, rd, agg, all, rg.From.AddDate(-1, 0, -28), rg.To, [][2]time.Time{{beforeFrom, beforeTo}, {nowFrom, nowTo}})
			return nil
		},
	)
	if err != nil {
		h.dashFailed(&d.DashCommon, "energy", err)
		h.serveDash(c, r, "energy", d.DashCommon, h.pages.EnergyDashboard(r, d))
		return
	}
	for _, s := range slices.Sorted(maps.Keys(mergeKeys(seen, seenBefore))) {
		if !slices.Contains(d.Sites, s) {
			d.Sites = append(d.Sites, s)
		}
	}
	sel = mergePoints(selBefore, sel)
	// Whole periods from the start (a month asked from the 10th starts on
	// the 1st); the last one ends with the range, marked incomplete.
	d.Consumption = dashboards.Rollup(dashboards.Between(sel, dashboards.PeriodStart(rg.From, step, loc), rg.To), step, loc)
	d.Totals = totals
	if totals == nil {
		d.Totals = map[string]float64{}
		for site, pts := range ranking {
			for _, p := range pts {
				if p.Time.Equal(rg.From) {
					d.Totals[site] += p.Value
				}
			}
		}
	}
	d.LoadCurve = dashboards.LoadCurveOf(sel, day, 4, loc)
	d.Baseline = dashboards.BaselineOf(dashboards.Between(sel, rg.From, rg.To), dashboards.OpeningHours{}, loc)
	dd := dashboards.DegreeDays(temps, loc)
	d.Corrected, d.TemperatureSensor = tempSensor != "", tempSensor
	base, _ := dashboards.NonHeatingBaseline(dashboards.Rollup(sel, dashboards.StepDay, loc), dd)
	d.Comparison = dashboards.CompareWithPreviousYear(sel, dd, rg.From, rg.To, base, loc)
	d.Ranking = dashboards.RankBuildings(ranking, areas, asOf, loc)
	opts := dashboards.EnergyAlertOptions{}
	if d.Corrected {
		opts.DegreeDays, opts.BaseKWhPerDay = dd, base
	}
	d.Alerts = dashboards.ConsumptionAlerts(sel, rg.From, rg.To, loc, opts)
	h.serveDash(c, r, "energy", d.DashCommon, h.pages.EnergyDashboard(r, d))
}

// degreeDayTemperatures returns the hourly temperatures of the degree
// days in the windows, and the sensor they come from: the first candidate
// (see temperatureSensors) with temperatures between from and to. Only
// the hours of the windows, where the page has consumption to correct,
// are read; a sensor with temperatures between from and to but none in
// the windows is still the one used, and corrects nothing. The candidates
// are read at once (those without temperatures answer at once); a failed
// read leaves the page uncorrected.
func (h *handler) degreeDayTemperatures(ctx context.Context, rd DashboardReadings, agg dashboards.Aggregates, all []registryapi.Sensor, from, to time.Time, windows [][2]time.Time) ([]dashboards.TemperatureHour, string) {
	var spans [][2]time.Time
	for _, w := range windows {
		if w[0], w[1] = maxTime(w[0], from), minTime(w[1], to); w[1].After(w[0]) {
			spans = append(spans, w)
		}
	}
	covered := true
	for t := from; t.Before(to) && covered; t = t.Add(time.Hour) {
		covered = slices.ContainsFunc(spans, func(w [2]time.Time) bool { return !t.Before(w[0]) && t.Before(w[1]) })
	}
	type found struct {
		temps []dashboards.TemperatureHour
		any   bool // temperatures between from and to
		err   error
	}
	sensors := h.temperatureSensors(all)
	res := make([]found, len(sensors))
	var reads []func() error
	for i, ts := range sensors {
		reads = append(reads, func() error {
			got := make([][]dashboards.TemperatureHour, len(spans))
			errs := make([]error, len(spans))
			var spanReads []func() error
			for j, w := range spans {
				spanReads = append(spanReads, func() (err error) {
					got[j], errs[j] = rd.Temperatures(ctx, agg, ts, "temperature", w[0], w[1])
					return errs[j]
				})
			}
			if res[i].err = readAll(spanReads...); res[i].err != nil {
				return nil
			}
			for _, th := range got {
				res[i].temps = append(res[i].temps, th...)
			}
			res[i].any = len(res[i].temps) > 0
			if !res[i].any && !covered {
				th, err := rd.Temperatures(ctx, agg, ts, "temperature", from, to)
				res[i].any, res[i].err = len(th) > 0, err
			}
			return nil
		})
	}
	_ = readAll(reads...)
	for i, r := range res {
		if r.err != nil {
			h.log.Warn("temperatures for degree days", "sensor", sensors[i].ID, "err", r.err)
			return nil, ""
		}
		if r.any {
			slices.SortFunc(r.temps, func(a, b dashboards.TemperatureHour) int { return a.Time.Compare(b.Time) })
			return slices.CompactFunc(r.temps, func(a, b dashboards.TemperatureHour) bool { return a.Time.Equal(b.Time) }), sensors[i].ID
		}
	}
	return nil, ""
}

// rankingRange is the last 30 days before asOf, the range of the
// rankings' drift.
func rankingRange(asOf time.Time, loc *time.Location) web.DashRange {
	asOf = dashboards.PeriodStart(asOf, dashboards.StepDay, loc)
	return web.DashRange{From: asOf.AddDate(0, 0, -30), To: asOf}
}

// rankingTotals reads, summed by InfluxDB, what RankBuildings adds up over
// hours: the 11 months before the last 30 days, the last 30 days, and the
// same 30 days a year before — three disjoint ranges, each as one point
// at its start, so that RankBuildings' sums over its windows are exact.
func rankingTotals(ctx context.Context, rd DashboardReadings, agg dashboards.Aggregates, meters []registryapi.Sensor, asOf time.Time, loc *time.Location) (dashboards.SiteHours, error) {
	asOf = dashboards.PeriodStart(asOf, dashboards.StepDay, loc)
	yearAgo, d30 := asOf.AddDate(-1, 0, 0), asOf.AddDate(0, 0, -30)
	out := dashboards.SiteHours{}
	for _, w := range [][2]time.Time{{yearAgo, d30}, {d30, asOf}, {d30.AddDate(-1, 0, 0), yearAgo}} {
		t, err := rd.EnergyTotals(ctx, agg, meters, w[0], w[1])
		if err != nil {
			return nil, err
		}
		for site, kwh := range t {
			out[site] = append(out[site], dashboards.Point{Time: w[0], Value: kwh})
		}
	}
	for site, pts := range out {
		slices.SortFunc(pts, func(x, y dashboards.Point) int { return x.Time.Compare(y.Time) })
		out[site] = pts
	}
	return out, nil
}

// rankingCache keeps the ranking totals of a day (rankingTotals) for
// ttl, by day and meters, at most rankingCacheSize of them: they are the
// same for every view of the energy dashboard that day, and the costliest
// read of the page. It is safe for concurrent use.
type rankingCache struct {
	ttl     time.Duration // <= 0: none kept
	now     func() time.Time
	mu      sync.Mutex
	entries map[string]rankingEntry
}

type rankingEntry struct {
	at     time.Time
	totals dashboards.SiteHours
}

const rankingCacheSize = 8

// get returns the ranking totals as of asOf, read unless kept.
func (c *rankingCache) get(ctx context.Context, rd DashboardReadings, agg dashboards.Aggregates, meters []registryapi.Sensor, asOf time.Time, loc *time.Location) (dashboards.SiteHours, error) {
	if c.ttl <= 0 {
		return rankingTotals(ctx, rd, agg, meters, asOf, loc)
	}
	k := strconv.FormatInt(dashboards.PeriodStart(asOf, dashboards.StepDay, loc).Unix(), 10) + "\x00" + metersKey(agg, meters)
	c.mu.Lock()
	e, ok := c.entries[k]
	c.mu.Unlock()
	if ok && c.now().Sub(e.at) < c.ttl {
		return e.totals, nil
	}
	at := c.now()
	totals, err := rankingTotals(ctx, rd, agg, meters, asOf, loc)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if c.now().Sub(e.at) >= c.ttl || len(c.entries) >= rankingCacheSize {
			delete(c.entries, k)
		}
	}
	c.entries[k] = rankingEntry{at: at, totals: totals}
	return totals, nil
}

// mergePoints returns the points of a and b in time order, a time
// present in both taken once.
func mergePoints(a, b []dashboards.Point) []dashboards.Point {
	out := append(slices.Clone(a), b...)
	slices.SortStableFunc(out, func(x, y dashboards.Point) int { return x.Time.Compare(y.Time) })
	return slices.CompactFunc(out, func(x, y dashboards.Point) bool { return x.Time.Equal(y.Time) })
}

// mergeKeys returns the keys of a and b.
func mergeKeys(a, b map[string]float64) map[string]float64 {
	out := maps.Clone(a)
	if out == nil {
		out = map[string]float64{}
	}
	maps.Copy(out, b)
	return out
}

// readAll runs the reads at once and returns the first error.
func readAll(reads ...func() error) error {
	errs := make([]error, len(reads))
	var wg sync.WaitGroup
	for i, read := range reads {
		wg.Go(func() { errs[i] = read() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func minTime(ts ...time.Time) time.Time {
	m := ts[0]
	for _, t := range ts[1:] {
		if t.Before(m) {
			m = t
		}
	}
	return m
}

func maxTime(ts ...time.Time) time.Time {
	m := ts[0]
	for _, t := range ts[1:] {
		if t.After(m) {
			m = t
		}
	}
	return m
}

// tertiaryReferences returns the references of the buildings from their
// meters' tags, and the buildings without a usable one.
func tertiaryReferences(meters []registryapi.Sensor, sites []string, areas map[string]float64) (refs []dashboards.TertiaryReference, missing []string) {
	for _, site := range sites {
		ref := dashboards.TertiaryReference{Site: site, FloorAreaM2: areas[site]}
		for _, m := range meters {
			if m.Site != site {
				continue
			}
			if y, err := strconv.Atoi(strings.TrimSpace(m.Tags[TertiaryReferenceYearTag])); err == nil && ref.Year == 0 {
				ref.Year = y
			}
			if k, err := strconv.ParseFloat(strings.TrimSpace(m.Tags[TertiaryReferenceKWhTag]), 64); err == nil && k > 0 && !math.IsInf(k, 0) && ref.KWh == 0 {
				ref.KWh = k
			}
		}
		if ref.Year < 2010 || ref.Year >= 2030 {
			missing = append(missing, site)
			continue
		}
		refs = append(refs, ref)
	}
	return refs, missing
}

func (h *handler) pageDashTertiary(c *gin.Context) {
	r := request(c)
	loc := h.dash.loc
	d := web.TertiaryData{DashCommon: h.dashCommon(c, dashDefaultDays)}
	meters, sites, areas, _, err := h.energyMeters(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	refs, missing := tertiaryReferences(meters, sites, areas)
	d.Missing = missing
	asOf := d.Range.To
	rd := h.dashReader()
	if rd != nil {
		rd = h.dash.settled.reader(rd, d.Now)
	}
	if rd == nil {
		d.Unavailable = true
	} else if len(refs) > 0 {
		ctx, cancel := context.WithTimeout(c.Request.Context(), h.dash.deps.Timeout)
		defer cancel()
		// Each building's totals over the twelve months before asOf and
		// over the reference years not given, summed and counted by
		// InfluxDB, at once.
		agg := dashboards.Aggregates{Location: loc}
		var rolling map[string]dashboards.EnergyTotal
		reads := []func() error{func() (err error) {
			from, to := dashboards.TertiaryRollingRange(asOf, loc)
			rolling, err = rd.EnergyStats(ctx, agg, meters, from, to)
			return err
		}}
		var years []int
		for _, ref := range refs {
			if ref.KWh == 0 && !slices.Contains(years, ref.Year) {
				years = append(years, ref.Year)
			}
		}
		byYear := make([]map[string]dashboards.EnergyTotal, len(years))
		for i, y := range years {
			if from, to := dashboards.TertiaryYearRange(y, asOf, loc); to.After(from) {
				reads = append(reads, func() (err error) {
					byYear[i], err = rd.EnergyStats(ctx, agg, meters, from, to)
					return err
				})
			}
		}
		if err := readAll(reads...); err != nil {
			h.dashFailed(&d.DashCommon, "tertiary", err)
		} else {
			for _, ref := range refs {
				var year dashboards.EnergyTotal
				if i := slices.Index(years, ref.Year); i >= 0 && ref.KWh == 0 {
					year = byYear[i][ref.Site]
				}
				row, err := dashboards.TertiaryRowOf(ref, year, rolling[ref.Site], asOf, loc)
				if err != nil { // no reference consumption
					d.Missing = append(d.Missing, ref.Site)
					continue
				}
				d.Rows = append(d.Rows, row)
			}
		}
	}
	if c.Query("format") == "csv" && c.Query("chart") == "" && !d.Unavailable {
		var buf bytes.Buffer
		if err := dashboards.WriteTertiaryCSV(&buf, d.Rows); err != nil {
			h.fail(c, err)
			return
		}
		writeDashCSV(c, "operat-"+asOf.AddDate(0, 0, -1).Format(time.DateOnly)+".csv", buf.Bytes())
		return
	}
	h.serveDash(c, r, "tertiary", d.DashCommon, h.pages.TertiaryDashboard(r, d))
}
