package httpapi

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/civisens/civisens/registry/internal/auth"
	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/demo"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/internal/web"
	"github.com/civisens/civisens/registry/registryapi"

	_ "modernc.org/sqlite" // to read the database file back
)

// testClock is the injected clock of sessions and login limits.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// authEnv is a handler over a real store file, with a clock and accounts.
type authEnv struct {
	t     *testing.T
	st    *store.Store
	path  string
	h     http.Handler
	clock *testClock
}

func newAuthEnv(t *testing.T) *authEnv {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "registry.db")
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if ok, err := demo.Seed(ctx, st); !ok || err != nil {
		t.Fatalf("seed: %v, %v", ok, err)
	}
	clock := &testClock{t: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}
	h, err := NewHandler(Deps{Sensors: st, PublicURL: publicURL, Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	return &authEnv{t: t, st: st, path: path, h: h, clock: clock}
}

// account creates an account directly in the store.
func (e *authEnv) account(username, display string, role auth.Role, password string) store.Account {
	e.t.Helper()
	hash, err := auth.HashPassword(password, auth.DefaultParams)
	if err != nil {
		e.t.Fatal(err)
	}
	a, err := e.st.CreateAccount(context.Background(), store.Account{Username: username, DisplayName: display, Role: role, PasswordHash: hash})
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// token creates an API token directly in the store and returns its secret.
func (e *authEnv) token(name string, role auth.Role) string {
	e.t.Helper()
	secret, err := auth.NewAPIToken()
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.st.CreateAPIToken(context.Background(), store.APIToken{Name: name, TokenHash: auth.HashToken(secret), Role: role}); err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// reply is an answer with its cookies.
type reply struct {
	answer
	cookies []*http.Cookie
}

// send makes a request; header is name, value pairs.
func (e *authEnv) send(method, path string, body io.Reader, header ...string) reply {
	e.t.Helper()
	req := httptest.NewRequest(method, path, body)
	req.RemoteAddr = "192.0.2.10:40000"
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	return reply{answer{rec.Code, res.Header, string(b)}, res.Cookies()}
}

func form(kv ...string) io.Reader {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return strings.NewReader(v.Encode())
}

const formType = "application/x-www-form-urlencoded"

func jsonBody(v any) io.Reader {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}

// login posts the login form and returns the answer and the session cookie.
func (e *authEnv) login(username, password string, header ...string) (reply, *http.Cookie) {
	e.t.Helper()
	r := e.send(http.MethodPost, web.LoginPath, form("username", username, "password", password), append([]string{"Content-Type", formType}, header...)...)
	for _, c := range r.cookies {
		if c.Name == SessionCookie && c.MaxAge > 0 {
			return r, c
		}
	}
	return r, nil
}

// session is a logged-in person: the cookie header and the CSRF token.
type session struct {
	cookie string
	csrf   string
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func (e *authEnv) mustLogin(username, password string) session {
	e.t.Helper()
	r, c := e.login(username, password)
	if r.status != http.StatusSeeOther || c == nil {
		e.t.Fatalf("login %s: %d %s", username, r.status, r.body)
	}
	s := session{cookie: SessionCookie + "=" + c.Value}
	page := e.send(http.MethodGet, "/", nil, "Cookie", s.cookie)
	m := csrfRE.FindStringSubmatch(page.body)
	if m == nil {
		e.t.Fatalf("no CSRF token on the page of a signed-in person:\n%s", page.body)
	}
	s.csrf = m[1]
	return s
}

func TestCSPAllowsOwnForms(t *testing.T) {
	e := newAuthEnv(t)
	csp := e.send(http.MethodGet, web.LoginPath, nil).header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "form-action 'self'") {
		t.Errorf("CSP %q: forms to the registry itself must be allowed", csp)
	}
}

func TestPasswordLengthAgrees(t *testing.T) {
	if web.MinPasswordLength != auth.MinPasswordLength {
		t.Errorf("pages say %d characters, the policy %d", web.MinPasswordLength, auth.MinPasswordLength)
	}
}

// anonymousWrites are the only state-changing routes open without an
// account. Add a route here only when the public must be able to use it.
var anonymousWrites = map[string]bool{
	"POST " + web.LoginPath:  true,
	"POST " + web.LogoutPath: true,
	// Citizens file reports without an account (reports.go): no session,
	// so no CSRF token to check; rate limits and a honeypot bound abuse.
	"POST " + web.ReportsPath:         true,
	"POST " + registryapi.PathReports: true,
}

var paramRE = regexp.MustCompile(`[:*][a-z_]+`)

// Every state-changing route, whoever wrote it, answers 401 without a
// session or token — and so does every route of the JSON API of accounts
// and tokens, reads included.
func TestWritesNeedAuthentication(t *testing.T) {
	e := newAuthEnv(t)
	e.account("admin", "", auth.RoleAdministrator, "admin password")
	before, _ := e.st.ListAccounts(context.Background())
	seen := 0
	for _, rt := range e.h.(*gin.Engine).Routes() {
		if safeMethod(rt.Method) || anonymousWrites[rt.Method+" "+rt.Path] {
			continue
		}
		seen++
		path := paramRE.ReplaceAllStringFunc(rt.Path, func(p string) string {
			if p == ":id" {
				return "1"
			}
			return "air-mairie-01"
		})
		path = strings.Replace(path, "/accounts/1/air-mairie-01", "/accounts/1/disable", 1)
		for _, accept := range []string{"application/json", "text/html"} {
			r := e.send(rt.Method, path, form("username", "x", "role", "administrator", "csrf_token", "x"),
				"Content-Type", formType, "Accept", accept)
			if r.status != http.StatusUnauthorized {
				t.Errorf("%s %s (%s) without authentication: %d, want 401", rt.Method, path, accept, r.status)
			}
		}
	}
	if seen < 8 {
		t.Errorf("only %d state-changing routes found", seen)
	}
	for _, path := range []string{pathAccounts, pathTokens, pathAccounts + "/1"} {
		r := e.send(http.MethodGet, path, nil)
		wantProblem(t, r.answer, http.StatusUnauthorized)
		if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("GET %s: WWW-Authenticate %q", path, r.header.Get("WWW-Authenticate"))
		}
	}
	// A page redirects to the login form, which comes back to it.
	r := e.send(http.MethodGet, web.AccountsPath+"?lang=en", nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login?lang=en&next="+url.QueryEscape("/admin/accounts?lang=en") {
		t.Errorf("page without a session: %d → %q", r.status, r.header.Get("Location"))
	}
	// A wrong or revoked token is a 401 that says so.
	for _, tok := range []string{"nonsense", "cvs_" + strings.Repeat("A", 43)} {
		r := e.send(http.MethodGet, pathAccounts, nil, "Authorization", "Bearer "+tok)
		wantProblem(t, r.answer, http.StatusUnauthorized)
		if !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("bad token: WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
		}
	}
	after, _ := e.st.ListAccounts(context.Background())
	if len(after) != len(before) {
		t.Errorf("%d accounts after unauthenticated writes, want %d", len(after), len(before))
	}
}

func TestOnlyAdministratorsManageAccounts(t *testing.T) {
	e := newAuthEnv(t)
	e.account("admin", "", auth.RoleAdministrator, "admin password")
	e.account("tech", "", auth.RoleTechnician, "tech password!")
	e.account("energie", "", auth.RoleEnergyManager, "energy password")
	for _, who := range []struct{ user, pw string }{{"tech", "tech password!"}, {"energie", "energy password"}} {
		s := e.mustLogin(who.user, who.pw)
		for _, req := range []struct {
			method, path string
			body         io.Reader
		}{
			{http.MethodGet, pathAccounts, nil},
			{http.MethodPost, pathAccounts, jsonBody(map[string]string{"username": "intrus", "role": "administrator"})},
			{http.MethodPatch, pathAccounts + "/1", jsonBody(map[string]any{"role": "technician"})},
			{http.MethodGet, pathTokens, nil},
			{http.MethodPost, pathTokens, jsonBody(map[string]string{"name": "x", "role": "gateway"})},
			{http.MethodDelete, pathTokens + "/1", nil},
		} {
			r := e.send(req.method, req.path, req.body, "Cookie", s.cookie, "X-CSRF-Token", s.csrf, "Content-Type", "application/json")
			wantProblem(t, r.answer, http.StatusForbidden)
		}
		for _, path := range []string{web.AccountsPath, web.TokensPath} {
			r := e.send(http.MethodGet, path, nil, "Cookie", s.cookie)
			if r.status != http.StatusForbidden || !strings.Contains(r.body, "Accès refusé") {
				t.Errorf("%s on %s: %d", who.user, path, r.status)
			}
		}
		r := e.send(http.MethodPost, web.AccountsPath, form("username", "intrus", "role", "administrator", "csrf_token", s.csrf),
			"Cookie", s.cookie, "Content-Type", formType)
		if r.status != http.StatusForbidden {
			t.Errorf("%s creates an account: %d", who.user, r.status)
		}
		// Their own password page is theirs.
		if r := e.send(http.MethodGet, web.PasswordPath, nil, "Cookie", s.cookie); r.status != http.StatusOK {
			t.Errorf("%s password page: %d", who.user, r.status)
		}
	}
	// Tokens of any role cannot manage accounts either.
	for _, role := range auth.TokenRoles() {
		r := e.send(http.MethodGet, pathAccounts, nil, "Authorization", "Bearer "+e.token("script "+string(role), role))
		wantProblem(t, r.answer, http.StatusForbidden)
	}
	if _, err := e.st.AccountByUsername(context.Background(), "intrus"); err == nil {
		t.Error("an account was created by someone who is not an administrator")
	}
}

func TestCSRF(t *testing.T) {
	e := newAuthEnv(t)
	e.account("admin", "", auth.RoleAdministrator, "admin password")
	s := e.mustLogin("admin", "admin password")
	create := func(username string, extra ...string) reply {
		return e.send(http.MethodPost, web.AccountsPath,
			form(append([]string{"username", username, "role", "technician", "password", "un mot de passe long"}, extra...)...),
			"Cookie", s.cookie, "Content-Type", formType)
	}
	exists := func(u string) bool {
		_, err := e.st.AccountByUsername(context.Background(), u)
		return err == nil
	}
	if r := create("sans-jeton"); r.status != http.StatusForbidden || !strings.Contains(r.body, "Le formulaire a expiré") {
		t.Errorf("form without CSRF token: %d", r.status)
	}
	if r := create("faux-jeton", "csrf_token", strings.Repeat("A", 43)); r.status != http.StatusForbidden {
		t.Errorf("form with a wrong CSRF token: %d", r.status)
	}
	if exists("sans-jeton") || exists("faux-jeton") {
		t.Fatal("a form without the right CSRF token created an account")
	}
	if r := create("avec-jeton", "csrf_token", s.csrf); r.status != http.StatusCreated || !exists("avec-jeton") {
		t.Errorf("form with the CSRF token: %d\n%s", r.status, r.body)
	}
	// JSON with the session: the header carries the token.
	body := map[string]string{"username": "json-user", "role": "technician", "password": "un mot de passe long"}
	r := e.send(http.MethodPost, pathAccounts, jsonBody(body), "Cookie", s.cookie, "Content-Type", "application/json")
	wantProblem(t, r.answer, http.StatusForbidden)
	r = e.send(http.MethodPost, pathAccounts, jsonBody(body), "Cookie", s.cookie, "Content-Type", "application/json", "X-CSRF-Token", s.csrf)
	if r.status != http.StatusCreated {
		t.Errorf("JSON with the CSRF header: %d %s", r.status, r.body)
	}
	// Logout is a state change too.
	if r := e.send(http.MethodPost, web.LogoutPath, nil, "Cookie", s.cookie); r.status != http.StatusForbidden {
		t.Errorf("logout without CSRF token: %d", r.status)
	}
	// A browser that says the form comes from another site is refused,
	// token or not; the login form too.
	r = e.send(http.MethodPost, web.AccountsPath, form("username", "autre-site", "role", "technician", "csrf_token", s.csrf),
		"Cookie", s.cookie, "Content-Type", formType, "Sec-Fetch-Site", "cross-site")
	r2 := e.send(http.MethodPost, web.AccountsPath, form("username", "autre-site", "role", "technician", "csrf_token", s.csrf),
		"Cookie", s.cookie, "Content-Type", formType, "Origin", "https://evil.example")
	r3, _ := e.login("admin", "admin password", "Sec-Fetch-Site", "cross-site")
	r4 := e.send(http.MethodPost, web.LoginPath, form("username", "admin", "password", "admin password"), "Content-Type", formType, "Origin", "https://evil.example")
	for i, r := range []reply{r, r2, r3, r4} {
		if r.status != http.StatusForbidden {
			t.Errorf("cross-site request %d: %d", i, r.status)
		}
	}
	// The same origin passes.
	r = e.send(http.MethodPost, web.AccountsPath, form("username", "meme-site", "role", "technician", "password", "un mot de passe long", "csrf_token", s.csrf),
		"Cookie", s.cookie, "Content-Type", formType, "Origin", publicURL, "Sec-Fetch-Site", "same-origin")
	if r.status != http.StatusCreated {
		t.Errorf("same-origin form: %d", r.status)
	}
}

// Requests with an API token need no CSRF token; the role still decides.
func TestBearerTokensAreExemptFromCSRF(t *testing.T) {
	e := newAuthEnv(t)
	e.account("tech", "", auth.RoleTechnician, "tech password!")
	eng := e.h.(*gin.Engine)
	var got auth.Principal
	eng.POST("/test/write", func(c *gin.Context) {
		got, _ = principal(c)
		c.Status(http.StatusNoContent)
	})
	tok := e.token("script de pose", auth.RoleTechnician)
	r := e.send(http.MethodPost, "/test/write", form("a", "b"), "Authorization", "Bearer "+tok, "Content-Type", formType)
	if r.status != http.StatusNoContent || got.Via != auth.ViaToken || got.Role != auth.RoleTechnician || got.TokenName != "script de pose" || got.Actor() != "token:script de pose" {
		t.Errorf("bearer write: %d, principal %+v", r.status, got)
	}
	if ch := changeBy(got, "pose"); ch.ActorRole != catalog.RoleTechnician || ch.Actor != "token:script de pose" || ch.Reason != "pose" {
		t.Errorf("change by a token: %+v", ch)
	}
	s := e.mustLogin("tech", "tech password!")
	if r := e.send(http.MethodPost, "/test/write", form("a", "b"), "Cookie", s.cookie, "Content-Type", formType); r.status != http.StatusForbidden {
		t.Errorf("session write without CSRF token: %d", r.status)
	}
	r = e.send(http.MethodPost, "/test/write", form("a", "b", "csrf_token", s.csrf), "Cookie", s.cookie, "Content-Type", formType)
	if r.status != http.StatusNoContent || got.Via != auth.ViaSession || got.Username != "tech" || got.AccountID == 0 {
		t.Errorf("session write with CSRF token: %d, principal %+v", r.status, got)
	}
}

func TestLoginRateLimit(t *testing.T) {
	e := newAuthEnv(t)
	e.account("admin", "", auth.RoleAdministrator, "admin password")
	for i := range loginMaxPerUser {
		r, c := e.login("admin", "wrong password "+strconv.Itoa(i))
		if r.status != http.StatusUnauthorized || c != nil || !strings.Contains(r.body, "Identifiant ou mot de passe incorrect") {
			t.Fatalf("failure %d: %d", i+1, r.status)
		}
		e.clock.add(time.Minute)
	}
	// Five failures from 8:00 to 8:04; at 8:05 even the right password
	// waits until 8:15.
	r, c := e.login("admin", "admin password")
	if r.status != http.StatusTooManyRequests || c != nil {
		t.Fatalf("6th attempt: %d, want 429", r.status)
	}
	if ra := r.header.Get("Retry-After"); ra != "600" {
		t.Errorf("Retry-After %q, want 600", ra)
	}
	if !strings.Contains(r.body, "Réessayez dans 10 minutes") {
		t.Errorf("the page does not say how long to wait:\n%s", r.body)
	}
	// The same, as a problem body.
	r = e.send(http.MethodPost, web.LoginPath, form("username", "admin", "password", "x"), "Content-Type", formType, "Accept", "application/json")
	wantProblem(t, r.answer, http.StatusTooManyRequests)
	e.clock.add(10 * time.Minute)
	if r, c := e.login("admin", "admin password"); r.status != http.StatusSeeOther || c == nil {
		t.Errorf("after the window: %d", r.status)
	}

	// Per client address: 20 failures over many user names.
	e2 := newAuthEnv(t)
	e2.account("admin", "", auth.RoleAdministrator, "admin password")
	for i := range loginMaxPerClient {
		if r, _ := e2.login("user"+strconv.Itoa(i), "wrong password"); r.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, r.status)
		}
	}
	if r, _ := e2.login("admin", "admin password"); r.status != http.StatusTooManyRequests {
		t.Errorf("after %d failures from one address: %d, want 429", loginMaxPerClient, r.status)
	}
}

func TestLoginSameAnswerForUnknownUser(t *testing.T) {
	e := newAuthEnv(t)
	e.account("admin", "", auth.RoleAdministrator, "admin password")
	disabled := e.account("parti", "", auth.RoleTechnician, "old password!")
	if err := e.st.SetDisabled(context.Background(), disabled.ID, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	norm := func(r reply, user string) string { return strings.ReplaceAll(r.body, user, "USER") }
	wrong, _ := e.login("admin", "wrong password")
	unknown, _ := e.login("nobody", "wrong password")
	gone, c := e.login("parti", "old password!")
	if wrong.status != http.StatusUnauthorized || unknown.status != wrong.status || gone.status != wrong.status || c != nil {
		t.Fatalf("statuses %d %d %d", wrong.status, unknown.status, gone.status)
	}
	if norm(wrong, "admin") != norm(unknown, "nobody") || norm(gone, "parti") != norm(wrong, "admin") {
		t.Error("an unknown or disabled user gets another answer than a wrong password")
	}
}

func TestSessionCookieAndRotation(t *testing.T) {
	e := newAuthEnv(t)
	e.account("admin", "", auth.RoleAdministrator, "admin password")
	r, c := e.login("admin", "admin password")
	if r.status != http.StatusSeeOther || c == nil {
		t.Fatalf("login: %d", r.status)
	}
	if loc := r.header.Get("Location"); loc != web.AccountsPath+"?lang=fr" {
		t.Errorf("an administrator lands on %q", loc)
	}
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge != int(SessionLifetime.Seconds()) {
		t.Errorf("cookie %+v: want HttpOnly, Secure (https public URL), SameSite=Lax, Path=/, Max-Age 7 days", c)
	}
	if !auth.WellFormedToken(c.Value) {
		t.Errorf("session id %q", c.Value)
	}
	// The store keeps the hash only.
	db := openDB(t, e.path)
	var hash, csrf string
	if err := db.QueryRow("SELECT token_hash, csrf_token FROM sessions").Scan(&hash, &csrf); err != nil {
		t.Fatal(err)
	}
	if hash != auth.HashToken(c.Value) || strings.Contains(hash, c.Value) {
		t.Errorf("stored %q for the session id", hash)
	}

	// An http public URL gives a cookie without Secure (a test bench).
	plain, err := NewHandler(Deps{Sensors: e.st, PublicURL: "http://127.0.0.1:8080", Now: e.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, web.LoginPath, form("username", "admin", "password", "admin password"))
	req.Header.Set("Content-Type", formType)
	rec := httptest.NewRecorder()
	plain.ServeHTTP(rec, req)
	if cs := rec.Result().Cookies(); len(cs) != 1 || cs[0].Secure || !cs[0].HttpOnly {
		t.Errorf("http public URL: cookies %+v", cs)
	}

	// Logging in again with a session: a new id, the old one is dead.
	old := session{cookie: SessionCookie + "=" + c.Value, csrf: csrf}
	r = e.send(http.MethodPost, web.LoginPath, form("username", "admin", "password", "admin password", "csrf_token", csrf),
		"Content-Type", formType, "Cookie", old.cookie)
	var fresh *http.Cookie
	for _, ck := range r.cookies {
		if ck.Name == SessionCookie && ck.MaxAge > 0 {
			fresh = ck
		}
	}
	if r.status != http.StatusSeeOther || fresh == nil || fresh.Value == c.Value {
		t.Fatalf("second login: %d, cookie %+v", r.status, fresh)
	}
	if r := e.send(http.MethodGet, pathAccounts, nil, "Cookie", old.cookie); r.status != http.StatusUnauthorized {
		t.Errorf("the old session still works after a new login: %d", r.status)
	}
	s := session{cookie: SessionCookie + "=" + fresh.Value}
	if r := e.send(http.MethodGet, pathAccounts, nil, "Cookie", s.cookie); r.status != http.StatusOK {
		t.Errorf("new session: %d", r.status)
	}

	// Logout deletes the session and the cookie.
	page := e.send(http.MethodGet, "/", nil, "Cookie", s.cookie)
	s.csrf = csrfRE.FindStringSubmatch(page.body)[1]
	r = e.send(http.MethodPost, web.LogoutPath, form("csrf_token", s.csrf), "Cookie", s.cookie, "Content-Type", formType)
	if r.status != http.StatusSeeOther || len(r.cookies) != 1 || r.cookies[0].MaxAge >= 0 {
		t.Errorf("logout: %d, cookies %+v", r.status, r.cookies)
	}
	if r := e.send(http.MethodGet, pathAccounts, nil, "Cookie", s.cookie); r.status != http.StatusUnauthorized {
		t.Errorf("session after logout: %d", r.status)
	}
	var n int
	db.QueryRow("SELECT count(*) FROM sessions WHERE token_hash IN (?, ?)", auth.HashToken(c.Value), auth.HashToken(fresh.Value)).Scan(&n)
	if n != 0 {
		t.Errorf("%d sessions left after rotation and logout", n)
	}
}

func openDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestExpiredSessionsAreRefused(t *testing.T) {
	e := newAuthEnv(t)
	e.account("admin", "", auth.RoleAdministrator, "admin password")
	get := func(s session) int { return e.send(http.MethodGet, pathAccounts, nil, "Cookie", s.cookie).status }

	// Idle: 12 hours without a request.
	s := e.mustLogin("admin", "admin password")
	e.clock.add(SessionIdle - time.Minute)
	if code := get(s); code != http.StatusOK {
		t.Fatalf("before the idle timeout: %d", code)
	}
	e.clock.add(SessionIdle - time.Minute) // the request above kept it alive
	if code := get(s); code != http.StatusOK {
		t.Fatalf("active session: %d", code)
	}
	e.clock.add(SessionIdle)
	if code := get(s); code != http.StatusUnauthorized {
		t.Errorf("idle session: %d, want 401", code)
	}

	// Absolute: 7 days after login, however active.
	s = e.mustLogin("admin", "admin password")
	for elapsed := 6 * time.Hour; elapsed < SessionLifetime; elapsed += 6 * time.Hour {
		e.clock.add(6 * time.Hour)
		if code := get(s); code != http.StatusOK {
			t.Fatalf("after %v of activity: %d", elapsed, code)
		}
	}
	e.clock.add(6 * time.Hour)
	if code := get(s); code != http.StatusUnauthorized {
		t.Errorf("session older than %v: %d, want 401", SessionLifetime, code)
	}

	// Disabled: its sessions end at once.
	tech := e.account("tech", "", auth.RoleTechnician, "tech password!")
	ts := e.mustLogin("tech", "tech password!")
	if err := e.st.SetDisabled(context.Background(), tech.ID, true, e.clock.now()); err != nil {
		t.Fatal(err)
	}
	if r := e.send(http.MethodGet, web.PasswordPath, nil, "Cookie", ts.cookie); r.status != http.StatusSeeOther {
		t.Errorf("session of a disabled account: %d", r.status)
	}
}

// readFiles returns the database file and its write-ahead log, as bytes.
func readFiles(t *testing.T, path string) string {
	t.Helper()
	var all []byte
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return string(all)
}

func TestAPITokenShownOnceAndStoredHashed(t *testing.T) {
	e := newAuthEnv(t)
	e.account("admin", "", auth.RoleAdministrator, "admin password")
	s := e.mustLogin("admin", "admin password")

	// JSON.
	r := e.send(http.MethodPost, pathTokens, jsonBody(map[string]string{"name": "passerelle mairie", "role": "gateway"}),
		"Cookie", s.cookie, "X-CSRF-Token", s.csrf, "Content-Type", "application/json")
	if r.status != http.StatusCreated {
		t.Fatalf("create token: %d %s", r.status, r.body)
	}
	var created struct {
		Token  tokenJSON `json:"token"`
		Secret string    `json:"secret"`
	}
	if err := json.Unmarshal([]byte(r.body), &created); err != nil {
		t.Fatal(err)
	}
	if !auth.WellFormedAPIToken(created.Secret) || created.Token.Role != auth.RoleGateway || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("created %+v, Cache-Control %q", created, r.header.Get("Cache-Control"))
	}

	// Page form.
	r = e.send(http.MethodPost, web.TokensPath, form("name", "script d'inventaire", "role", "technician", "csrf_token", s.csrf),
		"Cookie", s.cookie, "Content-Type", formType)
	m := regexp.MustCompile(`cvs_[A-Za-z0-9_-]{43}`).FindString(r.body)
	if r.status != http.StatusCreated || m == "" || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("token form: %d, secret %q", r.status, m)
	}
	secrets := []string{created.Secret, m}

	// Never shown again.
	for _, path := range []string{pathTokens, web.TokensPath, pathTokens + "?x=1"} {
		body := e.send(http.MethodGet, path, nil, "Cookie", s.cookie).body
		for _, sec := range secrets {
			if strings.Contains(body, sec) || strings.Contains(body, auth.HashToken(sec)) {
				t.Errorf("%s shows a token or its hash again", path)
			}
		}
	}
	// Stored as SHA-256 only.
	db := openDB(t, e.path)
	rows, err := db.Query("SELECT token_hash FROM api_tokens ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	var hashes []string
	for rows.Next() {
		var h string
		rows.Scan(&h)
		hashes = append(hashes, h)
	}
	rows.Close()
	if len(hashes) != 2 || hashes[0] != auth.HashToken(secrets[0]) || hashes[1] != auth.HashToken(secrets[1]) {
		t.Errorf("stored hashes %v", hashes)
	}
	files := readFiles(t, e.path)
	for _, sec := range secrets {
		if strings.Contains(files, sec) || strings.Contains(files, strings.TrimPrefix(sec, auth.APITokenPrefix)) {
			t.Errorf("the database holds the token %q in clear", sec)
		}
	}
	if strings.Contains(files, "admin password") {
		t.Error("the database holds a password in clear")
	}

	// The token works with its role, and stops working when revoked.
	eng := e.h.(*gin.Engine)
	eng.GET("/test/gateway", e.handlerOf(t).require(auth.RoleGateway), func(c *gin.Context) { c.Status(http.StatusNoContent) })
	if r := e.send(http.MethodGet, "/test/gateway", nil, "Authorization", "Bearer "+secrets[0]); r.status != http.StatusNoContent {
		t.Errorf("gateway token on a gateway route: %d", r.status)
	}
	if r := e.send(http.MethodGet, "/test/gateway", nil, "Authorization", "Bearer "+secrets[1]); r.status != http.StatusForbidden {
		t.Errorf("technician token on a gateway route: %d", r.status)
	}
	r = e.send(http.MethodDelete, pathTokens+"/"+strconv.FormatInt(created.Token.ID, 10), nil, "Cookie", s.cookie, "X-CSRF-Token", s.csrf)
	if r.status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := e.send(http.MethodGet, "/test/gateway", nil, "Authorization", "Bearer "+secrets[0]); r.status != http.StatusUnauthorized {
		t.Errorf("revoked token: %d", r.status)
	}
	list := e.send(http.MethodGet, pathTokens, nil, "Cookie", s.cookie)
	if !strings.Contains(list.body, `"revoked_at"`) || !strings.Contains(list.body, `"last_used_at"`) {
		t.Errorf("token list: %s", list.body)
	}
	// A token cannot have the administrator role.
	r = e.send(http.MethodPost, pathTokens, jsonBody(map[string]string{"name": "root", "role": "administrator"}),
		"Cookie", s.cookie, "X-CSRF-Token", s.csrf, "Accept-Language", "en")
	wantProblem(t, r.answer, http.StatusBadRequest)
	if !strings.Contains(r.body, `"field":"role"`) || !strings.Contains(r.body, "This role is not allowed here.") {
		t.Errorf("administrator token: %s", r.body)
	}
}

// handlerOf builds a second handler over the same store and clock, for
// tests that need h.require on a route of their own.
func (e *authEnv) handlerOf(t *testing.T) *handler {
	t.Helper()
	pages, err := web.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &handler{authn: newAuthn(e.st, publicURL, e.clock.now), log: slog.New(slog.DiscardHandler), pages: pages}
}

func TestAccountsAdministration(t *testing.T) {
	e := newAuthEnv(t)
	admin := e.account("admin", "Agnès Admin", auth.RoleAdministrator, "admin password")
	s := e.mustLogin("admin", "admin password")
	post := func(path string, kv ...string) reply {
		return e.send(http.MethodPost, path, form(append(kv, "csrf_token", s.csrf)...), "Cookie", s.cookie, "Content-Type", formType)
	}

	// Creation with a generated password, shown once, that works.
	r := post(web.AccountsPath, "username", "Tech.Martin", "display_name", "Théo Martin", "role", "technician")
	m := regexp.MustCompile(`<code class="secret-value">([A-Za-z0-9_-]{24})</code>`).FindStringSubmatch(r.body)
	if r.status != http.StatusCreated || m == nil {
		t.Fatalf("create: %d\n%s", r.status, r.body)
	}
	tech := e.mustLogin("tech.martin", m[1])
	if body := e.send(http.MethodGet, web.AccountsPath, nil, "Cookie", s.cookie).body; strings.Contains(body, m[1]) {
		t.Error("the generated password is shown again")
	}

	// Field errors, in the page's language.
	r = post(web.AccountsPath+"?lang=en", "username", "x y", "role", "gateway", "password", "short")
	for _, want := range []string{"Not a valid user name", "This role is not allowed here.", "at least 12 characters", `aria-invalid="true"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("form errors lack %q", want)
		}
	}
	if r.status != http.StatusBadRequest {
		t.Errorf("bad form: %d", r.status)
	}
	if r := post(web.AccountsPath, "username", "tech.martin", "role", "technician"); r.status != http.StatusConflict || !strings.Contains(r.body, "déjà pris") {
		t.Errorf("taken user name: %d", r.status)
	}

	// Role change and disabling, by form.
	techAcc, _ := e.st.AccountByUsername(context.Background(), "tech.martin")
	id := strconv.FormatInt(techAcc.ID, 10)
	if r := post(web.AccountsPath+"/"+id+"/role", "role", "energy_manager"); r.status != http.StatusSeeOther {
		t.Errorf("role change: %d %s", r.status, r.body)
	}
	if a, _ := e.st.AccountByID(context.Background(), techAcc.ID); a.Role != auth.RoleEnergyManager {
		t.Errorf("role %q", a.Role)
	}
	if r := post(web.AccountsPath + "/" + id + "/disable"); r.status != http.StatusSeeOther {
		t.Errorf("disable: %d", r.status)
	}
	if r := e.send(http.MethodGet, web.PasswordPath, nil, "Cookie", tech.cookie); r.status != http.StatusSeeOther {
		t.Errorf("session of a disabled account: %d", r.status)
	}
	if r, _ := e.login("tech.martin", m[1]); r.status != http.StatusUnauthorized {
		t.Errorf("a disabled account logs in: %d", r.status)
	}
	if r := post(web.AccountsPath + "/" + id + "/enable"); r.status != http.StatusSeeOther {
		t.Errorf("enable: %d", r.status)
	}
	// Reset: a new password, shown once; the old one stops working.
	r = post(web.AccountsPath + "/" + id + "/password")
	m2 := regexp.MustCompile(`<code class="secret-value">([A-Za-z0-9_-]{24})</code>`).FindStringSubmatch(r.body)
	if r.status != http.StatusOK || m2 == nil {
		t.Fatalf("reset: %d", r.status)
	}
	if r, _ := e.login("tech.martin", m[1]); r.status != http.StatusUnauthorized {
		t.Errorf("old password after reset: %d", r.status)
	}
	e.mustLogin("tech.martin", m2[1])

	// Administrators cannot lock themselves out.
	self := strconv.FormatInt(admin.ID, 10)
	for _, action := range []string{"role", "disable", "password"} {
		if r := post(web.AccountsPath+"/"+self+"/"+action, "role", "technician"); r.status != http.StatusConflict {
			t.Errorf("%s on oneself: %d", action, r.status)
		}
	}
	if a, _ := e.st.AccountByID(context.Background(), admin.ID); a.Role != auth.RoleAdministrator || a.Disabled() {
		t.Errorf("admin changed: %+v", a)
	}

	// JSON: list, get, patch; never a hash.
	list := e.send(http.MethodGet, pathAccounts, nil, "Cookie", s.cookie)
	if list.status != http.StatusOK || !strings.Contains(list.body, `"username":"tech.martin"`) || strings.Contains(list.body, "argon2") {
		t.Errorf("list: %d %s", list.status, list.body)
	}
	r = e.send(http.MethodPatch, pathAccounts+"/"+id, jsonBody(map[string]any{"role": "technician", "disabled": true}),
		"Cookie", s.cookie, "X-CSRF-Token", s.csrf)
	if r.status != http.StatusOK || !strings.Contains(r.body, `"role":"technician"`) || !strings.Contains(r.body, `"disabled_at"`) {
		t.Errorf("patch: %d %s", r.status, r.body)
	}
	r = e.send(http.MethodPatch, pathAccounts+"/"+self, jsonBody(map[string]any{"disabled": true}), "Cookie", s.cookie, "X-CSRF-Token", s.csrf)
	wantProblem(t, r.answer, http.StatusConflict)
	r = e.send(http.MethodPatch, pathAccounts+"/999", jsonBody(map[string]any{"disabled": true}), "Cookie", s.cookie, "X-CSRF-Token", s.csrf)
	wantProblem(t, r.answer, http.StatusNotFound)
	r = e.send(http.MethodPost, pathAccounts, strings.NewReader(`{"username":"a1","role":"technician","admin":true}`), "Cookie", s.cookie, "X-CSRF-Token", s.csrf)
	wantProblem(t, r.answer, http.StatusBadRequest)
	r = e.send(http.MethodPost, pathAccounts, strings.NewReader(`{"username":"`+strings.Repeat("a", maxAuthBody)+`"}`), "Cookie", s.cookie, "X-CSRF-Token", s.csrf)
	wantProblem(t, r.answer, http.StatusRequestEntityTooLarge)
	r = e.send(http.MethodPost, pathAccounts, jsonBody(map[string]string{"username": "nouvelle", "role": "energy_manager"}),
		"Cookie", s.cookie, "X-CSRF-Token", s.csrf)
	var created struct {
		Account  accountJSON `json:"account"`
		Password string      `json:"password"`
	}
	json.Unmarshal([]byte(r.body), &created)
	if r.status != http.StatusCreated || created.Password == "" || r.header.Get("Location") != pathAccounts+"/"+strconv.FormatInt(created.Account.ID, 10) {
		t.Errorf("JSON create: %d %s", r.status, r.body)
	}
	if r := e.send(http.MethodGet, pathAccounts+"/"+strconv.FormatInt(created.Account.ID, 10), nil, "Cookie", s.cookie); r.status != http.StatusOK || strings.Contains(r.body, created.Password) {
		t.Errorf("JSON get: %d %s", r.status, r.body)
	}
}

func TestChangeOwnPassword(t *testing.T) {
	e := newAuthEnv(t)
	e.account("tech", "", auth.RoleTechnician, "tech password!")
	s := e.mustLogin("tech", "tech password!")
	other := e.mustLogin("tech", "tech password!")
	post := func(kv ...string) reply {
		return e.send(http.MethodPost, web.PasswordPath, form(append(kv, "csrf_token", s.csrf)...), "Cookie", s.cookie, "Content-Type", formType)
	}
	if r := post("current", "wrong one!!!!", "password", "nouveau mot de passe", "confirm", "nouveau mot de passe"); r.status != http.StatusBadRequest || !strings.Contains(r.body, "Mot de passe actuel incorrect") {
		t.Errorf("wrong current password: %d", r.status)
	}
	if r := post("current", "tech password!", "password", "nouveau mot de passe", "confirm", "autre chose"); r.status != http.StatusBadRequest || !strings.Contains(r.body, "diffèrent") {
		t.Errorf("mismatch: %d", r.status)
	}
	if r := post("current", "tech password!", "password", "court", "confirm", "court"); r.status != http.StatusBadRequest {
		t.Errorf("short: %d", r.status)
	}
	if r := post("current", "tech password!", "password", "nouveau mot de passe", "confirm", "nouveau mot de passe"); r.status != http.StatusOK || !strings.Contains(r.body, "Mot de passe changé") {
		t.Fatalf("change: %d", r.status)
	}
	if r := e.send(http.MethodGet, web.PasswordPath, nil, "Cookie", s.cookie); r.status != http.StatusOK {
		t.Errorf("the session that changed the password ended: %d", r.status)
	}
	if r := e.send(http.MethodGet, web.PasswordPath, nil, "Cookie", other.cookie); r.status != http.StatusSeeOther {
		t.Errorf("another session survived the change: %d", r.status)
	}
	if r, _ := e.login("tech", "tech password!"); r.status != http.StatusUnauthorized {
		t.Errorf("old password: %d", r.status)
	}
	e.mustLogin("tech", "nouveau mot de passe")
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/admin/tokens?lang=en":  "/admin/tokens?lang=en",
		"/sensors/air-mairie-01": "/sensors/air-mairie-01",
		"":                       "",
		"https://evil.example/":  "",
		"//evil.example/":        "",
		"/\\evil.example":        "",
		"javascript:alert(1)":    "",
		"/login?next=/x":         "",
		"/ok\r\nSet-Cookie: x=y": "",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
	e := newAuthEnv(t)
	e.account("tech", "", auth.RoleTechnician, "tech password!")
	r := e.send(http.MethodPost, web.LoginPath, form("username", "tech", "password", "tech password!", "next", "https://evil.example/"), "Content-Type", formType)
	if r.header.Get("Location") != "/?lang=fr" {
		t.Errorf("open redirect: %q", r.header.Get("Location"))
	}
	r = e.send(http.MethodPost, web.LoginPath, form("username", "tech", "password", "tech password!", "next", "/sensors/air-mairie-01"), "Content-Type", formType)
	if r.header.Get("Location") != "/sensors/air-mairie-01" {
		t.Errorf("next: %q", r.header.Get("Location"))
	}
}

// Public pages and exports never carry an account's name, a password
// hash, a token or its hash — checked on every GET route that answers
// without an account, whoever added it.
func TestPublicPagesCarryNoStaffData(t *testing.T) {
	e := newAuthEnv(t)
	ctx := context.Background()
	admin := e.account("agnes.admin", "Agnès Zébulon-Admin", auth.RoleAdministrator, "admin password")
	e.account("theo.tech", "Théo Quenouille-Tech", auth.RoleTechnician, "tech password!")
	e.account("eve.energie", "Ève Pistache-Énergie", auth.RoleEnergyManager, "energy password")
	gw := e.token("Passerelle Saint-Glinglin", auth.RoleGateway)
	s := e.mustLogin("agnes.admin", "admin password")
	// A technician's change of a published entry, as provisioning records it.
	cur, err := e.st.Get(ctx, "air-mairie-01")
	if err != nil {
		t.Fatal(err)
	}
	cur.Description.FR += " Révisée."
	if _, err := e.st.Update(ctx, cur, store.Change{ActorRole: catalog.RoleTechnician, Actor: "theo.tech", Reason: "nettoyage du capteur"}); err != nil {
		t.Fatal(err)
	}

	secrets := []string{"agnes.admin", "theo.tech", "eve.energie", "Zébulon", "Quenouille", "Pistache",
		"Saint-Glinglin", gw, auth.HashToken(gw), "argon2", s.csrf, strings.TrimPrefix(s.cookie, SessionCookie+"=")}
	accs, _ := e.st.ListAccounts(ctx)
	for _, a := range accs {
		secrets = append(secrets, a.PasswordHash)
	}
	db := openDB(t, e.path)
	var sessHash string
	db.QueryRow("SELECT token_hash FROM sessions WHERE account_id = ?", admin.ID).Scan(&sessHash)
	secrets = append(secrets, sessHash)

	checked := 0
	for _, rt := range e.h.(*gin.Engine).Routes() {
		if rt.Method != http.MethodGet {
			continue
		}
		path := paramRE.ReplaceAllStringFunc(rt.Path, func(p string) string {
			if p == ":format" {
				return "svg" // the sign, whose PDF is compressed
			}
			return "air-mairie-01"
		})
		for _, q := range []string{"", "?lang=en"} {
			r := e.send(http.MethodGet, path+q, nil)
			if r.status == http.StatusUnauthorized || r.status == http.StatusSeeOther {
				continue // not public
			}
			checked++
			for _, sec := range secrets {
				if sec != "" && strings.Contains(r.body, sec) {
					t.Errorf("GET %s%s (%d) contains %q", path, q, r.status, sec)
				}
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d public answers checked", checked)
	}
	// The entry's public history says the role, not the name.
	page := e.send(http.MethodGet, "/sensors/air-mairie-01", nil).body
	if !strings.Contains(page, "Un technicien ou une technicienne") || !strings.Contains(page, "nettoyage du capteur") {
		t.Error("the public history lacks the role or the reason of the change")
	}
}

func TestStaffMenu(t *testing.T) {
	e := newAuthEnv(t)
	e.account("admin", "", auth.RoleAdministrator, "admin password")
	e.account("tech", "", auth.RoleTechnician, "tech password!")
	public := e.send(http.MethodGet, "/", nil).body
	if strings.Contains(public, "csrf_token") || !strings.Contains(public, `href="/login?lang=fr"`) || strings.Contains(public, web.LogoutPath) {
		t.Error("the public sees staff controls, or no way to log in")
	}
	s := e.mustLogin("admin", "admin password")
	signed := e.send(http.MethodGet, "/?lang=en", nil, "Cookie", s.cookie)
	if cc := signed.header.Get("Cache-Control"); cc != "private, no-store" {
		t.Errorf("a signed-in person's page: Cache-Control %q", cc)
	}
	page := signed.body
	for _, want := range []string{"Signed in: Administrator", `href="/admin/accounts?lang=en"`, `action="/logout?lang=en"`} {
		if !strings.Contains(page, want) {
			t.Errorf("administrator's menu lacks %q", want)
		}
	}
	ts := e.mustLogin("tech", "tech password!")
	page = e.send(http.MethodGet, "/", nil, "Cookie", ts.cookie).body
	if strings.Contains(page, web.AccountsPath) || !strings.Contains(page, "Connecté : Technicien ou technicienne") {
		t.Error("technician's menu is wrong")
	}
	// Already logged in: the login page sends on.
	if r := e.send(http.MethodGet, web.LoginPath+"?next=/sensors/air-mairie-01", nil, "Cookie", ts.cookie); r.status != http.StatusSeeOther || r.header.Get("Location") != "/sensors/air-mairie-01" {
		t.Errorf("login page when logged in: %d %q", r.status, r.header.Get("Location"))
	}
}
