package httpapi

import (
	"github.com/gin-gonic/gin"

	"github.com/civisens/civisens/registry/internal/web"
	"github.com/civisens/civisens/registry/registryapi"
)

// routes lists every route of the registry.
func (h *handler) routes(e *gin.Engine) {
	// Health.
	e.GET("/healthz", h.healthz)

	// JSON API (package registryapi).
	e.GET(registryapi.PathSensors, h.apiSensors)       // published entries
	e.GET(registryapi.PathSensors+"/:id", h.apiSensor) // one published entry
	h.openDataRoutes(e)                                // CSV, GeoJSON, DCAT-AP, OpenAPI, POST import (opendata.go)
	h.provisionRoutes(e)                               // gateway's view; drafts, lifecycle, credentials, bridges (provision.go)

	// Public register (HTML).
	e.GET(web.HomePath, h.pageHome)       // home: counts, search box, latest changes (browse.go)
	e.GET(web.SensorsPath, h.pageSensors) // the list: filters, q, sort, order, page, per (browse.go)
	e.GET("/sensors/:id", h.pageEntry)
	e.GET("/sensors/:id/sign.:format", h.pageSign) // printable sign: sign.pdf, sign.svg; ?size=a5|a6 (signs.go)
	e.GET(web.CSSPath, h.css)
	e.GET(web.CSSURL, h.cssImmutable) // the same, fingerprinted
	e.GET(web.AboutPath, h.pageAbout) // what the register covers, one's rights, the DPOs (entry_pages.go)
	e.GET(web.AboutPathFR, h.pageAbout)
	h.mapRoutes(e) // the map, its script, the vendored Leaflet (mapview.go)

	// Login, logout, accounts and API tokens (auth.go, accounts.go).
	h.authRoutes(e)

	// Citizens' reports: the public's form, pages and JSON (no account),
	// the administrators' (reports.go); what the gateways saw and the
	// register's quality page (quality.go).
	h.reportRoutes(e)
	h.qualityRoutes(e)
	h.staffPageRoutes(e) // technicians' provisioning pages and their script (staff_pages.go)
	h.dashboardRoutes(e) // /dashboards: air and parking public, energy, tertiary, lighting for energy managers (dashboards_pages.go)

	e.NoRoute(h.notFound)
	e.NoMethod(h.methodNotAllowed)
}
