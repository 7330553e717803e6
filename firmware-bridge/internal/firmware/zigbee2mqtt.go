package firmware

import (
	"fmt"
	"strconv"
	"strings"
)

// Zigbee2MQTT returns the decoder of Zigbee2MQTT's device state messages
// (https://www.zigbee2mqtt.io/guide/usage/mqtt_topics_and_messages.html):
// zigbee2mqtt/<friendly_name>, a JSON object of the device's exposes,
// in the units Zigbee2MQTT documents for them:
//
//	temperature, local_temperature Cel · humidity %RH · pressure hPa ·
//	co2 ppm · voc ppb · pm1, pm25, pm10 ug/m3 · formaldehyd mg/m3 → hcho
//	in ug/m3 · illuminance lx ·
//	occupancy, presence → occupancy, contact (true when closed),
//	water_leak: booleans as 1 and 0 · power W · energy kWh → Wh ·
//	voltage V, current A · battery %EL · device_temperature Cel.
//
// Health: battery (%EL), linkquality as link_quality (the LQI, 0–255, in
// "/"), device_temperature, and voltage when it is a battery's: a
// Xiaomi or Aqara sensor writes its battery voltage in mV under
// "voltage" (above 1000, battery_voltage in V); a plug writes its mains
// voltage in V.
//
// Before Zigbee2MQTT 2.0, "illuminance" was the raw sensor value when
// "illuminance_lux" was also sent: then illuminance_lux is read and
// illuminance is listed as left out.
//
// What is not a measurement is skipped without a word: strings
// (last_seen, state, power_on_behavior), objects (update, color),
// booleans with no quantity (battery_low, tamper, update_available),
// and settings (temperature_calibration, occupancy_timeout…). A number
// of unknown quantity gives a reading without quantity, listed as
// unknown. last_seen, when Zigbee2MQTT is configured to send it (ISO 8601
// or epoch), is the time of the readings.
//
// Source is the friendly name (which may hold slashes); the base topic
// is the topic's first level. zigbee2mqtt/bridge/…, …/availability,
// …/set and …/get are ErrNotReading.
func Zigbee2MQTT() Decoder { return z2mDecoder{} }

type z2mDecoder struct{}

// z2mKeys are Zigbee2MQTT's expose names with their units.
var z2mKeys = map[string]guess{
	"temperature":        quantityGuess("temperature", "Cel"),
	"local_temperature":  quantityGuess("temperature", "Cel"),
	"device_temperature": quantityGuess("device_temperature", "Cel"),
	"humidity":           quantityGuess("humidity", "%RH"),
	"pressure":           quantityGuess("pressure", "hPa"),
	"co2":                quantityGuess("co2", "ppm"),
	"voc":                quantityGuess("tvoc", "ppb"),
	"pm1":                quantityGuess("pm1", "ug/m3"),
	"pm25":               quantityGuess("pm2_5", "ug/m3"),
	"pm10":               quantityGuess("pm10", "ug/m3"),
	"illuminance":        quantityGuess("illuminance", "lx"),
	"illuminance_lux":    quantityGuess("illuminance", "lx"),
	"occupancy":          quantityGuess("occupancy", ""),
	"presence":           quantityGuess("occupancy", ""),
	"contact":            quantityGuess("contact", ""),
	"water_leak":         quantityGuess("water_leak", ""),
	"power":              quantityGuess("power", "W"),
	"energy":             quantityGuess("energy", "kWh"),
	"produced_energy":    quantityGuess("energy_export", "kWh"),
	"voltage":            quantityGuess("voltage", "V"),
	"current":            quantityGuess("current", "A"),
	"battery":            quantityGuess("battery", "%"),
	"linkquality":        quantityGuess("link_quality", "/"),
	"noise":              quantityGuess("noise", "dB"),
	"formaldehyd":        quantityGuess("hcho", "mg/m3"),
}

func (z2mDecoder) Decode(m Message) (Result, error) {
	name, err := z2mTopic(m.Topic)
	if err != nil {
		return Result{}, err
	}
	obj, err := parseJSObject(m.Payload)
	if err != nil {
		return Result{}, fmt.Errorf("zigbee2mqtt %s: %w", truncate(name), err)
	}
	r := &readings{source: name}
	if v, ok := obj.get("last_seen"); ok {
		if t, err := parseTimeValue(v); err == nil {
			r.time = t
		} else {
			r.skip("last_seen", err.Error())
		}
	}
	_, hasLux := obj.get("illuminance_lux")
	for _, mb := range obj {
		if mb.key == "last_seen" {
			continue
		}
		switch mb.val.(type) {
		case jsObject, []any, bool, string:
			if s, isStr := mb.val.(string); isStr {
				_, _, reason := numberOfString(s)
				if reason == "" {
					break // a number as text
				}
				if _, known := z2mKeys[mb.key]; known && looksMissing(s) {
					r.skip(mb.key, reason)
				}
			}
			if g, ok := z2mKeys[mb.key]; ok && g.binary {
				if _, isBool := mb.val.(bool); isBool {
					break
				}
			}
			continue // not a measurement
		}
		if isSetting(mb.key) {
			continue
		}
		if mb.key == "illuminance" && hasLux {
			r.skip(mb.key, "the raw sensor value: illuminance_lux carries lux")
			continue
		}
		g, ok := z2mKeys[mb.key]
		if !ok {
			r.value(mb.key, mb.key, mb.val, "")
			continue
		}
		if mb.key == "voltage" {
			if f, _, reason := numberOf(mb.val); reason == "" && f >= 1000 {
				g = quantityGuess("battery_voltage", "mV")
			}
		}
		r.guessed(mb.key, g, mb.val, "")
	}
	return r.res, nil
}

func z2mTopic(topic string) (string, error) {
	parts := strings.Split(topic, "/")
	if len(parts) < 2 || parts[0] == "" {
		return "", fmt.Errorf("zigbee2mqtt: %w: topic %q is not <base_topic>/<friendly_name>", ErrNotFormat, truncate(topic))
	}
	if parts[1] == "bridge" {
		return "", fmt.Errorf("zigbee2mqtt: %w: %q is the bridge's own topic (state, logs, devices), not a device's", ErrNotReading, truncate(topic))
	}
	switch parts[len(parts)-1] {
	case "availability", "set", "get":
		return "", fmt.Errorf("zigbee2mqtt: %w: %q is an %s topic, not a state", ErrNotReading, truncate(topic), parts[len(parts)-1])
	}
	name := strings.Join(parts[1:], "/")
	if strings.TrimSpace(name) == "" {
		return "", fmt.Errorf("zigbee2mqtt: %w: topic %q has no friendly name", ErrNoDevice, strconv.Quote(truncate(topic)))
	}
	return name, nil
}
