package firmware

import (
	"fmt"
	"strconv"
	"strings"
)

// Tasmota returns the decoder of Tasmota's telemetry
// (https://tasmota.github.io/docs/MQTT/), on the default full topic
// %prefix%/%topic%/ or the swapped %topic%/%prefix%/:
//
//   - tele/<topic>/SENSOR: {"Time":…, "<sensor>":{…}, "ENERGY":{…},
//     "TempUnit":"C", "PressureUnit":"hPa"}, every sensor block in one
//     message (BME280, SHT3X, DS18B20-1…, AM2301, SDS0X1, PMS5003,
//     SCD30, BH1750, ANALOG…). The field of a reading is
//     "<sensor>.<value>" ("BME280.Temperature"). TempUnit "F" and
//     PressureUnit "mmHg"/"inHg" are converted to Cel and hPa. The block
//     of the chip itself (ESP32.Temperature) is device_temperature.
//   - ENERGY: Total (kWh) is the meter index, energy in Wh; Power W,
//     ApparentPower VA, ReactivePower var, Factor /, Voltage V, Current A,
//     Frequency Hz, ImportActive and ExportActive (kWh) energy_import and
//     energy_export. Today, Yesterday and Period restart every day or
//     every telemetry period: they are no index, and are listed as left
//     out. A multi-channel meter writes arrays: one reading per channel,
//     field "ENERGY.Power[0]" (the JSON index) and quantity "power_1"
//     (the channel, numbered from 1 as Tasmota numbers POWER1, POWER2).
//   - tele/<topic>/STATE: Wifi.Signal (dBm) is rssi and Wifi.RSSI (a
//     percent) wifi_quality, both health; the rest (uptime, heap, relay
//     states) is ignored.
//   - stat/<topic>/STATUS8 and STATUS10: the StatusSNS object, read as a
//     SENSOR message.
//
// Source is <topic>. Tasmota writes Time in the device's local time
// without a zone: it is used only when it carries one; otherwise the
// readings take the time of reception (Tasmota publishes as it measures).
func Tasmota() Decoder { return tasmotaDecoder{} }

type tasmotaDecoder struct{}

func (tasmotaDecoder) Decode(m Message) (Result, error) {
	device, kind, err := tasmotaTopic(m.Topic)
	if err != nil {
		return Result{}, err
	}
	obj, err := parseJSObject(m.Payload)
	if err != nil {
		return Result{}, fmt.Errorf("tasmota %s: %w", kind, err)
	}
	r := &readings{source: device}
	if kind == "STATUS8" || kind == "STATUS10" {
		sns := obj.object("StatusSNS")
		if sns == nil {
			return Result{}, fmt.Errorf("tasmota %s: %w: no StatusSNS object", kind, ErrNotFormat)
		}
		obj = sns
	}
	if v, ok := obj.get("Time"); ok {
		if t, err := parseTimeValue(v); err == nil {
			r.time = t
		}
	}
	if kind == "STATE" {
		tasmotaState(r, obj)
	} else {
		tasmotaSensor(r, obj)
	}
	return r.res, nil
}

// tasmotaTopic returns the device and the message kind of a topic.
func tasmotaTopic(topic string) (device, kind string, err error) {
	parts := strings.Split(topic, "/")
	n := len(parts)
	if n < 3 {
		return "", "", fmt.Errorf("tasmota: %w: topic %q is not tele/<topic>/SENSOR or STATE", ErrNotFormat, truncate(topic))
	}
	kind = parts[n-1]
	switch {
	case parts[0] == "tele" || parts[0] == "stat":
		device = strings.Join(parts[1:n-1], "/")
	case parts[n-2] == "tele" || parts[n-2] == "stat":
		device = strings.Join(parts[:n-2], "/")
	default:
		return "", "", fmt.Errorf("tasmota: %w: topic %q has no tele or stat prefix", ErrNotFormat, truncate(topic))
	}
	switch kind {
	case "SENSOR", "STATE", "STATUS8", "STATUS10":
	default:
		return "", "", fmt.Errorf("tasmota %s: %w: only SENSOR, STATE, STATUS8 and STATUS10 carry readings", truncate(kind), ErrNotReading)
	}
	if strings.TrimSpace(device) == "" {
		return "", "", fmt.Errorf("tasmota: %w: topic %q names no device", ErrNoDevice, truncate(topic))
	}
	return device, kind, nil
}

// tasmotaKeys are Tasmota's own value names, with their units.
var tasmotaKeys = map[string]guess{
	"Temperature":   quantityGuess("temperature", "Cel"),
	"DewPoint":      quantityGuess("dew_point", "Cel"),
	"Humidity":      quantityGuess("humidity", "%RH"),
	"Pressure":      quantityGuess("pressure", "hPa"),
	"SeaPressure":   quantityGuess("sea_level_pressure", "hPa"),
	"Gas":           quantityGuess("gas_resistance", "kOhm"),
	"Illuminance":   quantityGuess("illuminance", "lx"),
	"CarbonDioxide": quantityGuess("co2", "ppm"),
	"eCO2":          quantityGuess("co2", "ppm"),
	"TVOC":          quantityGuess("tvoc", "ppb"),
	"PM1":           quantityGuess("pm1", "ug/m3"),
	"PM2.5":         quantityGuess("pm2_5", "ug/m3"),
	"PM10":          quantityGuess("pm10", "ug/m3"),
	"Distance":      quantityGuess("distance", "cm"),
}

// tasmotaMeta are top-level members that are no sensor.
var tasmotaMeta = map[string]bool{"Time": true, "TempUnit": true, "PressureUnit": true, "SpeedUnit": true, "Epoch": true}

func tasmotaSensor(r *readings, obj jsObject) {
	tempUnit := obj.str("TempUnit")
	pressUnit := obj.str("PressureUnit")
	for _, m := range obj {
		if tasmotaMeta[m.key] {
			continue
		}
		if m.key == "ENERGY" {
			if e, ok := m.val.(jsObject); ok {
				tasmotaEnergy(r, e)
			} else {
				r.skip("ENERGY", "a JSON "+jsKind(m.val)+", not an object")
			}
			continue
		}
		block, ok := m.val.(jsObject)
		if !ok {
			// A top-level value: a switch state ("Switch1":"ON") or a
			// counter; numbers go through the inference.
			tasmotaValue(r, m.key, m.key, "", m.val, tempUnit, pressUnit)
			continue
		}
		chip := m.key == "ESP32" || m.key == "ESP8266"
		for _, v := range block {
			field := m.key + "." + v.key
			if chip && v.key == "Temperature" {
				g := quantityGuess("device_temperature", "Cel")
				r.guessed(field, tasmotaTemp(g, tempUnit), v.val, "")
				continue
			}
			if strings.HasPrefix(v.key, "CF") {
				if _, _, reason := numberOf(v.val); reason == "" {
					r.skip(field, "a PMS concentration under factory conditions (CF=1): PM1, PM2.5 and PM10 are the atmospheric ones")
				}
				continue
			}
			tasmotaValue(r, field, v.key, m.key, v.val, tempUnit, pressUnit)
		}
	}
}

// tasmotaValue adds one value of a sensor block (arrays: one per element).
func tasmotaValue(r *readings, field, key, block string, v any, tempUnit, pressUnit string) {
	if arr, ok := v.([]any); ok {
		for i, e := range arr {
			tasmotaValue(r, fmt.Sprintf("%s[%d]", field, i), key, block, e, tempUnit, pressUnit)
		}
		return
	}
	if _, ok := v.(jsObject); ok {
		return // nested settings or ids: no reading
	}
	if s, ok := v.(string); ok {
		if _, _, reason := numberOfString(s); reason != "" {
			return // an id ("Id":"01144A0CB2AA") or a state ("ON")
		}
	}
	g, ok := tasmotaKeys[key]
	if !ok {
		if g, ok = inferName(key); !ok {
			r.unknownValue(field, v, "", "no known quantity for "+strconv.Quote(truncate(key)))
			return
		}
	}
	switch g.quantity {
	case "temperature", "dew_point", "device_temperature":
		g = tasmotaTemp(g, tempUnit)
	case "pressure", "sea_level_pressure":
		if pressUnit != "" {
			g = g.withFrom(pressUnit)
		}
	}
	r.guessed(field, g, v, "")
}

func tasmotaTemp(g guess, unit string) guess {
	switch strings.ToUpper(unit) {
	case "F":
		return g.withFrom("F")
	case "K":
		return g.withFrom("K")
	}
	return g.withFrom("Cel")
}

// tasmotaEnergyKeys are the ENERGY values that are readings.
var tasmotaEnergyKeys = map[string]guess{
	"Total":         quantityGuess("energy", "kWh"),
	"Power":         quantityGuess("power", "W"),
	"ApparentPower": quantityGuess("apparent_power", "VA"),
	"ReactivePower": quantityGuess("reactive_power", "var"),
	"Factor":        quantityGuess("power_factor", "/"),
	"Voltage":       quantityGuess("voltage", "V"),
	"Current":       quantityGuess("current", "A"),
	"Frequency":     quantityGuess("frequency", "Hz"),
	"ImportActive":  quantityGuess("energy_import", "kWh"),
	"ExportActive":  quantityGuess("energy_export", "kWh"),
}

// tasmotaCounters are the ENERGY values that restart: no meter index.
var tasmotaCounters = map[string]string{
	"Today":     "energy since midnight (kWh), restarts every day: not a meter index (Total is)",
	"Yesterday": "energy of yesterday (kWh): not a meter index (Total is)",
	"Period":    "energy since the last telemetry (Wh): not a meter index (Total is)",
}

func tasmotaEnergy(r *readings, e jsObject) {
	for _, m := range e {
		field := "ENERGY." + m.key
		if why, ok := tasmotaCounters[m.key]; ok {
			r.skip(field, why)
			continue
		}
		g, ok := tasmotaEnergyKeys[m.key]
		if !ok {
			if _, isStr := m.val.(string); !isStr { // TotalStartTime is a string
				tasmotaValue(r, field, m.key, "ENERGY", m.val, "", "")
			}
			continue
		}
		arr, isArr := m.val.([]any)
		if !isArr {
			r.guessed(field, g, m.val, "")
			continue
		}
		for i, v := range arr {
			gi := g
			gi.quantity = fmt.Sprintf("%s_%d", g.quantity, i+1)
			r.guessed(fmt.Sprintf("%s[%d]", field, i), gi, v, "")
		}
	}
}

func tasmotaState(r *readings, obj jsObject) {
	w := obj.object("Wifi")
	if w == nil {
		return
	}
	if v, ok := w.get("Signal"); ok {
		r.guessed("Wifi.Signal", quantityGuess("rssi", "dBm"), v, "")
	}
	if v, ok := w.get("RSSI"); ok {
		r.guessed("Wifi.RSSI", quantityGuess("wifi_quality", "%"), v, "")
	}
}
