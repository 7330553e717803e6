package httpapi

// The OpenAPI 3.1 description of the API, served at /api/openapi.json. The
// schemas are generated from the Go types of the JSON (package registryapi,
// and opendata's GeoJSON), so that they cannot drift from what is served;
// the operations are listed here, and a test checks that every route under
// /api is described and every description has its route.

import (
	"reflect"
	"strings"
	"time"

	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/opendata"
	"github.com/civisens/civisens/registry/registryapi"
)

type object = map[string]any

// schemas generates JSON Schemas (2020-12, as OpenAPI 3.1 uses them) from Go
// types: a named struct becomes a component, referenced by $ref.
type schemas struct {
	components object
}

var timeType = reflect.TypeFor[time.Time]()

// enums are the closed sets of values of some fields, by component.field.
var enums = map[string][]string{
	"Sensor.category":        registryapi.Categories,
	"Sensor.status":          catalog.Statuses(),
	"Sensor.identifiability": catalog.Identifiabilities(),
	"Sensor.legal_basis":     catalog.LegalBases(),
	"GatewaySensor.category": registryapi.Categories,
	"GatewaySensor.status":   catalog.Statuses(),
	"ImportRow.action": {registryapi.ImportCreate, registryapi.ImportUpdate,
		registryapi.ImportUnchanged, registryapi.ImportRefused},
	"FeatureCollection.type": {"FeatureCollection"},
	"Feature.type":           {"Feature"},
	"Geometry.type":          {"Point", "Polygon"},
}

// descriptions of the components.
var descriptions = map[string]string{
	"Sensor":            "A register entry, as the public reads it. DTPR facets are element ids of the Digital Trust for Places & Routines taxonomy (CC BY 4.0).",
	"SensorList":        "The published entries (active, maintenance, retired), ordered by id.",
	"Text":              "A free text in French (required) and English.",
	"Quantity":          "A quantity the sensor declares: SenML name and unit, plausible range, sampling period.",
	"Location":          "Where the sensor is: a WGS84 point, or an area ([lon, lat] ring) for a mobile sensor.",
	"AllowList":         "The gateway's view of the register: the sensors it may accept readings from, and their MQTT credentials.",
	"Problem":           "An RFC 9457 problem body: the shape of every error answer.",
	"ImportReport":      "What an import did (or, for a dry run, would do) with each row of the file.",
	"ImportRow":         "What an import does with one row (a CSV line or a GeoJSON feature).",
	"Feature":           "One entry as a GeoJSON feature: its geometry, and the public entry as properties.",
	"Geometry":          "A GeoJSON Point ([lon, lat]) or Polygon (one exterior ring, counterclockwise).",
	"FeatureCollection": "The public register as GeoJSON (RFC 7946).",
}

func (g *schemas) of(t reflect.Type) object {
	switch {
	case t == timeType:
		return object{"type": "string", "format": "date-time"}
	case t.Kind() == reflect.Pointer:
		return g.of(t.Elem())
	case t.Kind() == reflect.Struct:
		name := t.Name()
		if _, done := g.components[name]; !done {
			g.components[name] = object{} // reserved first, so that a recursive type refers to itself
			g.components[name] = g.structSchema(t)
		}
		return object{"$ref": "#/components/schemas/" + name}
	case t.Kind() == reflect.Slice:
		return object{"type": "array", "items": g.of(t.Elem())}
	case t.Kind() == reflect.Array:
		return object{"type": "array", "items": g.of(t.Elem()), "minItems": t.Len(), "maxItems": t.Len()}
	case t.Kind() == reflect.Map:
		return object{"type": "object", "additionalProperties": g.of(t.Elem())}
	case t.Kind() == reflect.String:
		return object{"type": "string"}
	case t.Kind() == reflect.Bool:
		return object{"type": "boolean"}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return object{"type": "integer"}
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return object{"type": "number"}
	}
	return object{} // any
}

func (g *schemas) structSchema(t reflect.Type) object {
	props := object{}
	var required []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct { // embedded: its fields are the struct's
			inner := g.structSchema(f.Type)
			for k, v := range inner["properties"].(object) {
				props[k] = v
			}
			if r, ok := inner["required"].([]string); ok {
				required = append(required, r...)
			}
			continue
		}
		if !f.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		s := g.of(f.Type)
		values, ok := enums[t.Name()+"."+name]
		if !ok {
			values, ok = reportEnums[t.Name()+"."+name] // openapi_reports.go
		}
		if ok {
			s = object{"type": "string", "enum": values}
		}
		props[name] = s
		if !strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Pointer {
			required = append(required, name)
		}
	}
	s := object{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	if d := descriptions[t.Name()]; d != "" {
		s["description"] = d
	}
	return s
}

// operation describes one route.
type operation struct {
	method, path string // as routes.go writes them (gin syntax)
	summary      string
	description  string
	tag          string
	auth         string // "": public; otherwise who may call it
	params       []object
	body         object            // the requestBody, or nil
	ok           map[string]object // 2xx and 3xx answers, by status
	problems     []string          // error statuses it documents
}

func jsonContent(schema object) object {
	return object{"content": object{"application/json": object{"schema": schema}}}
}

// openAPI returns the OpenAPI document of the API served at publicURL.
func openAPI(publicURL string, licence opendata.Licence) object {
	g := &schemas{components: object{}}
	ref := func(v any) object { return g.of(reflect.TypeOf(v)) }
	problem := ref(registryapi.Problem{})
	ok := func(description, mediaType string, schema object) map[string]object {
		return map[string]object{
			"200": {"description": description, "content": object{mediaType: object{"schema": schema}}},
		}
	}
	tagged := func(m map[string]object) map[string]object {
		m["304"] = object{"description": "Not modified: the If-None-Match header has the current ETag."}
		return m
	}
	idParam := object{"name": "id", "in": "path", "required": true,
		"schema": object{"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{2,62}$"}}
	numericID := object{"name": "id", "in": "path", "required": true, "schema": object{"type": "integer"}}
	anyObject := object{"type": "object"}
	staff := func(method, p, summary string, body bool, status string) operation {
		op := operation{method: method, path: p, summary: summary, tag: "staff", auth: "administrator",
			description: "Staff API of accounts and API tokens; answers never carry a credential or a hash of one.",
			ok:          map[string]object{status: jsonContent(anyObject)}, problems: []string{"400", "401", "403", "404", "409"}}
		op.ok[status]["description"] = summary
		if status == "204" {
			op.ok[status] = object{"description": summary}
		}
		if body {
			op.body = object{"required": true, "content": object{"application/json": object{"schema": anyObject}}}
		}
		return op
	}

	ops := []operation{
		{method: "GET", path: registryapi.PathSensors, tag: "register",
			summary: "The published entries",
			ok:      tagged(ok("The published entries, each with its stable URL.", "application/json", ref(registryapi.SensorList{})))},
		{method: "GET", path: registryapi.PathSensors + "/:id", tag: "register",
			summary: "One published entry", params: []object{idParam},
			ok:       tagged(ok("The entry.", "application/json", ref(registryapi.Sensor{}))),
			problems: []string{"404"}},
		{method: "GET", path: registryapi.PathSensorsCSV, tag: "open data",
			summary: "The published entries as CSV",
			description: "RFC 4180, UTF-8, comma-separated, CRLF line ends, one line per entry, downloaded as " + CSVFilename + ". " +
				"Columns: " + strings.Join(opendata.Columns(), ", ") + ". " +
				"Lists are written a|b|c; quantities name;unit;min;max;period_s;label_fr;label_en[;aggregation]; operators name_fr;name_en;siren;url;public_authority; " +
				"tags key=value; area lon;lat positions; a backslash escapes \\ | ; =. A text cell starting with = + - @ is written with a leading apostrophe. See the registry's README.",
			ok: tagged(ok("The register as CSV.", "text/csv", object{"type": "string"}))},
		{method: "GET", path: registryapi.PathSensorsGeoJSON, tag: "open data",
			summary:     "The published entries as GeoJSON",
			description: "RFC 7946: a FeatureCollection, WGS84 [longitude, latitude], a Point per entry or a Polygon for a mobile sensor's area; properties are the public entry.",
			ok:          tagged(ok("The register as GeoJSON.", "application/geo+json", ref(opendata.FeatureCollection{})))},
		{method: "GET", path: registryapi.PathCatalog, tag: "open data",
			summary:     "The DCAT-AP catalogue record",
			description: "JSON-LD: a dcat:Catalog with a dcat:Dataset for the register (JSON, CSV and GeoJSON distributions) and one per sensor whose readings are open data, for national open-data portals to harvest.",
			ok:          tagged(ok("The catalogue record.", "application/ld+json", anyObject))},
		{method: "GET", path: registryapi.PathOpenAPI, tag: "open data",
			summary: "This description of the API (OpenAPI 3.1)",
			ok:      tagged(ok("The OpenAPI document.", "application/json", anyObject))},
		{method: "GET", path: registryapi.PathAllowList, tag: "gateway", auth: "gateway (API token) or administrator",
			summary:     "The gateway's allow-list",
			description: "The sensors the gateway may accept readings from (active and maintenance), with their declared quantities and retention, and the bcrypt hashes of the live MQTT credentials: each sensor's own, each firmware bridge's with its sensors. generated_at is the time of the latest change of the register, its credentials or its bridges.",
			ok:          tagged(ok("The allow-list.", "application/json", ref(registryapi.AllowList{}))),
			problems:    []string{"401", "403"}},
		{method: "POST", path: registryapi.PathImport, tag: "import", auth: "administrator or technician",
			summary: "Import an inventory (CSV or GeoJSON), or plan it with dry_run",
			description: "The body is a CSV file (text/csv) in the columns of " + registryapi.PathSensorsCSV + ", plus an optional source_ref column, " +
				"or a GeoJSON FeatureCollection (application/geo+json) whose properties are entries. " +
				"Each row is created, updated (a new version), unchanged, or refused with every reason; each row is written in its own transaction. " +
				"A file that cannot be read is refused with 400 and its line.",
			params: []object{
				{"name": "dry_run", "in": "query", "schema": object{"type": "boolean", "default": false}, "description": "plan only: write nothing"},
				{"name": "filename", "in": "query", "schema": object{"type": "string"}, "description": "the file's name, for the report and the reason"},
				{"name": "reason", "in": "query", "schema": object{"type": "string"}, "description": "the reason of the versions written; default \"import <filename>\""},
			},
			body: object{"required": true, "content": object{
				"text/csv":             object{"schema": object{"type": "string"}},
				"application/geo+json": object{"schema": ref(opendata.FeatureCollection{})},
			}},
			ok:       ok("The report, row by row.", "application/json", ref(registryapi.ImportReport{})),
			problems: []string{"400", "401", "403", "413", "415"}},
		staff("GET", pathAccounts, "The accounts", false, "200"),
		staff("POST", pathAccounts, "Create an account", true, "201"),
		staff("GET", pathAccounts+"/:id", "One account", false, "200"),
		staff("PATCH", pathAccounts+"/:id", "Change an account's role, or disable or enable it", true, "200"),
		staff("GET", pathTokens, "The API tokens", false, "200"),
		staff("POST", pathTokens, "Create an API token (its secret is answered once)", true, "201"),
		staff("DELETE", pathTokens+"/:id", "Revoke an API token", false, "204"),
	}

	ops = append(ops, provisionOperations(ref)...) // provision.go
	ops = append(ops, reportOperations(ref)...)    // openapi_reports.go

	paths := object{}
	for _, op := range ops {
		p := openAPIPath(op.path)
		item, _ := paths[p].(object)
		if item == nil {
			item = object{}
			paths[p] = item
		}
		responses := object{}
		for status, r := range op.ok {
			responses[status] = r
		}
		for _, status := range op.problems {
			responses[status] = object{"description": problemText[status],
				"content": object{"application/problem+json": object{"schema": problem}}}
		}
		responses["default"] = object{"description": "An error, as an RFC 9457 problem body.",
			"content": object{"application/problem+json": object{"schema": problem}}}
		o := object{"summary": op.summary, "tags": []string{op.tag}, "responses": responses,
			"operationId": strings.ToLower(op.method) + operationName(op.path)}
		if op.description != "" {
			o["description"] = op.description
		}
		params := op.params
		if strings.Contains(op.path, ":id") && params == nil {
			params = []object{numericID}
		}
		if params != nil {
			o["parameters"] = params
		}
		if op.body != nil {
			o["requestBody"] = op.body
		}
		if op.auth != "" {
			o["security"] = []object{{"bearerToken": []string{}}, {"sessionCookie": []string{}}}
			o["description"] = strings.TrimSpace(op.description + " Needs an account or API token with role " + op.auth + ".")
		}
		item[strings.ToLower(op.method)] = o
	}

	return object{
		"openapi": "3.1.0",
		"info": object{
			"title":       "civisens registry",
			"version":     "1",
			"description": "The public register of sensors of the commune: its entries, as JSON, CSV, GeoJSON and a DCAT-AP record; the gateway's allow-list; bulk import. Errors are RFC 9457 problem bodies.",
			"license":     object{"name": licence.Name, "url": licence.URL},
		},
		"servers": []object{{"url": publicURL}},
		"paths":   paths,
		"components": object{
			"schemas": g.components,
			"securitySchemes": object{
				"bearerToken":   object{"type": "http", "scheme": "bearer", "description": "An API token (cvs_…), sent as Authorization: Bearer."},
				"sessionCookie": object{"type": "apiKey", "in": "cookie", "name": SessionCookie, "description": "A staff session; state-changing requests also need the X-CSRF-Token header."},
			},
		},
	}
}

var problemText = map[string]string{
	"400": "Bad request: the problem says what is wrong (for an import file, the line).",
	"401": "No account or API token.",
	"403": "The role does not allow this, or the CSRF token is missing.",
	"404": "Not found.",
	"409": "Conflict.",
	"413": "The body is larger than the configured limit.",
	"415": "The Content-Type is not one this operation reads.",
	"429": "Too many requests: wait for the time that Retry-After gives.",
	"422": "Refused: errors lists every problem, field by field, each with its stable code and its message in the request's language.",
}

// openAPIPath writes a gin path in OpenAPI's syntax: /a/:id → /a/{id}.
func openAPIPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if name, ok := strings.CutPrefix(s, ":"); ok {
			parts[i] = "{" + name + "}"
		}
	}
	return strings.Join(parts, "/")
}

// operationName makes a path an identifier: /api/v1/sensors/:id → ApiV1SensorsId.
func operationName(p string) string {
	var b strings.Builder
	up := true
	for _, r := range p {
		switch {
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9':
			if up && r >= 'a' && r <= 'z' {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
			up = false
		default:
			up = true
		}
	}
	return b.String()
}
