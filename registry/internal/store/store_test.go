package store

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/registryapi"
)

func open(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func entry(id string) registryapi.Sensor {
	min, max := 0.0, 1000.0
	return registryapi.Sensor{
		ID:       id,
		Name:     registryapi.Text{FR: "Capteur " + id, EN: "Sensor " + id},
		Category: registryapi.CategoryAir,
		Site:     "mairie",
		Tags:     map[string]string{"zone": "centre"},
		Quantities: []registryapi.Quantity{
			{Name: "pm10", Unit: "ug/m3", Min: &min, Max: &max, PeriodSeconds: 60},
		},
		Retention: "P1Y",
		Status:    registryapi.StatusDraft,
		URL:       "https://example.org/not-stored",
	}
}

var tech = Change{ActorRole: catalog.RoleTechnician, Actor: "tech-7", Reason: "installation"}

func TestMigrationsAreIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "registry.db")
	if _, err := Open(context.Background(), path); err == nil {
		t.Fatal("Open created a database in a folder that does not exist; run() creates it, not the store")
	}
	path = filepath.Join(t.TempDir(), "registry.db")
	s := open(t, path)
	ctx := context.Background()
	if _, err := s.Create(ctx, entry("air-test-01"), tech); err != nil {
		t.Fatal(err)
	}
	v1, err := s.SchemaVersion(ctx)
	if err != nil || v1 < 1 {
		t.Fatalf("schema version %d, %v", v1, err)
	}
	s.Close()

	s = open(t, path)
	v2, err := s.SchemaVersion(ctx)
	if err != nil || v2 != v1 {
		t.Fatalf("schema version after reopening = %d, %v; want %d", v2, err, v1)
	}
	var rows int
	if err := s.db.QueryRow("SELECT count(*) FROM schema_migrations").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	ms, _ := loadMigrations()
	if rows != len(ms) {
		t.Errorf("schema_migrations has %d rows, want one per migration (%d)", rows, len(ms))
	}
	if _, err := s.Get(ctx, "air-test-01"); err != nil {
		t.Errorf("entry lost on reopening: %v", err)
	}
	var mode string
	if err := s.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var fk int
	if err := s.db.QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.db")
	s := open(t, path)
	if _, err := s.db.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 'x')"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s2, err := Open(context.Background(), path); err == nil {
		s2.Close()
		t.Fatal("opened a database from a newer registry")
	}
}

func TestCreateGetUpdateVersions(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "registry.db"))
	at := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

	in := entry("air-test-01")
	ch := tech
	ch.At = at
	created, err := s.Create(ctx, in, ch)
	if err != nil {
		t.Fatal(err)
	}
	if created.Version != 1 || !created.UpdatedAt.Equal(at) || created.URL != "" {
		t.Errorf("created: version %d, updated %v, url %q", created.Version, created.UpdatedAt, created.URL)
	}
	got, err := s.Get(ctx, "air-test-01")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(created, got); d != "" {
		t.Errorf("Get differs from what Create returned (-created +got):\n%s", d)
	}
	if _, err := s.Create(ctx, in, tech); !errors.Is(err, ErrExists) {
		t.Errorf("second Create: %v, want ErrExists", err)
	}
	if _, err := s.Get(ctx, "nope-01"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get unknown: %v, want ErrNotFound", err)
	}

	// An update from version 1 becomes version 2, with its change recorded.
	next := got
	next.Status = registryapi.StatusActive
	next.Location.Address = "Place de la Mairie"
	ch2 := Change{ActorRole: catalog.RoleAdministrator, Actor: "admin-1", Reason: "publication", At: at.Add(time.Hour)}
	updated, err := s.Update(ctx, next, ch2)
	if err != nil {
		t.Fatal(err)
	}
	if updated.Version != 2 || updated.Status != registryapi.StatusActive {
		t.Errorf("updated: version %d status %s", updated.Version, updated.Status)
	}

	// A stale update (from version 1 again) is refused and writes nothing.
	stale := got
	stale.Name.FR = "Autre nom"
	if _, err := s.Update(ctx, stale, ch2); !errors.Is(err, ErrConflict) {
		t.Errorf("stale update: %v, want ErrConflict", err)
	}
	// An update that changes nothing writes no version.
	same, err := s.Update(ctx, updated, ch2)
	if err != nil || same.Version != 2 {
		t.Errorf("no-op update: version %d, %v", same.Version, err)
	}
	// Invalid changes are refused.
	if _, err := s.Update(ctx, updated, Change{ActorRole: "technician"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("update without a reason: %v, want ErrInvalid", err)
	}
	bad := updated
	bad.Status = "published"
	if _, err := s.Update(ctx, bad, ch2); !errors.Is(err, ErrInvalid) {
		t.Errorf("update to an unknown status: %v, want ErrInvalid", err)
	}
	missing := updated
	missing.ID = "nope-01"
	if _, err := s.Update(ctx, missing, ch2); !errors.Is(err, ErrNotFound) {
		t.Errorf("update of an unknown entry: %v, want ErrNotFound", err)
	}

	vs, err := s.Versions(ctx, "air-test-01")
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Version          int
		Role, Actor, Why string
		Summary, Status  string
		ChangedAt        time.Time
	}
	var rows []row
	for _, v := range vs {
		rows = append(rows, row{v.Version, v.ActorRole, v.Actor, v.Reason, v.Summary, v.Sensor.Status, v.ChangedAt})
	}
	want := []row{
		{1, "technician", "tech-7", "installation", SummaryCreated, "draft", at},
		{2, "administrator", "admin-1", "publication", "location, status", "active", at.Add(time.Hour)},
	}
	if d := cmp.Diff(want, rows); d != "" {
		t.Errorf("versions (-want +got):\n%s", d)
	}
	if _, err := s.Versions(ctx, "nope-01"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Versions of unknown: %v, want ErrNotFound", err)
	}

	// History is append-only, even for SQL that bypasses the store.
	if _, err := s.db.Exec("UPDATE sensor_versions SET reason = 'x'"); err == nil {
		t.Error("a version row was rewritten")
	}
	if _, err := s.db.Exec("DELETE FROM sensor_versions"); err == nil {
		t.Error("version rows were deleted")
	}
}

func TestList(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "registry.db"))
	for _, e := range []struct{ id, status string }{
		{"c-sensor", registryapi.StatusActive},
		{"a-sensor", registryapi.StatusDraft},
		{"b-sensor", registryapi.StatusRetired},
	} {
		in := entry(e.id)
		in.Status = e.status
		if _, err := s.Create(ctx, in, tech); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(ss []registryapi.Sensor) []string {
		var out []string
		for _, s := range ss {
			out = append(out, s.ID)
		}
		return out
	}
	all, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"a-sensor", "b-sensor", "c-sensor"}, ids(all)); d != "" {
		t.Errorf("List() (-want +got):\n%s", d)
	}
	some, err := s.List(ctx, registryapi.StatusActive, registryapi.StatusRetired)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"b-sensor", "c-sensor"}, ids(some)); d != "" {
		t.Errorf("List(active, retired) (-want +got):\n%s", d)
	}
}

func TestSeedIfEmpty(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "registry.db"))
	seed := []registryapi.Sensor{entry("seed-01"), entry("seed-02")}
	ch := Change{ActorRole: catalog.RoleSystem, Reason: "demo"}
	if ok, err := s.SeedIfEmpty(ctx, seed, ch); !ok || err != nil {
		t.Fatalf("first seed: %v, %v", ok, err)
	}
	if ok, err := s.SeedIfEmpty(ctx, []registryapi.Sensor{entry("seed-03")}, ch); ok || err != nil {
		t.Fatalf("second seed: %v, %v; want no seeding", ok, err)
	}
	all, _ := s.List(ctx)
	if len(all) != 2 {
		t.Errorf("%d entries after two seeds, want 2", len(all))
	}

	// A seed with a bad entry writes nothing at all.
	s2 := open(t, filepath.Join(t.TempDir(), "registry.db"))
	bad := entry("Not An Id")
	if _, err := s2.SeedIfEmpty(ctx, []registryapi.Sensor{entry("seed-01"), bad}, ch); !errors.Is(err, ErrInvalid) {
		t.Fatalf("seed with a bad entry: %v, want ErrInvalid", err)
	}
	if all, _ := s2.List(ctx); len(all) != 0 {
		t.Errorf("a failed seed left %d entries", len(all))
	}
}

// Readers keep reading, and see whole versions, while a writer writes.
func TestConcurrentReadersWhileWriting(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "registry.db"))
	cur, err := s.Create(ctx, entry("air-test-01"), tech)
	if err != nil {
		t.Fatal(err)
	}
	const writes = 60
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reads := 0
			for {
				select {
				case <-done:
					if reads == 0 {
						errs <- errors.New("a reader never read")
					}
					return
				default:
				}
				got, err := s.Get(ctx, "air-test-01")
				if err != nil {
					errs <- err
					return
				}
				// The name is written with the version: a torn read shows.
				if want := "Capteur v" + strconv.Itoa(got.Version); got.Version > 1 && got.Name.FR != want {
					errs <- errors.New("torn read: version " + strconv.Itoa(got.Version) + " named " + got.Name.FR)
					return
				}
				if _, err := s.List(ctx); err != nil {
					errs <- err
					return
				}
				reads++
			}
		}()
	}
	// A second writer competes for the write lock.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < writes; i++ {
			in := entry("other-" + strconv.Itoa(i))
			if _, err := s.Create(ctx, in, tech); err != nil {
				errs <- err
				return
			}
		}
	}()
	for i := 0; i < writes; i++ {
		next := cur
		next.Name.FR = "Capteur v" + strconv.Itoa(cur.Version+1)
		if cur, err = s.Update(ctx, next, tech); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	vs, err := s.Versions(ctx, "air-test-01")
	if err != nil || len(vs) != writes+1 {
		t.Errorf("%d versions, %v; want %d", len(vs), err, writes+1)
	}
}
