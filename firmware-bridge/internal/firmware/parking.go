package firmware

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Parking returns the decoder of parking bay events: a bay's sensor says
// a vehicle arrived or left, read as occupancy 1 or 0 (unit "/") at the
// event's time.
//
// Nedap's SENSIT system publishes bay events (Bay Entry, Bay Exit, Bay
// Overstay) with the bay's id and its parking lot's name through its
// interface software; its JSON is not public, so this decoder reads the
// shape such events take, in Nedap's and other vendors' spellings
// (Nwave's status_change, generic webhooks), and its assumptions are:
//
//   - a message is one event object, or an array of them, or an object
//     with an "events" (or "data") array; each event gives one reading;
//   - the bay is the first of bayId, bay_id, bayNumber, spaceId,
//     parkingSpaceId, sensorId, deviceId, device_id, devEui, id, bay,
//     space, sensor (a string or number; an object's id or name); when
//     a parking lot is named (parkingLot, parkingLotName, lotId, lot,
//     zone), Source is "<lot>/<bay>", since bay numbers repeat from lot
//     to lot; an event with no bay takes the topic's last level;
//   - the state is read, in this order, from occupied, occupancy,
//     vehicle_present, presence, new_status, status, state (true/false,
//     1/0, "OCCUPIED", "FREE", "VACANT", "EMPTY", "AVAILABLE", "BUSY"…),
//     then from event, eventType, event_type, type, message_type
//     ("BAY_ENTRY", "BayEntry", "entry", "arrival", "enter" → 1;
//     "BAY_EXIT", "exit", "departure", "leave" → 0; "BAY_OVERSTAY",
//     "overstay" → 1, the vehicle is still there); an event whose state
//     cannot be read is left out with the reason (an error when it is
//     the only one);
//   - the time is the first of timestamp, eventTime, event_time, time,
//     occurredAt, detectedAt, datetime, ts (RFC 3339 with a zone, or
//     Unix seconds or milliseconds); none means "when received";
//   - battery, temperature, rssi… beside the state are read by inference
//     (health readings for battery and radio); other members are ignored.
//
// Field is the member that gave the state ("eventType",
// "events[2].status").
func Parking() Decoder { return parkingDecoder{} }

type parkingDecoder struct{}

var (
	parkingBayKeys   = []string{"bayId", "bay_id", "bayNumber", "spaceId", "parkingSpaceId", "sensorId", "deviceId", "device_id", "devEui", "id", "bay", "space", "sensor"}
	parkingLotKeys   = []string{"parkingLot", "parkingLotName", "parkingLotId", "lotId", "lot", "zone"}
	parkingStateKeys = []string{"occupied", "occupancy", "vehicle_present", "presence", "new_status", "status", "state"}
	parkingEventKeys = []string{"event", "eventType", "event_type", "type", "message_type"}
	parkingTimeKeys  = []string{"timestamp", "eventTime", "event_time", "time", "occurredAt", "detectedAt", "datetime", "ts"}
)

// parkingWords are the state words, folded (lower case, no '_' or '-').
var parkingWords = map[string]float64{
	"occupied": 1, "occupy": 1, "busy": 1, "taken": 1, "true": 1, "1": 1, "present": 1, "in": 1, "carin": 1,
	"entry": 1, "bayentry": 1, "arrival": 1, "arrive": 1, "arrived": 1, "enter": 1, "entered": 1, "vehicleentry": 1,
	"overstay": 1, "bayoverstay": 1, "parked": 1,
	"free": 0, "vacant": 0, "empty": 0, "available": 0, "unoccupied": 0, "false": 0, "0": 0, "absent": 0, "out": 0, "carout": 0,
	"exit": 0, "bayexit": 0, "departure": 0, "depart": 0, "departed": 0, "leave": 0, "left": 0, "vehicleexit": 0,
}

func (parkingDecoder) Decode(m Message) (Result, error) {
	v, err := parseJS(m.Payload)
	if err != nil {
		return Result{}, fmt.Errorf("parking: %w: not JSON: %v", ErrNotFormat, err)
	}
	fallback := ""
	if m.Topic != "" {
		parts := strings.Split(m.Topic, "/")
		for i := len(parts) - 1; i >= 0; i-- {
			switch strings.ToLower(parts[i]) {
			case "event", "events", "status", "state", "up", "":
				continue
			}
			fallback = parts[i]
			break
		}
	}
	var events []any
	prefix := ""
	switch x := v.(type) {
	case []any:
		events = x
	case jsObject:
		if k, list, ok := x.getFold("events", "data"); ok {
			if arr, ok := list.([]any); ok {
				events, prefix = arr, k
				break
			}
		}
		events = []any{x}
	default:
		return Result{}, fmt.Errorf("parking: %w: a JSON %s, not an event", ErrNotFormat, jsKind(v))
	}
	var res Result
	var firstErr error
	for i, e := range events {
		path := ""
		if len(events) > 1 || prefix != "" {
			path = fmt.Sprintf("[%d]", i)
			if prefix != "" {
				path = prefix + path
			}
		}
		rr, err := parkingEvent(e, path, fallback)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			res.Unknown = append(res.Unknown, FieldError{Field: orWhole(path), Reason: err.Error()})
			continue
		}
		res.Readings = append(res.Readings, rr.Readings...)
		res.Unknown = append(res.Unknown, rr.Unknown...)
	}
	if len(res.Readings) == 0 && firstErr != nil {
		return Result{}, fmt.Errorf("parking: %w", firstErr)
	}
	return res, nil
}

func orWhole(path string) string {
	if path == "" {
		return "event"
	}
	return path
}

func parkingEvent(e any, path, fallback string) (Result, error) {
	ev, ok := e.(jsObject)
	if !ok {
		return Result{}, fmt.Errorf("%w: a JSON %s, not an event object", ErrNotFormat, jsKind(e))
	}
	bay := parkingID(ev, parkingBayKeys)
	if bay == "" {
		bay = fallback
	}
	if bay == "" {
		return Result{}, fmt.Errorf("%w: no bay or sensor id (bayId, sensorId, deviceId, id…)", ErrNoDevice)
	}
	if lot := parkingID(ev, parkingLotKeys); lot != "" {
		bay = lot + "/" + bay
	}
	r := &readings{source: bay}
	if k, tv, ok := ev.getFold(parkingTimeKeys...); ok {
		if t, err := parseTimeValue(tv); err == nil {
			r.time = t
		} else {
			r.skip(joinPath(path, k), err.Error())
		}
	}
	used := ""
	value, found := 0.0, false
	var tried []string
	seen := map[string]bool{}
	for _, keys := range [][]string{parkingStateKeys, parkingEventKeys} {
		for _, want := range keys {
			for _, mb := range ev {
				if foldKey(mb.key) != foldKey(want) {
					continue
				}
				if f, ok := parkingState(mb.val); ok {
					used, value, found = mb.key, f, true
				} else if !seen[mb.key] {
					seen[mb.key] = true
					tried = append(tried, fmt.Sprintf("%s=%s", mb.key, truncate(fmt.Sprint(jsText(mb.val)))))
				}
				break
			}
			if found {
				break
			}
		}
		if found {
			break
		}
	}
	if !found {
		if len(tried) > 0 {
			return Result{}, fmt.Errorf("no occupancy state: %s is no known state", strings.Join(tried, ", "))
		}
		return Result{}, fmt.Errorf("no occupancy state (occupied, status, event…)")
	}
	r.res.Readings = append(r.res.Readings, Reading{
		Source: r.source, Field: joinPath(path, used), Quantity: "occupancy", Unit: "/", Value: value, Time: r.time,
	})
	// What else the sensor says about itself.
	for _, mb := range ev {
		if mb.key == used {
			continue
		}
		if _, isNum := mb.val.(json.Number); !isNum {
			continue
		}
		if g, ok := inferName(mb.key); ok && !g.binary && !isSetting(mb.key) {
			r.guessed(joinPath(path, mb.key), g, mb.val, "")
		}
	}
	return r.res, nil
}

// parkingID returns the first id among keys, a string or a number, or an
// object's id or name.
func parkingID(ev jsObject, keys []string) string {
	for _, want := range keys {
		for _, mb := range ev {
			if foldKey(mb.key) != foldKey(want) {
				continue
			}
			switch x := mb.val.(type) {
			case string:
				if s := strings.TrimSpace(x); s != "" {
					return s
				}
			case json.Number:
				return string(x)
			case jsObject:
				if _, v, ok := x.getFold("id", "name"); ok {
					switch y := v.(type) {
					case string:
						if s := strings.TrimSpace(y); s != "" {
							return s
						}
					case json.Number:
						return string(y)
					}
				}
			}
		}
	}
	return ""
}

func parkingState(v any) (float64, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case json.Number:
		switch string(x) {
		case "0":
			return 0, true
		case "1":
			return 1, true
		}
	case string:
		f, ok := parkingWords[foldKey(strings.TrimSpace(x))]
		return f, ok
	}
	return 0, false
}

func jsText(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("%q", x)
	case json.Number:
		return string(x)
	case bool, nil:
		return fmt.Sprint(x)
	}
	return "a JSON " + jsKind(v)
}
