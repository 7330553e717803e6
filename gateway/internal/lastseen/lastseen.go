// Package lastseen tells the registry what the gateway saw, so that the
// register's quality page can list the sensors that went silent and the
// sensor ids that publish without being in the register.
//
// # What it keeps
//
// The ingester calls [Reporter.Accepted] for each message of a known sensor
// with at least one accepted reading, and [Reporter.Unknown] for each
// message of a sensor absent from the allow-list, with the message's time of
// arrival. The reporter keeps, until its next successful report:
//
//   - per sensor, the time of the latest accepted message (at most
//     MaxSensors sensors; the allow-list bounds them anyway);
//   - per unknown id, the number of messages and the latest time, for at
//     most MaxUnknown ids: when a new id arrives and the set is full, the id
//     seen least recently is forgotten (and counted in Stats.Evicted), so
//     that a flood of made-up ids costs bounded memory.
//
// Both calls take a mutex and touch a map and a list: they never wait for
// the network, so the reporter never slows ingest down.
//
// # What it sends
//
// Every Interval, [Reporter.Run] POSTs a registryapi.GatewaySeen to
// {registry}/api/v1/gateway/seen with the gateway's API token (role
// gateway) as a bearer token: the gateway id (its MQTT client id), its
// clock (sent_at, so that the registry can correct a clock without a
// real-time battery), the sensors and unknown ids seen since the previous
// successful report — at most MaxPerReport sensors at a time, the rest
// going with the next report. It reports even when it saw nothing: the
// registry then knows the gateway is alive.
//
// When the registry is away, refuses the token, or answers anything but
// 2xx, what was taken for the report is put back (the later time and the
// sum of counts win) and sent with the next one; the failure is logged at
// most once a minute. When Run's context ends, it tries one last report,
// bounded by FinalTimeout.
package lastseen

import (
	"bytes"
	"container/list"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/civisens/civisens/gateway/internal/ratelog"
	"github.com/civisens/civisens/registry/registryapi"
)

// Defaults of [Config].
const (
	DefaultInterval   = time.Minute
	DefaultMaxUnknown = 1000
	DefaultMaxSensors = 100000
	DefaultTimeout    = 10 * time.Second
	// MaxPerReport bounds the sensors of one report.
	MaxPerReport = 5000
	// FinalTimeout bounds the last report, when Run stops.
	FinalTimeout = 2 * time.Second
)

// Config configures a [Reporter]. The zero value of each field means its
// default.
type Config struct {
	// RegistryURL is the registry's base URL, e.g. http://127.0.0.1:8080.
	RegistryURL string
	// Token is the gateway's API token (role gateway); empty sends none,
	// which the registry refuses.
	Token string
	// GatewayID names the gateway in its reports: its MQTT client id.
	GatewayID string
	// Interval is how often a report is sent; DefaultInterval if zero.
	Interval time.Duration
	// MaxUnknown bounds the unknown ids kept between reports.
	MaxUnknown int
	// MaxSensors bounds the sensors kept between reports.
	MaxSensors int
	// Client sends the reports; one with DefaultTimeout if nil.
	Client *http.Client
	// Now is the clock of sent_at; time.Now if nil.
	Now func() time.Time
}

// Stats are the reporter's counters.
type Stats struct {
	Reports        uint64 // reports the registry accepted
	Failures       uint64 // reports that failed (retried with the next one)
	PendingSensors int    // sensors waiting for the next report
	PendingUnknown int    // unknown ids waiting for the next report
	Evicted        uint64 // unknown ids forgotten because the set was full
	LastReport     time.Time
}

// Reporter keeps what the gateway saw and reports it to the registry. Its
// methods are safe for concurrent use.
type Reporter struct {
	cfg Config
	log *slog.Logger
	rl  *ratelog.Limiter
	url string

	mu      sync.Mutex
	sensors map[string]time.Time
	unknown map[string]*list.Element // of *unknownID
	lru     *list.List               // most recently seen at the front
	stats   Stats
}

type unknownID struct {
	id    string
	count int64
	last  time.Time
}

// New returns a reporter; Run sends its reports.
func New(cfg Config, log *slog.Logger) *Reporter {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.MaxUnknown <= 0 {
		cfg.MaxUnknown = DefaultMaxUnknown
	}
	if cfg.MaxSensors <= 0 {
		cfg.MaxSensors = DefaultMaxSensors
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: DefaultTimeout}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Reporter{
		cfg:     cfg,
		log:     log,
		rl:      ratelog.New(log, ratelog.DefaultInterval, cfg.Now),
		url:     strings.TrimRight(cfg.RegistryURL, "/") + registryapi.PathGatewaySeen,
		sensors: map[string]time.Time{},
		unknown: map[string]*list.Element{},
		lru:     list.New(),
	}
}

// Accepted records that a reading of sensor was accepted at the time at.
func (r *Reporter) Accepted(sensor string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.accepted(sensor, at)
}

func (r *Reporter) accepted(sensor string, at time.Time) {
	t, ok := r.sensors[sensor]
	switch {
	case !ok && len(r.sensors) >= r.cfg.MaxSensors:
		// Beyond the bound (more sensors than any register holds): the
		// next report brings the sensor back.
	case !ok || at.After(t):
		r.sensors[sensor] = at
	}
}

// Unknown records that sensor, absent from the allow-list, published a
// message at the time at.
func (r *Reporter) Unknown(sensor string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unknownSeen(sensor, 1, at)
}

func (r *Reporter) unknownSeen(sensor string, n int64, at time.Time) {
	if e, ok := r.unknown[sensor]; ok {
		u := e.Value.(*unknownID)
		u.count += n
		if at.After(u.last) {
			u.last = at
		}
		r.lru.MoveToFront(e)
		return
	}
	if r.lru.Len() >= r.cfg.MaxUnknown {
		oldest := r.lru.Back()
		r.lru.Remove(oldest)
		delete(r.unknown, oldest.Value.(*unknownID).id)
		r.stats.Evicted++
	}
	r.unknown[sensor] = r.lru.PushFront(&unknownID{id: sensor, count: n, last: at})
}

// Stats returns the reporter's counters.
func (r *Reporter) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.PendingSensors, s.PendingUnknown = len(r.sensors), r.lru.Len()
	return s
}

// take removes what the next report carries from the pending sets.
func (r *Reporter) take() registryapi.GatewaySeen {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := registryapi.GatewaySeen{
		GatewayID: r.cfg.GatewayID,
		SentAt:    r.cfg.Now().UTC(),
		Sensors:   []registryapi.SeenSensor{},
		Unknown:   []registryapi.SeenUnknown{},
	}
	for id, at := range r.sensors {
		if len(seen.Sensors) == MaxPerReport {
			break
		}
		seen.Sensors = append(seen.Sensors, registryapi.SeenSensor{ID: id, LastSeen: at.UTC()})
		delete(r.sensors, id)
	}
	for e := r.lru.Front(); e != nil; e = e.Next() {
		u := e.Value.(*unknownID)
		seen.Unknown = append(seen.Unknown, registryapi.SeenUnknown{ID: u.id, Count: u.count, LastSeen: u.last.UTC()})
	}
	clear(r.unknown)
	r.lru.Init()
	return seen
}

// putBack returns a failed report's content to the pending sets, merged
// with what arrived since.
func (r *Reporter) putBack(seen registryapi.GatewaySeen) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.Failures++
	for _, s := range seen.Sensors {
		r.accepted(s.ID, s.LastSeen)
	}
	// Oldest first, so that the most recent stay at the front.
	for i := len(seen.Unknown) - 1; i >= 0; i-- {
		u := seen.Unknown[i]
		if e, ok := r.unknown[u.ID]; ok { // seen again since: merge without moving it
			x := e.Value.(*unknownID)
			x.count += u.Count
			if u.LastSeen.After(x.last) {
				x.last = u.LastSeen
			}
			continue
		}
		if r.lru.Len() >= r.cfg.MaxUnknown {
			r.stats.Evicted++
			continue
		}
		r.unknown[u.ID] = r.lru.PushBack(&unknownID{id: u.ID, count: u.Count, last: u.LastSeen})
	}
}

// Report sends one report now. On failure, what it carried waits for the
// next one.
func (r *Reporter) Report(ctx context.Context) error {
	seen := r.take()
	if err := r.post(ctx, seen); err != nil {
		r.putBack(seen)
		return err
	}
	r.mu.Lock()
	r.stats.Reports++
	r.stats.LastReport = seen.SentAt
	r.mu.Unlock()
	return nil
}

func (r *Reporter) post(ctx context.Context, seen registryapi.GatewaySeen) error {
	body, err := json.Marshal(seen)
	if err != nil {
		return fmt.Errorf("lastseen: encode: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("lastseen: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if r.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.cfg.Token)
	}
	res, err := r.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("lastseen: post %s: %w", r.url, err)
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("lastseen: post %s: %s: %s", r.url, res.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// Run sends a report every Interval until ctx ends, then a last one
// (bounded by FinalTimeout). Failures are logged at most once a minute.
func (r *Reporter) Run(ctx context.Context) {
	t := time.NewTicker(r.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := r.Report(ctx); err != nil && ctx.Err() == nil {
				st := r.Stats()
				r.rl.Log(ctx, slog.LevelWarn, "report", "last-seen report failed; retried with the next one",
					"err", err, "pending_sensors", st.PendingSensors, "pending_unknown", st.PendingUnknown)
			}
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), FinalTimeout)
			defer cancel()
			if err := r.Report(fctx); err != nil {
				r.log.Info("last report before stopping failed", "err", err)
			}
			return
		}
	}
}
