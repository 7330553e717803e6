// Package senml is the civisens wire format on MQTT: SenML JSON (RFC 8428)
// packs published on the topic sensors/{sensor_id}/senml.
//
// It is a contract package: the firmware bridge produces it, the gateway
// consumes it, and it imports only the standard library.
//
// # The civisens profile of SenML
//
//   - Topic: sensors/{sensor_id}/senml, where sensor_id matches
//     ^[a-z0-9][a-z0-9-]{2,62}$ (see [ValidSensorID]).
//   - Every record resolves to one sensor, one quantity, one numeric value, one
//     time. The resolved name is either "{quantity}" (the sensor is the one in
//     the topic) or "{sensor_id}:{quantity}" (the usual base name
//     "{sensor_id}:" followed by a record name); in the second form the sensor
//     must be the one in the topic.
//   - Quantity names match ^[a-z][a-z0-9_]{0,62}$ (pm10, temperature,
//     occupancy, energy_wh…); units come from the SenML units registry
//     (Cel, %RH, hPa, ug/m3, lx, W, Wh, /).
//   - Times are in seconds since the Unix epoch; per RFC 8428 a resolved time
//     below 2^28 is relative to the time the pack is received, and a record
//     without a time was taken "now". A relative time of 2^28 s or more
//     before reception is refused, as is a time after the year 9999.
//   - Boolean values (vb) resolve to 1 and 0, so that occupancy can travel as
//     either; string and data values are refused, as is any value that is not a
//     finite number after resolution.
package senml

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// Record is one SenML record, with its base fields (RFC 8428, section 4).
type Record struct {
	BaseName    string   `json:"bn,omitempty"`
	BaseTime    float64  `json:"bt,omitempty"`
	BaseUnit    string   `json:"bu,omitempty"`
	BaseValue   float64  `json:"bv,omitempty"`
	BaseSum     float64  `json:"bs,omitempty"`
	BaseVersion int      `json:"bver,omitempty"`
	Name        string   `json:"n,omitempty"`
	Unit        string   `json:"u,omitempty"`
	Value       *float64 `json:"v,omitempty"`
	StringValue *string  `json:"vs,omitempty"`
	BoolValue   *bool    `json:"vb,omitempty"`
	DataValue   *string  `json:"vd,omitempty"`
	Sum         *float64 `json:"s,omitempty"`
	Time        float64  `json:"t,omitempty"`
	UpdateTime  float64  `json:"ut,omitempty"`
}

// Pack is a SenML pack: the JSON array of records carried by one message.
type Pack []Record

// Limits bound what Decode accepts, so that one message cannot exhaust a
// gateway's memory.
type Limits struct {
	MaxBytes   int // largest payload, in bytes; 0 means DefaultMaxBytes
	MaxRecords int // most records in one pack; 0 means DefaultMaxRecords
}

// Default limits of Decode.
const (
	DefaultMaxBytes   = 64 << 10
	DefaultMaxRecords = 500
)

// Errors returned by this package, for callers to test with errors.Is. Each
// is also a reason under which the gateway counts rejected input.
var (
	ErrTooLarge       = errors.New("payload too large")
	ErrTooMany        = errors.New("too many records")
	ErrSyntax         = errors.New("not SenML JSON")
	ErrEmpty          = errors.New("empty pack")
	ErrNoValue        = errors.New("record has no numeric value")
	ErrNonFinite      = errors.New("value is not a finite number")
	ErrBadName        = errors.New("invalid record name")
	ErrSensorMismatch = errors.New("record names another sensor than its topic")
	ErrBadTopic       = errors.New("topic is not sensors/{sensor_id}/senml")
	ErrBadTime        = errors.New("invalid time")
	ErrVersion        = errors.New("unsupported SenML version")
)

// Decode parses a SenML JSON pack within the default limits.
func Decode(b []byte) (Pack, error) { return Limits{}.Decode(b) }

// Decode parses a SenML JSON pack, refusing unknown fields, trailing data and
// anything over the limits.
func (l Limits) Decode(b []byte) (Pack, error) {
	maxBytes, maxRecords := l.MaxBytes, l.MaxRecords
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if maxRecords <= 0 {
		maxRecords = DefaultMaxRecords
	}
	if len(b) > maxBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(b), maxBytes)
	}
	if p, ok := decodeFast(b, maxRecords); ok {
		return p, nil
	}
	return decodeJSON(b, maxRecords)
}

// decodeJSON is Decode with encoding/json, after the size check: the
// reference of decodeFast.
func decodeJSON(b []byte, maxRecords int) (Pack, error) {
	// Count records cheaply before allocating them: a pack is an array of
	// objects, so count top-level array elements with a tokenizer.
	if n, err := countElements(b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSyntax, err)
	} else if n > maxRecords {
		return nil, fmt.Errorf("%w: %d records, limit %d", ErrTooMany, n, maxRecords)
	} else if n == 0 {
		return nil, ErrEmpty
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p Pack
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSyntax, err)
	}
	return p, nil
}

// countElements returns the number of elements of the top-level JSON array
// in b, or an error if b is not a single JSON array.
func countElements(b []byte) (int, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return 0, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return 0, errors.New("a pack is a JSON array")
	}
	n := 0
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return 0, err
		}
		n++
	}
	if _, err := dec.Token(); err != nil { // the closing ]
		return 0, err
	}
	// Anything but the end of input is trailing data, including bytes that
	// are not JSON at all (Token then fails with a syntax error, not EOF).
	if _, err := dec.Token(); err != io.EOF {
		return 0, errors.New("data after the pack")
	}
	return n, nil
}

// Encode returns the JSON form of p.
func Encode(p Pack) ([]byte, error) {
	for i, r := range p {
		for _, f := range []float64{r.BaseTime, r.BaseValue, r.BaseSum, r.Time, r.UpdateTime} {
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("record %d: %w", i, ErrNonFinite)
			}
		}
		if r.Value != nil && (math.IsNaN(*r.Value) || math.IsInf(*r.Value, 0)) {
			return nil, fmt.Errorf("record %d: %w", i, ErrNonFinite)
		}
	}
	return json.Marshal(p)
}

// Reading is one resolved record: a single value of one quantity of one
// sensor at one time.
type Reading struct {
	Sensor   string
	Quantity string
	Unit     string
	Value    float64
	Time     time.Time
}

// relativeTimeLimit is 2^28 seconds: resolved times below it are relative to
// the time of reception (RFC 8428, section 4.5.3).
const relativeTimeLimit = 1 << 28

// Resolve turns the pack received on the topic of sensor into readings,
// applying base fields (RFC 8428, section 4.6). now is the time of reception.
// It fails on the first record that does not fit the civisens profile, naming
// the record; a pack is accepted or refused whole.
func (p Pack) Resolve(sensor string, now time.Time) ([]Reading, error) {
	if len(p) == 0 {
		return nil, ErrEmpty
	}
	out := make([]Reading, 0, len(p))
	var bn, bu string
	var bt, bv, bs float64
	for i, r := range p {
		if r.BaseVersion < 0 || r.BaseVersion > 10 {
			return nil, fmt.Errorf("record %d: %w %d", i, ErrVersion, r.BaseVersion)
		}
		if r.BaseName != "" {
			bn = r.BaseName
		}
		if r.BaseTime != 0 {
			bt = r.BaseTime
		}
		if r.BaseUnit != "" {
			bu = r.BaseUnit
		}
		if r.BaseValue != 0 {
			bv = r.BaseValue
		}
		if r.BaseSum != 0 {
			bs = r.BaseSum
		}
		if r.Value == nil && r.BoolValue == nil && r.Sum == nil {
			if r.StringValue != nil || r.DataValue != nil {
				return nil, fmt.Errorf("record %d: %w (string and data values are not readings)", i, ErrNoValue)
			}
			if r.Name == "" && r.Unit == "" && r.Time == 0 {
				// A record carrying only base fields (allowed by RFC 8428
				// when followed by records that use them).
				continue
			}
			return nil, fmt.Errorf("record %d: %w", i, ErrNoValue)
		}
		var v float64
		switch {
		case r.Value != nil:
			v = bv + *r.Value
		case r.BoolValue != nil:
			if *r.BoolValue {
				v = 1
			}
		default:
			v = bs + *r.Sum
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("record %d: %w", i, ErrNonFinite)
		}
		s, q, err := splitResolved(bn, r.Name)
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
		if s != "" && s != sensor {
			return nil, fmt.Errorf("record %d: %w: %q on the topic of %q", i, ErrSensorMismatch, s, sensor)
		}
		unit := r.Unit
		if unit == "" {
			unit = bu
		}
		t, err := resolveTime(bt+r.Time, now)
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
		out = append(out, Reading{Sensor: sensor, Quantity: q, Unit: unit, Value: v, Time: t})
	}
	if len(out) == 0 {
		return nil, ErrEmpty
	}
	return out, nil
}

func resolveTime(t float64, now time.Time) (time.Time, error) {
	if math.IsNaN(t) || math.IsInf(t, 0) {
		return time.Time{}, fmt.Errorf("%w: not finite", ErrBadTime)
	}
	if t <= -relativeTimeLimit {
		// More than 2^28 s (8.5 years) before reception: not a reading, and
		// far enough below it the conversion to a Duration overflows.
		return time.Time{}, fmt.Errorf("%w: %g s before reception", ErrBadTime, -t)
	}
	if t < relativeTimeLimit {
		return now.Add(time.Duration(t * float64(time.Second))), nil
	}
	// Beyond year 9999 the value cannot be a real reading time.
	if t > 253402300799 {
		return time.Time{}, fmt.Errorf("%w: %g is after year 9999", ErrBadTime, t)
	}
	// A float64 near 2e9 s is precise to about 0.24 µs: round to the
	// microsecond so that a time sent as 1795000000.123 is exactly .123 s.
	sec, frac := math.Modf(t)
	return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3).UTC(), nil
}

// ValidSensorID reports whether id is a register sensor id:
// ^[a-z0-9][a-z0-9-]{2,62}$.
func ValidSensorID(id string) bool {
	if len(id) < 3 || len(id) > 63 || id[0] == '-' {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// ValidQuantity reports whether q is a quantity name of the civisens
// profile: ^[a-z][a-z0-9_]{0,62}$.
func ValidQuantity(q string) bool {
	if len(q) < 1 || len(q) > 63 || q[0] < 'a' || q[0] > 'z' {
		return false
	}
	for i := 1; i < len(q); i++ {
		if c := q[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// SplitName splits a resolved record name into its sensor (empty when the name
// carries none) and its quantity.
func SplitName(name string) (sensor, quantity string, err error) {
	i := strings.LastIndexByte(name, ':')
	if i < 0 {
		quantity = name
	} else {
		sensor, quantity = name[:i], name[i+1:]
		if !ValidSensorID(sensor) {
			return "", "", fmt.Errorf("%w: %q does not start with a sensor id", ErrBadName, name)
		}
	}
	if !ValidQuantity(quantity) {
		return "", "", fmt.Errorf("%w: %q is not a quantity name", ErrBadName, name)
	}
	return sensor, quantity, nil
}

// splitResolved is SplitName(bn + name), without building the name in the
// usual case of a base name "{sensor}:" and a record name "{quantity}".
func splitResolved(bn, name string) (sensor, quantity string, err error) {
	i := strings.LastIndexByte(bn, ':')
	if i < 0 || strings.IndexByte(name, ':') >= 0 {
		return SplitName(bn + name)
	}
	sensor, quantity = bn[:i], bn[i+1:]+name
	if !ValidSensorID(sensor) || !ValidQuantity(quantity) {
		return SplitName(bn + name) // its error
	}
	return sensor, quantity, nil
}

// TopicPrefix and TopicSuffix frame a sensor id in its topic.
const (
	TopicPrefix = "sensors/"
	TopicSuffix = "/senml"
	// Subscription is the MQTT filter that matches every sensor's topic.
	Subscription = "sensors/+/senml"
)

// Topic returns the MQTT topic on which sensor publishes its readings.
func Topic(sensor string) string { return TopicPrefix + sensor + TopicSuffix }

// SensorFromTopic returns the sensor id of a topic sensors/{id}/senml.
func SensorFromTopic(topic string) (string, error) {
	id, ok := strings.CutPrefix(topic, TopicPrefix)
	if ok {
		id, ok = strings.CutSuffix(id, TopicSuffix)
	}
	if !ok || !ValidSensorID(id) {
		return "", fmt.Errorf("%w: %q", ErrBadTopic, topic)
	}
	return id, nil
}

// Float returns a pointer to v, for building records.
func Float(v float64) *float64 { return &v }
