// Package store keeps the register in SQLite, through the pure-Go driver
// modernc.org/sqlite (no cgo), in one file.
//
// Each entry is a row of the sensors table (id, status, category, version,
// dates, and the whole [registryapi.Sensor] as JSON), and every write — a
// creation or an update — also appends a row to sensor_versions with who
// (role and actor), when, why, and a summary of what changed. Updates are
// optimistic: they name the version they were made from, and fail with
// [ErrConflict] when someone else wrote in between.
//
// Beside the entries: accounts, sessions and API tokens (accounts.go,
// bootstrap.go), import references (imports.go), and the MQTT credentials'
// bcrypt hashes, firmware bridges and the gateway's view, read in one
// snapshot (credentials.go, migration 0004). Triggers keep a change
// counter of the entries ([Store.Generation], migration 0006), by which
// readers that keep the published entries in memory know they are current,
// whoever wrote.
//
// The schema is a list of numbered SQL files embedded from migrations/,
// applied at Open in one transaction and recorded in schema_migrations, so
// that opening is idempotent and the next features (credentials,
// provisioning) arrive as new files. The database runs in WAL mode, so
// readers do not wait for a writer, with a busy timeout for writers and
// foreign keys on.
package store

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/registryapi"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// Kinds of errors; callers decide with errors.Is.
var (
	ErrNotFound = errors.New("no such entry")
	ErrExists   = errors.New("entry already exists")
	ErrConflict = errors.New("entry was changed by someone else")
	ErrInvalid  = errors.New("invalid entry")
)

// Summary of a creation; the summary of an update lists the changed fields.
const SummaryCreated = "created"

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the register's database. It is safe for concurrent use.
type Store struct {
	db  *sql.DB
	gen *sql.Stmt // reads the change counter (Generation), asked at every public request
}

// Change says who makes a change, and why.
type Change struct {
	ActorRole string    // catalog.Role…; shown publicly
	Actor     string    // who, e.g. a user name; never shown publicly
	Reason    string    // why, in words; shown publicly
	At        time.Time // when; the zero time means now
}

func (c Change) validate() error {
	if strings.TrimSpace(c.ActorRole) == "" {
		return fmt.Errorf("%w: a change needs the actor's role", ErrInvalid)
	}
	if strings.TrimSpace(c.Reason) == "" {
		return fmt.Errorf("%w: a change needs a reason", ErrInvalid)
	}
	return nil
}

func (c Change) at() time.Time {
	if c.At.IsZero() {
		return time.Now().UTC()
	}
	return c.At.UTC()
}

// Version is one version of an entry, as it was written.
type Version struct {
	SensorID  string
	Version   int
	Sensor    registryapi.Sensor
	ChangedAt time.Time
	ActorRole string
	Actor     string
	Reason    string
	// Summary is SummaryCreated, or the JSON names of the changed fields
	// separated by ", ".
	Summary string
}

// Open opens (creating it if needed) the database file at path and brings
// its schema up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("store: %q is not a usable database path", path)
	}
	dsn := path + "?_txlock=immediate" +
		"&_pragma=busy_timeout(5000)" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)" +
		"&_pragma=foreign_keys(1)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	s := &Store{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	if s.gen, err = db.PrepareContext(ctx, "SELECT generation, changed_at FROM register_generation WHERE id = 1"); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.gen.Close()
	return s.db.Close()
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: the name must start with its number, e.g. 0002_credentials.sql", base)
		}
		b, err := migrations.ReadFile(name)
		if err != nil {
			return nil, err
		}
		if len(ms) > 0 && ms[len(ms)-1].version == v {
			return nil, fmt.Errorf("migrations %s and %s have the same number", ms[len(ms)-1].name, base)
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	return ms, nil
}

// migrate applies the migrations that the database has not seen, in one
// transaction.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if latest := ms[len(ms)-1].version; current > latest {
		return fmt.Errorf("migrate: the database has schema version %d, newer than this registry's %d: run a newer registry", current, latest)
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("migrate: %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
			m.version, m.name, now); err != nil {
			return fmt.Errorf("migrate: record %s: %w", m.name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// SchemaVersion returns the number of the last migration applied.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.db.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("store: schema version: %w", err)
	}
	return v, nil
}

func validate(s registryapi.Sensor) error {
	switch {
	case !catalog.ValidSensorID(s.ID):
		return fmt.Errorf("%w: %q is not a sensor id", ErrInvalid, s.ID)
	case !catalog.ValidStatus(s.Status):
		return fmt.Errorf("%w: %s: %q is not a status", ErrInvalid, s.ID, s.Status)
	case !catalog.ValidCategory(s.Category):
		return fmt.Errorf("%w: %s: %q is not a category", ErrInvalid, s.ID, s.Category)
	}
	return nil
}

// document returns the JSON stored for s. The public URL is not stored: it
// depends on where the registry is served, and is set when serving.
func document(s registryapi.Sensor) ([]byte, error) {
	s.URL = ""
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", s.ID, err)
	}
	return b, nil
}

const timeFormat = time.RFC3339Nano

// Create adds a new entry as version 1, and returns it as stored.
func (s *Store) Create(ctx context.Context, sensor registryapi.Sensor, ch Change) (registryapi.Sensor, error) {
	var out registryapi.Sensor
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = create(ctx, tx, sensor, ch)
		return err
	})
	return out, err
}

// SeedIfEmpty creates every sensor, as Create does, in one transaction, when
// the register holds no entry at all; it reports whether it did.
func (s *Store) SeedIfEmpty(ctx context.Context, sensors []registryapi.Sensor, ch Change) (bool, error) {
	seeded := false
	err := s.write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM sensors").Scan(&n); err != nil {
			return fmt.Errorf("store: seed: %w", err)
		}
		if n > 0 {
			return nil
		}
		for _, sensor := range sensors {
			if _, err := create(ctx, tx, sensor, ch); err != nil {
				return err
			}
		}
		seeded = true
		return nil
	})
	return seeded, err
}

func create(ctx context.Context, tx *sql.Tx, sensor registryapi.Sensor, ch Change) (registryapi.Sensor, error) {
	if err := validate(sensor); err != nil {
		return registryapi.Sensor{}, fmt.Errorf("store: create: %w", err)
	}
	if err := ch.validate(); err != nil {
		return registryapi.Sensor{}, fmt.Errorf("store: create %s: %w", sensor.ID, err)
	}
	var exists int
	err := tx.QueryRowContext(ctx, "SELECT count(*) FROM sensors WHERE id = ?", sensor.ID).Scan(&exists)
	if err != nil {
		return registryapi.Sensor{}, fmt.Errorf("store: create %s: %w", sensor.ID, err)
	}
	if exists > 0 {
		return registryapi.Sensor{}, fmt.Errorf("store: create %s: %w", sensor.ID, ErrExists)
	}
	at := ch.at()
	sensor.Version = 1
	sensor.UpdatedAt = at
	doc, err := document(sensor)
	if err != nil {
		return registryapi.Sensor{}, fmt.Errorf("store: create: %w", err)
	}
	ts := at.Format(timeFormat)
	if _, err := tx.ExecContext(ctx, `INSERT INTO sensors (id, status, category, version, created_at, updated_at, document)
		VALUES (?, ?, ?, 1, ?, ?, ?)`, sensor.ID, sensor.Status, sensor.Category, ts, ts, string(doc)); err != nil {
		return registryapi.Sensor{}, fmt.Errorf("store: create %s: %w", sensor.ID, err)
	}
	if err := addVersion(ctx, tx, sensor.ID, 1, doc, ts, ch, SummaryCreated); err != nil {
		return registryapi.Sensor{}, fmt.Errorf("store: create %s: %w", sensor.ID, err)
	}
	sensor.URL = ""
	return sensor, nil
}

func addVersion(ctx context.Context, tx *sql.Tx, id string, version int, doc []byte, ts string, ch Change, summary string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO sensor_versions
		(sensor_id, version, document, changed_at, actor_role, actor, reason, summary)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, version, string(doc), ts, ch.ActorRole, ch.Actor, ch.Reason, summary)
	return err
}

// Update writes sensor as the next version of its entry. sensor.Version must
// be the version the change was made from: when the entry has moved on since,
// Update fails with ErrConflict and writes nothing. An update that changes
// nothing writes nothing and returns the entry as it is.
func (s *Store) Update(ctx context.Context, sensor registryapi.Sensor, ch Change) (registryapi.Sensor, error) {
	if err := validate(sensor); err != nil {
		return registryapi.Sensor{}, fmt.Errorf("store: update: %w", err)
	}
	if err := ch.validate(); err != nil {
		return registryapi.Sensor{}, fmt.Errorf("store: update %s: %w", sensor.ID, err)
	}
	var out registryapi.Sensor
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = update(ctx, tx, sensor, ch)
		return err
	})
	return out, err
}

// update is Update within the write transaction tx, sensor and ch being
// valid.
func update(ctx context.Context, tx *sql.Tx, sensor registryapi.Sensor, ch Change) (registryapi.Sensor, error) {
	cur, err := get(ctx, tx, sensor.ID)
	if err != nil {
		return registryapi.Sensor{}, fmt.Errorf("store: update: %w", err)
	}
	if cur.Version != sensor.Version {
		return registryapi.Sensor{}, fmt.Errorf("store: update %s from version %d: %w (now at version %d)", sensor.ID, sensor.Version, ErrConflict, cur.Version)
	}
	changed, err := changedFields(cur, sensor)
	if err != nil {
		return registryapi.Sensor{}, fmt.Errorf("store: update %s: %w", sensor.ID, err)
	}
	if len(changed) == 0 {
		return cur, nil
	}
	at := ch.at()
	sensor.Version = cur.Version + 1
	sensor.UpdatedAt = at
	doc, err := document(sensor)
	if err != nil {
		return registryapi.Sensor{}, fmt.Errorf("store: update: %w", err)
	}
	ts := at.Format(timeFormat)
	res, err := tx.ExecContext(ctx, `UPDATE sensors SET status = ?, category = ?, version = ?, updated_at = ?, document = ?
		WHERE id = ? AND version = ?`, sensor.Status, sensor.Category, sensor.Version, ts, string(doc), sensor.ID, cur.Version)
	if err != nil {
		return registryapi.Sensor{}, fmt.Errorf("store: update %s: %w", sensor.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return registryapi.Sensor{}, fmt.Errorf("store: update %s: %w", sensor.ID, ErrConflict)
	}
	if err := addVersion(ctx, tx, sensor.ID, sensor.Version, doc, ts, ch, strings.Join(changed, ", ")); err != nil {
		return registryapi.Sensor{}, fmt.Errorf("store: update %s: %w", sensor.ID, err)
	}
	sensor.URL = ""
	return sensor, nil
}

// changedFields returns the JSON names of the top-level fields that differ
// between two versions of an entry, sorted; the bookkeeping fields (version,
// updated_at, url) are left out.
func changedFields(a, b registryapi.Sensor) ([]string, error) {
	fields := func(s registryapi.Sensor) (map[string]json.RawMessage, error) {
		s.Version, s.UpdatedAt, s.URL = 0, time.Time{}, ""
		doc, err := json.Marshal(s)
		if err != nil {
			return nil, err
		}
		var m map[string]json.RawMessage
		return m, json.Unmarshal(doc, &m)
	}
	fa, err := fields(a)
	if err != nil {
		return nil, err
	}
	fb, err := fields(b)
	if err != nil {
		return nil, err
	}
	var changed []string
	for _, k := range slices.Sorted(maps.Keys(fb)) {
		if string(fa[k]) != string(fb[k]) {
			changed = append(changed, k)
		}
	}
	for k := range fa {
		if _, ok := fb[k]; !ok {
			changed = append(changed, k)
		}
	}
	slices.Sort(changed)
	return changed, nil
}

// write runs fn in a write transaction, which the DSN's _txlock=immediate
// opens with BEGIN IMMEDIATE, so that concurrent writers queue on the busy
// timeout instead of failing halfway.
func (s *Store) write(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// queryer is what reads need: the database or a transaction.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func get(ctx context.Context, q queryer, id string) (registryapi.Sensor, error) {
	var doc []byte
	err := q.QueryRowContext(ctx, "SELECT document FROM sensors WHERE id = ?", id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return registryapi.Sensor{}, fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	if err != nil {
		return registryapi.Sensor{}, fmt.Errorf("get %s: %w", id, err)
	}
	return decode(id, doc)
}

func decode(id string, doc []byte) (registryapi.Sensor, error) {
	var s registryapi.Sensor
	if err := json.Unmarshal(doc, &s); err != nil {
		return registryapi.Sensor{}, fmt.Errorf("decode %s: %w", id, err)
	}
	return s, nil
}

// Get returns the current version of the entry id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (registryapi.Sensor, error) {
	out, err := get(ctx, s.db, id)
	if err != nil {
		return registryapi.Sensor{}, fmt.Errorf("store: %w", err)
	}
	return out, nil
}

// List returns the current version of every entry whose status is one of
// statuses (every entry when none is given), ordered by id.
func (s *Store) List(ctx context.Context, statuses ...string) ([]registryapi.Sensor, error) {
	q := "SELECT id, document FROM sensors"
	args := make([]any, len(statuses))
	if len(statuses) > 0 {
		q += " WHERE status IN (?" + strings.Repeat(", ?", len(statuses)-1) + ")"
		for i, st := range statuses {
			args[i] = st
		}
	}
	rows, err := s.db.QueryContext(ctx, q+" ORDER BY id", args...)
	if err != nil {
		return nil, fmt.Errorf("store: list: %w", err)
	}
	defer rows.Close()
	var out []registryapi.Sensor
	for rows.Next() {
		var id string
		var doc []byte
		if err := rows.Scan(&id, &doc); err != nil {
			return nil, fmt.Errorf("store: list: %w", err)
		}
		sensor, err := decode(id, doc)
		if err != nil {
			return nil, fmt.Errorf("store: list: %w", err)
		}
		out = append(out, sensor)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list: %w", err)
	}
	return out, nil
}

// Versions returns every version of the entry id, oldest first, or
// ErrNotFound.
func (s *Store) Versions(ctx context.Context, id string) ([]Version, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT version, document, changed_at, actor_role, actor, reason, summary
		FROM sensor_versions WHERE sensor_id = ? ORDER BY version`, id)
	if err != nil {
		return nil, fmt.Errorf("store: versions of %s: %w", id, err)
	}
	defer rows.Close()
	var out []Version
	for rows.Next() {
		v := Version{SensorID: id}
		var doc []byte
		var at string
		if err := rows.Scan(&v.Version, &doc, &at, &v.ActorRole, &v.Actor, &v.Reason, &v.Summary); err != nil {
			return nil, fmt.Errorf("store: versions of %s: %w", id, err)
		}
		if v.ChangedAt, err = time.Parse(timeFormat, at); err != nil {
			return nil, fmt.Errorf("store: versions of %s: version %d: %w", id, v.Version, err)
		}
		if v.Sensor, err = decode(id, doc); err != nil {
			return nil, fmt.Errorf("store: versions of %s: %w", id, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: versions of %s: %w", id, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("store: versions of %s: %w", id, ErrNotFound)
	}
	return out, nil
}

// Generation is the register's change counter (migration 0006): it grows
// with every write to an entry, by this process or another one on the same
// file, such as "registry import" beside the server.
type Generation struct {
	N         int64
	ChangedAt time.Time // of the latest change to an entry, to the millisecond
}

// Generation returns the register's current change counter: one indexed
// read of one row, cheap enough to ask at every request.
func (s *Store) Generation(ctx context.Context) (Generation, error) {
	var g Generation
	var at string
	if err := s.gen.QueryRowContext(ctx).Scan(&g.N, &at); err != nil {
		return Generation{}, fmt.Errorf("store: generation: %w", err)
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return Generation{}, fmt.Errorf("store: generation: %w", err)
	}
	g.ChangedAt = t.UTC()
	return g, nil
}
