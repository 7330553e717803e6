package registryapi

import "time"

// PathGatewaySeen is where a gateway reports, every minute or so, when it
// last accepted a reading of each sensor and which sensor ids it refused
// as unknown (POST, role gateway or administrator). The register's quality
// page reads them back: silent sensors, ids absent from the register.
const PathGatewaySeen = "/api/v1/gateway/seen"

// GatewaySeen is the body of POST /api/v1/gateway/seen. It carries what
// changed since the gateway's previous successful report: a gateway that
// saw nothing new sends empty lists.
type GatewaySeen struct {
	// GatewayID names the gateway: its MQTT client id.
	GatewayID string `json:"gateway_id"`
	// SentAt is the gateway's clock when it sent the report; the registry
	// shifts every time of the report by the difference between its own
	// clock and SentAt, so that a gateway without a real-time clock does
	// not date its sensors wrongly. The zero time shifts nothing.
	SentAt time.Time `json:"sent_at"`
	// Sensors are the sensors whose readings the gateway accepted since its
	// previous report, with the time of the latest.
	Sensors []SeenSensor `json:"sensors"`
	// Unknown are the sensor ids absent from the gateway's allow-list that
	// published since its previous report (at most a thousand, the most
	// recent).
	Unknown []SeenUnknown `json:"unknown"`
}

// SeenSensor is when a gateway last accepted a reading of a sensor.
type SeenSensor struct {
	ID       string    `json:"id"`
	LastSeen time.Time `json:"last_seen"`
}

// SeenUnknown is a sensor id that published without being in the
// allow-list: how many of its messages were refused since the previous
// report, and when the latest arrived.
type SeenUnknown struct {
	ID       string    `json:"id"`
	Count    int64     `json:"count"`
	LastSeen time.Time `json:"last_seen"`
}
