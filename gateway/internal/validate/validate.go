// Package validate decides whether the gateway keeps a reading: a resolved
// SenML reading (senml.Reading) is checked against the register entry of its
// sensor (registryapi.GatewaySensor).
//
// A reading is kept when, in this order:
//
//   - its sensor is in the allow-list (else [ErrUnknownSensor]);
//   - the entry declares its quantity (else [ErrUndeclaredQuantity]);
//   - its unit is the declared one, or converts to it ([Convert]: another
//     unit of the SenML registries with the same primary unit, e.g. Pa for
//     hPa, kW for W, kWh for Wh, mV for V, K for Cel, ppm for /); the
//     value is then converted and the reading carries the declared unit.
//     A unit outside the registries is [ErrUnknownUnit] (µg/m3, °C, kPa,
//     mW, MWh are not SenML units: a firmware bridge maps them), a unit
//     of something else [ErrUnitMismatch]. A reading that carries no unit
//     is taken in the declared unit, as RFC 8428 lets a producer leave out
//     a unit the consumer knows;
//   - its value, converted, is within the declared plausible range, bounds
//     included, where the entry declares them (else [ErrOutOfRange]);
//   - its time is within [now-MaxPast, now+MaxFuture] (else [ErrTooOld] or
//     [ErrInFuture]).
//
// Each refusal is a sentinel error, tested with errors.Is, and has a reason
// name ([Reason]) under which the gateway counts refused input; Reason also
// names the errors of the senml package, so that there is one table of
// reasons.
package validate

import (
	"errors"
	"fmt"
	"time"

	"github.com/civisens/civisens/firmware-bridge/senml"
	"github.com/civisens/civisens/registry/registryapi"
)

// Reasons a reading is refused.
var (
	ErrUnknownSensor      = errors.New("sensor not in the register's allow-list")
	ErrUndeclaredQuantity = errors.New("quantity not declared by the register entry")
	ErrUnitMismatch       = errors.New("unit differs from the declared one and does not convert to it")
	ErrUnknownUnit        = errors.New("unit is not a SenML unit")
	ErrOutOfRange         = errors.New("value outside the declared plausible range")
	ErrTooOld             = errors.New("reading time too far in the past")
	ErrInFuture           = errors.New("reading time too far in the future")
)

// Defaults of [Rules].
const (
	DefaultMaxPast   = 7 * 24 * time.Hour
	DefaultMaxFuture = 5 * time.Minute
)

// Rules are the checks that do not come from the register entry. The zero
// value means the defaults.
type Rules struct {
	// MaxPast is how old a reading may be; DefaultMaxPast if zero.
	MaxPast time.Duration
	// MaxFuture is how far ahead of the gateway's clock a reading may be
	// (sensor clocks drift); DefaultMaxFuture if zero.
	MaxFuture time.Duration
}

// Accepted is a reading that passed [Rules.Check], with the register entry
// that accepted it: the entry carries what the writer needs (category, site,
// tags, and, next, retention).
type Accepted struct {
	senml.Reading
	Entry *registryapi.GatewaySensor
}

// Check checks reading r against e, the entry of r.Sensor in the allow-list
// (nil when the sensor is not in it), at time now. It returns the accepted
// reading, with the declared unit filled in, or an error wrapping one of
// this package's sentinels.
func (rl Rules) Check(e *registryapi.GatewaySensor, r senml.Reading, now time.Time) (Accepted, error) {
	if e == nil || e.ID != r.Sensor {
		return Accepted{}, fmt.Errorf("sensor %q: %w", r.Sensor, ErrUnknownSensor)
	}
	var q *registryapi.Quantity
	for i := range e.Quantities {
		if e.Quantities[i].Name == r.Quantity {
			q = &e.Quantities[i]
			break
		}
	}
	if q == nil {
		return Accepted{}, fmt.Errorf("sensor %q quantity %q: %w", r.Sensor, r.Quantity, ErrUndeclaredQuantity)
	}
	switch {
	case r.Unit == "":
		r.Unit = q.Unit
	case r.Unit != q.Unit:
		v, err := Convert(r.Value, r.Unit, q.Unit)
		if err != nil {
			return Accepted{}, fmt.Errorf("sensor %q quantity %q: %w", r.Sensor, r.Quantity, err)
		}
		r.Value, r.Unit = v, q.Unit
	}
	if (q.Min != nil && r.Value < *q.Min) || (q.Max != nil && r.Value > *q.Max) {
		return Accepted{}, fmt.Errorf("sensor %q quantity %q: %w: %g not in %s", r.Sensor, r.Quantity, ErrOutOfRange, r.Value, rangeString(q))
	}
	maxPast, maxFuture := rl.MaxPast, rl.MaxFuture
	if maxPast <= 0 {
		maxPast = DefaultMaxPast
	}
	if maxFuture <= 0 {
		maxFuture = DefaultMaxFuture
	}
	if r.Time.Before(now.Add(-maxPast)) {
		return Accepted{}, fmt.Errorf("sensor %q quantity %q: %w: %s is more than %s before %s",
			r.Sensor, r.Quantity, ErrTooOld, r.Time.UTC().Format(time.RFC3339), maxPast, now.UTC().Format(time.RFC3339))
	}
	if r.Time.After(now.Add(maxFuture)) {
		return Accepted{}, fmt.Errorf("sensor %q quantity %q: %w: %s is more than %s after %s",
			r.Sensor, r.Quantity, ErrInFuture, r.Time.UTC().Format(time.RFC3339), maxFuture, now.UTC().Format(time.RFC3339))
	}
	return Accepted{Reading: r, Entry: e}, nil
}

func rangeString(q *registryapi.Quantity) string {
	lo, hi := "-inf", "+inf"
	if q.Min != nil {
		lo = fmt.Sprint(*q.Min)
	}
	if q.Max != nil {
		hi = fmt.Sprint(*q.Max)
	}
	return "[" + lo + ", " + hi + "]"
}

// reasons maps every refusal the gateway counts to its reason name, the
// value of the metric label "reason".
var reasons = []struct {
	err  error
	name string
}{
	{ErrUnknownSensor, "unknown_sensor"},
	{ErrUndeclaredQuantity, "undeclared_quantity"},
	{ErrUnitMismatch, "unit_mismatch"},
	{ErrUnknownUnit, "unknown_unit"},
	{ErrOutOfRange, "out_of_range"},
	{ErrTooOld, "too_old"},
	{ErrInFuture, "in_future"},
	{senml.ErrBadTopic, "bad_topic"},
	{senml.ErrTooLarge, "too_large"},
	{senml.ErrTooMany, "too_many_records"},
	{senml.ErrSyntax, "syntax"},
	{senml.ErrEmpty, "empty"},
	{senml.ErrNoValue, "no_value"},
	{senml.ErrNonFinite, "non_finite"},
	{senml.ErrBadName, "bad_name"},
	{senml.ErrSensorMismatch, "sensor_mismatch"},
	{senml.ErrBadTime, "bad_time"},
	{senml.ErrVersion, "version"},
}

// ReasonOther is the reason of an error that no sentinel names.
const ReasonOther = "other"

// Reason returns the reason name of err: the first of this package's or the
// senml package's sentinels that err wraps, or ReasonOther.
func Reason(err error) string {
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	return ReasonOther
}

// Reasons lists every reason name, for documentation and tests.
func Reasons() []string {
	out := make([]string, 0, len(reasons)+1)
	for _, r := range reasons {
		out = append(out, r.name)
	}
	return append(out, ReasonOther)
}
