package simulate

import (
	"math"
	"time"
)

// An energy index is the integral of a power, from a starting index at the
// meter epoch. Power is constant over slots of five minutes (a load curve);
// the index is the sum of the slots before and the part of the current
// slot.
//
// The sum is carried day by day in a fixed order, so that it is the same
// bits whether computed from the epoch or from a day cached by an earlier
// call: the index never goes back, not even by a rounding error, and a
// restarted bridge continues it exactly.

const (
	slotSeconds = 300
	slotsPerDay = 86400 / slotSeconds
	slotHours   = slotSeconds / 3600.0
	// meterEpoch (2025-01-01T00:00:00Z) is when indexes stand at their
	// starting value; before it they stay there.
	meterEpoch = 1735689600
)

// A slot is five minutes of a meter's load curve.
type slot struct {
	index int64 // slots since the Unix epoch
	unix  int64 // its start
	day   int64 // UTC days since the Unix epoch
	local
}

func (t *Town) slotAt(at time.Time) slot {
	i := floorDiv(at.Unix(), slotSeconds)
	u := i * slotSeconds
	d := floorDiv(u, 86400)
	return slot{index: i, unix: u, day: d, local: wallClock(u, t.offsetAt(u), winterOfDay(d))}
}

// meterMark is an index at the start of a UTC day.
type meterMark struct {
	day   int64
	index float64
}

// meterBase is a meter's starting index, in Wh: realistic, seed-dependent,
// and in the lower part of the declared range.
func meterBase(s stream, from, span, lo, hi float64) float64 {
	u := s.sub("index").unit(0)
	b := from + span*u
	if !math.IsInf(lo, -1) && b < lo {
		b = lo + b
	}
	if !math.IsInf(hi, 1) && !math.IsInf(lo, -1) && b > lo+(hi-lo)/2 {
		b = lo + (hi-lo)*(0.02+0.1*u)
	}
	return b
}

// meterIndex returns the index of a meter (named by key, which must change
// with anything its power depends on) at the instant at.
func (t *Town) meterIndex(key string, base float64, power func(slot) float64, at time.Time) float64 {
	sec := at.Unix()
	if sec < meterEpoch {
		return base
	}
	day := floorDiv(sec, 86400)
	from, index := int64(meterEpoch/86400), base
	t.mu.Lock()
	if m, ok := t.meters[key]; ok && m.day <= day {
		from, index = m.day, m.index
	}
	t.mu.Unlock()
	for d := from; d < day; d++ {
		index += t.daySum(d, slotsPerDay, power)
	}
	if from < day {
		t.mu.Lock()
		if m, ok := t.meters[key]; !ok || m.day < day {
			t.meters[key] = meterMark{day: day, index: index}
		}
		t.mu.Unlock()
	}
	n := (sec - day*86400) / slotSeconds
	partial := t.daySum(day, n, power)
	c := t.daySlot(day, n, t.offsetAt(day*86400+n*slotSeconds), winterOfDay(day))
	frac := (float64(sec-c.unix) + float64(at.Nanosecond())/1e9) / slotSeconds
	partial += power(c) * (frac * slotHours)
	return index + partial
}

// daySum returns the energy, in Wh, of the first n slots of a UTC day.
func (t *Town) daySum(day, n int64, power func(slot) float64) float64 {
	start := day * 86400
	first, last := t.offsetAt(start), t.offsetAt(start+86400-slotSeconds)
	winter := winterOfDay(day)
	sum := 0.0
	for j := int64(0); j < n; j++ {
		off := first
		if first != last { // a daylight saving time change today
			off = t.offsetAt(start + j*slotSeconds)
		}
		sum += power(t.daySlot(day, j, off, winter)) * slotHours
	}
	return sum
}

func (t *Town) daySlot(day, j int64, offset int, winter float64) slot {
	u := day*86400 + j*slotSeconds
	return slot{index: u / slotSeconds, unix: u, day: day, local: wallClock(u, offset, winter)}
}
