package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/api"
	"github.com/influxdata/influxdb-client-go/v2/api/write"

	"github.com/civisens/civisens/gateway/internal/aggregate"
	"github.com/civisens/civisens/registry/registryapi"
)

// AggregateSuffix ends the measurement of aggregates: the windows of an
// air-quality sensor are in "air_agg".
const AggregateSuffix = "_agg"

// AggregatePoints shapes windows into InfluxDB points:
//
//	measurement  the entry's category + "_agg" (air_agg, energy_agg…)
//	tags         those of the raw readings (sensor, site, the entry's
//	             tags) and window = the window's size ("1m", "15m", "1h")
//	fields       per quantity q, by its aggregation:
//	             stats      q_mean, q_min, q_max, q_count, q_last
//	             index      q_delta (consumption in the window), q_last
//	                        (the index at its last reading), q_count
//	             occupancy  q_ratio (share of the known time in state 1),
//	                        q_arrivals, q_count, q_last
//	time         the window's start
//
// A window written again (a repair) replaces the point: same series, same
// time.
func AggregatePoints(ws []aggregate.Window) []*write.Point {
	pts := make([]*write.Point, 0, len(ws))
	for _, w := range ws {
		tags := tagsOf(w.Entry)
		tags["window"] = aggregate.WindowName(w.Size)
		p := write.NewPoint(w.Entry.Category+AggregateSuffix, tags, nil, w.Start)
		for _, v := range w.Values {
			q := v.Quantity + "_"
			p.AddField(q+"count", int64(v.Count))
			p.AddField(q+"last", v.Last)
			switch v.Kind {
			case registryapi.AggregationIndex:
				p.AddField(q+"delta", v.Delta)
			case registryapi.AggregationOccupancy:
				if v.Covered > 0 {
					p.AddField(q+"ratio", v.Ratio)
				}
				p.AddField(q+"arrivals", int64(v.Arrivals))
			default:
				p.AddField(q+"mean", v.Mean)
				p.AddField(q+"min", v.Min)
				p.AddField(q+"max", v.Max)
			}
		}
		p.SortFields()
		pts = append(pts, p)
	}
	return pts
}

// tagsOf returns the tags of e's points: its own tags, sensor and site.
func tagsOf(e *registryapi.GatewaySensor) map[string]string {
	tags := make(map[string]string, len(e.Tags)+3)
	for tk, tv := range e.Tags {
		if tk != "" && tv != "" {
			tags[tk] = tv
		}
	}
	tags["sensor"] = e.ID
	if e.Site != "" {
		tags["site"] = e.Site
	} else {
		delete(tags, "site")
	}
	return tags
}

// rawReader reads raw readings back, for repairs.
type rawReader interface {
	raw(ctx context.Context, dest, measurement, sensor string, fields []string, from, to time.Time) ([]aggregate.Sample, error)
	last(ctx context.Context, dest, measurement, sensor string, fields []string, from, to time.Time) ([]aggregate.Sample, error)
}

// rawChunk bounds the time range of one query of raw readings.
const rawChunk = 24 * time.Hour

// Raw reads back the raw readings of e's quantities in [from, to) from
// dest (a destination from Destination), and for the quantities whose
// aggregation needs it (index, occupancy), the last reading of each in
// [from-lookback, from): what a repair recomputes a window from.
func (s *Writer) Raw(ctx context.Context, dest string, e *registryapi.GatewaySensor, from, to time.Time, lookback time.Duration) (samples, carries []aggregate.Sample, err error) {
	if s.rawReader == nil {
		return nil, nil, errors.New("this writer cannot read InfluxDB back")
	}
	var all, carried []string
	for _, q := range e.Quantities {
		all = append(all, q.Name)
		if q.AggregationKind() != registryapi.AggregationStats {
			carried = append(carried, q.Name)
		}
	}
	if len(carried) > 0 {
		if carries, err = s.rawReader.last(ctx, dest, e.Category, e.ID, carried, from.Add(-lookback), from); err != nil {
			return nil, nil, err
		}
	}
	for t := from; t.Before(to); t = t.Add(rawChunk) {
		end := t.Add(rawChunk)
		if end.After(to) {
			end = to
		}
		got, err := s.rawReader.raw(ctx, dest, e.Category, e.ID, all, t, end)
		if err != nil {
			return nil, nil, err
		}
		samples = append(samples, got...)
	}
	return samples, carries, nil
}

// rawQL1 reads raw readings from InfluxDB 1.x with InfluxQL.
type rawQL1 struct {
	q  *influxQL1
	rp string // the configured bucket's retention policy, for dest ""
}

// from returns the FROM clause of measurement in dest ("db/rp").
func (r *rawQL1) from(dest, measurement string) string {
	rp := r.rp
	if _, p, ok := strings.Cut(dest, "/"); ok && p != "" {
		rp = p
	}
	return quoteIdent(r.q.db) + "." + quoteIdent(rp) + "." + quoteIdent(measurement)
}

func (r *rawQL1) raw(ctx context.Context, dest, measurement, sensor string, fields []string, from, to time.Time) ([]aggregate.Sample, error) {
	cols := make([]string, len(fields))
	for i, f := range fields {
		cols[i] = quoteIdent(f)
	}
	stmt := fmt.Sprintf("SELECT %s FROM %s WHERE %s = %s AND time >= %d AND time < %d",
		strings.Join(cols, ","), r.from(dest, measurement), quoteIdent("sensor"), quoteString(sensor), from.UnixNano(), to.UnixNano())
	return r.run(ctx, stmt)
}

func (r *rawQL1) last(ctx context.Context, dest, measurement, sensor string, fields []string, from, to time.Time) ([]aggregate.Sample, error) {
	stmts := make([]string, len(fields))
	for i, f := range fields {
		stmts[i] = fmt.Sprintf("SELECT last(%s) AS %s FROM %s WHERE %s = %s AND time >= %d AND time < %d",
			quoteIdent(f), quoteIdent(f), r.from(dest, measurement), quoteIdent("sensor"), quoteString(sensor), from.UnixNano(), to.UnixNano())
	}
	return r.run(ctx, strings.Join(stmts, "; "))
}

// maxRawAnswer bounds one answer of raw readings (a day of one sensor).
const maxRawAnswer = 64 << 20

func (r *rawQL1) run(ctx context.Context, stmt string) ([]aggregate.Sample, error) {
	form := url.Values{"q": {stmt}, "db": {r.q.db}, "epoch": {"ns"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.q.base+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user, pass, ok := strings.Cut(r.q.token, ":"); ok {
		req.SetBasicAuth(user, pass)
	}
	resp, err := r.q.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("influxdb raw readings: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRawAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("influxdb raw readings: %w", err)
	}
	if len(body) > maxRawAnswer {
		return nil, fmt.Errorf("influxdb raw readings: answer larger than %d bytes", maxRawAnswer)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("influxdb raw readings: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return parseSamples(body)
}

// parseSamples reads the samples of an InfluxQL answer with epoch=ns: one
// per non-null value, its column naming the quantity.
func parseSamples(body []byte) ([]aggregate.Sample, error) {
	var res struct {
		Results []struct {
			Error  string `json:"error"`
			Series []struct {
				Columns []string        `json:"columns"`
				Values  [][]json.Number `json:"values"`
			} `json:"series"`
		} `json:"results"`
		Error string `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&res); err != nil {
		return nil, fmt.Errorf("influxdb raw readings: %w", err)
	}
	if res.Error != "" {
		return nil, fmt.Errorf("influxdb raw readings: %s", res.Error)
	}
	var out []aggregate.Sample
	for _, r := range res.Results {
		if r.Error != "" {
			return nil, fmt.Errorf("influxdb raw readings: %s", r.Error)
		}
		for _, s := range r.Series {
			if len(s.Columns) == 0 || s.Columns[0] != "time" {
				return nil, errors.New("influxdb raw readings: no time column")
			}
			for _, row := range s.Values {
				if len(row) != len(s.Columns) {
					return nil, errors.New("influxdb raw readings: a row does not match its columns")
				}
				ns, err := strconv.ParseInt(string(row[0]), 10, 64)
				if err != nil {
					return nil, fmt.Errorf("influxdb raw readings: time %q: %w", row[0], err)
				}
				for i := 1; i < len(row); i++ {
					if row[i] == "" {
						continue // null
					}
					v, err := row[i].Float64()
					if err != nil {
						return nil, fmt.Errorf("influxdb raw readings: %s = %q: %w", s.Columns[i], row[i], err)
					}
					out = append(out, aggregate.Sample{Quantity: s.Columns[i], Time: time.Unix(0, ns).UTC(), Value: v})
				}
			}
		}
	}
	return out, nil
}

// quoteString quotes an InfluxQL string literal.
func quoteString(s string) string {
	return `'` + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + `'`
}

// rawFlux reads raw readings from InfluxDB 2.x with Flux.
type rawFlux struct {
	api    api.QueryAPI
	bucket string // the configured bucket, for dest ""
}

func (r *rawFlux) query(ctx context.Context, dest, measurement, sensor string, fields []string, from, to time.Time, tail string) ([]aggregate.Sample, error) {
	if dest == "" {
		dest = r.bucket
	}
	conds := make([]string, len(fields))
	for i, f := range fields {
		conds[i] = "r._field == " + fluxString(f)
	}
	q := fmt.Sprintf(`from(bucket: %s)
  |> range(start: time(v: %d), stop: time(v: %d))
  |> filter(fn: (r) => r._measurement == %s and r.sensor == %s)
  |> filter(fn: (r) => %s)
  |> keep(columns: ["_time", "_field", "_value"])%s`,
		fluxString(dest), from.UnixNano(), to.UnixNano(), fluxString(measurement), fluxString(sensor), strings.Join(conds, " or "), tail)
	res, err := r.api.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("influxdb raw readings: %w", err)
	}
	defer res.Close()
	var out []aggregate.Sample
	for res.Next() {
		rec := res.Record()
		v, ok := rec.Value().(float64)
		if !ok {
			continue
		}
		out = append(out, aggregate.Sample{Quantity: rec.Field(), Time: rec.Time().UTC(), Value: v})
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("influxdb raw readings: %w", err)
	}
	return out, nil
}

func (r *rawFlux) raw(ctx context.Context, dest, measurement, sensor string, fields []string, from, to time.Time) ([]aggregate.Sample, error) {
	return r.query(ctx, dest, measurement, sensor, fields, from, to, "")
}

func (r *rawFlux) last(ctx context.Context, dest, measurement, sensor string, fields []string, from, to time.Time) ([]aggregate.Sample, error) {
	return r.query(ctx, dest, measurement, sensor, fields, from, to, "\n  |> last()")
}

// fluxString quotes a Flux string literal.
func fluxString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "${", `\${`).Replace(s) + `"`
}
