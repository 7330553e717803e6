package catalog

// ValidUnit reports whether u is a unit that a declared quantity may use:
// one of the SenML units registry (RFC 8428 and RFC 8798, with the secondary
// units that RFC 8798 registers) as IANA lists it, without the units marked
// NOT RECOMMENDED there. Cel, %RH, hPa, ug/m3, lx, W, Wh and / are the ones
// the demo town uses.
func ValidUnit(u string) bool {
	switch u {
	// RFC 8428.
	case "m", "kg", "s", "A", "K", "cd", "mol", "Hz", "rad", "sr", "N", "Pa",
		"J", "W", "C", "V", "F", "Ohm", "S", "Wb", "T", "H", "Cel", "lm", "lx",
		"Bq", "Gy", "Sv", "kat", "m2", "m3", "m/s", "m/s2", "m3/s", "W/m2",
		"cd/m2", "bit", "bit/s", "lat", "lon", "pH", "dB", "dBW", "count", "/",
		"%RH", "%EL", "EL", "1/s", "S/m":
		return true
	// RFC 8798.
	case "B", "VA", "VAs", "var", "vars", "J/m", "kg/m3", "deg":
		return true
	// RFC 8798 secondary units.
	case "ms", "min", "h", "MHz", "kW", "kVA", "kvar", "Ah", "Wh", "kWh",
		"varh", "kvarh", "kVAh", "Wh/km", "KiB", "GB", "Mbit/s", "B/s", "MB/s",
		"mV", "mA", "dBm", "ug/m3", "mm/h", "m/h", "ppm", "/100", "%", "/1000",
		"hPa", "mm", "cm", "km", "km/h":
		return true
	}
	return false
}
