package drivers

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"periph.io/x/conn/v3/i2c/i2ctest"
)

// tlvRead is one TLV493D read of registers 0…6 giving the 12-bit field
// counts x, y, z (98 µT each) and a temperature of 25 °C (raw 340).
func tlvRead(x, y, z int) i2ctest.IO {
	return i2ctest.IO{Addr: 0x5E, W: []byte{0x00}, R: []byte{
		byte(x >> 4), byte(y >> 4), byte(z >> 4),
		0x10, // temperature bits 11…8, frame counter 0, channel 0
		byte(x&0xF)<<4 | byte(y&0xF), byte(z & 0xF),
		0x54, // temperature bits 7…0
	}}
}

func TestParkingTLV493D(t *testing.T) {
	ops := []i2ctest.IO{
		{Addr: 0x5E, W: []byte{0xFF}}, // recovery
		{Addr: 0x5E, W: []byte{0x00}}, // reset
		// All ten registers; factory settings in 7, 8, 9.
		{Addr: 0x5E, W: []byte{0x00}, R: []byte{0xFD, 0x2D, 0x79, 0x14, 0xAB, 0x22, 0x51, 0x81, 0x04, 0x60}},
		// MOD1: low-power mode, parity bit even; MOD2: parity test on,
		// temperature on, 100 ms period: ultra-low-power mode.
		{Addr: 0x5E, W: []byte{0x00, 0x01, 0x04, 0x20}},
		// A free bay: about (+2, −3, +40) counts, (196, −294, 3920) µT,
		// a magnet-biased sensor.
		tlvRead(2, -3, 40), tlvRead(3, -3, 40), tlvRead(2, -3, 41),
		// A car: the field drops on Z by 9 counts (882 µT) and turns.
		tlvRead(4, -1, 32), tlvRead(4, -2, 31), tlvRead(5, -1, 32),
		// Halt: power-down mode.
		{Addr: 0x5E, W: []byte{0x00, 0x80, 0x04, 0x20}},
	}
	bus := &i2ctest.Playback{DontPanic: true, Ops: ops}
	p, err := NewParking(bus, ParkingSensorConfig{
		Source:   "bay-12",
		Detector: ParkingConfig{CalibrationSamples: 3, Debounce: 2 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 2 {
		if _, err := p.Read(ctx, t0.Add(time.Duration(i)*time.Second)); !errors.Is(err, ErrNotReady) {
			t.Fatalf("calibration sample %d: %v, want ErrNotReady", i, err)
		}
	}
	now := t0.Add(2 * time.Second)
	rs, err := p.Read(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	checkReadings(t, rs, "bay-12", now, want{"occupancy", "/", 0, 0})
	b, ok := p.Baseline()
	if want := (Field{196, -294, 3920}); !ok || b != want {
		t.Fatalf("baseline %v, want the per-axis median %v", b, want)
	}
	for i := 3; i < 5; i++ {
		if rs, err := p.Read(ctx, t0.Add(time.Duration(i)*time.Second)); err != nil || rs != nil {
			t.Fatalf("car arriving, %d s: %v %v, want nothing until the debounce", i, rs, err)
		}
	}
	if d := p.Deviation(); d < 850 || d > 950 {
		t.Fatalf("deviation %v µT", d)
	}
	now = t0.Add(5 * time.Second)
	rs, err = p.Read(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	checkReadings(t, rs, "bay-12", now, want{"occupancy", "/", 1, 0})
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := bus.Close(); err != nil {
		t.Fatal(err)
	}
}

// bay simulates a bay's field, in µT, sample by sample.
type bay struct {
	rng      *rand.Rand
	free     Field   // the free bay's field, drift included
	car      Field   // what a parked car adds
	noise    float64 // σ of each axis' noise
	occupied bool
}

func newBay(seed uint64) *bay {
	return &bay{
		rng:   rand.New(rand.NewPCG(seed, 1)),
		free:  Field{120, -310, 2450},
		car:   Field{-260, 340, -780}, // |car| ≈ 900 µT
		noise: 60,                     // the TLV493D's ≈ 0.6 LSB rms
	}
}

func (b *bay) sample() Field {
	f := b.free
	if b.occupied {
		f = Field{f.X + b.car.X, f.Y + b.car.Y, f.Z + b.car.Z}
	}
	n := func() float64 { return b.rng.NormFloat64() * b.noise }
	return Field{f.X + n(), f.Y + n(), f.Z + n()}
}

// event is a report of the detector: when, and the occupancy reported.
type event struct {
	at       time.Duration
	occupied bool
}

// run feeds the detector a sample every step from start for d and returns
// its reports, timed from t0.
func run(det *ParkingDetector, b *bay, start, d, step time.Duration, each func(time.Duration)) []event {
	var evs []event
	for at := start; at < start+d; at += step {
		if each != nil {
			each(at)
		}
		if occ, report := det.Observe(t0.Add(at), b.sample()); report {
			evs = append(evs, event{at, occ})
		}
	}
	return evs
}

func newDetector(t *testing.T, cfg ParkingConfig) *ParkingDetector {
	t.Helper()
	d, err := NewParkingDetector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestParkingCalibration(t *testing.T) {
	det := newDetector(t, ParkingConfig{})
	b := newBay(1)
	for i := range 14 {
		s := b.sample()
		if i == 5 {
			s.Z += 5000 // a spike (a bus going past) while calibrating
		}
		if _, report := det.Observe(t0.Add(time.Duration(i)*time.Second), s); report || det.Calibrated() {
			t.Fatalf("sample %d: calibrated too early", i)
		}
	}
	occ, report := det.Observe(t0.Add(14*time.Second), b.sample())
	if !report || occ || !det.Calibrated() {
		t.Fatalf("15th sample: report %v occupied %v calibrated %v", report, occ, det.Calibrated())
	}
	base, _ := det.Baseline()
	// The median of 15 samples with 60 µT of noise per axis lands within
	// about 35 µT; the mean would be 330 µT off on Z.
	if d := base.sub(b.free).Norm(); d > 75 {
		t.Fatalf("baseline %v is %.0f µT off the true %v: the median should ignore the spike", base, d, b.free)
	}
}

func TestParkingCarArrivesAndLeaves(t *testing.T) {
	det := newDetector(t, ParkingConfig{})
	b := newBay(2)
	step := time.Second
	evs := run(det, b, 0, 10*time.Minute, step, func(at time.Duration) {
		// A car parks at 2 min and leaves at 7 min.
		b.occupied = at >= 2*time.Minute && at < 7*time.Minute
	})
	wantEvs := []event{
		{14 * time.Second, false},       // calibrated
		{2*time.Minute + 10*step, true}, // 10 s debounce
		{7*time.Minute + 10*step, false},
	}
	if !equalEvents(evs, wantEvs) {
		t.Fatalf("reports %v, want %v", evs, wantEvs)
	}
}

func TestParkingHysteresis(t *testing.T) {
	// A van parked off-centre: its deviation wanders between 400 and
	// 800 µT, across Enter (600) and back down past it, never below Leave
	// (300). Once occupied the bay must stay occupied: one threshold at
	// 600 µT would flap with every wobble.
	det := newDetector(t, ParkingConfig{Debounce: 3 * time.Second})
	b := newBay(3)
	b.noise = 0
	run(det, b, 0, 15*time.Second, time.Second, nil)
	unit := Field{0, 0, 1}
	var evs []event
	for i := range 600 {
		dev := 600 + 200*math.Sin(float64(i)/7)
		if i < 60 {
			dev = 700 // it parks
		}
		at := 15*time.Second + time.Duration(i)*time.Second
		s := Field{b.free.X + unit.X*dev, b.free.Y + unit.Y*dev, b.free.Z + unit.Z*dev}
		if occ, report := det.Observe(t0.Add(at), s); report {
			evs = append(evs, event{at, occ})
		}
	}
	wantEvs := []event{{18 * time.Second, true}}
	if !equalEvents(evs, wantEvs) {
		t.Fatalf("reports %v, want one change only %v", evs, wantEvs)
	}

	// And a free bay with a deviation between the thresholds (a car in
	// the next bay) stays free.
	det = newDetector(t, ParkingConfig{Debounce: 3 * time.Second})
	run(det, b, 0, 15*time.Second, time.Second, nil)
	for i := range 600 {
		dev := 450 + 140*math.Sin(float64(i)/5)
		s := Field{b.free.X, b.free.Y, b.free.Z + dev}
		if occ, _ := det.Observe(t0.Add(15*time.Second+time.Duration(i)*time.Second), s); occ {
			t.Fatalf("sample %d (%.0f µT): occupied", i, dev)
		}
	}
}

func TestParkingDebounce(t *testing.T) {
	// A car crossing the bay (6 s over the sensor) and a passing truck's
	// 1-sample spike must not be reported; a car staying is, after 10 s.
	det := newDetector(t, ParkingConfig{})
	b := newBay(4)
	evs := run(det, b, 0, 3*time.Minute, time.Second, func(at time.Duration) {
		switch {
		case at >= 30*time.Second && at < 36*time.Second: // crossing
			b.occupied = true
		case at == 60*time.Second: // spike
			b.occupied = true
		case at >= 120*time.Second: // parks
			b.occupied = true
		default:
			b.occupied = false
		}
	})
	wantEvs := []event{{14 * time.Second, false}, {130 * time.Second, true}}
	if !equalEvents(evs, wantEvs) {
		t.Fatalf("reports %v, want %v", evs, wantEvs)
	}
}

func TestParkingDriftAndHeartbeat(t *testing.T) {
	// The free bay's field drifts by 900 µT over 18 hours (the sensor
	// heating in the sun, road works): beyond Enter, so a fixed baseline
	// would report a phantom car. Tracking follows it, reports the state
	// every 10 minutes, and still sees a real car at the end.
	det := newDetector(t, ParkingConfig{})
	b := newBay(5)
	start := b.free
	step := 10 * time.Second
	evs := run(det, b, 0, 18*time.Hour, step, func(at time.Duration) {
		f := float64(at) / float64(18*time.Hour)
		b.free = Field{start.X + 500*f, start.Y - 300*f, start.Z + 700*f}
	})
	for i, ev := range evs {
		if ev.occupied {
			t.Fatalf("phantom car at %s", ev.at)
		}
		if i > 0 {
			if gap := ev.at - evs[i-1].at; gap != 10*time.Minute {
				t.Fatalf("heartbeat gap %s at %s, want 10m", gap, ev.at)
			}
		}
	}
	if n := len(evs); n < 18*6 {
		t.Fatalf("%d heartbeats in 18 h, want 108", n)
	}
	base, _ := det.Baseline()
	if d := base.sub(b.free).Norm(); d > 100 {
		t.Fatalf("baseline %v lags the field %v by %.0f µT", base, b.free, d)
	}
	b.occupied = true
	var got []event
	for at := 18 * time.Hour; at < 18*time.Hour+time.Minute; at += step {
		if occ, report := det.Observe(t0.Add(at), b.sample()); report {
			got = append(got, event{at, occ})
		}
	}
	if len(got) != 1 || !got[0].occupied {
		t.Fatalf("car after drift: %v", got)
	}
}

func TestParkingRestoredBaseline(t *testing.T) {
	// After a restart with a car parked, the persisted baseline is
	// restored: the car is seen, not learnt as "free".
	det := newDetector(t, ParkingConfig{Debounce: 2 * time.Second})
	b := newBay(6)
	det.SetBaseline(b.free)
	b.occupied = true
	evs := run(det, b, 0, 5*time.Second, time.Second, nil)
	if want := []event{{2 * time.Second, true}}; !equalEvents(evs, want) {
		t.Fatalf("reports %v, want %v", evs, want)
	}
}

func TestParkingConfigRefused(t *testing.T) {
	for _, c := range []ParkingConfig{
		{EnterMicroT: 100, LeaveMicroT: 200},
		{CalibrationSamples: -1},
		{Debounce: -time.Second},
	} {
		if _, err := NewParkingDetector(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

func equalEvents(a, b []event) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
