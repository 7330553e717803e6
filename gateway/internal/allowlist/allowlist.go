// Package allowlist keeps the gateway's copy of the register's allow-list:
// the sensors whose readings the gateway may store, with their category,
// site, tags, declared quantities and retention, and the MQTT credentials of
// those that publish (registryapi.AllowList).
//
// # Where the list comes from
//
// The registry serves it at GET {registry}/api/v1/gateway/allowlist with an
// ETag. The gateway asks again every refresh interval with If-None-Match, so
// that an unchanged list costs a 304 and no parsing. Unknown JSON fields are
// ignored: the contract grows by adding fields.
//
// Every list the registry serves is kept on disk as the last-known-good copy,
// {dir}/allowlist.json, written atomically (temporary file, fsync, rename,
// fsync of the folder), so that a power cut leaves either the old copy or
// the new one. At start the copy is loaded first, then the registry is asked
// (with the copy's ETag): the gateway works while the registry is away, and
// a copy that cannot be read is reported, ignored and replaced by the next
// answer of the registry, never a crash. Without a copy and without the
// registry the gateway has no list: [List.Ready] stays open, and the refresh
// loop asks again every few seconds until the registry answers.
//
// # Which entries count
//
// An entry is indexed unless its id is not a register sensor id, its
// category is empty, its status is draft or retired, or its id was already
// seen in the same list; such entries are skipped and logged. Everything
// else the registry lists is trusted: the registry decides what is published.
//
// # The hot path
//
// [List.Lookup] reads an immutable snapshot through an atomic pointer: no
// lock is taken per reading. A new list replaces the snapshot whole.
package allowlist

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/civisens/civisens/firmware-bridge/senml"
	"github.com/civisens/civisens/internal/atomicfile"
	"github.com/civisens/civisens/registry/registryapi"
)

// Defaults of [Config].
const (
	DefaultRefresh = 30 * time.Second
	DefaultTimeout = 10 * time.Second
	// FileName is the name of the last-known-good copy in Config.Dir.
	FileName = "allowlist.json"
	// maxBody bounds the registry's answer.
	maxBody = 64 << 20
	// retryUnloaded is how often the registry is asked while the gateway
	// has no list at all (when shorter than the refresh interval).
	retryUnloaded = 2 * time.Second
)

// Sources of a list, as [Stats.Source] reports them.
const (
	SourceRegistry = "registry"
	SourceDisk     = "disk"
)

// Errors, for errors.Is.
var (
	// ErrUnavailable: the registry could not be reached or did not answer
	// with a list.
	ErrUnavailable = errors.New("registry unavailable")
	// ErrInvalid: the registry answered with something that is not an
	// allow-list.
	ErrInvalid = errors.New("invalid allow-list")
	// ErrCorrupt: the copy on disk cannot be read.
	ErrCorrupt = errors.New("last-known-good copy unreadable")
)

// Config says where the list comes from and where its copy goes. The zero
// value of each field means its default.
type Config struct {
	// RegistryURL is the registry's base URL, e.g. http://127.0.0.1:8080.
	RegistryURL string
	// Token is the registry API token of role "gateway", sent as a bearer
	// token; empty sends none.
	Token string
	// Dir is the folder of the last-known-good copy; empty keeps no copy.
	Dir string
	// Refresh is how often the registry is asked; DefaultRefresh if zero.
	Refresh time.Duration
	// Client makes the requests; one with DefaultTimeout if nil.
	Client *http.Client
	// Now is the clock; time.Now if nil.
	Now func() time.Time
	// OnChange, when not nil, is called with every list installed (loaded
	// from the disk or served by the registry; not when the registry
	// confirms the list in hand with a 304), synchronously: it must not
	// block. The embedded broker takes its credentials from it.
	OnChange func(registryapi.AllowList)
}

// List is the gateway's allow-list. Its methods are safe for concurrent use.
type List struct {
	cfg Config
	log *slog.Logger

	cur       atomic.Pointer[snapshot]
	version   atomic.Uint64 // one more at every list installed
	ready     chan struct{}
	readyOnce sync.Once

	fetchMu     sync.Mutex // one fetch at a time
	fetchErrors atomic.Uint64
	lastErr     atomic.Pointer[error]
}

// snapshot is one immutable state of the list.
type snapshot struct {
	list      registryapi.AllowList
	byID      map[string]*registryapi.GatewaySensor
	etag      string
	confirmed time.Time // when the registry last served or confirmed it
	source    string
}

// New returns an empty list; call [List.Start], then [List.Run].
func New(cfg Config, log *slog.Logger) *List {
	if cfg.Refresh <= 0 {
		cfg.Refresh = DefaultRefresh
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: DefaultTimeout}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.RegistryURL = strings.TrimRight(cfg.RegistryURL, "/")
	return &List{cfg: cfg, log: log, ready: make(chan struct{})}
}

// Entry returns the entry of sensor id, nil if the list has none; it is
// shared: the caller must not modify it.
func (l *List) Entry(id string) *registryapi.GatewaySensor {
	s := l.cur.Load()
	if s == nil {
		return nil
	}
	return s.byID[id]
}

// Version changes whenever a list is installed (its entries may differ);
// it does not when the registry confirms the list in hand.
func (l *List) Version() uint64 { return l.version.Load() }

// Sensors returns the entries of the current list (nil when there is
// none yet); the caller must not modify them.
func (l *List) Sensors() []registryapi.GatewaySensor {
	if s := l.cur.Load(); s != nil {
		return s.list.Sensors
	}
	return nil
}

// Credentials returns the MQTT credentials of the current list (the
// embedded broker's accounts; see Config.OnChange).
func (l *List) Credentials() []registryapi.Credential {
	if s := l.cur.Load(); s != nil {
		return s.list.Credentials
	}
	return nil
}

// Ready is closed once the list holds a copy, from the registry or the disk.
func (l *List) Ready() <-chan struct{} { return l.ready }

// Stats describes the list, for health and metrics.
type Stats struct {
	Loaded      bool
	Source      string        // SourceRegistry or SourceDisk
	Sensors     int           // entries indexed
	Age         time.Duration // since the registry last served or confirmed the list
	ETag        string
	FetchErrors uint64 // failed requests to the registry since start
	LastError   error  // of the last request, nil if it succeeded
}

// Stats returns the list's current state.
func (l *List) Stats() Stats {
	st := Stats{FetchErrors: l.fetchErrors.Load()}
	if p := l.lastErr.Load(); p != nil {
		st.LastError = *p
	}
	if s := l.cur.Load(); s != nil {
		st.Loaded = true
		st.Source = s.source
		st.Sensors = len(s.byID)
		st.Age = max(l.cfg.Now().Sub(s.confirmed), 0)
		st.ETag = s.etag
	}
	return st
}

// Start loads the copy on disk, if any, then asks the registry once. It
// logs what it could not do and returns the error of the request to the
// registry (nil if it answered); the list may be loaded either way, see
// [List.Ready].
func (l *List) Start(ctx context.Context) error {
	if err := l.loadDisk(); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			l.log.Info("no last-known-good allow-list on disk yet", "path", l.path())
		} else {
			l.log.Error("ignoring the last-known-good allow-list; it will be replaced by the registry's next answer", "err", err)
		}
	}
	err := l.Refresh(ctx)
	switch {
	case err == nil:
	case l.cur.Load() != nil:
		l.log.Warn("registry unavailable: using the last-known-good allow-list",
			"err", err, "sensors", len(l.cur.Load().byID), "fetched_at", l.cur.Load().confirmed)
	default:
		l.log.Error("registry unavailable and no allow-list on disk: every reading is held back until the registry answers", "err", err)
	}
	return err
}

// Run asks the registry every refresh interval (every few seconds while the
// list is empty) until ctx ends. Failures are logged and counted; the list
// in hand stays in use.
func (l *List) Run(ctx context.Context) {
	t := time.NewTimer(l.interval())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := l.Refresh(ctx); err != nil && ctx.Err() == nil {
			l.log.Warn("allow-list refresh failed; keeping the list in hand", "err", err)
		}
		t.Reset(l.interval())
	}
}

func (l *List) interval() time.Duration {
	if l.cur.Load() == nil {
		return min(l.cfg.Refresh, retryUnloaded)
	}
	return l.cfg.Refresh
}

// Refresh asks the registry for the list once, with the ETag of the list in
// hand, and installs and saves what it answers.
func (l *List) Refresh(ctx context.Context) error {
	l.fetchMu.Lock()
	defer l.fetchMu.Unlock()
	err := l.fetch(ctx)
	if err != nil {
		l.fetchErrors.Add(1)
		l.lastErr.Store(&err)
	} else {
		l.lastErr.Store(nil)
	}
	return err
}

func (l *List) fetch(ctx context.Context) error {
	url := l.cfg.RegistryURL + registryapi.PathAllowList
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("allow-list %s: %w: %v", url, ErrUnavailable, err)
	}
	req.Header.Set("Accept", "application/json")
	if l.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+l.cfg.Token)
	}
	cur := l.cur.Load()
	if cur != nil && cur.etag != "" {
		req.Header.Set("If-None-Match", cur.etag)
	}
	resp, err := l.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("allow-list: %w: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	now := l.cfg.Now()

	switch {
	case resp.StatusCode == http.StatusNotModified && cur != nil:
		next := *cur
		next.confirmed, next.source = now, SourceRegistry
		l.cur.Store(&next)
		l.log.Debug("allow-list unchanged", "etag", cur.etag)
		return nil
	case resp.StatusCode != http.StatusOK:
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("allow-list %s: %w: %s: %s", url, ErrUnavailable, resp.Status, bytes.TrimSpace(body))
	}

	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return fmt.Errorf("allow-list %s: %w: reading the answer: %v", url, ErrUnavailable, err)
	}
	if len(body) > maxBody {
		return fmt.Errorf("allow-list %s: %w: answer larger than %d bytes", url, ErrInvalid, maxBody)
	}
	var al registryapi.AllowList
	if err := json.Unmarshal(body, &al); err != nil {
		return fmt.Errorf("allow-list %s: %w: %v", url, ErrInvalid, err)
	}
	if al.Sensors == nil {
		return fmt.Errorf("allow-list %s: %w: no \"sensors\" array", url, ErrInvalid)
	}
	s := l.build(al, resp.Header.Get("ETag"), now, SourceRegistry)
	l.install(s)
	l.log.Info("allow-list loaded from the registry", "sensors", len(s.byID), "etag", s.etag, "generated_at", al.GeneratedAt)
	if err := l.save(s); err != nil {
		// The list is in use; only its copy is missing.
		l.log.Error("cannot keep the last-known-good allow-list on disk", "err", err)
	}
	return nil
}

func (l *List) install(s *snapshot) {
	l.cur.Store(s)
	l.version.Add(1)
	if l.cfg.OnChange != nil {
		l.cfg.OnChange(s.list)
	}
	l.readyOnce.Do(func() { close(l.ready) })
}

// build indexes the entries of al that the gateway accepts readings from.
func (l *List) build(al registryapi.AllowList, etag string, confirmed time.Time, source string) *snapshot {
	compact(&al)
	s := &snapshot{list: al, byID: make(map[string]*registryapi.GatewaySensor, len(al.Sensors)), etag: etag, confirmed: confirmed, source: source}
	for i := range al.Sensors {
		e := &al.Sensors[i]
		var why string
		switch {
		case !senml.ValidSensorID(e.ID):
			why = "invalid sensor id"
		case e.Category == "":
			why = "no category"
		case e.Status == registryapi.StatusDraft || e.Status == registryapi.StatusRetired:
			why = "status " + e.Status
		case s.byID[e.ID] != nil:
			why = "listed twice"
		}
		if why != "" {
			l.log.Warn("allow-list entry skipped", "sensor", e.ID, "reason", why)
			continue
		}
		s.byID[e.ID] = e
	}
	return s
}

// compact shrinks al as kept in memory for as long as it is current: its
// slices at their length (the JSON decoder doubles them as it goes) and
// one copy of each string the entries repeat (categories, sites, units,
// quantities, tags…). 10,000 entries take a few megabytes less.
func compact(al *registryapi.AllowList) {
	seen := map[string]string{}
	in := func(s *string) {
		if v, ok := seen[*s]; ok {
			*s = v
		} else {
			seen[*s] = *s
		}
	}
	al.Sensors = slices.Clone(al.Sensors)
	for i := range al.Sensors {
		e := &al.Sensors[i]
		in(&e.Category)
		in(&e.Site)
		in(&e.Retention)
		in(&e.Status)
		in(&e.Identifiability)
		if len(e.Tags) > 0 {
			tags := make(map[string]string, len(e.Tags))
			for k, v := range e.Tags {
				in(&k)
				in(&v)
				tags[k] = v
			}
			e.Tags = tags
		}
		e.Quantities = slices.Clone(e.Quantities)
		for j := range e.Quantities {
			q := &e.Quantities[j]
			in(&q.Name)
			in(&q.Unit)
			in(&q.Aggregation)
			in(&q.Label.FR)
			in(&q.Label.EN)
		}
	}
}

// diskCopy is the format of the last-known-good copy.
type diskCopy struct {
	ETag      string                `json:"etag"`
	FetchedAt time.Time             `json:"fetched_at"`
	AllowList registryapi.AllowList `json:"allowlist"`
}

func (l *List) path() string { return filepath.Join(l.cfg.Dir, FileName) }

func (l *List) loadDisk() error {
	if l.cfg.Dir == "" {
		return fmt.Errorf("no data folder: %w", os.ErrNotExist)
	}
	p := l.path()
	b, err := os.ReadFile(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return err
		}
		return fmt.Errorf("%s: %w: %v", p, ErrCorrupt, err)
	}
	var dc diskCopy
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&dc); err != nil {
		return fmt.Errorf("%s: %w: %v", p, ErrCorrupt, err)
	}
	if dec.More() {
		return fmt.Errorf("%s: %w: data after the copy", p, ErrCorrupt)
	}
	if dc.AllowList.Sensors == nil || dc.FetchedAt.IsZero() {
		return fmt.Errorf("%s: %w: not an allow-list copy", p, ErrCorrupt)
	}
	s := l.build(dc.AllowList, dc.ETag, dc.FetchedAt, SourceDisk)
	l.install(s)
	l.log.Info("allow-list loaded from disk", "path", p, "sensors", len(s.byID), "fetched_at", dc.FetchedAt)
	return nil
}

func (l *List) save(s *snapshot) error {
	if l.cfg.Dir == "" {
		return nil
	}
	b, err := json.MarshalIndent(diskCopy{ETag: s.etag, FetchedAt: s.confirmed, AllowList: s.list}, "", "  ")
	if err != nil {
		return fmt.Errorf("allow-list copy: %w", err)
	}
	return atomicfile.WriteFile(l.path(), append(b, '\n'), 0o600)
}
