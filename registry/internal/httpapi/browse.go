package httpapi

import (
	"bytes"
	"context"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/internal/web"
	"github.com/civisens/civisens/registry/registryapi"
)

// recentVersions is what the home page needs of the store for its latest
// changes; *store.Store provides it. Without it, the home page reads the
// versions of each published entry.
type recentVersions interface {
	RecentVersions(ctx context.Context, limit int, statuses ...string) ([]store.RecentVersion, error)
}

// pageHome serves the home page of the public register.
func (h *handler) pageHome(c *gin.Context) {
	ctx := c.Request.Context()
	sensors, err := h.published(ctx)
	if err != nil {
		h.fail(c, err)
		return
	}
	changes, err := h.recentChanges(ctx, sensors)
	if err != nil {
		h.fail(c, err)
		return
	}
	r := request(c)
	var buf bytes.Buffer
	if err := h.pages.Home(&buf, r, sensors, changes); err != nil {
		h.fail(c, err)
		return
	}
	writePage(c, http.StatusOK, r, buf.Bytes())
}

// recentChanges returns the latest versions of published entries, newest
// first, with each entry's current name.
func (h *handler) recentChanges(ctx context.Context, sensors []registryapi.Sensor) ([]web.Change, error) {
	names := make(map[string]registryapi.Text, len(sensors))
	for _, s := range sensors {
		names[s.ID] = s.Name
	}
	var versions []store.RecentVersion
	if rv, ok := h.sensors.(recentVersions); ok {
		var err error
		versions, err = rv.RecentVersions(ctx, web.RecentChanges, registryapi.StatusActive, registryapi.StatusMaintenance, registryapi.StatusRetired)
		if err != nil {
			return nil, err
		}
	} else {
		for _, s := range sensors {
			vs, err := h.sensors.Versions(ctx, s.ID)
			if err != nil {
				return nil, err
			}
			for i, v := range vs {
				rv := store.RecentVersion{Version: v}
				if i > 0 {
					rv.PreviousStatus = vs[i-1].Sensor.Status
				}
				versions = append(versions, rv)
			}
		}
		slices.SortStableFunc(versions, func(a, b store.RecentVersion) int { return b.ChangedAt.Compare(a.ChangedAt) })
		versions = versions[:min(len(versions), web.RecentChanges)]
	}
	out := make([]web.Change, 0, len(versions))
	for _, v := range versions {
		name, ok := names[v.SensorID]
		if !ok { // unpublished since
			continue
		}
		out = append(out, web.Change{
			SensorID:       v.SensorID,
			Name:           name,
			Number:         v.Version.Version,
			ChangedAt:      v.ChangedAt,
			Summary:        v.Summary, // roles and names stay out: the public sees what changed
			Status:         v.Sensor.Status,
			PreviousStatus: v.PreviousStatus,
		})
	}
	return out, nil
}

// pageSensors serves the list of published entries, with the filters,
// search, sort and page of its query (web.ParseQuery). Bad parameters are
// not errors: the page says what it ignored.
func (h *handler) pageSensors(c *gin.Context) {
	sensors, err := h.published(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	r := request(c)
	var buf bytes.Buffer
	if err := h.pages.List(&buf, r, sensors, web.ParseQuery(c.Request.URL.Query())); err != nil {
		h.fail(c, err)
		return
	}
	writePage(c, http.StatusOK, r, buf.Bytes())
}

// cssImmutable serves the stylesheet at its fingerprinted path, which
// changes with its content: it may be cached for a year.
func (h *handler) cssImmutable(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=31536000, immutable")
	c.Data(http.StatusOK, "text/css; charset=utf-8", h.pages.CSS())
}
