package dashboards

import (
	"context"
	"slices"
	"time"
)

// ParkingOf is Parking restricted to the bay sensors for which keep
// reports true (the public dashboard keeps the open-data sensors only);
// a nil keep keeps every sensor.
func (r *Reader) ParkingOf(ctx context.Context, retention string, from, to time.Time, loc *time.Location, keep func(sensor string) bool) ([]ParkingZone, error) {
	rows, err := r.windowRows(ctx, retention, "parking_agg", "1h", []string{"occupancy_ratio", "occupancy_arrivals"}, from, to)
	if err != nil {
		return nil, err
	}
	if keep != nil {
		rows = slices.DeleteFunc(rows, func(w windowRow) bool { return !keep(w.Sensor) })
	}
	return parkingZones(rows, to.Sub(from), loc), nil
}
