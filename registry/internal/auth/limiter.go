package auth

import (
	"net/netip"
	"sync"
	"time"
)

// Limiter limits attempts per key in a sliding window: a key that has made
// Max attempts within Window is refused until the oldest of them leaves the
// window. Attempts are recorded before they are checked by the caller
// (a password verification takes time, and concurrent guesses must not slip
// through), and a successful one is taken back with Forget or Undo.
//
// Memory is bounded by MaxKeys keys of at most Max timestamps each. It is
// safe for concurrent use.
type Limiter struct {
	max     int
	window  time.Duration
	maxKeys int
	now     func() time.Time

	mu   sync.Mutex
	keys map[string][]time.Time // attempts in the window, oldest first
}

// NewLimiter returns a limiter of max attempts per window for each key,
// remembering at most maxKeys keys, reading the time from now (nil:
// time.Now).
func NewLimiter(max int, window time.Duration, maxKeys int, now func() time.Time) *Limiter {
	if max < 1 {
		max = 1
	}
	if maxKeys < 1 {
		maxKeys = 1
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{max: max, window: window, maxKeys: maxKeys, now: now, keys: map[string][]time.Time{}}
}

// live returns the attempts of key still in the window at now.
func (l *Limiter) live(key string, now time.Time) []time.Time {
	ts := l.keys[key]
	i := 0
	for i < len(ts) && !ts[i].After(now.Add(-l.window)) {
		i++
	}
	if i == len(ts) {
		delete(l.keys, key)
		return nil
	}
	if i > 0 {
		ts = append(ts[:0], ts[i:]...)
		l.keys[key] = ts
	}
	return ts
}

// Attempt records an attempt for key and returns 0, or, when key has used
// up its attempts, records nothing and returns how long to wait.
func (l *Limiter) Attempt(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	ts := l.live(key, now)
	if len(ts) >= l.max {
		return ts[len(ts)-l.max].Add(l.window).Sub(now)
	}
	if ts == nil {
		l.makeRoom(now)
	}
	l.keys[key] = append(ts, now)
	return 0
}

// Wait returns how long key must wait before its next attempt: 0 when it
// may try now. It records nothing.
func (l *Limiter) Wait(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	ts := l.live(key, now)
	if len(ts) >= l.max {
		return ts[len(ts)-l.max].Add(l.window).Sub(now)
	}
	return 0
}

// Undo takes back the latest attempt of key (a success that should not
// count).
func (l *Limiter) Undo(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := l.keys[key]
	switch len(ts) {
	case 0:
	case 1:
		delete(l.keys, key)
	default:
		l.keys[key] = ts[:len(ts)-1]
	}
}

// Forget forgets every attempt of key.
func (l *Limiter) Forget(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.keys, key)
}

// Len returns the number of keys remembered.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// makeRoom makes room for one more key: it drops the keys whose attempts
// have all left the window, then, if still full, the key whose latest
// attempt is the oldest.
func (l *Limiter) makeRoom(now time.Time) {
	if len(l.keys) < l.maxKeys {
		return
	}
	for k := range l.keys {
		l.live(k, now)
	}
	for len(l.keys) >= l.maxKeys {
		var oldest string
		var at time.Time
		for k, ts := range l.keys {
			if last := ts[len(ts)-1]; oldest == "" || last.Before(at) {
				oldest, at = k, last
			}
		}
		delete(l.keys, oldest)
	}
}

// ClientKey returns the rate-limiting key of a client address: the address
// itself for IPv4, its /64 network for IPv6 (one subscriber's allocation),
// and addr unchanged when it is not an IP address.
func ClientKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, err := ip.WithZone("").Prefix(64)
		if err == nil {
			return p.String()
		}
	}
	return ip.String()
}
