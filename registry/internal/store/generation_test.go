package store

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/registryapi"
)

// The change counter moves with every write to an entry — a creation, an
// update, a seed, an insert or delete by hand — through any connection to
// the file, and with nothing else.
func TestGenerationFollowsEveryWrite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "registry.db")
	s := open(t, path)
	other := open(t, path) // as "registry import" beside the server
	ch := Change{ActorRole: catalog.RoleTechnician, Actor: "t", Reason: "essai"}
	last, err := s.Generation(ctx)
	if err != nil || last.N < 1 || last.ChangedAt.IsZero() {
		t.Fatalf("first generation %+v, %v", last, err)
	}
	moved := func(what string) {
		t.Helper()
		g, err := s.Generation(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if g.N <= last.N || g.ChangedAt.Before(last.ChangedAt) {
			t.Errorf("%s: generation %+v after %+v", what, g, last)
		}
		last = g
	}
	same := func(what string) {
		t.Helper()
		if g, err := s.Generation(ctx); err != nil || g != last {
			t.Errorf("%s: generation %+v after %+v, %v", what, g, last, err)
		}
	}

	a, err := s.Create(ctx, entry("air-gen-01"), ch)
	if err != nil {
		t.Fatal(err)
	}
	moved("create")
	a.Status = registryapi.StatusActive
	if a, err = s.Update(ctx, a, ch); err != nil {
		t.Fatal(err)
	}
	moved("status change")
	if _, err = s.Update(ctx, a, ch); err != nil { // changes nothing, writes nothing
		t.Fatal(err)
	}
	same("update that changes nothing")
	if _, err := s.SeedIfEmpty(ctx, []registryapi.Sensor{entry("air-gen-02")}, ch); err != nil {
		t.Fatal(err)
	}
	same("seed of a register that has entries")
	if _, err := other.Create(ctx, entry("air-gen-03"), ch); err != nil {
		t.Fatal(err)
	}
	moved("create through another connection pool")
	if _, err := s.Versions(ctx, "air-gen-01"); err != nil {
		t.Fatal(err)
	}
	same("read")
	if _, err := other.db.ExecContext(ctx, `INSERT INTO sensors (id, status, category, version, created_at, updated_at, document)
		VALUES ('air-main-01', 'draft', 'air', 1, 'x', 'x', '{}')`); err != nil {
		t.Fatal(err)
	}
	moved("insert by hand")
	if _, err := other.db.ExecContext(ctx, `DELETE FROM sensors WHERE id = 'air-main-01'`); err != nil {
		t.Fatal(err)
	}
	moved("delete by hand")

	fresh := open(t, filepath.Join(t.TempDir(), "empty.db"))
	g, _ := fresh.Generation(ctx)
	if _, err := fresh.SeedIfEmpty(ctx, []registryapi.Sensor{entry("air-gen-04"), entry("air-gen-05")}, ch); err != nil {
		t.Fatal(err)
	}
	if g2, _ := fresh.Generation(ctx); g2.N != g.N+2 {
		t.Errorf("seed of two entries: generation %d after %d", g2.N, g.N)
	}
}
