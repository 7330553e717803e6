package dashboards

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Point is one value of a series at a time.
type Point struct {
	Time  time.Time
	Value float64
}

// Series is the values of one quantity of a sensor over a time range, in
// time order.
type Series struct {
	Quantity string
	Points   []Point
}

// Series returns, for each quantity of the sensor id in category, its
// readings between from and to averaged over windows of every (one hour
// for the register's chart), sorted by quantity. It reads the raw readings
// where the entry's retention says (see RetentionBucket) — the same
// readings as Latest — and lets InfluxDB average them (Flux
// aggregateWindow with mean): a point is stamped with the start of its
// window, and a window without readings has no point. A sensor whose tags
// changed (it moved site) has one series per quantity all the same.
// Booleans count as 0 and 1. every below one second is an error.
func (r *Reader) Series(ctx context.Context, category, id, retention string, from, to time.Time, every time.Duration) ([]Series, error) {
	if !categoryRE.MatchString(category) {
		return nil, fmt.Errorf("dashboards: series: category %q: %w", category, ErrInvalidInput)
	}
	if !sensorRE.MatchString(id) {
		return nil, fmt.Errorf("dashboards: series: sensor %q: %w", id, ErrInvalidInput)
	}
	if every < time.Second || !to.After(from) {
		return nil, fmt.Errorf("dashboards: series of %s: window %v over [%v, %v): %w", id, every, from, to, ErrInvalidInput)
	}
	bucket, err := RetentionBucket(r.bucket, retention)
	if err != nil {
		return nil, fmt.Errorf("dashboards: series of %s: %w: %w", id, ErrInvalidInput, err)
	}
	res, err := r.q.Query(ctx, seriesQuery(bucket, category, id, from, to, every))
	if err != nil {
		return nil, fmt.Errorf("dashboards: series of %s: %w", id, err)
	}
	defer res.Close()
	byQuantity := map[string][]Point{}
	for res.Next() {
		rec := res.Record()
		v, ok := number(rec.Value())
		if !ok {
			continue
		}
		byQuantity[rec.Field()] = append(byQuantity[rec.Field()], Point{Time: rec.Time(), Value: v})
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("dashboards: series of %s: %w", id, err)
	}
	out := make([]Series, 0, len(byQuantity))
	for q, pts := range byQuantity {
		slices.SortFunc(pts, func(a, b Point) int { return a.Time.Compare(b.Time) })
		out = append(out, Series{Quantity: q, Points: pts})
	}
	slices.SortFunc(out, func(a, b Series) int { return strings.Compare(a.Quantity, b.Quantity) })
	return out, nil
}

// seriesQuery averages the sensor's readings per field over windows of
// every. Grouping by field alone merges the series of a sensor that moved;
// toFloat lets mean read integers and booleans too.
func seriesQuery(bucket, category, id string, from, to time.Time, every time.Duration) string {
	return fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r._measurement == %s and r.sensor == %s)
  |> toFloat()
  |> group(columns: ["_field"])
  |> aggregateWindow(every: %ds, fn: mean, timeSrc: "_start", createEmpty: false)`,
		fluxString(bucket), from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339),
		fluxString(category), fluxString(id), int64(every/time.Second))
}
