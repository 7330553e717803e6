package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/registryapi"
)

// Bounds of what the gateways' reports keep.
const (
	// MaxSeenPerReport bounds the sensors, and the unknown ids, of one
	// gateway report.
	MaxSeenPerReport = 10000
	// UnknownKeep is how long an unknown id unseen since is kept.
	UnknownKeep = 90 * 24 * time.Hour
	// MaxUnknownRows bounds the unknown ids kept, the most recent first.
	MaxUnknownRows = 10000
)

// RecordSeen stores a gateway's report of what it saw, received at the
// time at, in one transaction: each sensor's last-seen time (the later of
// the stored and the reported one), each unknown id's count (added) and
// last time, and the gateway's report time. Times are taken as given: the
// caller has corrected them for the gateway's clock. Invalid reports are
// ErrInvalid, and nothing of them is written.
func (s *Store) RecordSeen(ctx context.Context, seen registryapi.GatewaySeen, at time.Time) error {
	gw, err := cleanName("gateway id", seen.GatewayID, MaxNameLength)
	switch {
	case err != nil:
		return fmt.Errorf("store: record seen: %w", err)
	case gw == "":
		return fmt.Errorf("store: record seen: %w: gateway_id is required", ErrInvalid)
	case len(seen.Sensors) > MaxSeenPerReport || len(seen.Unknown) > MaxSeenPerReport:
		return fmt.Errorf("store: record seen: %w: at most %d sensors and %d unknown ids per report", ErrInvalid, MaxSeenPerReport, MaxSeenPerReport)
	}
	for i, x := range seen.Sensors {
		if !catalog.ValidSensorID(x.ID) || x.LastSeen.IsZero() {
			return fmt.Errorf("store: record seen: %w: sensors[%d]: %q at %v is not a sensor id and a time", ErrInvalid, i, x.ID, x.LastSeen)
		}
	}
	for i, x := range seen.Unknown {
		if !catalog.ValidSensorID(x.ID) || x.LastSeen.IsZero() || x.Count < 0 {
			return fmt.Errorf("store: record seen: %w: unknown[%d]: %q is not a sensor id, a count and a time", ErrInvalid, i, x.ID)
		}
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		for _, x := range seen.Sensors {
			if _, err := tx.ExecContext(ctx, `INSERT INTO sensor_last_seen (sensor_id, gateway_id, last_seen) VALUES (?, ?, ?)
				ON CONFLICT (sensor_id, gateway_id) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)`,
				x.ID, gw, authTime(x.LastSeen)); err != nil {
				return err
			}
		}
		for _, x := range seen.Unknown {
			if _, err := tx.ExecContext(ctx, `INSERT INTO unknown_seen (sensor_id, gateway_id, count, last_seen) VALUES (?, ?, ?, ?)
				ON CONFLICT (sensor_id, gateway_id) DO UPDATE SET count = count + excluded.count, last_seen = max(last_seen, excluded.last_seen)`,
				x.ID, gw, x.Count, authTime(x.LastSeen)); err != nil {
				return err
			}
		}
		if len(seen.Unknown) > 0 {
			if _, err := tx.ExecContext(ctx, "DELETE FROM unknown_seen WHERE last_seen < ?", authTime(at.Add(-UnknownKeep))); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM unknown_seen WHERE rowid IN
				(SELECT rowid FROM unknown_seen ORDER BY last_seen DESC LIMIT -1 OFFSET ?)`, MaxUnknownRows); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO gateway_reports (gateway_id, reported_at, reports) VALUES (?, ?, 1)
			ON CONFLICT (gateway_id) DO UPDATE SET reported_at = excluded.reported_at, reports = reports + 1`, gw, authTime(at))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: record seen from %s: %w", gw, err)
	}
	return nil
}

// LastSeen returns, by sensor id, the latest time any gateway accepted a
// reading of it.
func (s *Store) LastSeen(ctx context.Context) (map[string]time.Time, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT sensor_id, max(last_seen) FROM sensor_last_seen GROUP BY sensor_id")
	if err != nil {
		return nil, fmt.Errorf("store: last seen: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var id, at string
		if err := rows.Scan(&id, &at); err != nil {
			return nil, fmt.Errorf("store: last seen: %w", err)
		}
		t, err := parseAuthTime(at)
		if err != nil {
			return nil, fmt.Errorf("store: last seen of %s: %w", id, err)
		}
		out[id] = t
	}
	return out, rows.Err()
}

// UnknownSeen is a sensor id that gateways refused as absent from their
// allow-list, over every gateway.
type UnknownSeen struct {
	ID       string
	Count    int64     // messages refused
	LastSeen time.Time // the latest
	Gateways []string  // the gateways that saw it, sorted
}

// UnknownSeen returns the unknown ids seen since the time since, the most
// recent first.
func (s *Store) UnknownSeen(ctx context.Context, since time.Time) ([]UnknownSeen, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT sensor_id, gateway_id, count, last_seen FROM unknown_seen
		WHERE last_seen >= ? ORDER BY sensor_id`, authTime(since))
	if err != nil {
		return nil, fmt.Errorf("store: unknown seen: %w", err)
	}
	defer rows.Close()
	var out []UnknownSeen
	for rows.Next() {
		var id, gw, at string
		var n int64
		if err := rows.Scan(&id, &gw, &n, &at); err != nil {
			return nil, fmt.Errorf("store: unknown seen: %w", err)
		}
		t, err := parseAuthTime(at)
		if err != nil {
			return nil, fmt.Errorf("store: unknown seen %s: %w", id, err)
		}
		if len(out) == 0 || out[len(out)-1].ID != id {
			out = append(out, UnknownSeen{ID: id})
		}
		u := &out[len(out)-1]
		u.Count += n
		if t.After(u.LastSeen) {
			u.LastSeen = t
		}
		u.Gateways = append(u.Gateways, gw)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unknown seen: %w", err)
	}
	for i := range out {
		slices.Sort(out[i].Gateways)
	}
	slices.SortStableFunc(out, func(a, b UnknownSeen) int { return b.LastSeen.Compare(a.LastSeen) })
	return out, nil
}

// GatewayReport is when a gateway last reported what it saw.
type GatewayReport struct {
	GatewayID  string
	ReportedAt time.Time
	Reports    int64 // how many reports it sent
}

// GatewayReports returns the gateways that reported, by id.
func (s *Store) GatewayReports(ctx context.Context) ([]GatewayReport, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT gateway_id, reported_at, reports FROM gateway_reports ORDER BY gateway_id")
	if err != nil {
		return nil, fmt.Errorf("store: gateway reports: %w", err)
	}
	defer rows.Close()
	var out []GatewayReport
	for rows.Next() {
		var g GatewayReport
		var at string
		if err := rows.Scan(&g.GatewayID, &at, &g.Reports); err != nil {
			return nil, fmt.Errorf("store: gateway reports: %w", err)
		}
		if g.ReportedAt, err = parseAuthTime(at); err != nil {
			return nil, fmt.Errorf("store: gateway reports: %w", err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}
