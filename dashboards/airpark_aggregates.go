package dashboards

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// AggregateRetention is the retention the gateway writes the aggregates of
// sensors without personal data with (its -aggregate-retention default):
// they are read from "database/civisens_p10y" (1.x) or "bucket_p10y"
// (2.x). Pass the entry's own retention for identifiable or pseudonymised
// sensors, whose aggregates follow their readings.
const AggregateRetention = "P10Y"

// windowRow is one field of one aggregate window of a sensor.
type windowRow struct {
	Time   time.Time
	Sensor string
	Tags   map[string]string // the series' tags but sensor and window
	Field  string
	Value  float64
}

var aggWindowRE = regexp.MustCompile(`^[1-9][0-9]{0,5}[smhd]$`)

// windowRows reads the fields of measurement (the gateway's
// "<category>_agg") for windows of size window ("1h") that start in
// [from, to), from the bucket of retention, in time order.
func (r *Reader) windowRows(ctx context.Context, retention, measurement, window string, fields []string, from, to time.Time) ([]windowRow, error) {
	if !aggWindowRE.MatchString(window) || !to.After(from) || len(fields) == 0 {
		return nil, fmt.Errorf("dashboards: %s window %q over [%v, %v): %w", measurement, window, from, to, ErrInvalidInput)
	}
	bucket, err := RetentionBucket(r.bucket, retention)
	if err != nil {
		return nil, fmt.Errorf("dashboards: %s: %w: %w", measurement, ErrInvalidInput, err)
	}
	return r.queryRows(ctx, measurement, rowsQuery(bucket, measurement, window, fields, from, to))
}

// rawRows reads fields of the raw readings of category in [from, to).
func (r *Reader) rawRows(ctx context.Context, retention, category string, fields []string, from, to time.Time) ([]windowRow, error) {
	if !categoryRE.MatchString(category) || !to.After(from) || len(fields) == 0 {
		return nil, fmt.Errorf("dashboards: %s over [%v, %v): %w", category, from, to, ErrInvalidInput)
	}
	bucket, err := RetentionBucket(r.bucket, retention)
	if err != nil {
		return nil, fmt.Errorf("dashboards: %s: %w: %w", category, ErrInvalidInput, err)
	}
	return r.queryRows(ctx, category, rowsQuery(bucket, category, "", fields, from, to))
}

func (r *Reader) queryRows(ctx context.Context, what, q string) ([]windowRow, error) {
	res, err := r.q.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("dashboards: %s: %w", what, err)
	}
	defer res.Close()
	var rows []windowRow
	for res.Next() {
		rec := res.Record()
		v, ok := number(rec.Value())
		if !ok {
			continue
		}
		row := windowRow{Time: rec.Time(), Field: rec.Field(), Value: v, Tags: map[string]string{}}
		for k, tv := range rec.Values() {
			s, ok := tv.(string)
			if !ok || strings.HasPrefix(k, "_") || k == "result" || k == "table" || k == "window" {
				continue
			}
			if k == "sensor" {
				row.Sensor = s
				continue
			}
			row.Tags[k] = s
		}
		rows = append(rows, row)
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("dashboards: %s: %w", what, err)
	}
	slices.SortStableFunc(rows, func(a, b windowRow) int { return a.Time.Compare(b.Time) })
	return rows, nil
}

func rowsQuery(bucket, measurement, window string, fields []string, from, to time.Time) string {
	var f []string
	for _, name := range fields {
		f = append(f, "r._field == "+fluxString(name))
	}
	filter := "r._measurement == " + fluxString(measurement)
	if window != "" {
		filter += " and r.window == " + fluxString(window)
	}
	return fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => %s and (%s))`,
		fluxString(bucket), from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano),
		filter, strings.Join(f, " or "))
}
