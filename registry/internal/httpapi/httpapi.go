// Package httpapi is the registry's HTTP surface: one gin engine, built by
// [NewHandler], that serves
//
//   - the JSON API (registryapi): the published entries, one entry, and the
//     gateway's allow-list with a strong ETag and If-None-Match;
//   - the public register's HTML pages, rendered by package web: the home
//     page, the list of published entries with its filters (browse.go), and
//     each entry's page, with the sensor's latest
//     readings read back from InfluxDB (through package dashboards) when
//     its data is open;
//   - login, logout, accounts and API tokens (auth.go: the security model,
//     h.require and principal; accounts.go);
//   - provisioning as JSON, over package provision (provision.go): drafts,
//     publication, lifecycle, MQTT credentials, firmware bridges, and the
//     gateway's view for gateway tokens; the body size limit of every
//     request;
//   - the technicians' provisioning pages under /staff/sensors, over the
//     same service (staff_pages.go), and their one script;
//   - the dashboards under /dashboards (dashboards_pages.go): air quality
//     and parking for the public, energy, décret tertiaire and street
//     lighting for energy managers, read from the gateway's aggregates;
//   - /healthz, and the stylesheet.
//
// The public pages and the published entries' JSON read a snapshot of the
// published entries kept in memory and checked against the store's change
// counter at every request (published.go).
//
// routes.go lists every route. Errors become RFC 9457 problem bodies
// (application/problem+json) in one mapper, problemFor; HTML pages show a
// page with the same status instead. The split with package web: httpapi
// decides what to answer (routing, reading the store and InfluxDB, status
// codes, caching headers), web decides how a page reads.
//
// The store and the readings are small interfaces declared here, so that
// tests can give a real store and a real InfluxDB reader, or none.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/civisens/civisens/dashboards"
	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/importer"
	"github.com/civisens/civisens/registry/internal/opendata"
	"github.com/civisens/civisens/registry/internal/provision"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/internal/web"
	"github.com/civisens/civisens/registry/registryapi"
)

// Sensors is what the handler needs of the register's store.
type Sensors interface {
	List(ctx context.Context, statuses ...string) ([]registryapi.Sensor, error)
	Get(ctx context.Context, id string) (registryapi.Sensor, error)
	Versions(ctx context.Context, id string) ([]store.Version, error)
	Ping(ctx context.Context) error
}

// Readings reads the latest readings of a sensor, from the retention
// policy or bucket of its entry's retention (see dashboards.RetentionBucket).
type Readings interface {
	Latest(ctx context.Context, category, sensorID, retention string) ([]dashboards.Reading, error)
}

// Deps are what NewHandler needs. Zero fields take the default documented
// on each.
type Deps struct {
	Sensors Sensors // required
	// Readings, when nil, makes entry pages say that readings are
	// unavailable.
	Readings Readings
	// PublicURL is the base of the entries' stable URLs, e.g.
	// "https://capteurs.example.fr"; default http://127.0.0.1:8080.
	PublicURL string
	// Log receives the access log (at debug level) and errors; default:
	// discard.
	Log *slog.Logger
	// Location is the time zone of the times on pages; default UTC.
	Location *time.Location
	// ReadingsTimeout bounds the InfluxDB query of an entry page, so that a
	// slow InfluxDB never holds a page; default 3 s.
	ReadingsTimeout time.Duration
	// Accounts keeps accounts, sessions and API tokens (auth.go); when
	// nil, Sensors is used if it provides them, as *store.Store does.
	// Without either, nobody can log in and h.require refuses everything.
	Accounts Accounts
	// Now is the clock of sessions and login limits; default time.Now.
	Now func() time.Time

	// Open data and import (opendata.go). Licence is the licence of the
	// register's open data; default opendata.LicenceOuverte.
	Licence opendata.Licence
	// Publisher publishes the register in its DCAT-AP record; default: the
	// accountable organisation that most entries name.
	Publisher opendata.Publisher
	// Imports is where POST /api/v1/import writes; when nil, Sensors is
	// used if it provides it, as *store.Store does.
	Imports importer.Store
	// ImportMaxBytes bounds an import body (413 beyond); default 10 MiB.
	ImportMaxBytes int64
	// Territory is what imported published entries are checked against;
	// the zero Territory checks no bounding box.
	Territory catalog.Territory

	// Citizens' reports and the quality page (reports.go, quality.go):
	// when nil, Sensors is used if it provides them, as *store.Store
	// does; without them, their routes are not served.
	Reports Reports
	Seen    Seen

	// Provisioning (provision.go). Provision is the service of drafts,
	// publication, lifecycle, credentials and bridges; when nil, one is
	// made over Sensors if it provides provision.Store (as *store.Store
	// does), checking entries against Territory.
	Provision *provision.Service
	// MaxBodyBytes bounds every request body but an import's (413
	// beyond); default DefaultMaxBodyBytes, 1 MiB.
	MaxBodyBytes int64

	// Map is the map page's tile server and Leaflet (mapview.go).
	Map MapDeps
	// Dashboards configures the dashboards (dashboards_pages.go).
	Dashboards DashboardDeps
}

type handler struct {
	sensors         Sensors
	readings        Readings
	publicURL       string
	log             *slog.Logger
	pages           *web.Pages
	readingsTimeout time.Duration
	readingsErrors  *limiter
	authn           *authn // nil without Deps.Accounts; see auth.go
	openData        openData
	reports         *reportsState // reports.go, quality.go
	prov            *provisioning // provision.go
	maps            mapState      // mapview.go
	dash            dashState     // dashboards_pages.go
	snaps           snapshots     // the published entries in memory (published.go)
}

// NewHandler builds the registry's HTTP handler.
func NewHandler(d Deps) (http.Handler, error) {
	if d.Sensors == nil {
		return nil, errors.New("httpapi: no store")
	}
	if d.PublicURL == "" {
		d.PublicURL = "http://127.0.0.1:8080"
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.ReadingsTimeout <= 0 {
		d.ReadingsTimeout = 3 * time.Second
	}
	pages, err := web.New(d.Location)
	if err != nil {
		return nil, fmt.Errorf("httpapi: %w", err)
	}
	h := &handler{
		sensors:         d.Sensors,
		readings:        d.Readings,
		publicURL:       strings.TrimRight(d.PublicURL, "/"),
		log:             d.Log.With("component", "httpapi"),
		pages:           pages,
		readingsTimeout: d.ReadingsTimeout,
		readingsErrors:  &limiter{every: time.Minute},
	}
	if d.Accounts == nil {
		d.Accounts, _ = d.Sensors.(Accounts)
	}
	if d.Accounts != nil {
		h.authn = newAuthn(d.Accounts, h.publicURL, d.Now)
	}
	if h.openData, err = newOpenData(d, h.publicURL); err != nil {
		return nil, fmt.Errorf("httpapi: %w", err)
	}
	h.reports = newReportsState(d)
	h.prov = newProvisioning(d)
	h.dash = newDashState(d)
	if h.maps, err = newMapState(d.Map); err != nil {
		return nil, fmt.Errorf("httpapi: %w", err)
	}

	// Release mode: gin prints nothing of its own; the access log is ours.
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.HandleMethodNotAllowed = true
	if err := e.SetTrustedProxies(nil); err != nil {
		return nil, fmt.Errorf("httpapi: %w", err)
	}
	e.Use(h.accessLog, gin.CustomRecoveryWithWriter(nil, h.recovered), securityHeaders, h.limitBodies, h.authenticate)
	h.routes(e)
	return e, nil
}

// accessLog logs every request at debug level.
func (h *handler) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	ctx := c.Request.Context()
	if !h.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	h.log.LogAttrs(ctx, slog.LevelDebug, "request",
		slog.String("method", c.Request.Method),
		slog.String("path", c.Request.URL.Path),
		slog.Int("status", c.Writer.Status()),
		slog.Int("bytes", c.Writer.Size()),
		slog.Duration("duration", time.Since(start)),
	)
}

func (h *handler) recovered(c *gin.Context, rec any) {
	h.log.Error("panic while serving", "path", c.Request.URL.Path, "panic", fmt.Sprint(rec))
	h.fail(c, fmt.Errorf("panic: %v", rec))
}

func securityHeaders(c *gin.Context) {
	hd := c.Writer.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	c.Next()
}

// limiter lets a repeated failure be logged once per period, with the
// number of occurrences left unlogged since.
type limiter struct {
	every time.Duration

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (l *limiter) allow(now time.Time) (ok bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && now.Sub(l.last) < l.every {
		l.suppressed++
		return false, 0
	}
	l.last, suppressed, l.suppressed = now, l.suppressed, 0
	return true, suppressed
}
