// Package dashboards is the part of civisens that reads InfluxDB — and only
// reads it: it never writes a point. It starts with the query the public
// register needs, the latest readings of one sensor ([Reader.Latest]) and its
// hourly averages over the last day ([Reader.Series]); it will
// grow into the dashboards of energy managers (consumption of public
// buildings against the décret tertiaire targets), and the air quality,
// parking and street lighting dashboards.
//
// It reads the layout the gateway writes: measurement = the sensor's
// category (air, parking, lighting, energy); tags sensor (the sensor id),
// site, and the entry's own tags; one float field per declared quantity;
// timestamps are the readings' own.
//
// Queries are Flux, through github.com/influxdata/influxdb-client-go/v2, so
// that the same code reads InfluxDB 1.8 (flux-enabled, a "database/retention
// policy" bucket, an empty org) and 2.x (an org and a bucket): see
// [FluxBucket].
//
// Readings are stored where their entry's retention says (the naming rule
// of registryapi.Retention): [Reader.Latest] takes the entry's retention
// and reads "database/civisens_p1y" (1.x) or "bucket_p1y" (2.x).
package dashboards

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/api"

	"github.com/civisens/civisens/registry/registryapi"
)

// DefaultRetentionPolicy is the InfluxDB 1.x retention policy that
// readings are read from when the bucket names none.
const DefaultRetentionPolicy = "autogen"

// FluxBucket returns the Flux bucket name for an InfluxDB bucket setting:
// with InfluxDB 1.x (org empty) a database name without a retention policy
// becomes "database/autogen"; otherwise bucket is used as it is.
func FluxBucket(org, bucket string) string {
	if org == "" && bucket != "" && !strings.Contains(bucket, "/") {
		return bucket + "/" + DefaultRetentionPolicy
	}
	return bucket
}

// Querier runs a Flux query; influxdb-client-go's api.QueryAPI is one.
type Querier interface {
	Query(ctx context.Context, query string) (*api.QueryTableResult, error)
}

// Reading is the latest value of one quantity of a sensor.
type Reading struct {
	Quantity string
	Value    float64
	Time     time.Time
}

// ErrInvalidInput is the kind of the error for a category or sensor id that
// cannot be part of a query.
var ErrInvalidInput = errors.New("invalid query input")

var (
	categoryRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	sensorRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
)

// Reader reads readings from one bucket.
type Reader struct {
	q      Querier
	bucket string
	window time.Duration
	ahead  time.Duration
}

// NewReader returns a Reader of bucket (a Flux bucket name: see
// FluxBucket) through q. Latest looks back over the last seven days.
func NewReader(q Querier, bucket string) *Reader {
	return &Reader{q: q, bucket: bucket, window: 7 * 24 * time.Hour, ahead: clockSkew}
}

// clockSkew is how far ahead of the server's clock Latest still looks: a
// sensor whose clock runs fast stamps its readings ahead, and the gateway
// accepts them up to its -max-future (5 minutes by default).
const clockSkew = 15 * time.Minute

// RetentionBucket returns the Flux bucket that readings of an entry with
// the given retention are stored in, from a Flux bucket as FluxBucket
// returns it: "database/rp" (InfluxDB 1.x) becomes
// "database/civisens_<suffix>", a 2.x bucket "bucket_<suffix>" (P5Y →
// civisens/civisens_p5y, civisens_p5y). An empty retention leaves bucket as
// it is.
func RetentionBucket(bucket, retention string) (string, error) {
	if retention == "" {
		return bucket, nil
	}
	return registryapi.RetentionDestination(strings.Contains(bucket, "/"), bucket, retention)
}

// Latest returns the latest reading of each quantity of the sensor id in
// category, stored where the entry's retention says (see RetentionBucket),
// written within the reader's window (seven days, and up to 15
// minutes ahead of now for fast sensor clocks), sorted by
// quantity; none when there is none. Numbers of any type are read as
// float64, booleans as 0 and 1; other values are skipped.
func (r *Reader) Latest(ctx context.Context, category, id, retention string) ([]Reading, error) {
	if !categoryRE.MatchString(category) {
		return nil, fmt.Errorf("dashboards: latest: category %q: %w", category, ErrInvalidInput)
	}
	if !sensorRE.MatchString(id) {
		return nil, fmt.Errorf("dashboards: latest: sensor %q: %w", id, ErrInvalidInput)
	}
	bucket, err := RetentionBucket(r.bucket, retention)
	if err != nil {
		return nil, fmt.Errorf("dashboards: latest of %s: %w: %w", id, ErrInvalidInput, err)
	}
	q := latestQuery(bucket, category, id, r.window, r.ahead)
	res, err := r.q.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("dashboards: latest of %s: %w", id, err)
	}
	defer res.Close()
	// last() answers one row per series; when a sensor's tags changed (it
	// moved site), a quantity has several series: keep the latest.
	latest := map[string]Reading{}
	for res.Next() {
		rec := res.Record()
		v, ok := number(rec.Value())
		if !ok {
			continue
		}
		f := rec.Field()
		if cur, seen := latest[f]; !seen || rec.Time().After(cur.Time) {
			latest[f] = Reading{Quantity: f, Value: v, Time: rec.Time()}
		}
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("dashboards: latest of %s: %w", id, err)
	}
	out := make([]Reading, 0, len(latest))
	for _, rd := range latest {
		out = append(out, rd)
	}
	slices.SortFunc(out, func(a, b Reading) int { return strings.Compare(a.Quantity, b.Quantity) })
	return out, nil
}

func latestQuery(bucket, category, id string, window, ahead time.Duration) string {
	return fmt.Sprintf(`from(bucket: %s)
  |> range(start: -%ds, stop: %ds)
  |> filter(fn: (r) => r._measurement == %s and r.sensor == %s)
  |> last()`, fluxString(bucket), int64(window/time.Second), int64(ahead/time.Second), fluxString(category), fluxString(id))
}

// fluxString returns s as a Flux string literal, escaping what Flux
// interprets in one: backslashes, double quotes and the interpolation "${".
func fluxString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '$':
			if i+1 < len(s) && s[i+1] == '{' {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func number(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case int64:
		return float64(v), true
	case uint64:
		return float64(v), true
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}
