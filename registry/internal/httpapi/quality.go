package httpapi

// What the gateways saw (POST /api/v1/gateway/seen) and the register's
// quality page (package quality), for administrators and technicians.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/civisens/civisens/registry/internal/auth"
	"github.com/civisens/civisens/registry/internal/quality"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/internal/web"
	"github.com/civisens/civisens/registry/registryapi"
)

// pathQuality is the JSON of the quality page.
const pathQuality = "/api/v1/admin/quality"

// maxSeenBody bounds a gateway's report of what it saw.
const maxSeenBody = 1 << 20

// Seen is what the handler needs of the store for what the gateways saw;
// *store.Store provides it.
type Seen interface {
	RecordSeen(ctx context.Context, seen registryapi.GatewaySeen, at time.Time) error
	LastSeen(ctx context.Context) (map[string]time.Time, error)
	UnknownSeen(ctx context.Context, since time.Time) ([]store.UnknownSeen, error)
	GatewayReports(ctx context.Context) ([]store.GatewayReport, error)
}

// qualityRoles may read the quality page: administrators, and technicians,
// who fix entries and visit silent sensors.
var qualityRoles = []auth.Role{auth.RoleAdministrator, auth.RoleTechnician}

// qualityRoutes adds the routes of this file.
func (h *handler) qualityRoutes(e *gin.Engine) {
	if h.reports.seen == nil {
		return
	}
	e.POST(registryapi.PathGatewaySeen, h.require(auth.RoleGateway, auth.RoleAdministrator), h.apiGatewaySeen)
	staff := h.require(qualityRoles...)
	e.GET(web.QualityPath, staff, h.qualityPage)
	e.GET(pathQuality, staff, h.apiQuality)
}

// apiGatewaySeen records a gateway's report. The times are shifted by the
// difference between the registry's clock and the gateway's (sent_at),
// and none may be later than now.
func (h *handler) apiGatewaySeen(c *gin.Context) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxSeenBody)
	var seen registryapi.GatewaySeen
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(&seen)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("trailing data after the JSON value")
	}
	if err != nil && !errors.As(err, new(*http.MaxBytesError)) {
		err = fmt.Errorf("%w: %v", invalidFields{{Field: "body", Key: "err.json"}}, err)
	}
	if err != nil {
		h.failJSON(c, err)
		return
	}
	now := h.reports.now().UTC()
	var shift time.Duration
	if !seen.SentAt.IsZero() {
		shift = now.Sub(seen.SentAt)
	}
	fix := func(t time.Time) time.Time {
		if t.IsZero() {
			return t // refused by the store
		}
		if t = t.Add(shift); t.After(now) {
			return now
		}
		return t
	}
	for i := range seen.Sensors {
		seen.Sensors[i].LastSeen = fix(seen.Sensors[i].LastSeen)
	}
	for i := range seen.Unknown {
		seen.Unknown[i].LastSeen = fix(seen.Unknown[i].LastSeen)
	}
	if err := h.reports.seen.RecordSeen(c.Request.Context(), seen, now); err != nil {
		h.fail(c, err)
		return
	}
	p, _ := principal(c)
	h.log.Debug("gateway report recorded", "gateway", seen.GatewayID, "sensors", len(seen.Sensors),
		"unknown", len(seen.Unknown), "clock_shift", shift, actorAttr(p))
	c.Header("Cache-Control", "no-store")
	c.Status(http.StatusNoContent)
}

// review assesses the register now.
func (h *handler) review(ctx context.Context) (quality.Review, error) {
	now := h.reports.now().UTC()
	sensors, err := h.sensors.List(ctx)
	if err != nil {
		return quality.Review{}, err
	}
	seen, err := h.reports.seen.LastSeen(ctx)
	if err != nil {
		return quality.Review{}, err
	}
	unknown, err := h.reports.seen.UnknownSeen(ctx, now.Add(-quality.UnknownWindow))
	if err != nil {
		return quality.Review{}, err
	}
	gws, err := h.reports.seen.GatewayReports(ctx)
	if err != nil {
		return quality.Review{}, err
	}
	in := quality.Input{Now: now, Sensors: sensors, Territory: h.openData.territory, LastSeen: seen}
	for _, u := range unknown {
		in.Unknown = append(in.Unknown, quality.UnknownSensor{ID: u.ID, Count: u.Count, LastSeen: u.LastSeen, Gateways: u.Gateways})
	}
	for _, g := range gws {
		in.Gateways = append(in.Gateways, quality.GatewayReport{GatewayID: g.GatewayID, ReportedAt: g.ReportedAt})
	}
	return quality.Assess(in), nil
}

func (h *handler) qualityPage(c *gin.Context) {
	q, err := h.review(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	r := request(c)
	h.writeStaffPage(c, http.StatusOK, func(b *strings.Builder) error { return h.pages.Quality(b, r, q, pathQuality) })
}

func (h *handler) apiQuality(c *gin.Context) {
	q, err := h.review(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	writeStaffJSON(c, http.StatusOK, q)
}
