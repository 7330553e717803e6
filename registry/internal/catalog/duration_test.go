package catalog

import (
	"errors"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want Duration
	}{
		{"P1Y", Duration{Years: 1}},
		{"P5Y", Duration{Years: 5}},
		{"P18M", Duration{Months: 18}},
		{"P2W", Duration{Weeks: 2}},
		{"P30D", Duration{Days: 30}},
		{"P1Y6M", Duration{Years: 1, Months: 6}},
		{"P1DT12H", Duration{Days: 1, Hours: 12}},
		{"PT30M", Duration{Minutes: 30}},
		{"PT1M", Duration{Minutes: 1}},
		{"P1M", Duration{Months: 1}},
		{"P1Y2M3W4DT5H6M7S", Duration{1, 2, 3, 4, 5, 6, 7}},
		{"P0D", Duration{}},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if err != nil {
			t.Errorf("ParseDuration(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseDuration(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseDurationRejects(t *testing.T) {
	for _, in := range []string{
		"", "P", "PT", "1Y", "p1y", "P1", "PY", "P1YT", "P1.5Y", "P-1Y", "-P1Y",
		"P1M1Y", "P1Y1Y", "PT1H1H", "P1H", "PT1D", "P1Y ", " P1Y", "P1YT1H2D",
		"P99999999999999999999Y", "PT1H30", "P1YxT1H",
	} {
		if d, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %+v, want an error", in, d)
		} else if !errors.Is(err, ErrDuration) {
			t.Errorf("ParseDuration(%q): %v is not an ErrDuration", in, err)
		}
	}
}

func TestDurationString(t *testing.T) {
	for _, in := range []string{"P1Y", "P18M", "P2W", "P1DT12H", "PT30M", "P1Y2M3W4DT5H6M7S", "PT0S"} {
		d, err := ParseDuration(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.String(); got != in {
			t.Errorf("ParseDuration(%q).String() = %q", in, got)
		}
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"P1Y", "P1DT12H", "PT30M", "P1Y2M3W4DT5H6M7S", "PT"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		// Whatever parses re-parses equal from its canonical form.
		again, err := ParseDuration(d.String())
		if err != nil || again != d {
			t.Fatalf("%q → %+v → %q → %+v, %v", s, d, d.String(), again, err)
		}
	})
}

func TestDurationArithmetic(t *testing.T) {
	start := time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC)
	d := Duration{Years: 1, Days: 1, Hours: 2}
	if got, want := d.AddTo(start), time.Date(2025, 2, 1, 2, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("AddTo = %v, want %v", got, want)
	}
	if got, want := (Duration{Years: 1, Months: 1, Weeks: 1, Days: 1}).Approx(), (365+30+7+1)*24*time.Hour; got != want {
		t.Errorf("Approx = %v, want %v", got, want)
	}
}
