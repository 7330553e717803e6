package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/api"
	"github.com/influxdata/influxdb-client-go/v2/domain"

	"github.com/civisens/civisens/registry/registryapi"
)

// Reasons of a [RetentionError].
const (
	// ReasonRetentionMismatch: the retention policy or bucket exists with
	// another duration than the entry declares.
	ReasonRetentionMismatch = "retention_mismatch"
	// ReasonRetentionMissing: it does not exist and the gateway may not
	// create it (-influx-create-retention=false).
	ReasonRetentionMissing = "retention_missing"
	// ReasonRetentionInvalid: the entry's retention is not a duration
	// InfluxDB can enforce (see registryapi.ParseRetention).
	ReasonRetentionInvalid = "retention_invalid"
)

// RetentionError is the gateway refusing to write readings because their
// destination does not enforce the retention their entry declares.
type RetentionError struct {
	Reason string // one of the Reason constants
	Msg    string
}

func (e *RetentionError) Error() string { return e.Reason + ": " + e.Msg }

// recheckAfter is how long a refused destination stays refused before it
// is looked at again (an operator may have fixed it).
const recheckAfter = time.Minute

// retentionStore looks up and creates retention policies or buckets.
type retentionStore interface {
	// lookup returns the duration of name, whether it exists.
	lookup(ctx context.Context, name string) (d time.Duration, ok bool, err error)
	create(ctx context.Context, name string, r registryapi.Retention) error
	// kind names what name is, for messages ("retention policy").
	kind() string
}

// destinations resolves an entry's retention to where its readings go,
// checking each destination once (see the package documentation).
type destinations struct {
	v1     bool
	base   string // the configured bucket
	create bool
	store  retentionStore
	now    func() time.Time

	mu      sync.Mutex
	checked map[string]checked // by retention as the entry writes it
	// checkMu serialises the checks: the drainer's writers would check
	// (and create) the same policy or bucket at once.
	checkMu sync.Mutex
}

type checked struct {
	dest string
	err  *RetentionError
	at   time.Time
}

// resolve returns the client's bucket name for retention, or a
// *RetentionError, or another error (InfluxDB unreachable) to retry.
func (ds *destinations) resolve(ctx context.Context, retention string) (string, error) {
	if c, ok := ds.known(retention); ok {
		return c.result()
	}
	ds.checkMu.Lock()
	defer ds.checkMu.Unlock()
	if c, ok := ds.known(retention); ok { // checked while this one waited
		return c.result()
	}
	c, err := ds.check(ctx, retention)
	if err != nil {
		return "", err
	}
	ds.mu.Lock()
	ds.checked[retention] = c
	ds.mu.Unlock()
	return c.result()
}

// known returns what was checked of retention, unless it is to check again.
func (ds *destinations) known(retention string) (checked, bool) {
	ds.mu.Lock()
	c, ok := ds.checked[retention]
	ds.mu.Unlock()
	return c, ok && (c.err == nil || ds.now().Sub(c.at) < recheckAfter)
}

func (c checked) result() (string, error) {
	if c.err != nil {
		return "", c.err
	}
	return c.dest, nil
}

// forget drops what was checked, to check again at the next use.
func (ds *destinations) forget() {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	clear(ds.checked)
}

func (ds *destinations) check(ctx context.Context, retention string) (checked, error) {
	now := ds.now()
	r, err := registryapi.ParseRetention(retention)
	if err != nil {
		return checked{at: now, err: &RetentionError{Reason: ReasonRetentionInvalid, Msg: err.Error()}}, nil
	}
	dest, _ := registryapi.RetentionDestination(ds.v1, ds.base, retention)
	name := r.Bucket(ds.base)
	if ds.v1 {
		name = r.RetentionPolicy()
	}
	d, ok, err := ds.store.lookup(ctx, name)
	if err != nil {
		return checked{}, err
	}
	switch {
	case !ok && !ds.create:
		return checked{at: now, err: &RetentionError{Reason: ReasonRetentionMissing,
			Msg: fmt.Sprintf("%s %s does not exist and -influx-create-retention is false; the register declares %s", ds.store.kind(), name, r)}}, nil
	case !ok:
		if err := ds.store.create(ctx, name, r); err != nil {
			return checked{}, fmt.Errorf("creating %s %s: %w", ds.store.kind(), name, err)
		}
	case d != r.Duration():
		return checked{at: now, err: &RetentionError{Reason: ReasonRetentionMismatch,
			Msg: fmt.Sprintf("%s %s has duration %s, the register declares %s (%dh)", ds.store.kind(), name, fmtDuration(d), r, r.Hours())}}, nil
	}
	return checked{at: now, dest: dest}, nil
}

func fmtDuration(d time.Duration) string {
	if d == 0 {
		return "infinite"
	}
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return d.String()
}

// shardDuration is InfluxDB's own default shard group duration for a
// retention policy of duration d.
func shardDuration(d time.Duration) string {
	switch {
	case d < 2*24*time.Hour:
		return "1h"
	case d <= 180*24*time.Hour:
		return "1d"
	}
	return "7d"
}

// influxQL1 manages the retention policies of one InfluxDB 1.x database.
type influxQL1 struct {
	hc          *http.Client
	base, token string
	db          string
}

func (q *influxQL1) kind() string { return "retention policy" }

func (q *influxQL1) query(ctx context.Context, stmt string) ([]byte, error) {
	form := url.Values{"q": {stmt}, "db": {q.db}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, q.base+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user, pass, ok := strings.Cut(q.token, ":"); ok {
		req.SetBasicAuth(user, pass)
	}
	resp, err := q.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}

func (q *influxQL1) lookup(ctx context.Context, name string) (time.Duration, bool, error) {
	body, err := q.query(ctx, "SHOW RETENTION POLICIES ON "+quoteIdent(q.db))
	if err != nil {
		return 0, false, fmt.Errorf("influxdb show retention policies on %q: %w", q.db, err)
	}
	return parseRetentionPolicies(body, name)
}

// parseRetentionPolicies finds name in the answer of SHOW RETENTION POLICIES.
func parseRetentionPolicies(body []byte, name string) (time.Duration, bool, error) {
	var res struct {
		Results []struct {
			Error  string `json:"error"`
			Series []struct {
				Columns []string `json:"columns"`
				Values  [][]any  `json:"values"`
			} `json:"series"`
		} `json:"results"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return 0, false, fmt.Errorf("influxdb show retention policies: %w", err)
	}
	for _, r := range res.Results {
		if r.Error != "" {
			return 0, false, fmt.Errorf("influxdb show retention policies: %s", r.Error)
		}
		for _, s := range r.Series {
			ni, di := -1, -1
			for i, c := range s.Columns {
				switch c {
				case "name":
					ni = i
				case "duration":
					di = i
				}
			}
			if ni < 0 || di < 0 {
				return 0, false, errors.New("influxdb show retention policies: no name or duration column")
			}
			for _, v := range s.Values {
				if len(v) <= max(ni, di) || v[ni] != name {
					continue
				}
				ds, _ := v[di].(string)
				d, err := time.ParseDuration(ds)
				if err != nil {
					return 0, false, fmt.Errorf("influxdb retention policy %s: duration %q: %w", name, ds, err)
				}
				return d, true, nil
			}
		}
	}
	return 0, false, nil
}

func (q *influxQL1) create(ctx context.Context, name string, r registryapi.Retention) error {
	stmt := fmt.Sprintf("CREATE RETENTION POLICY %s ON %s DURATION %dh REPLICATION 1 SHARD DURATION %s",
		quoteIdent(name), quoteIdent(q.db), r.Hours(), shardDuration(r.Duration()))
	body, err := q.query(ctx, stmt)
	if err != nil {
		return err
	}
	if strings.Contains(string(body), `"error"`) {
		return fmt.Errorf("%s", strings.TrimSpace(string(body)))
	}
	return nil
}

// bucketsAPI is what the sink needs of influxdb-client-go's api.BucketsAPI.
type bucketsAPI interface {
	FindBucketByName(ctx context.Context, name string) (*domain.Bucket, error)
	CreateBucketWithNameWithID(ctx context.Context, orgID, name string, rules ...domain.RetentionRule) (*domain.Bucket, error)
}

var _ bucketsAPI = api.BucketsAPI(nil)

// buckets2 manages the buckets of one InfluxDB 2.x organisation.
type buckets2 struct {
	api   bucketsAPI
	orgID func(ctx context.Context) (string, error)
}

func (b *buckets2) kind() string { return "bucket" }

func (b *buckets2) lookup(ctx context.Context, name string) (time.Duration, bool, error) {
	bk, err := b.api.FindBucketByName(ctx, name)
	if err != nil {
		if strings.Contains(err.Error(), "not found") {
			return 0, false, nil
		}
		return 0, false, fmt.Errorf("influxdb find bucket %q: %w", name, err)
	}
	var d time.Duration
	for _, r := range bk.RetentionRules {
		if r.Type == nil || *r.Type == domain.RetentionRuleTypeExpire {
			d = time.Duration(r.EverySeconds) * time.Second
		}
	}
	return d, true, nil
}

func (b *buckets2) create(ctx context.Context, name string, r registryapi.Retention) error {
	orgID, err := b.orgID(ctx)
	if err != nil {
		return err
	}
	expire := domain.RetentionRuleTypeExpire
	_, err = b.api.CreateBucketWithNameWithID(ctx, orgID, name,
		domain.RetentionRule{Type: &expire, EverySeconds: int64(r.Duration() / time.Second)})
	return err
}
