package firmware

import "slices"

// Formats lists every format the bridge reads, by the name the command
// line and the bridge configuration use.
func Formats() []Format {
	return []Format{
		{Name: "tasmota", Doc: "Tasmota tele/<topic>/SENSOR and STATE (JSON; several sensors, ENERGY blocks, TempUnit)", Decoder: Tasmota()},
		{Name: "esphome", Doc: "ESPHome <node>/sensor|binary_sensor/<id>/state (plain text or JSON)", Decoder: ESPHome()},
		{Name: "zigbee2mqtt", Doc: "Zigbee2MQTT zigbee2mqtt/<friendly name> (JSON state, battery, link quality)", Decoder: Zigbee2MQTT()},
		{Name: "chirpstack", Doc: "ChirpStack v4 uplink events (application/<id>/device/<DevEUI>/event/up; decoded object)", Decoder: ChirpStack()},
		{Name: "ttn", Doc: "The Things Stack v3 uplinks (v3/<app>/devices/<id>/up; decoded_payload)", Decoder: TheThingsStack()},
		{Name: "sensor-community", Doc: "Sensor.Community HTTP push (JSON sensordatavalues, X-Sensor header)", Decoder: SensorCommunity()},
		{Name: "parking-events", Doc: "parking bay entry/exit events (Nedap SENSIT style and generic JSON)", Decoder: Parking()},
		{Name: "tic", Doc: "Linky TIC serial stream, historique or standard (7E1)", Stream: TIC()},
		{Name: "sds011", Doc: "Nova SDS011 particulate sensor serial frames (9600 8N1)", Stream: SDS011()},
		{Name: "pms5003", Doc: "Plantower PMS5003/7003/A003 serial frames (9600 8N1)", Stream: PMS5003()},
	}
}

// Names returns the names of Formats, in order.
func Names() []string {
	var out []string
	for _, f := range Formats() {
		out = append(out, f.Name)
	}
	return out
}

// Lookup returns the format named name.
func Lookup(name string) (Format, bool) {
	fs := Formats()
	i := slices.IndexFunc(fs, func(f Format) bool { return f.Name == name })
	if i < 0 {
		return Format{}, false
	}
	return fs[i], true
}
