package simulate

import (
	"math"
	"time"
)

// A public building (town hall, school, library) draws, as a share of its
// peak:
//
//   - a night and week-end baseline of 20 % (ventilation, servers,
//     refrigeration, emergency lighting), at every hour;
//   - 42 % more with its occupants (lighting, computers), Monday to Friday
//     from 7h to 19h, with a lunch dip;
//   - up to 38 % more for heating in the heating season: in proportion to
//     how far the day's mean outdoor temperature (the town's weather) is
//     below 15 °C, full at -2 °C; boosted to 130 % from 5h30 to 7h30 on
//     weekdays to warm up, set back to 40 % at night and at week-ends;
//   - some cooling on hot office afternoons.
//
// At full occupancy on a cold day it draws its peak.

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

// Shares of a building's peak power.
const (
	buildingBase    = 0.20
	buildingPeople  = 0.42
	buildingHeating = 0.38
	buildingCooling = 0.12
	heatingBoost    = 1.3
)

// maxBuildingFactor bounds buildingPower / peak: the warm-up boost while
// people arrive on a cold day, a busy day, noise (heating and cooling
// never add up).
const maxBuildingFactor = (buildingBase + buildingPeople + buildingHeating*heatingBoost) * 1.08 * 1.05

// heatingNeed is how much a building heats, from 0 (a day's mean outdoor
// temperature of 15 °C or more) to 1 (-2 °C or less).
func heatingNeed(outdoor float64) float64 { return ramp(15-outdoor, 0, 17) }

// heatingSchedule is the heating power at a local time, as a share of
// the power needed to keep the building at 20 °C when occupied.
func heatingSchedule(l local) float64 {
	if l.weekday == time.Saturday || l.weekday == time.Sunday {
		return 0.4
	}
	h := l.hour
	switch {
	case h >= 5.5 && h < 7.5:
		return heatingBoost
	case h >= 7.5 && h < 18.5:
		return 1
	}
	return 0.4
}

// dayTemp is the town's outdoor temperature without its daily cycle, in
// Cel, at a slot: what a building's heating answers to.
func (m *sensor) dayTemp(c slot) float64 {
	return seasonMean(c.local) + 4*m.weatherTemp.smooth(float64(c.unix)/3600/36)
}

// buildingPower is the mean power of a building over a slot, in W.
func buildingPower(m *sensor, c slot) float64 {
	out := m.dayTemp(c)
	office := officeHours(c.local)
	load := buildingBase + buildingPeople*office +
		buildingHeating*heatingNeed(out)*heatingSchedule(c.local) +
		buildingCooling*ramp(out, 20, 28)*office
	day := 1 + 0.08*m.dayRnd.signed(c.day)
	jitter := 1 + 0.05*m.slotRnd.signed(c.index)
	return m.peak * load * day * jitter
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
