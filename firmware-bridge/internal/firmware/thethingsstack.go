package firmware

import (
	"fmt"
	"strings"
)

// TheThingsStack returns the decoder of The Things Stack v3's uplink
// messages (https://www.thethingsindustries.com/docs/reference/data-formats/),
// from its MQTT server (topic v3/<application_id>@<tenant_id>/devices/<device_id>/up,
// "@<tenant_id>" only on multi-tenant clusters) or a webhook (no topic):
//
//	{"end_device_ids":{"device_id":…,"dev_eui":"70B3D57ED005…",…},
//	 "received_at":"…Z",
//	 "uplink_message":{"f_port":…,"frm_payload":"<base64>",
//	   "decoded_payload":{…},
//	   "rx_metadata":[{"gateway_ids":{…},"rssi":-51,"channel_rssi":-51,"snr":7.5,…}],…}}
//
// decoded_payload (what the payload formatter gave) is read by inference
// (see codecValue), field "decoded_payload.<path>"; without it the
// message fails with ErrNoCodec. The best gateway's rssi (or
// channel_rssi) and snr are health readings. received_at is the
// readings' time.
//
// Source is end_device_ids.dev_eui in lower case or, for a device
// registered without one, end_device_ids.device_id. Other messages
// (join, down/…, service/data, location/solved) are ErrNotReading.
func TheThingsStack() Decoder { return ttsDecoder{} }

type ttsDecoder struct{}

func (ttsDecoder) Decode(m Message) (Result, error) {
	if m.Topic != "" {
		parts := strings.Split(m.Topic, "/")
		n := len(parts)
		if n < 5 || parts[0] != "v3" || parts[2] != "devices" {
			return Result{}, fmt.Errorf("the things stack: %w: topic %q is not v3/<application>/devices/<device_id>/up", ErrNotFormat, truncate(m.Topic))
		}
		if parts[4] != "up" || n > 5 {
			return Result{}, fmt.Errorf("the things stack: %w: a %s message, not an uplink", ErrNotReading, truncate(strings.Join(parts[4:], "/")))
		}
	}
	obj, err := parseJSObject(m.Payload)
	if err != nil {
		return Result{}, fmt.Errorf("the things stack: %w", err)
	}
	ids := obj.object("end_device_ids")
	if ids == nil {
		return Result{}, fmt.Errorf("the things stack: %w: no end_device_ids object", ErrNotFormat)
	}
	source, ok := devEUI(ids.str("dev_eui"))
	if !ok {
		source = strings.TrimSpace(ids.str("device_id"))
		if source == "" {
			return Result{}, fmt.Errorf("the things stack: %w: end_device_ids has neither dev_eui nor device_id", ErrNoDevice)
		}
	}
	up := obj.object("uplink_message")
	if up == nil {
		for _, k := range []string{"join_accept", "downlink_ack", "downlink_nack", "downlink_sent", "downlink_failed", "downlink_queued", "location_solved", "service_data"} {
			if _, ok := obj.get(k); ok {
				return Result{}, fmt.Errorf("the things stack %s: %w: a %s message, not an uplink", source, ErrNotReading, k)
			}
		}
		return Result{}, fmt.Errorf("the things stack %s: %w: no uplink_message object", source, ErrNotFormat)
	}
	r := &readings{source: source}
	tv, ok := obj.get("received_at")
	if !ok {
		tv, ok = up.get("received_at")
	}
	if ok {
		if t, err := parseTimeValue(tv); err == nil {
			r.time = t
		} else {
			r.skip("received_at", err.Error())
		}
	}
	decoded, ok := up.get("decoded_payload")
	if !ok || decoded == nil {
		if _, hasData := up.get("frm_payload"); !hasData {
			return Result{}, fmt.Errorf("the things stack %s: %w: the uplink has no application payload", source, ErrNotReading)
		}
		return Result{}, fmt.Errorf("the things stack %s: %w", source, ErrNoCodec)
	}
	codecValue(r, "decoded_payload", "", decoded)
	if rx, ok := up.get("rx_metadata"); ok {
		if arr, ok := rx.([]any); ok {
			bestGateway(r, "rx_metadata", arr, "rssi", "channel_rssi")
		}
	}
	return r.res, nil
}
