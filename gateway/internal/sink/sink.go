// Package sink writes accepted readings to InfluxDB, 1.8+ or 2.x, through
// github.com/influxdata/influxdb-client-go/v2.
//
// # Shape of the data
//
// Readings of one sensor that share a timestamp become one point:
//
//	measurement  the entry's category (air, parking, lighting, energy, other)
//	tags         sensor = the sensor id, site = the entry's site (when set),
//	             and the entry's own tags (zone, building, meter…); an entry
//	             tag named sensor or site does not override those two
//	fields       one per quantity, its value as a float64
//	time         the reading's own time, to the nanosecond
//
// # InfluxDB 1.x and 2.x
//
// With an organisation ([Config.Org]), the server is InfluxDB 2.x: the bucket
// is a bucket and the token a token. Without one, it is InfluxDB 1.x: the
// bucket names the database, optionally followed by /retention-policy, the
// token is "user:password" (or empty when authentication is off), and
// [Writer.Prepare] creates the database with InfluxQL CREATE DATABASE (an
// idempotent statement) before the first write, again after the server said
// the database is missing. Writes go to the 1.8 compatibility endpoint
// /api/v2/write with bucket "database/retention-policy".
//
// # Retention
//
// A reading goes to the retention policy (1.x, "civisens/civisens_p1y") or
// bucket (2.x, "civisens_p1y") named by its entry's retention, by the rule
// of registryapi.ParseRetention ([Writer.Destination]); a reading of an
// entry without a retention goes to the configured bucket ("database/autogen"
// in 1.x). At its first use a destination is looked up (1.x SHOW RETENTION
// POLICIES, 2.x the buckets API): a missing one is created with the
// entry's duration unless [Config.NoCreateRetention]; one that is missing
// and may not be created, or exists with another duration, or a retention
// InfluxDB cannot enforce, is refused with a [*RetentionError]. The drainer
// sends refused readings to the dead letters (status 0, the reason
// retention_missing, retention_mismatch or retention_invalid) and counts
// them in civisens_gateway_readings_refused_total{reason,sensor}, rather
// than keeping them in the spool, where they would block every reading
// behind them. A refusal is remembered for a minute, then checked again.
//
// # Writes and their failures
//
// [Writer.Write] writes a batch in one request. It returns nil when InfluxDB
// took it, a [*RefusedError] when InfluxDB refused it for good (HTTP 400,
// 413, 422: a field type conflict, points beyond the retention policy, a
// malformed or too large request), and any other error (network, 5xx,
// 429, 401/403, 404) for a failure that a later attempt may not meet.
//
// # Draining the spool
//
// A [Drainer] is the one reader of the spool: it reads batches of at most
// BatchSize readings, waiting at most FlushInterval for a batch to fill,
// writes them with their own timestamps, and marks them sent only then.
// A failure that may pass is retried forever, with a backoff doubling from
// 100 ms to 30 s (or the server's Retry-After, up to a minute), while the
// spool grows. A batch refused for good is split in halves, recursively,
// down to the points that InfluxDB refuses; those go to the dead-letter
// files with the reason ([DeadLetters]) and are counted, and
// the rest is written. A point is never dropped silently and never blocks
// the points behind it.
//
// After a crash, the spool hands again what was sent since its last
// checkpoint: the same points with the same timestamps, which InfluxDB
// stores once.
package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"
	"github.com/influxdata/influxdb-client-go/v2/api/write"

	"github.com/civisens/civisens/gateway/internal/metrics"
	"github.com/civisens/civisens/gateway/internal/validate"
)

// pointWriter is what the sink needs of the InfluxDB client
// (api.WriteAPIBlocking satisfies it).
type pointWriter interface {
	WritePoint(ctx context.Context, point ...*write.Point) error
	WriteRecord(ctx context.Context, line ...string) error
}

// Defaults of [Config].
const (
	DefaultURL     = "http://127.0.0.1:8086"
	DefaultBucket  = "civisens"
	DefaultTimeout = 10 * time.Second
	// DefaultRetentionPolicy is the 1.x retention policy written when the
	// bucket names only a database.
	DefaultRetentionPolicy = "autogen"
)

// Config says which InfluxDB to write to. The zero value of each field means
// its default.
type Config struct {
	// URL of the server; DefaultURL if empty.
	URL string
	// Token: 2.x an API token; 1.x "user:password", or empty.
	Token string
	// Org is the 2.x organisation; empty means InfluxDB 1.x.
	Org string
	// Bucket: 2.x the bucket; 1.x "database" or "database/retention-policy".
	// DefaultBucket if empty.
	Bucket string
	// Timeout of one HTTP request; DefaultTimeout if zero.
	Timeout time.Duration
	// NoCreateRetention forbids creating the retention policies (1.x) or
	// buckets (2.x) that entries' retentions need; their readings are then
	// refused with reason retention_missing.
	NoCreateRetention bool
}

// LogValue prints the configuration without its token.
func (c Config) LogValue() slog.Value {
	tok := ""
	if c.Token != "" {
		tok = "(redacted)"
	}
	return slog.GroupValue(slog.String("url", c.URL), slog.String("org", c.Org), slog.String("bucket", c.Bucket), slog.String("token", tok))
}

// V1 reports whether c addresses InfluxDB 1.x.
func (c Config) V1() bool { return c.Org == "" }

// database returns the 1.x database and the bucket to write to.
func (c Config) database() (db, bucket string) {
	db, rp, ok := strings.Cut(c.Bucket, "/")
	if !ok || rp == "" {
		rp = DefaultRetentionPolicy
	}
	return db, db + "/" + rp
}

func (c Config) withDefaults() Config {
	if c.URL == "" {
		c.URL = DefaultURL
	}
	if c.Bucket == "" {
		c.Bucket = DefaultBucket
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	c.URL = strings.TrimRight(c.URL, "/")
	return c
}

// Writer writes batches of accepted readings. It is safe for concurrent use.
type Writer struct {
	w         pointWriter                     // to the configured bucket
	writerFor func(dest string) pointWriter   // nil: w for every destination
	dests     *destinations                   // nil: every reading goes to w
	prepare   func(ctx context.Context) error // nil when there is nothing to prepare
	close     func()
	log       *slog.Logger
	rawReader rawReader // nil: cannot read back (New)

	written      *metrics.Counter
	points       *metrics.Counter
	writeErrors  *metrics.Counter
	batches      *metrics.Counter
	writeSeconds *metrics.Counter
	writeLatency *metrics.Histogram

	mu        sync.Mutex
	writers   map[string]pointWriter
	prepared  bool
	lastErr   error
	lastWrite time.Time
	reachable bool
}

// New returns a writer that writes through w, for tests and for callers
// that build their own client. prepare, if not nil, runs before the first
// write and again after a write failed with "database not found".
func New(w pointWriter, prepare func(ctx context.Context) error, log *slog.Logger, reg *metrics.Registry) *Writer {
	return &Writer{
		w:            w,
		prepare:      prepare,
		close:        func() {},
		log:          log,
		written:      reg.Counter("civisens_gateway_readings_written_total", "Readings written to InfluxDB."),
		points:       reg.Counter("civisens_gateway_influx_points_written_total", "Points written to InfluxDB (readings of one sensor at one time share a point)."),
		writeErrors:  reg.Counter("civisens_gateway_influx_write_errors_total", "Failed requests to InfluxDB (retried; refusals for good included)."),
		batches:      reg.Counter("civisens_gateway_influx_batches_written_total", "Requests that wrote a batch to InfluxDB."),
		writeSeconds: reg.Counter("civisens_gateway_influx_write_seconds_total", "Time spent in successful InfluxDB writes; divided by batches_written_total, the mean write latency."),
		writeLatency: reg.Histogram("civisens_gateway_influx_write_seconds", "Duration of InfluxDB write requests, successful or not.",
			[]float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}),
	}
}

// Open returns a writer to the InfluxDB that cfg names.
func Open(cfg Config, log *slog.Logger, reg *metrics.Registry) *Writer {
	cfg = cfg.withDefaults()
	opts := influxdb2.DefaultOptions().
		SetApplicationName("civisens-gateway").
		SetPrecision(time.Nanosecond).
		SetHTTPRequestTimeout(uint(cfg.Timeout.Seconds() + 0.5))
	client := influxdb2.NewClientWithOptions(cfg.URL, cfg.Token, opts)
	var (
		prepare func(context.Context) error
		raw     rawReader
	)
	bucket := cfg.Bucket
	ds := &destinations{v1: cfg.V1(), base: cfg.Bucket, create: !cfg.NoCreateRetention, now: time.Now, checked: map[string]checked{}}
	if cfg.V1() {
		var db string
		db, bucket = cfg.database()
		hc := &http.Client{Timeout: cfg.Timeout}
		prepare = func(ctx context.Context) error { return createDatabase(ctx, hc, cfg.URL, cfg.Token, db) }
		ql := &influxQL1{hc: hc, base: cfg.URL, token: cfg.Token, db: db}
		ds.store = ql
		_, rp, _ := strings.Cut(bucket, "/")
		raw = &rawQL1{q: ql, rp: rp}
	} else {
		var (
			orgMu sync.Mutex
			orgID string
		)
		ds.store = &buckets2{api: client.BucketsAPI(), orgID: func(ctx context.Context) (string, error) {
			orgMu.Lock()
			defer orgMu.Unlock()
			if orgID == "" {
				o, err := client.OrganizationsAPI().FindOrganizationByName(ctx, cfg.Org)
				if err != nil {
					return "", fmt.Errorf("influxdb organisation %q: %w", cfg.Org, err)
				}
				if o.Id != nil {
					orgID = *o.Id
				}
			}
			return orgID, nil
		}}
		raw = &rawFlux{api: client.QueryAPI(cfg.Org), bucket: cfg.Bucket}
		prepare = func(ctx context.Context) error {
			if _, err := client.Ping(ctx); err != nil {
				return fmt.Errorf("influxdb %s: %w", cfg.URL, err)
			}
			return nil
		}
	}
	s := New(client.WriteAPIBlocking(cfg.Org, bucket), prepare, log, reg)
	s.writerFor = func(dest string) pointWriter { return client.WriteAPIBlocking(cfg.Org, dest) }
	s.dests = ds
	s.rawReader = raw
	s.close = client.Close
	return s
}

// Close releases the client's resources.
func (s *Writer) Close() { s.close() }

// Prepare makes the server ready for writes (1.x: creates the database;
// 2.x: pings the server). Commit calls it when needed; calling it at start
// reports early whether InfluxDB is there.
func (s *Writer) Prepare(ctx context.Context) error {
	s.mu.Lock()
	prepared := s.prepared
	s.mu.Unlock()
	if prepared || s.prepare == nil {
		return nil
	}
	if err := s.prepare(ctx); err != nil {
		s.failed(err)
		return err
	}
	s.mu.Lock()
	s.prepared, s.reachable, s.lastErr = true, true, nil
	s.mu.Unlock()
	return nil
}

// RefusedError is InfluxDB refusing a write for good: the same request
// would be refused again.
type RefusedError struct {
	Status int
	Err    error
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("influxdb refused the write (HTTP %d): %v", e.Status, e.Err)
}

func (e *RefusedError) Unwrap() error { return e.Err }

// Write writes batch in one request; see the package documentation for
// what its result means.
func (s *Writer) Write(ctx context.Context, batch []validate.Accepted) error {
	if len(batch) == 0 {
		return nil
	}
	var lb lineBatch
	lb.encode(batch)
	if len(lb.ends) == 0 {
		return nil
	}
	text, readings := lb.lines(0, len(lb.ends))
	return s.WriteLines(ctx, "", text, len(lb.ends), readings)
}

// Destination returns where the readings of an entry with the given
// retention go, to pass to WritePoints: the retention policy or bucket
// that enforces it, checked (and created if allowed) at its first use. It
// returns a [*RetentionError] when the gateway refuses to write there, and
// another error when InfluxDB could not be asked (to retry). An empty
// retention goes to the configured bucket ("").
func (s *Writer) Destination(ctx context.Context, retention string) (string, error) {
	if s.dests == nil || retention == "" {
		return "", nil
	}
	if err := s.Prepare(ctx); err != nil {
		s.writeErrors.Inc()
		return "", err
	}
	dest, err := s.dests.resolve(ctx, retention)
	var re *RetentionError
	if err != nil && !errors.As(err, &re) {
		s.writeErrors.Inc()
		s.failed(err)
	}
	return dest, err
}

// writer returns the client writing to dest.
func (s *Writer) writer(dest string) pointWriter {
	if dest == "" || s.writerFor == nil {
		return s.w
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.writers[dest]
	if !ok {
		if s.writers == nil {
			s.writers = map[string]pointWriter{}
		}
		w = s.writerFor(dest)
		s.writers[dest] = w
	}
	return w
}

// WritePoints writes pts, which hold the given number of readings, in one
// request to dest (from Destination; "" is the configured bucket), as
// Write does.
func (s *Writer) WritePoints(ctx context.Context, dest string, pts []*write.Point, readings int) error {
	if err := s.Prepare(ctx); err != nil {
		s.writeErrors.Inc()
		return err
	}
	start := time.Now()
	err := s.writer(dest).WritePoint(ctx, pts...)
	return s.wrote(err, start, len(pts), readings)
}

// WriteLines writes lines of line protocol, which hold the given numbers
// of points and readings, in one request to dest, as WritePoints does.
func (s *Writer) WriteLines(ctx context.Context, dest, lines string, points, readings int) error {
	if err := s.Prepare(ctx); err != nil {
		s.writeErrors.Inc()
		return err
	}
	start := time.Now()
	err := s.writer(dest).WriteRecord(ctx, lines)
	return s.wrote(err, start, points, readings)
}

// wrote counts a write that began at start and ended with err, and
// returns err classified: nil, a *RefusedError, or an error to retry.
func (s *Writer) wrote(err error, start time.Time, points, readings int) error {
	s.writeLatency.ObserveDuration(time.Since(start))
	if err == nil {
		s.mu.Lock()
		s.reachable, s.lastErr, s.lastWrite = true, nil, time.Now()
		s.mu.Unlock()
		s.written.Add(uint64(readings))
		s.points.Add(uint64(points))
		s.batches.Inc()
		s.writeSeconds.AddFloat(time.Since(start).Seconds())
		return nil
	}
	s.writeErrors.Inc()
	var he *influxhttp.Error
	if errors.As(err, &he) {
		switch he.StatusCode {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
			// The server answered, and will answer the same again.
			s.mu.Lock()
			s.reachable, s.lastErr = true, nil
			s.mu.Unlock()
			return &RefusedError{Status: he.StatusCode, Err: err}
		case http.StatusNotFound:
			s.mu.Lock()
			s.prepared = false // the database went away: create it again
			s.mu.Unlock()
			if s.dests != nil {
				s.dests.forget() // and its retention policies
			}
		}
	}
	s.failed(err)
	return fmt.Errorf("influxdb write of %d points: %w", points, err)
}

func (s *Writer) failed(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reachable, s.lastErr = false, err
}

// Status is the writer's state, for health.
type Status struct {
	Reachable bool      // the last request succeeded
	LastWrite time.Time // zero if none yet
	LastError error
}

// Status returns the writer's state.
func (s *Writer) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Status{Reachable: s.reachable, LastWrite: s.lastWrite, LastError: s.lastErr}
}

// createDatabase runs CREATE DATABASE db on the InfluxDB 1.x at base.
func createDatabase(ctx context.Context, hc *http.Client, base, token, db string) error {
	form := url.Values{"q": {"CREATE DATABASE " + quoteIdent(db)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("influxdb %s: %w", base, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if token != "" {
		req.Header.Set("Authorization", "Token "+token) // 1.8 reads "Token user:password"
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("influxdb create database %q: %w", db, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("influxdb create database %q: %s: %s", db, resp.Status, strings.TrimSpace(string(body)))
	}
	// InfluxQL reports statement errors inside a 200 answer.
	if strings.Contains(string(body), `"error"`) {
		return fmt.Errorf("influxdb create database %q: %s", db, strings.TrimSpace(string(body)))
	}
	return nil
}

// quoteIdent quotes an InfluxQL identifier.
func quoteIdent(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
