package registryapi

// Open-data paths: the whole public register as CSV and GeoJSON, its DCAT-AP
// catalogue record, and the OpenAPI description of the API.
const (
	PathSensorsCSV     = "/api/v1/sensors.csv"     // text/csv; charset=utf-8 (RFC 4180)
	PathSensorsGeoJSON = "/api/v1/sensors.geojson" // application/geo+json (RFC 7946)
	PathCatalog        = "/api/v1/catalog.jsonld"  // application/ld+json (DCAT-AP)
	PathOpenAPI        = "/api/openapi.json"       // OpenAPI 3.1
	PathImport         = "/api/v1/import"          // POST: bulk import (CSV or GeoJSON)
)

// What an import does with one row.
const (
	ImportCreate    = "create"    // a new entry
	ImportUpdate    = "update"    // a new version of an existing entry
	ImportUnchanged = "unchanged" // the entry already says what the row says
	ImportRefused   = "refused"   // nothing written; Reasons say why
)

// ImportReport is the answer of POST /api/v1/import: what the import did
// (or, for a dry run, would do) with each row of the file.
type ImportReport struct {
	File      string      `json:"file"`
	DryRun    bool        `json:"dry_run"`
	Rows      []ImportRow `json:"rows"`
	Created   int         `json:"created"`
	Updated   int         `json:"updated"`
	Unchanged int         `json:"unchanged"`
	Refused   int         `json:"refused"`
}

// ImportRow is what an import does with one row of a CSV file or one
// feature of a GeoJSON file.
type ImportRow struct {
	// Line is the line of the file where the row (or feature) starts.
	Line      int    `json:"line"`
	ID        string `json:"id,omitempty"`
	SourceRef string `json:"source_ref,omitempty"`
	Action    string `json:"action"` // ImportCreate, ImportUpdate, ImportUnchanged or ImportRefused
	// Status is the lifecycle state the entry has (or would have) after
	// the import.
	Status string `json:"status,omitempty"`
	// Changes lists, for an update, the JSON names of the changed fields.
	Changes []string `json:"changes,omitempty"`
	// Reasons lists, for a refused row, every problem found in it.
	Reasons []FieldError `json:"reasons,omitempty"`
	// Version is the entry's version after the import (for a dry run, the
	// version it would have); 0 for a refused row.
	Version int `json:"version,omitempty"`
}
