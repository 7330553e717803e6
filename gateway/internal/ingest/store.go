package ingest

import (
	"strings"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// outboundStore is paho's memory store without the inbound messages.
//
// paho keeps every QoS 1 message it receives in its store ("i.<id>")
// until the handler acknowledges it, and takes it out when the PUBACK
// leaves: a map write and a delete under a lock for every message, for
// nothing here. The ingester subscribes at QoS 1 only, and after a
// reconnection paho does not deliver a stored inbound PUBLISH again (it
// resumes only QoS 2's PUBREL, which never comes): the broker, which
// keeps the persistent session, redelivers every unacknowledged message
// itself. Outbound packets (SUBSCRIBE) are kept as paho keeps them.
type outboundStore struct {
	paho.Store
}

func newOutboundStore() *outboundStore { return &outboundStore{paho.NewMemoryStore()} }

func inboundKey(key string) bool { return strings.HasPrefix(key, "i.") }

func (s *outboundStore) Put(key string, m packets.ControlPacket) {
	if !inboundKey(key) {
		s.Store.Put(key, m)
	}
}

func (s *outboundStore) Get(key string) packets.ControlPacket {
	if inboundKey(key) {
		return nil
	}
	return s.Store.Get(key)
}

func (s *outboundStore) Del(key string) {
	if !inboundKey(key) {
		s.Store.Del(key)
	}
}
