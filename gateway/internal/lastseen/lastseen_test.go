package lastseen

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civisens/civisens/registry/registryapi"
)

const token = "cvs_test-token-of-the-gateway"

// registry is a stand-in for the registry's POST /api/v1/gateway/seen: it
// checks the token and keeps what it receives.
type registry struct {
	mu      sync.Mutex
	down    bool
	reports []registryapi.GatewaySeen
}

func (g *registry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != registryapi.PathGatewaySeen {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+token {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.down {
		http.Error(w, "database locked", http.StatusServiceUnavailable)
		return
	}
	var seen registryapi.GatewaySeen
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&seen); err != nil || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, fmt.Sprint(err), http.StatusBadRequest)
		return
	}
	g.reports = append(g.reports, seen)
	w.WriteHeader(http.StatusNoContent)
}

func (g *registry) setDown(v bool) { g.mu.Lock(); g.down = v; g.mu.Unlock() }

func (g *registry) got() []registryapi.GatewaySeen {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.reports)
}

// clock is an injected clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

var t0 = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

func newReporter(t *testing.T, url string, cfg Config) *Reporter {
	t.Helper()
	cfg.RegistryURL, cfg.GatewayID = url, "civisens-gateway"
	if cfg.Token == "" {
		cfg.Token = token
	}
	if cfg.Now == nil {
		cfg.Now = (&clock{t: t0}).now
	}
	return New(cfg, slog.New(slog.DiscardHandler))
}

func sensors(s registryapi.GatewaySeen) map[string]time.Time {
	m := map[string]time.Time{}
	for _, x := range s.Sensors {
		m[x.ID] = x.LastSeen
	}
	return m
}

func TestReportsWhatWasSeen(t *testing.T) {
	reg := &registry{}
	srv := httptest.NewServer(reg)
	defer srv.Close()
	r := newReporter(t, srv.URL+"/", Config{})

	r.Accepted("air-mairie-01", t0.Add(-2*time.Minute))
	r.Accepted("air-mairie-01", t0.Add(-time.Minute))
	r.Accepted("air-mairie-01", t0.Add(-3*time.Minute)) // out of order: the latest wins
	r.Accepted("parking-gare-01", t0.Add(-30*time.Second))
	for range 3 {
		r.Unknown("capteur-inconnu", t0.Add(-10*time.Second))
	}
	r.Unknown("capteur-inconnu", t0.Add(-5*time.Second))
	if err := r.Report(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := reg.got()
	if len(got) != 1 {
		t.Fatalf("%d reports", len(got))
	}
	s := got[0]
	if s.GatewayID != "civisens-gateway" || !s.SentAt.Equal(t0) {
		t.Errorf("report %+v", s)
	}
	if m := sensors(s); len(m) != 2 || !m["air-mairie-01"].Equal(t0.Add(-time.Minute)) || !m["parking-gare-01"].Equal(t0.Add(-30*time.Second)) {
		t.Errorf("sensors %v", m)
	}
	if len(s.Unknown) != 1 || s.Unknown[0].ID != "capteur-inconnu" || s.Unknown[0].Count != 4 || !s.Unknown[0].LastSeen.Equal(t0.Add(-5*time.Second)) {
		t.Errorf("unknown %+v", s.Unknown)
	}
	// What was reported is not reported again; an idle gateway still
	// reports, with empty lists.
	if err := r.Report(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := reg.got()[1]; len(s.Sensors) != 0 || len(s.Unknown) != 0 || s.Sensors == nil || s.Unknown == nil {
		t.Errorf("second report %+v", s)
	}
	if st := r.Stats(); st.Reports != 2 || st.Failures != 0 || st.PendingSensors != 0 || !st.LastReport.Equal(t0) {
		t.Errorf("stats %+v", st)
	}
}

// The set of unknown ids is bounded: a flood of made-up ids keeps the most
// recent ones.
func TestUnknownIDsAreBounded(t *testing.T) {
	reg := &registry{}
	srv := httptest.NewServer(reg)
	defer srv.Close()
	r := newReporter(t, srv.URL, Config{MaxUnknown: 10})
	for i := range 25 {
		r.Unknown(fmt.Sprintf("faux-%03d", i), t0.Add(time.Duration(i)*time.Second))
	}
	r.Unknown("faux-017", t0.Add(time.Minute)) // seen again: kept over faux-015
	r.Unknown("faux-026", t0.Add(time.Minute))
	if st := r.Stats(); st.PendingUnknown != 10 || st.Evicted != 16 {
		t.Errorf("stats %+v", st)
	}
	if err := r.Report(context.Background()); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, u := range reg.got()[0].Unknown {
		ids = append(ids, u.ID)
	}
	slices.Sort(ids)
	want := []string{"faux-016", "faux-017", "faux-018", "faux-019", "faux-020", "faux-021", "faux-022", "faux-023", "faux-024", "faux-026"}
	if !slices.Equal(ids, want) {
		t.Errorf("unknown ids %v, want %v", ids, want)
	}
}

// A registry that is down, or refuses, loses nothing: the next report
// carries what the failed ones held, merged with what came since.
func TestSurvivesARegistryThatIsDown(t *testing.T) {
	reg := &registry{}
	srv := httptest.NewServer(reg)
	defer srv.Close()
	r := newReporter(t, srv.URL, Config{})
	r.Accepted("air-mairie-01", t0.Add(-time.Minute))
	r.Unknown("capteur-inconnu", t0.Add(-time.Minute))

	reg.setDown(true)
	if err := r.Report(context.Background()); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("registry down: %v", err)
	}
	r.Accepted("air-mairie-01", t0)
	r.Accepted("air-gare-01", t0)
	r.Unknown("capteur-inconnu", t0)

	// Nobody listening at all.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	gone := newReporter(t, "http://"+addr, Config{})
	gone.Accepted("air-mairie-01", t0)
	if err := gone.Report(context.Background()); err == nil {
		t.Error("no registry, no error")
	}
	if st := gone.Stats(); st.PendingSensors != 1 || st.Failures != 1 {
		t.Errorf("stats without a registry %+v", st)
	}
	// A wrong token is a failure too.
	bad := newReporter(t, srv.URL, Config{Token: "cvs_wrong"})
	bad.Accepted("air-mairie-01", t0)
	if err := bad.Report(context.Background()); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong token: %v", err)
	}

	reg.setDown(false)
	if err := r.Report(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := reg.got()
	if len(got) != 1 {
		t.Fatalf("%d reports", len(got))
	}
	if m := sensors(got[0]); len(m) != 2 || !m["air-mairie-01"].Equal(t0) || !m["air-gare-01"].Equal(t0) {
		t.Errorf("sensors after the outage %v", m)
	}
	if u := got[0].Unknown; len(u) != 1 || u[0].Count != 2 || !u[0].LastSeen.Equal(t0) {
		t.Errorf("unknown after the outage %+v", u)
	}
	if st := r.Stats(); st.Failures != 1 || st.Reports != 1 {
		t.Errorf("stats %+v", st)
	}
}

// A big register goes in several reports.
func TestReportsAreBounded(t *testing.T) {
	reg := &registry{}
	srv := httptest.NewServer(reg)
	defer srv.Close()
	r := newReporter(t, srv.URL, Config{})
	for i := range MaxPerReport + 10 {
		r.Accepted(fmt.Sprintf("capteur-%05d", i), t0)
	}
	for range 2 {
		if err := r.Report(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	got := reg.got()
	if len(got[0].Sensors) != MaxPerReport || len(got[1].Sensors) != 10 {
		t.Errorf("reports of %d and %d sensors", len(got[0].Sensors), len(got[1].Sensors))
	}
}

// Run reports every interval, keeps going through failures, and reports
// once more when it stops; it never blocks the callers of Accepted.
func TestRun(t *testing.T) {
	reg := &registry{}
	srv := httptest.NewServer(reg)
	defer srv.Close()
	r := newReporter(t, srv.URL, Config{Interval: 20 * time.Millisecond})
	reg.setDown(true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	r.Accepted("air-mairie-01", t0)
	deadline := time.Now().Add(5 * time.Second)
	for r.Stats().Failures < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	reg.setDown(false)
	for len(reg.got()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := reg.got(); len(got) == 0 || len(got[0].Sensors) != 1 {
		t.Fatalf("reports after the failures: %+v", got)
	}
	r.Accepted("air-gare-01", t0)
	cancel()
	<-done
	last := reg.got()[len(reg.got())-1]
	if m := sensors(last); !m["air-gare-01"].Equal(t0) {
		t.Errorf("the last report lacks what came before stopping: %+v", last)
	}
}
