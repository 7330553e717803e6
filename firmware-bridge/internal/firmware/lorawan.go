package firmware

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// What the LoRaWAN network servers share: a payload codec's output (any
// JSON the codec author chose) read by inference, and the radio
// metadata of the best gateway.

// codecValue adds the readings of a codec's output v at path, named name
// for the inference.
//
//   - an object {"value": 21.5, "unit": "°C"} is one value, in its unit;
//   - an object's members are named by their key, except a channel
//     number or "value" (Cayenne LPP decoders: {"temperature":{"1":21.5}})
//     which take their parent's name, and a key that says nothing known
//     under a parent that does ({"temperature":{"external":19}} →
//     temperature);
//   - arrays give one reading per element, named as the array;
//   - numbers (or numbers as text, "3.05" or "3.05 V") are inferred;
//     booleans count only for 0/1 quantities (occupancy…); other strings,
//     booleans and settings are metadata, skipped without a word.
func codecValue(r *readings, path, name string, v any) {
	switch x := v.(type) {
	case jsObject:
		if val, ok := x.get("value"); ok && len(x) <= 3 {
			if _, nested := val.(jsObject); !nested {
				codecValue(r, path+".value", name, withUnit{val, x.str("unit")})
				return
			}
		}
		for _, m := range x {
			codecValue(r, joinPath(path, m.key), codecChildName(name, m.key), m.val)
		}
	case []any:
		for i, e := range x {
			codecValue(r, fmt.Sprintf("%s[%d]", path, i), name, e)
		}
	case withUnit:
		if _, ok := inferName(name); !ok {
			r.unknownValue(path, x.v, x.unit, "no known quantity for "+strconv.Quote(truncate(name)))
			return
		}
		r.value(path, name, x.v, x.unit)
	case json.Number:
		if isSetting(name) {
			return
		}
		r.value(path, name, x, "")
	case string:
		if _, _, reason := numberOfString(x); reason != "" {
			if g, ok := inferName(name); ok && !g.binary && !isSetting(name) && looksMissing(x) {
				r.skip(path, reason)
			}
			return
		}
		if isSetting(name) {
			return
		}
		r.value(path, name, x, "")
	case bool:
		if g, ok := inferName(name); ok && g.binary {
			r.guessed(path, g, x, "")
		}
	case nil:
		if _, ok := inferName(name); ok {
			r.skip(path, "null: the codec gave no value")
		}
	}
}

// withUnit is a value beside its unit in a codec's output.
type withUnit struct {
	v    any
	unit string
}

// looksMissing reports whether a text is a codec's way of saying "no
// value" ("NaN", "N/A"), rather than a text field.
func looksMissing(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "nan", "-nan", "n/a", "na", "none", "null", "unavailable", "unknown", "":
		return true
	}
	return false
}

func codecChildName(parent, key string) string {
	if parent == "" {
		return key
	}
	generic := key == "value" || key == "val" || key == "v"
	if !generic {
		generic = true
		for _, c := range key {
			if c < '0' || c > '9' {
				generic = false
				break
			}
		}
	}
	if generic {
		return parent
	}
	if _, ok := inferName(key); ok {
		return key
	}
	if _, ok := inferName(parent); ok {
		return parent + "_" + key
	}
	return key
}

// bestGateway adds the rssi and snr of the gateway that heard the uplink
// best (the highest RSSI) from the receptions rx, at path.
func bestGateway(r *readings, path string, rx []any, rssiKeys ...string) {
	best, bestRSSI := -1, 0.0
	for i, e := range rx {
		o, ok := e.(jsObject)
		if !ok {
			continue
		}
		for _, k := range rssiKeys {
			if v, ok := o.get(k); ok {
				if f, _, reason := numberOf(v); reason == "" && (best < 0 || f > bestRSSI) {
					best, bestRSSI = i, f
				}
				break
			}
		}
	}
	if best < 0 {
		return
	}
	o := rx[best].(jsObject)
	for _, k := range rssiKeys {
		if v, ok := o.get(k); ok {
			r.guessed(fmt.Sprintf("%s[%d].%s", path, best, k), quantityGuess("rssi", "dBm"), v, "")
			break
		}
	}
	if v, ok := o.get("snr"); ok {
		r.guessed(fmt.Sprintf("%s[%d].snr", path, best), quantityGuess("snr", "dB"), v, "")
	}
}

// devEUI checks and lower-cases a DevEUI.
func devEUI(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) != 16 {
		return "", false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", false
		}
	}
	return s, true
}
