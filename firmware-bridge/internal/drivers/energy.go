package drivers

import (
	"math"
	"math/big"
	"time"
)

// energyCounter integrates power over time into an energy index kept as an
// int64 count of µWh, which holds 9.2 TWh: ample for any meter.
//
// periph's physic.Energy is an int64 of nanojoules ("the highest
// representable value is 9.2GJ"): 9.22e18 nJ ≈ 2,562 kWh. A 1 kW load
// fills it in about 15 weeks, so an energy index cannot be a
// physic.Energy.
//
// Each step adds the trapezoid (p0+p1)/2 × Δt between two samples,
// computed exactly in µW·µs; what does not make a whole µWh is carried to
// the next step, so no rounding accumulates.
type energyCounter struct {
	microWh int64
	// rem is the carried part, in µW·µs × 2 (the trapezoid's halving is
	// folded into the unit): |rem| < remPerMicroWh.
	rem int64

	last   time.Time
	lastP  int64 // µW
	have   bool
	maxGap time.Duration
}

// remPerMicroWh is one µWh in µW·µs × 2: 3600 s × 1e6 µs/s × 2.
const remPerMicroWh = 2 * 3600 * 1_000_000

// add records the power p (µW) sampled at t. The first sample, a sample
// after a gap longer than maxGap (the sensor was unreachable: the energy of
// the gap is unknown and is not invented), and a sample not after the last
// one only start a new interval.
func (e *energyCounter) add(t time.Time, p int64) {
	defer func() { e.last, e.lastP, e.have = t, p, true }()
	if !e.have {
		return
	}
	dt := t.Sub(e.last)
	if dt <= 0 || (e.maxGap > 0 && dt > e.maxGap) {
		return
	}
	us := dt.Microseconds()
	sum := e.lastP + p
	if sum != 0 && us > (math.MaxInt64-remPerMicroWh)/abs64(sum) {
		// Past int64 (15 kW over 5 minutes): the same sum in big integers.
		x := new(big.Int).Mul(big.NewInt(sum), big.NewInt(us))
		x.Add(x, big.NewInt(e.rem))
		q, r := x.QuoRem(x, big.NewInt(remPerMicroWh), new(big.Int))
		e.microWh += q.Int64()
		e.rem = r.Int64()
		return
	}
	e.rem += sum * us
	whole := e.rem / remPerMicroWh
	e.microWh += whole
	e.rem -= whole * remPerMicroWh
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
