package demo

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/registryapi"
)

func TestSeedOnlyAnEmptyRegister(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if ok, err := Seed(ctx, st); !ok || err != nil {
		t.Fatalf("first seed: %v, %v", ok, err)
	}
	if ok, err := Seed(ctx, st); ok || err != nil {
		t.Fatalf("second seed: %v, %v; want nothing seeded", ok, err)
	}
	all, err := st.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(IDs()) {
		t.Fatalf("%d entries, want %d", len(all), len(IDs()))
	}
	for _, s := range all {
		vs, err := st.Versions(ctx, s.ID)
		if err != nil || len(vs) != 1 || vs[0].ActorRole != catalog.RoleSystem {
			t.Errorf("%s: versions %+v, %v", s.ID, vs, err)
		}
	}
}

// What the simulator and the gateway rely on.
func TestQuantitiesAreSimulable(t *testing.T) {
	ids := IDs()
	for i, s := range Sensors() {
		if slices.Index(ids, s.ID) != i {
			t.Errorf("%s is listed twice", s.ID)
		}
		for _, q := range s.Quantities {
			if q.Min == nil || q.Max == nil || q.PeriodSeconds <= 0 {
				t.Errorf("%s/%s: range and period are needed to simulate it: %+v", s.ID, q.Name, q)
			}
			switch q.Unit {
			case "Cel", "%RH", "hPa", "ug/m3", "lx", "W", "Wh", "/":
			default:
				t.Errorf("%s/%s: unit %q is not one of the demo's SenML units", s.ID, q.Name, q.Unit)
			}
		}
		if s.Status != registryapi.StatusActive || !s.OpenData {
			t.Errorf("%s: status %s, open data %v", s.ID, s.Status, s.OpenData)
		}
		if !Territory().BBox.Contains(s.Location.Lat, s.Location.Lon) {
			t.Errorf("%s is outside the demo town", s.ID)
		}
	}
	// Sensors() hands out copies: changing one does not change the next.
	a := Sensors()
	a[0].Quantities[0].Name = "changed"
	*a[0].Quantities[0].Max = -1
	if b := Sensors(); b[0].Quantities[0].Name == "changed" || *b[0].Quantities[0].Max == -1 {
		t.Error("Sensors() shares state between calls")
	}
}
