package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"time"

	"github.com/civisens/civisens/firmware-bridge/internal/drivers"
	"github.com/civisens/civisens/firmware-bridge/internal/firmware"
)

// FormatLocal is the format name of the sensors on the bridge's own buses
// in the mapping: {"format": "local", "source": "<the input's source>"}.
const FormatLocal = "local"

// Drivers names the local sensors a bridge file's "driver" inputs take.
var Drivers = []string{"bme280", "ccs811", "bh1750", "ina219", "tlv493d", "s0", "pir"}

// driverInput is a sensor on the bridge's own I²C bus or GPIO pins,
// through periph.io:
//
//	{"driver": "bme280", "i2c": "1", "address": 118, "source": "bme280-salle", "every": "60s"}
//	{"driver": "s0", "gpio": "GPIO17", "pulses_per_kwh": 1000, "source": "compteur-ecole"}
type driverInput struct {
	Driver  string `json:"driver"`
	Source  string `json:"source"`
	I2C     string `json:"i2c,omitempty"`     // the bus, "1" on a Raspberry Pi
	Address uint16 `json:"address,omitempty"` // 0: the driver's default
	GPIO    string `json:"gpio,omitempty"`    // the pin, "GPIO17"
	// Every is how often the sensor is read (default 60s).
	Every duration `json:"every,omitempty"`
	// S0 meters.
	PulsesPerKWh int  `json:"pulses_per_kwh,omitempty"`
	ActiveHigh   bool `json:"active_high,omitempty"`
	// INA219.
	ShuntOhms  float64 `json:"shunt_ohms,omitempty"`
	MaxCurrent float64 `json:"max_current,omitempty"`
}

// duration is a time.Duration written "60s" in JSON.
type duration time.Duration

func (d *duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	if v < 100*time.Millisecond {
		return fmt.Errorf("%s: below 100ms", v)
	}
	*d = duration(v)
	return nil
}

func (in driverInput) validate() error {
	var errs []error
	if !slices.Contains(Drivers, in.Driver) {
		errs = append(errs, fmt.Errorf("unknown driver %q (known: %v)", in.Driver, Drivers))
	}
	if in.Source == "" {
		errs = append(errs, errors.New("no source (the name the mapping gives it)"))
	}
	switch in.Driver {
	case "s0", "pir":
		if in.GPIO == "" {
			errs = append(errs, errors.New("no gpio pin"))
		}
	default:
		if in.I2C == "" {
			errs = append(errs, errors.New("no i2c bus"))
		}
	}
	return errors.Join(errs...)
}

// runLocal opens the sensor of in on the board and reads it every
// in.Every until ctx ends.
func (b *bridge) runLocal(ctx context.Context, in driverInput, log *slog.Logger) error {
	var pins []string
	if in.GPIO != "" {
		pins = append(pins, in.GPIO)
	}
	board, err := drivers.OpenBoard(in.I2C, pins...)
	if err != nil {
		return err
	}
	defer board.Close()
	var s drivers.Sensor
	switch in.Driver {
	case "bme280":
		s, err = drivers.NewBME280(board.Bus, drivers.BME280Config{Source: in.Source, Addr: in.Address})
	case "ccs811":
		s, err = drivers.NewCCS811(board.Bus, drivers.CCS811Config{Source: in.Source, Addr: in.Address})
	case "bh1750":
		s, err = drivers.NewBH1750(board.Bus, drivers.BH1750Config{Source: in.Source, Addr: in.Address})
	case "ina219":
		s, err = drivers.NewINA219(board.Bus, drivers.INA219Config{Source: in.Source, Addr: in.Address, ShuntOhms: in.ShuntOhms, MaxCurrent: in.MaxCurrent})
	case "tlv493d":
		s, err = drivers.NewParking(board.Bus, drivers.ParkingSensorConfig{Source: in.Source, Addr: in.Address})
	case "s0":
		var s0 *drivers.S0
		s0, err = drivers.NewS0(board.Pins[in.GPIO], drivers.S0Config{Source: in.Source, PulsesPerKWh: in.PulsesPerKWh, ActiveHigh: in.ActiveHigh,
			StateFile: filepath.Join(b.dataDir, "s0-"+in.Source+".json")})
		if err == nil {
			go s0.Run(ctx)
		}
		s = s0
	case "pir":
		var p *drivers.PIR
		p, err = drivers.NewPIR(board.Pins[in.GPIO], drivers.PIRConfig{Source: in.Source})
		if err == nil {
			go p.Run(ctx)
		}
		s = p
	}
	if err != nil {
		return err
	}
	defer s.Close()
	every := time.Duration(in.Every)
	if every == 0 {
		every = time.Minute
	}
	log.Info("local sensor open", "driver", in.Driver, "source", in.Source, "every", every)
	f := firmware.Format{Name: FormatLocal}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		now := time.Now().UTC()
		readings, err := s.Read(ctx, now)
		switch {
		case errors.Is(err, drivers.ErrNotReady):
			log.Debug("not ready yet", "source", in.Source)
		case err != nil:
			log.Warn("read failed", "source", in.Source, "err", err)
		default:
			b.handle(ctx, f, firmware.Result{Readings: readings}, now, log)
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil
		}
	}
}
