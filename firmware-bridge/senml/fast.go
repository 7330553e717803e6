package senml

import (
	"strconv"
)

// decodeFast parses the usual form of a pack — an array of objects whose
// keys are the exact field names, each at most once, with ASCII strings
// without escapes, numbers and booleans — without reflection, and with one
// allocation for all of its strings (they share one copy of b). It reports
// ok false for anything else, valid or not (a null, an escape, a key in
// another case, more than maxRecords records…); Decode then takes
// encoding/json's path, which decides. When ok is true, the pack is the one
// encoding/json would decode.
func decodeFast(b []byte, maxRecords int) (p Pack, ok bool) {
	d := fastDec{b: b}
	d.ws()
	if !d.eat('[') {
		return nil, false
	}
	n := 0
	for i := d.i; i < len(b); i++ { // an upper bound of the records
		if b[i] == '{' {
			n++
		}
	}
	if n == 0 || n > maxRecords {
		return nil, false
	}
	d.s = string(b)
	p = make(Pack, 0, n)
	for {
		d.ws()
		if len(p) == maxRecords {
			return nil, false
		}
		p = append(p, Record{})
		if !d.record(&p[len(p)-1]) {
			return nil, false
		}
		d.ws()
		if d.eat(',') {
			continue
		}
		if !d.eat(']') {
			return nil, false
		}
		break
	}
	d.ws()
	if d.i != len(b) {
		return nil, false
	}
	return p, true
}

type fastDec struct {
	b      []byte
	s      string // b as a string: the strings of the pack are its substrings
	i      int
	floats []float64 // room for the values behind the pointer fields
}

func (d *fastDec) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *fastDec) eat(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// str reads a string of printable ASCII without escapes.
func (d *fastDec) str() (string, bool) {
	if !d.eat('"') {
		return "", false
	}
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			return d.s[start : d.i-1], true
		case c < 0x20 || c >= 0x7f || c == '\\':
			return "", false
		}
		d.i++
	}
	return "", false
}

// number reads a JSON number, checking its grammar (strconv accepts more).
func (d *fastDec) number() (string, bool) {
	start := d.i
	d.eat('-')
	switch {
	case d.eat('0'):
	case d.i < len(d.b) && d.b[d.i] >= '1' && d.b[d.i] <= '9':
		d.digits()
	default:
		return "", false
	}
	if d.eat('.') {
		if d.digits() == 0 {
			return "", false
		}
	}
	if d.eat('e') || d.eat('E') {
		if !d.eat('+') {
			d.eat('-')
		}
		if d.digits() == 0 {
			return "", false
		}
	}
	return d.s[start:d.i], true
}

func (d *fastDec) digits() int {
	start := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	return d.i - start
}

func (d *fastDec) float() (float64, bool) {
	s, ok := d.number()
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

func (d *fastDec) floatPtr() (*float64, bool) {
	f, ok := d.float()
	if !ok {
		return nil, false
	}
	if len(d.floats) == 0 {
		d.floats = make([]float64, 8)
	}
	p := &d.floats[0]
	d.floats = d.floats[1:]
	*p = f
	return p, true
}

// The fields of a Record, as bits, to refuse a key given twice.
const (
	fBN = 1 << iota
	fBT
	fBU
	fBV
	fBS
	fBVer
	fN
	fU
	fV
	fVS
	fVB
	fVD
	fS
	fT
	fUT
)

func (d *fastDec) record(r *Record) bool {
	if !d.eat('{') {
		return false
	}
	d.ws()
	if d.eat('}') {
		return true
	}
	var seen int
	for {
		d.ws()
		key, ok := d.str()
		if !ok {
			return false
		}
		d.ws()
		if !d.eat(':') {
			return false
		}
		d.ws()
		var bit int
		switch key {
		case "bn":
			bit = fBN
			r.BaseName, ok = d.str()
		case "bt":
			bit = fBT
			r.BaseTime, ok = d.float()
		case "bu":
			bit = fBU
			r.BaseUnit, ok = d.str()
		case "bv":
			bit = fBV
			r.BaseValue, ok = d.float()
		case "bs":
			bit = fBS
			r.BaseSum, ok = d.float()
		case "bver":
			bit = fBVer
			var s string
			if s, ok = d.number(); ok {
				var err error
				r.BaseVersion, err = strconv.Atoi(s) // refuses 1.0 and 1e1, as encoding/json does for an int
				ok = err == nil
			}
		case "n":
			bit = fN
			r.Name, ok = d.str()
		case "u":
			bit = fU
			r.Unit, ok = d.str()
		case "v":
			bit = fV
			r.Value, ok = d.floatPtr()
		case "s":
			bit = fS
			r.Sum, ok = d.floatPtr()
		case "t":
			bit = fT
			r.Time, ok = d.float()
		case "ut":
			bit = fUT
			r.UpdateTime, ok = d.float()
		case "vb":
			bit = fVB
			var v bool
			switch {
			case d.lit("true"):
				v = true
			case d.lit("false"):
			default:
				return false
			}
			r.BoolValue = &v
		case "vs":
			bit = fVS
			var s string
			if s, ok = d.str(); ok {
				r.StringValue = &s
			}
		case "vd":
			bit = fVD
			var s string
			if s, ok = d.str(); ok {
				r.DataValue = &s
			}
		default:
			return false
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
		d.ws()
		if d.eat(',') {
			continue
		}
		return d.eat('}')
	}
}

func (d *fastDec) lit(s string) bool {
	if len(d.b)-d.i >= len(s) && string(d.b[d.i:d.i+len(s)]) == s {
		d.i += len(s)
		return true
	}
	return false
}
