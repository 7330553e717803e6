package firmware

import (
	"fmt"
	"strings"
)

// ChirpStack returns the decoder of ChirpStack v4's uplink events
// (https://www.chirpstack.io/docs/chirpstack/integrations/events.html),
// in the JSON of the MQTT integration (topic
// application/<application_id>/device/<dev_eui>/event/up) or of the HTTP
// integration (no topic):
//
//	{"deduplicationId":…, "time":"…Z", "deviceInfo":{"devEui":"…",…},
//	 "fCnt":…, "fPort":…, "data":"<base64>", "object":{…},
//	 "rxInfo":[{"gatewayId":…,"rssi":-57,"snr":10.2,…}], "txInfo":{…}}
//
// "object" is what the device profile's codec decoded: its fields are
// read by inference (see codecValue), field "object.<path>"
// ("object.TempC_SHT", "object.temperatureSensor.1"). Without "object"
// the message fails with ErrNoCodec: ChirpStack sets it only when the
// device profile has a codec, and the raw bytes are the device's own
// format. The best gateway's rssi (dBm) and snr (dB) are health
// readings, field "rxInfo[<i>].rssi". "time" is the readings' time;
// fCnt, data and txInfo are ignored.
//
// Source is deviceInfo.devEui (else the topic's), in lower case. Other
// events (join, status, ack, txack, log, location, integration) are
// ErrNotReading; ChirpStack v3's events (devEUI, objectJSON) are
// ErrNotFormat.
func ChirpStack() Decoder { return chirpstackDecoder{} }

type chirpstackDecoder struct{}

func (chirpstackDecoder) Decode(m Message) (Result, error) {
	topicEUI := ""
	if m.Topic != "" {
		parts := strings.Split(m.Topic, "/")
		n := len(parts)
		if n < 6 || parts[0] != "application" || parts[2] != "device" || parts[4] != "event" {
			return Result{}, fmt.Errorf("chirpstack: %w: topic %q is not application/<id>/device/<dev_eui>/event/up", ErrNotFormat, truncate(m.Topic))
		}
		if parts[5] != "up" || n > 6 {
			return Result{}, fmt.Errorf("chirpstack: %w: a %s event, not an uplink", ErrNotReading, truncate(strings.Join(parts[5:], "/")))
		}
		topicEUI = parts[3]
	}
	obj, err := parseJSObject(m.Payload)
	if err != nil {
		return Result{}, fmt.Errorf("chirpstack: %w", err)
	}
	if _, ok := obj.get("objectJSON"); ok {
		return Result{}, fmt.Errorf("chirpstack: %w: a ChirpStack v3 event (objectJSON); v4 is expected", ErrNotFormat)
	}
	info := obj.object("deviceInfo")
	if info == nil && topicEUI == "" {
		return Result{}, fmt.Errorf("chirpstack: %w: no deviceInfo object", ErrNotFormat)
	}
	eui, ok := devEUI(info.str("devEui"))
	if !ok {
		if eui, ok = devEUI(topicEUI); !ok {
			return Result{}, fmt.Errorf("chirpstack: %w: deviceInfo.devEui %q is not 16 hexadecimal digits", ErrNoDevice, truncate(info.str("devEui")))
		}
	}
	r := &readings{source: eui}
	if v, ok := obj.get("time"); ok {
		if t, err := parseTimeValue(v); err == nil {
			r.time = t
		} else {
			r.skip("time", err.Error())
		}
	}
	object, hasObject := obj.get("object")
	if !hasObject || object == nil {
		if _, hasData := obj.get("data"); !hasData {
			return Result{}, fmt.Errorf("chirpstack %s: %w: the uplink has no application payload (fPort 0, MAC commands only)", eui, ErrNotReading)
		}
		return Result{}, fmt.Errorf("chirpstack %s: %w", eui, ErrNoCodec)
	}
	codecValue(r, "object", "", object)
	if rx, ok := obj.get("rxInfo"); ok {
		if arr, ok := rx.([]any); ok {
			bestGateway(r, "rxInfo", arr, "rssi")
		}
	}
	return r.res, nil
}
