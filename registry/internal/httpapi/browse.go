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
	snap, err := h.snapshot(ctx)
	if err != nil {
		h.fail(c, err)
		return
	}
	h.publicPage(c, snap, func(snap *snapshot, r web.Request, buf *bytes.Buffer) error {
		changes, err := h.recentChanges(ctx, snap)
		if err != nil {
			return err
		}
		return h.pages.Home(buf, r, snap.pagesView(), changes)
	})
}

// publicPage serves a page that depends only on the published entries
// (and the versions written with them) and on the request's URL and
// language: rendered once per snapshot for the public, each time for a
// signed-in person, whose pages carry their session's CSRF token.
func (h *handler) publicPage(c *gin.Context, snap *snapshot, render func(*snapshot, web.Request, *bytes.Buffer) error) {
	r := request(c)
	do := func() ([]byte, error) {
		var buf bytes.Buffer
		err := render(snap, r, &buf)
		return buf.Bytes(), err
	}
	if r.CSRFToken != "" || r.Role != "" {
		body, err := do()
		if err != nil {
			h.fail(c, err)
			return
		}
		writePage(c, http.StatusOK, r, body)
		return
	}
	t, err := snap.page(r.Lang+" "+c.Request.URL.RequestURI(), do)
	if err != nil {
		h.fail(c, err)
		return
	}
	writePageTagged(c, r, t.body, t.etag)
}

// recentChanges returns the latest versions of published entries, newest
// first, with each entry's current name.
func (h *handler) recentChanges(ctx context.Context, snap *snapshot) ([]web.Change, error) {
	sensors := snap.sensors
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
		e, ok := snap.entry(v.SensorID)
		if !ok { // unpublished since
			continue
		}
		name := e.Name
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
	snap, err := h.snapshot(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	h.publicPage(c, snap, func(snap *snapshot, r web.Request, buf *bytes.Buffer) error {
		return h.pages.List(buf, r, snap.pagesView(), web.ParseQuery(c.Request.URL.Query()))
	})
}

// cssImmutable serves the stylesheet at its fingerprinted path, which
// changes with its content: it may be cached for a year.
func (h *handler) cssImmutable(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=31536000, immutable")
	c.Data(http.StatusOK, "text/css; charset=utf-8", h.pages.CSS())
}
