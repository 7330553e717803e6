package drivers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/civisens/civisens/firmware-bridge/internal/firmware"
	"github.com/civisens/civisens/internal/atomicfile"
)

// S0Config configures an S0 pulse counter (DIN 43864 / EN 62053-31 output
// of an electricity meter) on a GPIO. The zero value is the default, except
// StateFile, without which the count restarts from zero.
type S0Config struct {
	// Source names the meter in its readings; default "s0-<pin name>".
	Source string
	// PulsesPerKWh is the meter's constant, printed on it ("1000 imp/kWh",
	// the default; 800, 2000… are common).
	PulsesPerKWh int
	// Debounce is the shortest interval between two counted pulses: an
	// edge closer to the last counted one is noise or bounce and is
	// dropped. S0 pulses last at least 30 ms; default 20 ms.
	Debounce time.Duration
	// ActiveHigh is for wiring where the pulse drives the pin high (S0+ to
	// 3.3 V, S0− to the pin, with a pull-down): rising edges are counted.
	// By default the pulse pulls the pin low (S0− to ground, S0+ to the
	// pin, with the internal pull-up) and falling edges are counted.
	ActiveHigh bool
	// StateFile keeps the pulse count across restarts, written atomically
	// (temporary file, fsync, rename, directory fsync). Empty: not kept.
	StateFile string
	// SaveEvery is the shortest interval between two writes of StateFile
	// (Read writes it when due, Close always): at most this much counting
	// is lost on a power cut, and an SD card is not worn by a write per
	// pulse. Default 60 s.
	SaveEvery time.Duration
	// PollTimeout is how long Run waits for an edge before checking its
	// context; default 1 s.
	PollTimeout time.Duration
	// Now is the clock; default time.Now. It timestamps the pulses.
	Now func() time.Time
}

// s0State is what StateFile holds.
type s0State struct {
	Pulses       int64     `json:"pulses"`
	PulsesPerKWh int       `json:"pulses_per_kwh"`
	Saved        time.Time `json:"saved"`
}

// S0 counts an S0 output's pulses on a GPIO and reports the energy index
// ("energy", Wh: pulses × 1000 / PulsesPerKWh, from an int64 count) and
// the power ("power", W) estimated from the interval between the last two
// pulses, and bounded by the time since the last one so that it falls
// towards zero when the pulses stop.
//
// Run (or Step, one edge at a time) must run in its own goroutine to
// count; Read and Close may be called from another.
type S0 struct {
	pin gpio.PinIn
	cfg S0Config
	now func() time.Time

	saveMu sync.Mutex // one write of StateFile at a time, in order

	mu        sync.Mutex
	pulses    int64
	lastPulse time.Time // zero until the first pulse since start
	interval  time.Duration
	dirty     bool
	lastSave  time.Time
}

// NewS0 loads StateFile (a missing file starts at zero; an unreadable one,
// or one written for another PulsesPerKWh, is an error: an index is never
// reset silently) and sets the pin up for edge detection.
func NewS0(pin gpio.PinIn, cfg S0Config) (*S0, error) {
	if cfg.PulsesPerKWh == 0 {
		cfg.PulsesPerKWh = 1000
	}
	if cfg.Debounce == 0 {
		cfg.Debounce = 20 * time.Millisecond
	}
	if cfg.SaveEvery == 0 {
		cfg.SaveEvery = time.Minute
	}
	if cfg.PollTimeout == 0 {
		cfg.PollTimeout = time.Second
	}
	if cfg.Source == "" {
		cfg.Source = "s0-" + pin.Name()
	}
	if cfg.PulsesPerKWh < 0 || cfg.Debounce < 0 || cfg.SaveEvery < 0 || cfg.PollTimeout < 0 {
		return nil, fmt.Errorf("%s: negative pulses per kWh, debounce, save interval or poll timeout", cfg.Source)
	}
	s := &S0{pin: pin, cfg: cfg, now: clockOr(cfg.Now)}
	if cfg.StateFile != "" {
		b, err := os.ReadFile(cfg.StateFile)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("%s: %w", cfg.Source, err)
		default:
			var st s0State
			if err := json.Unmarshal(b, &st); err != nil {
				return nil, fmt.Errorf("%s: state file %s: %w", cfg.Source, cfg.StateFile, err)
			}
			if st.PulsesPerKWh != cfg.PulsesPerKWh {
				return nil, fmt.Errorf("%s: state file %s counts %d imp/kWh, configured %d: fix the configuration, or move the file away to restart the index from zero",
					cfg.Source, cfg.StateFile, st.PulsesPerKWh, cfg.PulsesPerKWh)
			}
			if st.Pulses < 0 {
				return nil, fmt.Errorf("%s: state file %s: negative count %d", cfg.Source, cfg.StateFile, st.Pulses)
			}
			s.pulses = st.Pulses
		}
	}
	pull, edge := gpio.PullUp, gpio.FallingEdge
	if cfg.ActiveHigh {
		pull, edge = gpio.PullDown, gpio.RisingEdge
	}
	if err := pin.In(pull, edge); err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Source, err)
	}
	s.lastSave = s.now()
	return s, nil
}

// Step waits up to timeout for one edge and counts it unless it is a
// bounce. It reports whether an edge came.
func (s *S0) Step(timeout time.Duration) bool {
	if !s.pin.WaitForEdge(timeout) {
		return false
	}
	s.pulse(s.now())
	return true
}

// pulse counts an edge seen at t.
func (s *S0) pulse(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.lastPulse.IsZero() {
		d := t.Sub(s.lastPulse)
		if d < s.cfg.Debounce {
			return
		}
		s.interval = d
	}
	s.pulses++
	s.lastPulse = t
	s.dirty = true
}

// Run counts pulses until ctx is done, then returns nil.
func (s *S0) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		s.Step(s.cfg.PollTimeout)
	}
	return nil
}

// Pulses is the pulse count, persisted one included.
func (s *S0) Pulses() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pulses
}

// whPerPulse is the energy of one pulse.
func (s *S0) whPerPulse() float64 { return 1000 / float64(s.cfg.PulsesPerKWh) }

// Read reports the energy index, and the power once two pulses have been
// seen since start. It writes StateFile when due; readings come back even
// when that write fails, with the error.
func (s *S0) Read(ctx context.Context, now time.Time) ([]firmware.Reading, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	pulses, last, interval := s.pulses, s.lastPulse, s.interval
	s.mu.Unlock()

	e := s.whPerPulse()
	rs := []firmware.Reading{
		reading(s.cfg.Source, "S0.Energy", "energy", unitWh, float64(pulses)*e, now),
	}
	if interval > 0 {
		w := e * 3600 / interval.Seconds()
		if since := now.Sub(last); since > interval {
			// No pulse for longer than the last interval: the power is at
			// most one pulse's energy over the time since the last one.
			w = math.Min(w, e*3600/since.Seconds())
		}
		rs = append(rs, reading(s.cfg.Source, "S0.Power", "power", unitWatt, w, now))
	}
	return rs, s.save(now, false)
}

// save writes StateFile when the count changed and SaveEvery has passed
// since the last write, or at once when force is set.
func (s *S0) save(now time.Time, force bool) error {
	if s.cfg.StateFile == "" {
		return nil
	}
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	if !s.dirty || (!force && now.Sub(s.lastSave) < s.cfg.SaveEvery) {
		s.mu.Unlock()
		return nil
	}
	st := s0State{Pulses: s.pulses, PulsesPerKWh: s.cfg.PulsesPerKWh, Saved: now.UTC()}
	s.dirty = false
	s.lastSave = now
	s.mu.Unlock()

	b, _ := json.Marshal(st)
	if err := atomicfile.WriteFile(s.cfg.StateFile, append(b, '\n'), 0o644); err != nil {
		s.mu.Lock()
		s.dirty = true
		s.mu.Unlock()
		return fmt.Errorf("%s: saving the pulse count: %w", s.cfg.Source, err)
	}
	return nil
}

// Close writes StateFile if the count changed since the last write. Stop
// Run first.
func (s *S0) Close() error { return s.save(s.now(), true) }
