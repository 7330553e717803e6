package sink

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/domain"

	"github.com/civisens/civisens/registry/registryapi"
)

type fakeStore struct {
	have    map[string]time.Duration
	created []string
	err     error
}

func (f *fakeStore) kind() string { return "retention policy" }
func (f *fakeStore) lookup(_ context.Context, name string) (time.Duration, bool, error) {
	if f.err != nil {
		return 0, false, f.err
	}
	d, ok := f.have[name]
	return d, ok, nil
}
func (f *fakeStore) create(_ context.Context, name string, r registryapi.Retention) error {
	f.created = append(f.created, name)
	f.have[name] = r.Duration()
	return nil
}

func TestDestinations(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1e9, 0)
	fs := &fakeStore{have: map[string]time.Duration{"civisens_p30d": 24 * time.Hour}}
	ds := &destinations{v1: true, base: "civisens", create: true, store: fs, now: func() time.Time { return now }, checked: map[string]checked{}}

	if d, err := ds.resolve(ctx, "P1Y"); err != nil || d != "civisens/civisens_p1y" {
		t.Errorf("P1Y: %q, %v", d, err)
	}
	if d, err := ds.resolve(ctx, "P1Y"); err != nil || d != "civisens/civisens_p1y" || len(fs.created) != 1 {
		t.Errorf("P1Y again: %q, %v, created %v", d, err, fs.created)
	}
	var re *RetentionError
	if _, err := ds.resolve(ctx, "P30D"); !errors.As(err, &re) || re.Reason != ReasonRetentionMismatch ||
		!strings.Contains(re.Msg, "civisens_p30d has duration 24h, the register declares P30D (720h)") {
		t.Errorf("P30D: %v", err)
	}
	if _, err := ds.resolve(ctx, "forever"); !errors.As(err, &re) || re.Reason != ReasonRetentionInvalid {
		t.Errorf("forever: %v", err)
	}
	// Fixed by the operator: looked at again after recheckAfter.
	fs.have["civisens_p30d"] = 720 * time.Hour
	if _, err := ds.resolve(ctx, "P30D"); err == nil {
		t.Error("P30D checked again before recheckAfter")
	}
	now = now.Add(recheckAfter)
	if d, err := ds.resolve(ctx, "P30D"); err != nil || d != "civisens/civisens_p30d" {
		t.Errorf("P30D fixed: %q, %v", d, err)
	}
	// Not allowed to create.
	ds2 := &destinations{v1: false, base: "civisens", store: fs, now: time.Now, checked: map[string]checked{}}
	if _, err := ds2.resolve(ctx, "P2Y"); !errors.As(err, &re) || re.Reason != ReasonRetentionMissing {
		t.Errorf("P2Y without create: %v", err)
	}
	// InfluxDB away: an error to retry, not cached.
	fs.err = errors.New("connection refused")
	ds3 := &destinations{v1: true, base: "civisens", create: true, store: fs, now: time.Now, checked: map[string]checked{}}
	if _, err := ds3.resolve(ctx, "P1Y"); err == nil || errors.As(err, &re) || len(ds3.checked) != 0 {
		t.Errorf("unreachable: %v", err)
	}
}

func TestParseRetentionPolicies(t *testing.T) {
	body := []byte(`{"results":[{"statement_id":0,"series":[{"columns":["name","duration","shardGroupDuration","replicaN","default"],
		"values":[["autogen","0s","168h0m0s",1,true],["civisens_p1y","8760h0m0s","168h0m0s",1,false]]}]}]}`)
	if d, ok, err := parseRetentionPolicies(body, "civisens_p1y"); err != nil || !ok || d != 8760*time.Hour {
		t.Errorf("civisens_p1y: %v %v %v", d, ok, err)
	}
	if _, ok, err := parseRetentionPolicies(body, "civisens_p5y"); err != nil || ok {
		t.Errorf("civisens_p5y: %v %v", ok, err)
	}
	if _, _, err := parseRetentionPolicies([]byte(`{"results":[{"error":"database not found: x"}]}`), "a"); err == nil {
		t.Error("no error for an InfluxQL error")
	}
}

type fakeBuckets struct {
	have    map[string]*domain.Bucket
	created []domain.RetentionRule
}

func (f *fakeBuckets) FindBucketByName(_ context.Context, name string) (*domain.Bucket, error) {
	if b, ok := f.have[name]; ok {
		return b, nil
	}
	return nil, errors.New("bucket '" + name + "' not found")
}

func (f *fakeBuckets) CreateBucketWithNameWithID(_ context.Context, orgID, name string, rules ...domain.RetentionRule) (*domain.Bucket, error) {
	if orgID != "org-1" {
		return nil, errors.New("wrong org")
	}
	f.created = append(f.created, rules...)
	b := &domain.Bucket{Name: name, RetentionRules: rules}
	f.have[name] = b
	return b, nil
}

func TestBuckets2(t *testing.T) {
	ctx := context.Background()
	expire := domain.RetentionRuleTypeExpire
	fb := &fakeBuckets{have: map[string]*domain.Bucket{
		"civisens_p30d": {Name: "civisens_p30d", RetentionRules: domain.RetentionRules{{Type: &expire, EverySeconds: 3600}}},
	}}
	ds := &destinations{base: "civisens", create: true, now: time.Now, checked: map[string]checked{},
		store: &buckets2{api: fb, orgID: func(context.Context) (string, error) { return "org-1", nil }}}
	if d, err := ds.resolve(ctx, "P1Y"); err != nil || d != "civisens_p1y" || len(fb.created) != 1 || fb.created[0].EverySeconds != 8760*3600 {
		t.Errorf("P1Y: %q, %v, %+v", d, err, fb.created)
	}
	var re *RetentionError
	if _, err := ds.resolve(ctx, "P30D"); !errors.As(err, &re) || re.Reason != ReasonRetentionMismatch || !strings.Contains(re.Msg, "bucket civisens_p30d has duration 1h") {
		t.Errorf("P30D: %v", err)
	}
}
