package drivers

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"periph.io/x/conn/v3/i2c"

	"github.com/civisens/civisens/firmware-bridge/internal/firmware"
)

// BH1750 opcodes (ROHM datasheet, "Instruction Set Architecture").
const (
	bh1750PowerDown      = 0x00
	bh1750PowerOn        = 0x01
	bh1750Reset          = 0x07 // clears the data register; only when powered on
	bh1750ContinuousHRes = 0x10 // 1 lx resolution, 120 ms typical, 180 ms max

	// bh1750FirstResult is how long after the mode command the first
	// conversion is surely done (the datasheet's maximum).
	bh1750FirstResult = 180 * time.Millisecond
)

// BH1750Config configures a ROHM BH1750 ambient light sensor. The zero
// value is the default.
type BH1750Config struct {
	// Source names the device in its readings; default "bh1750-<addr>".
	Source string
	// Addr is the I²C address: 0x23 (ADDR low, the default) or 0x5C.
	Addr uint16
	// Now is the clock; default time.Now. It only dates the start of the
	// first conversion.
	Now func() time.Time
}

// BH1750 reads illuminance (lx) from a BH1750 left in continuous
// high-resolution mode: Read only fetches the last conversion (two bytes),
// so it never sleeps. Before the first conversion can be done (180 ms after
// construction) Read returns [ErrNotReady].
//
// periph's bh1750 package is not used: in devices v3.7.1 its SetMode sends
// the reset opcode instead of power on, Sense sleeps with time.Sleep, and
// it returns a physic.LuminousFlux (lumen) where the sensor measures
// illuminance (lux).
type BH1750 struct {
	dev     i2c.Dev
	source  string
	started time.Time
}

// NewBH1750 powers the sensor on, clears its data register and starts
// continuous high-resolution conversions.
func NewBH1750(bus i2c.Bus, cfg BH1750Config) (*BH1750, error) {
	if cfg.Addr == 0 {
		cfg.Addr = 0x23
	}
	if cfg.Addr != 0x23 && cfg.Addr != 0x5C {
		return nil, fmt.Errorf("bh1750: address %#x: want 0x23 or 0x5c", cfg.Addr)
	}
	if cfg.Source == "" {
		cfg.Source = fmt.Sprintf("bh1750-%x", cfg.Addr)
	}
	b := &BH1750{dev: i2c.Dev{Bus: bus, Addr: cfg.Addr}, source: cfg.Source}
	for _, op := range []byte{bh1750PowerOn, bh1750Reset, bh1750ContinuousHRes} {
		if err := b.dev.Tx([]byte{op}, nil); err != nil {
			return nil, fmt.Errorf("bh1750 at %#x: opcode %#02x: %w", cfg.Addr, op, err)
		}
	}
	b.started = clockOr(cfg.Now)()
	return b, nil
}

// Read fetches the last conversion: lux = count / 1.2 at the default
// measurement time (MTreg 69).
func (b *BH1750) Read(ctx context.Context, now time.Time) ([]firmware.Reading, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if now.Sub(b.started) < bh1750FirstResult {
		return nil, fmt.Errorf("%s: first conversion under way: %w", b.source, ErrNotReady)
	}
	var buf [2]byte
	if err := b.dev.Tx(nil, buf[:]); err != nil {
		return nil, fmt.Errorf("%s: %w", b.source, err)
	}
	lux := float64(binary.BigEndian.Uint16(buf[:])) / 1.2
	return []firmware.Reading{
		reading(b.source, "BH1750.Illuminance", "illuminance", unitLux, lux, now),
	}, nil
}

// Close powers the sensor down.
func (b *BH1750) Close() error {
	return b.dev.Tx([]byte{bh1750PowerDown}, nil)
}
