package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/civisens/civisens/registry/internal/auth"
	"github.com/civisens/civisens/registry/registryapi"
)

// setStatus moves the entry id to status, as a technician.
func setStatus(t *testing.T, s *Store, id, status string) {
	t.Helper()
	ctx := context.Background()
	e, err := s.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	e.Status = status
	if _, err := s.Update(ctx, e, tech); err != nil {
		t.Fatal(err)
	}
}

func TestCredentialsAndGatewayView(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "registry.db"))
	for _, id := range []string{"air-a-01", "air-b-01", "air-c-01", "air-d-01"} {
		if _, err := s.Create(ctx, entry(id), tech); err != nil {
			t.Fatal(err)
		}
	}
	setStatus(t, s, "air-a-01", registryapi.StatusActive)
	setStatus(t, s, "air-b-01", registryapi.StatusActive)
	setStatus(t, s, "air-b-01", registryapi.StatusMaintenance)
	setStatus(t, s, "air-c-01", registryapi.StatusActive)
	setStatus(t, s, "air-c-01", registryapi.StatusRetired)
	// air-d-01 stays a draft.
	at := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond) // after the entries' versions
	for _, id := range []string{"air-a-01", "air-b-01", "air-c-01", "air-d-01"} {
		if _, rotated, err := s.PutCredential(ctx, Credential{Username: id, SensorID: id, Hash: "$2a$10$" + id, IssuedBy: "tech-7"}, at); err != nil || rotated {
			t.Fatalf("put %s: rotated %v, %v", id, rotated, err)
		}
	}
	if _, err := s.CreateBridge(ctx, Bridge{ID: "lora-01", Name: "Serveur LoRaWAN"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateBridge(ctx, Bridge{ID: "lora-01", Name: "Encore"}); !errors.Is(err, ErrBridgeExists) {
		t.Errorf("second bridge lora-01: %v", err)
	}
	b, err := s.SetBridgeSensors(ctx, "lora-01", []string{"air-d-01", "air-a-01", "air-c-01", "air-a-01"}, at)
	if err != nil || !cmp.Equal(b.Sensors, []string{"air-a-01", "air-c-01", "air-d-01"}) {
		t.Fatalf("bridge sensors %v, %v", b.Sensors, err)
	}
	if _, err := s.SetBridgeSensors(ctx, "lora-01", []string{"air-a-01", "nope-nope"}, at); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown sensor: %v", err)
	}
	if b, _ := s.Bridge(ctx, "lora-01"); len(b.Sensors) != 3 {
		t.Errorf("a refused assignment changed the list: %v", b.Sensors)
	}
	if _, _, err := s.PutCredential(ctx, Credential{Username: "bridge.lora-01", BridgeID: "lora-01", Hash: "$2a$10$bridge"}, at); err != nil {
		t.Fatal(err)
	}

	view, err := s.GatewayView(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, g := range view.Sensors {
		ids = append(ids, g.ID+":"+g.Status)
	}
	if d := cmp.Diff([]string{"air-a-01:active", "air-b-01:maintenance"}, ids); d != "" {
		t.Errorf("sensors (-want +got):\n%s", d)
	}
	want := []registryapi.Credential{
		{Username: "air-a-01", Hash: "$2a$10$air-a-01", Sensors: []string{"air-a-01"}},
		{Username: "air-b-01", Hash: "$2a$10$air-b-01", Sensors: []string{"air-b-01"}},
		{Username: "bridge.lora-01", Hash: "$2a$10$bridge", Sensors: []string{"air-a-01"}}, // its published sensors only
	}
	if d := cmp.Diff(want, view.Credentials); d != "" {
		t.Errorf("credentials (-want +got):\n%s", d)
	}
	if !view.GeneratedAt.Equal(at) {
		t.Errorf("generated_at %v, want the latest change %v", view.GeneratedAt, at)
	}
	again, _ := s.GatewayView(ctx)
	if !cmp.Equal(view, again) {
		t.Error("an unchanged register gives another view")
	}

	// Rotation replaces the hash in place; revocation removes it.
	later := at.Add(time.Hour)
	c, rotated, err := s.PutCredential(ctx, Credential{Username: "air-a-01", SensorID: "air-a-01", Hash: "$2a$10$rotated", IssuedBy: "tech-8"}, later)
	if err != nil || !rotated || c.RotatedAt == nil || !c.RotatedAt.Equal(later) || c.CreatedAt != at {
		t.Fatalf("rotate: %+v %v %v", c, rotated, err)
	}
	view, _ = s.GatewayView(ctx)
	if view.Credentials[0].Hash != "$2a$10$rotated" || !view.GeneratedAt.Equal(later) {
		t.Errorf("after rotation: %+v at %v", view.Credentials[0], view.GeneratedAt)
	}
	if err := s.RevokeCredential(ctx, "air-b-01", later.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	view, _ = s.GatewayView(ctx)
	for _, c := range view.Credentials {
		if c.Username == "air-b-01" {
			t.Error("a revoked credential is listed")
		}
	}
	if err := s.RevokeCredential(ctx, "nobody", later); !errors.Is(err, ErrNoCredential) {
		t.Errorf("revoke unknown: %v", err)
	}
	// A username is its owner's.
	if _, _, err := s.PutCredential(ctx, Credential{Username: "air-a-01", SensorID: "air-b-01", Hash: "$2a$10$x"}, later); !errors.Is(err, ErrInvalid) {
		t.Errorf("username of another sensor: %v", err)
	}
	for _, bad := range []Credential{
		{Username: "air-a-01", SensorID: "air-a-01", Hash: "plain"},
		{Username: "x", SensorID: "air-a-01", BridgeID: "lora-01", Hash: "$2a$10$x"},
		{Username: "ghost-01", SensorID: "ghost-01", Hash: "$2a$10$x"},
	} {
		if _, _, err := s.PutCredential(ctx, bad, later); err == nil {
			t.Errorf("put %+v accepted", bad)
		}
	}
	// No hash of a password is ever stored in the clear form of one.
	all, _ := s.Credentials(ctx)
	for _, c := range all {
		if !strings.HasPrefix(c.Hash, "$2a$") {
			t.Errorf("%s: hash %q", c.Username, c.Hash)
		}
	}
}

func TestEnsureAPIToken(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "registry.db"))
	at := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	h1, h2 := auth.HashToken("cvs_one"), auth.HashToken("cvs_two")
	live := func() []string {
		ts, _ := s.ListAPITokens(ctx)
		var out []string
		for _, t := range ts {
			if !t.Revoked() {
				out = append(out, t.Name+":"+t.TokenHash[:8])
			}
		}
		return out
	}
	for i, step := range []struct {
		hash, want string
		live       []string
	}{
		{h1, TokenCreated, []string{"bootstrap-gateway:" + h1[:8]}},
		{h1, TokenUnchanged, []string{"bootstrap-gateway:" + h1[:8]}}, // a restart
		{h2, TokenReplaced, []string{"bootstrap-gateway:" + h2[:8]}},  // the value changed
		{h1, TokenRestored, []string{"bootstrap-gateway:" + h1[:8]}},  // and back
	} {
		did, err := s.EnsureAPIToken(ctx, "bootstrap-gateway", auth.RoleGateway, step.hash, at)
		if err != nil || did != step.want {
			t.Errorf("step %d: %q, %v; want %q", i, did, err, step.want)
		}
		if d := cmp.Diff(step.live, live()); d != "" {
			t.Errorf("step %d: live tokens (-want +got):\n%s", i, d)
		}
	}
	if _, err := s.CreateAPIToken(ctx, APIToken{Name: "script", TokenHash: auth.HashToken("cvs_three"), Role: auth.RoleTechnician}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnsureAPIToken(ctx, "bootstrap-gateway", auth.RoleGateway, auth.HashToken("cvs_three"), at); !errors.Is(err, ErrTokenTaken) {
		t.Errorf("another token's value: %v", err)
	}
}
