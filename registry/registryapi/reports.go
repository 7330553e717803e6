package registryapi

import "time"

// Citizens' reports: anyone, without an account, reports a sensor missing
// from the register, wrong information on an entry, or asks a question
// (POST /api/v1/reports), and follows it by its number
// (GET /api/v1/reports/{number}); administrators answer through
// /api/v1/admin/reports. The public never sees the sender's message, e-mail
// address or location text: only the kind, the sensor concerned, the
// status, the public answer and the history (roles, never names).
const (
	PathReports      = "/api/v1/reports"       // POST: file a report; GET /{number}: follow it
	PathAdminReports = "/api/v1/admin/reports" // administrator: list, read, answer
)

// Kinds of reports.
const (
	ReportMissingSensor    = "missing_sensor"    // a sensor in the street that the register lacks
	ReportWrongInformation = "wrong_information" // an entry says something wrong
	ReportQuestion         = "question"          // a question about a sensor or the register
)

// ReportKinds lists the kinds of reports, in display order.
var ReportKinds = []string{ReportMissingSensor, ReportWrongInformation, ReportQuestion}

// Public statuses of a report.
const (
	ReportReceived   = "received"    // filed, nobody has looked at it yet
	ReportInProgress = "in_progress" // an administrator is on it
	ReportAnswered   = "answered"    // a public answer is given
	ReportClosed     = "closed"      // nothing more will be done
)

// ReportStatuses lists the statuses of reports, in lifecycle order.
var ReportStatuses = []string{ReportReceived, ReportInProgress, ReportAnswered, ReportClosed}

// NewReport is the body of POST /api/v1/reports.
type NewReport struct {
	Kind string `json:"kind"` // one of ReportKinds
	// SensorID is the published entry concerned: required for
	// wrong_information, optional for a question, absent for a missing
	// sensor.
	SensorID string `json:"sensor_id,omitempty"`
	// Location says where a missing sensor is (an address, a landmark),
	// in words and/or as a WGS84 point; a missing sensor needs one of them.
	Location string   `json:"location,omitempty"`
	Lat      *float64 `json:"lat,omitempty"`
	Lon      *float64 `json:"lon,omitempty"`
	// Message is the report itself; it is never published.
	Message string `json:"message"`
	// Email is where the answer may also be sent; optional, never
	// published.
	Email string `json:"email,omitempty"`
	// Lang is the sender's language, "fr" (default) or "en".
	Lang string `json:"lang,omitempty"`
}

// Report is a citizen's report as the public follows it.
type Report struct {
	Number   string `json:"number"` // e.g. 2026-000042
	Kind     string `json:"kind"`
	SensorID string `json:"sensor_id,omitempty"`
	Status   string `json:"status"`
	// PublicAnswer is the administrators' answer, public once given.
	PublicAnswer string        `json:"public_answer,omitempty"`
	CreatedAt    time.Time     `json:"created_at"`
	UpdatedAt    time.Time     `json:"updated_at"`
	History      []ReportEvent `json:"history"`
	URL          string        `json:"url"` // the report's public page
}

// ReportEvent is one step of a report's history, as the public sees it.
type ReportEvent struct {
	At     time.Time `json:"at"`
	Status string    `json:"status"` // the status after the step
	// Role is who made the step: "public" for the filing, otherwise a
	// staff role; never a name.
	Role string `json:"role"`
	Note string `json:"note,omitempty"` // a public note
}

// StaffReport is a report as administrators read it: the public report and
// what only they see.
type StaffReport struct {
	Number       string    `json:"number"`
	Kind         string    `json:"kind"`
	SensorID     string    `json:"sensor_id,omitempty"`
	Status       string    `json:"status"`
	PublicAnswer string    `json:"public_answer,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	URL          string    `json:"url"`
	Location     string    `json:"location,omitempty"`
	Lat          *float64  `json:"lat,omitempty"`
	Lon          *float64  `json:"lon,omitempty"`
	Message      string    `json:"message"`
	SenderEmail  string    `json:"sender_email,omitempty"` // private
	Lang         string    `json:"lang"`
	// History adds to each public step the account or token that made it.
	History []StaffReportEvent `json:"history"`
}

// StaffReportEvent is one step of a report's history with who made it.
type StaffReportEvent struct {
	At     time.Time `json:"at"`
	Status string    `json:"status"`
	Role   string    `json:"role"`
	Actor  string    `json:"actor,omitempty"` // user name or token:<name>; empty for the public
	Note   string    `json:"note,omitempty"`
}

// StaffReportList is the answer of GET /api/v1/admin/reports.
type StaffReportList struct {
	Reports []StaffReport `json:"reports"`
}

// ReportUpdate is the body of POST /api/v1/admin/reports/{number}: a new
// status, the public answer, and a public note for the history. Absent
// fields keep their value.
type ReportUpdate struct {
	Status       string  `json:"status,omitempty"`
	PublicAnswer *string `json:"public_answer,omitempty"`
	Note         string  `json:"note,omitempty"`
}
