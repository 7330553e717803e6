package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/civisens/civisens/firmware-bridge/internal/firmware"
)

// testdataDir is where each format's golden cases live.
var testdataDir = map[string]string{
	"tasmota": "tasmota", "esphome": "esphome", "zigbee2mqtt": "zigbee2mqtt", "chirpstack": "chirpstack",
	"ttn": "thethingsstack", "sensor-community": "sensorcommunity", "parking-events": "parking",
	"tic": "tic", "sds011": "sds011", "pms5003": "pms5003",
}

// `firmware-bridge decode` works for every format: on each golden case of
// the decoders, it succeeds with the case's readings, or fails as the case
// says, with a non-zero exit.
func TestDecodeEveryFormat(t *testing.T) {
	for _, f := range firmware.Formats() {
		dir, ok := testdataDir[f.Name]
		if !ok {
			t.Errorf("format %s has no golden cases listed here", f.Name)
			continue
		}
		cases, _ := filepath.Glob(filepath.Join("internal", "firmware", "testdata", dir, "*", "want.json"))
		if len(cases) < 3 {
			t.Errorf("format %s: %d golden cases, want several", f.Name, len(cases))
		}
		for _, want := range cases {
			c := filepath.Dir(want)
			t.Run(f.Name+"/"+filepath.Base(c), func(t *testing.T) {
				args := []string{"decode", "-format", f.Name, "-time", "2026-11-27T10:00:00Z"}
				if b, err := os.ReadFile(filepath.Join(c, "topic.txt")); err == nil {
					args = append(args, "-topic", strings.TrimSpace(string(b)))
				}
				if b, err := os.ReadFile(filepath.Join(c, "header.json")); err == nil {
					var h map[string]string
					if err := json.Unmarshal(b, &h); err != nil {
						t.Fatal(err)
					}
					for k, v := range h {
						args = append(args, "-header", k+": "+v)
					}
				}
				var in []byte
				for _, name := range []string{"payload.json", "payload.txt", "stream.bin"} {
					if b, err := os.ReadFile(filepath.Join(c, name)); err == nil {
						in = b
					}
				}
				wantData, _ := os.ReadFile(want)
				expected := countWant(t, wantData)
				var out bytes.Buffer
				err := runWithInput(context.Background(), args, func(string) string { return "" }, bytes.NewReader(in), &out, &out)
				if expected.err || expected.readings == 0 {
					if err == nil {
						t.Errorf("decode succeeded where the case expects an error or no reading:\n%s", out.String())
					}
					return
				}
				if err != nil {
					t.Fatalf("decode: %v\n%s", err, out.String())
				}
				var got decodeOutput
				if err := json.Unmarshal(out.Bytes(), &got); err != nil {
					t.Fatalf("output is not JSON: %v\n%s", err, out.String())
				}
				if len(got.Readings) != expected.readings {
					t.Errorf("%d readings, the golden case has %d", len(got.Readings), expected.readings)
				}
				if expected.inferred > 0 && len(got.Packs) == 0 {
					t.Errorf("no SenML pack for %d inferred readings:\n%s", expected.inferred, out.String())
				}
			})
		}
	}
}

type wantCount struct {
	err                bool
	readings, inferred int
}

// countWant reads a golden want.json: {"error": …}, a Result, or (streams)
// a list of Results.
func countWant(t *testing.T, data []byte) wantCount {
	t.Helper()
	type result struct {
		Error    string `json:"error"`
		Readings []struct {
			Quantity string `json:"quantity"`
		} `json:"readings"`
	}
	var rs []result
	if strings.HasPrefix(strings.TrimSpace(string(data)), "[") {
		if err := json.Unmarshal(data, &rs); err != nil {
			t.Fatal(err)
		}
	} else {
		var r result
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatal(err)
		}
		rs = []result{r}
	}
	var w wantCount
	for _, r := range rs {
		w.err = w.err || r.Error != ""
		w.readings += len(r.Readings)
		for _, rd := range r.Readings {
			if rd.Quantity != "" {
				w.inferred++
			}
		}
	}
	return w
}
