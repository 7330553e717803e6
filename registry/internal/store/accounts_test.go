package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/civisens/civisens/registry/internal/auth"
)

// hash is a real argon2id hash with cheap parameters.
func hash(t *testing.T, pw string) string {
	t.Helper()
	h, err := auth.HashPassword(pw, auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestAccounts(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "registry.db"))
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 123456789, time.UTC)

	admin, err := s.CreateAccount(ctx, Account{Username: " Admin ", DisplayName: "Agnès Martin", Role: auth.RoleAdministrator, PasswordHash: hash(t, "admin password"), CreatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	if admin.ID == 0 || admin.Username != "admin" || !admin.CreatedAt.Equal(t0.Truncate(time.Microsecond)) {
		t.Errorf("created %+v", admin)
	}
	tech, err := s.CreateAccount(ctx, Account{Username: "tech", Role: auth.RoleTechnician, PasswordHash: hash(t, "tech password")})
	if err != nil {
		t.Fatal(err)
	}
	if tech.DisplayName != "tech" {
		t.Errorf("display name %q, want the user name", tech.DisplayName)
	}

	for name, a := range map[string]Account{
		"duplicate, other case": {Username: "ADMIN", Role: auth.RoleTechnician, PasswordHash: admin.PasswordHash},
	} {
		if _, err := s.CreateAccount(ctx, a); !errors.Is(err, ErrAccountExists) {
			t.Errorf("%s: %v, want ErrAccountExists", name, err)
		}
	}
	for name, a := range map[string]Account{
		"bad user name":        {Username: "jean dupont", Role: auth.RoleTechnician, PasswordHash: admin.PasswordHash},
		"gateway account":      {Username: "gw", Role: auth.RoleGateway, PasswordHash: admin.PasswordHash},
		"unknown role":         {Username: "root", Role: "root", PasswordHash: admin.PasswordHash},
		"plaintext password":   {Username: "plain", Role: auth.RoleTechnician, PasswordHash: "hunter2hunter2"},
		"control in the name":  {Username: "ctl", DisplayName: "a\x00b", Role: auth.RoleTechnician, PasswordHash: admin.PasswordHash},
		"display name too big": {Username: "big", DisplayName: strings.Repeat("é", MaxNameLength+1), Role: auth.RoleTechnician, PasswordHash: admin.PasswordHash},
	} {
		if _, err := s.CreateAccount(ctx, a); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}

	got, err := s.AccountByUsername(ctx, "ADMIN")
	if err != nil || got.ID != admin.ID || got.DisplayName != "Agnès Martin" || got.PasswordHash != admin.PasswordHash || got.Disabled() {
		t.Errorf("by user name: %+v, %v", got, err)
	}
	if _, err := s.AccountByUsername(ctx, "nobody"); !errors.Is(err, ErrNoAccount) {
		t.Errorf("unknown user: %v", err)
	}
	if got, err := s.AccountByID(ctx, tech.ID); err != nil || got.Username != "tech" {
		t.Errorf("by id: %+v, %v", got, err)
	}
	list, err := s.ListAccounts(ctx)
	if err != nil || len(list) != 2 || list[0].Username != "admin" || list[1].Username != "tech" {
		t.Errorf("list: %+v, %v", list, err)
	}
	if n, err := s.CountAccounts(ctx); n != 2 || err != nil {
		t.Errorf("count %d, %v", n, err)
	}

	// The last administrator can be neither demoted nor disabled.
	if err := s.SetRole(ctx, admin.ID, auth.RoleTechnician); !errors.Is(err, ErrLastAdministrator) {
		t.Errorf("demote the last admin: %v", err)
	}
	if err := s.SetDisabled(ctx, admin.ID, true, t0); !errors.Is(err, ErrLastAdministrator) {
		t.Errorf("disable the last admin: %v", err)
	}
	if err := s.SetRole(ctx, tech.ID, auth.RoleGateway); !errors.Is(err, ErrInvalid) {
		t.Errorf("gateway role for a person: %v", err)
	}
	if err := s.SetRole(ctx, 999, auth.RoleTechnician); !errors.Is(err, ErrNoAccount) {
		t.Errorf("unknown account: %v", err)
	}
	if err := s.SetRole(ctx, tech.ID, auth.RoleAdministrator); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRole(ctx, admin.ID, auth.RoleEnergyManager); err != nil {
		t.Errorf("demote with another admin left: %v", err)
	}
	if got, _ := s.AccountByID(ctx, admin.ID); got.Role != auth.RoleEnergyManager {
		t.Errorf("role %q", got.Role)
	}

	// Disabling deletes the sessions; enabling again clears the date.
	if err := s.CreateSession(ctx, Session{TokenHash: auth.HashToken("s1"), AccountID: admin.ID, CSRFToken: "c", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), LastSeenAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetDisabled(ctx, admin.ID, true, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.AccountByID(ctx, admin.ID); !got.Disabled() || !got.DisabledAt.Equal(t0.Add(time.Minute).Truncate(time.Microsecond)) {
		t.Errorf("disabled: %+v", got)
	}
	if _, _, err := s.SessionByTokenHash(ctx, auth.HashToken("s1")); !errors.Is(err, ErrNoSession) {
		t.Errorf("session of a disabled account: %v", err)
	}
	if err := s.SetDisabled(ctx, admin.ID, false, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.AccountByID(ctx, admin.ID); got.Disabled() {
		t.Error("still disabled")
	}

	// A new password logs out the other sessions.
	for _, tok := range []string{"keep", "other"} {
		if err := s.CreateSession(ctx, Session{TokenHash: auth.HashToken(tok), AccountID: tech.ID, CSRFToken: "c", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), LastSeenAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetPassword(ctx, tech.ID, hash(t, "new password!"), auth.HashToken("keep")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionByTokenHash(ctx, auth.HashToken("keep")); err != nil {
		t.Errorf("kept session: %v", err)
	}
	if _, _, err := s.SessionByTokenHash(ctx, auth.HashToken("other")); !errors.Is(err, ErrNoSession) {
		t.Errorf("other session: %v", err)
	}
	if err := s.SetPassword(ctx, tech.ID, "plain", ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("plaintext password: %v", err)
	}
}

func TestSessions(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "registry.db"))
	a, err := s.CreateAccount(ctx, Account{Username: "tech", DisplayName: "Tech", Role: auth.RoleTechnician, PasswordHash: hash(t, "tech password")})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	sess := Session{TokenHash: auth.HashToken("tok"), AccountID: a.ID, CSRFToken: "csrf", CreatedAt: t0, ExpiresAt: t0.Add(7 * 24 * time.Hour), LastSeenAt: t0}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, sess); err == nil {
		t.Error("the same session twice")
	}
	if err := s.CreateSession(ctx, Session{TokenHash: "short", AccountID: a.ID, CSRFToken: "c"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad session: %v", err)
	}
	got, acc, err := s.SessionByTokenHash(ctx, sess.TokenHash)
	if err != nil || got != sess || acc.Username != "tech" || acc.Role != auth.RoleTechnician {
		t.Errorf("session %+v %+v, %v", got, acc, err)
	}
	if err := s.TouchSession(ctx, sess.TokenHash, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, _, _ = s.SessionByTokenHash(ctx, sess.TokenHash)
	if !got.LastSeenAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("last seen %v", got.LastSeenAt)
	}

	// Purge: the idle one, the expired one; the live one stays.
	idle := Session{TokenHash: auth.HashToken("idle"), AccountID: a.ID, CSRFToken: "c", CreatedAt: t0, ExpiresAt: t0.Add(7 * 24 * time.Hour), LastSeenAt: t0}
	old := Session{TokenHash: auth.HashToken("old"), AccountID: a.ID, CSRFToken: "c", CreatedAt: t0.Add(-8 * 24 * time.Hour), ExpiresAt: t0.Add(12*time.Hour - time.Microsecond), LastSeenAt: t0.Add(12 * time.Hour)}
	for _, x := range []Session{idle, old} {
		if err := s.CreateSession(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	s.TouchSession(ctx, sess.TokenHash, t0.Add(11*time.Hour))
	// At 20:00: idle has been idle 12 h; old ended a microsecond before noon.
	n, err := s.PurgeSessions(ctx, t0.Add(12*time.Hour), 12*time.Hour)
	if err != nil || n != 2 {
		t.Errorf("purged %d, %v; want 2", n, err)
	}
	if _, _, err := s.SessionByTokenHash(ctx, sess.TokenHash); err != nil {
		t.Errorf("live session purged: %v", err)
	}
	if err := s.DeleteSession(ctx, sess.TokenHash); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionByTokenHash(ctx, sess.TokenHash); !errors.Is(err, ErrNoSession) {
		t.Errorf("after logout: %v", err)
	}
	if err := s.DeleteSession(ctx, sess.TokenHash); err != nil {
		t.Errorf("deleting twice: %v", err)
	}
}

func TestAPITokens(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "registry.db")
	s := open(t, path)
	admin, err := s.CreateAccount(ctx, Account{Username: "admin", Role: auth.RoleAdministrator, PasswordHash: hash(t, "admin password")})
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := auth.NewAPIToken()
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	tok, err := s.CreateAPIToken(ctx, APIToken{Name: " passerelle mairie ", TokenHash: auth.HashToken(secret), Role: auth.RoleGateway, CreatedBy: admin.ID, CreatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	if tok.ID == 0 || tok.Name != "passerelle mairie" {
		t.Errorf("created %+v", tok)
	}
	for name, bad := range map[string]APIToken{
		"no name":            {TokenHash: auth.HashToken("x"), Role: auth.RoleGateway},
		"administrator role": {Name: "x", TokenHash: auth.HashToken("x"), Role: auth.RoleAdministrator},
		"no hash":            {Name: "x", Role: auth.RoleGateway},
	} {
		if _, err := s.CreateAPIToken(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := s.CreateAPIToken(ctx, APIToken{Name: "again", TokenHash: auth.HashToken(secret), Role: auth.RoleGateway}); err == nil {
		t.Error("two tokens with the same hash")
	}
	got, err := s.APITokenByHash(ctx, auth.HashToken(secret))
	if err != nil || got.ID != tok.ID || got.Role != auth.RoleGateway || got.CreatedBy != admin.ID || got.Revoked() || got.LastUsedAt != nil {
		t.Errorf("by hash: %+v, %v", got, err)
	}
	if _, err := s.APITokenByHash(ctx, auth.HashToken("nope")); !errors.Is(err, ErrNoToken) {
		t.Errorf("unknown: %v", err)
	}
	if err := s.TouchAPIToken(ctx, tok.ID, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIToken(ctx, tok.ID, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIToken(ctx, tok.ID, t0.Add(3*time.Hour)); err != nil {
		t.Errorf("revoking twice: %v", err)
	}
	if err := s.RevokeAPIToken(ctx, 999, t0); !errors.Is(err, ErrNoToken) {
		t.Errorf("unknown: %v", err)
	}
	list, err := s.ListAPITokens(ctx)
	if err != nil || len(list) != 1 || !list[0].Revoked() || !list[0].RevokedAt.Equal(t0.Add(2*time.Hour)) || !list[0].LastUsedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("list: %+v, %v", list, err)
	}

	// Nothing in the database file is the token or a password.
	s.Close()
	assertNotInFile(t, path, secret, "admin password")
}

// assertNotInFile fails when a secret appears in the database file or its
// write-ahead log.
func assertNotInFile(t *testing.T, path string, secrets ...string) {
	t.Helper()
	for _, p := range []string{path, path + "-wal"} {
		b, err := readIfExists(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, sec := range secrets {
			if strings.Contains(string(b), sec) {
				t.Errorf("%s contains %q", filepath.Base(p), sec)
			}
		}
	}
}

func readIfExists(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return b, err
}
