package validate

import (
	"fmt"
	"math"
	"strconv"

	"github.com/civisens/civisens/firmware-bridge/senml"
)

// SenML units are exact strings from IANA's SenML registries: the units of
// RFC 8428 and RFC 8798 ("primary" units), and the secondary units of RFC
// 8798, each defined as a linear function of a primary unit. A reading in
// another unit than the declared one is converted when both units measure
// the same thing — they have the same primary unit — and refused
// otherwise.
//
// Each secondary unit u is given as value_in_primary = v × Scale + Offset,
// the scale as a fraction Num/Den so that the usual conversions are one
// exact multiplication or one correctly rounded division (1234 Wh is
// 1.234 kWh, not 1.2340000000000002).

// unit is a unit of the registries: its primary unit and, for a secondary
// unit, how it converts to it.
type unit struct {
	primary  string
	num, den float64 // scale = num/den
	offset   float64 // in the primary unit
}

// Primary units of RFC 8428 and RFC 8798 (and NTU, of ISO 7027-1). "%" is
// left out on purpose: the registry defines it as a ratio of 1 (like "/"),
// while devices send it for percents (like "/100"); a reading in "%" is
// only accepted where "%" is declared.
var primaryUnits = []string{
	"m", "kg", "g", "s", "A", "K", "cd", "mol", "Hz", "rad", "sr", "N", "Pa", "J", "W", "C", "V", "F", "Ohm", "S", "Wb", "T", "H",
	"Cel", "lm", "lx", "Bq", "Gy", "Sv", "kat", "m2", "m3", "l", "m/s", "m/s2", "m3/s", "l/s", "W/m2", "cd/m2", "bit", "bit/s",
	"lat", "lon", "pH", "dB", "dBW", "Bspl", "count", "/", "%RH", "%EL", "EL", "1/s", "1/min", "beat/min", "beats", "S/m",
	"B", "VA", "VAs", "var", "vars", "J/m", "kg/m3", "deg", "NTU",
}

// conversions lists the units that convert to another: the secondary units
// of RFC 8798 (and those registered since: ppb, ppt, VAh, mg/l, ug/l, g/l),
// and the primary units that are a scaled or offset form of another
// (Cel of K, g of kg, l of m3, l/s of m3/s, 1/min of 1/s).
var conversions = map[string]unit{
	// Temperature.
	"Cel": {primary: "K", num: 1, den: 1, offset: 273.15},
	// Time and frequency.
	"ms":  {primary: "s", num: 1, den: 1000},
	"min": {primary: "s", num: 60, den: 1},
	"h":   {primary: "s", num: 3600, den: 1},
	"MHz": {primary: "Hz", num: 1e6, den: 1},
	// Pressure.
	"hPa": {primary: "Pa", num: 100, den: 1},
	// Power and energy.
	"kW":    {primary: "W", num: 1000, den: 1},
	"kVA":   {primary: "VA", num: 1000, den: 1},
	"kvar":  {primary: "var", num: 1000, den: 1},
	"Wh":    {primary: "J", num: 3600, den: 1},
	"kWh":   {primary: "J", num: 3600000, den: 1},
	"VAh":   {primary: "VAs", num: 3600, den: 1},
	"kVAh":  {primary: "VAs", num: 3600000, den: 1},
	"varh":  {primary: "vars", num: 3600, den: 1},
	"kvarh": {primary: "vars", num: 3600000, den: 1},
	"Wh/km": {primary: "J/m", num: 18, den: 5},
	"Ah":    {primary: "C", num: 3600, den: 1},
	"dBm":   {primary: "dBW", num: 1, den: 1, offset: -30},
	// Electricity.
	"mV": {primary: "V", num: 1, den: 1000},
	"mA": {primary: "A", num: 1, den: 1000},
	// Concentrations and ratios.
	"ug/m3": {primary: "kg/m3", num: 1, den: 1e9},
	"mg/l":  {primary: "kg/m3", num: 1, den: 1000},
	"ug/l":  {primary: "kg/m3", num: 1, den: 1e6},
	"g/l":   {primary: "kg/m3", num: 1, den: 1},
	"ppm":   {primary: "/", num: 1, den: 1e6},
	"ppb":   {primary: "/", num: 1, den: 1e9},
	"ppt":   {primary: "/", num: 1, den: 1e12},
	"/100":  {primary: "/", num: 1, den: 100},
	"/1000": {primary: "/", num: 1, den: 1000},
	// Lengths, speeds, volumes, masses.
	"mm":    {primary: "m", num: 1, den: 1000},
	"cm":    {primary: "m", num: 1, den: 100},
	"km":    {primary: "m", num: 1000, den: 1},
	"km/h":  {primary: "m/s", num: 5, den: 18},
	"m/h":   {primary: "m/s", num: 1, den: 3600},
	"mm/h":  {primary: "m/s", num: 1, den: 3600000},
	"g":     {primary: "kg", num: 1, den: 1000},
	"l":     {primary: "m3", num: 1, den: 1000},
	"l/s":   {primary: "m3/s", num: 1, den: 1000},
	"1/min": {primary: "1/s", num: 1, den: 60},
	// Data.
	"KiB":    {primary: "B", num: 1024, den: 1},
	"GB":     {primary: "B", num: 1e9, den: 1},
	"B/s":    {primary: "bit/s", num: 8, den: 1},
	"MB/s":   {primary: "bit/s", num: 8e6, den: 1},
	"Mbit/s": {primary: "bit/s", num: 1e6, den: 1},
}

// units indexes every unit the gateway knows: primary ones convert to
// themselves.
var units = func() map[string]unit {
	m := make(map[string]unit, len(primaryUnits)+len(conversions))
	for _, p := range primaryUnits {
		m[p] = unit{primary: p, num: 1, den: 1}
	}
	for u, c := range conversions {
		m[u] = c
	}
	return m
}()

// KnownUnit reports whether u is a unit of the SenML registries that the
// gateway knows.
func KnownUnit(u string) bool {
	_, ok := units[u]
	return ok
}

// Convert converts v from the unit from to the unit to. It fails with
// ErrUnknownUnit when from is not a unit the gateway knows, ErrUnitMismatch
// when the two do not measure the same thing (or from is "%"), and
// senml.ErrNonFinite when the result overflows. A converted
// value is rounded to 12 significant digits, well below any sensor's
// precision, so that the binary rounding of the conversion does not show
// (294.15 K is 21 Cel, not 20.999999999999977).
func Convert(v float64, from, to string) (float64, error) {
	if from == to {
		return v, nil
	}
	if from == "%" {
		return 0, fmt.Errorf("%w: %q is ambiguous (a ratio of 1 in SenML, a percent in practice): send \"/100\" or declare \"%%\"", ErrUnitMismatch, from)
	}
	f, ok := units[from]
	if !ok {
		return 0, fmt.Errorf("%w: %q", ErrUnknownUnit, from)
	}
	t, ok := units[to]
	if !ok || f.primary != t.primary {
		return 0, fmt.Errorf("%w: %q, declared %q", ErrUnitMismatch, from, to)
	}
	// v × (f.num/f.den) / (t.num/t.den) = v × (f.num × t.den) / (f.den × t.num)
	num, den := f.num*t.den, f.den*t.num
	if g := gcd(num, den); g > 1 {
		num, den = num/g, den/g
	}
	out := v
	if num != 1 {
		out *= num
	}
	if den != 1 {
		out /= den
	}
	if off := f.offset - t.offset; off != 0 {
		out += off * t.den / t.num
	}
	if math.IsInf(out, 0) || math.IsNaN(out) {
		return 0, fmt.Errorf("%w: %g %s in %s", senml.ErrNonFinite, v, from, to)
	}
	r, err := strconv.ParseFloat(strconv.FormatFloat(out, 'g', 12, 64), 64)
	if err != nil {
		return out, nil
	}
	return r, nil
}

// gcd returns the greatest common divisor of two whole numbers held in
// float64 (exact below 2^53), or 1 when one is not whole.
func gcd(a, b float64) float64 {
	if a != math.Trunc(a) || b != math.Trunc(b) || a <= 0 || b <= 0 {
		return 1
	}
	for b != 0 {
		a, b = b, math.Mod(a, b)
	}
	return a
}

// Conversion describes how a unit converts, for documentation.
type Conversion struct {
	Unit, Primary string
	Scale, Offset float64
}

// Conversions lists the units that convert to another, for documentation
// and tests.
func Conversions() []Conversion {
	out := make([]Conversion, 0, len(conversions))
	for u, c := range conversions {
		out = append(out, Conversion{Unit: u, Primary: c.primary, Scale: c.num / c.den, Offset: c.offset})
	}
	return out
}
