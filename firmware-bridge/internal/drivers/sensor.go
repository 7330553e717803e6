package drivers

import (
	"context"
	"errors"
	"time"

	"github.com/civisens/civisens/firmware-bridge/internal/firmware"
)

// Sensor is one local sensor the bridge polls.
//
// Read returns what the sensor measured at now, every reading stamped with
// now. It may return readings and an error together when part of the work
// failed (the S0 counter's state file could not be written, for one): the
// readings are still good. A sensor with nothing new yet (warming up, no
// data ready) returns [ErrNotReady], which callers skip quietly.
//
// Close puts the device to sleep where it can; it never closes the bus or
// the pin, which belong to the program that opened them.
type Sensor interface {
	Read(ctx context.Context, now time.Time) ([]firmware.Reading, error)
	Close() error
}

// ErrNotReady is what Read returns while a sensor has nothing valid to
// report yet: a CCS811 in its warm-up, a BH1750 before its first
// conversion, a parking detector still calibrating, a CCS811 whose next
// result is not ready. It is not a fault.
var ErrNotReady = errors.New("sensor not ready")

// Quantities and SenML units of the readings, as the gateway's validate
// package knows them.
const (
	unitCelsius  = "Cel"
	unitRH       = "%RH"
	unitHPa      = "hPa"
	unitPPM      = "ppm"
	unitPPB      = "ppb"
	unitLux      = "lx"
	unitVolt     = "V"
	unitAmpere   = "A"
	unitWatt     = "W"
	unitWh       = "Wh"
	unitRatioOne = "/"
)

// reading builds one reading of src.
func reading(src, field, quantity, unit string, v float64, now time.Time) firmware.Reading {
	return firmware.Reading{Source: src, Field: field, Quantity: quantity, Unit: unit, Value: v, Time: now}
}

// clockOr returns now, or time.Now when now is nil.
func clockOr(now func() time.Time) func() time.Time {
	if now == nil {
		return time.Now
	}
	return now
}

// ctxErr reports a cancelled context before any bus traffic.
func ctxErr(ctx context.Context) error {
	if ctx == nil {
		return nil
	}
	return ctx.Err()
}

// boolValue is 1 for true, 0 for false: occupancy and presence in "/".
func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

var (
	_ Sensor = (*BME280)(nil)
	_ Sensor = (*CCS811)(nil)
	_ Sensor = (*BH1750)(nil)
	_ Sensor = (*INA219)(nil)
	_ Sensor = (*Parking)(nil)
	_ Sensor = (*S0)(nil)
	_ Sensor = (*PIR)(nil)
)
