package firmware

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Errors of the message decoders, for callers to test with errors.Is.
var (
	// ErrNotFormat: the message is not of the decoder's format (not JSON,
	// not the expected shape, a topic of another format).
	ErrNotFormat = errors.New("not this format")
	// ErrNoDevice: the message names no device.
	ErrNoDevice = errors.New("no device")
	// ErrNotReading: the message is of the format but carries no reading
	// by design (a bridge, availability or command topic).
	ErrNotReading = errors.New("not a reading")
	// ErrNoCodec: a LoRaWAN uplink with no decoded payload.
	ErrNoCodec = errors.New("no codec: the application has no payload codec, the uplink carries only raw bytes (data)")
	// ErrTooLarge: a payload over MaxPayload.
	ErrTooLarge = errors.New("payload too large")
)

// MaxPayload is the largest payload a message decoder reads.
const MaxPayload = 256 << 10

// maxJSONDepth bounds the nesting of a JSON payload.
const maxJSONDepth = 32

// jsMember is one member of a JSON object, in the order of the payload.
type jsMember struct {
	key string
	val any
}

// jsObject is a JSON object that keeps the order of its members, so that
// readings come out in the order the device wrote them. Values are
// jsObject, []any, json.Number, string, bool or nil.
type jsObject []jsMember

// get returns the value of key (the last one if repeated).
func (o jsObject) get(key string) (any, bool) {
	for i := len(o) - 1; i >= 0; i-- {
		if o[i].key == key {
			return o[i].val, true
		}
	}
	return nil, false
}

// getFold returns the first of keys present, compared as foldKey does
// (case, '_', '-' and ' ' ignored), with the key as the payload spells it.
func (o jsObject) getFold(keys ...string) (string, any, bool) {
	for _, k := range keys {
		fk := foldKey(k)
		for i := len(o) - 1; i >= 0; i-- {
			if foldKey(o[i].key) == fk {
				return o[i].key, o[i].val, true
			}
		}
	}
	return "", nil, false
}

// object returns the member key when it is an object.
func (o jsObject) object(key string) jsObject {
	v, _ := o.get(key)
	obj, _ := v.(jsObject)
	return obj
}

// str returns the member key when it is a string.
func (o jsObject) str(key string) string {
	v, _ := o.get(key)
	s, _ := v.(string)
	return s
}

func foldKey(k string) string {
	var b strings.Builder
	for _, r := range k {
		switch r {
		case '_', '-', ' ', '.':
			continue
		}
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// parseJS parses one JSON value, keeping the order of object members.
func parseJS(b []byte) (any, error) {
	if len(b) > MaxPayload {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(b), MaxPayload)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := parseJSValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON value")
	}
	return v, nil
}

func parseJSValue(dec *json.Decoder, depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", maxJSONDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, errors.New("empty payload")
		}
		return nil, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	switch d {
	case '{':
		obj := jsObject{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			k, _ := kt.(string)
			v, err := parseJSValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			obj = append(obj, jsMember{key: k, val: v})
		}
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		return obj, nil
	case '[':
		arr := []any{}
		for dec.More() {
			v, err := parseJSValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		return arr, nil
	}
	return nil, fmt.Errorf("unexpected %v", d)
}

// parseJSObject parses a payload that must be a JSON object.
func parseJSObject(b []byte) (jsObject, error) {
	v, err := parseJS(b)
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: not JSON: %v", ErrNotFormat, err)
	}
	obj, ok := v.(jsObject)
	if !ok {
		return nil, fmt.Errorf("%w: a JSON %s, not an object", ErrNotFormat, jsKind(v))
	}
	return obj, nil
}

func jsKind(v any) string {
	switch v.(type) {
	case jsObject:
		return "object"
	case []any:
		return "array"
	case json.Number:
		return "number"
	case string:
		return "string"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// numberOf reads a number from a JSON number or a string holding one,
// possibly followed by a unit ("3.6 V", "21.5°C"); it returns that unit
// as hint. reason says why v is no number.
func numberOf(v any) (f float64, hint string, reason string) {
	switch x := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil || math.IsInf(f, 0) {
			return 0, "", fmt.Sprintf("%s is not a finite number", truncate(string(x)))
		}
		return f, "", ""
	case string:
		return numberOfString(x)
	case nil:
		return 0, "", "null: the device sent no value"
	case bool:
		return 0, "", "a boolean, not a number"
	case jsObject, []any:
		return 0, "", fmt.Sprintf("a JSON %s, not a number", jsKind(v))
	}
	return 0, "", "not a number"
}

func numberOfString(s string) (float64, string, string) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, "", "empty string, not a number"
	}
	switch strings.ToLower(t) {
	case "nan", "-nan", "+nan":
		return 0, "", "NaN: the sensor has no value"
	case "unavailable", "unknown", "none", "null", "n/a", "na", "-":
		return 0, "", fmt.Sprintf("%q: the sensor has no value", truncate(t))
	}
	// The longest prefix that is a number; the rest, if any, must be a unit.
	end := 0
	for i, r := range t {
		if (r >= '0' && r <= '9') || r == '.' || r == '-' || r == '+' || ((r == 'e' || r == 'E') && i > 0) {
			end = i + 1
			continue
		}
		break
	}
	for end > 0 {
		f, err := strconv.ParseFloat(t[:end], 64)
		if err == nil {
			if math.IsInf(f, 0) || math.IsNaN(f) {
				return 0, "", fmt.Sprintf("%q is not a finite number", truncate(t))
			}
			rest := strings.TrimSpace(t[end:])
			if rest != "" {
				if _, ok := lookupUnit(rest); !ok {
					return 0, "", fmt.Sprintf("%q is not a number", truncate(t))
				}
			}
			return f, rest, ""
		}
		end--
	}
	return 0, "", fmt.Sprintf("%q is not a number", truncate(t))
}

// boolOf reads a JSON boolean or one of the usual spellings of a binary
// state ("ON"/"OFF", "true"/"false", "open"/"closed" are not: their sense
// depends on the quantity).
func boolOf(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "on", "true", "yes":
			return true, true
		case "off", "false", "no":
			return false, true
		}
	}
	return false, false
}

func truncate(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

// parseTimeValue reads a time: an RFC 3339 string with a zone, or a Unix
// time in seconds or milliseconds. A time without a zone is refused: the
// device's zone is unknown.
func parseTimeValue(v any) (time.Time, error) {
	switch x := v.(type) {
	case string:
		s := strings.TrimSpace(x)
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05Z07:00", "2006-01-02T15:04:05.999999999Z0700", "2006-01-02 15:04:05.999999999Z0700"} {
			if t, err := time.Parse(layout, s); err == nil {
				return checkTime(t)
			}
		}
		for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"} {
			if _, err := time.Parse(layout, s); err == nil {
				return time.Time{}, fmt.Errorf("%q has no time zone", truncate(s))
			}
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return unixTime(f)
		}
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", truncate(s))
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("%s is not a Unix time", truncate(string(x)))
		}
		return unixTime(f)
	}
	return time.Time{}, fmt.Errorf("a JSON %s, not a time", jsKind(v))
}

// unixTime reads seconds, or milliseconds when the number is too large to
// be seconds of this era.
func unixTime(f float64) (time.Time, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 {
		return time.Time{}, fmt.Errorf("%g is not a Unix time", f)
	}
	if f > 1e11 {
		f /= 1000
	}
	if f > 253402300799 {
		return time.Time{}, fmt.Errorf("%g is after year 9999", f)
	}
	sec, frac := math.Modf(f)
	return checkTime(time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3).UTC())
}

func checkTime(t time.Time) (time.Time, error) {
	if t.Year() < 1971 || t.Year() > 9999 {
		return time.Time{}, fmt.Errorf("%s is not a plausible measurement time", t.Format(time.RFC3339))
	}
	return t.UTC(), nil
}

// readings gathers the readings and the fields left out of one message.
type readings struct {
	source string
	time   time.Time
	res    Result
}

func (r *readings) skip(field, reason string) {
	r.res.Unknown = append(r.res.Unknown, FieldError{Field: field, Reason: reason})
}

// value adds the value v of field, whose quantity is inferred from name,
// given in unit hint ("" when the payload says none). It returns false
// when the field was left out. A number whose quantity is unknown becomes
// a reading without quantity, also listed as unknown; a boolean or string
// with no quantity is metadata and is ignored when quiet.
func (r *readings) value(field, name string, v any, hint string) bool {
	g, ok := inferName(name)
	if !ok {
		return r.unknownValue(field, v, hint, "no known quantity for "+strconv.Quote(truncate(name)))
	}
	return r.guessed(field, g, v, hint)
}

// guessed adds v as the quantity g.
func (r *readings) guessed(field string, g guess, v any, hint string) bool {
	var f float64
	if b, ok := boolOf(v); ok && g.binary {
		if b {
			f = 1
		}
	} else {
		var h, reason string
		f, h, reason = numberOf(v)
		if reason != "" {
			r.skip(field, reason)
			return false
		}
		if hint == "" {
			hint = h
		}
	}
	out, unit, err := g.convert(f, hint)
	if err != nil {
		if errors.Is(err, errAmbiguous) {
			r.res.Readings = append(r.res.Readings, Reading{Source: r.source, Field: field, Unit: normalUnit(hint), Value: f, Time: r.time})
		}
		r.skip(field, err.Error())
		return false
	}
	r.res.Readings = append(r.res.Readings, Reading{
		Source: r.source, Field: field, Quantity: g.quantity, Unit: unit,
		Value: out, Time: r.time, Health: g.health,
	})
	return true
}

// unknownValue adds a number of unknown quantity (a reading without
// quantity, listed as unknown with why); anything else is left out.
func (r *readings) unknownValue(field string, v any, hint, why string) bool {
	switch v.(type) {
	case json.Number, string:
		f, h, reason := numberOf(v)
		if reason != "" {
			if _, isStr := v.(string); isStr {
				return false // a string that is no number: metadata
			}
			r.skip(field, reason)
			return false
		}
		if hint == "" {
			hint = h
		}
		r.res.Readings = append(r.res.Readings, Reading{Source: r.source, Field: field, Unit: normalUnit(hint), Value: f, Time: r.time})
		r.skip(field, why)
	}
	return false
}

// joinPath appends key to a field path.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
