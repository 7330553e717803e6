package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/civisens/civisens/firmware-bridge/internal/drivers"
	"github.com/civisens/civisens/firmware-bridge/internal/firmware"
	"github.com/civisens/civisens/internal/atomicfile"
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
	st := b.localState(in, s, log)
	defer func() {
		st.save(true)
		s.Close()
	}()
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
			st.save(false)
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil
		}
	}
}

// localState keeps what a local sensor must not lose at a restart — an
// INA219's energy index, a TLV493D's calibrated baseline — in
// <data-dir>/<driver>-<source>.json, written at most every minute and at
// the end (an S0 meter keeps its own count).
type localState struct {
	path  string
	get   func() (any, bool)
	log   *slog.Logger
	saved time.Time
	last  []byte
}

// savedState is the state file's content.
type savedState struct {
	EnergyMicroWh *int64         `json:"energy_uwh,omitempty"`
	Baseline      *drivers.Field `json:"baseline,omitempty"`
}

func (b *bridge) localState(in driverInput, s drivers.Sensor, log *slog.Logger) *localState {
	st := &localState{path: filepath.Join(b.dataDir, in.Driver+"-"+in.Source+".json"), log: log}
	var saved savedState
	if data, err := os.ReadFile(st.path); err == nil {
		if err := json.Unmarshal(data, &saved); err != nil {
			log.Warn("state file unreadable; starting afresh", "file", st.path, "err", err)
		}
	}
	switch d := s.(type) {
	case *drivers.INA219:
		if saved.EnergyMicroWh != nil {
			d.SetEnergyMicroWh(*saved.EnergyMicroWh)
			log.Info("energy index restored", "source", in.Source, "wh", d.EnergyWh())
		}
		st.get = func() (any, bool) { e := d.EnergyMicroWh(); return savedState{EnergyMicroWh: &e}, true }
	case *drivers.Parking:
		if saved.Baseline != nil {
			d.SetBaseline(*saved.Baseline)
			log.Info("parking baseline restored", "source", in.Source)
		}
		st.get = func() (any, bool) {
			bl, ok := d.Baseline()
			return savedState{Baseline: &bl}, ok
		}
	}
	return st
}

// save writes the state when it changed and, unless force, a minute after
// the last write.
func (st *localState) save(force bool) {
	if st.get == nil || (!force && time.Since(st.saved) < time.Minute) {
		return
	}
	v, ok := st.get()
	if !ok {
		return
	}
	data, _ := json.Marshal(v)
	if string(data) == string(st.last) {
		return
	}
	if err := atomicfile.WriteFile(st.path, data, 0o600); err != nil {
		st.log.Warn("cannot save the sensor's state", "file", st.path, "err", err)
		return
	}
	st.saved, st.last = time.Now(), data
}
