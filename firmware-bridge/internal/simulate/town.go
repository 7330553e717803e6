// Package simulate models the sensors of a whole town, so that civisens can
// run end to end without hardware.
//
// A [Town] gives, for a register entry ([registryapi.Sensor]) and an instant,
// a plausible value of every quantity the entry declares, always within the
// declared range. Values are a pure function of the seed, the sensor and the
// instant: the model keeps no history and never reads the clock, so the same
// seed replays the same town, a restarted bridge carries on where it stopped
// (energy indexes never go back), and tests run a simulated week in
// milliseconds.
//
// What a quantity does is chosen by the sensor's category and the
// quantity's unit and name:
//
//   - air: pm10 (10–40 ug/m3 with morning and evening traffic peaks, wood
//     heating on winter evenings, and particulate episodes of a few days:
//     winter anticyclones, spring ammonium nitrate), pm2_5 (0.6 × pm10,
//     more in episodes), pm1, no2 (traffic, held in by still air), o3
//     (sunny afternoons), outdoor temperature Cel (season and daily cycle),
//     humidity %RH (opposite to temperature), pressure hPa (slow drift),
//     co2 ppm, noise dB;
//   - parking: occupancy 0/1 of a bay, from arrivals by hour and weekday
//     and stays drawn by the kind of visit (commuters, errands, shopping,
//     residents overnight);
//   - lighting: power W (on from dusk to dawn, computed from the sun at the
//     sensor's position, dimmed from 23h to 5h, 0 by day), illuminance lx
//     (daylight), dimming ratio "/", energy Wh;
//   - energy: power W (a night and week-end baseline, building hours Monday
//     to Friday 7h–19h, heating by the day's outdoor temperature in the
//     heating season), energy Wh (an index integrated from that power, from
//     a seed-dependent starting index: it only grows), indoor temperature
//     Cel, humidity, co2;
//   - anything else: a bounded random walk within the declared range.
//
// [Runner] publishes the town: it reads the register's published sensors,
// and sends a SenML pack per sensor and period; at start, it can first
// publish the last hours or days of the town ([Runner.Backfill]), so that
// dashboards have history at their first run.
package simulate

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/civisens/civisens/firmware-bridge/senml"
	"github.com/civisens/civisens/registry/registryapi"
)

// A Town simulates sensors. It is safe for concurrent use.
type Town struct {
	seed    stream
	weather stream // shared by every sensor: the town has one sky
	loc     *time.Location

	mu     sync.Mutex
	meters map[string][]meterMark // energy indexes at the start of some days, by day
}

// NewTown returns the town of a seed, whose clocks (office hours, street
// lighting schedules) follow loc; nil means UTC.
func NewTown(seed int64, loc *time.Location) *Town {
	if loc == nil {
		loc = time.UTC
	}
	s := newStream(seed)
	return &Town{seed: s, weather: s.sub("weather"), loc: loc, meters: make(map[string][]meterMark)}
}

// A Value is the simulated value of one declared quantity.
type Value struct {
	Quantity string
	Unit     string
	Value    float64
}

// Values returns a value for every quantity that s declares, in order, at
// the instant at.
func (t *Town) Values(s registryapi.Sensor, at time.Time) []Value {
	m := t.sensorModel(s)
	out := make([]Value, 0, len(s.Quantities))
	for _, q := range s.Quantities {
		out = append(out, Value{Quantity: q.Name, Unit: q.Unit, Value: t.value(m, q, at)})
	}
	return out
}

// Pack returns the SenML pack that s publishes at the instant at, in the
// civisens profile: base name "{id}:", base time in seconds (to the
// millisecond), and a record {n, u, v} per declared quantity.
func (t *Town) Pack(s registryapi.Sensor, at time.Time) senml.Pack {
	vs := t.Values(s, at)
	p := make(senml.Pack, len(vs))
	for i, v := range vs {
		p[i] = senml.Record{Name: v.Quantity, Unit: v.Unit, Value: senml.Float(v.Value)}
	}
	if len(p) > 0 {
		p[0].BaseName = s.ID + ":"
		p[0].BaseTime = float64(at.UnixMilli()) / 1000
	}
	return p
}

// kind is what a quantity measures, in the model's terms.
type kind int

const (
	kindGeneric kind = iota
	kindPM10
	kindPM25
	kindPM1
	kindNO2
	kindO3
	kindCO2
	kindNoise
	kindOutdoorTemp
	kindHumidity
	kindPressure
	kindIndoorTemp
	kindIndoorHumidity
	kindIndoorCO2
	kindOccupancy
	kindLampPower
	kindIlluminance
	kindDimming
	kindLampEnergy
	kindBuildingPower
	kindBuildingEnergy
)

// classify tells what q of a sensor of category measures.
func classify(category string, indoor bool, q registryapi.Quantity) kind {
	name := strings.ToLower(q.Name)
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(name, s) {
				return true
			}
		}
		return false
	}
	indoor = indoor || category == registryapi.CategoryEnergy
	switch q.Unit {
	case "ug/m3":
		switch {
		case has("pm10"):
			return kindPM10
		case has("pm2_5", "pm25", "pm2"):
			return kindPM25
		case has("pm1"):
			return kindPM1
		case has("no2"):
			return kindNO2
		case has("o3", "ozone"):
			return kindO3
		}
	case "ppm":
		if has("co2") {
			if indoor {
				return kindIndoorCO2
			}
			return kindCO2
		}
	case "dB", "dBA":
		return kindNoise
	case "Cel":
		if indoor {
			return kindIndoorTemp
		}
		return kindOutdoorTemp
	case "%RH":
		if indoor {
			return kindIndoorHumidity
		}
		return kindHumidity
	case "hPa", "Pa", "kPa":
		return kindPressure
	case "lx":
		return kindIlluminance
	case "W", "kW":
		if category == registryapi.CategoryLighting {
			return kindLampPower
		}
		return kindBuildingPower
	case "Wh", "kWh", "MWh":
		if category == registryapi.CategoryLighting {
			return kindLampEnergy
		}
		return kindBuildingEnergy
	case "/", "":
		switch {
		case category == registryapi.CategoryParking || has("occup"):
			return kindOccupancy
		case category == registryapi.CategoryLighting || has("dim"):
			return kindDimming
		}
	}
	return kindGeneric
}

// perCanonical returns how many of unit make one of the model's unit for
// that quantity (W, Wh, hPa).
func perCanonical(unit string) float64 {
	switch unit {
	case "kW", "kWh":
		return 1e-3
	case "MWh":
		return 1e-6
	case "Pa":
		return 100
	case "kPa":
		return 0.1
	}
	return 1
}

// decimals is the resolution of the values of each kind, in the model's unit.
func decimals(k kind) int {
	switch k {
	case kindOccupancy, kindCO2, kindIndoorCO2:
		return 0
	case kindOutdoorTemp, kindIndoorTemp, kindDimming, kindGeneric:
		return 2
	}
	return 1
}

// bounds returns the declared range of q, infinite where it declares none.
func bounds(q registryapi.Quantity) (lo, hi float64) {
	lo, hi = math.Inf(-1), math.Inf(1)
	if q.Min != nil {
		lo = *q.Min
	}
	if q.Max != nil {
		hi = *q.Max
	}
	return lo, hi
}

// sensor is what the model derives once from a register entry.
type sensor struct {
	id       string
	category string
	indoor   bool
	rnd      stream // the sensor's own noise
	// Streams of the meters' load curves, derived once: the meters draw
	// from them for every slot since their epoch.
	dayRnd, slotRnd, lampRnd stream
	weatherTemp              stream // the town's slow weather, for heating
	lat, lon                 float64
	// peak is the power of a building at full occupancy on a cold day, and
	// lamp the nominal power of a luminaire, in W.
	peak, lamp float64
}

// Where a sensor declares no position: the middle of France.
const defaultLat, defaultLon = 46.6, 2.4

func (t *Town) sensorModel(s registryapi.Sensor) *sensor {
	m := &sensor{
		id:       s.ID,
		category: s.Category,
		indoor:   s.Location.Indoor,
		rnd:      t.seed.sub("sensor/" + s.ID),
		lat:      s.Location.Lat,
		lon:      s.Location.Lon,
	}
	if m.lat == 0 && m.lon == 0 {
		m.lat, m.lon = defaultLat, defaultLon
	}
	m.dayRnd, m.slotRnd, m.lampRnd = m.rnd.sub("day"), m.rnd.sub("slot"), m.rnd.sub("lamp")
	m.weatherTemp = t.weather.sub("temp")
	m.peak = 5000 + 15000*m.rnd.unit(10)
	m.lamp = 35 + 55*m.rnd.unit(11)
	// Scale power to the declared range, so that values stay inside it
	// without being clipped and the energy index matches the power.
	for _, q := range s.Quantities {
		_, hi := bounds(q)
		hi /= perCanonical(q.Unit)
		if math.IsInf(hi, 1) || hi <= 0 {
			continue
		}
		switch classify(s.Category, m.indoor, q) {
		case kindBuildingPower:
			m.peak = hi / maxBuildingFactor
		case kindLampPower:
			m.lamp = 0.85 * hi
		}
	}
	return m
}

// value returns the value of q at the instant at: the model's value in
// q's unit, rounded, and within the declared range.
func (t *Town) value(m *sensor, q registryapi.Quantity, at time.Time) float64 {
	k := classify(m.category, m.indoor, q)
	f := perCanonical(q.Unit)
	lo, hi := bounds(q)
	v := t.model(m, k, q, lo/f, hi/f, at) * f
	d := decimals(k) + int(math.Round(-math.Log10(f)))
	p := math.Pow(10, float64(d))
	v = math.Round(v*p) / p
	if lo <= hi {
		v = math.Max(lo, math.Min(hi, v))
	}
	if math.IsNaN(v) || math.IsInf(v, 0) { // a declared range of ±Inf: never from the register
		v = 0
	}
	return v
}

// model returns the value of a quantity of kind k in the model's unit; lo
// and hi are the declared range in that unit.
func (t *Town) model(m *sensor, k kind, q registryapi.Quantity, lo, hi float64, at time.Time) float64 {
	switch k {
	case kindPM10:
		pm10, _, _ := t.particulates(m, at)
		return pm10
	case kindPM25:
		_, pm25, _ := t.particulates(m, at)
		return pm25
	case kindPM1:
		_, _, pm1 := t.particulates(m, at)
		return pm1
	case kindNO2:
		return t.no2(m, at)
	case kindO3:
		return t.o3(m, at)
	case kindCO2:
		return 415 + 30*traffic(t.localAt(at))*t.stagnation(at) + 5*m.rnd.sub("co2").smooth(hoursOf(at)*2)
	case kindNoise:
		return 40 + 22*math.Sqrt(traffic(t.localAt(at))/1.35) + 2*m.rnd.sub("noise").smooth(hoursOf(at)*4)
	case kindOutdoorTemp:
		return t.outdoorTemp(m, at)
	case kindHumidity:
		return t.humidity(m, at)
	case kindPressure:
		return t.pressure(m, at)
	case kindIndoorTemp:
		return t.indoorTemp(m, at)
	case kindIndoorHumidity:
		return 46 - 4*t.localAt(at).winter + 6*m.rnd.sub("rh").wander(hoursOf(at)/8)
	case kindIndoorCO2:
		return 440 + 15*m.rnd.sub("co2/base").smooth(hoursOf(at)) + 650*officeHours(t.localAt(at))*(1+0.15*m.rnd.sub("co2").smooth(hoursOf(at)*2))
	case kindOccupancy:
		return t.occupancy(m, at)
	case kindLampPower:
		return lampPower(m, &sky{lat: m.lat, lon: m.lon}, t.slotAt(at))
	case kindIlluminance:
		return t.illuminance(m, at)
	case kindDimming:
		return dimming(&sky{lat: m.lat, lon: m.lon}, t.slotAt(at))
	case kindLampEnergy:
		base := meterBase(m.rnd, 2e5, 1.2e6, lo, hi)
		key := fmt.Sprintf("%s/%s/lamp/%g/%g/%g/%g", m.id, q.Name, base, m.lamp, m.lat, m.lon)
		s := &sky{lat: m.lat, lon: m.lon}
		return t.meterIndex(key, base, func(c slot) float64 { return lampPower(m, s, c) }, at)
	case kindBuildingPower:
		return buildingPower(m, t.slotAt(at))
	case kindBuildingEnergy:
		base := meterBase(m.rnd, 5e6, 4.5e7, lo, hi)
		key := fmt.Sprintf("%s/%s/building/%g/%g", m.id, q.Name, base, m.peak)
		return t.meterIndex(key, base, func(c slot) float64 { return buildingPower(m, c) }, at)
	}
	return wander(m.rnd.sub("q/"+q.Name), lo, hi, at)
}

// wander is the fallback: a bounded random walk over the middle of the
// declared range (or of [0, 100] where it declares none).
func wander(s stream, lo, hi float64, at time.Time) float64 {
	switch {
	case math.IsInf(lo, -1) && math.IsInf(hi, 1):
		lo, hi = 0, 100
	case math.IsInf(lo, -1):
		lo = hi - 100
	case math.IsInf(hi, 1):
		hi = lo + 100
	}
	mid, half := (lo+hi)/2, (hi-lo)/2
	return mid + 0.8*half*s.wander(hoursOf(at)/2)
}
