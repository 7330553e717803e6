package firmware

import (
	"bytes"
	"math"
	"testing"
)

// The worked example of the SDS011 control protocol (V1.3): PM2.5 123.6,
// PM10 261.8, device A160.
var sds011Example = []byte{0xAA, 0xC0, 0xD4, 0x04, 0x3A, 0x0A, 0xA1, 0x60, 0x1D, 0xAB}

func TestSDS011Checksum(t *testing.T) {
	if got := sds011Checksum(sds011Example); got != 0x1D {
		t.Errorf("checksum 0x%02X, want 0x1D", got)
	}
	if got := sds011Frame1(123.6, 261.8, 0xA160); !bytes.Equal(got, sds011Example) {
		t.Errorf("generator % X, want % X", got, sds011Example)
	}
	got := decodeAll(t, SDS011(), sds011Example, false)
	want := []Reading{
		{Source: "a160", Field: "PM2.5", Quantity: "pm2_5", Unit: "ug/m3", Value: 123.6},
		{Source: "a160", Field: "PM10", Quantity: "pm10", Unit: "ug/m3", Value: 261.8},
	}
	if len(got) != 1 || len(got[0].Readings) != 2 || got[0].Readings[0] != want[0] || got[0].Readings[1] != want[1] {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// sds011Frame1 builds a measurement frame.
func sds011Frame1(pm25, pm10 float64, id uint16) []byte {
	return sds011Raw(uint16(math.Round(pm25*10)), uint16(math.Round(pm10*10)), id)
}

func sds011Raw(pm25, pm10, id uint16) []byte {
	f := []byte{0xAA, 0xC0, byte(pm25), byte(pm25 >> 8), byte(pm10), byte(pm10 >> 8), byte(id >> 8), byte(id), 0, 0xAB}
	f[8] = sds011Checksum(f)
	return f
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func sds011Streams() map[string][]byte {
	const id = 0x5B2E
	var levels []byte
	for _, pm := range [][2]float64{{0, 0}, {0.8, 1.3}, {3.2, 5.9}, {12.5, 18.1}, {35.4, 52.0}, {55.1, 88.7}, {250.0, 412.3}, {999.9, 999.9}} {
		levels = append(levels, sds011Frame1(pm[0], pm[1], id)...)
	}
	f1, f2 := sds011Frame1(8.4, 14.2, id), sds011Frame1(8.6, 14.9, id)
	bad := append([]byte(nil), f2...)
	bad[2]++ // a bit flipped on the line
	// Reply to "set working period" (AA B4 08 …): AA C5 08 01 01 00 5B 2E 93 AB.
	reply := []byte{0xAA, 0xC5, 0x08, 0x01, 0x01, 0x00, 0x5B, 0x2E, 0, 0xAB}
	reply[8] = sds011Checksum(reply)
	return map[string][]byte{
		"empty":        {},
		"levels":       levels,
		"example":      sds011Example,
		"noise":        cat(f1[4:], []byte{0xAA, 0xAA, 0x00, 0xAB, 0xC0, 0x13}, f1, []byte{0xAA, 0xC0, 0xAA, 0xC0, 0xFF}, f2, []byte{0xAA}),
		"bad_checksum": cat(f1, bad, f2),
		"cut_frame":    cat(f1[:6], f2, f1[:9], f1),
		"reply":        cat(reply, f1, reply[:9], f2),
		// 1200.0 µg/m³ is beyond the datasheet's range.
		"out_of_range": cat(sds011Raw(12000, 13000, id), sds011Raw(400, 12000, id)),
	}
}

func TestSDS011Golden(t *testing.T) {
	runGolden(t, "sds011", sds011Streams(), func(string) StreamDecoder { return SDS011() })
}

// Whatever decodes re-encodes to a frame that decodes equal.
func FuzzSDS011(f *testing.F) {
	for _, s := range sds011Streams() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		whole := decodeAll(t, SDS011(), data, false)
		checkResults(t, whole)
		if !bytes.Equal(mustJSON(t, toGolden(whole)), mustJSON(t, toGolden(decodeAll(t, SDS011(), data, true)))) {
			t.Fatal("byte-by-byte decoding differs")
		}
		if len(whole) > len(data)/sds011Size {
			t.Fatalf("%d results from %d bytes", len(whole), len(data))
		}
		for _, r := range whole {
			if len(r.Readings) != 2 {
				continue
			}
			var id uint16
			for i := 0; i < 4; i++ {
				id = id<<4 | uint16(hexDigit(r.Readings[0].Source[i]))
			}
			again := decodeAll(t, SDS011(), sds011Frame1(r.Readings[0].Value, r.Readings[1].Value, id), false)
			if len(again) != 1 || !bytes.Equal(mustJSON(t, toGolden(again)), mustJSON(t, toGolden([]Result{r}))) {
				t.Fatalf("re-encoded %+v decodes as %+v", r, again)
			}
		}
	})
}

func hexDigit(c byte) byte {
	if c >= 'a' {
		return c - 'a' + 10
	}
	return c - '0'
}
