package dashboards

import (
	"context"
	"slices"
	"strings"
	"time"
)

// OccupancyCell is the mean occupancy of a zone's bays in one hour of one
// weekday: the mean of their hourly occupancy ratios, over Hours bay-hours.
type OccupancyCell struct {
	Mean  float64 // 0..1
	Hours int     // bay-hours averaged; 0: no data
}

// ParkingZone is the use of one parking zone (the sensors' zone tag; ""
// for sensors without one) over a period, one sensor per bay.
type ParkingZone struct {
	Zone string
	// Bays is the number of bay sensors of the zone that reported in the
	// period.
	Bays int
	// Days is the length of the period in days (24 h).
	Days float64
	// ByHour is the occupancy per local weekday (indexed by time.Weekday,
	// Sunday first) and local hour of day.
	ByHour [7][24]OccupancyCell
	// Sessions is the number of arrivals (a bay going from free to taken).
	Sessions float64
	// OccupiedHours is the bays' time taken, in hours.
	OccupiedHours float64
	// Turnover is the sessions per bay per day: Sessions / Bays / Days.
	Turnover float64
	// MeanStay is OccupiedHours / Sessions (zero without sessions).
	MeanStay time.Duration
}

// Parking returns the use of each parking zone between from and to (the
// hours that start in [from, to)) from the gateway's parking_agg aggregates
// of window "1h" (occupancy_ratio: the share of the hour a bay was taken;
// occupancy_arrivals: its changes from free to taken), read from the
// bucket of retention (usually [AggregateRetention]); hours of day and
// weekdays in loc (Europe/Paris). An hour of UTC is an hour of local time,
// Paris being a whole number of hours from UTC. Sorted by zone.
//
// A stay that spans hours counts once, in the hour it began; its occupied
// time is counted in every hour, so over a long period MeanStay is the
// mean duration of the stays.
func (r *Reader) Parking(ctx context.Context, retention string, from, to time.Time, loc *time.Location) ([]ParkingZone, error) {
	return r.ParkingOf(ctx, retention, from, to, loc, nil)
}

func parkingZones(rows []windowRow, period time.Duration, loc *time.Location) []ParkingZone {
	type acc struct {
		z     ParkingZone
		bays  map[string]bool
		cells [7][24]struct {
			n   int
			sum float64
		}
	}
	zones := map[string]*acc{}
	for _, row := range rows {
		z := row.Tags["zone"]
		a := zones[z]
		if a == nil {
			a = &acc{z: ParkingZone{Zone: z}, bays: map[string]bool{}}
			zones[z] = a
		}
		a.bays[row.Sensor] = true
		switch row.Field {
		case "occupancy_ratio":
			l := row.Time.In(loc)
			c := &a.cells[l.Weekday()][l.Hour()]
			c.n++
			c.sum += row.Value
			a.z.OccupiedHours += row.Value
		case "occupancy_arrivals":
			a.z.Sessions += row.Value
		}
	}
	out := make([]ParkingZone, 0, len(zones))
	for _, a := range zones {
		z := a.z
		z.Bays = len(a.bays)
		z.Days = period.Hours() / 24
		for d := range a.cells {
			for h, c := range a.cells[d] {
				if c.n > 0 {
					z.ByHour[d][h] = OccupancyCell{Mean: c.sum / float64(c.n), Hours: c.n}
				}
			}
		}
		if z.Bays > 0 && z.Days > 0 {
			z.Turnover = z.Sessions / float64(z.Bays) / z.Days
		}
		if z.Sessions > 0 {
			z.MeanStay = time.Duration(z.OccupiedHours / z.Sessions * float64(time.Hour))
		}
		out = append(out, z)
	}
	slices.SortFunc(out, func(a, b ParkingZone) int { return strings.Compare(a.Zone, b.Zone) })
	return out
}

// Stay is a bay taken from Start to End.
type Stay struct {
	Sensor, Zone string
	Start, End   time.Time
	// Ongoing says that the bay was still taken at the period's end: End
	// is that end, and the stay is at least that long.
	Ongoing bool
}

// Duration is the length of the stay (so far, when Ongoing).
func (s Stay) Duration() time.Duration { return s.End.Sub(s.Start) }

// Overstays returns the stays longer than maxStay that began in [from,
// to), from the raw readings of the parking sensors (field occupancy, 0
// free and 1 taken, read from the bucket of retention: the entries'
// retention, P1Y in the demonstration town): a stay begins at a reading 1
// after a reading 0 and ends at the next reading 0 — the sensors report
// each change, so the times are those of the changes. A bay taken at the
// first reading of the period has an unknown start and is left out; a bay
// still taken at to is an Ongoing stay, an overstay when it is already
// longer than maxStay (a car to check now). In order of start.
func (r *Reader) Overstays(ctx context.Context, retention string, from, to time.Time, maxStay time.Duration) ([]Stay, error) {
	rows, err := r.rawRows(ctx, retention, "parking", []string{"occupancy"}, from, to)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(stays(rows, to), func(s Stay) bool { return s.Duration() <= maxStay }), nil
}

// stays turns the occupancy readings of bays (in time order) into stays.
func stays(rows []windowRow, end time.Time) []Stay {
	type state struct {
		known, taken bool
		stay         Stay
	}
	bays := map[string]*state{}
	var out []Stay
	for _, row := range rows {
		b := bays[row.Sensor]
		if b == nil {
			b = &state{}
			bays[row.Sensor] = b
		}
		taken := row.Value >= 0.5
		switch {
		case taken && b.known && !b.taken:
			b.stay = Stay{Sensor: row.Sensor, Zone: row.Tags["zone"], Start: row.Time}
		case !taken && b.taken && !b.stay.Start.IsZero():
			b.stay.End = row.Time
			out = append(out, b.stay)
			b.stay = Stay{}
		}
		b.known, b.taken = true, taken
	}
	for _, b := range bays {
		if b.taken && !b.stay.Start.IsZero() {
			b.stay.End, b.stay.Ongoing = end, true
			out = append(out, b.stay)
		}
	}
	slices.SortFunc(out, func(a, b Stay) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.Sensor, b.Sensor)
	})
	return out
}
