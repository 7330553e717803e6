package drivers

import (
	"context"
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/civisens/civisens/firmware-bridge/internal/firmware"
)

// PIRConfig configures a passive infrared motion detector (HC-SR501,
// AM312…) whose output is high while it sees motion. The zero value is
// the default.
type PIRConfig struct {
	// Source names the detector in its readings; default "pir-<pin name>".
	Source string
	// Hold is how long presence lasts after the last motion; default 60 s.
	Hold time.Duration
	// PollTimeout is how long Run waits for an edge before checking its
	// context; default 1 s.
	PollTimeout time.Duration
	// Now is the clock; default time.Now. It timestamps the edges.
	Now func() time.Time
}

// PIR reports presence ("presence", "/": 1 or 0) from a PIR output: 1 while
// the output is high and for Hold after it was last seen high. Run (or
// Step) watches both edges in its own goroutine, so that motion shorter
// than the polling interval is not missed; Read alone still sees the
// level.
type PIR struct {
	pin gpio.PinIn
	cfg PIRConfig
	now func() time.Time

	mu         sync.Mutex
	lastActive time.Time // when the output was last seen high
}

// NewPIR sets the pin up as an input with a pull-down, both edges.
func NewPIR(pin gpio.PinIn, cfg PIRConfig) (*PIR, error) {
	if cfg.Hold == 0 {
		cfg.Hold = time.Minute
	}
	if cfg.PollTimeout == 0 {
		cfg.PollTimeout = time.Second
	}
	if cfg.Source == "" {
		cfg.Source = "pir-" + pin.Name()
	}
	if cfg.Hold < 0 || cfg.PollTimeout < 0 {
		return nil, fmt.Errorf("%s: negative hold or poll timeout", cfg.Source)
	}
	if err := pin.In(gpio.PullDown, gpio.BothEdges); err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Source, err)
	}
	return &PIR{pin: pin, cfg: cfg, now: clockOr(cfg.Now)}, nil
}

// Step waits up to timeout for an edge. Either edge marks activity: a
// rising one starts motion, a falling one ends it (Hold counts from
// there). It reports whether an edge came.
func (p *PIR) Step(timeout time.Duration) bool {
	if !p.pin.WaitForEdge(timeout) {
		return false
	}
	t := p.now()
	p.mu.Lock()
	p.lastActive = t
	p.mu.Unlock()
	return true
}

// Run watches edges until ctx is done, then returns nil.
func (p *PIR) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		p.Step(p.cfg.PollTimeout)
	}
	return nil
}

// Read reports presence at now.
func (p *PIR) Read(ctx context.Context, now time.Time) ([]firmware.Reading, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	high := p.pin.Read() == gpio.High
	p.mu.Lock()
	if high && now.After(p.lastActive) {
		p.lastActive = now
	}
	present := high || (!p.lastActive.IsZero() && now.Sub(p.lastActive) < p.cfg.Hold)
	p.mu.Unlock()
	return []firmware.Reading{
		reading(p.cfg.Source, "PIR.Presence", "presence", unitRatioOne, boolValue(present), now),
	}, nil
}

// Close does nothing: the pin belongs to the program.
func (p *PIR) Close() error { return nil }
