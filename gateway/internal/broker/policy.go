package broker

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/civisens/civisens/firmware-bridge/senml"
	"github.com/civisens/civisens/gateway/internal/metrics"
	"github.com/civisens/civisens/gateway/internal/ratelog"
	"github.com/civisens/civisens/registry/registryapi"
)

// ReaderUsername is the username of the gateway's own subscriber. A
// credential of the allow-list with this name is ignored: the dot cannot
// appear in a sensor id, and a bridge's username starts with "bridge.".
const ReaderUsername = "gateway.reader"

// Reasons an authentication fails: the values of the label "reason" of
// civisens_gateway_broker_auth_failures_total.
const (
	AuthAnonymous        = "anonymous"          // no username
	AuthUnknownUser      = "unknown_user"       // no such credential in the allow-list
	AuthBadPassword      = "bad_password"       // the password does not match
	AuthRateLimited      = "rate_limited"       // too many failures from the address or for the username: not checked
	AuthNoAllowList      = "no_allowlist"       // no allow-list loaded yet (registry away, no copy on disk)
	AuthReaderElsewhere  = "reader_elsewhere"   // the reader's username on a public listener
	AuthInternalListener = "internal_listener"  // another username on the reader's internal listener
	AuthClientIDReserved = "client_id_reserved" // the gateway's own client id
	AuthClientIDInUse    = "client_id_in_use"   // a connected client of another username has this id
)

// Reasons a publication or subscription is denied: the values of the label
// "reason" of civisens_gateway_broker_acl_denied_total.
const (
	ACLBadTopic      = "bad_topic"      // a topic that is not sensors/{id}/senml
	ACLOtherSensor   = "other_sensor"   // a sensor publishing on another sensor's topic
	ACLNotAssigned   = "not_assigned"   // a bridge publishing for a sensor not assigned to it
	ACLNoCredential  = "no_credential"  // the client's credential left the allow-list since it connected
	ACLSubscribe     = "subscribe"      // a subscription by anyone but the gateway's reader
	ACLReaderPublish = "reader_publish" // the reader publishing
)

// Limits of failed authentications: each client address and each username
// may fail FailureBurst times in a row, then once every FailureRefill.
const (
	FailureBurst  = 10
	FailureRefill = 10 * time.Second
	// maxFailureKeys bounds the addresses and usernames remembered.
	maxFailureKeys = 4096
	// maxCache bounds the cache of verified passwords (one per username).
	maxCache = 1 << 16
	// readerGrant is what the reader was admitted with: never a hash.
	readerGrant = "(reader)"
	// maxArgon2Memory bounds the memory an argon2id hash may ask for, in
	// KiB: a Raspberry Pi must not run out of memory checking a password.
	maxArgon2Memory = 256 << 10
)

// PolicyConfig configures a [Policy].
type PolicyConfig struct {
	// ReaderClientID is the MQTT client id of the gateway's own
	// subscriber: no other credential may use it.
	ReaderClientID string
	// Now is the clock; time.Now if nil.
	Now func() time.Time
}

// Policy is the embedded broker's [Access]: the credentials of the
// register's allow-list, the topic rules, and the gateway's own reader. Its
// methods are safe for concurrent use. See the package documentation.
type Policy struct {
	cfg PolicyConfig
	log *slog.Logger
	rl  *ratelog.Limiter

	readerPassword []byte
	macKey         []byte

	creds atomic.Pointer[credSet]

	cacheMu sync.Mutex
	cache   map[string]cacheEntry

	byAddr, byUser *failureLimit

	authFailures *metrics.CounterVec
	aclDenied    *metrics.CounterVec
	successes    *metrics.Counter
	cacheHits    *metrics.Counter
}

// credSet is one immutable state of the credentials.
type credSet struct {
	byUser map[string]*credential
}

type credential struct {
	hash    string
	sensors map[string]bool
	own     bool // a sensor's own credential (its only sensor is its username)
}

// cacheEntry remembers that the password whose keyed MAC is mac matched
// hash: the next connection with the same password costs a MAC, not a
// bcrypt.
type cacheEntry struct {
	hash string
	mac  [sha256.Size]byte
}

// NewPolicy returns a policy without credentials (every sensor is refused
// until [Policy.SetCredentials]) and with a new random password for the
// reader. Its counters are registered in reg (a private registry if nil).
func NewPolicy(cfg PolicyConfig, log *slog.Logger, reg *metrics.Registry) (*Policy, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if reg == nil {
		reg = metrics.NewRegistry()
	}
	secret := make([]byte, 64)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("broker: reader password: %w", err)
	}
	p := &Policy{
		cfg: cfg,
		log: log,
		rl:  ratelog.New(log, ratelog.DefaultInterval, cfg.Now),
		// URL-safe, so that it travels in the reader's broker URL.
		readerPassword: []byte(base64.RawURLEncoding.EncodeToString(secret[:32])),
		macKey:         secret[32:],
		cache:          make(map[string]cacheEntry),
		byAddr:         newFailureLimit(1/FailureRefill.Seconds(), FailureBurst, maxFailureKeys, cfg.Now),
		byUser:         newFailureLimit(1/FailureRefill.Seconds(), FailureBurst, maxFailureKeys, cfg.Now),

		authFailures: reg.CounterVec("civisens_gateway_broker_auth_failures_total", "Connections the embedded broker refused, by reason.", "reason"),
		aclDenied:    reg.CounterVec("civisens_gateway_broker_acl_denied_total", "Publications and subscriptions the embedded broker denied, by reason.", "reason"),
		successes:    reg.Counter("civisens_gateway_broker_auth_successes_total", "Connections the embedded broker admitted."),
		cacheHits:    reg.Counter("civisens_gateway_broker_auth_cache_hits_total", "Admissions answered from the cache of verified passwords, without a bcrypt."),
	}
	for _, r := range []string{AuthAnonymous, AuthUnknownUser, AuthBadPassword, AuthRateLimited, AuthNoAllowList,
		AuthReaderElsewhere, AuthInternalListener, AuthClientIDReserved, AuthClientIDInUse} {
		p.authFailures.With(r) // every series exists from the start, at 0
	}
	for _, r := range []string{ACLBadTopic, ACLOtherSensor, ACLNotAssigned, ACLNoCredential, ACLSubscribe, ACLReaderPublish} {
		p.aclDenied.With(r)
	}
	reg.GaugeFunc("civisens_gateway_broker_credentials", "MQTT credentials the embedded broker accepts (from the allow-list).", func() float64 {
		if s := p.creds.Load(); s != nil {
			return float64(len(s.byUser))
		}
		return 0
	})
	return p, nil
}

// ReaderURL returns the URL by which the gateway's own subscriber reaches
// the broker's internal listener at addr, with the reader's credential.
func (p *Policy) ReaderURL(addr string) string {
	return (&url.URL{Scheme: "tcp", User: url.UserPassword(ReaderUsername, string(p.readerPassword)), Host: addr}).String()
}

// SetCredentials makes creds (the allow-list's) the accounts the broker
// accepts. Unusable entries (no username, the reader's username, a hash
// neither bcrypt nor argon2id, a username listed twice) are skipped and
// logged. Cached verifications of changed or removed credentials are
// forgotten; sessions admitted with them are for [Broker.Revalidate] to end.
func (p *Policy) SetCredentials(creds []registryapi.Credential) {
	set := &credSet{byUser: make(map[string]*credential, len(creds))}
	for _, c := range creds {
		var why string
		switch {
		case c.Username == "":
			why = "no username"
		case c.Username == ReaderUsername:
			why = "the gateway reader's username"
		case set.byUser[c.Username] != nil:
			why = "listed twice"
		case !usableHash(c.Hash):
			why = "hash neither bcrypt nor argon2id"
		}
		if why != "" {
			p.log.Warn("allow-list credential skipped", "username", clip(c.Username), "reason", why)
			continue
		}
		cr := &credential{hash: c.Hash, sensors: make(map[string]bool, len(c.Sensors))}
		for _, s := range c.Sensors {
			cr.sensors[s] = true
		}
		cr.own = len(c.Sensors) == 1 && c.Sensors[0] == c.Username
		set.byUser[c.Username] = cr
	}
	p.creds.Store(set)
	p.cacheMu.Lock()
	for u, e := range p.cache {
		if cr := set.byUser[u]; cr == nil || cr.hash != e.hash {
			delete(p.cache, u)
		}
	}
	p.cacheMu.Unlock()
	p.log.Info("mqtt credentials loaded", "credentials", len(set.byUser))
}

// Authenticate decides whether c may connect with password; see the
// package documentation. The grant is what it was admitted with (the
// credential's hash), for [Policy.Valid].
func (p *Policy) Authenticate(c Client, password []byte) (string, bool) {
	if c.Listener == ListenerInternal || c.Username == ReaderUsername {
		return p.authenticateReader(c, password)
	}
	switch {
	case c.Username == "":
		return p.refuse(c, AuthAnonymous)
	case c.ID == p.cfg.ReaderClientID:
		return p.refuse(c, AuthClientIDReserved)
	case c.IDInUseBy != "" && c.IDInUseBy != c.Username:
		return p.refuse(c, AuthClientIDInUse)
	}
	set := p.creds.Load()
	if set == nil {
		return p.refuse(c, AuthNoAllowList)
	}
	addr := host(c.Remote)
	cr := set.byUser[c.Username]
	if cr == nil {
		p.byAddr.fail(addr)
		return p.refuse(c, AuthUnknownUser)
	}
	mac := p.mac(c.Username, password)
	if p.cached(c.Username, cr.hash, mac) {
		p.cacheHits.Inc()
		p.successes.Inc()
		return cr.hash, true
	}
	if p.byAddr.blocked(addr) || p.byUser.blocked(c.Username) {
		return p.refuse(c, AuthRateLimited)
	}
	if !verify(cr.hash, password) {
		p.byAddr.fail(addr)
		p.byUser.fail(c.Username)
		return p.refuse(c, AuthBadPassword)
	}
	p.byUser.forget(c.Username)
	p.remember(c.Username, cr.hash, mac)
	p.successes.Inc()
	return cr.hash, true
}

func (p *Policy) authenticateReader(c Client, password []byte) (string, bool) {
	switch {
	case c.Listener != ListenerInternal:
		return p.refuse(c, AuthReaderElsewhere)
	case c.Username != ReaderUsername:
		return p.refuse(c, AuthInternalListener)
	case subtle.ConstantTimeCompare(password, p.readerPassword) != 1:
		return p.refuse(c, AuthBadPassword)
	}
	p.successes.Inc()
	return readerGrant, true
}

func (p *Policy) refuse(c Client, reason string) (string, bool) {
	p.authFailures.With(reason).Inc()
	p.rl.Log(context.Background(), slog.LevelWarn, "auth/"+reason+"/"+host(c.Remote), "mqtt connection refused",
		"reason", reason, "username", clip(c.Username), "client_id", clip(c.ID), "remote", c.Remote)
	return "", false
}

// Authorize decides whether c may publish to (write) or subscribe to
// (!write) topic, and counts and logs a denial.
func (p *Policy) Authorize(c Client, topic string, write bool) bool {
	if c.Username == ReaderUsername && c.Listener == ListenerInternal {
		switch {
		case write:
			return p.deny(c, topic, ACLReaderPublish)
		case topic == senml.Subscription, strings.HasPrefix(topic, senml.TopicPrefix) && strings.HasSuffix(topic, senml.TopicSuffix):
			return true
		}
		return p.deny(c, topic, ACLSubscribe)
	}
	if !write {
		return p.deny(c, topic, ACLSubscribe)
	}
	var cr *credential
	if set := p.creds.Load(); set != nil {
		cr = set.byUser[c.Username]
	}
	// The hot path: the topic names a sensor of the credential (whose ids
	// the registry validated). The rest is parsed only to name the denial.
	id, ok := strings.CutPrefix(topic, senml.TopicPrefix)
	if ok {
		id, ok = strings.CutSuffix(id, senml.TopicSuffix)
	}
	if ok && cr != nil && cr.sensors[id] {
		return true
	}
	switch _, err := senml.SensorFromTopic(topic); {
	case err != nil:
		return p.deny(c, topic, ACLBadTopic)
	case cr == nil:
		return p.deny(c, topic, ACLNoCredential)
	case cr.own:
		return p.deny(c, topic, ACLOtherSensor)
	}
	return p.deny(c, topic, ACLNotAssigned)
}

func (p *Policy) deny(c Client, topic, reason string) bool {
	p.aclDenied.With(reason).Inc()
	p.rl.Log(context.Background(), slog.LevelWarn, "acl/"+reason+"/"+clip(c.Username), "mqtt publication or subscription denied",
		"reason", reason, "username", clip(c.Username), "topic", clip(topic), "remote", c.Remote)
	return false
}

// Valid reports whether a client admitted with grant may stay connected:
// its credential is still in the allow-list, with the same hash.
func (p *Policy) Valid(c Client, grant string) bool {
	if grant == readerGrant {
		return c.Username == ReaderUsername && c.Listener == ListenerInternal
	}
	set := p.creds.Load()
	if set == nil {
		return false
	}
	cr := set.byUser[c.Username]
	return cr != nil && cr.hash == grant
}

// mac returns the keyed MAC of a username and password: the cache keeps
// it, never the password, and the key lives only in memory.
func (p *Policy) mac(username string, password []byte) [sha256.Size]byte {
	h := hmac.New(sha256.New, p.macKey)
	h.Write([]byte(username))
	h.Write([]byte{0})
	h.Write(password)
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

func (p *Policy) cached(username, hash string, mac [sha256.Size]byte) bool {
	p.cacheMu.Lock()
	e, ok := p.cache[username]
	p.cacheMu.Unlock()
	return ok && e.hash == hash && subtle.ConstantTimeCompare(e.mac[:], mac[:]) == 1
}

func (p *Policy) remember(username, hash string, mac [sha256.Size]byte) {
	p.cacheMu.Lock()
	defer p.cacheMu.Unlock()
	if _, ok := p.cache[username]; !ok && len(p.cache) >= maxCache {
		for u := range p.cache { // drop any one
			delete(p.cache, u)
			break
		}
	}
	p.cache[username] = cacheEntry{hash: hash, mac: mac}
}

// usableHash reports whether hash is a form that verify knows.
func usableHash(hash string) bool {
	if isBcrypt(hash) {
		_, err := bcrypt.Cost([]byte(hash))
		return err == nil
	}
	_, err := parseArgon2id(hash)
	return err == nil
}

func isBcrypt(hash string) bool {
	return strings.HasPrefix(hash, "$2a$") || strings.HasPrefix(hash, "$2b$") || strings.HasPrefix(hash, "$2y$")
}

// verify reports whether password matches hash, bcrypt ($2a$, $2b$, $2y$)
// or argon2id in its PHC form ($argon2id$v=19$m=…,t=…,p=…$salt$hash).
func verify(hash string, password []byte) bool {
	if isBcrypt(hash) {
		return bcrypt.CompareHashAndPassword([]byte(hash), password) == nil
	}
	a, err := parseArgon2id(hash)
	if err != nil {
		return false
	}
	got := argon2.IDKey(password, a.salt, a.time, a.memory, a.threads, uint32(len(a.key)))
	return subtle.ConstantTimeCompare(got, a.key) == 1
}

type argon2Hash struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

func parseArgon2id(s string) (argon2Hash, error) {
	f := strings.Split(s, "$")
	if len(f) != 6 || f[0] != "" || f[1] != "argon2id" || f[2] != "v=19" {
		return argon2Hash{}, fmt.Errorf("not an argon2id v19 PHC string")
	}
	var a argon2Hash
	for _, kv := range strings.Split(f[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return argon2Hash{}, fmt.Errorf("argon2id parameter %q", kv)
		}
		switch k {
		case "m":
			a.memory = uint32(n)
		case "t":
			a.time = uint32(n)
		case "p":
			if n > 255 {
				return argon2Hash{}, fmt.Errorf("argon2id parallelism %d", n)
			}
			a.threads = uint8(n)
		default:
			return argon2Hash{}, fmt.Errorf("argon2id parameter %q", kv)
		}
	}
	var err error
	if a.salt, err = base64.RawStdEncoding.DecodeString(f[4]); err != nil {
		return argon2Hash{}, fmt.Errorf("argon2id salt: %w", err)
	}
	if a.key, err = base64.RawStdEncoding.DecodeString(f[5]); err != nil {
		return argon2Hash{}, fmt.Errorf("argon2id hash: %w", err)
	}
	if a.memory == 0 || a.memory > maxArgon2Memory || a.time == 0 || a.time > 100 || a.threads == 0 || len(a.key) < 16 || len(a.salt) < 8 {
		return argon2Hash{}, fmt.Errorf("argon2id parameters out of bounds")
	}
	return a, nil
}

// host returns the host of an address (the key of per-address limits).
func host(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// clip bounds a string from the network before it is logged.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
