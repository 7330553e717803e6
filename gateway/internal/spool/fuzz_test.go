package spool

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/civisens/civisens/gateway/internal/validate"
)

// FuzzReadRecord reads the records at the start of arbitrary bytes, as the
// spool reads a damaged segment. The properties: no panic, no allocation
// beyond the input's size, and whatever decodes re-encodes to a record
// that decodes equal. The corpus is in testdata/fuzz/FuzzReadRecord.
func FuzzReadRecord(f *testing.F) {
	one, _ := EncodeRecord(batchOf(0, 7), t0)
	two, _ := EncodeRecord(batchOf(7, 2), t0.Add(time.Second))
	f.Add(one)
	f.Add(append(append([]byte(nil), one...), two...))
	f.Add(one[:len(one)-3])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		// The bytes as a payload too: a mutated frame rarely passes its
		// checksum, and the decoder must hold against any payload.
		if len(data) > frameHeader {
			checkPayload(t, data[frameHeader:])
		}
		for len(data) > 0 {
			p, n, err := ReadRecord(data)
			if err != nil {
				return
			}
			data = data[n:]
			checkPayload(t, p)
		}
	})
}

// checkPayload decodes p and, if it decodes, checks that it re-encodes to
// a record that decodes equal, and that the encoding is stable.
func checkPayload(t *testing.T, p []byte) {
	t.Helper()
	got, appended, err := decodePayload(nil, p)
	if err != nil {
		return
	}
	enc, err := newEncoder().appendPayload(make([]byte, frameHeader), got, appended)
	if err != nil {
		t.Fatalf("decoded readings do not encode: %v", err)
	}
	frame(enc)
	again, m, err := DecodeRecord(enc)
	if err != nil || m != len(enc) {
		t.Fatalf("re-encoded record does not decode: %v", err)
	}
	if diff := cmp.Diff(bitsOf(got), bitsOf(again)); diff != "" {
		t.Fatalf("re-encoded record decodes differently (-first +again):\n%s", diff)
	}
	enc2, _ := newEncoder().appendPayload(make([]byte, frameHeader), again, appended)
	frame(enc2)
	if !bytes.Equal(enc, enc2) {
		t.Fatal("encoding is not stable")
	}
}

// bitsOf is flatten with values compared bit for bit (NaN included).
func bitsOf(rs []validate.Accepted) []flat {
	out := flatten(rs)
	for i := range out {
		out[i].Value = float64(math.Float64bits(out[i].Value)) // comparable, NaN-free
	}
	return out
}
