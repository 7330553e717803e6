package simulate

import (
	"cmp"
	"math"
	"slices"
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

// A meter keeps a mark every markEvery days, and the mark of the last day
// it was asked about: asking for the past (a backfill, a test) starts from
// the mark before, not from the epoch.
const markEvery = 7

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
	marks := t.meters[key]
	if i, _ := slices.BinarySearchFunc(marks, day+1, func(m meterMark, d int64) int { return cmp.Compare(m.day, d) }); i > 0 {
		from, index = marks[i-1].day, marks[i-1].index
	}
	t.mu.Unlock()
	var found []meterMark
	for d := from; d < day; d++ {
		index += t.daySum(d, slotsPerDay, power)
		if (d+1)%markEvery == 0 {
			found = append(found, meterMark{day: d + 1, index: index})
		}
	}
	if from < day {
		found = append(found, meterMark{day: day, index: index})
		t.mu.Lock()
		t.meters[key] = addMarks(t.meters[key], found, day)
		t.mu.Unlock()
	}
	n := (sec - day*86400) / slotSeconds
	partial := t.daySum(day, n, power)
	c := t.daySlot(day, n, t.offsetAt(day*86400+n*slotSeconds), winterOfDay(day))
	frac := (float64(sec-c.unix) + float64(at.Nanosecond())/1e9) / slotSeconds
	partial += power(c) * (frac * slotHours)
	return index + partial
}

// addMarks returns marks with found added, in day order, keeping the
// weekly marks and, of the others, only that of the day last asked about.
func addMarks(marks, found []meterMark, last int64) []meterMark {
	out := make([]meterMark, 0, len(marks)+len(found))
	for _, m := range slices.Concat(marks, found) {
		if m.day%markEvery == 0 || m.day == last {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b meterMark) int { return cmp.Compare(a.day, b.day) })
	return slices.CompactFunc(out, func(a, b meterMark) bool { return a.day == b.day })
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
