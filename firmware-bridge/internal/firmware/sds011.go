package firmware

// Nova Fitness SDS011 (and SDS018, SDS021, which share the protocol):
// 9600 baud 8N1 ([OpenUART]), one 10-byte frame a second in its default
// active mode:
//
//	AA C0 PM25L PM25H PM10L PM10H ID1 ID2 CHK AB
//
// CHK is the sum of bytes 2..7 modulo 256; PM2.5 and PM10 are
// little-endian tenths of µg/m³ (0.0 to 999.9 by the datasheet). A frame
// gives two readings, Field "PM2.5" (Quantity pm2_5) and "PM10" (pm10),
// in ug/m3, with Source the device id ID1 ID2 as four lower-case hex
// digits ("a1b2"). A value above 999.9 is listed in Result.Unknown (out
// of range). Reply frames to commands (AA C5 … AB) are skipped without
// a word; a frame with a bad checksum gives a Result with only its
// Unknown entry (Field "frame").

import (
	"fmt"
	"io"
)

const (
	sds011Size    = 10
	sds011Data    = 0xC0 // measurement
	sds011Reply   = 0xC5 // reply to a command
	sds011Tail    = 0xAB
	sds011MaxTens = 9999 // 999.9 µg/m³
)

// SDS011 returns the decoder of an SDS011's serial stream.
func SDS011() StreamDecoder { return sds011Decoder{} }

type sds011Decoder struct{}

// DecodeStream implements [StreamDecoder].
func (sds011Decoder) DecodeStream(r io.Reader, emit func(Result) error) error {
	return scanBinaryFrames(r, "sds011", []byte{0xAA}, sds011Size, sds011Frame, emit)
}

// sds011Checksum is the checksum of a frame: the sum of its data bytes.
func sds011Checksum(f []byte) byte {
	var sum byte
	for _, c := range f[2:8] {
		sum += c
	}
	return sum
}

// sds011Frame reads one candidate frame (f starts with AA, 10 bytes).
func sds011Frame(f []byte) (res Result, emit, consume bool) {
	if f[9] != sds011Tail || (f[1] != sds011Data && f[1] != sds011Reply) {
		return Result{}, false, false
	}
	if got, want := f[8], sds011Checksum(f); got != want {
		if f[1] == sds011Reply {
			return Result{}, false, false
		}
		return Result{Unknown: []FieldError{{Field: "frame", Reason: fmt.Sprintf("checksum 0x%02X expected 0x%02X", got, want)}}}, true, false
	}
	if f[1] == sds011Reply {
		return Result{}, false, true
	}
	source := fmt.Sprintf("%02x%02x", f[6], f[7])
	for _, v := range []struct {
		field, quantity string
		tens            int
	}{
		{"PM2.5", "pm2_5", int(f[2]) | int(f[3])<<8},
		{"PM10", "pm10", int(f[4]) | int(f[5])<<8},
	} {
		if v.tens > sds011MaxTens {
			res.Unknown = append(res.Unknown, FieldError{Field: v.field, Reason: fmt.Sprintf("%d.%d ug/m3 out of range 0..999.9", v.tens/10, v.tens%10)})
			continue
		}
		res.Readings = append(res.Readings, Reading{
			Source: source, Field: v.field, Quantity: v.quantity, Unit: "ug/m3", Value: float64(v.tens) / 10,
		})
	}
	return res, true, true
}
