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
	e.GET(registryapi.PathAllowList, h.apiAllowList)   // the gateway's allow-list
	h.openDataRoutes(e)                                // CSV, GeoJSON, DCAT-AP, OpenAPI, POST import (opendata.go)

	// Public register (HTML).
	e.GET("/", h.pageList)
	e.GET("/sensors/:id", h.pageEntry)
	e.GET("/sensors/:id/sign.:format", h.pageSign) // printable sign: sign.pdf, sign.svg; ?size=a5|a6 (signs.go)
	e.GET(web.CSSPath, h.css)

	// Login, logout, accounts and API tokens (auth.go, accounts.go).
	h.authRoutes(e)

	e.NoRoute(h.notFound)
	e.NoMethod(h.methodNotAllowed)
}
