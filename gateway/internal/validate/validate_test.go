package validate

import (
	"errors"
	"fmt"
	"slices"
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
		{"unit mismatch", entry(), reading("temperature", "K", 294, now), ErrUnitMismatch},
		{"unit case matters", entry(), reading("temperature", "cel", 21, now), ErrUnitMismatch},
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
