package broker

import (
	"errors"
	"net"
	"sync"
	"time"
)

// bucket is a token bucket: it holds at most burst tokens and gains rate
// tokens per second. It is not safe for concurrent use on its own.
type bucket struct {
	tokens float64
	last   time.Time
}

// refill adds the tokens earned since the last refill, up to burst.
func (b *bucket) refill(now time.Time, rate, burst float64) {
	if b.last.IsZero() {
		b.tokens, b.last = burst, now
		return
	}
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(burst, b.tokens+d.Seconds()*rate)
		b.last = now
	}
}

// rateLimit is one token bucket, safe for concurrent use.
type rateLimit struct {
	mu          sync.Mutex
	rate, burst float64
	b           bucket
	now         func() time.Time
}

func newRateLimit(rate, burst float64, now func() time.Time) *rateLimit {
	if now == nil {
		now = time.Now
	}
	return &rateLimit{rate: rate, burst: max(burst, 1), now: now}
}

// allow takes a token and reports whether there was one.
func (r *rateLimit) allow() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.b.refill(r.now(), r.rate, r.burst)
	if r.b.tokens < 1 {
		return false
	}
	r.b.tokens--
	return true
}

// failureLimit counts failures per key (a client address, a username) in
// token buckets: each failure takes a token, tokens come back at rate per
// second up to burst, and a key without tokens is blocked. The number of
// keys is bounded (keys come from the network): when the table is full,
// keys whose bucket is full again are forgotten, and if none is, new keys
// share one overflow bucket — under a wide attack, new addresses are then
// limited together, which errs on the side of refusing.
type failureLimit struct {
	mu          sync.Mutex
	rate, burst float64
	maxKeys     int
	keys        map[string]*bucket
	overflow    bucket
	now         func() time.Time
}

func newFailureLimit(rate, burst float64, maxKeys int, now func() time.Time) *failureLimit {
	if now == nil {
		now = time.Now
	}
	return &failureLimit{rate: rate, burst: burst, maxKeys: maxKeys, keys: make(map[string]*bucket), now: now}
}

// blocked reports whether key has no failure left to spend.
func (f *failureLimit) blocked(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.keys[key]
	if b == nil {
		if len(f.keys) < f.maxKeys {
			return false // a new key starts full
		}
		b = &f.overflow
	}
	b.refill(f.now(), f.rate, f.burst)
	return b.tokens < 1
}

// fail spends one failure of key.
func (f *failureLimit) fail(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	b := f.keys[key]
	if b == nil {
		if len(f.keys) >= f.maxKeys {
			f.forgetIdle(now)
		}
		if len(f.keys) >= f.maxKeys {
			b = &f.overflow
		} else {
			b = &bucket{}
			f.keys[key] = b
		}
	}
	b.refill(now, f.rate, f.burst)
	b.tokens = max(b.tokens-1, 0)
}

// forget drops key: its failures are forgiven (a successful login).
func (f *failureLimit) forget(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.keys, key)
}

func (f *failureLimit) forgetIdle(now time.Time) {
	for k, b := range f.keys {
		if b.refill(now, f.rate, f.burst); b.tokens >= f.burst {
			delete(f.keys, k)
		}
	}
}

// limitedListener refuses connections beyond a rate, by closing them as
// soon as they are accepted — before a TLS handshake or a CONNECT packet
// costs anything — and gives every accepted connection a deadline for its
// handshake and CONNECT (the broker replaces it with the keep-alive once
// connected).
//
// Accept never returns an error other than net.ErrClosed: mochi's listener
// stops serving on the first error, so a failure such as EMFILE is waited
// out, as net/http does.
type limitedListener struct {
	net.Listener
	limit    *rateLimit
	deadline time.Duration
	refused  func()
}

func (l *limitedListener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil, err
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			time.Sleep(delay)
			continue
		}
		delay = 0
		if !l.limit.allow() {
			c.Close()
			if l.refused != nil {
				l.refused()
			}
			continue
		}
		if l.deadline > 0 {
			c.SetDeadline(time.Now().Add(l.deadline))
		}
		return c, nil
	}
}
