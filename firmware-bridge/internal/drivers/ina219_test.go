package drivers

import (
	"context"
	"testing"
	"time"

	"periph.io/x/conn/v3/i2c/i2ctest"
)

// ina219Init is NewINA219's traffic with the defaults (0.1 Ω, 3.2 A):
// current LSB 97.656 µA, calibration 0.04096 / (LSB × R) = 4194 = 0x1062,
// then config 0x1FFF.
func ina219Init() []i2ctest.IO {
	return []i2ctest.IO{
		{Addr: 0x40, W: []byte{0x05, 0x10, 0x62}},
		{Addr: 0x40, W: []byte{0x00, 0x1F, 0xFF}},
	}
}

// ina219Sense is one Sense: shunt, bus, current and power registers.
// A 12.6 V battery feeding 1.5 A: shunt 150 mV = 15000 × 10 µV (0x3A98);
// bus 12.6 V = 3150 × 4 mV, shifted 3 with CNVR set (0x6272); current
// 15360 × 97.656 µA (0x3C00); power 15360 × 3150 / 5000 = 9676 × 1.953 mW
// (0x25CC).
func ina219Sense() []i2ctest.IO {
	return []i2ctest.IO{
		{Addr: 0x40, W: []byte{0x01}, R: []byte{0x3A, 0x98}},
		{Addr: 0x40, W: []byte{0x02}, R: []byte{0x62, 0x72}},
		{Addr: 0x40, W: []byte{0x04}, R: []byte{0x3C, 0x00}},
		{Addr: 0x40, W: []byte{0x03}, R: []byte{0x25, 0xCC}},
	}
}

func TestINA219(t *testing.T) {
	ops := ina219Init()
	for range 4 {
		ops = append(ops, ina219Sense()...)
	}
	bus := &i2ctest.Playback{DontPanic: true, Ops: ops}
	s, err := NewINA219(bus, INA219Config{MaxGap: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const p = 18.8984375 // W: 9676 × 1953125 nW
	rs, err := s.Read(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	checkReadings(t, rs, "ina219-40", t0,
		want{"voltage", "V", 12.6, 1e-9},
		want{"current", "A", 1.5, 0.0001}, // one LSB
		want{"power", "W", 18.9, 0.002},   // one LSB
		want{"energy", "Wh", 0, 0},        // no interval yet
	)
	// One hour later: 18.898 Wh.
	now := t0.Add(time.Hour)
	rs, err = s.Read(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := rs[3].Value; got != 18.898437 {
		t.Fatalf("energy after 1 h at %g W: %v Wh, want 18.898437 (µWh, truncated)", p, got)
	}
	// The caller persists the index and restores it after a restart: the
	// time the bridge was down is not integrated.
	saved := s.EnergyMicroWh()
	s.SetEnergyMicroWh(saved)
	if _, err := s.Read(ctx, now.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := s.EnergyMicroWh(); got != saved {
		t.Fatalf("restored index moved to %d µWh, want %d", got, saved)
	}
	// 2 h 1 min later: a gap beyond MaxGap is not integrated either.
	if _, err := s.Read(ctx, now.Add(10*time.Minute+2*time.Hour+time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := s.EnergyWh(); got != float64(saved)/1e6 {
		t.Fatalf("gap integrated: %v Wh", got)
	}
	if err := bus.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestEnergyCounterTrapezoid(t *testing.T) {
	var e energyCounter
	// A ramp from 0 to 1000 W over an hour, sampled every second: the
	// trapezoid rule is exact on a ramp, 500 Wh.
	for i := 0; i <= 3600; i++ {
		e.add(t0.Add(time.Duration(i)*time.Second), int64(i)*1_000_000_000/3600)
	}
	if e.microWh != 500_000_000 && e.microWh != 499_999_999 {
		t.Fatalf("ramp: %d µWh, want 500 Wh", e.microWh)
	}
}

func TestEnergyCounterNoDriftOnSmallSteps(t *testing.T) {
	// 1 W read every 100 ms for a day: each step is 27.8 µWh; carrying
	// the remainder keeps the day's total exact, 24 Wh.
	var e energyCounter
	for i := 0; i <= 24*36000; i++ {
		e.add(t0.Add(time.Duration(i)*100*time.Millisecond), 1_000_000)
	}
	if e.microWh != 24_000_000 {
		t.Fatalf("%d µWh, want 24 Wh", e.microWh)
	}
}

func TestEnergyCounterBeyondPhysicEnergy(t *testing.T) {
	// 250 kW for 2 weeks is 84,000 kWh, 33 times what a physic.Energy
	// (int64 nJ) holds; the µWh counter keeps it, step by step.
	e := energyCounter{maxGap: 5 * time.Minute}
	const w = 250_000 * 1_000_000 // µW
	for i := 0; i <= 14*24*60; i++ {
		e.add(t0.Add(time.Duration(i)*time.Minute), w)
	}
	if want := int64(84_000) * 1_000 * 1_000_000; e.microWh != want {
		t.Fatalf("%d µWh, want %d", e.microWh, want)
	}
}
