package drivers

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/i2c/i2ctest"
)

// ccs811Start is the traffic of NewCCS811: HW_ID, STATUS with APP_VALID,
// APP_START, MEAS_MODE drive mode 1, STATUS in application mode.
func ccs811Start() []i2ctest.IO {
	return []i2ctest.IO{
		{Addr: 0x5A, W: []byte{0x20}, R: []byte{0x81}},
		{Addr: 0x5A, W: []byte{0x00}, R: []byte{0x10}},
		{Addr: 0x5A, W: []byte{0xF4}},
		{Addr: 0x5A, W: []byte{0x01, 0x10}},
		{Addr: 0x5A, W: []byte{0x00}, R: []byte{0x90}},
	}
}

func TestCCS811(t *testing.T) {
	ops := append(ccs811Start(),
		// ALG_RESULT_DATA: eCO2 0x0264 = 612 ppm, TVOC 0x0020 = 32 ppb,
		// STATUS 0x98 (FW_MODE, APP_VALID, DATA_READY), no error, raw data.
		i2ctest.IO{Addr: 0x5A, W: []byte{0x02}, R: []byte{0x02, 0x64, 0x00, 0x20, 0x98, 0x00, 0x10, 0x2B}},
		// Read again within the same second: DATA_READY clear.
		i2ctest.IO{Addr: 0x5A, W: []byte{0x02}, R: []byte{0x02, 0x64, 0x00, 0x20, 0x90, 0x00, 0x10, 0x2B}},
		// In warm-up (checked below with a fresh start): valid but held back.
		i2ctest.IO{Addr: 0x5A, W: []byte{0x02}, R: []byte{0x01, 0x90, 0x00, 0x00, 0x98, 0x00, 0x10, 0x2B}},
		// STATUS.ERROR with ERROR_ID HEATER_FAULT.
		i2ctest.IO{Addr: 0x5A, W: []byte{0x02}, R: []byte{0x00, 0x00, 0x00, 0x00, 0x99, 0x10, 0x00, 0x00}},
		// SetEnvironment 23.45 °C, 45 %RH: (45×512, (23.45+25)×512).
		i2ctest.IO{Addr: 0x5A, W: []byte{0x05, 0x5A, 0x00, 0x60, 0xE6}},
		// Close: drive mode 0.
		i2ctest.IO{Addr: 0x5A, W: []byte{0x01, 0x00}},
	)
	bus := &i2ctest.Playback{DontPanic: true, Ops: ops}
	clk := newFakeClock()
	s, err := NewCCS811(bus, CCS811Config{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := t0.Add(21 * time.Minute)
	rs, err := s.Read(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	checkReadings(t, rs, "ccs811-5a", now,
		want{"eco2", "ppm", 612, 0},
		want{"tvoc", "ppb", 32, 0},
	)
	if _, err := s.Read(ctx, now); !errors.Is(err, ErrNotReady) {
		t.Fatalf("no new data: %v, want ErrNotReady", err)
	}
	if _, err := s.Read(ctx, t0.Add(5*time.Minute)); !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "warming up") {
		t.Fatalf("in warm-up: %v, want ErrNotReady", err)
	}
	_, err = s.Read(ctx, now)
	if err == nil || errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "HEATER_FAULT") {
		t.Fatalf("heater fault: %v", err)
	}
	if err := s.SetEnvironment(23.45, 45); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := bus.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCCS811Refuses(t *testing.T) {
	for name, ops := range map[string][]i2ctest.IO{
		"not a CCS811": {{Addr: 0x5A, W: []byte{0x20}, R: []byte{0x55}}},
		"no application firmware": {
			{Addr: 0x5A, W: []byte{0x20}, R: []byte{0x81}},
			{Addr: 0x5A, W: []byte{0x00}, R: []byte{0x00}},
		},
		"stuck in boot mode": append(ccs811Start()[:4],
			i2ctest.IO{Addr: 0x5A, W: []byte{0x00}, R: []byte{0x10}}),
	} {
		t.Run(name, func(t *testing.T) {
			bus := &i2ctest.Playback{DontPanic: true, Ops: ops}
			if _, err := NewCCS811(bus, CCS811Config{}); err == nil {
				t.Fatal("accepted")
			}
			if err := bus.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
