package registryapi

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Retention is a register entry's retention, an ISO 8601 duration in its
// PnYnMnWnDTnHnMnS form ("P1Y", "P18M", "P30D", "PT12H"), with whole
// components.
//
// # Where readings are stored (the naming rule)
//
// The gateway writes a sensor's readings into the InfluxDB retention
// policy (1.x) or bucket (2.x) named after its entry's retention, and the
// registry reads them from there:
//
//	1.x  database "civisens", retention policy "civisens_" + suffix:
//	     P1Y → civisens/civisens_p1y, P30D → civisens/civisens_p30d
//	2.x  bucket + "_" + suffix: bucket "civisens", P5Y → civisens_p5y
//
// The suffix is the canonical form of the duration in lower case (zero
// components left out, numbers without leading zeros): "P01Y" and "P1Y"
// name the same policy.
//
// InfluxDB keeps data for a fixed duration, so calendar components are
// fixed: a year (Y) is 365 days, a month (M) 30 days, a week (W) 7 days, a
// day 24 hours. P1Y is 8760h, P10Y 87600h. InfluxDB takes no retention
// shorter than one hour, and the rule accepts only whole hours.
type Retention struct {
	years, months, weeks, days, hours, minutes, seconds int
}

// ErrRetention is the kind of every error of ParseRetention.
var ErrRetention = errors.New("not a retention InfluxDB can enforce")

// RetentionPolicyPrefix starts the name of every 1.x retention policy the
// gateway writes to.
const RetentionPolicyPrefix = "civisens_"

// ParseRetention parses an ISO 8601 duration, refusing what InfluxDB
// cannot enforce: an empty or zero duration, signs, fractions, components
// out of order or repeated, a duration shorter than one hour or not a whole
// number of hours, or one beyond 200 years.
func ParseRetention(s string) (Retention, error) {
	bad := func(why string) (Retention, error) {
		return Retention{}, fmt.Errorf("retention %q: %w: %s", s, ErrRetention, why)
	}
	rest, ok := strings.CutPrefix(strings.ToUpper(s), "P")
	if !ok {
		return bad("an ISO 8601 duration starts with P")
	}
	if rest == "" {
		return bad("it has no component")
	}
	var r Retention
	date, clock, hasT := strings.Cut(rest, "T")
	if hasT && clock == "" {
		return bad("T must be followed by hours, minutes or seconds")
	}
	for _, f := range []struct {
		part   string
		order  string
		target []*int
	}{
		{date, "YMWD", []*int{&r.years, &r.months, &r.weeks, &r.days}},
		{clock, "HMS", []*int{&r.hours, &r.minutes, &r.seconds}},
	} {
		next, part := 0, f.part
		for part != "" {
			i := strings.IndexFunc(part, func(c rune) bool { return c < '0' || c > '9' })
			if i < 0 {
				return bad("a number lacks its designator")
			}
			if i == 0 {
				return bad(fmt.Sprintf("%q is not a whole number", part[:1]))
			}
			if i > 6 {
				return bad("a number is too large")
			}
			n, _ := strconv.Atoi(part[:i])
			k := strings.IndexByte(f.order[next:], part[i])
			if k < 0 {
				return bad(fmt.Sprintf("designator %q is unknown, repeated or out of order", part[i:i+1]))
			}
			*f.target[next+k] = n
			next += k + 1
			part = part[i+1:]
		}
	}
	secs, ok := r.secs()
	switch {
	case !ok:
		return bad("longer than 200 years")
	case secs < 3600:
		return bad("InfluxDB keeps data at least one hour")
	case secs%3600 != 0:
		return bad("not a whole number of hours")
	}
	return r, nil
}

// maxRetentionSeconds is 200 years of 365 days.
const maxRetentionSeconds int64 = 200 * 365 * 24 * 3600

// secs is r in seconds, in 64 bits on every platform (a 32-bit int
// overflows past 68 years); ok is false beyond maxRetentionSeconds.
func (r Retention) secs() (total int64, ok bool) {
	for _, c := range [...]struct {
		n    int
		unit int64
	}{
		{r.years, 365 * 86400}, {r.months, 30 * 86400}, {r.weeks, 7 * 86400},
		{r.days, 86400}, {r.hours, 3600}, {r.minutes, 60}, {r.seconds, 1},
	} {
		n := int64(c.n)
		if n < 0 || n > maxRetentionSeconds/c.unit {
			return 0, false
		}
		total += n * c.unit
		if total > maxRetentionSeconds {
			return 0, false
		}
	}
	return total, true
}

// Duration is r as a fixed duration: Y = 365 days, M = 30 days, W = 7 days.
func (r Retention) Duration() time.Duration {
	secs, _ := r.secs()
	return time.Duration(secs) * time.Second
}

// Hours is r's duration in hours, for InfluxQL's DURATION (e.g. 8760h).
func (r Retention) Hours() int64 { return int64(r.Duration() / time.Hour) }

// String is r's canonical ISO 8601 form ("P1Y6M", "PT12H").
func (r Retention) String() string {
	var b strings.Builder
	b.WriteByte('P')
	add := func(n int, c byte) {
		if n != 0 {
			b.WriteString(strconv.Itoa(n))
			b.WriteByte(c)
		}
	}
	add(r.years, 'Y')
	add(r.months, 'M')
	add(r.weeks, 'W')
	add(r.days, 'D')
	if r.hours != 0 || r.minutes != 0 || r.seconds != 0 {
		b.WriteByte('T')
		add(r.hours, 'H')
		add(r.minutes, 'M')
		add(r.seconds, 'S')
	}
	return b.String()
}

// Suffix is the lower-case canonical form, the end of the names of r's
// retention policy and bucket ("p1y").
func (r Retention) Suffix() string { return strings.ToLower(r.String()) }

// RetentionPolicy is the InfluxDB 1.x retention policy of r ("civisens_p1y").
func (r Retention) RetentionPolicy() string { return RetentionPolicyPrefix + r.Suffix() }

// Bucket is the InfluxDB 2.x bucket of r, from the configured bucket
// ("civisens" → "civisens_p1y").
func (r Retention) Bucket(base string) string { return base + "_" + r.Suffix() }

// RetentionDestination is where readings of retention are stored, as a
// bucket name of influxdb-client-go: with InfluxDB 1.x (v1) base names the
// database (any "/retention-policy" after it is replaced) and the result is
// "database/civisens_<suffix>"; with 2.x it is "<base>_<suffix>".
func RetentionDestination(v1 bool, base, retention string) (string, error) {
	r, err := ParseRetention(retention)
	if err != nil {
		return "", err
	}
	if v1 {
		db, _, _ := strings.Cut(base, "/")
		return db + "/" + r.RetentionPolicy(), nil
	}
	return r.Bucket(base), nil
}
