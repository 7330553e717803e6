package httpapi

import (
	"github.com/civisens/civisens/registry/internal/quality"
	"github.com/civisens/civisens/registry/registryapi"
)

// reportEnums are the closed sets of values of the reports' and the
// gateways' fields, by component.field (see enums).
var reportEnums = map[string][]string{
	"NewReport.kind":          registryapi.ReportKinds,
	"Report.kind":             registryapi.ReportKinds,
	"Report.status":           registryapi.ReportStatuses,
	"ReportEvent.status":      registryapi.ReportStatuses,
	"StaffReport.kind":        registryapi.ReportKinds,
	"StaffReport.status":      registryapi.ReportStatuses,
	"StaffReportEvent.status": registryapi.ReportStatuses,
	"ReportUpdate.status":     registryapi.ReportStatuses[1:],
	"NewReport.lang":          {"fr", "en"},
	"StaffReport.lang":        {"fr", "en"},
}

// reportOperations describes the routes of reports.go and quality.go.
func reportOperations(ref func(any) object) []operation {
	number := object{"name": "number", "in": "path", "required": true,
		"schema": object{"type": "string", "pattern": "^[0-9]{4}-[0-9]{6,9}$"}, "description": "the report's public number, e.g. 2026-000042"}
	filters := []object{
		{"name": "status", "in": "query", "schema": object{"type": "string", "enum": registryapi.ReportStatuses}},
		{"name": "kind", "in": "query", "schema": object{"type": "string", "enum": registryapi.ReportKinds}},
	}
	body := func(schema object) object {
		return object{"required": true, "content": object{"application/json": object{"schema": schema}}}
	}
	answer := func(status, description string, schema object) map[string]object {
		if schema == nil {
			return map[string]object{status: {"description": description}}
		}
		return map[string]object{status: {"description": description, "content": object{"application/json": object{"schema": schema}}}}
	}
	public, staff := ref(registryapi.Report{}), ref(registryapi.StaffReport{})
	return []operation{
		{method: "POST", path: registryapi.PathReports, tag: "reports",
			summary: "Report a missing sensor, wrong information, or ask a question",
			description: "Without an account. missing_sensor needs a location (words, or lat and lon); wrong_information needs the sensor_id of a published entry. " +
				"The message and e-mail address are never published. At most 5 reports per hour from one address (429 with Retry-After beyond); " +
				"a browser with a staff session must send its X-CSRF-Token.",
			body:     body(ref(registryapi.NewReport{})),
			ok:       answer("201", "The report as the public follows it; Location is its JSON.", public),
			problems: []string{"400", "413", "429"}},
		{method: "GET", path: registryapi.PathReports + "/:number", tag: "reports",
			summary:     "A report as the public follows it",
			description: "Its status, the public answer and the history, by role; never the message, the location text or the e-mail address.",
			params:      []object{number},
			ok:          map[string]object{"200": answer("200", "The report.", public)["200"], "304": {"description": "Not modified: the If-None-Match header has the current ETag."}},
			problems:    []string{"404"}},
		{method: "GET", path: registryapi.PathAdminReports, tag: "reports", auth: "administrator",
			summary: "The reports, newest first", params: filters,
			ok:       answer("200", "The reports with everything their senders wrote.", ref(registryapi.StaffReportList{})),
			problems: []string{"400", "401", "403"}},
		{method: "GET", path: registryapi.PathAdminReports + "/:number", tag: "reports", auth: "administrator",
			summary: "One report, with everything its sender wrote", params: []object{number},
			ok: answer("200", "The report.", staff), problems: []string{"401", "403", "404"}},
		{method: "POST", path: registryapi.PathAdminReports + "/:number", tag: "reports", auth: "administrator",
			summary:     "Change a report's status, its public answer, or add a public note",
			description: "Absent fields keep their value; answered needs a public answer; received cannot be set again. An update that changes nothing records nothing.",
			params:      []object{number}, body: body(ref(registryapi.ReportUpdate{})),
			ok: answer("200", "The report as stored.", staff), problems: []string{"400", "401", "403", "404", "413"}},
		{method: "POST", path: registryapi.PathGatewaySeen, tag: "gateway", auth: "gateway (API token) or administrator",
			summary: "What a gateway saw: sensors' last readings, unknown ids",
			description: "Sent by the gateway every -lastseen-interval, with what changed since its previous report. Times are shifted by the difference between the registry's clock and sent_at. " +
				"The register's quality page reads them back.",
			body: body(ref(registryapi.GatewaySeen{})), ok: answer("204", "Recorded.", nil),
			problems: []string{"400", "401", "403", "413"}},
		{method: "GET", path: pathQuality, tag: "quality", auth: "administrator or technician",
			summary:     "The register's quality",
			description: "Completeness of every entry (the publication rules), silent sensors, unknown ids seen by the gateways, entries in service past active_until, drafts untouched for 30 days.",
			ok:          answer("200", "The review.", ref(quality.Review{})), problems: []string{"401", "403"}},
	}
}
