package simulate

import (
	"math"
	"time"
)

// A public building (town hall, school, library) draws a baseline at night
// and at week-ends, and up to its peak during office hours, Monday to
// Friday from 7h to 19h, more in winter (heating, lighting).

// officeHours is how occupied a building is at a local time, from 0 to 1.
func officeHours(l local) float64 {
	if l.weekday == time.Saturday || l.weekday == time.Sunday {
		return 0
	}
	h := l.hour
	occ := math.Min(ramp(h, 6.5, 7.5), 1-ramp(h, 18.5, 19.5))
	if h >= 12 && h < 13.5 {
		occ *= 0.85 // lunch
	}
	return occ
}

// maxBuildingFactor bounds buildingPower / peak: winter, a busy day, noise.
const maxBuildingFactor = 1.25 * 1.08 * 1.05

// buildingPower is the mean power of a building over a slot, in W.
func buildingPower(m *sensor, c slot) float64 {
	base := 0.22 * m.peak
	season := 1 + 0.25*c.winter
	day := 1 + 0.08*m.dayRnd.signed(c.day)
	jitter := 1 + 0.05*m.slotRnd.signed(c.index)
	return (base + (m.peak-base)*officeHours(c.local)) * season * day * jitter
}

// indoorTemp is heated to 20.5 during office hours (from an hour before)
// and set back to 16.5 otherwise in the heating season; in summer it
// floats with the outdoor temperature and the occupants.
func (t *Town) indoorTemp(m *sensor, at time.Time) float64 {
	l := t.localAt(at)
	heated := 16.5 + 4*officeHours(t.localAt(at.Add(time.Hour)))
	free := 21 + 0.4*(t.outdoorTemp(m, at)-16) + 1.2*officeHours(l)
	heating := math.Max(0, math.Min(1, (15-seasonMean(l))/8))
	return heating*heated + (1-heating)*math.Max(free, heated) + 0.3*m.rnd.sub("indoor").smooth(hoursOf(at))
}
