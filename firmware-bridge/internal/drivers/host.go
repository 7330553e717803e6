package drivers

import (
	"errors"
	"fmt"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2creg"
	"periph.io/x/host/v3"
)

// Board is what the real program opens once on the board: an I²C bus and
// GPIO pins, to hand to the constructors. Tests never use it: they hand
// periph's test doubles to the constructors instead.
type Board struct {
	// Bus is the I²C bus, nil when none was asked for.
	Bus i2c.BusCloser
	// Pins holds the pins asked for, by the name they were asked by.
	Pins map[string]gpio.PinIO
}

// OpenBoard loads periph's host drivers (host.Init), opens the I²C bus
// named i2cBus ("1" for /dev/i2c-1, the Raspberry Pi header's bus; empty
// for none) and looks the GPIO pins up by name ("GPIO17", or a header
// position such as "P1_11"). Close the Board when done.
func OpenBoard(i2cBus string, pins ...string) (*Board, error) {
	if _, err := host.Init(); err != nil {
		return nil, fmt.Errorf("periph host init: %w", err)
	}
	b := &Board{Pins: make(map[string]gpio.PinIO, len(pins))}
	if i2cBus != "" {
		bus, err := i2creg.Open(i2cBus)
		if err != nil {
			return nil, fmt.Errorf("open I²C bus %q: %w", i2cBus, err)
		}
		b.Bus = bus
	}
	var errs []error
	for _, n := range pins {
		p := gpioreg.ByName(n)
		if p == nil {
			errs = append(errs, fmt.Errorf("no GPIO pin named %q", n))
			continue
		}
		b.Pins[n] = p
	}
	if err := errors.Join(errs...); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// Close closes the I²C bus.
func (b *Board) Close() error {
	if b.Bus == nil {
		return nil
	}
	return b.Bus.Close()
}
