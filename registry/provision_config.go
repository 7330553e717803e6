package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/civisens/civisens/registry/internal/auth"
	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/demo"
	"github.com/civisens/civisens/registry/internal/httpapi"
	"github.com/civisens/civisens/registry/internal/provision"
	"github.com/civisens/civisens/registry/internal/store"
)

// The provisioning settings of the configuration (config.go): the
// territory that publication checks entries against, the organisation's
// functional mailbox, the gateway's bootstrap token and the body size
// limit; their defaults, their checks, and what they give httpapi.

const defaultMaxBodySize = "1MiB"

// BootstrapGatewayToken names the API token that -gateway-token ensures.
const BootstrapGatewayToken = "bootstrap-gateway"

// Environment variables of the territory, read by "registry import" too.
const (
	envTerritoryName     = "REGISTRY_TERRITORY_NAME"
	envTerritoryBBox     = "REGISTRY_TERRITORY_BBOX"
	envFunctionalContact = "REGISTRY_FUNCTIONAL_CONTACT"
)

// withProvisionDefaults sets the default body size limit.
func (c config) withProvisionDefaults() config {
	if c.MaxBodySize == "" {
		c.MaxBodySize = defaultMaxBodySize
	}
	return c
}

// validateProvision checks the provisioning settings, with their defaults.
func (c config) validateProvision(bad func(format string, args ...any)) {
	if _, err := territoryOf(c.TerritoryName, c.TerritoryBBox, c.FunctionalContact); err != nil {
		bad("%v", err)
	}
	if c.GatewayToken != "" && !auth.WellFormedAPIToken(string(c.GatewayToken)) {
		bad("gateway-token: want %s followed by 43 characters of base64url (A–Z a–z 0–9 - _), e.g. "+
			"cvs_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')", auth.APITokenPrefix)
	}
	if _, err := parseSize(c.MaxBodySize); err != nil {
		bad("max-body-size %q: %v", c.MaxBodySize, err)
	}
	switch n := len(c.DemoBridgePassword); {
	case n == 0:
	case !c.Demo:
		bad("demo-bridge-password: only with -demo")
	case n < 16 || n > 72:
		bad("demo-bridge-password: want 16 to 72 bytes, e.g. $(head -c 24 /dev/urandom | base64 | tr '+/' '-_')")
	}
}

// territoryOf reads the territory settings; all empty is the zero
// Territory, which checks no place.
func territoryOf(name, bbox, contact string) (catalog.Territory, error) {
	t := catalog.Territory{Name: strings.TrimSpace(name), FunctionalEmail: strings.TrimSpace(contact)}
	if strings.ContainsAny(t.Name, "\r\n") || len(t.Name) > 300 {
		return catalog.Territory{}, fmt.Errorf("territory-name: want one line of at most 300 bytes")
	}
	if bbox != "" {
		b, err := catalog.ParseBBox(bbox)
		if err != nil {
			return catalog.Territory{}, fmt.Errorf("territory-bbox %w", err)
		}
		t.BBox = b
	}
	if t.FunctionalEmail != "" {
		a, err := mail.ParseAddress(t.FunctionalEmail)
		if err != nil || a.Address != t.FunctionalEmail || a.Name != "" {
			return catalog.Territory{}, fmt.Errorf("functional-contact %q: want an e-mail address, e.g. capteurs@mairie.example", t.FunctionalEmail)
		}
	}
	return t, nil
}

// territory returns the configured territory; with -demo and no territory
// setting, the demo town's.
func (c config) territory() catalog.Territory {
	if c.Demo && c.TerritoryName == "" && c.TerritoryBBox == "" && c.FunctionalContact == "" {
		return demo.Territory()
	}
	t, _ := territoryOf(c.TerritoryName, c.TerritoryBBox, c.FunctionalContact) // checked by Validate
	return t
}

// territoryFromEnv is the territory of "registry import", from the
// server's environment variables.
func territoryFromEnv(getenv func(string) string) (catalog.Territory, error) {
	return territoryOf(getenv(envTerritoryName), getenv(envTerritoryBBox), getenv(envFunctionalContact))
}

// provisionDeps returns what the HTTP handler needs of the settings.
func (c config) provisionDeps(d httpapi.Deps) httpapi.Deps {
	c = c.withProvisionDefaults()
	d.Territory = c.territory()
	d.MaxBodyBytes, _ = parseSize(c.MaxBodySize) // checked by Validate
	return d
}

// ensureDemoBridge, with -demo and -demo-bridge-password, makes the demo's
// firmware bridge exist with that MQTT password and every demo sensor
// (demo.EnsureBridge), so that `make run` gives the simulator its
// credential without an administrator.
func ensureDemoBridge(ctx context.Context, st *store.Store, c config, log *slog.Logger) error {
	if !c.Demo || c.DemoBridgePassword == "" {
		return nil
	}
	did, err := demo.EnsureBridge(ctx, st, string(c.DemoBridgePassword), provision.DefaultBcryptCost, time.Now())
	if err != nil {
		return err
	}
	if did == demo.BridgeRetired {
		log.Warn("demo bridge retired by an administrator: left alone; the simulator cannot publish", "bridge", demo.BridgeID)
		return nil
	}
	log.Info("demo bridge", "bridge", demo.BridgeID, "mqtt_username", demo.BridgeUsername, "password", c.DemoBridgePassword, "did", did)
	return nil
}

// ensureGatewayToken makes -gateway-token the live API token of role
// gateway named BootstrapGatewayToken (stored hashed; idempotent across
// restarts; the previous one revoked when the value changes), so that
// `make run` and tests give the gateway its token without an
// administrator.
func ensureGatewayToken(ctx context.Context, st *store.Store, c config, log *slog.Logger) error {
	if c.GatewayToken == "" {
		return nil
	}
	did, err := st.EnsureAPIToken(ctx, BootstrapGatewayToken, auth.RoleGateway, auth.HashToken(string(c.GatewayToken)), time.Now())
	if err != nil {
		return fmt.Errorf("gateway-token: %w", err)
	}
	log.Info("gateway bootstrap token", "name", BootstrapGatewayToken, "token", c.GatewayToken, "did", did)
	return nil
}
