package validate

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civisens/civisens/firmware-bridge/senml"
	"github.com/civisens/civisens/registry/registryapi"
)

func f(v float64) *float64 { return &v }

var now = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func entry() *registryapi.GatewaySensor {
	return &registryapi.GatewaySensor{
		ID:       "air-hdv-01",
		Category: registryapi.CategoryAir,
		Site:     "hotel-de-ville",
		Quantities: []registryapi.Quantity{
			{Name: "pm10", Unit: "ug/m3", Min: f(0), Max: f(1000)},
			{Name: "temperature", Unit: "Cel", Min: f(-40), Max: f(60)},
			{Name: "humidity", Unit: "%RH"}, // no declared range
			{Name: "pressure", Unit: "hPa", Min: f(800)},
		},
		Status: registryapi.StatusActive,
	}
}

func TestCheck(t *testing.T) {
	reading := func(q, unit string, v float64, at time.Time) senml.Reading {
		return senml.Reading{Sensor: "air-hdv-01", Quantity: q, Unit: unit, Value: v, Time: at}
	}
	rules := Rules{MaxPast: time.Hour, MaxFuture: time.Minute}
	for _, tc := range []struct {
		name  string
		entry *registryapi.GatewaySensor
		r     senml.Reading
		want  error // nil: accepted
	}{
		{"accepted", entry(), reading("pm10", "ug/m3", 12.5, now.Add(-time.Minute)), nil},
		{"range bounds are inclusive (min)", entry(), reading("pm10", "ug/m3", 0, now), nil},
		{"range bounds are inclusive (max)", entry(), reading("pm10", "ug/m3", 1000, now), nil},
		{"no declared range", entry(), reading("humidity", "%RH", 1e6, now), nil},
		{"only a minimum", entry(), reading("pressure", "hPa", 5000, now), nil},
		{"no unit takes the declared one", entry(), reading("temperature", "", 21, now), nil},
		{"oldest accepted", entry(), reading("pm10", "ug/m3", 1, now.Add(-time.Hour)), nil},
		{"newest accepted", entry(), reading("pm10", "ug/m3", 1, now.Add(time.Minute)), nil},

		{"unknown sensor", nil, reading("pm10", "ug/m3", 1, now), ErrUnknownSensor},
		{"entry of another sensor", &registryapi.GatewaySensor{ID: "other-01"}, reading("pm10", "ug/m3", 1, now), ErrUnknownSensor},
		{"undeclared quantity", entry(), reading("no2", "ug/m3", 1, now), ErrUndeclaredQuantity},
		{"unit of another quantity", entry(), reading("temperature", "W", 294, now), ErrUnitMismatch},
		{"unit case matters", entry(), reading("temperature", "cel", 21, now), ErrUnknownUnit},
		{"not a SenML unit", entry(), reading("pm10", "µg/m3", 12, now), ErrUnknownUnit},
		{"percent for a ratio is ambiguous", entry(), reading("humidity", "%", 50, now), ErrUnitMismatch},
		{"converted, then out of range", entry(), reading("temperature", "K", 400, now), ErrOutOfRange},
		{"converted, then below a lone minimum", entry(), reading("pressure", "Pa", 79900, now), ErrOutOfRange},
		{"below range", entry(), reading("temperature", "Cel", -40.001, now), ErrOutOfRange},
		{"above range", entry(), reading("pm10", "ug/m3", 1000.5, now), ErrOutOfRange},
		{"below a lone minimum", entry(), reading("pressure", "hPa", 799, now), ErrOutOfRange},
		{"too old", entry(), reading("pm10", "ug/m3", 1, now.Add(-time.Hour-time.Nanosecond)), ErrTooOld},
		{"in the future", entry(), reading("pm10", "ug/m3", 1, now.Add(time.Minute+time.Nanosecond)), ErrInFuture},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := rules.Check(tc.entry, tc.r, now)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				if got.Entry != tc.entry || got.Value != tc.r.Value || !got.Time.Equal(tc.r.Time) || got.Unit == "" {
					t.Errorf("Check = %+v", got)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Check error = %v, want %v", err, tc.want)
			}
			if got != (Accepted{}) {
				t.Errorf("a refused reading came back: %+v", got)
			}
		})
	}
}

func TestCheckConverts(t *testing.T) {
	e := entry()
	for _, tc := range []struct {
		q, unit string
		v, want float64
		unit2   string
	}{
		{"temperature", "K", 294.15, 21, "Cel"},
		{"pressure", "Pa", 101325, 1013.25, "hPa"},
		{"pm10", "kg/m3", 12.5e-9, 12.5, "ug/m3"},
		{"pm10", "ug/m3", 12.5, 12.5, "ug/m3"}, // the declared unit, untouched
	} {
		got, err := Rules{}.Check(e, senml.Reading{Sensor: "air-hdv-01", Quantity: tc.q, Unit: tc.unit, Value: tc.v, Time: now}, now)
		if err != nil {
			t.Errorf("%g %s: %v", tc.v, tc.unit, err)
			continue
		}
		if got.Value != tc.want || got.Unit != tc.unit2 {
			t.Errorf("%g %s = %v %s, want %v %s", tc.v, tc.unit, got.Value, got.Unit, tc.want, tc.unit2)
		}
	}
}

// TestConversions is the conversion table the README documents: each row
// a reading's unit, the declared unit, a value and what is stored.
func TestConversions(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		v, want  float64
	}{
		{"Pa", "hPa", 101325, 1013.25},
		{"hPa", "Pa", 1013.25, 101325},
		{"kW", "W", 1.5, 1500},
		{"W", "kW", 1500, 1.5},
		{"kWh", "Wh", 1.234, 1234},
		{"Wh", "kWh", 1234, 1.234},
		{"kWh", "J", 1, 3.6e6},
		{"mV", "V", 3300, 3.3},
		{"mA", "A", 250, 0.25},
		{"K", "Cel", 294.15, 21},
		{"K", "Cel", 0, -273.15},
		{"Cel", "K", -40, 233.15},
		{"ppm", "/", 420, 0.00042},
		{"/100", "/", 55, 0.55},
		{"/1000", "/", 5, 0.005},
		{"ppb", "ppm", 1500, 1.5},
		{"kg/m3", "ug/m3", 2.5e-8, 25},
		{"mg/l", "ug/l", 1.2, 1200},
		{"km/h", "m/s", 36, 10},
		{"m/s", "km/h", 10, 36},
		{"mm/h", "m/s", 3.6e6, 1},
		{"min", "s", 1.5, 90},
		{"h", "min", 2, 120},
		{"ms", "s", 250, 0.25},
		{"dBm", "dBW", 30, 0},
		{"varh", "kvarh", 500, 0.5},
		{"VAh", "kVAh", 2000, 2},
		{"Ah", "C", 1, 3600},
		{"g", "kg", 1500, 1.5},
		{"l", "m3", 250, 0.25},
		{"1/min", "1/s", 120, 2},
		{"B/s", "bit/s", 1000, 8000},
		{"KiB", "B", 2, 2048},
		{"cm", "mm", 2.5, 25},
		{"Wh/km", "J/m", 100, 360},
	} {
		got, err := Convert(tc.v, tc.from, tc.to)
		if err != nil || got != tc.want {
			t.Errorf("Convert(%v %s → %s) = %v, %v; want %v", tc.v, tc.from, tc.to, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		from, to string
		want     error
	}{
		{"kPa", "hPa", ErrUnknownUnit}, // not a SenML unit
		{"mW", "W", ErrUnknownUnit},
		{"MWh", "Wh", ErrUnknownUnit},
		{"µg/m3", "ug/m3", ErrUnknownUnit},
		{"°C", "Cel", ErrUnknownUnit},
		{"degC", "Cel", ErrUnknownUnit},
		{"%", "/", ErrUnitMismatch}, // ambiguous
		{"%", "%RH", ErrUnitMismatch},
		{"%RH", "/", ErrUnitMismatch},
		{"W", "Wh", ErrUnitMismatch}, // power is not energy
		{"Cel", "hPa", ErrUnitMismatch},
		{"lx", "cd", ErrUnitMismatch},
		{"Pa", "bar", ErrUnitMismatch}, // declared unit unknown
	} {
		if _, err := Convert(1, tc.from, tc.to); !errors.Is(err, tc.want) {
			t.Errorf("Convert(%s → %s) error = %v, want %v", tc.from, tc.to, err, tc.want)
		}
	}
	if _, err := Convert(1e300, "GB", "B"); !errors.Is(err, senml.ErrNonFinite) {
		t.Errorf("an overflowing conversion: %v", err)
	}
	// Every unit of the table converts to its primary unit and back.
	for _, c := range Conversions() {
		if !KnownUnit(c.Primary) {
			t.Errorf("%s converts to %s, which is not a known unit", c.Unit, c.Primary)
		}
		p, err := Convert(7, c.Unit, c.Primary)
		if err != nil {
			t.Errorf("%s → %s: %v", c.Unit, c.Primary, err)
			continue
		}
		if back, err := Convert(p, c.Primary, c.Unit); err != nil || math.Abs(back-7) > 1e-9 {
			t.Errorf("7 %s → %v %s → %v %s (%v)", c.Unit, p, c.Primary, back, c.Unit, err)
		}
	}
}

// TestReadmeDocumentsConversions checks that the gateway's README lists
// every unit that converts.
func TestReadmeDocumentsConversions(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range Conversions() {
		if !strings.Contains(string(b), "`"+c.Unit+"`") {
			t.Errorf("gateway/README.md does not document the unit %s", c.Unit)
		}
	}
	for _, r := range Reasons() {
		if !strings.Contains(string(b), "`"+r+"`") {
			t.Errorf("gateway/README.md does not document the reason %s", r)
		}
	}
}

func TestDefaultWindow(t *testing.T) {
	var rules Rules // zero value: 7 days back, 5 minutes ahead
	r := senml.Reading{Sensor: "air-hdv-01", Quantity: "pm10", Unit: "ug/m3", Value: 1}
	for _, tc := range []struct {
		at   time.Time
		want error
	}{
		{now.Add(-7*24*time.Hour + time.Second), nil},
		{now.Add(-7*24*time.Hour - time.Second), ErrTooOld},
		{now.Add(5*time.Minute - time.Second), nil},
		{now.Add(5*time.Minute + time.Second), ErrInFuture},
	} {
		r.Time = tc.at
		if _, err := rules.Check(entry(), r, now); !errors.Is(err, tc.want) {
			t.Errorf("reading at now%+v: error %v, want %v", tc.at.Sub(now), err, tc.want)
		}
	}
}

func TestReason(t *testing.T) {
	for err, want := range map[error]string{
		ErrUnknownSensor:   "unknown_sensor",
		ErrOutOfRange:      "out_of_range",
		ErrTooOld:          "too_old",
		senml.ErrSyntax:    "syntax",
		senml.ErrNonFinite: "non_finite",
		fmt.Errorf("record 3: %w: %q", senml.ErrSensorMismatch, "x"): "sensor_mismatch",
		errors.New("something else"):                                 "other",
	} {
		if got := Reason(err); got != want {
			t.Errorf("Reason(%v) = %q, want %q", err, got, want)
		}
	}
	// Every reason name is unique: they are metric labels.
	names := Reasons()
	slices.Sort(names)
	if len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Errorf("duplicate reason names: %v", names)
	}
}
