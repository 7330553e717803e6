package senml_test

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/civisens/civisens/firmware-bridge/senml"
)

// seedPayloads are hand-written seeds shared by the fuzzers, on top of the
// golden payloads of testdata/resolve and the corpus in testdata/fuzz.
var seedPayloads = []string{
	`[{"bn":"sensor-test-01:","bt":1748779200.123,"n":"pm10","u":"ug/m3","v":18.4}]`,
	`[{"n":"occupancy","u":"/","vb":true}]`,
	`[{"bs":1e7,"n":"energy","u":"Wh","s":-0.5,"t":-60}]`,
	`[{"bv":1e308,"n":"pm10","v":1e308}]`,
	`[{"n":"status","vs":"ok"},{"n":"raw","vd":"AQID"}]`,
	`[{"BN":"sensor-test-01:","N":"pm10","V":1}]`,
	`[{"n":"pm10","v":1},{"n":"pm10","v":2,"ut":30,"bver":10}]`,
	`[null]`,
	`[]`,
	`[{"n":"pm10","v":1}]x`,
	`[{"n":"a\u00e9<b>","v":1}]`,
	`{"n":"pm10"}`,
}

func addSeeds(f *testing.F) {
	for _, s := range seedPayloads {
		f.Add([]byte(s))
	}
	golden, err := filepath.Glob(filepath.Join("testdata", "resolve", "*", "payload.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range golden {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzDecode checks that Decode never panics, and that whatever it accepts
// re-encodes into a pack that decodes equal and encodes to the same bytes.
func FuzzDecode(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := senml.Decode(b)
		if err != nil {
			if p != nil {
				t.Fatalf("Decode returned a pack with error %v", err)
			}
			return
		}
		if len(p) == 0 || len(p) > senml.DefaultMaxRecords {
			t.Fatalf("Decode accepted %d records", len(p))
		}
		enc, err := senml.Encode(p)
		if err != nil {
			t.Fatalf("Encode of a decoded pack: %v", err)
		}
		// Re-encoding may grow a payload (1e20 becomes 21 digits, "<"
		// becomes \u003c), so the second decode is not held to the limits.
		p2, err := senml.Limits{MaxBytes: 8*len(b) + 64}.Decode(enc)
		if err != nil {
			t.Fatalf("decode of the re-encoding %s: %v", enc, err)
		}
		if diff := cmp.Diff(p, p2); diff != "" {
			t.Fatalf("re-encoding decodes differently (-first +second):\n%s", diff)
		}
		enc2, err := senml.Encode(p2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding is not stable:\n%s\n%s", enc, enc2)
		}
	})
}

// FuzzResolve checks that Resolve never panics, fails only with the
// package's errors, and that the readings it returns fit the civisens
// profile: one valid quantity of the topic's sensor, a finite value, a time.
func FuzzResolve(f *testing.F) {
	addSeeds(f)
	kinds := []error{
		senml.ErrEmpty, senml.ErrNoValue, senml.ErrNonFinite, senml.ErrBadName,
		senml.ErrSensorMismatch, senml.ErrBadTime, senml.ErrVersion,
	}
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := senml.Decode(b)
		if err != nil {
			return
		}
		rs, err := p.Resolve(testSensor, now)
		if err != nil {
			for _, k := range kinds {
				if errors.Is(err, k) {
					return
				}
			}
			t.Fatalf("Resolve failed with an error of no known kind: %v", err)
		}
		if len(rs) == 0 || len(rs) > len(p) {
			t.Fatalf("%d readings from %d records", len(rs), len(p))
		}
		for _, r := range rs {
			if r.Sensor != testSensor || !senml.ValidQuantity(r.Quantity) || r.Time.IsZero() || r.Time.Year() > 9999 {
				t.Fatalf("reading out of the profile: %+v", r)
			}
			if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
				t.Fatalf("non-finite value: %+v", r)
			}
		}
		// A resolved pack re-encodes and resolves to the same readings.
		enc, err := senml.Encode(p)
		if err != nil {
			t.Fatal(err)
		}
		p2, err := senml.Limits{MaxBytes: 8*len(b) + 64}.Decode(enc)
		if err != nil {
			t.Fatal(err)
		}
		rs2, err := p2.Resolve(testSensor, now)
		if err != nil {
			t.Fatalf("re-encoded pack does not resolve: %v", err)
		}
		if diff := cmp.Diff(rs, rs2); diff != "" {
			t.Fatalf("re-encoded pack resolves differently (-first +second):\n%s", diff)
		}
	})
}
