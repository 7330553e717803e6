package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/civisens/civisens/registry/internal/catalog"
)

var importer = Change{ActorRole: catalog.RoleAdministrator, Actor: "cli", Reason: "import inventaire.csv"}

func TestImportTiesSourceRefs(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "registry.db"))

	a, err := s.Import(ctx, Imported{Sensor: entry("air-imp-01"), Create: true, SourceRef: "INV-1", File: "inventaire.csv"}, importer)
	if err != nil || a.Version != 1 {
		t.Fatalf("create: %v, version %d", err, a.Version)
	}
	if _, err := s.Import(ctx, Imported{Sensor: entry("air-imp-02"), Create: true, File: "inventaire.csv"}, importer); err != nil {
		t.Fatal(err)
	}
	refs, err := s.SourceRefs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]string{"INV-1": "air-imp-01"}, refs); d != "" {
		t.Errorf("refs (-want +got):\n%s", d)
	}

	// An update with the same reference writes a version; an update that
	// changes nothing writes none, and may tie a reference.
	up := a
	up.Name.FR = "Renommé"
	b, err := s.Import(ctx, Imported{Sensor: up, SourceRef: "INV-1", File: "v2.csv"}, importer)
	if err != nil || b.Version != 2 {
		t.Fatalf("update: %v, version %d", err, b.Version)
	}
	two, _ := s.Get(ctx, "air-imp-02")
	same, err := s.Import(ctx, Imported{Sensor: two, SourceRef: "INV-2", File: "v2.csv"}, importer)
	if err != nil || same.Version != 1 {
		t.Fatalf("unchanged with a new ref: %v, version %d", err, same.Version)
	}
	if refs, _ := s.SourceRefs(ctx); refs["INV-2"] != "air-imp-02" {
		t.Errorf("refs %v", refs)
	}

	vs, err := s.Versions(ctx, "air-imp-01")
	if err != nil || len(vs) != 2 || vs[1].Reason != importer.Reason || vs[1].ActorRole != catalog.RoleAdministrator || vs[1].Summary != "name" {
		t.Errorf("versions %+v, %v", vs, err)
	}
}

// A row whose write fails half-way leaves no trace: the entry's version is
// written first, and undone when its reference is refused.
func TestImportNeverHalfWrites(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "registry.db"))
	if _, err := s.Import(ctx, Imported{Sensor: entry("air-imp-01"), Create: true, SourceRef: "INV-1"}, importer); err != nil {
		t.Fatal(err)
	}

	// A creation whose reference belongs to another entry.
	_, err := s.Import(ctx, Imported{Sensor: entry("air-imp-09"), Create: true, SourceRef: "INV-1"}, importer)
	if !errors.Is(err, ErrSourceRef) {
		t.Fatalf("err %v, want ErrSourceRef", err)
	}
	if _, err := s.Get(ctx, "air-imp-09"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the refused entry was written: %v", err)
	}
	if _, err := s.Versions(ctx, "air-imp-09"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the refused entry's version was written: %v", err)
	}

	// An update of an entry tied to another reference.
	cur, _ := s.Get(ctx, "air-imp-01")
	cur.Name.FR = "Changé"
	if _, err := s.Import(ctx, Imported{Sensor: cur, SourceRef: "INV-other"}, importer); !errors.Is(err, ErrSourceRef) {
		t.Fatalf("err %v, want ErrSourceRef", err)
	}
	after, _ := s.Get(ctx, "air-imp-01")
	if after.Version != 1 || after.Name.FR == "Changé" {
		t.Errorf("the refused update was written: version %d, name %q", after.Version, after.Name.FR)
	}
	if refs, _ := s.SourceRefs(ctx); len(refs) != 1 {
		t.Errorf("refs %v", refs)
	}

	// An update from a version that has moved on.
	stale := cur
	stale.Version = 0
	if _, err := s.Import(ctx, Imported{Sensor: stale, SourceRef: "INV-1"}, importer); !errors.Is(err, ErrConflict) {
		t.Errorf("err %v, want ErrConflict", err)
	}
	// An invalid entry or change is refused before anything.
	bad := entry("NOT AN ID")
	if _, err := s.Import(ctx, Imported{Sensor: bad, Create: true}, importer); !errors.Is(err, ErrInvalid) {
		t.Errorf("err %v, want ErrInvalid", err)
	}
}
