package drivers

import (
	"context"
	"fmt"
	"time"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/devices/v3/ccs811"

	"github.com/civisens/civisens/firmware-bridge/internal/firmware"
)

// CCS811 registers and STATUS bits (ams datasheet, "I²C Interface").
const (
	ccs811RegStatus = 0x00
	ccs811RegHWID   = 0x20
	ccs811HWID      = 0x81

	ccs811StatusError     = 1 << 0
	ccs811StatusDataReady = 1 << 3
	ccs811StatusAppValid  = 1 << 4
	ccs811StatusFWMode    = 1 << 7
)

// CCS811Config configures an ams CCS811 air quality sensor. The zero value
// is the default.
type CCS811Config struct {
	// Source names the device in its readings; default "ccs811-<addr>".
	Source string
	// Addr is the I²C address: 0x5A (ADDR low, the default) or 0x5B.
	Addr uint16
	// WarmUp is how long after start the readings are held back (Read
	// returns ErrNotReady): the datasheet asks for 20 minutes before the
	// results are valid, the default. A negative value reports at once.
	WarmUp time.Duration
	// Now is the clock; default time.Now. It dates the start of warm-up.
	Now func() time.Time
}

// CCS811 reads equivalent CO₂ (quantity "eco2", ppm) and total VOC
// ("tvoc", ppb; the gateway accepts ppb as a secondary unit of "/") from a
// CCS811 in drive mode 1 (a result every second), through periph's ccs811
// driver. The nWAKE pin must be held low.
//
// The constructor checks what periph's does not: the hardware id (0x81), a
// valid application firmware before APP_START, and the firmware mode
// after it. Read reports a sensor error (STATUS.ERROR, with its ERROR_ID)
// as an error, and a result not refreshed since the last read as
// [ErrNotReady].
type CCS811 struct {
	dev     *ccs811.Dev
	reg     i2c.Dev
	source  string
	started time.Time
	warmUp  time.Duration
}

// NewCCS811 checks the chip, starts its application and drive mode 1.
func NewCCS811(bus i2c.Bus, cfg CCS811Config) (*CCS811, error) {
	if cfg.Addr == 0 {
		cfg.Addr = 0x5A
	}
	if cfg.Source == "" {
		cfg.Source = fmt.Sprintf("ccs811-%x", cfg.Addr)
	}
	switch {
	case cfg.WarmUp == 0:
		cfg.WarmUp = 20 * time.Minute
	case cfg.WarmUp < 0:
		cfg.WarmUp = 0
	}
	c := &CCS811{reg: i2c.Dev{Bus: bus, Addr: cfg.Addr}, source: cfg.Source, warmUp: cfg.WarmUp}
	id, err := c.readByte(ccs811RegHWID)
	if err != nil {
		return nil, fmt.Errorf("ccs811 at %#x: hardware id: %w", cfg.Addr, err)
	}
	if id != ccs811HWID {
		return nil, fmt.Errorf("ccs811 at %#x: hardware id %#02x, want %#02x", cfg.Addr, id, ccs811HWID)
	}
	st, err := c.readByte(ccs811RegStatus)
	if err != nil {
		return nil, fmt.Errorf("ccs811 at %#x: status: %w", cfg.Addr, err)
	}
	if st&ccs811StatusAppValid == 0 {
		return nil, fmt.Errorf("ccs811 at %#x: no valid application firmware (status %#02x)", cfg.Addr, st)
	}
	opts := ccs811.DefaultOpts
	opts.Addr = cfg.Addr
	dev, err := ccs811.New(bus, &opts)
	if err != nil {
		return nil, fmt.Errorf("ccs811 at %#x: %w", cfg.Addr, err)
	}
	if st, err = c.readByte(ccs811RegStatus); err != nil {
		return nil, fmt.Errorf("ccs811 at %#x: status: %w", cfg.Addr, err)
	}
	if st&ccs811StatusFWMode == 0 {
		return nil, fmt.Errorf("ccs811 at %#x: still in boot mode after APP_START (status %#02x)", cfg.Addr, st)
	}
	c.dev = dev
	c.started = clockOr(cfg.Now)()
	return c, nil
}

func (c *CCS811) readByte(reg byte) (byte, error) {
	var b [1]byte
	err := c.reg.Tx([]byte{reg}, b[:])
	return b[0], err
}

// Read reads ALG_RESULT_DATA (eCO₂, TVOC, status, error id, raw data).
func (c *CCS811) Read(ctx context.Context, now time.Time) ([]firmware.Reading, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	var v ccs811.SensorValues
	if err := c.dev.Sense(&v); err != nil {
		return nil, fmt.Errorf("%s: %w", c.source, err)
	}
	if v.Status&ccs811StatusError != 0 {
		if v.Error == nil {
			return nil, fmt.Errorf("%s: sensor error (status %#02x)", c.source, v.Status)
		}
		return nil, fmt.Errorf("%s: %w", c.source, v.Error)
	}
	if now.Sub(c.started) < c.warmUp {
		return nil, fmt.Errorf("%s: warming up until %s: %w", c.source, c.started.Add(c.warmUp).Format(time.RFC3339), ErrNotReady)
	}
	if v.Status&ccs811StatusDataReady == 0 {
		return nil, fmt.Errorf("%s: no new result: %w", c.source, ErrNotReady)
	}
	return []firmware.Reading{
		reading(c.source, "CCS811.eCO2", "eco2", unitPPM, float64(v.ECO2), now),
		reading(c.source, "CCS811.TVOC", "tvoc", unitPPB, float64(v.VOC), now),
	}, nil
}

// SetEnvironment gives the sensor the air's temperature (°C) and relative
// humidity (%RH), a BME280's readings for one, to compensate its results.
func (c *CCS811) SetEnvironment(celsius, rh float64) error {
	if celsius < -25 || rh < 0 || rh > 100 {
		return fmt.Errorf("%s: environment %.2f °C %.2f %%RH out of range", c.source, celsius, rh)
	}
	return c.dev.SetEnvironmentData(float32(celsius), float32(rh))
}

// Close puts the sensor in idle mode (drive mode 0).
func (c *CCS811) Close() error {
	return c.dev.SetMeasurementModeRegister(ccs811.MeasurementModeParams{MeasurementMode: ccs811.MeasurementModeIdle})
}
