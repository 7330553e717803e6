//go:build hw

package drivers

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civisens/civisens/firmware-bridge/internal/firmware"
)

// These tests run on a real board; see the package documentation for the
// environment variables.

func hwBoard(t *testing.T, pins ...string) *Board {
	t.Helper()
	bus := os.Getenv("CIVISENS_HW_I2C")
	if bus == "" {
		bus = "1"
	}
	if len(pins) > 0 {
		bus = ""
	}
	b, err := OpenBoard(bus, pins...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func hwDevice(t *testing.T, name string) {
	t.Helper()
	if !slices.Contains(strings.Split(os.Getenv("CIVISENS_HW_DEVICES"), ","), name) {
		t.Skipf("%s not in CIVISENS_HW_DEVICES", name)
	}
}

func hwWait() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("CIVISENS_HW_WAIT")); err == nil {
		return d
	}
	return 30 * time.Second
}

// hwRead reads s until it is ready (up to a minute) and checks each
// reading's range.
func hwRead(t *testing.T, s Sensor, ranges map[string][2]float64) []firmware.Reading {
	t.Helper()
	defer s.Close()
	deadline := time.Now().Add(time.Minute)
	for {
		rs, err := s.Read(context.Background(), time.Now())
		if errors.Is(err, ErrNotReady) && time.Now().Before(deadline) {
			time.Sleep(time.Second)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			t.Logf("%s %s = %.3f %s", r.Source, r.Quantity, r.Value, r.Unit)
			if lim, ok := ranges[r.Quantity]; ok && (r.Value < lim[0] || r.Value > lim[1]) {
				t.Errorf("%s = %v %s outside %v", r.Quantity, r.Value, r.Unit, lim)
			}
		}
		return rs
	}
}

func TestHWBME280(t *testing.T) {
	hwDevice(t, "bme280")
	s, err := NewBME280(hwBoard(t).Bus, BME280Config{})
	if err != nil {
		t.Fatal(err)
	}
	hwRead(t, s, map[string][2]float64{"temperature": {-40, 85}, "humidity": {0, 100}, "pressure": {300, 1100}})
}

func TestHWCCS811(t *testing.T) {
	hwDevice(t, "ccs811")
	s, err := NewCCS811(hwBoard(t).Bus, CCS811Config{WarmUp: -1})
	if err != nil {
		t.Fatal(err)
	}
	hwRead(t, s, map[string][2]float64{"eco2": {400, 8192}, "tvoc": {0, 1187}})
}

func TestHWBH1750(t *testing.T) {
	hwDevice(t, "bh1750")
	s, err := NewBH1750(hwBoard(t).Bus, BH1750Config{})
	if err != nil {
		t.Fatal(err)
	}
	hwRead(t, s, map[string][2]float64{"illuminance": {0, 65535 / 1.2}})
}

func TestHWINA219(t *testing.T) {
	hwDevice(t, "ina219")
	s, err := NewINA219(hwBoard(t).Bus, INA219Config{})
	if err != nil {
		t.Fatal(err)
	}
	hwRead(t, s, map[string][2]float64{"voltage": {0, 26}, "current": {-3.2, 3.2}})
}

func TestHWTLV493D(t *testing.T) {
	hwDevice(t, "tlv493d")
	s, err := NewParking(hwBoard(t).Bus, ParkingSensorConfig{Detector: ParkingConfig{CalibrationSamples: 5}})
	if err != nil {
		t.Fatal(err)
	}
	hwRead(t, s, map[string][2]float64{"occupancy": {0, 1}})
	b, ok := s.Baseline()
	t.Logf("baseline %+v µT (calibrated %v), |B| = %.0f µT", b, ok, b.Norm())
}

func TestHWS0(t *testing.T) {
	name := os.Getenv("CIVISENS_HW_S0_PIN")
	if name == "" {
		t.Skip("CIVISENS_HW_S0_PIN not set")
	}
	s, err := NewS0(hwBoard(t, name).Pins[name], S0Config{StateFile: t.TempDir() + "/s0.json"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), hwWait())
	defer cancel()
	go s.Run(ctx)
	<-ctx.Done()
	time.Sleep(1100 * time.Millisecond) // Run's last poll
	t.Logf("%d pulses in %s", s.Pulses(), hwWait())
	hwRead(t, s, nil)
	if s.Pulses() == 0 {
		t.Error("no pulse counted: is the meter drawing power, and the S0 output wired to the pin and ground?")
	}
}

func TestHWPIR(t *testing.T) {
	name := os.Getenv("CIVISENS_HW_PIR_PIN")
	if name == "" {
		t.Skip("CIVISENS_HW_PIR_PIN not set")
	}
	p, err := NewPIR(hwBoard(t, name).Pins[name], PIRConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wave in front of the PIR within %s", hwWait())
	ctx, cancel := context.WithTimeout(context.Background(), hwWait())
	defer cancel()
	go p.Run(ctx)
	for ctx.Err() == nil {
		rs, err := p.Read(ctx, time.Now())
		if err == nil && len(rs) == 1 && rs[0].Value == 1 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Error("no presence seen")
}
