package httpapi

import (
	"bytes"
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/civisens/civisens/registry/internal/web"
	"github.com/civisens/civisens/registry/registryapi"
)

// request returns what a page needs of the request, in its language.
func request(c *gin.Context) web.Request {
	r := web.Request{
		Lang: web.Negotiate(c.Query("lang"), c.GetHeader("Accept-Language")),
		Path: c.Request.URL.Path,
	}
	r.CSRFToken, r.Role = staffOf(c) // for the forms and the staff menu (auth.go)
	return r
}

// writePage sends a rendered page. A public page that answers 200 carries
// a strong ETag, a hash of its body, and answers 304 to a matching
// If-None-Match.
func writePage(c *gin.Context, status int, r web.Request, body []byte) {
	c.Header("Content-Language", r.Lang)
	c.Header("Vary", "Accept-Language")
	c.Header("Cache-Control", "no-cache")
	if r.CSRFToken != "" { // a signed-in person's page carries their CSRF token
		c.Header("Cache-Control", "private, no-store")
	} else if status == http.StatusOK && notModified(c, body) {
		return
	}
	c.Data(status, "text/html; charset=utf-8", body)
}

// writePageTagged sends a public page, 200, whose ETag is known.
func writePageTagged(c *gin.Context, r web.Request, body []byte, etag string) {
	c.Header("Content-Language", r.Lang)
	c.Header("Vary", "Accept-Language")
	c.Header("Cache-Control", "no-cache")
	if taggedNotModified(c, etag) {
		return
	}
	c.Data(http.StatusOK, "text/html; charset=utf-8", body)
}

// notModified sets the ETag of body and answers 304 when the request's
// If-None-Match names it.
func notModified(c *gin.Context, body []byte) bool {
	return taggedNotModified(c, bodyETag(body))
}

// taggedNotModified sets the ETag tag and answers 304 when the request's
// If-None-Match names it.
func taggedNotModified(c *gin.Context, tag string) bool {
	c.Header("ETag", tag)
	if !etagMatch(c.GetHeader("If-None-Match"), tag) {
		return false
	}
	c.Status(http.StatusNotModified)
	c.Writer.WriteHeaderNow()
	return true
}

// pageEntry serves an entry's page. Without open data it shows no
// readings and depends only on the register: it is rendered once per
// snapshot for the public; with open data, its readings are read at each
// request.
func (h *handler) pageEntry(c *gin.Context) {
	ctx := c.Request.Context()
	snap, s, err := h.publishedIn(ctx, c.Param("id"))
	if err != nil {
		h.fail(c, err)
		return
	}
	render := func(_ *snapshot, r web.Request, buf *bytes.Buffer) error {
		versions, err := h.sensors.Versions(ctx, s.ID)
		if err != nil {
			return err
		}
		e := web.Entry{Sensor: s}
		for _, v := range versions {
			e.Versions = append(e.Versions, web.Version{
				Number:    v.Version,
				ChangedAt: v.ChangedAt,
				ActorRole: v.ActorRole, // the role only: names stay in the store
				Reason:    v.Reason,
				Summary:   v.Summary,
				Status:    v.Sensor.Status,
			})
		}
		e.Readings, e.State = h.latest(ctx, s)
		if e.State == web.ReadingsShown {
			e.Recent = h.recent(ctx, s) // the last 24 hours' chart (entry_pages.go)
		}
		return h.pages.Entry(buf, r, e)
	}
	if s.OpenData {
		r := request(c)
		var buf bytes.Buffer
		if err := render(snap, r, &buf); err != nil {
			h.fail(c, err)
			return
		}
		writePage(c, http.StatusOK, r, buf.Bytes())
		return
	}
	h.publicPage(c, snap, render)
}

// latest reads the latest readings of an open-data sensor. A failure only
// changes what the page says: it is logged (once a minute at most) and the
// page is still served.
func (h *handler) latest(ctx context.Context, s registryapi.Sensor) ([]web.Reading, web.ReadingsState) {
	if !s.OpenData {
		return nil, web.ReadingsClosed
	}
	if h.readings == nil {
		return nil, web.ReadingsUnavailable
	}
	ctx, cancel := context.WithTimeout(ctx, h.readingsTimeout)
	defer cancel()
	rs, err := h.readings.Latest(ctx, s.Category, s.ID, s.Retention)
	if err != nil {
		if ok, suppressed := h.readingsErrors.allow(time.Now()); ok {
			h.log.Warn("latest readings unavailable", "sensor", s.ID, "err", err, "suppressed", suppressed)
		}
		return nil, web.ReadingsUnavailable
	}
	if len(rs) == 0 {
		return nil, web.ReadingsNone
	}
	out := make([]web.Reading, len(rs))
	for i, r := range rs {
		out[i] = web.Reading{Quantity: r.Quantity, Value: r.Value, Time: r.Time}
	}
	return out, web.ReadingsShown
}

// errorPage answers an HTML page for an error status.
func (h *handler) errorPage(c *gin.Context, status int) {
	r := request(c)
	var buf bytes.Buffer
	var err error
	if status == http.StatusNotFound {
		err = h.pages.NotFound(&buf, r)
	} else {
		err = h.pages.Error(&buf, r)
	}
	if err != nil {
		h.log.Error("render error page", "err", err)
		c.AbortWithStatus(status)
		return
	}
	writePage(c, status, r, buf.Bytes())
	c.Abort()
}
