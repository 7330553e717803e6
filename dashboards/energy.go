package dashboards

// The energy dashboard's figures (issue 7). Everything is computed from the
// gateway's hourly aggregates of the buildings' meters — measurement
// energy_agg, tag window "1h", field <q>_delta for the meter's index
// quantity q: the consumption in the hour, meter resets and rollovers
// already handled by the gateway — read as hours per building
// ([Reader.EnergyHours]), as the hours of one building or of the whole
// estate ([Reader.EnergySeries]: what a dashboard page shows hour by
// hour), or as totals summed and counted by InfluxDB ([Reader.EnergyTotals],
// [Reader.EnergyStats]: what a page adds up over months), then rolled up
// in Go on the town's local calendar ([Rollup]), so that days and months
// are those of Europe/Paris across summer-time changes (a local day has
// 23, 24 or 25 hourly windows; the gateway's windows start on the hour,
// UTC, which is also the hour in Paris). InfluxDB 1.8's Flux (0.65) has no
// time zone in aggregateWindow, hence the Go roll-up; and only its
// range, filter and a group right after them run in the storage engine:
// every other step costs microseconds a row, and so does every row
// answered, which is why the pages read totals where they show totals.

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/domain"

	"github.com/civisens/civisens/registry/registryapi"
)

// DefaultAggregateRetention is the retention of the gateway's aggregates of
// sensors without personal data (its -aggregate-retention default): they
// are read from "database/civisens_p10y" (1.x) or "bucket_p10y" (2.x).
const DefaultAggregateRetention = "P10Y"

// DefaultLocation is the time zone of the town's calendar.
const DefaultLocation = "Europe/Paris"

// Aggregates says where the gateway's aggregates are read and on which
// calendar. Its zero value means the defaults.
type Aggregates struct {
	// Bucket is the Flux bucket of the aggregates, e.g.
	// "civisens/civisens_p10y"; empty: the reader's bucket with the
	// retention DefaultAggregateRetention (see RetentionBucket).
	Bucket string
	// Location is the town's time zone, that days, weeks, months and
	// years follow; nil: DefaultLocation (which needs the system's
	// zoneinfo, or a main package importing time/tzdata).
	Location *time.Location
}

func (a Aggregates) resolve(r *Reader) (bucket string, loc *time.Location, err error) {
	bucket = a.Bucket
	if bucket == "" {
		if bucket, err = RetentionBucket(r.bucket, DefaultAggregateRetention); err != nil {
			return "", nil, fmt.Errorf("%w: %w", ErrInvalidInput, err)
		}
	}
	loc = a.Location
	if loc == nil {
		if loc, err = time.LoadLocation(DefaultLocation); err != nil {
			return "", nil, err
		}
	}
	return bucket, loc, nil
}

// Step is the length of the periods consumption is summed over.
type Step int

// Steps, on the town's local calendar.
const (
	StepHour Step = iota
	StepDay
	StepMonth
	StepYear
)

func (s Step) String() string {
	switch s {
	case StepHour:
		return "hour"
	case StepDay:
		return "day"
	case StepMonth:
		return "month"
	case StepYear:
		return "year"
	}
	return fmt.Sprintf("Step(%d)", int(s))
}

// PeriodStart returns the start of the period of step that t falls in, on
// loc's calendar: the hour, local midnight, the first of the month or of
// January.
func PeriodStart(t time.Time, step Step, loc *time.Location) time.Time {
	l := t.In(loc)
	switch step {
	case StepDay:
		return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	case StepMonth:
		return time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, loc)
	case StepYear:
		return time.Date(l.Year(), time.January, 1, 0, 0, 0, 0, loc)
	}
	return t.Truncate(time.Hour).In(loc)
}

// periodEnd returns the start of the next period after the one starting at
// start.
func periodEnd(start time.Time, step Step) time.Time {
	switch step {
	case StepDay:
		return start.AddDate(0, 0, 1)
	case StepMonth:
		return start.AddDate(0, 1, 0)
	case StepYear:
		return start.AddDate(1, 0, 0)
	}
	return start.Add(time.Hour)
}

// Period is the consumption of one period.
type Period struct {
	Start, End time.Time // local calendar, End excluded
	KWh        float64
	// Hours is how many hourly aggregates were summed: a complete local
	// day has End.Sub(Start)/time.Hour of them (23 or 25 on the days
	// summer time starts or ends); fewer means a gap in the data.
	Hours int
}

// Complete reports whether every hour of the period has an aggregate.
func (p Period) Complete() bool { return p.Hours >= int(p.End.Sub(p.Start)/time.Hour) }

// Rollup sums hourly consumption (points stamped with the hour's start, in
// kWh) over the periods of step on loc's calendar, in time order; a period
// without any hourly point is left out.
func Rollup(hours []Point, step Step, loc *time.Location) []Period {
	byStart := map[time.Time]*Period{}
	for _, p := range hours {
		s := PeriodStart(p.Time, step, loc)
		per := byStart[s]
		if per == nil {
			per = &Period{Start: s, End: periodEnd(s, step)}
			byStart[s] = per
		}
		per.KWh += p.Value
		per.Hours++
	}
	out := make([]Period, 0, len(byStart))
	for _, s := range slices.SortedFunc(maps.Keys(byStart), time.Time.Compare) {
		out = append(out, *byStart[s])
	}
	return out
}

// SiteHours is the hourly consumption of each building, by site: points
// stamped with the hour's start (UTC), in kWh, in time order, one per hour
// (the meters of a site summed).
type SiteHours map[string][]Point

// Sites returns the sites in order.
func (h SiteHours) Sites() []string { return slices.Sorted(maps.Keys(h)) }

// Estate returns the hourly consumption of all the buildings together.
func (h SiteHours) Estate() []Point {
	sum := map[time.Time]float64{}
	for _, pts := range h {
		for _, p := range pts {
			sum[p.Time.UTC()] += p.Value
		}
	}
	return sortedPoints(sum)
}

func sortedPoints(m map[time.Time]float64) []Point {
	out := make([]Point, 0, len(m))
	for _, t := range slices.SortedFunc(maps.Keys(m), time.Time.Compare) {
		out = append(out, Point{Time: t, Value: m[t]})
	}
	return out
}

// between returns the points with from <= Time < to.
// Between returns the points of pts in [from, to).
func Between(pts []Point, from, to time.Time) []Point {
	var out []Point
	for _, p := range pts {
		if !p.Time.Before(from) && p.Time.Before(to) {
			out = append(out, p)
		}
	}
	return out
}

func sum(pts []Point) float64 {
	var s float64
	for _, p := range pts {
		s += p.Value
	}
	return s
}

// energyField returns the aggregate field holding a meter's consumption in
// an hour and the factor to kWh: <q>_delta of the sensor's first index
// quantity in Wh, kWh or J.
func energyField(s registryapi.Sensor) (string, float64, error) {
	for _, q := range s.Quantities {
		if q.AggregationKind() != registryapi.AggregationIndex {
			continue
		}
		switch q.Unit {
		case "Wh":
			return q.Name + "_delta", 1e-3, nil
		case "kWh":
			return q.Name + "_delta", 1, nil
		case "J":
			return q.Name + "_delta", 1 / 3.6e6, nil
		}
	}
	return "", 0, fmt.Errorf("sensor %s has no energy index quantity (Wh, kWh, J): %w", s.ID, ErrInvalidInput)
}

// EnergyHours reads the hourly consumption of the meters among sensors,
// between from and to (hours starting in [from, to)), from the gateway's
// aggregates (energy_agg, window "1h", the <q>_delta field of each
// sensor's index quantity, converted to kWh), summed per site. The site of
// an hour is the aggregate's own site tag — where the meter was then —, or
// the entry's Site when the tag is missing.
//
// InfluxDB 1.8 answers range() with its stop included
// (influxdata/influxdb#19966): the hour starting at to is dropped here.
//
// Every sensor given is summed: pass the buildings' main meters only, not
// their sub-meters as well (see MainMeters), or a building counts twice.
func (r *Reader) EnergyHours(ctx context.Context, agg Aggregates, sensors []registryapi.Sensor, from, to time.Time) (SiteHours, error) {
	return r.energy(ctx, agg, sensors, from, to, false, "")
}

// EnergyTotals is the consumption of each building (site) in [from, to),
// in kWh, summed by InfluxDB from the same hourly aggregates as
// EnergyHours: what totals over months need, in one row per meter.
func (r *Reader) EnergyTotals(ctx context.Context, agg Aggregates, sensors []registryapi.Sensor, from, to time.Time) (map[string]float64, error) {
	// The hour starting at to is left out by the range's stop moved back
	// a nanosecond (InfluxDB 1.8's range includes its stop).
	h, err := r.energy(ctx, agg, sensors, from, to.Add(-time.Nanosecond), true, "")
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for site, pts := range h {
		for _, p := range pts {
			out[site] += p.Value
		}
	}
	return out, nil
}

// energyMeter is a meter as energy queries read it: the site its entry
// gives (for aggregates without a site tag) and the factor of its field to
// kWh.
type energyMeter struct {
	site   string
	factor float64
}

// energyMeters returns the meters among sensors by "sensor\x00field", and
// the Flux predicate that selects their fields: one regular expression of
// sensors per field, so that InfluxDB reads the matching series from its
// index rather than testing every row of the range in Flux. The predicate
// is empty when there are no sensors.
func energyMeters(sensors []registryapi.Sensor) (map[string]energyMeter, string, error) {
	meters := map[string]energyMeter{}
	var fields []string
	byField := map[string][]string{}
	for _, s := range sensors {
		if !sensorRE.MatchString(s.ID) {
			return nil, "", fmt.Errorf("sensor %q: %w", s.ID, ErrInvalidInput)
		}
		field, factor, err := energyField(s)
		if err != nil {
			return nil, "", err
		}
		meters[s.ID+"\x00"+field] = energyMeter{site: s.Site, factor: factor}
		if !slices.Contains(fields, field) {
			fields = append(fields, field)
		}
		byField[field] = append(byField[field], regexp.QuoteMeta(s.ID))
	}
	var conds []string
	for _, f := range fields {
		conds = append(conds, fmt.Sprintf("(r._field == %s and r.sensor =~ /^(%s)$/)", fluxString(f), strings.Join(byField[f], "|")))
	}
	return meters, strings.Join(conds, " or "), nil
}

// energyFrom is the start of every energy query: the meters' hourly
// aggregates in [from, to] — InfluxDB 1.8's range includes its stop
// (influxdata/influxdb#19966), which callers drop or move back. The
// filters are pushed down to the storage engine, and so is a group() that
// follows at once; any other transformation between them (a keep, a map)
// would make the Flux engine handle every row, ten times slower.
func energyFrom(bucket string, from, to time.Time, cond string) string {
	return fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r._measurement == "energy_agg" and r.window == "1h")
  |> filter(fn: (r) => %s)`,
		fluxString(bucket), from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano), cond)
}

// energy reads the hourly energy of sensors in [from, to); with total,
// InfluxDB sums each meter's hours into one row (stamped from). where, if
// not empty, is a further Flux predicate on the rows.
func (r *Reader) energy(ctx context.Context, agg Aggregates, sensors []registryapi.Sensor, from, to time.Time, total bool, where string) (SiteHours, error) {
	if !to.After(from) {
		return nil, fmt.Errorf("dashboards: energy over [%v, %v): %w", from, to, ErrInvalidInput)
	}
	bucket, _, err := agg.resolve(r)
	if err != nil {
		return nil, fmt.Errorf("dashboards: energy: %w", err)
	}
	meters, cond, err := energyMeters(sensors)
	if err != nil {
		return nil, fmt.Errorf("dashboards: energy: %w", err)
	}
	out := SiteHours{}
	if cond == "" {
		return out, nil
	}
	if where != "" {
		cond = "(" + cond + ") and (" + where + ")"
	}
	q := energyFrom(bucket, from, to, cond)
	if total {
		q += `
  |> group(columns: ["sensor", "_field", "site"])
  |> sum()`
	}
	q += `
  |> keep(columns: ["_time", "_value", "_field", "sensor", "site"])`
	res, err := r.q.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("dashboards: energy: %w", err)
	}
	defer res.Close()
	bySite := map[string]map[time.Time]float64{}
	for res.Next() {
		rec := res.Record()
		v, ok := number(rec.Value())
		if !ok {
			continue
		}
		t := rec.Time()
		if total {
			t = from // sum() keeps no _time
		} else if !t.Before(to) { // InfluxDB 1.8's range includes its stop
			continue
		}
		id, _ := rec.ValueByKey("sensor").(string)
		m, ok := meters[id+"\x00"+rec.Field()]
		if !ok {
			continue
		}
		site, _ := rec.ValueByKey("site").(string)
		if site == "" {
			site = m.site
		}
		if bySite[site] == nil {
			bySite[site] = map[time.Time]float64{}
		}
		bySite[site][t.UTC()] += v * m.factor
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("dashboards: energy: %w", err)
	}
	for site, hours := range bySite {
		out[site] = sortedPoints(hours)
	}
	return out, nil
}

// EnergySeries reads the hourly consumption of one building (site) — or
// of the whole estate when site is "" — between from and to (hours
// starting in [from, to)), from the same aggregates as EnergyHours: the
// same points as EnergyHours(...)[site] or EnergyHours(...).Estate(),
// without reading every building's rows into one series each. For a site,
// InfluxDB selects its rows (its site tag, or the entry's Site where the
// tag is missing); for the estate, it merges every meter's rows into one
// table of times and values, and the hours are summed while they are read.
func (r *Reader) EnergySeries(ctx context.Context, agg Aggregates, sensors []registryapi.Sensor, site string, from, to time.Time) ([]Point, error) {
	if site != "" {
		var ids []string
		for _, s := range sensors {
			if s.Site == site && sensorRE.MatchString(s.ID) {
				ids = append(ids, regexp.QuoteMeta(s.ID))
			}
		}
		where := "r.site == " + fluxString(site)
		if len(ids) > 0 {
			where += " or r.sensor =~ /^(" + strings.Join(ids, "|") + ")$/"
		}
		h, err := r.energy(ctx, agg, sensors, from, to, false, where)
		if err != nil {
			return nil, err
		}
		return h[site], nil
	}
	if !to.After(from) {
		return nil, fmt.Errorf("dashboards: energy over [%v, %v): %w", from, to, ErrInvalidInput)
	}
	bucket, _, err := agg.resolve(r)
	if err != nil {
		return nil, fmt.Errorf("dashboards: energy: %w", err)
	}
	// One query per factor to kWh (usually one for all the meters), so
	// that the rows need no sensor column.
	byFactor := map[float64][]registryapi.Sensor{}
	for _, s := range sensors {
		_, factor, err := energyField(s)
		if err != nil {
			return nil, fmt.Errorf("dashboards: energy: %w", err)
		}
		byFactor[factor] = append(byFactor[factor], s)
	}
	sum := map[time.Time]float64{}
	for _, factor := range slices.Sorted(maps.Keys(byFactor)) {
		_, cond, err := energyMeters(byFactor[factor])
		if err != nil {
			return nil, fmt.Errorf("dashboards: energy: %w", err)
		}
		q := energyFrom(bucket, from, to, cond) + `
  |> group()
  |> keep(columns: ["_time", "_value"])`
		if err := r.eachPoint(ctx, q, func(t time.Time, v float64) {
			if t.Before(to) { // InfluxDB 1.8's range includes its stop
				sum[t.UTC()] += v * factor
			}
		}); err != nil {
			return nil, fmt.Errorf("dashboards: energy: %w", err)
		}
	}
	return sortedPoints(sum), nil
}

// EnergyTotal is a building's consumption over a time range.
type EnergyTotal struct {
	KWh float64
	// Hours is how many hours have an aggregate of one of its meters:
	// the number of the site's points that EnergyHours reads.
	Hours int
}

// EnergyStats returns, by site, the consumption in [from, to) and how
// many hours have an aggregate — what TertiaryRows adds up over a year —
// summed and counted by InfluxDB from the same aggregates as EnergyHours,
// in a few rows per building: the figures are those of EnergyHours'
// points. A building with one meter has as many hours as the meter's
// aggregates; the hours of one with several, which may overlap, are read
// (with EnergySeries) and counted.
func (r *Reader) EnergyStats(ctx context.Context, agg Aggregates, sensors []registryapi.Sensor, from, to time.Time) (map[string]EnergyTotal, error) {
	if !to.After(from) {
		return nil, fmt.Errorf("dashboards: energy over [%v, %v): %w", from, to, ErrInvalidInput)
	}
	bucket, _, err := agg.resolve(r)
	if err != nil {
		return nil, fmt.Errorf("dashboards: energy: %w", err)
	}
	meters, cond, err := energyMeters(sensors)
	if err != nil {
		return nil, fmt.Errorf("dashboards: energy: %w", err)
	}
	out := map[string]EnergyTotal{}
	if cond == "" {
		return out, nil
	}
	// Both aggregates from one read of the rows, grouped by the storage
	// engine.
	q := `data = ` + energyFrom(bucket, from, to.Add(-time.Nanosecond), cond) + `
  |> group(columns: ["sensor", "_field", "site"])
data |> sum() |> keep(columns: ["_value", "_field", "sensor", "site"]) |> yield(name: "sum")
data |> count() |> keep(columns: ["_value", "_field", "sensor", "site"]) |> yield(name: "count")`
	res, err := r.q.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("dashboards: energy: %w", err)
	}
	defer res.Close()
	series := map[string][]string{} // by site: its meters' "sensor\x00field"
	for res.Next() {
		rec := res.Record()
		v, ok := number(rec.Value())
		if !ok {
			continue
		}
		id, _ := rec.ValueByKey("sensor").(string)
		key := id + "\x00" + rec.Field()
		m, ok := meters[key]
		if !ok {
			continue
		}
		site, _ := rec.ValueByKey("site").(string)
		if site == "" {
			site = m.site
		}
		t := out[site]
		switch rec.Result() {
		case "sum":
			t.KWh += v * m.factor
		case "count":
			t.Hours += int(v)
			if !slices.Contains(series[site], key) {
				series[site] = append(series[site], key)
			}
		}
		out[site] = t
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("dashboards: energy: %w", err)
	}
	for site, keys := range series {
		if len(keys) < 2 || site == "" { // "": entries without a site, counted by meter
			continue
		}
		pts, err := r.EnergySeries(ctx, agg, sensors, site, from, to)
		if err != nil {
			return nil, err
		}
		t := out[site]
		t.Hours = len(pts)
		out[site] = t
	}
	return out, nil
}

// rawQuerier is what eachPoint prefers of the Querier: the query's CSV as
// it is (influxdb-client-go's api.QueryAPI has it), of which it parses two
// columns, rather than a record of every column per row — a third of the
// page's time for tens of thousands of rows.
type rawQuerier interface {
	QueryRaw(ctx context.Context, query string, dialect *domain.Dialect) (string, error)
}

// eachPoint runs q and calls f with the time and the numeric value of each
// row.
func (r *Reader) eachPoint(ctx context.Context, q string, f func(time.Time, float64)) error {
	rq, ok := r.q.(rawQuerier)
	if !ok {
		res, err := r.q.Query(ctx, q)
		if err != nil {
			return err
		}
		defer res.Close()
		for res.Next() {
			rec := res.Record()
			if v, ok := number(rec.Value()); ok {
				f(rec.Time(), v)
			}
		}
		return res.Err()
	}
	header, comma := true, ","
	body, err := rq.QueryRaw(ctx, q, &domain.Dialect{Header: &header, Delimiter: &comma})
	if err != nil {
		return err
	}
	return eachCSVPoint(body, f)
}

// eachCSVPoint calls f with the _time and _value of each row of a Flux
// CSV answer: tables each under a header row (after annotation rows
// starting with #, skipped), separated by an empty line; a table with an
// "error" column is the query's error.
func eachCSVPoint(body string, f func(time.Time, float64)) error {
	ti, vi := -1, -1
	var header []string
	for line := range strings.Lines(body) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			header = nil
			continue
		}
		if strings.HasPrefix(line, "#") { // annotations, which InfluxDB 1.8 sends all the same
			continue
		}
		cols := strings.Split(line, ",")
		if header == nil {
			header = cols
			ti, vi = slices.Index(cols, "_time"), slices.Index(cols, "_value")
			continue
		}
		if i := slices.Index(header, "error"); i >= 0 && i < len(cols) {
			return fmt.Errorf("flux: %s", cols[i])
		}
		if ti < 0 || vi < 0 || ti >= len(cols) || vi >= len(cols) {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, cols[ti])
		if err != nil {
			return fmt.Errorf("flux: _time %q: %w", cols[ti], err)
		}
		v, err := strconv.ParseFloat(cols[vi], 64)
		if err != nil {
			continue // not a number
		}
		f(t, v)
	}
	return nil
}

// MainMeters returns the energy sensors among sensors that meter a whole
// building: category energy, and a "meter" tag empty, "general" or "main"
// (the register's sub-meters carry another one).
func MainMeters(sensors []registryapi.Sensor) []registryapi.Sensor {
	var out []registryapi.Sensor
	for _, s := range sensors {
		if s.Category != registryapi.CategoryEnergy {
			continue
		}
		switch s.Tags["meter"] {
		case "", "general", "main":
			out = append(out, s)
		}
	}
	return out
}

// Consumption is the consumption of the buildings and of the whole estate
// per period.
type Consumption struct {
	Step      Step
	Buildings []BuildingConsumption // by site
	Estate    []Period              // all the buildings together
}

// BuildingConsumption is the consumption of one building (site) per
// period.
type BuildingConsumption struct {
	Site    string
	Periods []Period
}

// ConsumptionOf rolls hourly consumption up per step on loc's calendar.
func ConsumptionOf(h SiteHours, step Step, loc *time.Location) Consumption {
	c := Consumption{Step: step, Estate: Rollup(h.Estate(), step, loc)}
	for _, site := range h.Sites() {
		c.Buildings = append(c.Buildings, BuildingConsumption{Site: site, Periods: Rollup(h[site], step, loc)})
	}
	return c
}

// Consumption returns the kWh of each building (site) and of the whole
// estate per hour, day, month or year of the town's calendar, between from
// and to, read from the gateway's hourly aggregates (see EnergyHours). from
// and to are moved out to the start of their periods, so that the first
// and last periods are whole ones (a month asked from the 10th starts on
// the 1st).
func (r *Reader) Consumption(ctx context.Context, agg Aggregates, sensors []registryapi.Sensor, from, to time.Time, step Step) (Consumption, error) {
	_, loc, err := agg.resolve(r)
	if err != nil {
		return Consumption{}, fmt.Errorf("dashboards: consumption: %w", err)
	}
	if step < StepHour || step > StepYear {
		return Consumption{}, fmt.Errorf("dashboards: consumption: %v: %w", step, ErrInvalidInput)
	}
	from = PeriodStart(from, step, loc)
	if s := PeriodStart(to, step, loc); !s.Equal(to) {
		to = periodEnd(s, step)
	}
	agg.Location = loc
	h, err := r.EnergyHours(ctx, agg, sensors, from, to)
	if err != nil {
		return Consumption{}, err
	}
	return ConsumptionOf(h, step, loc), nil
}
