package httpapi

// The entry page's chart of recent readings, the page about the register,
// and the form that finds a report by its number.

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/civisens/civisens/dashboards"
	"github.com/civisens/civisens/registry/internal/reports"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/internal/web"
	"github.com/civisens/civisens/registry/registryapi"
)

// SeriesReadings reads a sensor's readings averaged per window; when
// Deps.Readings also has this method (dashboards.Reader has), entry pages
// of open sensors chart their last 24 hours.
type SeriesReadings interface {
	Series(ctx context.Context, category, sensorID, retention string, from, to time.Time, every time.Duration) ([]dashboards.Series, error)
}

// Recent readings are the hourly averages of the last recentHours hours.
const (
	recentHours  = 24
	recentWindow = time.Hour
)

// recent reads the last 24 hours of an open sensor whose latest readings
// were shown. nil (the page says nothing of them) when the reader cannot
// or InfluxDB fails — logged as latest does.
func (h *handler) recent(ctx context.Context, s registryapi.Sensor) *web.Recent {
	sr, ok := h.readings.(SeriesReadings)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, h.readingsTimeout)
	defer cancel()
	to := h.reports.now().Truncate(recentWindow).Add(recentWindow) // to the end of the current hour
	from := to.Add(-recentHours * recentWindow)
	series, err := sr.Series(ctx, s.Category, s.ID, s.Retention, from, to, recentWindow)
	if err != nil {
		if ok, suppressed := h.readingsErrors.allow(time.Now()); ok {
			h.log.Warn("recent readings unavailable", "sensor", s.ID, "err", err, "suppressed", suppressed)
		}
		return nil
	}
	return &web.Recent{From: from, To: to, Every: recentWindow, Series: series}
}

// pageAbout is the page about the register and one's rights.
func (h *handler) pageAbout(c *gin.Context) {
	sensors, err := h.published(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	r := request(c)
	var buf bytes.Buffer
	if err := h.pages.About(&buf, r, sensors); err != nil {
		h.fail(c, err)
		return
	}
	writePage(c, http.StatusOK, r, buf.Bytes())
}

// reportFollow finds a report by its number (GET /reports?number=…):
// a known number redirects to its page; without one, the form; a
// malformed or unknown one, the form again with the number kept and the
// field marked.
func (h *handler) reportFollow(c *gin.Context) {
	r := request(c)
	number, asked := c.GetQuery("number")
	number = strings.TrimSpace(number)
	d := web.ReportFollowPage{Number: number}
	status := http.StatusOK
	switch {
	case !asked:
	case number == "":
		d.Error, status = "err.follow.required", http.StatusBadRequest
	default:
		if _, _, ok := reports.ParseNumber(number); !ok {
			d.Error, status = "err.follow.format", http.StatusBadRequest
			break
		}
		if h.reports.store == nil {
			d.Error, status = "err.follow.unknown", http.StatusNotFound
			break
		}
		_, err := h.reports.store.Report(c.Request.Context(), number)
		switch {
		case errors.Is(err, store.ErrNoReport):
			d.Error, status = "err.follow.unknown", http.StatusNotFound
		case err != nil:
			h.fail(c, err)
			return
		default:
			c.Redirect(http.StatusSeeOther, web.ReportPath(number)+"?lang="+r.Lang)
			return
		}
	}
	var buf bytes.Buffer
	if err := h.pages.ReportFollow(&buf, r, d); err != nil {
		h.fail(c, err)
		return
	}
	writePage(c, status, r, buf.Bytes())
}
