package drivers

import (
	"context"
	"testing"

	"periph.io/x/conn/v3/i2c/i2ctest"
)

// bme280Calibration is registers 0x88…0xA1 of a BME280: dig_T1…dig_P9 are
// the worked example of Bosch's BMP280 datasheet (BST-BMP280-DS001, §3.12:
// T1=27504 T2=26435 T3=-1000 P1=36477 P2=-10685 P3=3024 P4=2855 P5=140
// P6=-7 P7=15500 P8=-14600 P9=6000; the BME280 shares the formulas), then
// a reserved byte and dig_H1=75 of a real BME280.
var bme280Calibration = []byte{
	0x70, 0x6B, 0x43, 0x67, 0x18, 0xFC, // T1 T2 T3
	0x7D, 0x8E, 0x43, 0xD6, 0xD0, 0x0B, // P1 P2 P3
	0x27, 0x0B, 0x8C, 0x00, 0xF9, 0xFF, // P4 P5 P6
	0x8C, 0x3C, 0xF8, 0xC6, 0x70, 0x17, // P7 P8 P9
	0x00, 0x4B, // reserved, H1
}

// bme280Humidity is registers 0xE1…0xE7 of the same real BME280:
// H2=366 H3=0 H4=309 H5=0 H6=30.
var bme280Humidity = []byte{0x6E, 0x01, 0x00, 0x13, 0x05, 0x00, 0x1E}

// bme280Init is the traffic of NewBME280: chip id, calibration, then
// ctrl_meas asleep (osrs_t=osrs_p=1×), ctrl_hum 1×, config (t_sb 1 s,
// filter off), ctrl_meas again as the datasheet asks.
func bme280Init() []i2ctest.IO {
	return []i2ctest.IO{
		{Addr: 0x76, W: []byte{0xD0}, R: []byte{0x60}},
		{Addr: 0x76, W: []byte{0x88}, R: bme280Calibration},
		{Addr: 0x76, W: []byte{0xE1}, R: bme280Humidity},
		{Addr: 0x76, W: []byte{0xF4, 0x24, 0xF2, 0x01, 0xF5, 0xA0, 0xF4, 0x24}},
	}
}

// bme280Measure is one forced measurement: ctrl_meas forced, status idle,
// then the burst read of press_msb…hum_lsb.
func bme280Measure(burst ...byte) []i2ctest.IO {
	return []i2ctest.IO{
		{Addr: 0x76, W: []byte{0xF4, 0x25}},
		{Addr: 0x76, W: []byte{0xF3}, R: []byte{0x00}},
		{Addr: 0x76, W: []byte{0xF7}, R: burst},
	}
}

func TestBME280(t *testing.T) {
	ops := bme280Init()
	// The datasheet's own check: adc_T=519888, adc_P=415148 give
	// 25.08 °C and 100653.27 Pa. Humidity raw 0x6C53 at that temperature.
	ops = append(ops, bme280Measure(0x65, 0x5A, 0xC0, 0x7E, 0xED, 0x00, 0x6C, 0x53)...)
	// A standard day: adc_T=514664, adc_P=409783, adc_H=27731 give
	// 23.45 °C, 1013.25 hPa and 45.0 %RH.
	ops = append(ops, bme280Measure(0x64, 0x0B, 0x70, 0x7D, 0xA6, 0x80, 0x6C, 0x53)...)
	bus := &i2ctest.Playback{Ops: ops, DontPanic: true}

	s, err := NewBME280(bus, BME280Config{})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := s.Read(context.Background(), t0)
	if err != nil {
		t.Fatal(err)
	}
	checkReadings(t, rs, "bme280-76", t0,
		want{"temperature", "Cel", 25.08, 0.005},
		want{"humidity", "%RH", 45.16, 0.005}, // no datasheet figure for humidity
		want{"pressure", "hPa", 1006.5327, 0.0005},
	)
	rs, err = s.Read(context.Background(), t0)
	if err != nil {
		t.Fatal(err)
	}
	// Output resolutions: 0.01 °C, 1/1024 %RH; pressure at 1× oversampling
	// resolves 2.62 Pa, and the nearest raw value gives 1013.2505 hPa.
	checkReadings(t, rs, "bme280-76", t0,
		want{"temperature", "Cel", 23.45, 0.005},
		want{"humidity", "%RH", 45.0, 0.005},
		want{"pressure", "hPa", 1013.25, 0.001},
	)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := bus.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestBME280RefusesBMP280(t *testing.T) {
	bus := &i2ctest.Playback{DontPanic: true, Ops: []i2ctest.IO{
		{Addr: 0x77, W: []byte{0xD0}, R: []byte{0x58}},
		{Addr: 0x77, W: []byte{0x88}, R: bme280Calibration},
		{Addr: 0x77, W: []byte{0xF4, 0x24, 0xF5, 0xA0, 0xF4, 0x24}},
	}}
	if _, err := NewBME280(bus, BME280Config{Addr: 0x77}); err == nil {
		t.Fatal("a BMP280 was taken for a BME280")
	}
}

func TestBME280WrongChip(t *testing.T) {
	bus := &i2ctest.Playback{DontPanic: true, Ops: []i2ctest.IO{
		{Addr: 0x76, W: []byte{0xD0}, R: []byte{0xFF}},
	}}
	if _, err := NewBME280(bus, BME280Config{}); err == nil {
		t.Fatal("chip id 0xFF accepted")
	}
}
