package drivers

import (
	"context"
	"fmt"
	"time"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/devices/v3/bmxx80"

	"github.com/civisens/civisens/firmware-bridge/internal/firmware"
)

// BME280Config configures a Bosch BME280 on I²C. The zero value is the
// default.
type BME280Config struct {
	// Source names the device in its readings; default "bme280-<addr>"
	// ("bme280-76").
	Source string
	// Addr is the I²C address: 0x76 (SDO to GND, the default) or 0x77.
	Addr uint16
}

// BME280 reads temperature (Cel), relative humidity (%RH) and pressure
// (hPa) from a BME280 through periph's bmxx80 driver, one forced
// measurement per Read with the datasheet's "weather monitoring" settings:
// 1× oversampling on the three channels, no IIR filter. That is about 8 ms
// of conversion and negligible self-heating.
//
// A BMP280 (chip id 0x58) at the address is refused: it has no humidity.
type BME280 struct {
	dev    *bmxx80.Dev
	source string
}

// NewBME280 identifies the chip (id 0x60), reads its calibration and
// leaves it asleep between reads.
func NewBME280(bus i2c.Bus, cfg BME280Config) (*BME280, error) {
	if cfg.Addr == 0 {
		cfg.Addr = 0x76
	}
	if cfg.Source == "" {
		cfg.Source = fmt.Sprintf("bme280-%x", cfg.Addr)
	}
	dev, err := bmxx80.NewI2C(bus, cfg.Addr, &bmxx80.Opts{
		Temperature: bmxx80.O1x,
		Pressure:    bmxx80.O1x,
		Humidity:    bmxx80.O1x,
	})
	if err != nil {
		return nil, fmt.Errorf("bme280 at %#x: %w", cfg.Addr, err)
	}
	if s := dev.String(); len(s) < 6 || s[:6] != "BME280" {
		return nil, fmt.Errorf("bme280 at %#x: found %s, which has no humidity sensor", cfg.Addr, s)
	}
	return &BME280{dev: dev, source: cfg.Source}, nil
}

// Read takes one forced measurement.
func (b *BME280) Read(ctx context.Context, now time.Time) ([]firmware.Reading, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	var e physic.Env
	if err := b.dev.Sense(&e); err != nil {
		return nil, fmt.Errorf("%s: %w", b.source, err)
	}
	// physic keeps nano-units in int64: µ°C → °C, nPa → hPa, µ%RH·10 → %RH.
	celsius := float64(e.Temperature-physic.ZeroCelsius) / float64(physic.Celsius)
	hpa := float64(e.Pressure) / float64(100*physic.Pascal)
	rh := float64(e.Humidity) / float64(physic.PercentRH)
	return []firmware.Reading{
		reading(b.source, "BME280.Temperature", "temperature", unitCelsius, celsius, now),
		reading(b.source, "BME280.Humidity", "humidity", unitRH, rh, now),
		reading(b.source, "BME280.Pressure", "pressure", unitHPa, hpa, now),
	}, nil
}

// Close leaves the BME280 asleep (forced mode already sleeps between
// reads, so there is nothing to send).
func (b *BME280) Close() error { return b.dev.Halt() }
