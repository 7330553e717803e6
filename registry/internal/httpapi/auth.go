package httpapi

// Authentication and authorization: who makes a request (a session cookie
// or an API token), what their role allows (require), CSRF protection, and
// the login, logout and password pages. The accounts and API tokens pages
// are in accounts.go.
//
// The model:
//
//   - People log in with a user name and password (argon2id, package auth)
//     and get a server-side session: the cookie civisens_session holds a
//     random id, the store only its SHA-256. A session ends after
//     SessionIdle without a request or SessionLifetime after login,
//     whichever comes first; logging in again always starts a new session
//     (the id is rotated), and logging out deletes it.
//   - Programs (gateways, firmware bridges, scripts) send an API token as
//     "Authorization: Bearer cvs_…"; the store only keeps its SHA-256.
//   - Every state-changing request (not GET, HEAD, OPTIONS) of a session
//     must carry the session's CSRF token, in the form field csrf_token or
//     the header X-CSRF-Token, or is refused with 403 before any handler
//     runs. Requests with an API token are exempt: a browser never adds
//     that header by itself. As a second line, state-changing requests
//     without an API token are refused when the browser says they come
//     from another site (Sec-Fetch-Site, or else Origin); this also covers
//     the login form, which has no session yet.
//   - Routes declare who may use them with h.require(roles...): 401 when
//     nobody is authenticated (a GET of an HTML page redirects to the login
//     page instead), 403 when the role is not among roles.

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/civisens/civisens/registry/internal/auth"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/internal/web"
)

// Accounts is what the handler needs of the store for accounts, sessions
// and API tokens; *store.Store provides it.
type Accounts interface {
	AccountByUsername(ctx context.Context, username string) (store.Account, error)
	AccountByID(ctx context.Context, id int64) (store.Account, error)
	ListAccounts(ctx context.Context) ([]store.Account, error)
	CreateAccount(ctx context.Context, a store.Account) (store.Account, error)
	SetRole(ctx context.Context, id int64, role auth.Role) error
	SetDisabled(ctx context.Context, id int64, disabled bool, at time.Time) error
	SetPassword(ctx context.Context, id int64, passwordHash, keepSession string) error

	CreateSession(ctx context.Context, s store.Session) error
	SessionByTokenHash(ctx context.Context, tokenHash string) (store.Session, store.Account, error)
	TouchSession(ctx context.Context, tokenHash string, at time.Time) error
	DeleteSession(ctx context.Context, tokenHash string) error
	PurgeSessions(ctx context.Context, now time.Time, idle time.Duration) (int64, error)

	CreateAPIToken(ctx context.Context, t store.APIToken) (store.APIToken, error)
	APITokenByHash(ctx context.Context, tokenHash string) (store.APIToken, error)
	TouchAPIToken(ctx context.Context, id int64, at time.Time) error
	RevokeAPIToken(ctx context.Context, id int64, at time.Time) error
	ListAPITokens(ctx context.Context) ([]store.APIToken, error)
}

// Sessions and logins.
const (
	// SessionCookie is the name of the session cookie.
	SessionCookie = "civisens_session"
	// SessionIdle ends a session left without a request for this long: a
	// working day on a shared phone.
	SessionIdle = 12 * time.Hour
	// SessionLifetime ends a session this long after login, whatever its
	// activity.
	SessionLifetime = 7 * 24 * time.Hour
	// touchEvery bounds how often a session's or token's last use is
	// written: not at every request, to spare the SD card.
	touchEvery = 5 * time.Minute

	// Failed logins allowed per window: per user name, and per client
	// address (higher, because a town hall's staff share one address).
	loginMaxPerUser   = 5
	loginMaxPerClient = 20
	loginWindow       = 15 * time.Minute
	loginMaxKeys      = 10000

	// hashSlots bounds the argon2id computations running at once (each
	// holds auth.DefaultParams.Memory, 19 MiB).
	hashSlots = 2

	// maxAuthBody bounds the bodies of the login, account and token forms
	// and JSON requests.
	maxAuthBody = 64 << 10

	// csrfHeader carries the CSRF token of scripts running in a page.
	csrfHeader = "X-CSRF-Token"
)

// Kinds of errors of authentication and authorization; problemFor maps
// them.
var (
	errUnauthenticated = errors.New("authentication required")
	errInvalidToken    = errors.New("invalid or revoked API token")
	errForbidden       = errors.New("role not allowed")
	errCSRF            = errors.New("missing or wrong CSRF token")
	errCrossSite       = errors.New("cross-site request refused")
	errRateLimited     = errors.New("too many failed logins")
	errBadCredentials  = errors.New("wrong user name or password")
	errSelf            = errors.New("administrators cannot change their own role or disable their own account")
)

// Keys of the gin context.
const (
	ctxPrincipal = "civisens.principal"
	ctxSession   = "civisens.session"
	ctxAuthError = "civisens.auth-error"
)

// authn is the handler's authentication state.
type authn struct {
	accounts Accounts
	now      func() time.Time
	secure   bool   // Secure cookies: the public URL is https
	origin   string // the public URL's origin, e.g. https://capteurs.example.fr
	params   auth.Params
	byUser   *auth.Limiter
	byClient *auth.Limiter
	slots    chan struct{}
	// dummy is a hash to verify against when the user name is unknown, so
	// that an unknown user takes as long as a wrong password.
	dummy func() (string, error)
}

func newAuthn(accounts Accounts, publicURL string, now func() time.Time) *authn {
	if now == nil {
		now = time.Now
	}
	origin := publicURL
	if u, err := url.Parse(publicURL); err == nil {
		origin = u.Scheme + "://" + u.Host
	}
	a := &authn{
		accounts: accounts,
		now:      now,
		secure:   strings.HasPrefix(publicURL, "https://"),
		origin:   origin,
		params:   auth.DefaultParams,
		byUser:   auth.NewLimiter(loginMaxPerUser, loginWindow, loginMaxKeys, now),
		byClient: auth.NewLimiter(loginMaxPerClient, loginWindow, loginMaxKeys, now),
		slots:    make(chan struct{}, hashSlots),
	}
	a.dummy = sync.OnceValues(func() (string, error) {
		return auth.HashPassword("civisens: no such account", a.params)
	})
	return a
}

// principal returns who makes the request, if anyone is authenticated.
// Handlers behind h.require always have one.
func principal(c *gin.Context) (auth.Principal, bool) {
	v, ok := c.Get(ctxPrincipal)
	if !ok {
		return auth.Principal{}, false
	}
	p, ok := v.(auth.Principal)
	return p, ok
}

// currentSession returns the request's session, when it has one.
func currentSession(c *gin.Context) (store.Session, bool) {
	v, ok := c.Get(ctxSession)
	if !ok {
		return store.Session{}, false
	}
	s, ok := v.(store.Session)
	return s, ok
}

// staffOf returns what pages need of a signed-in person: the session's
// CSRF token and the role; empty for the public and for API tokens.
func staffOf(c *gin.Context) (csrfToken, role string) {
	s, ok := currentSession(c)
	if !ok {
		return "", ""
	}
	p, _ := principal(c)
	return s.CSRFToken, string(p.Role)
}

// safeMethod reports whether a method does not change state.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// authenticate resolves the principal of every request, from an API token
// or a session cookie, and refuses the state-changing requests of a session
// without its CSRF token and those that a browser says come from another
// site. It runs before every route.
func (h *handler) authenticate(c *gin.Context) {
	a := h.authn
	if a == nil {
		c.Next()
		return
	}
	viaToken := false
	if scheme, tok, ok := strings.Cut(c.GetHeader("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		viaToken = true
		if err := h.authenticateToken(c, strings.TrimSpace(tok)); err != nil {
			h.fail(c, err)
			return
		}
	} else if ck, err := c.Request.Cookie(SessionCookie); err == nil && ck.Value != "" {
		if err := h.authenticateSession(c, ck.Value); err != nil {
			h.fail(c, err)
			return
		}
	}
	if !safeMethod(c.Request.Method) && !viaToken {
		if !a.sameSite(c.Request) {
			h.deny(c, fmt.Errorf("%s %s from origin %q: %w", c.Request.Method, c.Request.URL.Path, c.GetHeader("Origin"), errCrossSite))
			return
		}
		if s, ok := currentSession(c); ok && !csrfMatches(c, s.CSRFToken) {
			h.deny(c, fmt.Errorf("%s %s: %w", c.Request.Method, c.Request.URL.Path, errCSRF))
			return
		}
	}
	c.Next()
}

// authenticateToken sets the principal of an API token. A malformed,
// unknown or revoked token leaves the request anonymous, with the reason
// kept for the 401. Only store failures are returned.
func (h *handler) authenticateToken(c *gin.Context, token string) error {
	a := h.authn
	if !auth.WellFormedAPIToken(token) {
		c.Set(ctxAuthError, errInvalidToken)
		return nil
	}
	ctx := c.Request.Context()
	t, err := a.accounts.APITokenByHash(ctx, auth.HashToken(token))
	if errors.Is(err, store.ErrNoToken) || (err == nil && t.Revoked()) {
		c.Set(ctxAuthError, errInvalidToken)
		return nil
	}
	if err != nil {
		return err
	}
	now := a.now()
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= touchEvery {
		if err := a.accounts.TouchAPIToken(ctx, t.ID, now); err != nil {
			h.log.Warn("record API token use", "token", t, "err", err)
		}
	}
	c.Set(ctxPrincipal, auth.Principal{Role: t.Role, Via: auth.ViaToken, TokenID: t.ID, TokenName: t.Name})
	return nil
}

// authenticateSession sets the principal of a session cookie. An unknown,
// expired or disabled session leaves the request anonymous and clears the
// cookie. Only store failures are returned.
func (h *handler) authenticateSession(c *gin.Context, token string) error {
	a := h.authn
	if !auth.WellFormedToken(token) {
		a.clearCookie(c)
		return nil
	}
	ctx := c.Request.Context()
	hash := auth.HashToken(token)
	s, acc, err := a.accounts.SessionByTokenHash(ctx, hash)
	if errors.Is(err, store.ErrNoSession) {
		a.clearCookie(c)
		return nil
	}
	if err != nil {
		return err
	}
	now := a.now()
	if !now.Before(s.ExpiresAt) || now.Sub(s.LastSeenAt) >= SessionIdle || acc.Disabled() || !acc.Role.ForAccount() {
		if err := a.accounts.DeleteSession(ctx, hash); err != nil {
			h.log.Warn("delete ended session", "err", err)
		}
		a.clearCookie(c)
		return nil
	}
	if now.Sub(s.LastSeenAt) >= touchEvery {
		if err := a.accounts.TouchSession(ctx, hash, now); err != nil {
			h.log.Warn("record session activity", "session", s, "err", err)
		}
	}
	c.Set(ctxSession, s)
	c.Set(ctxPrincipal, auth.Principal{AccountID: acc.ID, Username: acc.Username, Role: acc.Role, Via: auth.ViaSession})
	return nil
}

// csrfMatches reports whether the request carries the session's CSRF
// token, in the X-CSRF-Token header or the csrf_token form field (of a
// urlencoded or multipart body), compared in constant time.
func csrfMatches(c *gin.Context, want string) bool {
	got := c.GetHeader(csrfHeader)
	if got == "" {
		mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
		if mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data" {
			got = c.PostForm(web.CSRFField)
		}
	}
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// sameSite reports whether a state-changing request may come from where
// the browser says it comes from: refused when Sec-Fetch-Site says
// cross-site or same-site, or, without it, when Origin is another origin.
// Clients that send neither (scripts, old browsers) pass: the CSRF token
// still protects sessions.
func (a *authn) sameSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return false
	case "same-origin", "none":
		return true
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return origin == a.origin || origin == scheme+"://"+r.Host
}

// require lets through the requests of a principal whose role is one of
// roles (any authenticated principal when roles is empty). Otherwise it
// answers 401 — a GET of an HTML page is redirected to the login page — or
// 403. Routes of people's pages and APIs use it, e.g.
//
//	g := e.Group("/admin", h.require(auth.RoleAdministrator))
//	e.POST("/api/v1/sensors", h.require(auth.RoleTechnician, auth.RoleAdministrator), h.apiCreate)
func (h *handler) require(roles ...auth.Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		p, ok := principal(c)
		if !ok {
			err := errUnauthenticated
			if v, ok := c.Get(ctxAuthError); ok {
				err = fmt.Errorf("%w: %w", errUnauthenticated, v.(error))
			}
			h.deny(c, err)
			return
		}
		if len(roles) > 0 && !p.Is(roles...) {
			h.deny(c, fmt.Errorf("%s %s as %s: %w", c.Request.Method, c.Request.URL.Path, p.Role, errForbidden))
			return
		}
		c.Header("Cache-Control", "no-store")
		c.Next()
	}
}

// deny answers a refused request: a problem body for the API; for pages, a
// redirect to the login page (a GET without authentication), the login form
// (another method without authentication), or a page saying why.
func (h *handler) deny(c *gin.Context, err error) {
	p := problemFor(err)
	if p.Status == http.StatusUnauthorized {
		v := `Bearer realm="civisens"`
		if errors.Is(err, errInvalidToken) {
			v += `, error="invalid_token"`
		}
		c.Header("WWW-Authenticate", v)
	}
	if p.Status == http.StatusForbidden {
		h.log.Info("request refused", "method", c.Request.Method, "path", c.Request.URL.Path, "reason", err)
	}
	if wantsProblem(c.Request) || c.GetHeader("Authorization") != "" { // programs get problems, not pages
		writeProblem(c, p)
		return
	}
	r := request(c)
	switch p.Status {
	case http.StatusUnauthorized:
		if c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead {
			c.Redirect(http.StatusSeeOther, web.LoginPath+"?lang="+r.Lang+"&next="+url.QueryEscape(c.Request.URL.RequestURI()))
			c.Abort()
			return
		}
		h.writeStaffPage(c, p.Status, func(b *strings.Builder) error {
			return h.pages.Login(b, r, web.LoginPage{Notice: web.Notice{Key: "login.required", Error: true}})
		})
	case http.StatusForbidden:
		key := "denied.role"
		if errors.Is(err, errCSRF) || errors.Is(err, errCrossSite) {
			key = "denied.csrf"
		}
		h.writeStaffPage(c, p.Status, func(b *strings.Builder) error { return h.pages.Denied(b, r, key) })
	default:
		h.errorPage(c, p.Status)
	}
	c.Abort()
}

// writeStaffPage sends a page that must not be cached: staff pages, and
// any page carrying a secret shown once.
func (h *handler) writeStaffPage(c *gin.Context, status int, render func(*strings.Builder) error) {
	var b strings.Builder
	if err := render(&b); err != nil {
		h.fail(c, err)
		return
	}
	r := request(c)
	c.Header("Content-Language", r.Lang)
	c.Header("Cache-Control", "no-store")
	c.Data(status, "text/html; charset=utf-8", []byte(b.String()))
}

// hashing runs fn, a password hash or verification, when one of the
// hashSlots is free, so that simultaneous logins cannot exhaust memory.
func (a *authn) hashing(ctx context.Context, fn func() error) error {
	select {
	case a.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-a.slots }()
	return fn()
}

// hashPassword hashes a new password.
func (a *authn) hashPassword(ctx context.Context, password string) (string, error) {
	var h string
	err := a.hashing(ctx, func() error {
		var err error
		h, err = auth.HashPassword(password, a.params)
		return err
	})
	return h, err
}

// check verifies a user name and password. An unknown or disabled account
// costs the same hash as a wrong password and gives the same answer.
func (a *authn) check(ctx context.Context, username, password string) (store.Account, bool, error) {
	acc, err := a.accounts.AccountByUsername(ctx, username)
	if err != nil && !errors.Is(err, store.ErrNoAccount) {
		return store.Account{}, false, err
	}
	known := err == nil && !acc.Disabled()
	hash := acc.PasswordHash
	if !known {
		if hash, err = a.dummy(); err != nil {
			return store.Account{}, false, err
		}
	}
	var ok bool
	err = a.hashing(ctx, func() error {
		var err error
		ok, err = auth.VerifyPassword(password, hash)
		return err
	})
	if err != nil {
		return store.Account{}, false, fmt.Errorf("account %s: %w", acc.Username, err)
	}
	return acc, ok && known, nil
}

// setCookie sets the session cookie until the session's absolute end.
func (a *authn) setCookie(c *gin.Context, token string, expires time.Time) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name:     SessionCookie,
		Value:    token,
		Path:     "/",
		MaxAge:   int(expires.Sub(a.now()).Seconds()),
		Secure:   a.secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}

func (a *authn) clearCookie(c *gin.Context) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name:     SessionCookie,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		Secure:   a.secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}

// limitBody bounds the request body of the forms and JSON of this file and
// accounts.go.
func limitBody(c *gin.Context) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxAuthBody)
}

// safeNext returns s when it is a local path to go to after logging in,
// and "" otherwise (no open redirect).
func safeNext(s string) string {
	if s == "" || len(s) > 2048 || !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") ||
		strings.ContainsAny(s, "\\\r\n\t") {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Path == web.LoginPath || u.Path == web.LogoutPath {
		return ""
	}
	return s
}

// landing is where a person goes after logging in when nothing else was
// asked.
func landing(role auth.Role, lang string) string {
	if role == auth.RoleAdministrator {
		return web.AccountsPath + "?lang=" + lang
	}
	return "/?lang=" + lang
}

// authRoutes adds the routes of accounts, sessions and API tokens.
func (h *handler) authRoutes(e *gin.Engine) {
	if h.authn == nil {
		return
	}
	e.GET(web.LoginPath, h.loginPage)
	e.POST(web.LoginPath, h.login)
	e.POST(web.LogoutPath, h.logout)
	people := h.require(auth.AccountRoles()...)
	e.GET(web.PasswordPath, people, h.passwordPage)
	e.POST(web.PasswordPath, people, h.changePassword)

	admin := h.require(auth.RoleAdministrator)
	e.GET(web.AccountsPath, admin, h.accountsPage)
	e.POST(web.AccountsPath, admin, h.accountsCreate)
	e.POST(web.AccountsPath+"/:id/:action", admin, h.accountsAction)
	e.GET(web.TokensPath, admin, h.tokensPage)
	e.POST(web.TokensPath, admin, h.tokensCreate)
	e.POST(web.TokensPath+"/:id/revoke", admin, h.tokensRevoke)

	e.GET(pathAccounts, admin, h.apiAccounts)
	e.POST(pathAccounts, admin, h.apiAccountCreate)
	e.GET(pathAccounts+"/:id", admin, h.apiAccount)
	e.PATCH(pathAccounts+"/:id", admin, h.apiAccountPatch)
	e.GET(pathTokens, admin, h.apiTokens)
	e.POST(pathTokens, admin, h.apiTokenCreate)
	e.DELETE(pathTokens+"/:id", admin, h.apiTokenRevoke)
}

func (h *handler) loginPage(c *gin.Context) {
	r := request(c)
	next := safeNext(c.Query("next"))
	if p, ok := principal(c); ok && p.Via == auth.ViaSession {
		if next == "" {
			next = landing(p.Role, r.Lang)
		}
		c.Redirect(http.StatusSeeOther, next)
		return
	}
	d := web.LoginPage{Next: next}
	if c.Query("out") != "" {
		d.Notice = web.Notice{Key: "login.out"}
	}
	h.writeStaffPage(c, http.StatusOK, func(b *strings.Builder) error { return h.pages.Login(b, r, d) })
}

// login checks a user name and password and starts a new session.
func (h *handler) login(c *gin.Context) {
	a := h.authn
	ctx := c.Request.Context()
	limitBody(c)
	username := auth.NormalizeUsername(c.PostForm("username"))
	password := c.PostForm("password")
	r := request(c)
	form := web.LoginPage{Next: safeNext(c.PostForm("next")), Username: username}
	refuse := func(err error, status int, notice web.Notice) {
		if wantsProblem(c.Request) {
			h.deny(c, err)
			return
		}
		form.Notice = notice
		h.writeStaffPage(c, status, func(b *strings.Builder) error { return h.pages.Login(b, r, form) })
	}

	client := auth.ClientKey(c.ClientIP())
	userKey := username
	if len(userKey) > 64 { // no valid user name is longer: keep the limiter's keys small
		userKey = userKey[:64]
	}
	wait := a.byUser.Attempt(userKey)
	if wait == 0 {
		if wait = a.byClient.Attempt(client); wait > 0 {
			a.byUser.Undo(userKey)
		}
	}
	if wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		c.Header("Retry-After", strconv.Itoa(secs))
		h.log.Warn("login refused: too many failures", "client", client, "retry_after", secs)
		notice := web.Notice{Key: "login.limited1", Error: true}
		if mins := (secs + 59) / 60; mins > 1 {
			notice = web.Notice{Key: "login.limited", Args: []any{mins}, Error: true}
		}
		refuse(errRateLimited, http.StatusTooManyRequests, notice)
		return
	}

	acc, ok, err := a.check(ctx, username, password)
	if err != nil {
		h.fail(c, err)
		return
	}
	if !ok {
		if acc.ID != 0 {
			h.log.Info("login failed", "account", acc, "client", client)
		} else {
			h.log.Info("login failed: no such active account", "client", client)
		}
		refuse(errBadCredentials, http.StatusUnauthorized, web.Notice{Key: "login.failed", Error: true})
		return
	}
	a.byUser.Forget(userKey)
	a.byClient.Undo(client)

	// A new session at every login: the id of an earlier one (perhaps set
	// by someone else) is never reused.
	if old, ok := currentSession(c); ok {
		if err := a.accounts.DeleteSession(ctx, old.TokenHash); err != nil {
			h.fail(c, err)
			return
		}
	}
	now := a.now()
	if n, err := a.accounts.PurgeSessions(ctx, now, SessionIdle); err != nil {
		h.log.Warn("purge ended sessions", "err", err)
	} else if n > 0 {
		h.log.Debug("ended sessions purged", "count", n)
	}
	token, err := auth.NewToken()
	if err != nil {
		h.fail(c, err)
		return
	}
	csrf, err := auth.NewToken()
	if err != nil {
		h.fail(c, err)
		return
	}
	s := store.Session{TokenHash: auth.HashToken(token), AccountID: acc.ID, CSRFToken: csrf,
		CreatedAt: now, ExpiresAt: now.Add(SessionLifetime), LastSeenAt: now}
	if err := a.accounts.CreateSession(ctx, s); err != nil {
		h.fail(c, err)
		return
	}
	a.setCookie(c, token, s.ExpiresAt)
	h.log.Info("logged in", "account", acc, "client", client)
	next := form.Next
	if next == "" {
		next = landing(acc.Role, r.Lang)
	}
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusSeeOther, next)
}

// logout deletes the session (its CSRF token was checked by authenticate)
// and the cookie.
func (h *handler) logout(c *gin.Context) {
	a := h.authn
	if s, ok := currentSession(c); ok {
		if err := a.accounts.DeleteSession(c.Request.Context(), s.TokenHash); err != nil {
			h.fail(c, err)
			return
		}
		p, _ := principal(c)
		h.log.Info("logged out", "username", p.Username)
	}
	a.clearCookie(c)
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusSeeOther, web.LoginPath+"?lang="+request(c).Lang+"&out=1")
}

// sessionPrincipal returns the principal when it is a person's session;
// otherwise it answers 403 (an API token has no password).
func (h *handler) sessionPrincipal(c *gin.Context) (auth.Principal, store.Session, bool) {
	p, _ := principal(c)
	s, ok := currentSession(c)
	if !ok || p.Via != auth.ViaSession {
		h.deny(c, fmt.Errorf("password change with an API token: %w", errForbidden))
		return auth.Principal{}, store.Session{}, false
	}
	return p, s, true
}

func (h *handler) passwordPage(c *gin.Context) {
	if _, _, ok := h.sessionPrincipal(c); !ok {
		return
	}
	r := request(c)
	h.writeStaffPage(c, http.StatusOK, func(b *strings.Builder) error { return h.pages.Password(b, r, web.PasswordPage{}) })
}

// changePassword lets a person change their own password, given the
// current one; their other sessions end.
func (h *handler) changePassword(c *gin.Context) {
	p, s, ok := h.sessionPrincipal(c)
	if !ok {
		return
	}
	a := h.authn
	ctx := c.Request.Context()
	limitBody(c)
	current, password, confirm := c.PostForm("current"), c.PostForm("password"), c.PostForm("confirm")
	r := request(c)
	show := func(status int, d web.PasswordPage) {
		h.writeStaffPage(c, status, func(b *strings.Builder) error { return h.pages.Password(b, r, d) })
	}
	// Guessing the current password with a stolen session is limited as
	// logins are.
	if wait := a.byUser.Attempt(p.Username); wait > 0 {
		c.Header("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		show(http.StatusTooManyRequests, web.PasswordPage{Notice: web.Notice{Key: "login.limited1", Error: true}})
		return
	}
	_, ok, err := a.check(ctx, p.Username, current)
	if err != nil {
		h.fail(c, err)
		return
	}
	if !ok {
		show(http.StatusBadRequest, web.PasswordPage{Errors: []web.FieldError{{Field: "current", Key: "err.password.current"}}})
		return
	}
	a.byUser.Forget(p.Username)
	var errs []web.FieldError
	if fe, bad := passwordProblem("password", password, p.Username); bad {
		errs = append(errs, fe)
	} else if password != confirm {
		errs = append(errs, web.FieldError{Field: "confirm", Key: "err.password.mismatch"})
	}
	if len(errs) > 0 {
		show(http.StatusBadRequest, web.PasswordPage{Errors: errs})
		return
	}
	hash, err := a.hashPassword(ctx, password)
	if err != nil {
		h.fail(c, err)
		return
	}
	if err := a.accounts.SetPassword(ctx, p.AccountID, hash, s.TokenHash); err != nil {
		h.fail(c, err)
		return
	}
	h.log.Info("password changed", "username", p.Username)
	show(http.StatusOK, web.PasswordPage{Notice: web.Notice{Key: "password.done"}})
}

// passwordProblem applies the password policy to the form field field.
func passwordProblem(field, password, username string) (web.FieldError, bool) {
	switch err := auth.CheckPassword(password, username); {
	case err == nil:
		return web.FieldError{}, false
	case errors.Is(err, auth.ErrPasswordTooShort):
		return web.FieldError{Field: field, Key: "err.password.short", Args: []any{auth.MinPasswordLength}}, true
	case errors.Is(err, auth.ErrPasswordTooLong):
		return web.FieldError{Field: field, Key: "err.password.long", Args: []any{auth.MaxPasswordLength}}, true
	case errors.Is(err, auth.ErrPasswordIsUsername):
		return web.FieldError{Field: field, Key: "err.password.username"}, true
	default:
		return web.FieldError{Field: field, Key: "err.password.text"}, true
	}
}

// changeBy is the store.Change of a principal's write to the register:
// the role, shown publicly, and the actor (user name or "token:<name>"),
// kept private.
func changeBy(p auth.Principal, reason string) store.Change {
	return store.Change{ActorRole: string(p.Role), Actor: p.Actor(), Reason: reason}
}

// actorAttr names who made a change, in the log lines of account changes.
func actorAttr(p auth.Principal) slog.Attr { return slog.String("by", p.Actor()) }
