package httpapi

// Open data and bulk import: the public register as CSV, GeoJSON and a
// DCAT-AP catalogue record, the OpenAPI description of the API, and
// POST /api/v1/import (package importer).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/civisens/civisens/registry/internal/auth"
	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/dtpr"
	"github.com/civisens/civisens/registry/internal/importer"
	"github.com/civisens/civisens/registry/internal/opendata"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/registryapi"
)

// DefaultImportMaxBytes bounds an import body unless Deps says otherwise.
const DefaultImportMaxBytes = 10 << 20

// CSVFilename is the name under which the CSV export is downloaded.
const CSVFilename = "registre-capteurs.csv"

// Kinds of errors of the open-data handlers; problemFor maps them.
var (
	errBadQuery = errors.New("bad query parameter")
	errNoImport = errors.New("this registry has no store to import into")
)

// openData is the handler's open-data and import settings.
type openData struct {
	licence   opendata.Licence
	publisher opendata.Publisher
	imports   importer.Store // nil: import not available
	importMax int64
	territory catalog.Territory
	openAPI   []byte // the OpenAPI document, built once
}

func newOpenData(d Deps, publicURL string) (openData, error) {
	o := openData{
		licence:   d.Licence,
		publisher: d.Publisher,
		imports:   d.Imports,
		importMax: d.ImportMaxBytes,
		territory: d.Territory,
	}
	if o.licence == (opendata.Licence{}) {
		o.licence = opendata.LicenceOuverte
	}
	if o.imports == nil {
		o.imports, _ = d.Sensors.(importer.Store)
	}
	if o.importMax <= 0 {
		o.importMax = DefaultImportMaxBytes
	}
	doc, err := json.Marshal(openAPI(publicURL, o.licence))
	if err != nil {
		return openData{}, fmt.Errorf("openapi: %w", err)
	}
	o.openAPI = doc
	return o, nil
}

// openDataRoutes adds the routes of this file.
func (h *handler) openDataRoutes(e *gin.Engine) {
	e.GET(registryapi.PathSensorsCSV, h.apiSensorsCSV)
	e.GET(registryapi.PathSensorsGeoJSON, h.apiSensorsGeoJSON)
	e.GET(registryapi.PathCatalog, h.apiCatalog)
	e.GET(registryapi.PathOpenAPI, h.apiOpenAPI)
	e.POST(registryapi.PathImport, h.require(auth.RoleAdministrator, auth.RoleTechnician), h.apiImport)
}

// The exports answer the published entries, each with its stable URL,
// with a strong ETag from the body: it changes with the register (and
// with the licence or publisher settings), and If-None-Match gets 304.

func (h *handler) apiSensorsCSV(c *gin.Context) {
	sensors, err := h.published(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	var b bytes.Buffer
	if err := opendata.WriteCSV(&b, sensors); err != nil {
		h.fail(c, err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="`+CSVFilename+`"`)
	writeTagged(c, "text/csv; charset=utf-8", b.Bytes())
}

func (h *handler) apiSensorsGeoJSON(c *gin.Context) {
	sensors, err := h.published(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	body, err := json.Marshal(opendata.GeoJSON(sensors, dtpr.Notice))
	if err != nil {
		h.fail(c, fmt.Errorf("encode GeoJSON: %w", err))
		return
	}
	writeTagged(c, "application/geo+json", body)
}

func (h *handler) apiCatalog(c *gin.Context) {
	sensors, err := h.published(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	body, err := json.Marshal(opendata.Catalog(sensors, opendata.CatalogOptions{
		PublicURL: h.publicURL,
		Licence:   h.openData.licence,
		Publisher: h.openData.publisher,
		EntryURL:  h.entryURL,
	}))
	if err != nil {
		h.fail(c, fmt.Errorf("encode catalogue: %w", err))
		return
	}
	writeTagged(c, "application/ld+json", body)
}

func (h *handler) apiOpenAPI(c *gin.Context) {
	writeTagged(c, "application/json", h.openData.openAPI)
}

// apiImport imports a CSV or GeoJSON body (by its Content-Type), or plans
// it with ?dry_run=true, and answers the row-by-row report. ?filename=
// names the file in the report and the reason; ?reason= replaces the
// reason "import <filename>" of the versions written.
func (h *handler) apiImport(c *gin.Context) {
	o := h.openData
	if o.imports == nil {
		h.fail(c, errNoImport)
		return
	}
	dryRun := false
	if v := c.Query("dry_run"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			h.fail(c, fmt.Errorf("dry_run=%q: want true or false: %w", v, errBadQuery))
			return
		}
		dryRun = b
	}
	format, err := importer.FormatOfMediaType(c.GetHeader("Content-Type"))
	if err != nil {
		h.fail(c, err)
		return
	}
	name, err := queryText(c, "filename", 200)
	if err != nil {
		h.fail(c, err)
		return
	}
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	if name == "." || name == "/" {
		name = "import." + string(format)
	}
	reason, err := queryText(c, "reason", 500)
	if err != nil {
		h.fail(c, err)
		return
	}

	data, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, o.importMax))
	if err != nil {
		h.fail(c, fmt.Errorf("import %s: %w", name, err))
		return
	}
	records, err := importer.Read(format, data)
	if err != nil {
		h.fail(c, fmt.Errorf("%s: %w", name, err))
		return
	}
	p, _ := principal(c) // require has let a principal through
	report, err := importer.Run(c.Request.Context(), o.imports, records, importer.Options{
		File:      name,
		DryRun:    dryRun,
		Change:    store.Change{ActorRole: string(p.Role), Actor: p.Actor(), Reason: reason},
		Territory: o.territory,
	})
	if err != nil {
		h.fail(c, err)
		return
	}
	if !dryRun {
		h.log.Info("import", "file", name, "by", p.Actor(), "created", report.Created,
			"updated", report.Updated, "unchanged", report.Unchanged, "refused", report.Refused)
	}
	body, err := json.Marshal(report)
	if err != nil {
		h.fail(c, fmt.Errorf("encode report: %w", err))
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "application/json", body)
}

// queryText returns a query parameter as one line of text of at most max
// characters.
func queryText(c *gin.Context, key string, max int) (string, error) {
	v := strings.TrimSpace(c.Query(key))
	if !utf8.ValidString(v) || utf8.RuneCountInString(v) > max || strings.ContainsFunc(v, unicode.IsControl) {
		return "", fmt.Errorf("%s: want one line of text of at most %d characters: %w", key, max, errBadQuery)
	}
	return v, nil
}
