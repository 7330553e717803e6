package drivers

import (
	"context"
	"errors"
	"testing"
	"time"

	"periph.io/x/conn/v3/i2c/i2ctest"
)

func TestBH1750(t *testing.T) {
	bus := &i2ctest.Playback{DontPanic: true, Ops: []i2ctest.IO{
		{Addr: 0x23, W: []byte{0x01}}, // power on
		{Addr: 0x23, W: []byte{0x07}}, // reset the data register
		{Addr: 0x23, W: []byte{0x10}}, // continuous H-resolution mode
		{Addr: 0x23, R: []byte{0x01, 0xF4}},
		{Addr: 0x23, R: []byte{0x83, 0x90}}, // the datasheet's example count
		{Addr: 0x23, W: []byte{0x00}},       // power down
	}}
	clk := newFakeClock()
	s, err := NewBH1750(bus, BH1750Config{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// The first conversion takes up to 180 ms: no zero reading before.
	if _, err := s.Read(ctx, t0.Add(100*time.Millisecond)); !errors.Is(err, ErrNotReady) {
		t.Fatalf("read before the first conversion: %v, want ErrNotReady", err)
	}
	now := t0.Add(time.Second)
	rs, err := s.Read(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	// 500 counts / 1.2 = 416.7 lx: an office desk.
	checkReadings(t, rs, "bh1750-23", now, want{"illuminance", "lx", 416.667, 0.001})
	rs, err = s.Read(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	// Datasheet: 1000_0011 1001_0000 = 33680 counts → 28067 lx.
	checkReadings(t, rs, "bh1750-23", now, want{"illuminance", "lx", 28067, 0.5})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := bus.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestBH1750Address(t *testing.T) {
	if _, err := NewBH1750(&i2ctest.Playback{DontPanic: true}, BH1750Config{Addr: 0x40}); err == nil {
		t.Fatal("address 0x40 accepted")
	}
}
