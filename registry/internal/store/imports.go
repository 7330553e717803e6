package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/civisens/civisens/registry/registryapi"
)

// ErrSourceRef is the kind of the error of an import whose source
// reference is already tied to another entry, or whose entry is already
// tied to another reference.
var ErrSourceRef = errors.New("source reference belongs to another entry")

// SourceRefs returns the source references of imported entries: reference
// → sensor id.
func (s *Store) SourceRefs(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT source_ref, sensor_id FROM import_refs")
	if err != nil {
		return nil, fmt.Errorf("store: source refs: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var ref, id string
		if err := rows.Scan(&ref, &id); err != nil {
			return nil, fmt.Errorf("store: source refs: %w", err)
		}
		out[ref] = id
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: source refs: %w", err)
	}
	return out, nil
}

// Imported is one entry of an import to write.
type Imported struct {
	// Sensor is the entry as the import makes it. For an update, Version
	// is the version the import read: when the entry has moved on since,
	// the write fails with ErrConflict.
	Sensor registryapi.Sensor
	// Create makes a new entry; otherwise Sensor updates an existing one.
	Create bool
	// SourceRef, when not empty, is tied to the entry.
	SourceRef string
	// File names the file imported, for the record.
	File string
}

// Import writes one imported entry — its creation or its next version, as
// Create and Update do — and ties it to its source reference, in one
// transaction: when any part fails, nothing of it is written. An update
// that changes nothing writes no version, but still ties the reference.
func (s *Store) Import(ctx context.Context, im Imported, ch Change) (registryapi.Sensor, error) {
	sensor := im.Sensor
	if err := validate(sensor); err != nil {
		return registryapi.Sensor{}, fmt.Errorf("store: import: %w", err)
	}
	if err := ch.validate(); err != nil {
		return registryapi.Sensor{}, fmt.Errorf("store: import %s: %w", sensor.ID, err)
	}
	ref := strings.TrimSpace(im.SourceRef)
	var out registryapi.Sensor
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if im.Create {
			out, err = create(ctx, tx, sensor, ch)
		} else {
			out, err = update(ctx, tx, sensor, ch)
		}
		if err != nil || ref == "" {
			return err
		}
		return tieRef(ctx, tx, ref, sensor.ID, im.File, ch.at().Format(timeFormat))
	})
	return out, err
}

// tieRef records that ref is the source reference of the entry id; it is
// written after the entry, so that a refusal here undoes the entry's write.
func tieRef(ctx context.Context, tx *sql.Tx, ref, id, file, ts string) error {
	var owner string
	err := tx.QueryRowContext(ctx, "SELECT sensor_id FROM import_refs WHERE source_ref = ?", ref).Scan(&owner)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return fmt.Errorf("store: import %s: %w", id, err)
	case owner != id:
		return fmt.Errorf("store: import %s: %q: %w (%s)", id, ref, ErrSourceRef, owner)
	}
	var other string
	err = tx.QueryRowContext(ctx, "SELECT source_ref FROM import_refs WHERE sensor_id = ?", id).Scan(&other)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return fmt.Errorf("store: import %s: %w", id, err)
	case other != ref:
		return fmt.Errorf("store: import %s: the entry was imported from %q, not %q: %w", id, other, ref, ErrSourceRef)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO import_refs (source_ref, sensor_id, file, imported_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (source_ref) DO UPDATE SET file = excluded.file, imported_at = excluded.imported_at`,
		ref, id, file, ts); err != nil {
		return fmt.Errorf("store: import %s: %w", id, err)
	}
	return nil
}
