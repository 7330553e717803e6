package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// RecentVersion is one version of an entry with the status of the version
// before it ("" for a first version), so that a change of status can be
// said as such.
type RecentVersion struct {
	Version
	PreviousStatus string
}

// RecentVersions returns the latest limit versions written, newest first,
// across the entries whose current status is one of statuses (every entry
// when none is given): the register's latest changes.
func (s *Store) RecentVersions(ctx context.Context, limit int, statuses ...string) ([]RecentVersion, error) {
	if limit <= 0 {
		return nil, nil
	}
	q := `SELECT v.sensor_id, v.version, v.document, v.changed_at, v.actor_role, v.actor, v.reason, v.summary,
		COALESCE(json_extract(p.document, '$.status'), '')
		FROM sensor_versions v
		JOIN sensors s ON s.id = v.sensor_id
		LEFT JOIN sensor_versions p ON p.sensor_id = v.sensor_id AND p.version = v.version - 1`
	args := make([]any, 0, len(statuses)+1)
	if len(statuses) > 0 {
		q += " WHERE s.status IN (?" + strings.Repeat(", ?", len(statuses)-1) + ")"
		for _, st := range statuses {
			args = append(args, st)
		}
	}
	q += " ORDER BY v.changed_at DESC, v.sensor_id, v.version DESC LIMIT ?"
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: recent versions: %w", err)
	}
	defer rows.Close()
	var out []RecentVersion
	for rows.Next() {
		var v RecentVersion
		var doc []byte
		var at string
		if err := rows.Scan(&v.SensorID, &v.Version.Version, &doc, &at, &v.ActorRole, &v.Actor, &v.Reason, &v.Summary, &v.PreviousStatus); err != nil {
			return nil, fmt.Errorf("store: recent versions: %w", err)
		}
		if v.ChangedAt, err = time.Parse(timeFormat, at); err != nil {
			return nil, fmt.Errorf("store: recent versions: %s version %d: %w", v.SensorID, v.Version.Version, err)
		}
		if v.Sensor, err = decode(v.SensorID, doc); err != nil {
			return nil, fmt.Errorf("store: recent versions: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: recent versions: %w", err)
	}
	return out, nil
}
