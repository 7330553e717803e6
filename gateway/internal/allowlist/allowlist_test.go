package allowlist

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/civisens/civisens/registry/registryapi"
)

func f(v float64) *float64 { return &v }

func sampleList() registryapi.AllowList {
	return registryapi.AllowList{
		GeneratedAt: time.Date(2025, 3, 1, 11, 0, 0, 0, time.UTC),
		Sensors: []registryapi.GatewaySensor{
			{ID: "air-hdv-01", Category: "air", Site: "hotel-de-ville", Tags: map[string]string{"zone": "centre"},
				Quantities: []registryapi.Quantity{{Name: "pm10", Unit: "ug/m3", Min: f(0), Max: f(1000)}},
				Retention:  "P1Y", Status: registryapi.StatusActive},
			{ID: "parking-gare-03", Category: "parking", Site: "gare",
				Quantities: []registryapi.Quantity{{Name: "occupancy", Unit: "/", Min: f(0), Max: f(1)}},
				Retention:  "P3M", Status: registryapi.StatusMaintenance},
			{ID: "draft-sensor-1", Category: "air", Status: registryapi.StatusDraft},
			{ID: "retired-sensor-1", Category: "air", Status: registryapi.StatusRetired},
			{ID: "Bad_ID", Category: "air", Status: registryapi.StatusActive},
			{ID: "no-category-1", Status: registryapi.StatusActive},
			{ID: "air-hdv-01", Category: "energy", Status: registryapi.StatusActive}, // listed twice
		},
		Credentials: []registryapi.Credential{{Username: "air-hdv-01", Hash: "$2a$10$abc", Sensors: []string{"air-hdv-01"}}},
	}
}

// registry is a fake registry serving an allow-list with an ETag.
type registry struct {
	mu       sync.Mutex
	body     []byte
	etag     string
	down     bool
	requests []string // "200" or "304" or "503", in order
}

func (r *registry) set(t *testing.T, al registryapi.AllowList, etag string) {
	t.Helper()
	b, err := json.Marshal(al)
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.body, r.etag = b, etag
}

func (r *registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if req.URL.Path != registryapi.PathAllowList {
		http.NotFound(w, req)
		return
	}
	switch {
	case r.down:
		r.requests = append(r.requests, "503")
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	case req.Header.Get("If-None-Match") == r.etag:
		r.requests = append(r.requests, "304")
		w.WriteHeader(http.StatusNotModified)
	default:
		r.requests = append(r.requests, "200")
		w.Header().Set("ETag", r.etag)
		w.Header().Set("Content-Type", "application/json")
		w.Write(r.body)
	}
}

func (r *registry) log() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.requests, " ")
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newList(t *testing.T, url, dir string, c *clock) (*List, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	return New(Config{RegistryURL: url, Dir: dir, Now: c.now}, log), &logs
}

func TestETagAndIndex(t *testing.T) {
	reg := &registry{}
	reg.set(t, sampleList(), `"v1"`)
	srv := httptest.NewServer(reg)
	defer srv.Close()
	c := &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	l, logs := newList(t, srv.URL+"/", t.TempDir(), c) // a trailing slash is fine

	select {
	case <-l.Ready():
		t.Fatal("ready before anything was loaded")
	default:
	}
	if l.Entry("air-hdv-01") != nil {
		t.Fatal("Lookup found a sensor in an empty list")
	}
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.Ready():
	default:
		t.Fatal("not ready after a successful start")
	}

	e := l.Entry("air-hdv-01")
	if e == nil || e.Category != "air" || e.Site != "hotel-de-ville" || e.Tags["zone"] != "centre" || e.Retention != "P1Y" {
		t.Errorf("Entry(air-hdv-01) = %+v", e)
	}
	if l.Entry("parking-gare-03") == nil {
		t.Error("a sensor in maintenance is not accepted")
	}
	for _, id := range []string{"draft-sensor-1", "retired-sensor-1", "Bad_ID", "no-category-1", "unknown-1"} {
		if l.Entry(id) != nil {
			t.Errorf("Entry(%s) found an entry", id)
		}
	}
	if got := len(l.Credentials()); got != 1 {
		t.Errorf("%d credentials, want 1", got)
	}
	for _, want := range []string{"sensor=draft-sensor-1", "sensor=Bad_ID", `reason="listed twice"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the skipped entry %s was not logged:\n%s", want, logs)
		}
	}
	st := l.Stats()
	if !st.Loaded || st.Sensors != 2 || st.Source != SourceRegistry || st.ETag != `"v1"` || st.Age != 0 || st.LastError != nil {
		t.Errorf("Stats = %+v", st)
	}

	// Unchanged: a 304, and the age starts again.
	c.advance(time.Minute)
	if got := l.Stats().Age; got != time.Minute {
		t.Errorf("age = %v, want 1m", got)
	}
	if err := l.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := l.Stats().Age; got != 0 {
		t.Errorf("age after a 304 = %v, want 0", got)
	}

	// Changed: the new list replaces the old one.
	al := sampleList()
	al.Sensors = al.Sensors[1:2]
	reg.set(t, al, `"v2"`)
	if err := l.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if l.Entry("air-hdv-01") != nil {
		t.Error("a sensor removed from the register is still accepted")
	}
	if got := reg.log(); got != "200 304 200" {
		t.Errorf("registry saw %q, want 200 304 200", got)
	}

	// Down: the list in hand stays, the error is reported and counted.
	reg.mu.Lock()
	reg.down = true
	reg.mu.Unlock()
	err := l.Refresh(context.Background())
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "down for maintenance") {
		t.Errorf("Refresh with the registry down: %v", err)
	}
	if l.Entry("parking-gare-03") == nil {
		t.Error("the list was dropped when the registry failed")
	}
	if st := l.Stats(); st.FetchErrors != 1 || st.LastError == nil {
		t.Errorf("Stats = %+v", st)
	}
}

func TestUnknownFieldsAreIgnored(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"generated_at":"2025-03-01T11:00:00Z","format":2,"sensors":[{"id":"air-hdv-01","category":"air","status":"active","colour":"blue","quantities":[{"name":"pm10","unit":"ug/m3","new":true}]}],"credentials":[]}`))
	}))
	defer srv.Close()
	l, _ := newList(t, srv.URL, t.TempDir(), &clock{})
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if l.Entry("air-hdv-01") == nil {
		t.Error("an entry with extra fields was not indexed")
	}
}

func TestSendsTheGatewayToken(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer s3cret-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Write([]byte(`{"generated_at":"2025-03-01T11:00:00Z","sensors":[{"id":"air-hdv-01","category":"air","status":"active","quantities":[{"name":"pm10","unit":"ug/m3"}]}],"credentials":[]}`))
	}))
	defer srv.Close()
	without, _ := newList(t, srv.URL, t.TempDir(), &clock{})
	if err := without.Start(context.Background()); err == nil {
		t.Error("a registry answering 401 gave a list")
	}
	with := New(Config{RegistryURL: srv.URL, Token: "s3cret-token", Dir: t.TempDir(), Now: (&clock{}).now}, slog.New(slog.DiscardHandler))
	if err := with.Start(context.Background()); err != nil {
		t.Fatalf("with the token: %v", err)
	}
	if with.Entry("air-hdv-01") == nil {
		t.Error("the list fetched with the token is not indexed")
	}
}

func TestInvalidAnswer(t *testing.T) {
	for name, body := range map[string]string{
		"not json":  `<html>proxy error</html>`,
		"no array":  `{"generated_at":"2025-03-01T11:00:00Z"}`,
		"bad types": `{"sensors":{"id":1}}`,
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(body)) }))
			defer srv.Close()
			l, _ := newList(t, srv.URL, t.TempDir(), &clock{})
			if err := l.Start(context.Background()); !errors.Is(err, ErrInvalid) {
				t.Errorf("Start: %v, want ErrInvalid", err)
			}
			if l.Stats().Loaded {
				t.Error("an invalid answer was loaded")
			}
		})
	}
}

func TestLastKnownGood(t *testing.T) {
	dir := t.TempDir()
	reg := &registry{}
	reg.set(t, sampleList(), `"v1"`)
	srv := httptest.NewServer(reg)
	c := &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}

	first, _ := newList(t, srv.URL, dir, c)
	if err := first.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatalf("no copy on disk: %v", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		t.Errorf("the copy (it holds credential hashes) is readable by others: %v", info.Mode())
	}
	if tmps, _ := filepath.Glob(filepath.Join(dir, ".*tmp")); len(tmps) != 0 {
		t.Errorf("temporary files left: %v", tmps)
	}

	t.Run("registry unreachable", func(t *testing.T) {
		url := srv.URL
		srv.Close() // nothing listens there any more
		c.advance(time.Hour)
		l, logs := newList(t, url, dir, c)
		err := l.Start(context.Background())
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("Start: %v, want ErrUnavailable", err)
		}
		select {
		case <-l.Ready():
		default:
			t.Fatal("not ready with a copy on disk")
		}
		if e := l.Entry("air-hdv-01"); e == nil || e.Site != "hotel-de-ville" {
			t.Errorf("Entry from the disk copy = %+v", e)
		}
		st := l.Stats()
		if st.Source != SourceDisk || st.Age != time.Hour || st.ETag != `"v1"` || st.Sensors != 2 {
			t.Errorf("Stats = %+v", st)
		}
		if !strings.Contains(logs.String(), "last-known-good") {
			t.Errorf("the fallback was not logged:\n%s", logs)
		}
	})

	t.Run("copy's etag is sent", func(t *testing.T) {
		reg2 := &registry{}
		reg2.set(t, sampleList(), `"v1"`)
		srv2 := httptest.NewServer(reg2)
		defer srv2.Close()
		l, _ := newList(t, srv2.URL, dir, c)
		if err := l.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := reg2.log(); got != "304" {
			t.Errorf("registry saw %q, want a single 304", got)
		}
		if st := l.Stats(); st.Source != SourceRegistry || st.Age != 0 {
			t.Errorf("Stats after the registry confirmed the copy = %+v", st)
		}
	})
}

func TestCorruptCopy(t *testing.T) {
	for name, content := range map[string]string{
		"garbage":   "\x00\x01 not json",
		"truncated": `{"etag":"\"v1\"","fetched_at":"2025-03-01T12:00:00Z","allowlist":{"sensors":[{"id":"air-`,
		"empty":     "",
		"other":     `{"hello":"world"}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}

			// Registry down: no list, a clear error, no crash.
			l, logs := newList(t, "http://127.0.0.1:1", dir, &clock{})
			if err := l.Start(context.Background()); err == nil {
				t.Error("Start succeeded with neither registry nor readable copy")
			}
			if l.Stats().Loaded {
				t.Error("a corrupt copy was loaded")
			}
			if !strings.Contains(logs.String(), path) || !strings.Contains(logs.String(), ErrCorrupt.Error()) {
				t.Errorf("the log does not name the unreadable copy:\n%s", logs)
			}

			// Registry up: the list is fetched and the copy replaced.
			reg := &registry{}
			reg.set(t, sampleList(), `"v1"`)
			srv := httptest.NewServer(reg)
			defer srv.Close()
			l, _ = newList(t, srv.URL, dir, &clock{t: time.Now()})
			if err := l.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			if l.Entry("air-hdv-01") == nil {
				t.Error("not refetched after a corrupt copy")
			}
			if got := reg.log(); got != "200" {
				t.Errorf("registry saw %q, want 200 (no ETag from a corrupt copy)", got)
			}
			l2, _ := newList(t, "http://127.0.0.1:1", dir, &clock{})
			l2.Start(context.Background())
			if l2.Entry("air-hdv-01") == nil {
				t.Error("the corrupt copy was not replaced")
			}
		})
	}
}

func TestRunRetriesUntilLoaded(t *testing.T) {
	reg := &registry{down: true}
	reg.set(t, sampleList(), `"v1"`)
	srv := httptest.NewServer(reg)
	defer srv.Close()
	l, _ := newList(t, srv.URL, "", &clock{t: time.Now()})
	l.cfg.Refresh = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l.Start(ctx)
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()

	reg.mu.Lock()
	reg.down = false
	reg.mu.Unlock()
	select {
	case <-l.Ready():
	case <-time.After(10 * time.Second):
		t.Fatalf("the refresh loop did not load the list; registry saw %q", reg.log())
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not end with its context")
	}
}

// OnChange hears every list installed — from the disk, from the registry —
// and not a 304: the embedded broker reloads its credentials from it.
func TestOnChange(t *testing.T) {
	reg := &registry{}
	reg.set(t, sampleList(), `"v1"`)
	srv := httptest.NewServer(reg)
	defer srv.Close()
	dir := t.TempDir()
	var got []string
	cfg := Config{RegistryURL: srv.URL, Dir: dir, OnChange: func(al registryapi.AllowList) {
		got = append(got, al.Credentials[0].Hash)
	}}
	l := New(cfg, slog.New(slog.DiscardHandler))
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := l.Refresh(context.Background()); err != nil { // 304
		t.Fatal(err)
	}
	next := sampleList()
	next.Credentials[0].Hash = "$2a$10$rotated"
	reg.set(t, next, `"v2"`)
	if err := l.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A restart loads the copy on disk, then the registry answers 304.
	l2 := New(cfg, slog.New(slog.DiscardHandler))
	if err := l2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{"$2a$10$abc", "$2a$10$rotated", "$2a$10$rotated"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("OnChange heard %v, want %v", got, want)
	}
}

// The list kept in memory shares one copy of the strings its entries
// repeat, and keeps every entry as served.
func TestCompactSharesRepeatedStrings(t *testing.T) {
	var al registryapi.AllowList
	for i := range 3 {
		al.Sensors = append(al.Sensors, registryapi.GatewaySensor{
			ID: fmt.Sprintf("air-%d", i), Category: string([]byte("air")), Site: string([]byte("mairie")), Retention: "P1Y",
			Tags:       map[string]string{string([]byte("zone")): string([]byte("centre"))},
			Quantities: append(make([]registryapi.Quantity, 0, 4), registryapi.Quantity{Name: string([]byte("pm10")), Unit: string([]byte("ug/m3"))}),
		})
	}
	want := fmt.Sprint(al.Sensors)
	compact(&al)
	if got := fmt.Sprint(al.Sensors); got != want {
		t.Fatalf("compact changed the entries:\n%s\nwant\n%s", got, want)
	}
	a, b := al.Sensors[0], al.Sensors[2]
	same := func(x, y string) bool { return unsafe.StringData(x) == unsafe.StringData(y) }
	if !same(a.Category, b.Category) || !same(a.Site, b.Site) || !same(a.Quantities[0].Unit, b.Quantities[0].Unit) || !same(a.Tags["zone"], b.Tags["zone"]) {
		t.Error("repeated strings are not shared")
	}
	if cap(a.Quantities) >= 4 {
		t.Errorf("quantities kept with the decoder's capacity %d", cap(a.Quantities))
	}
}
