package opendata

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The structured cells of the CSV mapping: a list is its items separated by
// '|', an item with parts (a quantity, an operator, a position) has them
// separated by ';', a tag is key=value. A backslash escapes the next
// character, so that '\', '|', ';' and '=' inside a value are written '\\',
// '\|', '\;' and '\='.

const (
	itemSep = '|'
	partSep = ';'
	tagSep  = '='
	escape  = '\\'
)

// escapeValue escapes the separators in one value.
func escapeValue(s string) string {
	if !strings.ContainsAny(s, `\|;=`) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch r {
		case escape, itemSep, partSep, tagSep:
			b.WriteRune(escape)
		}
		b.WriteRune(r)
	}
	return b.String()
}

var errDanglingEscape = errors.New(`ends with a lone \`)

// split cuts s at each sep that is not escaped, keeping the escapes in the
// parts (they are removed by unescapeValue, at the innermost level). An
// empty s has no part.
func split(s string, sep byte) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case escape:
			if i+1 == len(s) {
				return nil, errDanglingEscape
			}
			i++
		case sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:]), nil
}

// unescapeValue removes the escapes of one value.
func unescapeValue(s string) (string, error) {
	if !strings.ContainsRune(s, escape) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == escape {
			if i+1 == len(s) {
				return "", errDanglingEscape
			}
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String(), nil
}

// joinList writes a list of plain values.
func joinList(items []string) string {
	esc := make([]string, len(items))
	for i, it := range items {
		esc[i] = escapeValue(it)
	}
	return strings.Join(esc, string(itemSep))
}

// splitList reads a list of plain values; "" is the empty list.
func splitList(s string) ([]string, error) {
	parts, err := split(s, itemSep)
	if err != nil {
		return nil, err
	}
	for i, p := range parts {
		if parts[i], err = unescapeValue(p); err != nil {
			return nil, err
		}
	}
	return parts, nil
}

// joinRecords writes a list of items with parts.
func joinRecords(items [][]string) string {
	out := make([]string, len(items))
	for i, parts := range items {
		esc := make([]string, len(parts))
		for j, p := range parts {
			esc[j] = escapeValue(p)
		}
		out[i] = strings.Join(esc, string(partSep))
	}
	return strings.Join(out, string(itemSep))
}

// splitRecords reads a list of items with parts, each with between min
// and max parts; shape names the parts, for the error.
func splitRecords(s string, min, max int, shape string) ([][]string, error) {
	items, err := split(s, itemSep)
	if err != nil {
		return nil, err
	}
	out := make([][]string, len(items))
	for i, it := range items {
		parts, err := split(it, partSep)
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i+1, err)
		}
		if len(parts) < min || len(parts) > max {
			return nil, fmt.Errorf("item %d has %d parts; want %s", i+1, len(parts), shape)
		}
		for j, p := range parts {
			if parts[j], err = unescapeValue(p); err != nil {
				return nil, fmt.Errorf("item %d: %w", i+1, err)
			}
		}
		out[i] = parts
	}
	return out, nil
}

// joinTags writes a map as key=value items, sorted by key.
func joinTags(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	items := make([]string, len(keys))
	for i, k := range keys {
		items[i] = escapeValue(k) + string(tagSep) + escapeValue(m[k])
	}
	return strings.Join(items, string(itemSep))
}

// splitTags reads key=value items; "" is no tag (nil).
func splitTags(s string) (map[string]string, error) {
	items, err := split(s, itemSep)
	if err != nil || len(items) == 0 {
		return nil, err
	}
	m := make(map[string]string, len(items))
	for i, it := range items {
		kv, err := split(it, tagSep)
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i+1, err)
		}
		if len(kv) != 2 {
			return nil, fmt.Errorf("item %d %q is not key=value", i+1, it)
		}
		k, err := unescapeValue(kv[0])
		if err != nil {
			return nil, err
		}
		v, err := unescapeValue(kv[1])
		if err != nil {
			return nil, err
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("tag %q is given twice", k)
		}
		m[k] = v
	}
	return m, nil
}

// formatFloat writes v in the shortest decimal form that reads back to the
// same float64, without an exponent.
func formatFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// parseFloat reads a finite number; a decimal comma is refused rather than
// guessed.
func parseFloat(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if strings.Contains(s, ",") {
			return 0, fmt.Errorf("%q is not a number (write the decimal point as '.')", s)
		}
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a finite number", s)
	}
	return v, nil
}

func formatOptFloat(v *float64) string {
	if v == nil {
		return ""
	}
	return formatFloat(*v)
}

func parseOptFloat(s string) (*float64, error) {
	if s == "" {
		return nil, nil
	}
	v, err := parseFloat(s)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

func formatBool(b bool) string { return strconv.FormatBool(b) }

// parseBool reads true or false (and what strconv.ParseBool accepts); an
// empty cell is false.
func parseBool(s string) (bool, error) {
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("%q is not true or false", s)
	}
	return b, nil
}

func formatInt(n int) string { return strconv.Itoa(n) }

func parseInt(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a whole number", s)
	}
	return n, nil
}

// formatTime writes t in RFC 3339, in UTC, with the fraction of a second
// only when there is one.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func formatOptTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return formatTime(*t)
}

// parseTime reads an RFC 3339 time, or a date (YYYY-MM-DD, midnight UTC),
// and returns it in UTC.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date (YYYY-MM-DD) or an RFC 3339 time", s)
}

func parseOptTime(s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	t, err := parseTime(s)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// Spreadsheet formula protection. A spreadsheet runs a cell that starts
// with '=', '+', '-' or '@' (and some with a tab or a carriage return) as a
// formula, which a public file must not let anyone smuggle in. Text cells
// that start so are written with a leading apostrophe, which spreadsheets
// read as "this is text"; a text cell that already starts with an
// apostrophe followed by one of these characters, or by another
// apostrophe, gets one too, so that reading removes exactly one apostrophe
// and gives back the value.
func formulaStart(c byte) bool {
	switch c {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	return false
}

func protect(v string) string {
	switch {
	case v == "":
		return v
	case formulaStart(v[0]),
		v[0] == '\'' && len(v) > 1 && (formulaStart(v[1]) || v[1] == '\''):
		return "'" + v
	}
	return v
}

func unprotect(c string) string {
	if len(c) > 1 && c[0] == '\'' && (formulaStart(c[1]) || c[1] == '\'') {
		return c[1:]
	}
	return c
}
