package registryapi

import (
	"errors"
	"testing"
	"time"
)

func TestParseRetention(t *testing.T) {
	for _, c := range []struct {
		in, canon, rp string
		hours         int64
	}{
		{"P1Y", "P1Y", "civisens_p1y", 8760},
		{"P5Y", "P5Y", "civisens_p5y", 5 * 8760},
		{"P10Y", "P10Y", "civisens_p10y", 87600},
		{"P100Y", "P100Y", "civisens_p100y", 876000}, // beyond a 32-bit int of seconds
		{"P30D", "P30D", "civisens_p30d", 720},
		{"P01Y", "P1Y", "civisens_p1y", 8760},
		{"p18m", "P18M", "civisens_p18m", 18 * 720},
		{"P2W", "P2W", "civisens_p2w", 336},
		{"P1DT12H", "P1DT12H", "civisens_p1dt12h", 36},
		{"PT1H", "PT1H", "civisens_pt1h", 1},
		{"PT90M", "", "", 0},
		{"PT120M", "PT120M", "civisens_pt120m", 2},
	} {
		r, err := ParseRetention(c.in)
		if c.canon == "" {
			if !errors.Is(err, ErrRetention) {
				t.Errorf("ParseRetention(%q) = %v, %v; want ErrRetention", c.in, r, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseRetention(%q): %v", c.in, err)
			continue
		}
		if r.String() != c.canon || r.RetentionPolicy() != c.rp || r.Hours() != c.hours || r.Duration() != time.Duration(c.hours)*time.Hour {
			t.Errorf("ParseRetention(%q) = %s %s %dh, want %s %s %dh", c.in, r, r.RetentionPolicy(), r.Hours(), c.canon, c.rp, c.hours)
		}
	}
	for _, in := range []string{"", "P", "PT", "1Y", "P1", "PY", "P-1Y", "P1.5Y", "P1Y1Y", "P1D1Y", "PT30M", "P0D", "P1H", "P201Y", "P1234567D", "P1YT", "P73000D1H", "P9223372036854775807Y", "PT9223372036854775807S"} {
		if r, err := ParseRetention(in); !errors.Is(err, ErrRetention) {
			t.Errorf("ParseRetention(%q) = %v, %v; want ErrRetention", in, r, err)
		}
	}
}

func TestRetentionDestination(t *testing.T) {
	for _, c := range []struct {
		v1        bool
		base, ret string
		want      string
	}{
		{true, "civisens", "P1Y", "civisens/civisens_p1y"},
		{true, "civisens/autogen", "P5Y", "civisens/civisens_p5y"},
		{false, "civisens", "P30D", "civisens_p30d"},
	} {
		got, err := RetentionDestination(c.v1, c.base, c.ret)
		if err != nil || got != c.want {
			t.Errorf("RetentionDestination(%v, %q, %q) = %q, %v; want %q", c.v1, c.base, c.ret, got, err, c.want)
		}
	}
	if _, err := RetentionDestination(true, "civisens", "forever"); err == nil {
		t.Error("RetentionDestination accepted forever")
	}
}
