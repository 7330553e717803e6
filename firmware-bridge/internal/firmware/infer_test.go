package firmware

import (
	"testing"
)

func TestSnakeName(t *testing.T) {
	for in, want := range map[string]string{
		"TempC_SHT": "temp_c_sht", "CarbonDioxide": "carbon_dioxide", "PM2.5": "pm2_5", "batteryLevel": "battery_level",
		"BatV": "bat_v", "eCO2": "e_co2", "DS18B20-1": "ds18b20_1", "living_room_temperature": "living_room_temperature",
		"ApparentPower": "apparent_power", "HTTPServer": "http_server", "__x__": "x", "": "",
	} {
		if got := snakeName(in); got != want {
			t.Errorf("snakeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestInferName(t *testing.T) {
	cases := []struct {
		name  string
		v     float64
		hint  string
		q     string
		unit  string
		want  float64
		fails bool
	}{
		{"temperature", 21.5, "", "temperature", "Cel", 21.5, false},
		{"Temperature", 70.7, "F", "temperature", "Cel", 21.5, false},
		{"TempC_SHT", 22.1, "", "temperature", "Cel", 22.1, false},
		{"TempC_DS", 22.3, "", "temperature", "Cel", 22.3, false},
		{"tmp", 19, "", "temperature", "Cel", 19, false},
		{"temp_f", 32, "", "temperature", "Cel", 0, false},
		{"living_room_temperature", 20, "", "temperature", "Cel", 20, false},
		{"Temperature1", 20, "", "temperature", "Cel", 20, false},
		{"temperature", 294.15, "K", "temperature", "Cel", 21, false},
		{"temperature", 21, "°C", "temperature", "Cel", 21, false},
		{"humidity", 45, "", "humidity", "%RH", 45, false},
		{"Hum_SHT", 54.8, "", "humidity", "%RH", 54.8, false},
		{"rh", 40, "%", "humidity", "%RH", 40, false},
		{"hum", 40, "", "humidity", "%RH", 40, false},
		{"pressure", 1013.2, "", "pressure", "hPa", 1013.2, false},
		{"pressure", 98765.43, "", "pressure", "hPa", 987.6543, false},
		{"pressure", 760, "mmHg", "pressure", "hPa", 1013.25014435, false}, // 1 mmHg = 133.322387415 Pa
		{"BME280_pressure", 1000, "mbar", "pressure", "hPa", 1000, false},
		{"pm1", 3, "", "pm1", "ug/m3", 3, false},
		{"pm1_0", 3, "", "pm1", "ug/m3", 3, false},
		{"pm25", 5, "", "pm2_5", "ug/m3", 5, false},
		{"pm2_5", 5, "µg/m³", "pm2_5", "ug/m3", 5, false},
		{"PM2.5", 5, "μg/m3", "pm2_5", "ug/m3", 5, false},
		{"pm10", 0.012, "mg/m3", "pm10", "ug/m3", 12, false},
		{"co2", 650, "", "co2", "ppm", 650, false},
		{"CarbonDioxide", 650, "", "co2", "ppm", 650, false},
		{"eco2", 400, "", "co2", "ppm", 400, false},
		{"tvoc", 120, "", "tvoc", "ppb", 120, false},
		{"voc", 0.5, "ppm", "tvoc", "ppb", 500, false},
		{"illuminance", 120, "lux", "illuminance", "lx", 120, false},
		{"light", 120, "", "illuminance", "lx", 120, false},
		{"lux", 120, "", "illuminance", "lx", 120, false},
		{"battery", 95, "", "battery", "%EL", 95, false},
		{"battery", 95, "%", "battery", "%EL", 95, false},
		{"BatV", 3.05, "", "battery_voltage", "V", 3.05, false},
		{"BatV", 3045, "", "battery_voltage", "V", 3.045, false},
		{"battery_voltage", 3.6, "V", "battery_voltage", "V", 3.6, false},
		{"Bat", 3.6, "", "battery_voltage", "V", 3.6, false},
		{"Bat", 3600, "", "battery_voltage", "V", 3.6, false},
		{"Bat", 50, "", "", "", 0, true},
		{"vdd", 3612, "", "battery_voltage", "V", 3.612, false},
		{"noise", 55, "dBA", "noise", "dB", 55, false},
		{"laeq", 55, "dB(A)", "laeq", "dB", 55, false},
		{"power", 1.5, "kW", "power", "W", 1500, false},
		{"energy", 1.234, "kWh", "energy", "Wh", 1234, false},
		{"energy", 1.234, "", "", "", 0, true},
		{"kwh", 2, "", "energy", "Wh", 2000, false},
		{"voltage", 230, "", "voltage", "V", 230, false},
		{"current", 120, "mA", "current", "A", 0.12, false},
		{"rssi", -97, "", "rssi", "dBm", -97, false},
		{"rssi", -127, "dBW", "rssi", "dBm", -97, false},
		{"snr", 7.5, "", "snr", "dB", 7.5, false},
		{"linkquality", 120, "", "link_quality", "/", 120, false},
		{"occupancy", 1, "", "occupancy", "/", 1, false},
		{"occupancy", 3, "", "", "", 0, true},
		{"temperature", 21, "V", "", "", 0, true},
		{"temperature", 21, "furlong", "", "", 0, true},
	}
	for _, c := range cases {
		g, ok := inferName(c.name)
		if !ok {
			t.Errorf("%s: no quantity", c.name)
			continue
		}
		v, unit, err := g.convert(c.v, c.hint)
		if c.fails {
			if err == nil {
				t.Errorf("%s %g %q: %g %s, want an error", c.name, c.v, c.hint, v, unit)
			}
			continue
		}
		if err != nil || g.quantity != c.q || unit != c.unit || v != c.want {
			t.Errorf("%s %g %q: %s %g %s %v, want %s %g %s", c.name, c.v, c.hint, g.quantity, v, unit, err, c.q, c.want, c.unit)
		}
	}
}

func TestInferNameRefuses(t *testing.T) {
	for _, n := range []string{"battery_low", "temperature_max", "max_temperature", "occupancy_timeout", "Bat_status",
		"temperature_calibration", "uptime", "A0", "", "___", "update_available", "humidity_alarm"} {
		if g, ok := inferName(n); ok {
			t.Errorf("inferName(%q) = %s, want no quantity", n, g.quantity)
		}
	}
}

// Every name of the table leads to a quantity whose unit is known, and
// every default unit converts to it.
func TestInferTables(t *testing.T) {
	for q, d := range quantityDefs {
		if _, ok := unitDefs[d.unit]; !ok {
			t.Errorf("quantity %s: unit %q not in unitDefs", q, d.unit)
		}
	}
	for n, d := range names {
		if _, ok := quantityDefs[d.quantity]; !ok {
			t.Errorf("name %s: unknown quantity %s", n, d.quantity)
		}
		if d.from != "" && d.from != "?" {
			if _, _, err := quantityGuess(d.quantity, d.from).convert(1, ""); err != nil {
				t.Errorf("name %s: %v", n, err)
			}
		}
	}
}

func TestLookupUnit(t *testing.T) {
	for in, want := range map[string]string{
		"°C": "Cel", "C": "Cel", "µg/m³": "ug/m3", "μg/m3": "ug/m3", "kwh": "kWh", "KWH": "kWh", "hpa": "hPa",
		"dBm": "dBm", "dB(A)": "dB", "lux": "lx", "%": "%", " V ": "V", "mV": "mV",
	} {
		u, ok := lookupUnit(in)
		if !ok || u.senml != want {
			t.Errorf("lookupUnit(%q) = %q %v, want %q", in, u.senml, ok, want)
		}
	}
	for _, in := range []string{"furlong", "", "MV?"} {
		if u, ok := lookupUnit(in); ok {
			t.Errorf("lookupUnit(%q) = %q, want none", in, u.senml)
		}
	}
}

func TestNumberOfString(t *testing.T) {
	for in, want := range map[string]struct {
		v    float64
		hint string
		bad  bool
	}{
		"21.5": {21.5, "", false}, " 3.6 V": {3.6, "V", false}, "1560 mm": {1560, "mm", false}, "-97dBm": {-97, "dBm", false},
		"nan": {0, "", true}, "NaN": {0, "", true}, "unavailable": {0, "", true}, "12abc": {0, "", true}, "": {0, "", true},
		"1e400": {0, "", true}, "1e3": {1000, "", false}, "21.5°C": {21.5, "°C", false},
	} {
		v, hint, reason := numberOfString(in)
		if (reason != "") != want.bad || v != want.v || hint != want.hint {
			t.Errorf("numberOfString(%q) = %g %q %q", in, v, hint, reason)
		}
	}
}
