package firmware

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/civisens/civisens/firmware-bridge/senml"
)

// Golden files of the message decoders:
// testdata/<format>/<case>/{topic.txt, header.json, payload.json or
// payload.txt, want.json}; topic.txt and header.json are optional.
// go test ./firmware-bridge/internal/firmware -run Golden -update
// rewrites want.json.

// Another test file of the package may declare -update too: register it
// only when nobody did.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

func updatingGoldens() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// messageFormats are the message decoders, by their testdata folder.
var messageFormats = map[string]Decoder{
	"tasmota":         Tasmota(),
	"esphome":         ESPHome(),
	"zigbee2mqtt":     Zigbee2MQTT(),
	"chirpstack":      ChirpStack(),
	"thethingsstack":  TheThingsStack(),
	"sensorcommunity": SensorCommunity(),
	"parking":         Parking(),
}

// received is when every golden message arrives.
var received = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

type msgReading struct {
	Source   string  `json:"source"`
	Field    string  `json:"field"`
	Quantity string  `json:"quantity,omitempty"`
	Unit     string  `json:"unit,omitempty"`
	Value    float64 `json:"value"`
	Time     string  `json:"time,omitempty"`
	Health   bool    `json:"health,omitempty"`
}

type msgWant struct {
	Error    string       `json:"error,omitempty"`
	Readings []msgReading `json:"readings,omitempty"`
	Unknown  []FieldError `json:"unknown,omitempty"`
}

func toMsgWant(res Result, err error) msgWant {
	var w msgWant
	if err != nil {
		w.Error = err.Error()
	}
	for _, r := range res.Readings {
		mr := msgReading{Source: r.Source, Field: r.Field, Quantity: r.Quantity, Unit: r.Unit, Value: r.Value, Health: r.Health}
		if !r.Time.IsZero() {
			mr.Time = r.Time.Format(time.RFC3339Nano)
		}
		w.Readings = append(w.Readings, mr)
	}
	w.Unknown = res.Unknown
	return w
}

// marshalMsgWant writes one reading or field a line.
func marshalMsgWant(w msgWant) []byte {
	var b bytes.Buffer
	b.WriteString("{")
	sep := "\n"
	if w.Error != "" {
		e, _ := json.Marshal(w.Error)
		b.WriteString(sep + `  "error": ` + string(e))
		sep = ",\n"
	}
	list := func(name string, n int, item func(i int) any) {
		if n == 0 {
			return
		}
		b.WriteString(sep + `  "` + name + `": [`)
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteString(",")
			}
			j, _ := json.Marshal(item(i))
			b.WriteString("\n    " + string(j))
		}
		b.WriteString("\n  ]")
		sep = ",\n"
	}
	list("readings", len(w.Readings), func(i int) any { return w.Readings[i] })
	list("unknown", len(w.Unknown), func(i int) any {
		return struct {
			Field  string `json:"field"`
			Reason string `json:"reason"`
		}{w.Unknown[i].Field, w.Unknown[i].Reason}
	})
	b.WriteString("\n}\n")
	return b.Bytes()
}

// readMessage reads a case's message.
func readMessage(t testing.TB, dir string) Message {
	t.Helper()
	m := Message{Received: received}
	if b, err := os.ReadFile(filepath.Join(dir, "topic.txt")); err == nil {
		m.Topic = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile(filepath.Join(dir, "header.json")); err == nil {
		if err := json.Unmarshal(b, &m.Header); err != nil {
			t.Fatalf("%s/header.json: %v", dir, err)
		}
	}
	for _, name := range []string{"payload.json", "payload.txt"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			m.Payload = b
			return m
		}
	}
	t.Fatalf("%s: no payload.json or payload.txt", dir)
	return m
}

func TestMessageGolden(t *testing.T) {
	formats := make([]string, 0, len(messageFormats))
	for f := range messageFormats {
		formats = append(formats, f)
	}
	sort.Strings(formats)
	for _, format := range formats {
		dec := messageFormats[format]
		t.Run(format, func(t *testing.T) {
			dirs, err := filepath.Glob(filepath.Join("testdata", format, "*"))
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, dir := range dirs {
				if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
					continue
				}
				n++
				t.Run(filepath.Base(dir), func(t *testing.T) {
					m := readMessage(t, dir)
					res, err := dec.Decode(m)
					checkMessageResult(t, res, err)
					got := toMsgWant(res, err)
					wantFile := filepath.Join(dir, "want.json")
					if updatingGoldens() {
						if err := os.WriteFile(wantFile, marshalMsgWant(got), 0o644); err != nil {
							t.Fatal(err)
						}
						return
					}
					b, err := os.ReadFile(wantFile)
					if err != nil {
						t.Fatalf("%v (run with -update to write it)", err)
					}
					var want msgWant
					if err := json.Unmarshal(b, &want); err != nil {
						t.Fatalf("%s: %v", wantFile, err)
					}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("%s (-want +got):\n%s", dir, diff)
					}
				})
			}
			if n == 0 {
				t.Fatalf("no case under testdata/%s", format)
			}
		})
	}
}

// messageUnits are the units the message decoders may give: every one
// is a SenML unit the gateway knows ("%" only where declared).
var messageUnits = map[string]bool{
	"Cel": true, "%RH": true, "hPa": true, "ug/m3": true, "ppm": true, "ppb": true, "lx": true, "/": true,
	"W": true, "VA": true, "var": true, "Wh": true, "V": true, "A": true, "Hz": true, "dB": true, "m": true,
	"Ohm": true, "%EL": true, "dBm": true, "%": true,
}

// checkMessageResult checks what every result of a message decoder must
// be: finite values, SenML quantity names and units, a reason for every
// field left out, an error that says something.
func checkMessageResult(t testing.TB, res Result, err error) {
	t.Helper()
	if err != nil {
		if err.Error() == "" {
			t.Errorf("empty error")
		}
		if len(res.Readings) > 0 {
			t.Errorf("error %v with %d readings", err, len(res.Readings))
		}
		return
	}
	for _, r := range res.Readings {
		if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
			t.Errorf("%s: value %v", r.Field, r.Value)
		}
		if r.Field == "" || r.Source == "" {
			t.Errorf("reading without field or source: %+v", r)
		}
		if r.Quantity != "" {
			if !senml.ValidQuantity(r.Quantity) {
				t.Errorf("%s: quantity %q is no SenML quantity name", r.Field, r.Quantity)
			}
			if !messageUnits[r.Unit] {
				t.Errorf("%s: unit %q", r.Field, r.Unit)
			}
		} else {
			listed := false
			for _, u := range res.Unknown {
				listed = listed || u.Field == r.Field
			}
			if !listed {
				t.Errorf("%s: reading without quantity not listed as unknown", r.Field)
			}
		}
	}
	for _, u := range res.Unknown {
		if u.Field == "" || u.Reason == "" {
			t.Errorf("unknown field without name or reason: %+v", u)
		}
	}
}

// The decoders' errors are of a kind callers can test.
func TestMessageErrorKinds(t *testing.T) {
	cases := []struct {
		name string
		dec  Decoder
		m    Message
		want error
	}{
		{"z2m bridge", Zigbee2MQTT(), Message{Topic: "zigbee2mqtt/bridge/state", Payload: []byte(`{"state":"online"}`)}, ErrNotReading},
		{"z2m garbage", Zigbee2MQTT(), Message{Topic: "zigbee2mqtt/x", Payload: []byte(`{`)}, ErrNotFormat},
		{"chirpstack no codec", ChirpStack(), Message{Payload: []byte(`{"deviceInfo":{"devEui":"0102030405060708"},"data":"AQI="}`)}, ErrNoCodec},
		{"tts no codec", TheThingsStack(), Message{Payload: []byte(`{"end_device_ids":{"dev_eui":"0102030405060708"},"uplink_message":{"frm_payload":"AQI="}}`)}, ErrNoCodec},
		{"tasmota result", Tasmota(), Message{Topic: "stat/plug/RESULT", Payload: []byte(`{"POWER":"ON"}`)}, ErrNotReading},
		{"esphome switch", ESPHome(), Message{Topic: "node/switch/relay/state", Payload: []byte(`ON`)}, ErrNotReading},
		{"sensor.community no id", SensorCommunity(), Message{Payload: []byte(`{"sensordatavalues":[]}`)}, ErrNoDevice},
		{"parking no bay", Parking(), Message{Payload: []byte(`{"status":"FREE"}`)}, ErrNoDevice},
		{"too large", Tasmota(), Message{Topic: "tele/x/SENSOR", Payload: bytes.Repeat([]byte(" "), MaxPayload+1)}, ErrTooLarge},
	}
	for _, c := range cases {
		_, err := c.dec.Decode(c.m)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}
