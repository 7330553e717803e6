package catalog

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is an ISO 8601 duration in its PnYnMnWnDTnHnMnS form, as register
// entries write their retention ("P1Y", "P18M", "P30D", "PT12H").
//
// Components are whole numbers: a retention has no use for fractions, and
// calendar components (years, months) keep their meaning instead of being
// turned into a fixed number of seconds.
type Duration struct {
	Years, Months, Weeks, Days, Hours, Minutes, Seconds int
}

// ErrDuration is the kind of every error of ParseDuration.
var ErrDuration = errors.New("not an ISO 8601 duration")

// ParseDuration parses an ISO 8601 duration such as "P1Y", "P1Y6M",
// "P2W", "P1DT12H" or "PT30M". It refuses an empty duration ("P", "PT"),
// signs, fractions, components out of order or repeated, and a T without a
// time component.
func ParseDuration(s string) (Duration, error) {
	bad := func(why string) (Duration, error) {
		return Duration{}, fmt.Errorf("%q: %w: %s", s, ErrDuration, why)
	}
	rest, ok := strings.CutPrefix(s, "P")
	if !ok {
		return bad("it must start with P")
	}
	if rest == "" {
		return bad("it has no component")
	}
	var d Duration
	date, clock, hasT := strings.Cut(rest, "T")
	if hasT && clock == "" {
		return bad("T must be followed by hours, minutes or seconds")
	}
	fields := []struct {
		part   string
		order  string
		target []*int
	}{
		{date, "YMWD", []*int{&d.Years, &d.Months, &d.Weeks, &d.Days}},
		{clock, "HMS", []*int{&d.Hours, &d.Minutes, &d.Seconds}},
	}
	for _, f := range fields {
		next := 0 // index in f.order of the next allowed designator
		part := f.part
		for part != "" {
			i := strings.IndexFunc(part, func(r rune) bool { return r < '0' || r > '9' })
			if i < 0 {
				return bad("a number lacks its designator")
			}
			if i == 0 {
				return bad(fmt.Sprintf("%q is not a number", part[:1]))
			}
			n, err := strconv.Atoi(part[:i])
			if err != nil {
				return bad(err.Error())
			}
			k := strings.IndexByte(f.order[next:], part[i])
			if k < 0 {
				return bad(fmt.Sprintf("designator %q is unknown, repeated or out of order", part[i:i+1]))
			}
			*f.target[next+k] = n
			next += k + 1
			part = part[i+1:]
		}
	}
	return d, nil
}

// IsZero reports whether d lasts no time at all.
func (d Duration) IsZero() bool { return d == Duration{} }

// String formats d in ISO 8601, the way ParseDuration reads it; the zero
// duration is "PT0S".
func (d Duration) String() string {
	if d.IsZero() {
		return "PT0S"
	}
	var b strings.Builder
	b.WriteByte('P')
	put := func(n int, unit byte) {
		if n != 0 {
			b.WriteString(strconv.Itoa(n))
			b.WriteByte(unit)
		}
	}
	put(d.Years, 'Y')
	put(d.Months, 'M')
	put(d.Weeks, 'W')
	put(d.Days, 'D')
	if d.Hours != 0 || d.Minutes != 0 || d.Seconds != 0 {
		b.WriteByte('T')
		put(d.Hours, 'H')
		put(d.Minutes, 'M')
		put(d.Seconds, 'S')
	}
	return b.String()
}

// AddTo returns t moved forward by d, calendar components first (as
// time.AddDate does), then the clock components.
func (d Duration) AddTo(t time.Time) time.Time {
	t = t.AddDate(d.Years, d.Months, 7*d.Weeks+d.Days)
	return t.Add(time.Duration(d.Hours)*time.Hour +
		time.Duration(d.Minutes)*time.Minute +
		time.Duration(d.Seconds)*time.Second)
}

// Approx returns d as a time.Duration with the usual approximations of a
// year as 365 days and a month as 30 days, e.g. for an InfluxDB retention
// policy, which counts in hours.
func (d Duration) Approx() time.Duration {
	days := 365*d.Years + 30*d.Months + 7*d.Weeks + d.Days
	return time.Duration(days)*24*time.Hour +
		time.Duration(d.Hours)*time.Hour +
		time.Duration(d.Minutes)*time.Minute +
		time.Duration(d.Seconds)*time.Second
}
