package store

// MQTT credentials, firmware bridges and the gateway's view of the
// register (migration 0004). Package provision decides who gets what; the
// store keeps it and answers the allow-list in one snapshot.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/registryapi"
)

// Kinds of errors of credentials and bridges.
var (
	ErrNoCredential = errors.New("no such MQTT credential")
	ErrNoBridge     = errors.New("no such firmware bridge")
	ErrBridgeExists = errors.New("a firmware bridge with this id already exists")
)

// Credential is an MQTT account: a sensor's own (SensorID) or a firmware
// bridge's (BridgeID). Its password is never stored, only its bcrypt Hash.
type Credential struct {
	Username string
	SensorID string // set for a sensor's credential
	BridgeID string // set for a bridge's credential
	Hash     string // bcrypt, modular crypt form ($2a$10$…)
	// IssuedBy names who issued or last rotated it (a user name, or
	// "token:<name>"); private.
	IssuedBy  string
	CreatedAt time.Time
	RotatedAt *time.Time
	RevokedAt *time.Time
}

// Revoked reports whether the credential no longer works.
func (c Credential) Revoked() bool { return c.RevokedAt != nil }

// LogValue logs the credential without its hash.
func (c Credential) LogValue() slog.Value {
	return slog.GroupValue(slog.String("username", c.Username), slog.String("sensor", c.SensorID),
		slog.String("bridge", c.BridgeID), slog.Bool("revoked", c.Revoked()))
}

const credentialColumns = "username, coalesce(sensor_id, ''), coalesce(bridge_id, ''), hash, issued_by, created_at, rotated_at, revoked_at"

func scanCredential(r scanner) (Credential, error) {
	var c Credential
	var created string
	var rotated, revoked sql.NullString
	if err := r.Scan(&c.Username, &c.SensorID, &c.BridgeID, &c.Hash, &c.IssuedBy, &created, &rotated, &revoked); err != nil {
		return Credential{}, err
	}
	var err error
	if c.CreatedAt, err = parseAuthTime(created); err != nil {
		return Credential{}, fmt.Errorf("credential %s: %w", c.Username, err)
	}
	if c.RotatedAt, err = parseNullTime(rotated); err != nil {
		return Credential{}, fmt.Errorf("credential %s: %w", c.Username, err)
	}
	if c.RevokedAt, err = parseNullTime(revoked); err != nil {
		return Credential{}, fmt.Errorf("credential %s: %w", c.Username, err)
	}
	return c, nil
}

// PutCredential stores c as the live credential of its sensor or bridge, at
// the time at: a new one, or — when its username already has one, revoked
// or not — a rotation that replaces the hash in the same write, so that the
// old password stops working at once. It returns the credential as stored
// and whether it was a rotation. The sensor or bridge must exist
// (ErrNotFound, ErrNoBridge); a username that belongs to another sensor or
// bridge is ErrInvalid.
func (s *Store) PutCredential(ctx context.Context, c Credential, at time.Time) (Credential, bool, error) {
	switch {
	case c.Username == "" || (c.SensorID == "") == (c.BridgeID == ""):
		return Credential{}, false, fmt.Errorf("store: put credential: %w: a username and one sensor or bridge", ErrInvalid)
	case !strings.HasPrefix(c.Hash, "$2"):
		return Credential{}, false, fmt.Errorf("store: put credential %s: %w: the hash must be bcrypt", c.Username, ErrInvalid)
	}
	ts := authTime(at)
	rotated := false
	var out Credential
	err := s.write(ctx, func(tx *sql.Tx) error {
		var n int
		if c.SensorID != "" {
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM sensors WHERE id = ?", c.SensorID).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("%s: %w", c.SensorID, ErrNotFound)
			}
		} else {
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM bridges WHERE id = ?", c.BridgeID).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("%s: %w", c.BridgeID, ErrNoBridge)
			}
		}
		cur, err := scanCredential(tx.QueryRowContext(ctx, "SELECT "+credentialColumns+" FROM mqtt_credentials WHERE username = ?", c.Username))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, `INSERT INTO mqtt_credentials (username, sensor_id, bridge_id, hash, issued_by, created_at)
				VALUES (?, nullif(?, ''), nullif(?, ''), ?, ?, ?)`, c.Username, c.SensorID, c.BridgeID, c.Hash, c.IssuedBy, ts)
			if err != nil {
				return err
			}
		case err != nil:
			return err
		case cur.SensorID != c.SensorID || cur.BridgeID != c.BridgeID:
			return fmt.Errorf("%w: username %s belongs to another sensor or bridge", ErrInvalid, c.Username)
		default:
			rotated = true
			if _, err := tx.ExecContext(ctx, `UPDATE mqtt_credentials SET hash = ?, issued_by = ?, rotated_at = ?, revoked_at = NULL
				WHERE username = ?`, c.Hash, c.IssuedBy, ts, c.Username); err != nil {
				return err
			}
		}
		out, err = scanCredential(tx.QueryRowContext(ctx, "SELECT "+credentialColumns+" FROM mqtt_credentials WHERE username = ?", c.Username))
		return err
	})
	if err != nil {
		return Credential{}, false, fmt.Errorf("store: put credential %s: %w", c.Username, err)
	}
	return out, rotated, nil
}

// CredentialByUsername returns the credential username, revoked or not, or
// ErrNoCredential.
func (s *Store) CredentialByUsername(ctx context.Context, username string) (Credential, error) {
	c, err := scanCredential(s.db.QueryRowContext(ctx, "SELECT "+credentialColumns+" FROM mqtt_credentials WHERE username = ?", username))
	if errors.Is(err, sql.ErrNoRows) {
		return Credential{}, fmt.Errorf("store: credential %s: %w", username, ErrNoCredential)
	}
	if err != nil {
		return Credential{}, fmt.Errorf("store: credential %s: %w", username, err)
	}
	return c, nil
}

// Credentials returns every credential, revoked ones included, by username.
func (s *Store) Credentials(ctx context.Context) ([]Credential, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+credentialColumns+" FROM mqtt_credentials ORDER BY username")
	if err != nil {
		return nil, fmt.Errorf("store: credentials: %w", err)
	}
	defer rows.Close()
	var out []Credential
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, fmt.Errorf("store: credentials: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: credentials: %w", err)
	}
	return out, nil
}

// RevokeCredential revokes the credential username at the time at;
// revoking a revoked credential keeps its first date. An unknown username
// is ErrNoCredential.
func (s *Store) RevokeCredential(ctx context.Context, username string, at time.Time) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM mqtt_credentials WHERE username = ?", username).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return ErrNoCredential
		}
		_, err := tx.ExecContext(ctx, "UPDATE mqtt_credentials SET revoked_at = ? WHERE username = ? AND revoked_at IS NULL", authTime(at), username)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: revoke credential %s: %w", username, err)
	}
	return nil
}

// Bridge is a firmware bridge: one program that publishes the readings of
// several sensors (a LoRaWAN network server's, a Zigbee2MQTT's), with its
// own MQTT credential.
type Bridge struct {
	ID   string // a sensor id's shape: ^[a-z0-9][a-z0-9-]{2,62}$
	Name string // what it is, e.g. "Serveur LoRaWAN de la mairie"; staff only
	// Sensors are the ids of the sensors it may publish for, sorted.
	Sensors   []string
	CreatedAt time.Time
	UpdatedAt time.Time // the latest change of its name or its sensors
	RetiredAt *time.Time
}

// CreateBridge stores a new bridge, without sensors; CreatedAt zero means
// now. An id already taken is ErrBridgeExists.
func (s *Store) CreateBridge(ctx context.Context, b Bridge) (Bridge, error) {
	var err error
	if b.Name, err = cleanName("bridge name", b.Name, MaxNameLength); err != nil {
		return Bridge{}, fmt.Errorf("store: create bridge: %w", err)
	}
	if !catalog.ValidSensorID(b.ID) || b.Name == "" {
		return Bridge{}, fmt.Errorf("store: create bridge %q: %w: an id and a name are required", b.ID, ErrInvalid)
	}
	if b.CreatedAt.IsZero() {
		b.CreatedAt = time.Now()
	}
	b.CreatedAt = b.CreatedAt.UTC().Truncate(time.Microsecond)
	b.UpdatedAt, b.Sensors, b.RetiredAt = b.CreatedAt, []string{}, nil
	err = s.write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM bridges WHERE id = ?", b.ID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrBridgeExists
		}
		ts := authTime(b.CreatedAt)
		_, err := tx.ExecContext(ctx, "INSERT INTO bridges (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)", b.ID, b.Name, ts, ts)
		return err
	})
	if err != nil {
		return Bridge{}, fmt.Errorf("store: create bridge %s: %w", b.ID, err)
	}
	return b, nil
}

// Bridge returns the bridge id with its sensors, or ErrNoBridge.
func (s *Store) Bridge(ctx context.Context, id string) (Bridge, error) {
	bs, err := s.bridges(ctx, s.db, id)
	if err != nil {
		return Bridge{}, err
	}
	if len(bs) == 0 {
		return Bridge{}, fmt.Errorf("store: bridge %s: %w", id, ErrNoBridge)
	}
	return bs[0], nil
}

// Bridges returns every bridge with its sensors, by id.
func (s *Store) Bridges(ctx context.Context) ([]Bridge, error) {
	return s.bridges(ctx, s.db, "")
}

// rowsQueryer is what reads of several rows need: the database or a
// transaction.
type rowsQueryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// bridges reads the bridge id, or every bridge when id is empty.
func (s *Store) bridges(ctx context.Context, q rowsQueryer, id string) ([]Bridge, error) {
	where := ""
	args := []any{}
	if id != "" {
		where, args = " WHERE id = ?", []any{id}
	}
	rows, err := q.QueryContext(ctx, "SELECT id, name, created_at, updated_at, retired_at FROM bridges"+where+" ORDER BY id", args...)
	if err != nil {
		return nil, fmt.Errorf("store: bridges: %w", err)
	}
	var out []Bridge
	index := map[string]int{}
	for rows.Next() {
		var b Bridge
		var created, updated string
		var retired sql.NullString
		if err := rows.Scan(&b.ID, &b.Name, &created, &updated, &retired); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: bridges: %w", err)
		}
		if b.CreatedAt, err = parseAuthTime(created); err == nil {
			if b.UpdatedAt, err = parseAuthTime(updated); err == nil {
				b.RetiredAt, err = parseNullTime(retired)
			}
		}
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: bridge %s: %w", b.ID, err)
		}
		b.Sensors = []string{}
		index[b.ID] = len(out)
		out = append(out, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: bridges: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	rows, err = q.QueryContext(ctx, "SELECT bridge_id, sensor_id FROM bridge_sensors"+strings.Replace(where, "id", "bridge_id", 1)+" ORDER BY bridge_id, sensor_id", args...)
	if err != nil {
		return nil, fmt.Errorf("store: bridge sensors: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var b, sensor string
		if err := rows.Scan(&b, &sensor); err != nil {
			return nil, fmt.Errorf("store: bridge sensors: %w", err)
		}
		if i, ok := index[b]; ok {
			out[i].Sensors = append(out[i].Sensors, sensor)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: bridge sensors: %w", err)
	}
	return out, nil
}

// SetBridgeSensors makes sensors (ids of existing entries) the whole list of
// sensors that the bridge id may publish for, at the time at, in one
// transaction, and returns the bridge. An unknown bridge is ErrNoBridge, an
// unknown sensor ErrNotFound; either leaves the list as it was.
func (s *Store) SetBridgeSensors(ctx context.Context, id string, sensors []string, at time.Time) (Bridge, error) {
	sensors = slices.Clone(sensors)
	slices.Sort(sensors)
	sensors = slices.Compact(sensors)
	ts := authTime(at)
	err := s.write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM bridges WHERE id = ?", id).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return ErrNoBridge
		}
		for _, sensor := range sensors {
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM sensors WHERE id = ?", sensor).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("sensor %s: %w", sensor, ErrNotFound)
			}
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM bridge_sensors WHERE bridge_id = ?", id); err != nil {
			return err
		}
		for _, sensor := range sensors {
			if _, err := tx.ExecContext(ctx, "INSERT INTO bridge_sensors (bridge_id, sensor_id, assigned_at) VALUES (?, ?, ?)", id, sensor, ts); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, "UPDATE bridges SET updated_at = ? WHERE id = ?", ts, id)
		return err
	})
	if err != nil {
		return Bridge{}, fmt.Errorf("store: bridge %s sensors: %w", id, err)
	}
	return s.Bridge(ctx, id)
}

// GatewayView returns the gateway's view of the register, read in one
// snapshot:
//
//   - Sensors: the entries the gateway accepts readings from
//     (catalog.InAllowList: active and maintenance), by id;
//   - Credentials: the live credentials (not revoked) of those sensors, and
//     of the bridges that are not retired, each bridge with those of its
//     sensors that are in Sensors; by username;
//   - GeneratedAt: the time of the latest change of the register, its
//     credentials or its bridges — so that an unchanged register answers
//     the same view, and any change answers another.
func (s *Store) GatewayView(ctx context.Context) (registryapi.AllowList, error) {
	view := registryapi.AllowList{Sensors: []registryapi.GatewaySensor{}, Credentials: []registryapi.Credential{}}
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true}) // a deferred transaction: one snapshot
	if err != nil {
		return registryapi.AllowList{}, fmt.Errorf("store: gateway view: %w", err)
	}
	defer tx.Rollback()
	latest := func(ts string, format string) error {
		t, err := time.Parse(format, ts)
		if err != nil {
			return err
		}
		if t.After(view.GeneratedAt) {
			view.GeneratedAt = t
		}
		return nil
	}

	rows, err := tx.QueryContext(ctx, "SELECT id, status, updated_at, document FROM sensors ORDER BY id")
	if err != nil {
		return registryapi.AllowList{}, fmt.Errorf("store: gateway view: %w", err)
	}
	allowed := map[string]bool{}
	for rows.Next() {
		var id, status, updated string
		var doc []byte
		if err := rows.Scan(&id, &status, &updated, &doc); err != nil {
			rows.Close()
			return registryapi.AllowList{}, fmt.Errorf("store: gateway view: %w", err)
		}
		if err := latest(updated, timeFormat); err != nil {
			rows.Close()
			return registryapi.AllowList{}, fmt.Errorf("store: gateway view: %s: %w", id, err)
		}
		if !catalog.InAllowList(status) {
			continue
		}
		e, err := decode(id, doc)
		if err != nil {
			rows.Close()
			return registryapi.AllowList{}, fmt.Errorf("store: gateway view: %w", err)
		}
		allowed[id] = true
		view.Sensors = append(view.Sensors, registryapi.GatewaySensor{
			ID: e.ID, Category: e.Category, Site: e.Site, Tags: e.Tags,
			Quantities: e.Quantities, Retention: e.Retention, Status: e.Status,
			Identifiability: e.Identifiability,
		})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return registryapi.AllowList{}, fmt.Errorf("store: gateway view: %w", err)
	}

	bridges, err := s.bridges(ctx, tx, "")
	if err != nil {
		return registryapi.AllowList{}, fmt.Errorf("store: gateway view: %w", err)
	}
	live := map[string]Bridge{}
	for _, b := range bridges {
		for _, t := range []time.Time{b.CreatedAt, b.UpdatedAt} {
			if t.After(view.GeneratedAt) {
				view.GeneratedAt = t
			}
		}
		if b.RetiredAt != nil {
			if b.RetiredAt.After(view.GeneratedAt) {
				view.GeneratedAt = *b.RetiredAt
			}
			continue
		}
		live[b.ID] = b
	}

	rows, err = tx.QueryContext(ctx, "SELECT "+credentialColumns+" FROM mqtt_credentials ORDER BY username")
	if err != nil {
		return registryapi.AllowList{}, fmt.Errorf("store: gateway view: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return registryapi.AllowList{}, fmt.Errorf("store: gateway view: %w", err)
		}
		for _, t := range []*time.Time{&c.CreatedAt, c.RotatedAt, c.RevokedAt} {
			if t != nil && t.After(view.GeneratedAt) {
				view.GeneratedAt = *t
			}
		}
		if c.Revoked() {
			continue
		}
		switch {
		case c.SensorID != "" && allowed[c.SensorID]:
			view.Credentials = append(view.Credentials, registryapi.Credential{Username: c.Username, Hash: c.Hash, Sensors: []string{c.SensorID}})
		case c.BridgeID != "":
			b, ok := live[c.BridgeID]
			if !ok {
				continue
			}
			sensors := []string{}
			for _, id := range b.Sensors {
				if allowed[id] {
					sensors = append(sensors, id)
				}
			}
			view.Credentials = append(view.Credentials, registryapi.Credential{Username: c.Username, Hash: c.Hash, Sensors: sensors})
		}
	}
	if err := rows.Err(); err != nil {
		return registryapi.AllowList{}, fmt.Errorf("store: gateway view: %w", err)
	}
	view.GeneratedAt = view.GeneratedAt.UTC()
	if view.GeneratedAt.IsZero() {
		view.GeneratedAt = time.Unix(0, 0).UTC()
	}
	return view, nil
}
