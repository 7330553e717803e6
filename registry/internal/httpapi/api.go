package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/civisens/civisens/registry/internal/catalog"
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

// publishedEntry returns the entry id when it is published, with its URL.
func (h *handler) publishedEntry(ctx context.Context, id string) (registryapi.Sensor, error) {
	_, s, err := h.publishedIn(ctx, id)
	return s, err
}

// publishedIn is publishedEntry, with the snapshot it was found in.
func (h *handler) publishedIn(ctx context.Context, id string) (*snapshot, registryapi.Sensor, error) {
	if !catalog.ValidSensorID(id) {
		return nil, registryapi.Sensor{}, fmt.Errorf("entry %q: %w", id, errNotPublished)
	}
	snap, err := h.snapshot(ctx)
	if err != nil {
		return nil, registryapi.Sensor{}, err
	}
	s, ok := snap.entry(id)
	if !ok {
		return nil, registryapi.Sensor{}, fmt.Errorf("entry %s: %w", id, errNotPublished)
	}
	return snap, s, nil
}

func (h *handler) entryURL(id string) string { return h.publicURL + web.SensorPath(id) }

// apiSensors answers the published entries; the body and its ETag are
// made once per snapshot. It also carries Last-Modified, the time of the
// register's latest change rounded up to the second, once that second is
// past when the request reads the register: a later change is then
// strictly after it, and If-Modified-Since (heeded without If-None-Match,
// as RFC 9110 says) never hides it.
func (h *handler) apiSensors(c *gin.Context) {
	asked := time.Now()
	snap, err := h.snapshot(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	list := snap.apiList()
	if list.err != nil {
		h.fail(c, list.err)
		return
	}
	if changed := snap.gen.ChangedAt; snap.cached && !changed.IsZero() {
		lm := changed.Truncate(time.Second)
		if lm.Before(changed) {
			lm = lm.Add(time.Second)
		}
		if !asked.Before(lm) {
			c.Header("Last-Modified", lm.UTC().Format(http.TimeFormat))
			if ims, err := http.ParseTime(c.GetHeader("If-Modified-Since")); err == nil &&
				c.GetHeader("If-None-Match") == "" && !changed.After(ims) {
				c.Header("ETag", list.etag)
				c.Header("Cache-Control", "no-cache")
				c.Status(http.StatusNotModified)
				return
			}
		}
	}
	writeWithETag(c, "application/json", list.body, list.etag)
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
	t := newTaggedBody(body, nil)
	writeWithETag(c, contentType, t.body, t.etag)
}

// writeWithETag answers body with its ETag, and 304 Not Modified when the
// client's If-None-Match has it.
func writeWithETag(c *gin.Context, contentType string, body []byte, etag string) {
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
