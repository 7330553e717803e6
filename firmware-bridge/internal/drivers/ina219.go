package drivers

import (
	"context"
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/devices/v3/ina219"

	"github.com/civisens/civisens/firmware-bridge/internal/firmware"
)

// INA219Config configures a TI INA219 current/power monitor. The zero value
// is the default (an Adafruit-style breakout: 0.1 Ω shunt, 3.2 A).
type INA219Config struct {
	// Source names the device in its readings; default "ina219-<addr>".
	Source string
	// Addr is the I²C address, 0x40 (the default) to 0x4F.
	Addr uint16
	// ShuntOhms is the shunt resistance; default 0.1 Ω.
	ShuntOhms float64
	// MaxCurrent is the largest current expected, in A, which sets the
	// current resolution (MaxCurrent / 32768); default 3.2 A.
	MaxCurrent float64
	// MaxGap is the longest interval between two reads that is integrated
	// into energy; a longer one (the sensor was unreachable) adds nothing.
	// Default 5 minutes.
	MaxGap time.Duration
}

// INA219 reads bus voltage (V), current (A) and power (W) from an INA219
// through periph's ina219 driver, and integrates power between reads into
// an energy index (Wh) of its own (see energyCounter: not a physic.Energy,
// which overflows near 2,555 kWh).
//
// periph's driver configures the INA219 for a 16 V bus range (config
// 0x1FFF: ±320 mV shunt range, 128-sample averaging, continuous): bus
// voltages above 16 V (a 24 V system) read wrong. Power is the chip's
// power register, always positive: the energy index counts energy through
// the shunt whichever way the current flows.
//
// The caller persists the index: EnergyMicroWh after reads, and
// SetEnergyMicroWh once before the first read after a restart.
type INA219 struct {
	dev    *ina219.Dev
	source string

	mu     sync.Mutex
	energy energyCounter
}

// NewINA219 writes the calibration and configuration registers.
func NewINA219(bus i2c.Bus, cfg INA219Config) (*INA219, error) {
	if cfg.Addr == 0 {
		cfg.Addr = 0x40
	}
	if cfg.ShuntOhms == 0 {
		cfg.ShuntOhms = 0.1
	}
	if cfg.MaxCurrent == 0 {
		cfg.MaxCurrent = 3.2
	}
	if cfg.MaxGap == 0 {
		cfg.MaxGap = 5 * time.Minute
	}
	if cfg.Source == "" {
		cfg.Source = fmt.Sprintf("ina219-%x", cfg.Addr)
	}
	if cfg.ShuntOhms < 0 || cfg.MaxCurrent < 0 || cfg.MaxGap < 0 {
		return nil, fmt.Errorf("ina219 at %#x: negative shunt, current or gap", cfg.Addr)
	}
	dev, err := ina219.New(bus, &ina219.Opts{
		Address:       int(cfg.Addr),
		SenseResistor: physic.ElectricResistance(cfg.ShuntOhms*float64(physic.Ohm) + 0.5),
		MaxCurrent:    physic.ElectricCurrent(cfg.MaxCurrent*float64(physic.Ampere) + 0.5),
	})
	if err != nil {
		return nil, fmt.Errorf("ina219 at %#x: %w", cfg.Addr, err)
	}
	return &INA219{dev: dev, source: cfg.Source, energy: energyCounter{maxGap: cfg.MaxGap}}, nil
}

// Read reads the shunt, bus, current and power registers and adds the
// energy since the last read.
func (n *INA219) Read(ctx context.Context, now time.Time) ([]firmware.Reading, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	pm, err := n.dev.Sense()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", n.source, err)
	}
	n.mu.Lock()
	n.energy.add(now, int64(pm.Power/physic.MicroWatt))
	wh := float64(n.energy.microWh) / 1e6
	n.mu.Unlock()
	return []firmware.Reading{
		reading(n.source, "INA219.BusVoltage", "voltage", unitVolt, float64(pm.Voltage)/float64(physic.Volt), now),
		reading(n.source, "INA219.Current", "current", unitAmpere, float64(pm.Current)/float64(physic.Ampere), now),
		reading(n.source, "INA219.Power", "power", unitWatt, float64(pm.Power)/float64(physic.Watt), now),
		reading(n.source, "INA219.Energy", "energy", unitWh, wh, now),
	}, nil
}

// EnergyWh is the energy index in Wh.
func (n *INA219) EnergyWh() float64 { return float64(n.EnergyMicroWh()) / 1e6 }

// EnergyMicroWh is the energy index in µWh, the state to persist.
func (n *INA219) EnergyMicroWh() int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.energy.microWh
}

// SetEnergyMicroWh restores a persisted index. The next read starts a new
// interval: the time the bridge was down is not integrated.
func (n *INA219) SetEnergyMicroWh(v int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.energy = energyCounter{microWh: v, maxGap: n.energy.maxGap}
}

// Close leaves the INA219 running (periph's driver has no power-down); it
// draws about 1 mA.
func (n *INA219) Close() error { return nil }
