// Package ratelog writes at most one log line per key and interval, and
// counts the lines it held back, so that a chatty or broken sensor cannot
// flood the log (nor wear out a Raspberry Pi's SD card).
//
// A key names what repeats, e.g. "out_of_range/air-01". The first line of a
// key is written; the next ones within the interval are only counted; the
// first line after the interval is written with the attribute
// suppressed=N, the number of lines held back since the previous one. Lines
// held back and never followed by another of the same key are not written:
// the gateway's counters keep the exact numbers, the log only the examples.
//
// The number of keys is bounded (keys can come from the network): when the
// table is full, keys whose interval is over are forgotten, and if none is,
// new keys share one overflow key.
//
// The clock is injected, for tests.
package ratelog

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Defaults of [New].
const (
	DefaultInterval = time.Minute
	DefaultMaxKeys  = 1024
	// OverflowKey is the key that lines share when the table is full.
	OverflowKey = "(overflow)"
)

// Limiter writes rate-limited log lines. It is safe for concurrent use.
type Limiter struct {
	log     *slog.Logger
	every   time.Duration
	now     func() time.Time
	maxKeys int

	mu   sync.Mutex
	keys map[string]*state
}

type state struct {
	last       time.Time // when a line of the key was last written
	suppressed int       // lines held back since then
}

// New returns a limiter that writes to log at most one line per key every
// interval (DefaultInterval if zero), reading the time from now (time.Now if
// nil).
func New(log *slog.Logger, every time.Duration, now func() time.Time) *Limiter {
	if every <= 0 {
		every = DefaultInterval
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{log: log, every: every, now: now, maxKeys: DefaultMaxKeys, keys: make(map[string]*state)}
}

// SetMaxKeys bounds the number of keys remembered (DefaultMaxKeys unless set).
func (l *Limiter) SetMaxKeys(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.maxKeys = max(n, 1)
}

// Log writes msg with args at level, unless a line of the same key was
// written less than an interval ago; it reports whether it wrote.
func (l *Limiter) Log(ctx context.Context, level slog.Level, key, msg string, args ...any) bool {
	if !l.log.Enabled(ctx, level) {
		return false
	}
	now := l.now()
	l.mu.Lock()
	s := l.keys[key]
	if s == nil && len(l.keys) >= l.maxKeys {
		l.forgetExpired(now)
		if len(l.keys) >= l.maxKeys {
			key = OverflowKey
			s = l.keys[key]
		}
	}
	switch {
	case s == nil: // a new key: write
		s = &state{}
		l.keys[key] = s
	case now.Sub(s.last) < l.every:
		s.suppressed++
		l.mu.Unlock()
		return false
	}
	suppressed := s.suppressed
	s.last, s.suppressed = now, 0
	l.mu.Unlock()

	if suppressed > 0 {
		args = append(args, slog.Int("suppressed", suppressed))
	}
	if key == OverflowKey {
		args = append(args, slog.Bool("overflow", true))
	}
	l.log.Log(ctx, level, msg, args...)
	return true
}

func (l *Limiter) forgetExpired(now time.Time) {
	for k, s := range l.keys {
		if now.Sub(s.last) >= l.every {
			delete(l.keys, k)
		}
	}
}
