package firmware

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// ESPHome returns the decoder of ESPHome's MQTT state topics
// (https://esphome.io/components/mqtt): one entity per message,
//
//   - <prefix>/sensor/<object_id>/state: the value as text ("21.5");
//     "nan" (a failed reading) and "unavailable" are left out with the
//     reason, without error;
//   - <prefix>/binary_sensor/<object_id>/state: "ON" or "OFF", 1 or 0;
//   - <prefix>/climate/<object_id>/current_temperature/state (and
//     current_humidity): the climate's measured value;
//   - a JSON object as payload (a lambda or a template publishing
//     several values): "state" or "value" is the entity's value, any
//     other member a value of its own, field "<object_id>.<member>".
//
// The payload carries no unit (it lives in the Home Assistant discovery
// message): the quantity and its unit come from the object_id
// ("living_room_temperature" → temperature in Cel, "wifi_signal" → rssi
// in dBm, "door" → open), in the quantity's own unit; a pressure above
// 2000 is taken in Pa, a battery voltage above 100 in mV. Where the
// unit cannot be assumed (an energy: Wh or kWh), the value is a
// reading without quantity, and the field is listed with the reason.
// A name that says nothing known gives a reading without quantity too.
//
// Source is the topic prefix, the node name unless the configuration sets
// topic_prefix. Availability (<prefix>/status), commands and other
// components (switch, light, text_sensor…) are ErrNotReading.
func ESPHome() Decoder { return esphomeDecoder{} }

type esphomeDecoder struct{}

func (esphomeDecoder) Decode(m Message) (Result, error) {
	prefix, component, object, err := esphomeTopic(m.Topic)
	if err != nil {
		return Result{}, err
	}
	r := &readings{source: prefix}
	payload := bytes.TrimSpace(m.Payload)
	if len(payload) > MaxPayload {
		return Result{}, fmt.Errorf("esphome %s: %w", object, ErrTooLarge)
	}
	if len(payload) > 0 && payload[0] == '{' {
		obj, err := parseJSObject(payload)
		if err != nil {
			return Result{}, fmt.Errorf("esphome %s: %w", object, err)
		}
		for _, mb := range obj {
			if k := strings.ToLower(mb.key); k == "state" || k == "value" {
				esphomeValue(r, component, object+"."+mb.key, object, mb.val)
				continue
			}
			if s, ok := mb.val.(string); ok {
				if _, _, reason := numberOfString(s); reason != "" {
					if _, known := inferName(mb.key); known && looksMissing(s) {
						r.skip(object+"."+mb.key, reason)
					}
					continue // text: metadata
				}
			}
			r.value(object+"."+mb.key, mb.key, mb.val, "")
		}
		return r.res, nil
	}
	esphomeValue(r, component, object, object, string(payload))
	return r.res, nil
}

func esphomeValue(r *readings, component, field, name string, v any) {
	g, ok := inferName(name)
	if component == "binary_sensor" {
		b, isBool := boolOf(v)
		if !isBool {
			r.skip(field, fmt.Sprintf("%s is not ON or OFF", strconv.Quote(truncate(fmt.Sprint(v)))))
			return
		}
		f := 0.0
		if b {
			f = 1
		}
		if !ok || !g.binary {
			r.res.Readings = append(r.res.Readings, Reading{Source: r.source, Field: field, Unit: "/", Value: f, Time: r.time})
			r.skip(field, "no known quantity for "+strconv.Quote(truncate(name)))
			return
		}
		r.guessed(field, g, f != 0, "")
		return
	}
	if !ok {
		if _, _, reason := numberOf(v); reason != "" {
			r.skip(field, reason)
			return
		}
		r.unknownValue(field, v, "", "no known quantity for "+strconv.Quote(truncate(name)))
		return
	}
	if g.binary {
		// A sensor (not a binary_sensor) named like a binary quantity: a
		// count of motions, or 0/1.
		if b, isBool := boolOf(v); isBool {
			v = b
		}
	}
	r.guessed(field, g, v, "")
}

// esphomeComponents are the components whose state is a reading.
var esphomeComponents = map[string]bool{"sensor": true, "binary_sensor": true}

func esphomeTopic(topic string) (prefix, component, object string, err error) {
	parts := strings.Split(topic, "/")
	n := len(parts)
	if n >= 2 && (parts[n-1] == "status" || parts[n-1] == "debug") {
		return "", "", "", fmt.Errorf("esphome: %w: %q is the node's availability or log", ErrNotReading, truncate(topic))
	}
	if n < 4 || parts[n-1] != "state" {
		if n >= 2 && parts[n-1] == "command" {
			return "", "", "", fmt.Errorf("esphome: %w: %q is a command topic", ErrNotReading, truncate(topic))
		}
		return "", "", "", fmt.Errorf("esphome: %w: topic %q is not <prefix>/<component>/<object_id>/state", ErrNotFormat, truncate(topic))
	}
	if n >= 5 && parts[n-4] == "climate" && (parts[n-2] == "current_temperature" || parts[n-2] == "current_humidity") {
		prefix = strings.Join(parts[:n-4], "/")
		component, object = "sensor", parts[n-3]+"."+strings.TrimPrefix(parts[n-2], "current_")
	} else {
		prefix = strings.Join(parts[:n-3], "/")
		component, object = parts[n-3], parts[n-2]
		if !esphomeComponents[component] {
			return "", "", "", fmt.Errorf("esphome %s: %w: a %s's state is no measurement", truncate(object), ErrNotReading, truncate(component))
		}
	}
	if strings.TrimSpace(prefix) == "" {
		return "", "", "", fmt.Errorf("esphome: %w: topic %q has no prefix", ErrNoDevice, truncate(topic))
	}
	if object == "" {
		return "", "", "", fmt.Errorf("esphome: %w: topic %q has no object_id", ErrNotFormat, truncate(topic))
	}
	return prefix, component, object, nil
}
