// Package firmware turns what devices and their firmwares send — MQTT
// payloads of Tasmota, ESPHome, Zigbee2MQTT, LoRaWAN network servers
// (ChirpStack v4, The Things Stack v3), Sensor.Community HTTP pushes,
// parking bay events, and serial streams (Linky TIC, SDS011, PMS5003) —
// into readings with SenML quantity names and units, before any mapping to
// a register entry.
//
// A [Decoder] reads one message; a [StreamDecoder] reads a byte stream
// (a serial line) frame by frame. Both report what they could not
// interpret field by field ([FieldError]) and keep every valid reading of
// a half-valid message. [Formats] lists them by the name the command line
// uses (firmware-bridge decode --format <name>).
package firmware

import (
	"fmt"
	"io"
	"time"
)

// Reading is one value a device reported, before mapping.
type Reading struct {
	// Source names the device as its format does: the device part of a
	// Tasmota or ESPHome topic, a Zigbee2MQTT friendly name, a LoRaWAN
	// DevEUI (lower-case hex), a Sensor.Community chip id ("esp8266-1234"),
	// a meter's address (Linky ADCO/ADSC), a serial port.
	Source string
	// Field is the device's own name for the value, as a path when it is
	// nested: "ENERGY.Total", "BME280.Temperature", "object.temperature",
	// "SDS_P2", "EAST".
	Field string
	// Quantity is the SenML quantity name inferred ("temperature",
	// "humidity", "pm2_5", "energy", "battery", "rssi"…), Unit its SenML
	// unit ("Cel", "%RH", "ug/m3", "Wh", "%", "dBW"…), Value converted to
	// that unit. Quantity is empty when the field could not be inferred
	// (then it is also listed in Result.Unknown).
	Quantity string
	Unit     string
	Value    float64
	// Time is when the device measured, when the message says so; zero
	// means "when received".
	Time time.Time
	// Health marks device-health quantities (battery, RSSI, SNR, link
	// quality), kept apart from what the sensor measures.
	Health bool
}

// FieldError is a field a decoder could not interpret, and why.
type FieldError struct {
	Field  string
	Reason string
}

func (e FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Reason) }

// Result is what one message or frame gave.
type Result struct {
	Readings []Reading
	// Unknown lists the fields left out: not a number, no known quantity,
	// out of the format's own range, a bad checksum…
	Unknown []FieldError
}

// Message is what a [Decoder] reads: an MQTT message, or an HTTP request.
type Message struct {
	Topic   string
	Payload []byte
	// Header holds HTTP request headers (Sensor.Community sends the chip
	// id in X-Sensor); nil for MQTT.
	Header map[string]string
	// Received is when the message arrived.
	Received time.Time
}

// Decoder decodes the messages of one format. Decode returns an error
// only when the message as a whole is unusable (not the format, no
// device, "no codec"); a message with some bad fields returns its good
// readings and lists the others in Result.Unknown.
type Decoder interface {
	Decode(m Message) (Result, error)
}

// StreamDecoder decodes a byte stream of one format (a serial line): it
// calls emit for every valid frame, drops a corrupt frame or group alone
// (reported in the Result of its frame, or skipped when nothing of it can
// be trusted), and returns at the end of r (nil) or on emit's error.
type StreamDecoder interface {
	DecodeStream(r io.Reader, emit func(Result) error) error
}

// Format is a format the bridge reads.
type Format struct {
	Name string // as the command line writes it: "tasmota", "tic"…
	// Doc is one line for the command's help.
	Doc string
	// Exactly one of Decoder and Stream is set.
	Decoder Decoder
	Stream  StreamDecoder
}
