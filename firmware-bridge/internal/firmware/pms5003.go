package firmware

// Plantower PMS5003 (and PMS7003, PMSA003, which share the frame):
// 9600 baud 8N1 ([OpenUART]), a 32-byte frame about every second in
// active mode:
//
//	42 4D  00 1C  data1 … data13  check
//
// after the two start bytes, big-endian 16-bit words: the frame length
// (28, the bytes that follow it), 13 data words, and the check word, the
// sum of bytes 0..29. Data words 1..3 are PM1.0, PM2.5, PM10 in µg/m³
// for the "CF=1, standard particle" calibration, 4..6 the same under
// "atmospheric environment", 7..12 the number of particles above 0.3,
// 0.5, 1.0, 2.5, 5 and 10 µm in 0.1 l of air, and 13 is reserved.
//
// A frame gives the atmospheric values, which suit outdoor air and are
// what the vendors' apps and Sensor.Community show:
//
//	Field   Quantity          Unit
//	PM1.0   pm1               ug/m3
//	PM2.5   pm2_5             ug/m3
//	PM10    pm10              ug/m3
//	N0.3    particles_0_3um   count   particles > 0.3 µm in 0.1 l of air
//	N0.5    particles_0_5um   count
//	N1.0    particles_1um     count
//	N2.5    particles_2_5um   count
//	N5.0    particles_5um     count
//	N10     particles_10um    count
//
// The counts help tell fine from coarse dust where the mass estimates
// alone do not. The frame names no device: Source is empty (the caller
// knows the serial port). A frame with a bad check word gives a Result
// with only its Unknown entry (Field "frame"). Other frame lengths (the
// 8-byte replies to commands, the PMS3003's 24-byte frames, the
// PMS5003ST's 40-byte ones) are skipped; the PMS5003T, which puts
// temperature and humidity in words 10 and 11, cannot be told apart and
// is not supported.

import (
	"encoding/binary"
	"fmt"
	"io"
)

const (
	pms5003Size   = 32
	pms5003Length = 28
)

// PMS5003 returns the decoder of a Plantower PMS5003, PMS7003 or PMSA003
// serial stream.
func PMS5003() StreamDecoder { return pms5003Decoder{} }

type pms5003Decoder struct{}

// DecodeStream implements [StreamDecoder].
func (pms5003Decoder) DecodeStream(r io.Reader, emit func(Result) error) error {
	return scanBinaryFrames(r, "pms5003", []byte{0x42, 0x4D}, pms5003Size, pms5003Frame, emit)
}

// pms5003Checksum is the check word of a frame: the sum of bytes 0..29.
func pms5003Checksum(f []byte) uint16 {
	var sum uint16
	for _, c := range f[:30] {
		sum += uint16(c)
	}
	return sum
}

var pms5003Words = []struct {
	word            int // 1-based, as the datasheet counts
	field, quantity string
	unit            string
}{
	{4, "PM1.0", "pm1", "ug/m3"},
	{5, "PM2.5", "pm2_5", "ug/m3"},
	{6, "PM10", "pm10", "ug/m3"},
	{7, "N0.3", "particles_0_3um", "count"},
	{8, "N0.5", "particles_0_5um", "count"},
	{9, "N1.0", "particles_1um", "count"},
	{10, "N2.5", "particles_2_5um", "count"},
	{11, "N5.0", "particles_5um", "count"},
	{12, "N10", "particles_10um", "count"},
}

// pms5003Frame reads one candidate frame (f starts with 42 4D, 32 bytes).
func pms5003Frame(f []byte) (res Result, emit, consume bool) {
	if binary.BigEndian.Uint16(f[2:]) != pms5003Length {
		return Result{}, false, false
	}
	if got, want := binary.BigEndian.Uint16(f[30:]), pms5003Checksum(f); got != want {
		return Result{Unknown: []FieldError{{Field: "frame", Reason: fmt.Sprintf("checksum 0x%04X expected 0x%04X", got, want)}}}, true, false
	}
	for _, w := range pms5003Words {
		res.Readings = append(res.Readings, Reading{
			Field: w.field, Quantity: w.quantity, Unit: w.unit,
			Value: float64(binary.BigEndian.Uint16(f[2+2*w.word:])),
		})
	}
	return res, true, true
}
