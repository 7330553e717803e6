package drivers

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/devices/v3/tlv493d"

	"github.com/civisens/civisens/firmware-bridge/internal/firmware"
)

// Field is a magnetic flux density vector, in µT.
type Field struct{ X, Y, Z float64 }

func (f Field) sub(g Field) Field { return Field{f.X - g.X, f.Y - g.Y, f.Z - g.Z} }

// Norm is the vector's magnitude, in µT.
func (f Field) Norm() float64 { return math.Sqrt(f.X*f.X + f.Y*f.Y + f.Z*f.Z) }

// ParkingConfig tunes the parking bay detector. The zero value is the
// default; thresholds depend on how deep the sensor sits under the car and
// should be checked on site (Deviation shows what a car does).
type ParkingConfig struct {
	// CalibrationSamples is how many samples, taken while the bay is free,
	// make the baseline (their per-axis median, so a passing car or a
	// spike does not shift it); default 15.
	CalibrationSamples int
	// EnterMicroT is the deviation from the baseline (|B − B₀|, in µT) above
	// which a free bay turns occupied; default 600 µT.
	EnterMicroT float64
	// LeaveMicroT is the deviation below which an occupied bay turns free;
	// default 300 µT. Between the two, the state holds (hysteresis). It
	// must sit well above the noise of |B − B₀|: the TLV493D's is about
	// 0.1 mT rms per axis (one LSB, 98 µT), so about 0.16 mT on the
	// magnitude, and a few samples over LeaveMicroT only delay a "free".
	LeaveMicroT float64
	// Debounce is how long a new state must hold, sample after sample,
	// before it is reported; default 10 s.
	Debounce time.Duration
	// DriftTau is the time constant of the baseline's tracking of slow
	// drift (temperature, nearby works) while the bay is free and quiet;
	// default 1 h. Negative disables tracking.
	DriftTau time.Duration
	// Heartbeat is how often the current state is reported when it does not
	// change; default 10 min.
	Heartbeat time.Duration
}

func (c *ParkingConfig) defaults() error {
	if c.CalibrationSamples == 0 {
		c.CalibrationSamples = 15
	}
	if c.EnterMicroT == 0 {
		c.EnterMicroT = 600
	}
	if c.LeaveMicroT == 0 {
		c.LeaveMicroT = 300
	}
	if c.Debounce == 0 {
		c.Debounce = 10 * time.Second
	}
	if c.DriftTau == 0 {
		c.DriftTau = time.Hour
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = 10 * time.Minute
	}
	switch {
	case c.CalibrationSamples < 1:
		return fmt.Errorf("parking: calibration samples %d < 1", c.CalibrationSamples)
	case c.LeaveMicroT <= 0 || c.EnterMicroT <= c.LeaveMicroT:
		return fmt.Errorf("parking: thresholds enter %g µT, leave %g µT: want enter > leave > 0", c.EnterMicroT, c.LeaveMicroT)
	case c.Debounce < 0 || c.Heartbeat < 0:
		return fmt.Errorf("parking: negative debounce or heartbeat")
	}
	return nil
}

// ParkingDetector turns magnetometer samples into a bay's occupancy. It is
// the TLV493D-free part of [Parking], fed one sample at a time.
//
// Calibration: the first CalibrationSamples samples, taken while the bay
// is free, give the baseline B₀ as their per-axis median. A restart
// restores B₀ with SetBaseline instead, so that a car parked at restart is
// not learnt as "free".
//
// Detection: the deviation d = |B − B₀| (the vector distance: a car can
// turn the field without changing its magnitude) against two thresholds:
// a free bay becomes a candidate "occupied" when d ≥ Enter, an occupied one
// a candidate "free" when d ≤ Leave. A candidate must hold for Debounce,
// every sample agreeing, before it is confirmed and reported.
//
// Drift: while the bay is free and quiet (d < Leave, nothing pending), B₀
// follows B with an exponential filter of time constant DriftTau.
type ParkingDetector struct {
	cfg ParkingConfig

	calib    []Field
	baseline Field
	ready    bool

	occupied     bool
	pendingSince time.Time // zero: no candidate
	lastSample   time.Time
	lastReport   time.Time
	deviation    float64
}

// NewParkingDetector checks cfg and starts calibrating.
func NewParkingDetector(cfg ParkingConfig) (*ParkingDetector, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	return &ParkingDetector{cfg: cfg}, nil
}

// Observe takes the sample b measured at t. It returns the occupancy to
// report and whether to report it now: when calibration completes (free),
// on a confirmed change, and every Heartbeat otherwise. While calibrating,
// it returns report false.
func (d *ParkingDetector) Observe(t time.Time, b Field) (occupied, report bool) {
	defer func() { d.lastSample = t }()
	if !d.ready {
		d.calib = append(d.calib, b)
		if len(d.calib) < d.cfg.CalibrationSamples {
			return false, false
		}
		d.SetBaseline(median(d.calib))
		d.lastReport = t
		return false, true
	}

	if d.lastReport.IsZero() {
		// First sample after SetBaseline: the state is not known yet, so
		// the first report is a confirmed change or the first heartbeat.
		d.lastReport = t
	}
	dev := b.sub(d.baseline).Norm()
	d.deviation = dev
	candidate := d.occupied
	if d.occupied && dev <= d.cfg.LeaveMicroT {
		candidate = false
	} else if !d.occupied && dev >= d.cfg.EnterMicroT {
		candidate = true
	}

	switch {
	case candidate == d.occupied:
		d.pendingSince = time.Time{}
	case d.pendingSince.IsZero():
		d.pendingSince = t
	}
	if !d.pendingSince.IsZero() && t.Sub(d.pendingSince) >= d.cfg.Debounce {
		d.occupied = candidate
		d.pendingSince = time.Time{}
		d.lastReport = t
		return d.occupied, true
	}

	if !d.occupied && d.pendingSince.IsZero() && dev < d.cfg.LeaveMicroT && d.cfg.DriftTau > 0 && !d.lastSample.IsZero() {
		if dt := t.Sub(d.lastSample); dt > 0 {
			a := math.Min(1, float64(dt)/float64(d.cfg.DriftTau))
			d.baseline.X += a * (b.X - d.baseline.X)
			d.baseline.Y += a * (b.Y - d.baseline.Y)
			d.baseline.Z += a * (b.Z - d.baseline.Z)
		}
	}

	if t.Sub(d.lastReport) >= d.cfg.Heartbeat {
		d.lastReport = t
		return d.occupied, true
	}
	return d.occupied, false
}

// Calibrated reports whether the baseline is known.
func (d *ParkingDetector) Calibrated() bool { return d.ready }

// Baseline is the free bay's field, the state to persist, and whether it
// is known yet.
func (d *ParkingDetector) Baseline() (Field, bool) { return d.baseline, d.ready }

// SetBaseline sets the free bay's field (a persisted baseline, or a new
// calibration) and ends calibration. The bay is taken as free until the
// samples say otherwise.
func (d *ParkingDetector) SetBaseline(b Field) {
	d.baseline, d.ready, d.calib = b, true, nil
}

// Deviation is the last sample's |B − B₀| in µT, for choosing thresholds
// on site.
func (d *ParkingDetector) Deviation() float64 { return d.deviation }

// median is the per-axis median of fs.
func median(fs []Field) Field {
	axis := func(get func(Field) float64) float64 {
		v := make([]float64, len(fs))
		for i, f := range fs {
			v[i] = get(f)
		}
		slices.Sort(v)
		n := len(v)
		if n%2 == 1 {
			return v[n/2]
		}
		return (v[n/2-1] + v[n/2]) / 2
	}
	return Field{
		X: axis(func(f Field) float64 { return f.X }),
		Y: axis(func(f Field) float64 { return f.Y }),
		Z: axis(func(f Field) float64 { return f.Z }),
	}
}

// ParkingSensorConfig configures a parking bay sensor: an Infineon
// TLV493D-A1B6 3D magnetometer under the bay. The zero value is the
// default.
type ParkingSensorConfig struct {
	// Source names the bay in its readings; default "tlv493d-<addr>".
	Source string
	// Addr is the I²C address: 0x5E (the default) or 0x1F.
	Addr uint16
	// Detector tunes calibration, thresholds, debounce, drift, heartbeat.
	Detector ParkingConfig
}

// Parking reads a TLV493D once per Read and reports the bay's occupancy
// ("occupancy", "/": 1 taken, 0 free) only on confirmed changes and every
// Heartbeat, through periph's tlv493d driver in its ultra-low-power mode
// (10 Hz self-timed conversions, about 10 µA). Read returns [ErrNotReady]
// while calibrating and no readings (nil, nil) between reports; poll it
// every second or so, well inside Debounce.
type Parking struct {
	dev    *tlv493d.Dev
	source string

	mu  sync.Mutex
	det *ParkingDetector
}

// NewParking resets and configures the TLV493D (periph's driver waits its
// 40 ms start-up there).
func NewParking(bus i2c.Bus, cfg ParkingSensorConfig) (*Parking, error) {
	if cfg.Addr == 0 {
		cfg.Addr = tlv493d.I2CAddr
	}
	if cfg.Source == "" {
		cfg.Source = fmt.Sprintf("tlv493d-%x", cfg.Addr)
	}
	det, err := NewParkingDetector(cfg.Detector)
	if err != nil {
		return nil, err
	}
	opts := tlv493d.DefaultOpts
	opts.I2cAddress = cfg.Addr
	opts.Mode = tlv493d.UltraLowPowerMode
	dev, err := tlv493d.New(bus, &opts)
	if err != nil {
		return nil, fmt.Errorf("tlv493d at %#x: %w", cfg.Addr, err)
	}
	return &Parking{dev: dev, source: cfg.Source, det: det}, nil
}

// Baseline is the free bay's field, the state to persist, and whether it
// is known yet.
func (p *Parking) Baseline() (Field, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.det.Baseline()
}

// SetBaseline restores a persisted baseline, skipping calibration.
func (p *Parking) SetBaseline(b Field) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.det.SetBaseline(b)
}

// Deviation is the last sample's |B − B₀| in µT.
func (p *Parking) Deviation() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.det.Deviation()
}

// Read takes one sample.
func (p *Parking) Read(ctx context.Context, now time.Time) ([]firmware.Reading, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	s, err := p.dev.Read(tlv493d.HighPrecisionWithTemperature)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.source, err)
	}
	b := Field{
		X: float64(s.Bx) / float64(physic.MicroTesla),
		Y: float64(s.By) / float64(physic.MicroTesla),
		Z: float64(s.Bz) / float64(physic.MicroTesla),
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	occupied, report := p.det.Observe(now, b)
	if !p.det.Calibrated() {
		return nil, fmt.Errorf("%s: calibrating: %w", p.source, ErrNotReady)
	}
	if !report {
		return nil, nil
	}
	return []firmware.Reading{
		reading(p.source, "TLV493D.Occupancy", "occupancy", unitRatioOne, boolValue(occupied), now),
	}, nil
}

// Close powers the TLV493D down.
func (p *Parking) Close() error { return p.dev.Halt() }
