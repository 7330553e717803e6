package firmware

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzMessages fuzzes a message decoder from its golden payloads: whatever
// the topic and payload, Decode must not panic, and what it returns must
// pass checkMessageResult.
func fuzzMessages(f *testing.F, format string, dec Decoder) {
	dirs, _ := filepath.Glob(filepath.Join("testdata", format, "*"))
	for _, dir := range dirs {
		m := Message{}
		if b, err := os.ReadFile(filepath.Join(dir, "topic.txt")); err == nil {
			m.Topic = strings.TrimSpace(string(b))
		}
		for _, name := range []string{"payload.json", "payload.txt"} {
			if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
				m.Payload = b
			}
		}
		f.Add(m.Topic, m.Payload, "")
	}
	f.Fuzz(func(t *testing.T, topic string, payload []byte, xSensor string) {
		m := Message{Topic: topic, Payload: payload, Received: received}
		if xSensor != "" {
			m.Header = map[string]string{"X-Sensor": xSensor}
		}
		res, err := dec.Decode(m)
		checkMessageResult(t, res, err)
	})
}

func FuzzTasmota(f *testing.F)         { fuzzMessages(f, "tasmota", Tasmota()) }
func FuzzESPHome(f *testing.F)         { fuzzMessages(f, "esphome", ESPHome()) }
func FuzzZigbee2MQTT(f *testing.F)     { fuzzMessages(f, "zigbee2mqtt", Zigbee2MQTT()) }
func FuzzChirpStack(f *testing.F)      { fuzzMessages(f, "chirpstack", ChirpStack()) }
func FuzzTheThingsStack(f *testing.F)  { fuzzMessages(f, "thethingsstack", TheThingsStack()) }
func FuzzSensorCommunity(f *testing.F) { fuzzMessages(f, "sensorcommunity", SensorCommunity()) }
func FuzzParking(f *testing.F)         { fuzzMessages(f, "parking", Parking()) }
