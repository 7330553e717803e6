package firmware

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// pmsFrame builds a PMS5003 frame of 13 data words (index 0 = data 1).
func pmsFrame(w [13]uint16) []byte {
	f := make([]byte, pms5003Size)
	f[0], f[1] = 0x42, 0x4D
	binary.BigEndian.PutUint16(f[2:], pms5003Length)
	for i, v := range w {
		binary.BigEndian.PutUint16(f[4+2*i:], v)
	}
	binary.BigEndian.PutUint16(f[30:], pms5003Checksum(f))
	return f
}

// pmsAir is a frame with consistent CF=1 and atmospheric values and
// counts, as an outdoor PMS5003 sends them (version 0x97 in data 13).
func pmsAir(pm1, pm25, pm10 uint16, n03 uint16) []byte {
	cf := func(v uint16) uint16 { return v * 3 / 2 } // CF=1 reads higher at these levels
	return pmsFrame([13]uint16{
		cf(pm1), cf(pm25), cf(pm10), pm1, pm25, pm10,
		n03, n03 / 3, n03 / 16, n03 / 150, n03 / 600, n03 / 1500, 0x9700,
	})
}

// A frame worked out by hand: the check word is the sum of bytes 0..29.
func TestPMS5003Checksum(t *testing.T) {
	f := pmsFrame([13]uint16{5, 8, 8, 5, 8, 8, 0x036F, 0x010E, 0x002C, 0x0004, 0x0002, 0x0002, 0x9700})
	// 66+77+28 + 5+8+8+5+8+8 + 3+111 + 1+14 + 44 + 4 + 2 + 2 + 151 = 545
	if got := pms5003Checksum(f); got != 545 {
		t.Errorf("checksum 0x%04X, want 0x0221", got)
	}
	got := decodeAll(t, PMS5003(), f, false)
	if len(got) != 1 || len(got[0].Readings) != 9 || got[0].Readings[1].Quantity != "pm2_5" || got[0].Readings[1].Value != 8 || got[0].Readings[3].Value != 0x036F {
		t.Errorf("got %+v", got)
	}
}

func pms5003Streams() map[string][]byte {
	var levels []byte
	for _, l := range [][4]uint16{{0, 0, 0, 90}, {3, 5, 6, 912}, {9, 14, 18, 2688}, {22, 38, 51, 7120}, {61, 103, 140, 17630}, {310, 512, 690, 65535}} {
		levels = append(levels, pmsAir(l[0], l[1], l[2], l[3])...)
	}
	f1, f2 := pmsAir(7, 11, 13, 2130), pmsAir(8, 12, 15, 2210)
	bad := append([]byte(nil), f2...)
	bad[13] ^= 0x10
	// Reply to "change mode" (42 4D E1 00 01): 42 4D 00 04 E1 01 01 75.
	reply := []byte{0x42, 0x4D, 0x00, 0x04, 0xE1, 0x01, 0x01, 0x75}
	// A PMS3003 frame: length 20.
	pms3003 := append([]byte{0x42, 0x4D, 0x00, 0x14}, make([]byte, 20)...)
	return map[string][]byte{
		"empty":        {},
		"levels":       levels,
		"noise":        cat(f1[10:], []byte{0x42, 0x42, 0x4D, 0x00, 0x42}, f1, []byte{0x4D, 0x42, 0x4D, 0x00, 0x1C, 0xFF}, f2, []byte{0x42}),
		"bad_checksum": cat(f1, bad, f2),
		"cut_frame":    cat(f1[:17], f2, f1[:31], f1),
		"other_frames": cat(reply, f1, pms3003, f2),
	}
}

func TestPMS5003Golden(t *testing.T) {
	runGolden(t, "pms5003", pms5003Streams(), func(string) StreamDecoder { return PMS5003() })
}

// Whatever decodes re-encodes to a frame that decodes equal.
func FuzzPMS5003(f *testing.F) {
	for _, s := range pms5003Streams() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		whole := decodeAll(t, PMS5003(), data, false)
		checkResults(t, whole)
		if !bytes.Equal(mustJSON(t, toGolden(whole)), mustJSON(t, toGolden(decodeAll(t, PMS5003(), data, true)))) {
			t.Fatal("byte-by-byte decoding differs")
		}
		for _, r := range whole {
			if len(r.Readings) != len(pms5003Words) {
				continue
			}
			var w [13]uint16
			for i, x := range r.Readings {
				w[pms5003Words[i].word-1] = uint16(x.Value)
			}
			again := decodeAll(t, PMS5003(), pmsFrame(w), false)
			if len(again) != 1 || !bytes.Equal(mustJSON(t, toGolden(again)), mustJSON(t, toGolden([]Result{r}))) {
				t.Fatalf("re-encoded %+v decodes as %+v", r, again)
			}
		}
	})
}
