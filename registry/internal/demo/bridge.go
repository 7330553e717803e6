package demo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/civisens/civisens/registry/internal/provision"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/registryapi"
)

// The demo's firmware bridge: the simulator that `make run` starts
// (firmware-bridge -mode simulate) publishes every demo sensor through the
// gateway's embedded broker with this bridge's credential.
const (
	BridgeID   = "simulateur"
	BridgeName = "Simulateur de la commune de démonstration (make run)"
)

// BridgeUsername is the MQTT username of the demo bridge.
var BridgeUsername = provision.BridgeUsername(BridgeID)

// What EnsureBridge did, for the log.
const (
	BridgeUnchanged = "unchanged"
	BridgeUpdated   = "updated" // created, its sensors or its password changed
	BridgeRetired   = "retired" // someone retired it: left alone
)

// bridgeStore is what EnsureBridge needs of the store.
type bridgeStore interface {
	Get(ctx context.Context, id string) (registryapi.Sensor, error)
	Bridge(ctx context.Context, id string) (store.Bridge, error)
	CreateBridge(ctx context.Context, b store.Bridge) (store.Bridge, error)
	SetBridgeSensors(ctx context.Context, id string, sensors []string, at time.Time) (store.Bridge, error)
	CredentialByUsername(ctx context.Context, username string) (store.Credential, error)
	PutCredential(ctx context.Context, c store.Credential, at time.Time) (store.Credential, bool, error)
}

// EnsureBridge makes the demo bridge [BridgeID] exist, with password as its
// MQTT password (stored as a bcrypt hash of the given cost) and every demo
// sensor that exists and is not retired among its sensors (sensors assigned
// otherwise stay). It is idempotent: a restart with the same password
// changes nothing, so that the gateway's allow-list keeps its ETag. A
// credential revoked by an administrator is restored, as the configuration
// says it is wanted; a bridge an administrator retired is left alone.
//
// Sensors published later are not assigned to the simulator: an
// administrator assigns them (PUT /api/v1/bridges/simulateur/sensors), or
// the next start with -demo assigns the demo sensors again.
func EnsureBridge(ctx context.Context, st bridgeStore, password string, cost int, now time.Time) (string, error) {
	did := BridgeUnchanged
	b, err := st.Bridge(ctx, BridgeID)
	if errors.Is(err, store.ErrNoBridge) {
		b, err = st.CreateBridge(ctx, store.Bridge{ID: BridgeID, Name: BridgeName, CreatedAt: now})
		did = BridgeUpdated
	}
	if err != nil {
		return "", fmt.Errorf("demo bridge: %w", err)
	}
	if b.RetiredAt != nil {
		return BridgeRetired, nil
	}

	want := slices.Clone(b.Sensors)
	for _, id := range IDs() {
		e, err := st.Get(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			continue
		case err != nil:
			return "", fmt.Errorf("demo bridge: %w", err)
		case e.Status == registryapi.StatusRetired || slices.Contains(want, id):
			continue
		}
		want = append(want, id)
	}
	slices.Sort(want)
	if !slices.Equal(want, b.Sensors) {
		if _, err := st.SetBridgeSensors(ctx, BridgeID, want, now); err != nil {
			return "", fmt.Errorf("demo bridge: %w", err)
		}
		did = BridgeUpdated
	}

	c, err := st.CredentialByUsername(ctx, BridgeUsername)
	switch {
	case err == nil && !c.Revoked() && bcrypt.CompareHashAndPassword([]byte(c.Hash), []byte(password)) == nil:
		return did, nil
	case err != nil && !errors.Is(err, store.ErrNoCredential):
		return "", fmt.Errorf("demo bridge: %w", err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return "", fmt.Errorf("demo bridge: hash its MQTT password: %w", err)
	}
	if _, _, err := st.PutCredential(ctx, store.Credential{Username: BridgeUsername, BridgeID: BridgeID, Hash: string(hash),
		IssuedBy: "registry -demo"}, now); err != nil {
		return "", fmt.Errorf("demo bridge: %w", err)
	}
	return BridgeUpdated, nil
}
