package httpapi

// The energy dashboards' cache of settled days. The gateway refuses
// readings older than its -max-past (7 days by default) and repairs
// aggregates only within that, so the hourly energy of a local day that
// ended more than DashboardDeps.SettledAfter ago no longer changes: it is
// read from InfluxDB once and kept, and each page reads only the recent
// days. What is kept: the hourly points of the series a page shows (one
// building's, or the estate's) and the degree days' hourly temperatures,
// day by day, and the buildings' totals of ranges wholly settled; keyed
// by the meters (their ids, sites and quantities), the bucket and the
// time zone, so that a change of the register's meters is read afresh at
// once (and what was kept for the others dropped). A kept day is read
// again after settledKeep, for aggregates written late by a gateway that
// drains a backlog of more than a week (InfluxDB away that long).

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/civisens/civisens/dashboards"
	"github.com/civisens/civisens/registry/registryapi"
)

const (
	// defaultSettledAfter is DashboardDeps.SettledAfter's default: the
	// gateway's -max-past default and a day.
	defaultSettledAfter = 8 * 24 * time.Hour
	// settledKeep is how long a settled day or total is kept before it
	// is read again.
	settledKeep = 24 * time.Hour
	// settledMaxBytes bounds the hours kept (32 bytes an energy hour, 48
	// a temperature hour, about 256 bytes a day besides): a year of the
	// estate's hours takes 360 KiB, of the estate's and every one of 50
	// buildings' 18 MiB; at most 32 MiB, the series least recently used
	// evicted first.
	settledMaxBytes = 32 << 20
	// settledMaxTotals bounds the totals kept (a map of the buildings
	// each).
	settledMaxTotals = 64
)

// settledCache keeps the energy and temperatures of settled days. It is
// safe for concurrent use.
type settledCache struct {
	after     time.Duration // <= 0: nothing kept
	maxBytes  int
	maxTotals int
	splitRows int // settledSplitRows

	mu     sync.Mutex
	meters string                    // the meters' key (metersKey) of the energy kept; another drops it
	series map[string]*settledSeries // by what is read: the meters and site, or the temperature sensor
	totals map[string]*settledTotals // by kind, meters and range
	bytes  int                       // of the series' hours
	tick   uint64                    // use counter, for eviction
}

func newSettledCache(after time.Duration) *settledCache {
	return &settledCache{after: after, maxBytes: settledMaxBytes, maxTotals: settledMaxTotals, splitRows: settledSplitRows,
		series: map[string]*settledSeries{}, totals: map[string]*settledTotals{}}
}

// settledSeries is the hours of one series, by local day.
type settledSeries struct {
	meters string               // the meters' key of an energy series, "" for temperatures
	days   map[int64]settledDay // by the day's start, Unix seconds
	bytes  int
	used   uint64
}

type settledDay struct {
	at    time.Time // when it was read
	hours any       // []T, T the series' hour: dashboards.Point or TemperatureHour
	bytes int
}

type settledTotals struct {
	meters string
	at     time.Time
	stats  map[string]dashboards.EnergyTotal
	used   uint64
}

// reader returns rd with its energy and temperature reads answered from
// c where days are settled as of now.
func (c *settledCache) reader(rd DashboardReadings, now time.Time) DashboardReadings {
	if c == nil || c.after <= 0 {
		return rd
	}
	return settledReadings{DashboardReadings: rd, c: c, now: now}
}

// settledReadings is a DashboardReadings whose EnergySeries, EnergyTotals,
// EnergyStats and Temperatures read only what is not settled and kept.
type settledReadings struct {
	DashboardReadings
	c   *settledCache
	now time.Time
}

// cut returns the start of the first local day that is not settled.
func (s settledReadings) cut(loc *time.Location) time.Time {
	return dashboards.PeriodStart(s.now.Add(-s.c.after), dashboards.StepDay, loc)
}

// metersKey identifies what the energy reads depend on besides the time
// range: the aggregates' bucket and zone and each meter's id, site and
// quantities.
func metersKey(agg dashboards.Aggregates, meters []registryapi.Sensor) string {
	var key strings.Builder
	fmt.Fprintf(&key, "%s\x00%s", agg.Bucket, agg.Location)
	for _, m := range meters {
		fmt.Fprintf(&key, "\x00%s\x01%s", m.ID, m.Site)
		for _, q := range m.Quantities {
			fmt.Fprintf(&key, "\x01%s\x02%s\x02%s", q.Name, q.Unit, q.Aggregation)
		}
	}
	return key.String()
}

// use makes meters, unless empty, the meters of the energy kept —
// dropping what was kept for others — and returns the next use count.
// c.mu is held.
func (c *settledCache) use(meters string) uint64 {
	if meters != "" && meters != c.meters {
		for k, ser := range c.series {
			if ser.meters != "" {
				c.bytes -= ser.bytes
				delete(c.series, k)
			}
		}
		clear(c.totals)
		c.meters = meters
	}
	c.tick++
	return c.tick
}

func (s settledReadings) EnergySeries(ctx context.Context, agg dashboards.Aggregates, meters []registryapi.Sensor, site string, from, to time.Time) ([]dashboards.Point, error) {
	read := func(ctx context.Context, from, to time.Time) ([]dashboards.Point, error) {
		return s.DashboardReadings.EnergySeries(ctx, agg, meters, site, from, to)
	}
	if agg.Location == nil {
		return read(ctx, from, to)
	}
	mk := metersKey(agg, meters)
	return settledHours(ctx, s, agg.Location, mk, mk+"\x00site\x00"+site, from, to, read, func(p dashboards.Point) time.Time { return p.Time })
}

func (s settledReadings) Temperatures(ctx context.Context, agg dashboards.Aggregates, sensor registryapi.Sensor, quantity string, from, to time.Time) ([]dashboards.TemperatureHour, error) {
	read := func(ctx context.Context, from, to time.Time) ([]dashboards.TemperatureHour, error) {
		return s.DashboardReadings.Temperatures(ctx, agg, sensor, quantity, from, to)
	}
	if agg.Location == nil {
		return read(ctx, from, to)
	}
	key := fmt.Sprintf("%s\x00%s\x00temperature\x00%s\x00%s\x00%s", agg.Bucket, agg.Location, sensor.Category, sensor.ID, quantity)
	return settledHours(ctx, s, agg.Location, "", key, from, to, read, func(t dashboards.TemperatureHour) time.Time { return t.Time })
}

// settledHours returns read's hours in [from, to), in time order: those of
// the settled local days kept under key, the others read — each run of
// days not kept at once, and the rest of the range (the recent days) —
// and the settled days read kept. meters is the key of the meters of an
// energy series, "" otherwise.
func settledHours[T any](ctx context.Context, s settledReadings, loc *time.Location, meters, key string, from, to time.Time,
	read func(ctx context.Context, from, to time.Time) ([]T, error), timeOf func(T) time.Time) ([]T, error) {
	// Whole local days in [a, b), settled; the rest is read as asked.
	a := dashboards.PeriodStart(from, dashboards.StepDay, loc)
	if a.Before(from) {
		a = a.AddDate(0, 0, 1)
	}
	b := minTime(to, s.cut(loc))
	if d := dashboards.PeriodStart(b, dashboards.StepDay, loc); d.Before(b) {
		b = d
	}
	if !b.After(a) {
		return read(ctx, from, to)
	}
	var days []time.Time
	for d := a; d.Before(b); d = d.AddDate(0, 0, 1) {
		days = append(days, d)
	}
	kept := make([][]T, len(days))
	have := make([]bool, len(days))
	s.c.mu.Lock()
	tick := s.c.use(meters)
	if ser := s.c.series[key]; ser != nil {
		ser.used = tick
		for i, d := range days {
			if e, ok := ser.days[d.Unix()]; ok && s.now.Sub(e.at) < settledKeep {
				kept[i], have[i] = e.hours.([]T), true
			}
		}
	}
	s.c.mu.Unlock()

	// Reads: before a, each run of days not kept, and from b.
	type span struct {
		from, to time.Time
		first    int // the index of the span's first day in days; -1: not settled
		hours    []T
	}
	var spans []*span
	if a.After(from) {
		spans = append(spans, &span{from: from, to: a, first: -1})
	}
	for i := 0; i < len(days); i++ {
		if have[i] {
			continue
		}
		j := i
		for j < len(days) && !have[j] {
			j++
		}
		end := b
		if j < len(days) {
			end = days[j]
		}
		spans = append(spans, &span{from: days[i], to: end, first: i})
		i = j
	}
	if to.After(b) {
		spans = append(spans, &span{from: b, to: to, first: -1})
	}
	// Spans that follow each other, or with only days kept without any
	// hour between them, are read at once and split: a query more costs
	// more than its rows.
	emptyBetween := func(from, to time.Time) bool {
		for i, d := range days {
			if !d.Before(from) && d.Before(to) && (!have[i] || len(kept[i]) > 0) {
				return false
			}
		}
		return true
	}
	var reads []func() error
	for i := 0; i < len(spans); {
		j := i + 1
		for j < len(spans) && emptyBetween(spans[j-1].to, spans[j].from) {
			j++
		}
		group := spans[i:j]
		reads = append(reads, func() error {
			hours, err := read(ctx, group[0].from, group[len(group)-1].to)
			for _, sp := range group {
				for len(hours) > 0 && timeOf(hours[0]).Before(sp.from) {
					hours = hours[1:] // in a day kept, written since: the kept day stands
				}
				n := 0
				for n < len(hours) && timeOf(hours[n]).Before(sp.to) {
					n++
				}
				sp.hours, hours = hours[:n:n], hours[n:]
			}
			return err
		})
		i = j
	}
	if err := readAll(reads...); err != nil {
		return nil, err
	}
	// The days read, split and kept.
	var fresh []int
	for _, sp := range spans {
		if sp.first < 0 {
			continue
		}
		hours := sp.hours
		for i := sp.first; i < len(days) && days[i].Before(sp.to); i++ {
			end := b
			if i+1 < len(days) {
				end = days[i+1]
			}
			n := 0
			for n < len(hours) && timeOf(hours[n]).Before(end) {
				n++
			}
			// A copy, so that the array read, with the recent days, is
			// not kept with it.
			day := hours[:n]
			hours, kept[i] = hours[n:], nil
			if n > 0 {
				kept[i] = slices.Clone(day)
			}
			fresh = append(fresh, i)
		}
	}
	if len(fresh) > 0 {
		size := int(reflect.TypeFor[T]().Size())
		s.c.mu.Lock()
		s.c.keepDays(meters, key, s.now, func(keep func(day time.Time, hours any, bytes int)) {
			for _, i := range fresh {
				keep(days[i], kept[i], size*len(kept[i]))
			}
		})
		s.c.mu.Unlock()
	}
	// In time order: before a, the settled days, from b.
	var out []T
	for _, sp := range spans {
		if sp.first < 0 && !sp.from.After(from) {
			out = append(out, sp.hours...)
		}
	}
	for _, hours := range kept {
		out = append(out, hours...)
	}
	for _, sp := range spans {
		if sp.first < 0 && sp.from.After(from) {
			out = append(out, sp.hours...)
		}
	}
	return out, nil
}

// keepDays keeps the days that each calls keep with in the series key,
// read at at, then evicts the series least recently used while more than
// maxBytes are kept. c.mu is held.
func (c *settledCache) keepDays(meters, key string, at time.Time, each func(keep func(day time.Time, hours any, bytes int))) {
	tick := c.use(meters)
	ser := c.series[key]
	if ser == nil {
		ser = &settledSeries{meters: meters, days: map[int64]settledDay{}}
		c.series[key] = ser
	}
	ser.used = tick
	each(func(day time.Time, hours any, bytes int) {
		k := day.Unix()
		d := settledDay{at: at, hours: hours, bytes: bytes + settledDayBytes}
		ser.bytes += d.bytes - ser.days[k].bytes
		c.bytes += d.bytes - ser.days[k].bytes
		ser.days[k] = d
	})
	for c.bytes > c.maxBytes && len(c.series) > 0 {
		old := leastUsed(c.series, func(s *settledSeries) uint64 { return s.used })
		c.bytes -= c.series[old].bytes
		delete(c.series, old)
	}
}

// settledDayBytes is about what a day kept takes besides its hours: its
// entry in the map, the time it was read, the slice in an interface, the
// allocator's rounding (measured by TestSettledCacheSize).
const settledDayBytes = 256

func (s settledReadings) EnergyTotals(ctx context.Context, agg dashboards.Aggregates, meters []registryapi.Sensor, from, to time.Time) (map[string]float64, error) {
	t, err := s.totals(ctx, agg, meters, from, to, "totals", func(ctx context.Context, from, to time.Time) (map[string]dashboards.EnergyTotal, error) {
		kwh, err := s.DashboardReadings.EnergyTotals(ctx, agg, meters, from, to)
		out := make(map[string]dashboards.EnergyTotal, len(kwh))
		for site, v := range kwh {
			out[site] = dashboards.EnergyTotal{KWh: v}
		}
		return out, err
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]float64, len(t))
	for site, v := range t {
		out[site] = v.KWh
	}
	return out, nil
}

func (s settledReadings) EnergyStats(ctx context.Context, agg dashboards.Aggregates, meters []registryapi.Sensor, from, to time.Time) (map[string]dashboards.EnergyTotal, error) {
	return s.totals(ctx, agg, meters, from, to, "stats", func(ctx context.Context, from, to time.Time) (map[string]dashboards.EnergyTotal, error) {
		return s.DashboardReadings.EnergyStats(ctx, agg, meters, from, to)
	})
}

// totals returns read's totals over [from, to): those of its settled
// part kept, the rest read, the two added up (kWh and hours add up over
// disjoint ranges). A range partly settled is read whole, not split in
// two queries, while its settled part has fewer rows than splitRows.
func (s settledReadings) totals(ctx context.Context, agg dashboards.Aggregates, meters []registryapi.Sensor, from, to time.Time, kind string,
	read func(ctx context.Context, from, to time.Time) (map[string]dashboards.EnergyTotal, error)) (map[string]dashboards.EnergyTotal, error) {
	if agg.Location == nil {
		return read(ctx, from, to)
	}
	cut := s.cut(agg.Location)
	if !cut.After(from) || !to.After(from) {
		return read(ctx, from, to)
	}
	mid := minTime(to, cut)
	if to.After(mid) && int(mid.Sub(from)/time.Hour)*len(meters) < s.c.splitRows {
		return read(ctx, from, to)
	}
	mk := metersKey(agg, meters)
	k := fmt.Sprintf("%s\x00%d\x00%d\x00%s", kind, from.UnixNano(), mid.UnixNano(), mk)
	var old, recent map[string]dashboards.EnergyTotal
	s.c.mu.Lock()
	tick := s.c.use(mk)
	e := s.c.totals[k]
	kept := e != nil && s.now.Sub(e.at) < settledKeep
	if kept {
		old, e.used = e.stats, tick
	}
	s.c.mu.Unlock()
	var reads []func() error
	if !kept {
		reads = append(reads, func() (err error) { old, err = read(ctx, from, mid); return err })
	}
	if to.After(mid) {
		reads = append(reads, func() (err error) { recent, err = read(ctx, mid, to); return err })
	}
	if err := readAll(reads...); err != nil {
		return nil, err
	}
	if !kept {
		s.c.mu.Lock()
		s.c.keepTotals(mk, k, old, s.now)
		s.c.mu.Unlock()
	}
	out := maps.Clone(old)
	if out == nil {
		out = map[string]dashboards.EnergyTotal{}
	}
	for site, t := range recent {
		o := out[site]
		o.KWh += t.KWh
		o.Hours += t.Hours
		out[site] = o
	}
	return out, nil
}

// keepTotals keeps the settled totals t under k, then evicts the least
// recently used while more than maxTotals are kept. c.mu is held.
func (c *settledCache) keepTotals(meters, k string, t map[string]dashboards.EnergyTotal, at time.Time) {
	c.totals[k] = &settledTotals{meters: meters, at: at, stats: t, used: c.use(meters)}
	for len(c.totals) > c.maxTotals {
		delete(c.totals, leastUsed(c.totals, func(t *settledTotals) uint64 { return t.used }))
	}
}

// settledSplitRows is about how many hourly rows InfluxDB 1.8 sums in
// the time a Flux query costs besides its rows (15 ms on the test
// machine, 100 ns a row): a range of totals partly settled is split, its
// settled part kept, only when that part has more rows.
const settledSplitRows = 150_000

// size returns the bytes of the hours kept and how many totals are.
func (c *settledCache) size() (bytes, totals int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes, len(c.totals)
}

// leastUsed returns the key of m whose value was used least recently.
func leastUsed[V any](m map[string]V, used func(V) uint64) string {
	var key string
	oldest := uint64(1<<64 - 1)
	for k, v := range m {
		if u := used(v); u < oldest {
			key, oldest = k, u
		}
	}
	return key
}
