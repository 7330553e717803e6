package demo

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/registryapi"
)

func bridgeCredential(t *testing.T, st *store.Store) (registryapi.AllowList, registryapi.Credential) {
	t.Helper()
	view, err := st.GatewayView(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range view.Credentials {
		if c.Username == "bridge.simulateur" {
			return view, c
		}
	}
	t.Fatalf("the gateway's view lists no credential for the demo bridge: %+v", view.Credentials)
	return view, registryapi.Credential{}
}

func TestEnsureBridge(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := Seed(ctx, st); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const pw = "un-mot-de-passe-de-demo-assez-long"

	did, err := EnsureBridge(ctx, st, pw, bcrypt.MinCost, now)
	if err != nil || did != BridgeUpdated {
		t.Fatalf("first EnsureBridge = %q, %v", did, err)
	}
	view, c := bridgeCredential(t, st)
	want := slices.Sorted(slices.Values(IDs()))
	if !slices.Equal(c.Sensors, want) {
		t.Errorf("the demo bridge publishes for %v, want every demo sensor %v", c.Sensors, want)
	}
	if bcrypt.CompareHashAndPassword([]byte(c.Hash), []byte(pw)) != nil {
		t.Error("the stored hash is not the password's")
	}

	// A restart with the same password changes nothing: same view.
	did, err = EnsureBridge(ctx, st, pw, bcrypt.MinCost, now.Add(time.Hour))
	if err != nil || did != BridgeUnchanged {
		t.Fatalf("second EnsureBridge = %q, %v", did, err)
	}
	if again, _ := bridgeCredential(t, st); !again.GeneratedAt.Equal(view.GeneratedAt) {
		t.Errorf("an idempotent start changed the gateway's view: %v then %v", view.GeneratedAt, again.GeneratedAt)
	}

	// An administrator's extra assignment stays; a revoked credential is
	// restored; a new password replaces the old.
	if _, err := st.SetBridgeSensors(ctx, BridgeID, []string{IDs()[0]}, now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeCredential(ctx, BridgeUsername, now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if did, err := EnsureBridge(ctx, st, "un-autre-mot-de-passe-de-demo", bcrypt.MinCost, now.Add(3*time.Hour)); err != nil || did != BridgeUpdated {
		t.Fatalf("EnsureBridge after a revocation = %q, %v", did, err)
	}
	_, c = bridgeCredential(t, st)
	if !slices.Equal(c.Sensors, want) {
		t.Errorf("sensors after re-ensuring: %v", c.Sensors)
	}
	if bcrypt.CompareHashAndPassword([]byte(c.Hash), []byte("un-autre-mot-de-passe-de-demo")) != nil {
		t.Error("the new password is not the one stored")
	}
}
