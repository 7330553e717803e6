package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/dtpr"
	"github.com/civisens/civisens/registry/internal/web"
	"github.com/civisens/civisens/registry/registryapi"
)

// healthz answers 200 when the store answers.
func (h *handler) healthz(c *gin.Context) {
	if err := h.sensors.Ping(c.Request.Context()); err != nil {
		h.log.Error("health check failed", "err", err)
		writeProblem(c, registryapi.Problem{
			Title:  http.StatusText(http.StatusServiceUnavailable),
			Status: http.StatusServiceUnavailable,
			Detail: "The register's database does not answer.",
		})
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "application/json", []byte(`{"status":"ok"}`))
}

// published returns the published entries, with their public URL.
func (h *handler) published(ctx context.Context) ([]registryapi.Sensor, error) {
	sensors, err := h.sensors.List(ctx, registryapi.StatusActive, registryapi.StatusMaintenance, registryapi.StatusRetired)
	if err != nil {
		return nil, err
	}
	for i := range sensors {
		sensors[i].URL = h.entryURL(sensors[i].ID)
	}
	return sensors, nil
}

// publishedEntry returns the entry id when it is published, with its URL.
func (h *handler) publishedEntry(ctx context.Context, id string) (registryapi.Sensor, error) {
	if !catalog.ValidSensorID(id) {
		return registryapi.Sensor{}, fmt.Errorf("entry %q: %w", id, errNotPublished)
	}
	s, err := h.sensors.Get(ctx, id)
	if err != nil {
		return registryapi.Sensor{}, err
	}
	if !catalog.Published(s.Status) {
		return registryapi.Sensor{}, fmt.Errorf("entry %s is %s: %w", id, s.Status, errNotPublished)
	}
	s.URL = h.entryURL(id)
	return s, nil
}

func (h *handler) entryURL(id string) string { return h.publicURL + web.SensorPath(id) }

func (h *handler) apiSensors(c *gin.Context) {
	sensors, err := h.published(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	if sensors == nil {
		sensors = []registryapi.Sensor{}
	}
	h.writeJSON(c, registryapi.SensorList{Sensors: sensors, Attribution: dtpr.Notice})
}

func (h *handler) apiSensor(c *gin.Context) {
	s, err := h.publishedEntry(c.Request.Context(), c.Param("id"))
	if err != nil {
		h.fail(c, err)
		return
	}
	h.writeJSON(c, s)
}

// apiAllowList answers the sensors the gateway may accept readings from,
// and the MQTT credentials (store.GatewayView), to a gateway's token or an
// administrator (provision.go). generated_at is the time of the register's
// latest change, not of the request, so that an unchanged register gives
// the same body and ETag.
func (h *handler) apiAllowList(c *gin.Context) {
	if v, ok := h.sensors.(gatewayViewer); ok { // with credentials and bridges, in one snapshot (provision.go)
		list, err := v.GatewayView(c.Request.Context())
		if err != nil {
			h.fail(c, err)
			return
		}
		h.writeJSON(c, list)
		return
	}
	all, err := h.sensors.List(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	list := registryapi.AllowList{
		Sensors:     []registryapi.GatewaySensor{},
		Credentials: []registryapi.Credential{},
	}
	for _, s := range all {
		if s.UpdatedAt.After(list.GeneratedAt) {
			list.GeneratedAt = s.UpdatedAt
		}
		if !catalog.InAllowList(s.Status) {
			continue
		}
		list.Sensors = append(list.Sensors, registryapi.GatewaySensor{
			ID:              s.ID,
			Category:        s.Category,
			Site:            s.Site,
			Tags:            s.Tags,
			Quantities:      s.Quantities,
			Retention:       s.Retention,
			Status:          s.Status,
			Identifiability: s.Identifiability,
		})
	}
	list.GeneratedAt = list.GeneratedAt.UTC()
	if list.GeneratedAt.IsZero() {
		list.GeneratedAt = time.Unix(0, 0).UTC()
	}
	h.writeJSON(c, list)
}

// writeJSON answers v as JSON with a strong ETag computed from the body,
// and 304 Not Modified when the client's If-None-Match has it.
func (h *handler) writeJSON(c *gin.Context, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		h.fail(c, fmt.Errorf("encode answer: %w", err))
		return
	}
	writeTagged(c, "application/json", body)
}

// writeTagged answers body with a strong ETag computed from it, and 304 Not
// Modified when the client's If-None-Match has it.
func writeTagged(c *gin.Context, contentType string, body []byte) {
	sum := sha256.Sum256(body)
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
	c.Header("ETag", etag)
	c.Header("Cache-Control", "no-cache")
	if etagMatch(c.GetHeader("If-None-Match"), etag) {
		c.Status(http.StatusNotModified)
		return
	}
	c.Data(http.StatusOK, contentType, body)
}

// etagMatch reports whether an If-None-Match header matches etag, with the
// weak comparison that RFC 9110 prescribes for If-None-Match.
func etagMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

func (h *handler) css(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=3600")
	c.Data(http.StatusOK, "text/css; charset=utf-8", h.pages.CSS())
}
