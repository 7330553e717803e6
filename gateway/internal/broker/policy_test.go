package broker

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/civisens/civisens/registry/registryapi"
)

// hashes caches the bcrypt hashes of the tests' passwords (MinCost: the
// gateway checks any cost, and tests need not wait).
var hashes sync.Map

func bcryptHash(t testing.TB, password string) string {
	t.Helper()
	if h, ok := hashes.Load(password); ok {
		return h.(string)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	hashes.Store(password, string(h))
	return string(h)
}

func makeArgon2(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, 1, 64, 1, 32)
	return fmt.Sprintf("$argon2id$v=19$m=64,t=1,p=1$%s$%s",
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// testCredentials are what a registry would issue: two sensors, a bridge
// with one of them and a third sensor, an argon2id sensor.
func testCredentials(t testing.TB) []registryapi.Credential {
	return []registryapi.Credential{
		{Username: "air-hdv-01", Hash: bcryptHash(t, "pw-air-hdv-01"), Sensors: []string{"air-hdv-01"}},
		{Username: "air-gare-02", Hash: bcryptHash(t, "pw-air-gare-02"), Sensors: []string{"air-gare-02"}},
		{Username: "bridge.lora", Hash: bcryptHash(t, "pw-bridge-lora"), Sensors: []string{"air-gare-02", "parking-gare-03"}},
		{Username: "energie-ecole-01", Hash: makeArgon2("pw-energie"), Sensors: []string{"energie-ecole-01"}},
	}
}

// clock is a settable clock for the failure limits.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newTestPolicy(t testing.TB, creds []registryapi.Credential) (*Policy, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	p, err := NewPolicy(PolicyConfig{ReaderClientID: "civisens-gateway", Now: clk.now}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if creds != nil {
		p.SetCredentials(creds)
	}
	return p, clk
}

func sensorClient(user string) Client {
	return Client{ID: "dev-" + user, Username: user, Remote: "192.0.2.10:40000", Listener: ListenerTCP}
}

func TestAuthenticate(t *testing.T) {
	p, _ := newTestPolicy(t, testCredentials(t))
	for _, tc := range []struct {
		name     string
		c        Client
		password string
		reason   string // "" when admitted
	}{
		{"sensor, right password", sensorClient("air-hdv-01"), "pw-air-hdv-01", ""},
		{"bridge", sensorClient("bridge.lora"), "pw-bridge-lora", ""},
		{"argon2id", sensorClient("energie-ecole-01"), "pw-energie", ""},
		{"over TLS", Client{ID: "x", Username: "air-hdv-01", Remote: "192.0.2.10:1", Listener: ListenerTLS}, "pw-air-hdv-01", ""},
		{"wrong password", sensorClient("air-hdv-01"), "pw-air-gare-02", AuthBadPassword},
		{"empty password", sensorClient("air-hdv-01"), "", AuthBadPassword},
		{"argon2id, wrong password", sensorClient("energie-ecole-01"), "nope", AuthBadPassword},
		{"anonymous", sensorClient(""), "", AuthAnonymous},
		{"unknown user", sensorClient("air-inconnu-99"), "whatever", AuthUnknownUser},
		{"the gateway's client id", Client{ID: "civisens-gateway", Username: "air-hdv-01", Remote: "192.0.2.10:1", Listener: ListenerTCP}, "pw-air-hdv-01", AuthClientIDReserved},
		{"a client id another user holds", Client{ID: "shared", Username: "air-hdv-01", Remote: "192.0.2.10:1", Listener: ListenerTCP, IDInUseBy: "air-gare-02"}, "pw-air-hdv-01", AuthClientIDInUse},
		{"its own client id, reconnecting", Client{ID: "mine", Username: "air-hdv-01", Remote: "192.0.2.10:1", Listener: ListenerTCP, IDInUseBy: "air-hdv-01"}, "pw-air-hdv-01", ""},
		{"reader, internal listener", Client{ID: "civisens-gateway", Username: ReaderUsername, Remote: "127.0.0.1:1", Listener: ListenerInternal}, string(p.readerPassword), ""},
		{"reader, wrong password", Client{ID: "civisens-gateway", Username: ReaderUsername, Remote: "127.0.0.1:1", Listener: ListenerInternal}, "guess", AuthBadPassword},
		{"reader on the public listener", Client{ID: "civisens-gateway", Username: ReaderUsername, Remote: "192.0.2.10:1", Listener: ListenerTCP}, string(p.readerPassword), AuthReaderElsewhere},
		{"a sensor on the internal listener", Client{ID: "x", Username: "air-hdv-01", Remote: "127.0.0.1:1", Listener: ListenerInternal}, "pw-air-hdv-01", AuthInternalListener},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := p.authFailures.With(tc.reason).Value()
			grant, ok := p.Authenticate(tc.c, []byte(tc.password))
			if ok != (tc.reason == "") {
				t.Fatalf("Authenticate = %v, want admitted %v", ok, tc.reason == "")
			}
			if !ok {
				if got := p.authFailures.With(tc.reason).Value(); got != before+1 {
					t.Errorf("auth_failures{reason=%q} = %v, want %v", tc.reason, got, before+1)
				}
				return
			}
			if !p.Valid(tc.c, grant) {
				t.Errorf("Valid right after admission = false")
			}
		})
	}
}

func TestNoAllowListYet(t *testing.T) {
	p, _ := newTestPolicy(t, nil)
	if _, ok := p.Authenticate(sensorClient("air-hdv-01"), []byte("pw-air-hdv-01")); ok {
		t.Fatal("admitted without an allow-list")
	}
	if p.authFailures.With(AuthNoAllowList).Value() != 1 {
		t.Error("not counted as no_allowlist")
	}
	// Not counted against the address or the username.
	if p.byAddr.blocked("192.0.2.10") || len(p.byAddr.keys) != 0 || len(p.byUser.keys) != 0 {
		t.Error("a refusal for want of a list counted as a failure")
	}
}

func TestCacheSparesBcrypt(t *testing.T) {
	p, _ := newTestPolicy(t, testCredentials(t))
	c := sensorClient("air-hdv-01")
	for i := range 5 {
		if _, ok := p.Authenticate(c, []byte("pw-air-hdv-01")); !ok {
			t.Fatalf("attempt %d refused", i)
		}
	}
	if got := p.cacheHits.Value(); got != 4 {
		t.Errorf("cache hits = %v, want 4 (one bcrypt, then the cache)", got)
	}
	// A wrong password is never answered from the cache.
	if _, ok := p.Authenticate(c, []byte("pw-air-hdv-0")); ok {
		t.Error("a wrong password was admitted after a right one")
	}
	// Rotation: the new hash drops the entry; the old password fails.
	creds := testCredentials(t)
	creds[0].Hash = bcryptHash(t, "rotated")
	p.SetCredentials(creds)
	if _, ok := p.Authenticate(c, []byte("pw-air-hdv-01")); ok {
		t.Error("the old password works after rotation")
	}
	if _, ok := p.Authenticate(c, []byte("rotated")); !ok {
		t.Error("the new password is refused")
	}
	for u, e := range p.cache {
		if strings.Contains(e.hash, "pw-") || len(e.mac) != 32 {
			t.Errorf("cache entry %s: %+v", u, e)
		}
	}
}

func TestFailuresAreRateLimited(t *testing.T) {
	p, clk := newTestPolicy(t, testCredentials(t))
	good := sensorClient("air-hdv-01")
	if _, ok := p.Authenticate(good, []byte("pw-air-hdv-01")); !ok { // cached from now on
		t.Fatal("refused")
	}
	// Someone guesses the password of air-gare-02 from one address.
	attacker := Client{ID: "x", Username: "air-gare-02", Remote: "198.51.100.7:5555", Listener: ListenerTCP}
	for i := range FailureBurst {
		if _, ok := p.Authenticate(attacker, []byte(fmt.Sprint("guess", i))); ok {
			t.Fatal("a guess was admitted")
		}
	}
	if got := p.authFailures.With(AuthBadPassword).Value(); got != FailureBurst {
		t.Errorf("bad_password = %v, want %d", got, FailureBurst)
	}
	// The next attempt from that address is refused unchecked, even with
	// the right password (not in the cache).
	if _, ok := p.Authenticate(attacker, []byte("pw-air-gare-02")); ok {
		t.Error("the right password got in from a blocked address")
	}
	if got := p.authFailures.With(AuthRateLimited).Value(); got != 1 {
		t.Errorf("rate_limited = %v, want 1", got)
	}
	// The username is blocked from everywhere now…
	other := Client{ID: "y", Username: "air-gare-02", Remote: "203.0.113.9:1", Listener: ListenerTCP}
	if _, ok := p.Authenticate(other, []byte("pw-air-gare-02")); ok {
		t.Error("a blocked username got in (no cache entry)")
	}
	// …but a sensor whose password is in the cache still gets in from the
	// attacker's own address.
	good.Remote = attacker.Remote
	if _, ok := p.Authenticate(good, []byte("pw-air-hdv-01")); !ok {
		t.Error("a cached password was refused from a blocked address")
	}
	// One failure comes back every FailureRefill.
	clk.add(FailureRefill)
	if _, ok := p.Authenticate(other, []byte("pw-air-gare-02")); !ok {
		t.Error("the right password is still refused after the refill")
	}
}

func TestAuthorize(t *testing.T) {
	p, _ := newTestPolicy(t, testCredentials(t))
	reader := Client{ID: "civisens-gateway", Username: ReaderUsername, Listener: ListenerInternal}
	for _, tc := range []struct {
		name   string
		c      Client
		topic  string
		write  bool
		reason string // "" when allowed
	}{
		{"sensor, own topic", sensorClient("air-hdv-01"), "sensors/air-hdv-01/senml", true, ""},
		{"sensor, another sensor's topic", sensorClient("air-hdv-01"), "sensors/air-gare-02/senml", true, ACLOtherSensor},
		{"sensor, another topic", sensorClient("air-hdv-01"), "sensors/air-hdv-01/raw", true, ACLBadTopic},
		{"sensor, wildcard-looking topic", sensorClient("air-hdv-01"), "sensors/+/senml", true, ACLBadTopic},
		{"sensor subscribes", sensorClient("air-hdv-01"), "sensors/+/senml", false, ACLSubscribe},
		{"sensor subscribes to its own topic", sensorClient("air-hdv-01"), "sensors/air-hdv-01/senml", false, ACLSubscribe},
		{"sensor subscribes to $SYS", sensorClient("air-hdv-01"), "$SYS/#", false, ACLSubscribe},
		{"bridge, assigned sensor", sensorClient("bridge.lora"), "sensors/parking-gare-03/senml", true, ""},
		{"bridge, other assigned sensor", sensorClient("bridge.lora"), "sensors/air-gare-02/senml", true, ""},
		{"bridge, unassigned sensor", sensorClient("bridge.lora"), "sensors/air-hdv-01/senml", true, ACLNotAssigned},
		{"bridge subscribes", sensorClient("bridge.lora"), "#", false, ACLSubscribe},
		{"credential gone", sensorClient("air-retire-09"), "sensors/air-retire-09/senml", true, ACLNoCredential},
		{"reader subscribes", reader, "sensors/+/senml", false, ""},
		{"reader receives", reader, "sensors/air-hdv-01/senml", false, ""},
		{"reader subscribes to everything", reader, "#", false, ACLSubscribe},
		{"reader publishes", reader, "sensors/air-hdv-01/senml", true, ACLReaderPublish},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := p.aclDenied.With(tc.reason).Value()
			if got := p.Authorize(tc.c, tc.topic, tc.write); got != (tc.reason == "") {
				t.Fatalf("Authorize = %v", got)
			}
			if tc.reason != "" && p.aclDenied.With(tc.reason).Value() != before+1 {
				t.Errorf("acl_denied{reason=%q} not counted", tc.reason)
			}
		})
	}
	// Assignments follow the allow-list without reconnecting.
	creds := testCredentials(t)
	creds[2].Sensors = []string{"air-hdv-01"}
	p.SetCredentials(creds)
	if !p.Authorize(sensorClient("bridge.lora"), "sensors/air-hdv-01/senml", true) ||
		p.Authorize(sensorClient("bridge.lora"), "sensors/parking-gare-03/senml", true) {
		t.Error("the bridge's new assignment is not applied")
	}
}

func TestSetCredentialsSkipsUnusable(t *testing.T) {
	p, _ := newTestPolicy(t, nil)
	good := bcryptHash(t, "pw")
	p.SetCredentials([]registryapi.Credential{
		{Username: "air-hdv-01", Hash: good, Sensors: []string{"air-hdv-01"}},
		{Username: "air-hdv-01", Hash: bcryptHash(t, "other"), Sensors: []string{"air-hdv-01"}}, // twice: the first wins
		{Username: ReaderUsername, Hash: good, Sensors: []string{"air-hdv-01"}},
		{Username: "", Hash: good},
		{Username: "air-md5-01", Hash: "$1$abc$def", Sensors: []string{"air-md5-01"}},
		{Username: "air-plain-01", Hash: "pw", Sensors: []string{"air-plain-01"}},
		{Username: "air-argon-01", Hash: "$argon2id$v=19$m=999999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", Sensors: []string{"air-argon-01"}},
	})
	if n := len(p.creds.Load().byUser); n != 1 {
		t.Errorf("%d credentials kept, want 1: %v", n, p.creds.Load().byUser)
	}
	if _, ok := p.Authenticate(sensorClient("air-hdv-01"), []byte("pw")); !ok {
		t.Error("the first of a username listed twice is not the one kept")
	}
	// The reader's username from the allow-list cannot be used anywhere.
	if _, ok := p.Authenticate(Client{Username: ReaderUsername, Listener: ListenerTCP, Remote: "192.0.2.1:1"}, []byte("pw")); ok {
		t.Error("a reader credential from the allow-list was admitted")
	}
}

func TestValidAfterChange(t *testing.T) {
	p, _ := newTestPolicy(t, testCredentials(t))
	c := sensorClient("air-hdv-01")
	grant, ok := p.Authenticate(c, []byte("pw-air-hdv-01"))
	if !ok {
		t.Fatal("refused")
	}
	creds := testCredentials(t)
	p.SetCredentials(creds[1:]) // air-hdv-01 revoked
	if p.Valid(c, grant) {
		t.Error("a revoked credential's session is still valid")
	}
	p.SetCredentials(testCredentials(t)) // back, same hash
	if !p.Valid(c, grant) {
		t.Error("the same credential is not valid")
	}
	creds[0].Hash = bcryptHash(t, "rotated")
	p.SetCredentials(creds)
	if p.Valid(c, grant) {
		t.Error("a rotated credential's old session is still valid")
	}
}

func TestReaderURL(t *testing.T) {
	p, _ := newTestPolicy(t, nil)
	u := p.ReaderURL("127.0.0.1:41883")
	if !strings.HasPrefix(u, "tcp://"+ReaderUsername+":") || !strings.HasSuffix(u, "@127.0.0.1:41883") || !strings.Contains(u, string(p.readerPassword)) {
		t.Errorf("ReaderURL = %q", u)
	}
	q, _ := newTestPolicy(t, nil)
	if string(q.readerPassword) == string(p.readerPassword) || len(p.readerPassword) < 40 {
		t.Error("the reader's password is not random")
	}
}

// The checks on the hot path of the embedded broker: a publication, and a
// delivery to the reader.
func BenchmarkAuthorize(b *testing.B) {
	p, _ := newTestPolicy(b, testCredentials(b))
	bridge := sensorClient("bridge.lora")
	reader := Client{ID: "civisens-gateway", Username: ReaderUsername, Listener: ListenerInternal}
	b.Run("publish", func(b *testing.B) {
		for b.Loop() {
			if !p.Authorize(bridge, "sensors/parking-gare-03/senml", true) {
				b.Fatal("denied")
			}
		}
	})
	b.Run("deliver", func(b *testing.B) {
		for b.Loop() {
			if !p.Authorize(reader, "sensors/parking-gare-03/senml", false) {
				b.Fatal("denied")
			}
		}
	})
}

// A reconnection whose password is in the cache, against a first bcrypt.
func BenchmarkAuthenticate(b *testing.B) {
	creds := testCredentials(b)
	h, err := bcrypt.GenerateFromPassword([]byte("pw-air-hdv-01"), bcrypt.DefaultCost)
	if err != nil {
		b.Fatal(err)
	}
	creds[0].Hash = string(h)
	p, _ := newTestPolicy(b, creds)
	c := sensorClient("air-hdv-01")
	b.Run("cached", func(b *testing.B) {
		p.Authenticate(c, []byte("pw-air-hdv-01")) // the bcrypt, before the clock starts
		for b.Loop() {
			if _, ok := p.Authenticate(c, []byte("pw-air-hdv-01")); !ok {
				b.Fatal("refused")
			}
		}
	})
	b.Run("bcrypt-cost-10", func(b *testing.B) {
		for b.Loop() {
			p.cacheMu.Lock()
			clear(p.cache)
			p.cacheMu.Unlock()
			if _, ok := p.Authenticate(c, []byte("pw-air-hdv-01")); !ok {
				b.Fatal("refused")
			}
		}
	})
}
