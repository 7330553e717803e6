package senml_test

import (
	"encoding/json"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/civisens/civisens/firmware-bridge/senml"
)

var update = flag.Bool("update", false, "rewrite the want.json golden files of testdata/resolve")

// The golden cases are received on the topic of testSensor at testNow.
const testSensor = "sensor-test-01"

var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// reading is the golden form of a senml.Reading.
type reading struct {
	Sensor   string  `json:"sensor"`
	Quantity string  `json:"quantity"`
	Unit     string  `json:"unit"`
	Value    float64 `json:"value"`
	Time     string  `json:"time"` // RFC 3339, UTC
}

// TestResolveGolden decodes and resolves each testdata/resolve/<case>/payload.json
// and compares the readings with want.json.
func TestResolveGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "resolve", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no golden cases in testdata/resolve")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			payload, err := os.ReadFile(filepath.Join(dir, "payload.json"))
			if err != nil {
				t.Fatal(err)
			}
			p, err := senml.Decode(payload)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			rs, err := p.Resolve(testSensor, testNow)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			got := make([]reading, len(rs))
			for i, r := range rs {
				got[i] = reading{r.Sensor, r.Quantity, r.Unit, r.Value, r.Time.UTC().Format(time.RFC3339Nano)}
			}
			wantFile := filepath.Join(dir, "want.json")
			if *update {
				b, err := json.MarshalIndent(got, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(wantFile, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			b, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			var want []reading
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatalf("%s: %v", wantFile, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("readings mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tooMany := "[" + strings.Repeat(`{"n":"pm10","v":1},`, senml.DefaultMaxRecords) + `{"n":"pm10","v":1}]`
	tooLarge := `[{"n":"pm10","v":1,"u":"` + strings.Repeat("x", senml.DefaultMaxBytes) + `"}]`
	tests := []struct {
		name    string
		limits  senml.Limits
		payload string
		want    error
	}{
		{"too large", senml.Limits{}, tooLarge, senml.ErrTooLarge},
		{"too large for a custom limit", senml.Limits{MaxBytes: 10}, `[{"n":"pm10","v":1}]`, senml.ErrTooLarge},
		{"too many records", senml.Limits{}, tooMany, senml.ErrTooMany},
		{"too many for a custom limit", senml.Limits{MaxRecords: 1}, `[{"n":"a","v":1},{"n":"b","v":2}]`, senml.ErrTooMany},
		{"nothing", senml.Limits{}, ``, senml.ErrSyntax},
		{"only spaces", senml.Limits{}, "  \n", senml.ErrSyntax},
		{"object instead of array", senml.Limits{}, `{"n":"pm10","v":1}`, senml.ErrSyntax},
		{"number instead of array", senml.Limits{}, `42`, senml.ErrSyntax},
		{"array of numbers", senml.Limits{}, `[1,2]`, senml.ErrSyntax},
		{"truncated", senml.Limits{}, `[{"n":"pm10","v":1}`, senml.ErrSyntax},
		{"missing comma", senml.Limits{}, `[{"n":"pm10","v":1} {"n":"no2","v":2}]`, senml.ErrSyntax},
		{"trailing pack", senml.Limits{}, `[{"n":"pm10","v":1}][]`, senml.ErrSyntax},
		{"trailing garbage", senml.Limits{}, `[{"n":"pm10","v":1}]x`, senml.ErrSyntax},
		{"trailing bracket", senml.Limits{}, `[{"n":"pm10","v":1}]]`, senml.ErrSyntax},
		{"trailing comma", senml.Limits{}, `[{"n":"pm10","v":1}],`, senml.ErrSyntax},
		{"unknown field", senml.Limits{}, `[{"n":"pm10","v":1,"value":2}]`, senml.ErrSyntax},
		{"value is a string", senml.Limits{}, `[{"n":"pm10","v":"1"}]`, senml.ErrSyntax},
		{"number out of float64", senml.Limits{}, `[{"n":"pm10","v":1e400}]`, senml.ErrSyntax},
		{"fractional version", senml.Limits{}, `[{"bver":10.5,"n":"pm10","v":1}]`, senml.ErrSyntax},
		{"empty pack", senml.Limits{}, `[]`, senml.ErrEmpty},
		{"empty pack with spaces", senml.Limits{}, ` [ ] `, senml.ErrEmpty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.limits.Decode([]byte(tt.payload))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode = %v, %v; want error %v", p, err, tt.want)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    error
	}{
		{"string value", `[{"n":"status","vs":"ok"}]`, senml.ErrNoValue},
		{"data value", `[{"n":"frame","vd":"AQID"}]`, senml.ErrNoValue},
		{"name without value", `[{"n":"pm10","u":"ug/m3"}]`, senml.ErrNoValue},
		{"only base fields", `[{"bn":"sensor-test-01:","bt":1748779200}]`, senml.ErrEmpty},
		{"null record", `[null]`, senml.ErrEmpty},
		{"overflow of base value", `[{"bv":1e308,"n":"pm10","v":1e308}]`, senml.ErrNonFinite},
		{"overflow of base sum", `[{"bs":1e308,"n":"energy","s":1e308}]`, senml.ErrNonFinite},
		{"upper-case name", `[{"n":"PM10","v":1}]`, senml.ErrBadName},
		{"name with a space", `[{"n":"pm 10","v":1}]`, senml.ErrBadName},
		{"name starting with a digit", `[{"n":"10pm","v":1}]`, senml.ErrBadName},
		{"no name", `[{"v":1}]`, senml.ErrBadName},
		{"base name without record name", `[{"bn":"sensor-test-01:","v":1}]`, senml.ErrBadName},
		{"invalid sensor before the colon", `[{"n":"Air_Test:pm10","v":1}]`, senml.ErrBadName},
		{"two colons", `[{"n":"air:test-01:pm10","v":1}]`, senml.ErrBadName},
		{"sensor mismatch in base name", `[{"bn":"sensor-other-02:","n":"pm10","v":1}]`, senml.ErrSensorMismatch},
		{"sensor mismatch in name", `[{"n":"sensor-other-02:pm10","v":1}]`, senml.ErrSensorMismatch},
		{"mismatch in a later record", `[{"bn":"sensor-test-01:","n":"pm10","v":1},{"bn":"sensor-other-02:","n":"pm10","v":1}]`, senml.ErrSensorMismatch},
		{"time after year 9999", `[{"n":"pm10","v":1,"t":253402300800}]`, senml.ErrBadTime},
		{"base time after year 9999", `[{"bt":3e11,"n":"pm10","v":1}]`, senml.ErrBadTime},
		{"infinite time", `[{"bt":1e308,"n":"pm10","v":1,"t":1e308}]`, senml.ErrBadTime},
		{"relative time too far back", `[{"n":"pm10","v":1,"t":-1e300}]`, senml.ErrBadTime},
		{"relative time 2^28 s back", `[{"n":"pm10","v":1,"t":-268435456}]`, senml.ErrBadTime},
		{"version 11", `[{"bver":11,"n":"pm10","v":1}]`, senml.ErrVersion},
		{"negative version", `[{"bver":-1,"n":"pm10","v":1}]`, senml.ErrVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := senml.Decode([]byte(tt.payload))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			rs, err := p.Resolve(testSensor, testNow)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Resolve = %v, %v; want error %v", rs, err, tt.want)
			}
		})
	}
	t.Run("empty pack", func(t *testing.T) {
		if _, err := senml.Pack(nil).Resolve(testSensor, testNow); !errors.Is(err, senml.ErrEmpty) {
			t.Fatalf("Resolve(nil) error = %v, want %v", err, senml.ErrEmpty)
		}
	})
}

func TestResolveRelativeTimeLimit(t *testing.T) {
	// Just below 2^28 s the time is relative to reception; at 2^28 it is
	// absolute (RFC 8428, section 4.5.3).
	p := senml.Pack{
		{Name: "pm10", Value: senml.Float(1), Time: 1<<28 - 1},
		{Name: "pm10", Value: senml.Float(1), Time: 1 << 28},
	}
	rs, err := p.Resolve(testSensor, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if want := testNow.Add((1<<28 - 1) * time.Second); !rs[0].Time.Equal(want) {
		t.Errorf("time %v, want %v", rs[0].Time, want)
	}
	if want := time.Unix(1<<28, 0); !rs[1].Time.Equal(want) {
		t.Errorf("time %v, want %v", rs[1].Time, want)
	}
}

func TestTopic(t *testing.T) {
	if got, want := senml.Topic("sensor-test-01"), "sensors/sensor-test-01/senml"; got != want {
		t.Errorf("Topic = %q, want %q", got, want)
	}
	id, err := senml.SensorFromTopic("sensors/sensor-test-01/senml")
	if err != nil || id != "sensor-test-01" {
		t.Errorf("SensorFromTopic = %q, %v; want sensor-test-01", id, err)
	}
	for _, topic := range []string{
		"",
		"sensors//senml",
		"sensors/ab/senml",                 // id too short
		"sensors/Air-Test-01/senml",        // upper case
		"sensors/-sensor-test-01/senml",    // starts with a hyphen
		"sensors/air_test_01/senml",        // underscore
		"sensors/sensor-test-01/senml/raw", // extra level
		"sensors/sensor-test-01",
		"sensors/a/b/senml",
		"devices/sensor-test-01/senml",
		"/sensors/sensor-test-01/senml",
		"sensors/+/senml",
		"sensors/" + strings.Repeat("a", 64) + "/senml", // id too long
	} {
		if id, err := senml.SensorFromTopic(topic); !errors.Is(err, senml.ErrBadTopic) {
			t.Errorf("SensorFromTopic(%q) = %q, %v; want %v", topic, id, err, senml.ErrBadTopic)
		}
	}
}

func TestSplitName(t *testing.T) {
	tests := []struct {
		name, sensor, quantity string
	}{
		{"pm10", "", "pm10"},
		{"sensor-test-01:pm2_5", "sensor-test-01", "pm2_5"},
		{"energy-mairie-01:energy", "energy-mairie-01", "energy"},
	}
	for _, tt := range tests {
		s, q, err := senml.SplitName(tt.name)
		if err != nil || s != tt.sensor || q != tt.quantity {
			t.Errorf("SplitName(%q) = %q, %q, %v; want %q, %q", tt.name, s, q, err, tt.sensor, tt.quantity)
		}
	}
}

func TestEncodeRefusesNonFinite(t *testing.T) {
	for _, p := range []senml.Pack{
		{{Name: "pm10", Value: senml.Float(math.NaN())}},
		{{Name: "pm10", Value: senml.Float(math.Inf(1))}},
		{{BaseTime: math.Inf(-1), Name: "pm10", Value: senml.Float(1)}},
		{{BaseValue: math.NaN(), Name: "pm10", Value: senml.Float(1)}},
	} {
		if b, err := senml.Encode(p); !errors.Is(err, senml.ErrNonFinite) {
			t.Errorf("Encode = %s, %v; want %v", b, err, senml.ErrNonFinite)
		}
	}
}

// TestEncodeBridgeProfile checks the bytes of a pack in the form the
// firmware bridge publishes, and that it resolves back to its readings.
func TestEncodeBridgeProfile(t *testing.T) {
	p := senml.Pack{
		{BaseName: "sensor-test-01:", BaseTime: 1748779200.123, Name: "pm10", Unit: "ug/m3", Value: senml.Float(18.4)},
		{Name: "temperature", Unit: "Cel", Value: senml.Float(0)},
	}
	b, err := senml.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"bn":"sensor-test-01:","bt":1748779200.123,"n":"pm10","u":"ug/m3","v":18.4},{"n":"temperature","u":"Cel","v":0}]`
	if string(b) != want {
		t.Errorf("Encode =\n%s\nwant\n%s", b, want)
	}
	back, err := senml.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := back.Resolve("sensor-test-01", testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[1].Value != 0 || rs[1].Unit != "Cel" || rs[0].Time.UnixMilli() != 1748779200123 {
		t.Errorf("resolved %+v", rs)
	}
}
