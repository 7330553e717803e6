package firmware

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// Inference of quantities from the names firmwares and payload codecs give
// their fields, and of units from the units they write.
//
// Every quantity has one SenML unit, the same whatever the format, so
// that one register entry fits every device that measures it:
//
//	temperature, dew_point, device_temperature  Cel
//	humidity                                    %RH
//	pressure, sea_level_pressure                hPa (as the register declares it; the gateway converts to Pa if asked)
//	pm1, pm2_5, pm4, pm10                       ug/m3
//	co2                                         ppm
//	tvoc                                        ppb
//	hcho (formaldehyde)                         ug/m3
//	illuminance                                 lx
//	occupancy, contact, open, water_leak        /   (0 or 1; contact is 1 when closed, open is 1 when open)
//	power W, apparent_power VA, reactive_power var, power_factor /,
//	energy, energy_import and energy_export Wh (meter indexes),
//	voltage V, current A, frequency Hz
//	noise, laeq, la_min, la_max                 dB  (A-weighting is not a SenML unit: dBA is written dB)
//	distance                                    m
//	gas_resistance                              Ohm
//
// and the device-health quantities (Reading.Health):
//
//	battery          %EL  (remaining battery level in percent: the SenML unit made for it;
//	                       "%" is ambiguous in SenML, a ratio of 1, and the gateway refuses to convert it)
//	battery_voltage  V    (a value above 100 is taken as mV)
//	rssi             dBm  (what every radio reports; a secondary unit of RFC 8798 that the gateway
//	                       converts to dBW, the primary unit, when the register declares dBW)
//	snr              dB
//	link_quality     /    (the Zigbee LQI, 0 to 255, as a dimensionless number; not scaled to a ratio)
//	wifi_quality     %    (Tasmota's Wi-Fi quality in percent, derived from its signal)
//
// A unit the payload gives wins over the name's default; firmware
// spellings are converted (°C → Cel, µg/m³ → ug/m3, kWh → Wh, mV → V,
// °F → Cel, mmHg and inHg → hPa…). A unit of another kind than the
// quantity's ("V" for a temperature) leaves the field out.

// errAmbiguous marks a value whose unit the payload does not give and
// the name does not settle (energy: Wh or kWh).
var errAmbiguous = errors.New("unit ambiguous")

// unitDef is a unit as firmwares write it: its SenML spelling, what it
// measures, and how it converts to the base unit of that kind
// (base = v × scale + offset).
type unitDef struct {
	senml  string
	kind   string
	scale  float64
	offset float64
}

var unitDefs = map[string]unitDef{
	"Cel": {"Cel", "temperature", 1, 0}, "C": {"Cel", "temperature", 1, 0}, "degC": {"Cel", "temperature", 1, 0},
	"celsius": {"Cel", "temperature", 1, 0}, "Celsius": {"Cel", "temperature", 1, 0},
	"F": {"", "temperature", 5.0 / 9, -160.0 / 9}, "degF": {"", "temperature", 5.0 / 9, -160.0 / 9},
	"Fahrenheit": {"", "temperature", 5.0 / 9, -160.0 / 9},
	"K":          {"K", "temperature", 1, -273.15},

	"%": {"%", "percent", 1, 0}, "%RH": {"%RH", "percent", 1, 0}, "%EL": {"%EL", "percent", 1, 0}, "RH": {"%RH", "percent", 1, 0},

	"hPa": {"hPa", "pressure", 1, 0}, "mbar": {"hPa", "pressure", 1, 0}, "mb": {"hPa", "pressure", 1, 0},
	"Pa": {"Pa", "pressure", 0.01, 0}, "kPa": {"", "pressure", 10, 0}, "bar": {"", "pressure", 1000, 0},
	"mmHg": {"", "pressure", 1.33322387415, 0}, "inHg": {"", "pressure", 33.8638866667, 0},

	"ug/m3": {"ug/m3", "mass concentration", 1, 0}, "mg/m3": {"", "mass concentration", 1000, 0},
	"ppm": {"ppm", "fraction", 1, 0}, "ppb": {"ppb", "fraction", 0.001, 0},

	"lx": {"lx", "illuminance", 1, 0}, "lux": {"lx", "illuminance", 1, 0}, "Lux": {"lx", "illuminance", 1, 0},

	"W": {"W", "power", 1, 0}, "kW": {"kW", "power", 1000, 0}, "mW": {"", "power", 0.001, 0},
	"VA": {"VA", "apparent power", 1, 0}, "kVA": {"kVA", "apparent power", 1000, 0},
	"var": {"var", "reactive power", 1, 0}, "VAr": {"var", "reactive power", 1, 0}, "VAR": {"var", "reactive power", 1, 0},
	"kvar": {"kvar", "reactive power", 1000, 0}, "kVAr": {"kvar", "reactive power", 1000, 0},
	"Wh": {"Wh", "energy", 1, 0}, "kWh": {"kWh", "energy", 1000, 0}, "MWh": {"", "energy", 1e6, 0},
	"V": {"V", "voltage", 1, 0}, "mV": {"mV", "voltage", 0.001, 0}, "kV": {"", "voltage", 1000, 0},
	"A": {"A", "current", 1, 0}, "mA": {"mA", "current", 0.001, 0},
	"Hz":  {"Hz", "frequency", 1, 0},
	"Ohm": {"Ohm", "resistance", 1, 0}, "kOhm": {"", "resistance", 1000, 0}, "Ω": {"Ohm", "resistance", 1, 0}, "kΩ": {"", "resistance", 1000, 0},

	"dB": {"dB", "level", 1, 0}, "dBA": {"dB", "level", 1, 0}, "dB(A)": {"dB", "level", 1, 0}, "dBa": {"dB", "level", 1, 0},
	"dBm": {"dBm", "signal", 1, 0}, "dBW": {"dBW", "signal", 1, 30},

	"m": {"m", "length", 1, 0}, "cm": {"cm", "length", 0.01, 0}, "mm": {"mm", "length", 0.001, 0},

	"/": {"/", "ratio", 1, 0},
}

// unitFold indexes the units by a lower-case spelling, when that spelling
// names only one of them ("kwh", "hpa", "dbm"; not "mw" or "mv"…).
var unitFold = func() map[string]string {
	m := map[string]string{}
	clash := map[string]bool{}
	for u := range unitDefs {
		l := strings.ToLower(u)
		if prev, ok := m[l]; ok && unitDefs[prev] != unitDefs[u] {
			clash[l] = true
		}
		m[l] = u
	}
	for l := range clash {
		delete(m, l)
	}
	return m
}()

// lookupUnit finds a unit as firmwares spell it: "°C", "µg/m³", "kWh",
// "dB(A)", "mbar"…
func lookupUnit(s string) (unitDef, bool) {
	s = strings.TrimSpace(s)
	r := strings.NewReplacer("°", "deg", "º", "deg", "µ", "u", "μ", "u", "³", "3", "²", "2", " ", "")
	n := r.Replace(s)
	n = strings.TrimPrefix(n, "deg")
	for _, c := range []string{s, n} {
		if u, ok := unitDefs[c]; ok {
			return u, true
		}
		if k, ok := unitFold[strings.ToLower(c)]; ok {
			return unitDefs[k], true
		}
	}
	return unitDef{}, false
}

// normalUnit is the SenML spelling of a unit a payload gives, or "" when
// it has none.
func normalUnit(s string) string {
	if u, ok := lookupUnit(s); ok {
		return u.senml
	}
	return ""
}

// quantityDef is a quantity the inference knows.
type quantityDef struct {
	unit   string // its SenML unit
	health bool
	binary bool // 0 or 1; booleans convert
}

var quantityDefs = map[string]quantityDef{
	"temperature": {unit: "Cel"}, "dew_point": {unit: "Cel"}, "device_temperature": {unit: "Cel", health: true},
	"humidity": {unit: "%RH"},
	"pressure": {unit: "hPa"}, "sea_level_pressure": {unit: "hPa"},
	"pm1": {unit: "ug/m3"}, "pm2_5": {unit: "ug/m3"}, "pm4": {unit: "ug/m3"}, "pm10": {unit: "ug/m3"},
	"co2": {unit: "ppm"}, "tvoc": {unit: "ppb"}, "hcho": {unit: "ug/m3"},
	"illuminance": {unit: "lx"},
	"occupancy":   {unit: "/", binary: true}, "contact": {unit: "/", binary: true}, "open": {unit: "/", binary: true},
	"water_leak": {unit: "/", binary: true},
	"power":      {unit: "W"}, "apparent_power": {unit: "VA"}, "reactive_power": {unit: "var"}, "power_factor": {unit: "/"},
	"energy": {unit: "Wh"}, "energy_import": {unit: "Wh"}, "energy_export": {unit: "Wh"},
	"voltage": {unit: "V"}, "current": {unit: "A"}, "frequency": {unit: "Hz"},
	"noise": {unit: "dB"}, "laeq": {unit: "dB"}, "la_min": {unit: "dB"}, "la_max": {unit: "dB"},
	"distance":       {unit: "m"},
	"gas_resistance": {unit: "Ohm"},

	"battery": {unit: "%EL", health: true}, "battery_voltage": {unit: "V", health: true},
	"rssi": {unit: "dBm", health: true}, "snr": {unit: "dB", health: true},
	"link_quality": {unit: "/", health: true}, "wifi_quality": {unit: "%", health: true},
}

// guess is what a field's name says: its quantity, and the unit its
// value is in when the payload gives none.
type guess struct {
	quantity string
	unit     string // the SenML unit of the reading
	from     string // the unit of the value when the payload says none
	health   bool
	binary   bool
	// ambiguous, when set, says why the unit cannot be assumed.
	ambiguous string
	// millisAbove: a value above it is in milli-units (a battery voltage
	// of 3045 is mV).
	millisAbove float64
	// paAbove: a pressure above it is in Pa, not hPa.
	paAbove float64
	// voltsBelow: with millisAbove, a value up to it is in volts, one
	// between it and millisAbove is a percent or volts (ambiguous).
	voltsBelow float64
}

// nameDef is an entry of the name table.
type nameDef struct {
	quantity string
	from     string // default unit of the name; "" is the quantity's unit
}

// names maps field names, in snake case (see snakeName), to quantities.
var names = map[string]nameDef{
	"temperature": {"temperature", ""}, "temp": {"temperature", ""}, "tmp": {"temperature", ""},
	"temp_c": {"temperature", "Cel"}, "tempc": {"temperature", "Cel"}, "temperature_c": {"temperature", "Cel"},
	"temp_f": {"temperature", "F"}, "tempf": {"temperature", "F"}, "temperature_f": {"temperature", "F"},
	"air_temperature": {"temperature", ""}, "ambient_temperature": {"temperature", ""},
	"dew_point": {"dew_point", ""}, "dewpoint": {"dew_point", ""}, "dew_point_temperature": {"dew_point", ""},
	"device_temperature": {"device_temperature", ""}, "cpu_temperature": {"device_temperature", ""},
	"chip_temperature": {"device_temperature", ""}, "internal_temperature": {"device_temperature", ""},

	"humidity": {"humidity", ""}, "hum": {"humidity", ""}, "rh": {"humidity", ""}, "relative_humidity": {"humidity", ""},
	"air_humidity": {"humidity", ""}, "humi": {"humidity", ""},

	"pressure": {"pressure", ""}, "press": {"pressure", ""}, "baro": {"pressure", ""}, "barometer": {"pressure", ""},
	"barometric_pressure": {"pressure", ""}, "air_pressure": {"pressure", ""}, "atmospheric_pressure": {"pressure", ""},
	"sea_pressure": {"sea_level_pressure", ""}, "sea_level_pressure": {"sea_level_pressure", ""},
	"pressure_at_sealevel": {"sea_level_pressure", ""},

	"pm1": {"pm1", ""}, "pm1_0": {"pm1", ""}, "pm01": {"pm1", ""}, "pm_1": {"pm1", ""}, "pm_1_0": {"pm1", ""},
	"pm25": {"pm2_5", ""}, "pm2_5": {"pm2_5", ""}, "pm_2_5": {"pm2_5", ""}, "pm_25": {"pm2_5", ""},
	"pm4": {"pm4", ""}, "pm4_0": {"pm4", ""}, "pm10": {"pm10", ""}, "pm10_0": {"pm10", ""}, "pm_10": {"pm10", ""},

	"co2": {"co2", ""}, "carbon_dioxide": {"co2", ""}, "eco2": {"co2", ""}, "e_co2": {"co2", ""},
	"tvoc": {"tvoc", ""}, "voc": {"tvoc", ""}, "e_tvoc": {"tvoc", ""},
	"hcho": {"hcho", ""}, "ch2o": {"hcho", ""}, "formaldehyde": {"hcho", ""}, "formaldehyd": {"hcho", ""},

	"illuminance": {"illuminance", ""}, "illuminance_lux": {"illuminance", ""}, "lux": {"illuminance", ""},
	"light": {"illuminance", ""}, "luminosity": {"illuminance", ""}, "light_level": {"illuminance", ""},
	"ambient_light": {"illuminance", ""}, "brightness_lux": {"illuminance", ""},

	"occupancy": {"occupancy", ""}, "occupied": {"occupancy", ""}, "motion": {"occupancy", ""}, "pir": {"occupancy", ""},
	"presence": {"occupancy", ""},
	"contact":  {"contact", ""}, "door": {"open", ""}, "window": {"open", ""}, "opening": {"open", ""},
	"water_leak": {"water_leak", ""}, "leak": {"water_leak", ""},

	"power": {"power", ""}, "active_power": {"power", ""}, "load_power": {"power", ""}, "watt": {"power", ""},
	"apparent_power": {"apparent_power", ""}, "reactive_power": {"reactive_power", ""},
	"power_factor": {"power_factor", ""}, "pf": {"power_factor", ""}, "cos_phi": {"power_factor", ""},
	"energy": {"energy", ""}, "total_energy": {"energy", ""}, "energy_total": {"energy", ""},
	"kwh": {"energy", "kWh"}, "energy_kwh": {"energy", "kWh"}, "total_kwh": {"energy", "kWh"},
	"energy_wh": {"energy", "Wh"}, "total_daily_energy": {"energy", ""},
	"energy_export": {"energy_export", ""}, "exported_energy": {"energy_export", ""},
	"energy_import": {"energy_import", ""}, "imported_energy": {"energy_import", ""},
	"voltage": {"voltage", ""}, "volt": {"voltage", ""}, "volts": {"voltage", ""}, "mains_voltage": {"voltage", ""},
	"current": {"current", ""}, "amps": {"current", ""}, "ampere": {"current", ""},
	"frequency": {"frequency", ""}, "freq": {"frequency", ""},

	"battery": {"battery", ""}, "bat": {"battery_voltage", "?"}, "batt": {"battery_voltage", "?"}, "battery_level": {"battery", ""},
	"battery_percent": {"battery", ""}, "battery_percentage": {"battery", ""}, "bat_pct": {"battery", ""},
	"battery_voltage": {"battery_voltage", ""}, "bat_v": {"battery_voltage", ""}, "batv": {"battery_voltage", ""},
	"vbat": {"battery_voltage", ""}, "v_bat": {"battery_voltage", ""}, "batt_v": {"battery_voltage", ""},
	"battery_volt": {"battery_voltage", ""}, "voltage_battery": {"battery_voltage", ""}, "vdd": {"battery_voltage", ""},
	"battery_mv": {"battery_voltage", "mV"}, "bat_mv": {"battery_voltage", "mV"}, "batt_mv": {"battery_voltage", "mV"},
	"rssi": {"rssi", ""}, "signal": {"rssi", ""}, "signal_strength": {"rssi", ""}, "wifi_signal": {"rssi", ""},
	"wifi_rssi": {"rssi", ""}, "rssi_dbm": {"rssi", ""},
	"snr": {"snr", ""}, "lsnr": {"snr", ""}, "lora_snr": {"snr", ""},
	"linkquality": {"link_quality", ""}, "link_quality": {"link_quality", ""}, "lqi": {"link_quality", ""},

	"noise": {"noise", ""}, "noise_level": {"noise", ""}, "sound": {"noise", ""}, "sound_level": {"noise", ""},
	"spl": {"noise", ""}, "dba": {"noise", ""}, "sound_pressure": {"noise", ""},
	"laeq": {"laeq", ""}, "la_eq": {"laeq", ""}, "noise_laeq": {"laeq", ""},
	"la_min": {"la_min", ""}, "lamin": {"la_min", ""}, "noise_la_min": {"la_min", ""},
	"la_max": {"la_max", ""}, "lamax": {"la_max", ""}, "noise_la_max": {"la_max", ""},
	"distance": {"distance", ""},
}

// qualifiers are name parts that make a field something else than a
// plain measurement of its quantity: a limit, a setting, an alarm.
var qualifiers = map[string]bool{
	"min": true, "max": true, "low": true, "high": true, "alarm": true, "alert": true, "status": true,
	"state": true, "threshold": true, "offset": true, "calibration": true, "setpoint": true, "target": true,
	"limit": true, "warning": true, "unit": true, "mode": true, "type": true, "timeout": true, "interval": true,
	"delay": true, "sensitivity": true, "count": true, "period": true, "id": true, "flag": true, "error": true,
	"change": true, "report": true, "duration": true,
}

// settings are name parts of device settings, skipped without a word.
var settings = map[string]bool{
	"calibration": true, "offset": true, "timeout": true, "threshold": true, "sensitivity": true,
	"interval": true, "delay": true, "setpoint": true, "target": true, "limit": true, "mode": true,
}

// isSetting reports whether name is a device setting, not a measurement.
func isSetting(name string) bool {
	for _, t := range strings.Split(snakeName(name), "_") {
		if settings[t] {
			return true
		}
	}
	return false
}

// snakeName writes a vendor's field name in snake case: "TempC_SHT" →
// "temp_c_sht", "CarbonDioxide" → "carbon_dioxide", "PM2.5" → "pm2_5",
// "batteryLevel" → "battery_level", "BatV" → "bat_v".
func snakeName(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case unicode.IsUpper(r):
			if i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]) && i+1 < len(rs) && unicode.IsLower(rs[i+1]) ||
				unicode.IsUpper(rs[i-1]) && i+1 < len(rs) && unicode.IsLower(rs[i+1])) {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
		case unicode.IsLower(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	parts := strings.FieldsFunc(b.String(), func(r rune) bool { return r == '_' })
	return strings.Join(parts, "_")
}

// inferName infers the quantity of a field from its name: the whole name,
// else its longest known ending ("living_room_temperature",
// "BME280_humidity"), else its longest known beginning ("TempC_SHT",
// "Hum_SHT"), unless a part of the name qualifies it ("temperature_max",
// "battery_low").
func inferName(name string) (guess, bool) {
	n := snakeName(name)
	if n == "" {
		return guess{}, false
	}
	if d, ok := names[n]; ok {
		return makeGuess(d), true
	}
	if d, ok := names[strings.ReplaceAll(n, "_", "")]; ok {
		return makeGuess(d), true
	}
	parts := strings.Split(n, "_")
	for _, p := range parts {
		if qualifiers[p] {
			return guess{}, false
		}
	}
	for i := 1; i < len(parts); i++ {
		if d, ok := names[strings.Join(parts[i:], "_")]; ok {
			return makeGuess(d), true
		}
	}
	for i := len(parts) - 1; i > 0; i-- {
		if d, ok := names[strings.Join(parts[:i], "_")]; ok {
			return makeGuess(d), true
		}
	}
	// A numbered probe: "Temperature1", "temp2".
	if t := strings.TrimRight(n, "0123456789_"); t != n && t != "" {
		if d, ok := names[t]; ok {
			return makeGuess(d), true
		}
	}
	return guess{}, false
}

func makeGuess(d nameDef) guess {
	if d.from == "?" {
		// "Bat": volts for most LoRaWAN codecs, mV when above 100, but
		// also a percent for some; in between it cannot be told.
		g := quantityGuess(d.quantity, "")
		g.voltsBelow = 5
		return g
	}
	return quantityGuess(d.quantity, d.from)
}

// quantityGuess is the guess of a known quantity, its value given in from
// ("" for the quantity's own unit, or what the quantity assumes).
func quantityGuess(q, from string) guess {
	qd, ok := quantityDefs[q]
	if !ok {
		panic("firmware: unknown quantity " + q)
	}
	g := guess{quantity: q, unit: qd.unit, from: from, health: qd.health, binary: qd.binary}
	if from != "" {
		return g
	}
	switch q {
	case "energy", "energy_import", "energy_export":
		g.ambiguous = "energy without a unit: Wh or kWh cannot be told apart"
	case "distance":
		g.ambiguous = "distance without a unit: m, cm or mm cannot be told apart"
	case "battery_voltage":
		g.millisAbove = 100
	case "pressure", "sea_level_pressure":
		g.paAbove = 2000
	}
	return g
}

// withFrom returns g with the unit its format always uses.
func (g guess) withFrom(from string) guess {
	g.from, g.ambiguous, g.millisAbove, g.paAbove, g.voltsBelow = from, "", 0, 0, 0
	return g
}

// convert converts v, given in hint (or, without, in the name's unit),
// to the quantity's unit.
func (g guess) convert(v float64, hint string) (float64, string, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, "", errors.New("not a finite number")
	}
	from := hint
	if from == "" {
		from = g.from
	}
	if from == "" {
		switch {
		case g.ambiguous != "":
			return 0, "", fmt.Errorf("%w: %s", errAmbiguous, g.ambiguous)
		case g.millisAbove > 0 && math.Abs(v) > g.millisAbove:
			from = "mV"
		case g.voltsBelow > 0 && math.Abs(v) > g.voltsBelow:
			return 0, "", fmt.Errorf("%w: %g is a battery percent or volts", errAmbiguous, v)
		case g.paAbove > 0 && v > g.paAbove:
			from = "Pa"
		default:
			from = g.unit
		}
	}
	if g.binary && hint == "" && v != 0 && v != 1 {
		return 0, "", fmt.Errorf("%g is not 0 or 1", v)
	}
	fu, ok := lookupUnit(from)
	if !ok {
		return 0, "", fmt.Errorf("unit %q is not one the bridge knows", truncate(from))
	}
	tu := unitDefs[g.unit]
	if fu.kind != tu.kind {
		return 0, "", fmt.Errorf("unit %q is not a unit of %s (%s)", truncate(from), g.quantity, g.unit)
	}
	if fu == tu {
		return v, g.unit, nil
	}
	out := ((v*fu.scale + fu.offset) - tu.offset) / tu.scale
	if math.IsNaN(out) || math.IsInf(out, 0) {
		return 0, "", fmt.Errorf("%g %s overflows in %s", v, from, g.unit)
	}
	return round12(out), g.unit, nil
}

// round12 rounds to 12 significant digits, so that the binary rounding of
// a conversion does not show (98765.43 Pa is 987.6543 hPa).
func round12(f float64) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(f, 'g', 12, 64), 64)
	if err != nil {
		return f
	}
	return r
}
