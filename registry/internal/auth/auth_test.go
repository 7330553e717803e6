package auth

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// fast parameters for the tests that do not check the defaults.
var fast = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestPasswordRoundTrip(t *testing.T) {
	h, err := HashPassword("correct horse battery staple", DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q does not carry the default parameters", h)
	}
	if strings.Contains(h, "correct horse") {
		t.Error("the hash contains the password")
	}
	ok, err := VerifyPassword("correct horse battery staple", h)
	if err != nil || !ok {
		t.Errorf("right password: %v, %v", ok, err)
	}
	for _, wrong := range []string{"", "correct horse battery stapl", "Correct horse battery staple", "correct horse battery staple "} {
		if ok, err := VerifyPassword(wrong, h); err != nil || ok {
			t.Errorf("wrong password %q: %v, %v", wrong, ok, err)
		}
	}
	if NeedsRehash(h, DefaultParams) {
		t.Error("a hash made with the defaults needs rehashing")
	}
	if !NeedsRehash(h, Params{Memory: 64 * 1024, Time: 3, Threads: 1, SaltLen: 16, KeyLen: 32}) {
		t.Error("a hash with lower parameters does not need rehashing")
	}
}

func TestPasswordSaltsDiffer(t *testing.T) {
	a, _ := HashPassword("same password here", fast)
	b, _ := HashPassword("same password here", fast)
	if a == b {
		t.Error("two hashes of the same password are equal: the salt is not random")
	}
}

func TestVerifyMalformed(t *testing.T) {
	good, _ := HashPassword("some password 1", fast)
	parts := strings.Split(good, "$")
	for _, h := range []string{
		"",
		"plaintext",
		"$argon2i$v=19$m=64,t=1,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=16$m=64,t=1,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=4194304,t=1,p=1$" + parts[4] + "$" + parts[5], // 4 GiB
		"$argon2id$v=19$m=64,t=0,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=64,t=1,p=1,x=2$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=64,t=1,p=1$!!$" + parts[5],
		"$argon2id$v=19$m=64,t=1,p=1$" + parts[4] + "$",
	} {
		if ok, err := VerifyPassword("some password 1", h); ok || !errors.Is(err, ErrMalformedHash) {
			t.Errorf("%q: %v, %v; want ErrMalformedHash", h, ok, err)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	for _, tt := range []struct {
		pw, user string
		want     error
	}{
		{"douze-caract", "", nil},
		{"éléphantéléphant", "", nil},
		{"onze-caract", "", ErrPasswordTooShort},
		{"éééééééééée", "", ErrPasswordTooShort}, // 11 characters, 22 bytes
		{"            ", "", ErrPasswordTooShort},
		{strings.Repeat("a", MaxPasswordLength+1), "", ErrPasswordTooLong},
		{"Jean.Dupont-2026", "jean.dupont-2026", ErrPasswordIsUsername},
		{"abc\xffdefghijklm", "", ErrPasswordNotText},
	} {
		if err := CheckPassword(tt.pw, tt.user); !errors.Is(err, tt.want) {
			t.Errorf("CheckPassword(%q) = %v, want %v", tt.pw, err, tt.want)
		}
	}
	pw, err := GeneratePassword()
	if err != nil || CheckPassword(pw, "admin") != nil || len(pw) != 24 {
		t.Errorf("generated %q: %v", pw, err)
	}
}

func TestTokens(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok, err := NewToken()
		if err != nil {
			t.Fatal(err)
		}
		if !WellFormedToken(tok) || seen[tok] {
			t.Fatalf("token %q: malformed or repeated", tok)
		}
		seen[tok] = true
	}
	api, err := NewAPIToken()
	if err != nil || !WellFormedAPIToken(api) || WellFormedToken(api) {
		t.Errorf("API token %q: %v", api, err)
	}
	h := HashToken(api)
	if len(h) != 64 || strings.Contains(h, api) || h != HashToken(api) || h == HashToken(api+"x") {
		t.Errorf("hash %q", h)
	}
	for _, bad := range []string{"", "cvs_", "abc", api + "x", "cvs_" + strings.Repeat("+", 43)} {
		if WellFormedAPIToken(bad) {
			t.Errorf("%q taken as an API token", bad)
		}
	}
}

func TestRoles(t *testing.T) {
	for _, r := range Roles() {
		got, err := ParseRole(string(r))
		if err != nil || got != r {
			t.Errorf("ParseRole(%q) = %q, %v", r, got, err)
		}
	}
	if _, err := ParseRole("root"); err == nil {
		t.Error("root is a role")
	}
	if RoleGateway.ForAccount() || !RoleGateway.ForToken() || RoleAdministrator.ForToken() || !RoleEnergyManager.ForAccount() {
		t.Error("account and token roles are wrong")
	}
	p := Principal{Via: ViaToken, TokenName: "passerelle", Role: RoleGateway}
	if p.Actor() != "token:passerelle" || !p.Is(RoleAdministrator, RoleGateway) || p.Is(RoleTechnician) {
		t.Errorf("principal %+v", p)
	}
}

func TestUsernames(t *testing.T) {
	if got := NormalizeUsername("  Jean.Dupont "); got != "jean.dupont" || !ValidUsername(got) {
		t.Errorf("normalized %q", got)
	}
	for _, bad := range []string{"", "a", "-x", "jean dupont", "jean@mairie.fr", "<b>", strings.Repeat("a", 65)} {
		if ValidUsername(NormalizeUsername(bad)) {
			t.Errorf("%q is a valid user name", bad)
		}
	}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestLimiterSlidingWindow(t *testing.T) {
	c := &clock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	l := NewLimiter(5, 15*time.Minute, 100, c.now)
	for i := range 5 {
		if w := l.Attempt("alice"); w != 0 {
			t.Fatalf("attempt %d refused (%v)", i+1, w)
		}
		c.add(time.Minute)
	}
	// 5 attempts at 8:00…8:04; now 8:05: wait until 8:15.
	if w := l.Attempt("alice"); w != 10*time.Minute {
		t.Errorf("6th attempt: wait %v, want 10m", w)
	}
	if w := l.Wait("alice"); w != 10*time.Minute {
		t.Errorf("Wait = %v", w)
	}
	if w := l.Attempt("bob"); w != 0 {
		t.Errorf("another key is limited: %v", w)
	}
	c.add(10 * time.Minute) // 8:15: the 8:00 attempt has left the window
	if w := l.Attempt("alice"); w != 0 {
		t.Errorf("after the window: %v", w)
	}
	if w := l.Attempt("alice"); w != time.Minute {
		t.Errorf("then: wait %v, want 1m (until the 8:01 attempt leaves)", w)
	}
	l.Forget("alice")
	if w := l.Attempt("alice"); w != 0 {
		t.Errorf("after Forget: %v", w)
	}
	l.Undo("alice")
	if l.Wait("alice") != 0 || l.Len() != 1 {
		t.Errorf("after Undo: %d keys", l.Len())
	}
}

func TestLimiterBoundedMemory(t *testing.T) {
	c := &clock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	l := NewLimiter(3, time.Minute, 10, c.now)
	for range 3 {
		l.Attempt("target")
	}
	c.add(time.Second)
	for i := range 1000 {
		l.Attempt(strings.Repeat("x", i%50) + string(rune('a'+i%26)))
		if l.Len() > 10 {
			t.Fatalf("%d keys remembered, max 10", l.Len())
		}
	}
	c.add(2 * time.Minute) // everything expired: room is made by dropping expired keys
	l.Attempt("new")
	if l.Len() > 10 {
		t.Fatalf("%d keys", l.Len())
	}
}

func TestLimiterConcurrent(t *testing.T) {
	l := NewLimiter(5, time.Hour, 100, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 50 {
		wg.Go(func() {
			if l.Attempt("k") == 0 {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if allowed != 5 {
		t.Errorf("%d concurrent attempts allowed, want 5", allowed)
	}
}

func TestClientKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":            "192.0.2.7",
		"::ffff:192.0.2.7":     "192.0.2.7",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
		"fe80::1%eth0":         "fe80::/64",
		"not an address":       "not an address",
	} {
		if got := ClientKey(in); got != want {
			t.Errorf("ClientKey(%q) = %q, want %q", in, got, want)
		}
	}
}
