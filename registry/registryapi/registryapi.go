// Package registryapi is the JSON that the civisens registry serves: the
// public register entries (GET /api/v1/sensors, GET /api/v1/sensors/{id}),
// the gateway's view of the register (GET /api/v1/gateway/allowlist),
// citizens' reports (reports.go), and what a gateway tells the registry it
// saw (POST /api/v1/gateway/seen, seen.go).
//
// It is a contract package: the registry produces it, the gateway and the
// firmware bridge consume it, and it imports only the standard library. Field
// names are part of the contract: add fields, never rename them.
package registryapi

import "time"

// API paths.
const (
	PathSensors   = "/api/v1/sensors"
	PathAllowList = "/api/v1/gateway/allowlist"
)

// Categories of sensors; each is an InfluxDB measurement.
const (
	CategoryAir      = "air"
	CategoryParking  = "parking"
	CategoryLighting = "lighting"
	CategoryEnergy   = "energy"
	CategoryOther    = "other"
)

// Categories lists every category, in display order.
var Categories = []string{CategoryAir, CategoryParking, CategoryLighting, CategoryEnergy, CategoryOther}

// Lifecycle states of an entry.
const (
	StatusDraft       = "draft"
	StatusActive      = "active"
	StatusMaintenance = "maintenance"
	StatusRetired     = "retired"
)

// Identifiability of the data a sensor collects, from most to least
// identifying.
const (
	Identifiable         = "identifiable"
	Pseudonymised        = "pseudonymised"
	DeidentifiedAtSource = "deidentified_at_source"
	AggregateOnly        = "aggregate_only"
	NoPersonalData       = "no_personal_data"
)

// Legal bases of GDPR article 6(1).
const (
	BasisConsent            = "6-1-a"
	BasisContract           = "6-1-b"
	BasisLegalObligation    = "6-1-c"
	BasisVitalInterests     = "6-1-d"
	BasisPublicTask         = "6-1-e"
	BasisLegitimateInterest = "6-1-f"
)

// Text is a free text in French and English.
type Text struct {
	FR string `json:"fr"`
	EN string `json:"en"`
}

// In returns the text in lang ("fr" or "en"), falling back to French.
func (t Text) In(lang string) string {
	if lang == "en" && t.EN != "" {
		return t.EN
	}
	return t.FR
}

// Quantity is a quantity a sensor declares: what the gateway accepts from it.
type Quantity struct {
	Name string   `json:"name"`          // SenML record name, e.g. "pm10"
	Unit string   `json:"unit"`          // SenML unit, e.g. "ug/m3"
	Min  *float64 `json:"min,omitempty"` // plausible range, inclusive
	Max  *float64 `json:"max,omitempty"`
	// PeriodSeconds is the sampling period: a reading every so many seconds.
	PeriodSeconds int  `json:"period_s,omitempty"`
	Label         Text `json:"label"`
	// Aggregation says how the gateway aggregates the quantity over time
	// windows: one of the Aggregation constants; empty means the one
	// [Quantity.AggregationKind] infers.
	Aggregation string `json:"aggregation,omitempty"`
}

// How a quantity is aggregated over a time window (see the gateway's
// README, "Aggregates").
const (
	// AggregationStats: mean, minimum, maximum, count and last value (a
	// temperature, a concentration, a power).
	AggregationStats = "stats"
	// AggregationIndex: a cumulative meter index (an energy index in Wh);
	// the window's consumption is the sum of the index's increases, with
	// rollovers and meter resets handled, besides the last index.
	AggregationIndex = "index"
	// AggregationOccupancy: a 0/1 state (a parking bay taken or free); the
	// window's occupancy is the share of its time in state 1, and its
	// arrivals the number of changes from 0 to 1.
	AggregationOccupancy = "occupancy"
)

// Aggregations lists the valid values of Quantity.Aggregation.
var Aggregations = []string{AggregationStats, AggregationIndex, AggregationOccupancy}

// AggregationKind returns how q is aggregated: its Aggregation when set,
// otherwise AggregationIndex for an energy unit (Wh, kWh, J: meters report
// indices), otherwise AggregationStats.
func (q Quantity) AggregationKind() string {
	if q.Aggregation != "" {
		return q.Aggregation
	}
	switch q.Unit {
	case "Wh", "kWh", "J", "VAh", "varh":
		return AggregationIndex
	}
	return AggregationStats
}

// Organisation is a legal person named in an entry.
type Organisation struct {
	Name  Text   `json:"name"`
	SIREN string `json:"siren,omitempty"` // French company register number
	URL   string `json:"url,omitempty"`
	// PublicAuthority is true for a public body acting in its public tasks
	// (a commune, a metropole): GDPR 6(1)(f) is then not available to it.
	PublicAuthority bool `json:"public_authority,omitempty"`
}

// Contact is a functional contact point: a mailbox or a form, never a named
// person.
type Contact struct {
	Email string `json:"email,omitempty"`
	URL   string `json:"url,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// Location says where a sensor is.
type Location struct {
	Lat     float64 `json:"lat"` // WGS84
	Lon     float64 `json:"lon"`
	Address string  `json:"address,omitempty"`
	Indoor  bool    `json:"indoor"`
	// Area, for mobile sensors, is a closed ring of [lon, lat] positions
	// (GeoJSON order) within which the sensor moves.
	Area [][2]float64 `json:"area,omitempty"`
	// Neighbourhood is the quarter (quartier) the sensor is in.
	Neighbourhood string `json:"neighbourhood,omitempty"`
}

// Sensor is a register entry, as the public reads it.
type Sensor struct {
	// Identity.
	ID           string   `json:"id"`
	Name         Text     `json:"name"`
	Category     string   `json:"category"`
	Technology   []string `json:"technology"` // DTPR device__tech element ids
	Manufacturer string   `json:"manufacturer,omitempty"`
	Model        string   `json:"model,omitempty"`
	AttachedTo   Text     `json:"attached_to"` // street object or building
	// Site is the low-cardinality place key (a building, a car park, a
	// street) that the gateway writes as the InfluxDB tag "site".
	Site string `json:"site"`
	// Tags are the category's own low-cardinality InfluxDB tags (zone,
	// building, meter…).
	Tags map[string]string `json:"tags,omitempty"`

	// Who.
	Accountable   Organisation   `json:"accountable"` // the GDPR controller
	Operators     []Organisation `json:"operators,omitempty"`
	PublicContact Contact        `json:"public_contact"`
	DPOContact    Contact        `json:"dpo_contact"`

	// Why.
	Purposes    []string `json:"purposes"` // DTPR device__purpose ids, ordered, at most 3
	Description Text     `json:"description"`

	// What.
	Quantities []Quantity `json:"quantities"`
	DataTypes  []string   `json:"data_types"` // DTPR device__data ids
	Processing []string   `json:"processing"` // DTPR device__process ids

	// Identifiability.
	Identifiability        string `json:"identifiability"`
	DeidentificationMethod Text   `json:"deidentification_method"`

	// Legal basis (GDPR art. 6, 30, 35).
	LegalBasis       string `json:"legal_basis,omitempty"`
	LegalReference   Text   `json:"legal_reference"` // the legal text, for 6(1)(c) and (e)
	PrivacyNoticeURL string `json:"privacy_notice_url,omitempty"`
	Art30Record      string `json:"art30_record,omitempty"`
	DPIAReference    string `json:"dpia_reference,omitempty"`

	// Data.
	Storage         []string `json:"storage"` // DTPR device__storage ids
	StorageLocation Text     `json:"storage_location"`
	Retention       string   `json:"retention"` // ISO 8601 duration, e.g. P1Y
	Access          []string `json:"access"`    // DTPR device__access ids
	OpenData        bool     `json:"open_data"`
	OpenDataLicence string   `json:"open_data_licence,omitempty"`
	OpenDataURL     string   `json:"open_data_url,omitempty"`

	// Where.
	Location Location `json:"location"`

	// Lifecycle.
	Status           string     `json:"status"`
	Version          int        `json:"version"`
	CommissionedAt   *time.Time `json:"commissioned_at,omitempty"`
	DecommissionedAt *time.Time `json:"decommissioned_at,omitempty"`
	// ActiveUntil is the planned end of service (a lease, an experiment's
	// end): past it, the register's quality page flags an entry still in
	// service. It is shown publicly as "en service jusqu'au".
	ActiveUntil *time.Time `json:"active_until,omitempty"`
	UpdatedAt   time.Time  `json:"updated_at"`
	URL         string     `json:"url,omitempty"` // the entry's stable public page
}

// SensorList is the answer of GET /api/v1/sensors.
type SensorList struct {
	Sensors []Sensor `json:"sensors"`
	// Attribution credits the DTPR taxonomy whose element ids the entries use.
	Attribution string `json:"attribution"`
}

// GatewaySensor is what the gateway needs of a published entry.
type GatewaySensor struct {
	ID         string            `json:"id"`
	Category   string            `json:"category"`
	Site       string            `json:"site"`
	Tags       map[string]string `json:"tags,omitempty"`
	Quantities []Quantity        `json:"quantities"`
	Retention  string            `json:"retention"` // ISO 8601 duration
	Status     string            `json:"status"`
	// Identifiability decides where the gateway keeps the entry's
	// aggregates: beyond the raw retention only when it is
	// NoPersonalData, DeidentifiedAtSource or AggregateOnly.
	Identifiability string `json:"identifiability,omitempty"`
}

// KeepsAggregatesLonger reports whether the aggregates of g may be kept
// beyond its raw retention: not for identifiable or pseudonymised data,
// whose every trace ends with the retention the register declares.
func (g GatewaySensor) KeepsAggregatesLonger() bool {
	switch g.Identifiability {
	case Identifiable, Pseudonymised:
		return false
	}
	return true
}

// Credential is an MQTT account the embedded broker accepts: a sensor's own,
// or a firmware bridge's with the sensors assigned to it.
type Credential struct {
	Username string   `json:"username"`
	Hash     string   `json:"hash"` // bcrypt or argon2id, in its PHC/modular form
	Sensors  []string `json:"sensors"`
}

// AllowList is the answer of GET /api/v1/gateway/allowlist: the sensors the
// gateway may accept readings from, and the MQTT credentials of those that
// publish. The registry answers with an ETag and honours If-None-Match.
type AllowList struct {
	GeneratedAt time.Time       `json:"generated_at"`
	Sensors     []GatewaySensor `json:"sensors"`
	Credentials []Credential    `json:"credentials"`
}

// Problem is an RFC 9457 problem body, the shape of every error answer.
type Problem struct {
	Type     string `json:"type,omitempty"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Errors lists, field by field, what is wrong with a submitted entry.
	Errors []FieldError `json:"errors,omitempty"`
}

// FieldError is one problem with one field of a submitted entry.
type FieldError struct {
	Field string `json:"field"`
	// Code names the problem, stably (e.g. "required", "location.outside"),
	// whatever the language of Message; empty for problems that have no
	// code yet (some import reasons).
	Code    string `json:"code,omitempty"`
	Message string `json:"message"`
}
