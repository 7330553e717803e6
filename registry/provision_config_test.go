package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/civisens/civisens/registry/internal/auth"
	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/demo"
	"github.com/civisens/civisens/registry/internal/httpapi"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/registryapi"
)

func TestProvisionSettingsErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"bbox of three numbers", []string{"-territory-bbox", "2,46,3"}, nil, "territory-bbox"},
		{"bbox upside down", nil, map[string]string{"REGISTRY_TERRITORY_BBOX": "2.1,46.9,2.0,47"}, "territory-bbox"},
		{"contact not an address", []string{"-functional-contact", "Capteurs <capteurs@mairie.example>"}, nil, "functional-contact"},
		{"gateway token of another shape", nil, map[string]string{"REGISTRY_GATEWAY_TOKEN": "not-a-token"}, "gateway-token"},
		{"body size", []string{"-max-body-size", "lots"}, nil, "max-body-size"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			err := run(context.Background(), tt.args, func(k string) string { return tt.env[k] }, io.Discard, &stderr)
			if !errors.Is(err, errUsage) || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("err = %v, stderr lacks %q:\n%s", err, tt.want, stderr.String())
			}
			if strings.Contains(stderr.String(), "not-a-token") {
				t.Error("the bad token is printed")
			}
		})
	}
}

func TestTerritorySettings(t *testing.T) {
	parse := func(args ...string) config {
		t.Helper()
		c, err := parseConfig(args, noEnv, io.Discard, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if got := parse("-demo").territory(); got != demo.Territory() {
		t.Errorf("-demo alone: territory %+v, want the demo town's", got)
	}
	if got := parse().territory(); got != (catalog.Territory{}) {
		t.Errorf("no setting: %+v", got)
	}
	got := parse("-demo", "-territory-name", "Métropole", "-territory-bbox", "4.7,45.6,5.1,45.9", "-functional-contact", "capteurs@metropole.example").territory()
	want := catalog.Territory{Name: "Métropole", BBox: catalog.BBox{MinLon: 4.7, MinLat: 45.6, MaxLon: 5.1, MaxLat: 45.9}, FunctionalEmail: "capteurs@metropole.example"}
	if got != want {
		t.Errorf("configured: %+v, want %+v", got, want)
	}
	if d := parse("-max-body-size", "512KiB").provisionDeps(httpapi.Deps{}); d.MaxBodyBytes != 512<<10 || d.Territory != (catalog.Territory{}) {
		t.Errorf("deps %d %+v", d.MaxBodyBytes, d.Territory)
	}
}

// The gateway's bootstrap token is ensured at start, stored hashed, kept
// across restarts and replaced when the value changes.
func TestGatewayBootstrapToken(t *testing.T) {
	db := filepath.Join(t.TempDir(), "registry.db")
	tok1, _ := auth.NewAPIToken()
	tok2, _ := auth.NewAPIToken()
	allowList := func(base, tok string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+registryapi.PathAllowList, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i, step := range []struct {
		token    string
		ok, gone string
	}{{tok1, tok1, ""}, {tok1, tok1, ""}, {tok2, tok2, tok1}} {
		base, stop, log := start(t, "-listen", "127.0.0.1:0", "-db", db, "-demo", "-gateway-token", step.token)
		if code := allowList(base, step.ok); code != http.StatusOK {
			t.Errorf("start %d: the bootstrap token gets %d", i, code)
		}
		if code := allowList(base, ""); code != http.StatusUnauthorized {
			t.Errorf("start %d: without a token: %d", i, code)
		}
		if step.gone != "" {
			if code := allowList(base, step.gone); code != http.StatusUnauthorized {
				t.Errorf("start %d: the previous token gets %d", i, code)
			}
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(log.String(), step.token) || !strings.Contains(log.String(), "gateway_token=REDACTED") {
			t.Errorf("start %d: the log shows the token, or not its redaction:\n%s", i, log)
		}
	}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tokens, _ := st.ListAPITokens(context.Background())
	live := 0
	for _, tk := range tokens {
		if tk.Name == BootstrapGatewayToken && !tk.Revoked() {
			live++
			if tk.TokenHash != auth.HashToken(tok2) || tk.Role != auth.RoleGateway {
				t.Errorf("live bootstrap token %+v", tk)
			}
		}
	}
	if live != 1 || len(tokens) != 2 {
		t.Errorf("%d live bootstrap tokens of %d tokens, want 1 of 2 (one per value)", live, len(tokens))
	}
}
