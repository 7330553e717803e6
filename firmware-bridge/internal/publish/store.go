package publish

import (
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// ackStore wraps paho's store (memory or files) to see what paho holds:
// paho puts every QoS 1 PUBLISH under "o.{message id}" before sending it,
// and deletes that key when the broker's PUBACK arrives. Counting those
// keys gives the packs in flight (including those a previous run left in
// a file store), and each deletion is an acknowledgement.
//
// It also makes two of paho's rough edges safe: a failing file store
// (disk full, unreadable file) panics inside paho, and All, which orders
// resent messages, sorts files by modification time, whose resolution is
// a clock tick. Here a failure is logged instead, and outbound publish
// keys come back in the order of their message ids, which paho allocates
// in sequence.
type ackStore struct {
	store mqtt.Store
	log   *slog.Logger
	acked func() // called after each PUBACK, outside the lock

	mu    sync.Mutex
	held  map[string]bool // outbound PUBLISH keys in the store
	acks  uint64
	fails *limiter
}

func newAckStore(s mqtt.Store, log *slog.Logger, fails *limiter, acked func()) *ackStore {
	return &ackStore{store: s, log: log, acked: acked, held: map[string]bool{}, fails: fails}
}

// guard turns a panic of the wrapped store into a log line.
func (s *ackStore) guard(op, key string) {
	if r := recover(); r != nil {
		if skipped, ok := s.fails.allow(time.Now()); ok {
			s.log.Error("message store failed", "op", op, "key", key, "err", r, "unlogged", skipped)
		}
	}
}

// Open implements mqtt.Store; the first call also counts the publications
// left by a previous run.
func (s *ackStore) Open() {
	defer s.guard("open", "")
	s.store.Open()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.store.All() {
		if strings.HasPrefix(k, "o.") && !s.held[k] {
			if _, ok := s.store.Get(k).(*packets.PublishPacket); ok {
				s.held[k] = true
			}
		}
	}
}

// Put implements mqtt.Store.
func (s *ackStore) Put(key string, m packets.ControlPacket) {
	defer s.guard("put", key)
	s.store.Put(key, m)
	if _, ok := m.(*packets.PublishPacket); ok && strings.HasPrefix(key, "o.") {
		s.mu.Lock()
		s.held[key] = true
		s.mu.Unlock()
	}
}

// Get implements mqtt.Store.
func (s *ackStore) Get(key string) packets.ControlPacket {
	defer s.guard("get", key)
	return s.store.Get(key)
}

// All implements mqtt.Store: other keys first, then the outbound ones in
// the order paho gave them their ids (ids wrap at 65535; those in flight
// are far fewer, so the largest gap between two of them is where the
// sequence starts).
func (s *ackStore) All() []string {
	defer s.guard("all", "")
	var other []string
	type kid struct {
		key string
		id  int
	}
	var out []kid
	for _, k := range s.store.All() {
		id, err := strconv.ParseUint(strings.TrimPrefix(k, "o."), 10, 16)
		if !strings.HasPrefix(k, "o.") || err != nil {
			other = append(other, k)
			continue
		}
		out = append(out, kid{k, int(id)})
	}
	slices.SortFunc(out, func(a, b kid) int { return a.id - b.id })
	start, gap := 0, 0
	for i := range out {
		prev := out[(i+len(out)-1)%len(out)].id
		d := (out[i].id - prev + 65536) % 65536
		if d > gap {
			start, gap = i, d
		}
	}
	keys := other
	for i := range out {
		keys = append(keys, out[(start+i)%len(out)].key)
	}
	return keys
}

// Del implements mqtt.Store. Paho deletes an outbound PUBLISH on its
// PUBACK only (it resets the store on a clean session, which this package
// does not use).
func (s *ackStore) Del(key string) {
	defer s.guard("del", key)
	s.store.Del(key)
	s.mu.Lock()
	was := s.held[key]
	delete(s.held, key)
	if was {
		s.acks++
	}
	s.mu.Unlock()
	if was && s.acked != nil {
		s.acked()
	}
}

// Close implements mqtt.Store.
func (s *ackStore) Close() {
	defer s.guard("close", "")
	s.store.Close()
}

// Reset implements mqtt.Store.
func (s *ackStore) Reset() {
	defer s.guard("reset", "")
	s.store.Reset()
	s.mu.Lock()
	clear(s.held)
	s.mu.Unlock()
}

// inFlight returns how many publications paho holds, unacknowledged.
func (s *ackStore) inFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.held)
}

// acknowledged returns how many PUBACKs arrived since the start.
func (s *ackStore) acknowledged() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acks
}
