package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/civisens/civisens/registry/internal/auth"
	"github.com/civisens/civisens/registry/internal/store"
)

// login posts the login form of a running registry and returns the status
// and the session cookie.
func login(t *testing.T, base, username, password string) (int, *http.Cookie) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(base+"/login", url.Values{"username": {username}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "civisens_session" && c.MaxAge > 0 {
			return resp.StatusCode, c
		}
	}
	return resp.StatusCode, nil
}

// The first administrator, created with the command line on a fresh
// machine, logs in to the running registry.
func TestAdminCreateThenLogin(t *testing.T) {
	db := filepath.Join(t.TempDir(), "var", "registry", "registry.db") // folders created
	var stdout, stderr bytes.Buffer
	err := adminCommand(context.Background(), []string{"create", "-db", db, "-username", "Admin", "-display-name", "Agnès"},
		noEnv, strings.NewReader("un mot de passe solide\n"), &stdout, &stderr)
	if err != nil {
		t.Fatalf("admin create: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), `Account "admin" (administrator) created`) || strings.Contains(stdout.String(), "solide") {
		t.Errorf("stdout: %q", stdout.String())
	}

	// -generate, through run, with the database from the environment.
	stdout.Reset()
	env := func(k string) string {
		if k == "REGISTRY_DB" {
			return db
		}
		return ""
	}
	if err := run(context.Background(), []string{"admin", "create", "-username", "tech", "-role", "technician", "-generate"}, env, &stdout, &stderr); err != nil {
		t.Fatalf("admin create -generate: %v\n%s", err, stderr.String())
	}
	m := regexp.MustCompile(`Password \(shown only this once\): (\S+)\n`).FindStringSubmatch(stdout.String())
	if m == nil || auth.CheckPassword(m[1], "tech") != nil {
		t.Fatalf("no generated password in %q", stdout.String())
	}

	// Only hashes are stored.
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	a, err := st.AccountByUsername(context.Background(), "admin")
	st.Close()
	if err != nil || a.Role != auth.RoleAdministrator || a.DisplayName != "Agnès" || !strings.HasPrefix(a.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("stored %+v, %v", a, err)
	}

	base, _, _ := start(t, "-listen", "127.0.0.1:0", "-db", db, "-influx-url", "http://127.0.0.1:1")
	if code, c := login(t, base, "admin", "un mot de passe solide"); code != http.StatusSeeOther || c == nil || !c.HttpOnly {
		t.Errorf("admin login: %d %+v", code, c)
	}
	if code, c := login(t, base, "tech", m[1]); code != http.StatusSeeOther || c == nil {
		t.Errorf("generated password login: %d", code)
	}
	if code, c := login(t, base, "admin", "wrong password!"); code != http.StatusUnauthorized || c != nil {
		t.Errorf("wrong password: %d", code)
	}

	// A second account with the same name is refused, not a usage error.
	err = adminCommand(context.Background(), []string{"create", "-db", db, "-username", "ADMIN"}, noEnv, strings.NewReader("un autre mot de passe\n"), io.Discard, io.Discard)
	if err == nil || errors.Is(err, errUsage) || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("duplicate: %v", err)
	}
}

func TestAdminCreateUsage(t *testing.T) {
	db := filepath.Join(t.TempDir(), "registry.db")
	for _, tt := range []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{"no subcommand", nil, "", "which subcommand"},
		{"unknown subcommand", []string{"delete"}, "", "unknown subcommand"},
		{"no user name", []string{"create", "-db", db}, "un mot de passe solide\n", "-username is required"},
		{"bad user name", []string{"create", "-db", db, "-username", "jean dupont"}, "un mot de passe solide\n", "-username"},
		{"gateway is no account", []string{"create", "-db", db, "-username", "gw", "-role", "gateway"}, "un mot de passe solide\n", "-role"},
		{"short password", []string{"create", "-db", db, "-username", "admin"}, "court\n", "password"},
		{"no password", []string{"create", "-db", db, "-username", "admin"}, "", "no password on stdin"},
		{"unknown flag", []string{"create", "-db", db, "-username", "admin", "-admin"}, "", "-admin"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			err := adminCommand(context.Background(), tt.args, noEnv, strings.NewReader(tt.stdin), io.Discard, &stderr)
			if !errors.Is(err, errUsage) {
				t.Fatalf("err = %v, want a usage error", err)
			}
			if !strings.Contains(stderr.String(), tt.want) || !strings.Contains(stderr.String(), "Usage: registry admin") {
				t.Errorf("stderr lacks %q and the usage:\n%s", tt.want, stderr.String())
			}
		})
	}

	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"admin", "create", "--help"}, noEnv, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"-username", "-role", "-generate", "-db", "REGISTRY_DB", "standard input", "argon2id"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("admin create --help lacks %q", want)
		}
	}
	stdout.Reset()
	if err := run(context.Background(), []string{"--help"}, noEnv, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "registry admin create") {
		t.Error("registry --help does not mention registry admin create")
	}
}

// A provisioning script gets a technician token from the command line and
// issues a sensor's MQTT credential with it.
func TestAdminTokenThenIssueCredentials(t *testing.T) {
	db := filepath.Join(t.TempDir(), "registry.db")
	base, _, _ := start(t, "-listen", "127.0.0.1:0", "-db", db, "-demo", "-influx-url", "http://127.0.0.1:1")

	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"admin", "token", "-db", db, "-name", "script de pose", "-quiet"}, noEnv, &stdout, &stderr); err != nil {
		t.Fatalf("admin token: %v\n%s", err, stderr.String())
	}
	token := strings.TrimSpace(stdout.String())
	if !auth.WellFormedAPIToken(token) {
		t.Fatalf("admin token printed %q", stdout.String())
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/sensors/air-mairie-01/credentials", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || !strings.Contains(string(body), `"username":"air-mairie-01"`) {
		t.Errorf("issue credentials with the technician token: %d %s", resp.StatusCode, body)
	}

	// Only token roles; the database must exist.
	for _, args := range [][]string{
		{"admin", "token", "-db", db, "-name", "x", "-role", "administrator"},
		{"admin", "token", "-db", db},
		{"admin", "token", "-db", filepath.Join(t.TempDir(), "none.db"), "-name", "x"},
	} {
		if err := run(context.Background(), args, noEnv, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("%v succeeded", args)
		}
	}
}
