package httpapi

// The map of the published sensors (package web draws it): GET /map with
// the list's filter parameters, its script, and the vendored third-party
// files (Leaflet) at fingerprinted URLs.

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/civisens/civisens/registry/internal/web"
)

// MapDeps are the map's settings in Deps. The zero value draws the markers
// on no background and serves the Leaflet embedded in the binary, if any.
type MapDeps struct {
	// Tiles is the URL template of an OpenStreetMap-compatible tile server,
	// e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png ({s}, {z}, {x},
	// {y}, {r} as Leaflet reads them); empty: no background map (tests).
	// The map page's Content-Security-Policy admits images from its origin.
	Tiles string
	// Attribution credits the tiles (HTML, as Leaflet takes it).
	Attribution string
	// Vendor holds Leaflet; nil means web.EmbeddedVendor(). Tests give
	// web.NewVendor over an fstest.MapFS, with or without Leaflet.
	Vendor *web.Vendor
}

// mapState is the handler's map settings.
type mapState struct {
	MapDeps
	csp string // the map page's Content-Security-Policy
}

func newMapState(d MapDeps) (mapState, error) {
	if d.Vendor == nil {
		v, err := web.EmbeddedVendor()
		if err != nil {
			return mapState{}, err
		}
		d.Vendor = v
	}
	img := "'self'"
	if d.Tiles != "" {
		origin, err := TileOrigin(d.Tiles)
		if err != nil {
			return mapState{}, err
		}
		img += " " + origin
	}
	csp := "default-src 'none'; script-src 'self'; style-src 'self'; img-src " + img + "; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	return mapState{MapDeps: d, csp: csp}, nil
}

// TileOrigin is the CSP source of a tile URL template: its scheme and
// host, {s} (Leaflet's subdomains) becoming a wildcard.
func TileOrigin(tiles string) (string, error) {
	u, err := url.Parse(strings.NewReplacer("{s}", "s", "{z}", "0", "{x}", "0", "{y}", "0", "{r}", "").Replace(tiles))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("map-tiles %q: want an http(s) URL template", tiles)
	}
	host := u.Host
	if strings.HasPrefix(tiles[len(u.Scheme)+3:], "{s}.") {
		host = "*" + strings.TrimPrefix(host, "s")
	}
	return u.Scheme + "://" + host, nil
}

// mapRoutes adds the routes of this file.
func (h *handler) mapRoutes(e *gin.Engine) {
	e.GET(web.MapPath, h.pageMap)
	e.GET(web.MapJSPath, h.mapScript)
	e.GET(web.VendorPrefix+":fingerprint/*file", h.vendorFile)
}

func (h *handler) pageMap(c *gin.Context) {
	snap, err := h.snapshot(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	f := web.ParseMapFilter(c.Request.URL.Query())
	r := request(c)
	var buf bytes.Buffer
	err = h.pages.Map(&buf, r, web.Map{
		Sensors:     snap.pagesView().Select(f),
		Filter:      f,
		Tiles:       h.maps.Tiles,
		Attribution: h.maps.Attribution,
		Vendor:      h.maps.Vendor,
	})
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Header("Content-Security-Policy", h.maps.csp) // the tiles' images
	writePage(c, http.StatusOK, r, buf.Bytes())
}

func (h *handler) mapScript(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=3600")
	c.Data(http.StatusOK, "text/javascript; charset=utf-8", h.pages.MapJS())
}

// vendorFile serves a vendored file; its URL changes with its content, so
// it is cached for a year.
func (h *handler) vendorFile(c *gin.Context) {
	body, ctype, ok := h.maps.Vendor.File(c.Param("fingerprint"), c.Param("file"))
	if !ok {
		h.notFound(c)
		return
	}
	c.Header("Cache-Control", "public, max-age=31536000, immutable")
	etag := `"` + h.maps.Vendor.Fingerprint() + `"`
	c.Header("ETag", etag)
	if etagMatch(c.GetHeader("If-None-Match"), etag) {
		c.Status(http.StatusNotModified)
		return
	}
	c.Data(http.StatusOK, ctype, body)
}
