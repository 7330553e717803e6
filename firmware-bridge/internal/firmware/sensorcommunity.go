package firmware

import (
	"fmt"
	"strconv"
	"strings"
)

// SensorCommunity returns the decoder of the Sensor.Community (formerly
// luftdaten.info) firmware's HTTP pushes (airrohr firmware, "Send to own
// API" and api.sensor.community/v1/push-sensor-data):
//
//	POST, X-Sensor: esp8266-1234567 (X-Pin: 1 on the public API)
//	{"esp8266id":"1234567","software_version":"NRZ-2020-133",
//	 "sensordatavalues":[{"value_type":"SDS_P1","value":"12.30"},…]}
//
// Values are strings. value_type is the sensor's prefix and the value's
// name; the public API writes the name alone (with X-Pin giving the
// sensor). Read:
//
//	P0 pm1, P1 pm10, P2 pm2_5, P4 pm4 (SDS_, PMS_, HPM_, SPS30_, NPM_… ug/m3)
//	temperature Cel, humidity %RH (DHT22 without prefix, BME280_, SHT3X_, HTU21D_, SCD30_…)
//	pressure, pressure_at_sealevel: sent in Pa, read as hPa like every
//	    pressure of the bridge (BMP_, BMP280_, BME280_)
//	co2 ppm (SCD30_co2) · noise_LAeq, noise_LA_min, noise_LA_max dB (DNMS_)
//	signal: rssi in dBm (health)
//
// samples, min_micro, max_micro, interval (the firmware's loop counters)
// and GPS_ values (where the sensor stands, not what it measures) are
// skipped without a word; another value_type gives a reading without
// quantity, listed as unknown. Field is the value_type.
//
// Source is X-Sensor (esp8266-<chipid> or esp32-<chipid>); without it,
// "esp8266-" followed by esp8266id, which the firmware also sends from an
// ESP32. The push carries no time: the readings take the time of
// reception.
func SensorCommunity() Decoder { return sensorCommunityDecoder{} }

type sensorCommunityDecoder struct{}

// scNames are the value names of the firmware, without the sensor prefix.
var scNames = map[string]guess{
	"p0":                   quantityGuess("pm1", "ug/m3"),
	"p1":                   quantityGuess("pm10", "ug/m3"),
	"p2":                   quantityGuess("pm2_5", "ug/m3"),
	"p4":                   quantityGuess("pm4", "ug/m3"),
	"temperature":          quantityGuess("temperature", "Cel"),
	"humidity":             quantityGuess("humidity", "%RH"),
	"pressure":             quantityGuess("pressure", "Pa"),
	"pressure_at_sealevel": quantityGuess("sea_level_pressure", "Pa"),
	"co2":                  quantityGuess("co2", "ppm"),
	"noise_laeq":           quantityGuess("laeq", "dB"),
	"noise_la_min":         quantityGuess("la_min", "dB"),
	"noise_la_max":         quantityGuess("la_max", "dB"),
	"signal":               quantityGuess("rssi", "dBm"),
}

// scQuiet are the value names skipped without a word.
var scQuiet = map[string]bool{"samples": true, "min_micro": true, "max_micro": true, "interval": true}

func (sensorCommunityDecoder) Decode(m Message) (Result, error) {
	obj, err := parseJSObject(m.Payload)
	if err != nil {
		return Result{}, fmt.Errorf("sensor.community: %w", err)
	}
	values, ok := obj.get("sensordatavalues")
	if !ok {
		return Result{}, fmt.Errorf("sensor.community: %w: no sensordatavalues", ErrNotFormat)
	}
	list, ok := values.([]any)
	if !ok {
		return Result{}, fmt.Errorf("sensor.community: %w: sensordatavalues is a JSON %s, not an array", ErrNotFormat, jsKind(values))
	}
	source := strings.TrimSpace(header(m.Header, "X-Sensor"))
	if source == "" {
		id := ""
		switch v := mustGet(obj, "esp8266id").(type) {
		case string:
			id = strings.TrimSpace(v)
		case fmt.Stringer:
			id = v.String()
		}
		if id == "" {
			return Result{}, fmt.Errorf("sensor.community: %w: no X-Sensor header and no esp8266id", ErrNoDevice)
		}
		source = "esp8266-" + id
	}
	r := &readings{source: source}
	for i, e := range list {
		entry, ok := e.(jsObject)
		if !ok {
			r.skip(fmt.Sprintf("sensordatavalues[%d]", i), "a JSON "+jsKind(e)+", not an object")
			continue
		}
		vt, _ := mustGet(entry, "value_type").(string)
		if vt == "" {
			r.skip(fmt.Sprintf("sensordatavalues[%d]", i), "no value_type")
			continue
		}
		v, ok := entry.get("value")
		if !ok {
			r.skip(vt, "no value")
			continue
		}
		name := strings.ToLower(vt)
		if strings.HasPrefix(name, "gps_") || scQuiet[name] {
			continue
		}
		g, ok := scNames[name]
		if !ok {
			if i := strings.IndexByte(name, '_'); i > 0 {
				g, ok = scNames[name[i+1:]]
				if !ok && scQuiet[name[i+1:]] {
					continue
				}
			}
		}
		if !ok {
			r.unknownValue(vt, v, "", "no known quantity for value_type "+strconv.Quote(truncate(vt)))
			continue
		}
		r.guessed(vt, g, v, "")
	}
	return r.res, nil
}

func mustGet(o jsObject, key string) any {
	v, _ := o.get(key)
	return v
}

// header returns a header's value, its name compared without case.
func header(h map[string]string, name string) string {
	if v, ok := h[name]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
