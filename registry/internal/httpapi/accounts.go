package httpapi

// Accounts and API tokens, managed by administrators: the pages
// /admin/accounts and /admin/tokens, and the same as JSON under
// /api/v1/accounts and /api/v1/tokens. Each action is one function below,
// used by both the page and the JSON handler.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/civisens/civisens/registry/internal/auth"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/internal/web"
	"github.com/civisens/civisens/registry/registryapi"
)

// Paths of the JSON API of accounts and tokens (administrators only).
const (
	pathAccounts = "/api/v1/accounts"
	pathTokens   = "/api/v1/tokens"
)

// invalidFields is an input refused field by field, as catalogue
// messages; it is a store.ErrInvalid (400).
type invalidFields []web.FieldError

func (f invalidFields) Error() string {
	names := make([]string, len(f))
	for i, e := range f {
		names[i] = e.Field
	}
	return "invalid " + strings.Join(names, ", ")
}

func (f invalidFields) Is(target error) bool { return target == store.ErrInvalid }

// failJSON answers err as a problem body, with each bad field's message in
// the request's language.
func (h *handler) failJSON(c *gin.Context, err error) {
	var fields invalidFields
	if !errors.As(err, &fields) {
		h.fail(c, err)
		return
	}
	p := problemFor(err)
	lang := request(c).Lang
	for _, f := range fields {
		p.Errors = append(p.Errors, registryapi.FieldError{Field: f.Field, Message: web.Message(lang, f.Key, f.Args...)})
	}
	writeProblem(c, p)
}

// checkName checks a display name or token name.
func checkName(field, s string, required bool) (string, *web.FieldError) {
	s = strings.TrimSpace(s)
	switch {
	case required && s == "":
		return s, &web.FieldError{Field: field, Key: "err.name.required"}
	case !utf8.ValidString(s) || utf8.RuneCountInString(s) > store.MaxNameLength || strings.ContainsFunc(s, unicode.IsControl):
		return s, &web.FieldError{Field: field, Key: "err.name", Args: []any{store.MaxNameLength}}
	}
	return s, nil
}

// accountInput is a new account, from the form or JSON.
type accountInput struct {
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Role        string `json:"role"`
	// Password is the initial password; empty: one is generated and
	// answered once.
	Password string `json:"password"`
}

// createAccount creates an account; generated is the password when it was
// generated.
func (h *handler) createAccount(ctx context.Context, by auth.Principal, in accountInput) (acc store.Account, generated string, err error) {
	var errs invalidFields
	username := auth.NormalizeUsername(in.Username)
	if !auth.ValidUsername(username) {
		errs = append(errs, web.FieldError{Field: "username", Key: "err.username"})
	}
	display, fe := checkName("display_name", in.DisplayName, false)
	if fe != nil {
		errs = append(errs, *fe)
	}
	role := auth.Role(in.Role)
	if !role.ForAccount() {
		errs = append(errs, web.FieldError{Field: "role", Key: "err.role"})
	}
	password := in.Password
	if password == "" {
		if generated, err = auth.GeneratePassword(); err != nil {
			return store.Account{}, "", err
		}
		password = generated
	} else if fe, bad := passwordProblem("password", password, username); bad {
		errs = append(errs, fe)
	}
	if len(errs) > 0 {
		return store.Account{}, "", errs
	}
	hash, err := h.authn.hashPassword(ctx, password)
	if err != nil {
		return store.Account{}, "", err
	}
	acc, err = h.authn.accounts.CreateAccount(ctx, store.Account{
		Username: username, DisplayName: display, Role: role, PasswordHash: hash, CreatedAt: h.authn.now(),
	})
	if err != nil {
		return store.Account{}, "", err
	}
	h.log.Info("account created", "account", acc, actorAttr(by))
	return acc, generated, nil
}

// setRole gives an account another role; administrators cannot change
// their own (nor can the last administrator lose it: the store refuses).
func (h *handler) setRole(ctx context.Context, by auth.Principal, id int64, role string) error {
	if id == by.AccountID {
		return errSelf
	}
	r := auth.Role(role)
	if !r.ForAccount() {
		return invalidFields{{Field: "role", Key: "err.role"}}
	}
	if err := h.authn.accounts.SetRole(ctx, id, r); err != nil {
		return err
	}
	h.log.Info("account role changed", "id", id, "role", r, actorAttr(by))
	return nil
}

// setDisabled disables an account (ending its sessions) or enables it.
func (h *handler) setDisabled(ctx context.Context, by auth.Principal, id int64, disabled bool) error {
	if id == by.AccountID {
		return errSelf
	}
	if err := h.authn.accounts.SetDisabled(ctx, id, disabled, h.authn.now()); err != nil {
		return err
	}
	h.log.Info("account state changed", "id", id, "disabled", disabled, actorAttr(by))
	return nil
}

// resetPassword gives an account a new generated password, ending its
// sessions, and returns it.
func (h *handler) resetPassword(ctx context.Context, by auth.Principal, id int64) (store.Account, string, error) {
	if id == by.AccountID {
		return store.Account{}, "", errSelf
	}
	acc, err := h.authn.accounts.AccountByID(ctx, id)
	if err != nil {
		return store.Account{}, "", err
	}
	password, err := auth.GeneratePassword()
	if err != nil {
		return store.Account{}, "", err
	}
	hash, err := h.authn.hashPassword(ctx, password)
	if err != nil {
		return store.Account{}, "", err
	}
	if err := h.authn.accounts.SetPassword(ctx, id, hash, ""); err != nil {
		return store.Account{}, "", err
	}
	h.log.Info("account password reset", "account", acc, actorAttr(by))
	return acc, password, nil
}

// tokenInput is a new API token, from the form or JSON.
type tokenInput struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// createToken creates an API token and returns it with its secret, which
// is never stored nor shown again.
func (h *handler) createToken(ctx context.Context, by auth.Principal, in tokenInput) (store.APIToken, string, error) {
	var errs invalidFields
	name, fe := checkName("name", in.Name, true)
	if fe != nil {
		errs = append(errs, *fe)
	}
	role := auth.Role(in.Role)
	if !role.ForToken() {
		errs = append(errs, web.FieldError{Field: "role", Key: "err.role"})
	}
	if len(errs) > 0 {
		return store.APIToken{}, "", errs
	}
	secret, err := auth.NewAPIToken()
	if err != nil {
		return store.APIToken{}, "", err
	}
	t, err := h.authn.accounts.CreateAPIToken(ctx, store.APIToken{
		Name: name, TokenHash: auth.HashToken(secret), Role: role, CreatedBy: by.AccountID, CreatedAt: h.authn.now(),
	})
	if err != nil {
		return store.APIToken{}, "", err
	}
	h.log.Info("API token created", "token", t, actorAttr(by))
	return t, secret, nil
}

func (h *handler) revokeToken(ctx context.Context, by auth.Principal, id int64) error {
	if err := h.authn.accounts.RevokeAPIToken(ctx, id, h.authn.now()); err != nil {
		return err
	}
	h.log.Info("API token revoked", "id", id, actorAttr(by))
	return nil
}

func roleStrings(roles []auth.Role) []string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = string(r)
	}
	return out
}

// idParam reads the :id of a path; a malformed one is notFound.
func idParam(c *gin.Context, notFound error) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("id %q: %w", c.Param("id"), notFound)
	}
	return id, nil
}

// --- Pages ---

// Confirmations of the actions that redirect to the accounts or tokens
// page, by the value of its "done" parameter.
var doneNotices = map[string]string{
	"role":     "accounts.done.role",
	"disabled": "accounts.done.disabled",
	"enabled":  "accounts.done.enabled",
	"revoked":  "tokens.done.revoked",
}

func (h *handler) showAccounts(c *gin.Context, status int, d web.AccountsPage) {
	accs, err := h.authn.accounts.ListAccounts(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	me, _ := principal(c)
	for _, a := range accs {
		d.Accounts = append(d.Accounts, web.Account{
			ID: a.ID, Username: a.Username, DisplayName: a.DisplayName, Role: string(a.Role),
			CreatedAt: a.CreatedAt, DisabledAt: a.DisabledAt, Self: a.ID == me.AccountID,
		})
	}
	d.Roles = roleStrings(auth.AccountRoles())
	if d.Form.Role == "" {
		d.Form.Role = string(auth.RoleTechnician)
	}
	if key, ok := doneNotices[c.Query("done")]; ok && d.Notice.Key == "" {
		d.Notice = web.Notice{Key: key}
	}
	r := request(c)
	h.writeStaffPage(c, status, func(b *strings.Builder) error { return h.pages.Accounts(b, r, d) })
}

func (h *handler) accountsPage(c *gin.Context) { h.showAccounts(c, http.StatusOK, web.AccountsPage{}) }

func (h *handler) accountsCreate(c *gin.Context) {
	limitBody(c)
	in := accountInput{
		Username:    c.PostForm("username"),
		DisplayName: c.PostForm("display_name"),
		Role:        c.PostForm("role"),
		Password:    c.PostForm("password"),
	}
	me, _ := principal(c)
	acc, generated, err := h.createAccount(c.Request.Context(), me, in)
	form := web.AccountForm{Username: in.Username, DisplayName: in.DisplayName, Role: in.Role}
	var fields invalidFields
	switch {
	case errors.As(err, &fields):
		h.showAccounts(c, http.StatusBadRequest, web.AccountsPage{Form: form, Errors: fields})
	case errors.Is(err, store.ErrAccountExists):
		h.showAccounts(c, http.StatusConflict, web.AccountsPage{Form: form,
			Errors: []web.FieldError{{Field: "username", Key: "err.username.taken"}}})
	case err != nil:
		h.fail(c, err)
	default:
		h.showAccounts(c, http.StatusCreated, web.AccountsPage{
			Notice: web.Notice{Key: "accounts.done.created", Args: []any{acc.Username}},
			Secret: generated, SecretFor: acc.Username,
		})
	}
}

// accountsAction runs one action of the accounts page on one account.
func (h *handler) accountsAction(c *gin.Context) {
	id, err := idParam(c, store.ErrNoAccount)
	if err != nil {
		h.fail(c, err)
		return
	}
	limitBody(c)
	ctx := c.Request.Context()
	me, _ := principal(c)
	done := ""
	switch c.Param("action") {
	case "role":
		err, done = h.setRole(ctx, me, id, c.PostForm("role")), "role"
	case "disable":
		err, done = h.setDisabled(ctx, me, id, true), "disabled"
	case "enable":
		err, done = h.setDisabled(ctx, me, id, false), "enabled"
	case "password":
		acc, password, err := h.resetPassword(ctx, me, id)
		if err == nil {
			h.showAccounts(c, http.StatusOK, web.AccountsPage{
				Notice: web.Notice{Key: "accounts.done.reset", Args: []any{acc.Username}},
				Secret: password, SecretFor: acc.Username,
			})
			return
		}
		h.accountsRefused(c, err)
		return
	default:
		h.fail(c, errNoRoute)
		return
	}
	if err != nil {
		h.accountsRefused(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, web.AccountsPath+"?lang="+request(c).Lang+"&done="+done)
}

// accountsRefused shows the accounts page with why an action was refused.
func (h *handler) accountsRefused(c *gin.Context, err error) {
	key := ""
	switch {
	case errors.Is(err, errSelf):
		key = "err.self"
	case errors.Is(err, store.ErrLastAdministrator):
		key = "err.last_admin"
	case errors.Is(err, store.ErrInvalid):
		key = "err.role"
	default:
		h.fail(c, err)
		return
	}
	h.showAccounts(c, problemFor(err).Status, web.AccountsPage{Notice: web.Notice{Key: key, Error: true}})
}

func (h *handler) showTokens(c *gin.Context, status int, d web.TokensPage) {
	toks, err := h.authn.accounts.ListAPITokens(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	for _, t := range toks {
		d.Tokens = append(d.Tokens, web.Token{
			ID: t.ID, Name: t.Name, Role: string(t.Role),
			CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt, RevokedAt: t.RevokedAt,
		})
	}
	d.Roles = roleStrings(auth.TokenRoles())
	if d.Form.Role == "" {
		d.Form.Role = string(auth.RoleGateway)
	}
	if key, ok := doneNotices[c.Query("done")]; ok && d.Notice.Key == "" {
		d.Notice = web.Notice{Key: key}
	}
	r := request(c)
	h.writeStaffPage(c, status, func(b *strings.Builder) error { return h.pages.Tokens(b, r, d) })
}

func (h *handler) tokensPage(c *gin.Context) { h.showTokens(c, http.StatusOK, web.TokensPage{}) }

func (h *handler) tokensCreate(c *gin.Context) {
	limitBody(c)
	in := tokenInput{Name: c.PostForm("name"), Role: c.PostForm("role")}
	me, _ := principal(c)
	t, secret, err := h.createToken(c.Request.Context(), me, in)
	var fields invalidFields
	switch {
	case errors.As(err, &fields):
		h.showTokens(c, http.StatusBadRequest, web.TokensPage{Form: web.TokenForm(in), Errors: fields})
	case err != nil:
		h.fail(c, err)
	default:
		h.showTokens(c, http.StatusCreated, web.TokensPage{Secret: secret, SecretFor: t.Name})
	}
}

func (h *handler) tokensRevoke(c *gin.Context) {
	id, err := idParam(c, store.ErrNoToken)
	if err == nil {
		me, _ := principal(c)
		err = h.revokeToken(c.Request.Context(), me, id)
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, web.TokensPath+"?lang="+request(c).Lang+"&done=revoked")
}

// --- JSON ---

// accountJSON is an account in the JSON API; never its password hash.
type accountJSON struct {
	ID          int64      `json:"id"`
	Username    string     `json:"username"`
	DisplayName string     `json:"display_name"`
	Role        auth.Role  `json:"role"`
	CreatedAt   time.Time  `json:"created_at"`
	DisabledAt  *time.Time `json:"disabled_at,omitempty"`
}

func toAccountJSON(a store.Account) accountJSON {
	return accountJSON{ID: a.ID, Username: a.Username, DisplayName: a.DisplayName, Role: a.Role,
		CreatedAt: a.CreatedAt.UTC(), DisabledAt: a.DisabledAt}
}

// tokenJSON is an API token in the JSON API; never its hash.
type tokenJSON struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Role       auth.Role  `json:"role"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

func toTokenJSON(t store.APIToken) tokenJSON {
	return tokenJSON{ID: t.ID, Name: t.Name, Role: t.Role, CreatedAt: t.CreatedAt.UTC(),
		LastUsedAt: t.LastUsedAt, RevokedAt: t.RevokedAt}
}

// writeStaffJSON answers v as JSON that no cache may keep.
func writeStaffJSON(c *gin.Context, status int, v any) {
	c.Header("Cache-Control", "no-store")
	c.JSON(status, v)
}

// decodeJSON reads a JSON body into v, strictly: unknown fields and
// trailing data are refused.
func decodeJSON(c *gin.Context, v any) error {
	limitBody(c)
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("trailing data after the JSON value")
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return err
	}
	if err != nil {
		return fmt.Errorf("%w: %v", invalidFields{{Field: "body", Key: "err.json"}}, err)
	}
	return nil
}

func (h *handler) apiAccounts(c *gin.Context) {
	accs, err := h.authn.accounts.ListAccounts(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	out := struct {
		Accounts []accountJSON `json:"accounts"`
	}{Accounts: []accountJSON{}}
	for _, a := range accs {
		out.Accounts = append(out.Accounts, toAccountJSON(a))
	}
	writeStaffJSON(c, http.StatusOK, out)
}

func (h *handler) apiAccount(c *gin.Context) {
	id, err := idParam(c, store.ErrNoAccount)
	if err != nil {
		h.fail(c, err)
		return
	}
	a, err := h.authn.accounts.AccountByID(c.Request.Context(), id)
	if err != nil {
		h.fail(c, err)
		return
	}
	writeStaffJSON(c, http.StatusOK, toAccountJSON(a))
}

func (h *handler) apiAccountCreate(c *gin.Context) {
	var in accountInput
	if err := decodeJSON(c, &in); err != nil {
		h.failJSON(c, err)
		return
	}
	me, _ := principal(c)
	acc, generated, err := h.createAccount(c.Request.Context(), me, in)
	if err != nil {
		h.failJSON(c, err)
		return
	}
	c.Header("Location", pathAccounts+"/"+strconv.FormatInt(acc.ID, 10))
	writeStaffJSON(c, http.StatusCreated, struct {
		Account accountJSON `json:"account"`
		// Password is set when it was generated: shown this once.
		Password string `json:"password,omitempty"`
	}{toAccountJSON(acc), generated})
}

// apiAccountPatch changes an account's role and/or disables or enables it.
func (h *handler) apiAccountPatch(c *gin.Context) {
	id, err := idParam(c, store.ErrNoAccount)
	if err != nil {
		h.fail(c, err)
		return
	}
	var in struct {
		Role     *string `json:"role"`
		Disabled *bool   `json:"disabled"`
	}
	if err := decodeJSON(c, &in); err != nil {
		h.failJSON(c, err)
		return
	}
	ctx := c.Request.Context()
	me, _ := principal(c)
	if _, err := h.authn.accounts.AccountByID(ctx, id); err != nil {
		h.fail(c, err)
		return
	}
	if in.Role != nil {
		if err := h.setRole(ctx, me, id, *in.Role); err != nil {
			h.failJSON(c, err)
			return
		}
	}
	if in.Disabled != nil {
		if err := h.setDisabled(ctx, me, id, *in.Disabled); err != nil {
			h.failJSON(c, err)
			return
		}
	}
	a, err := h.authn.accounts.AccountByID(ctx, id)
	if err != nil {
		h.fail(c, err)
		return
	}
	writeStaffJSON(c, http.StatusOK, toAccountJSON(a))
}

func (h *handler) apiTokens(c *gin.Context) {
	toks, err := h.authn.accounts.ListAPITokens(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	out := struct {
		Tokens []tokenJSON `json:"tokens"`
	}{Tokens: []tokenJSON{}}
	for _, t := range toks {
		out.Tokens = append(out.Tokens, toTokenJSON(t))
	}
	writeStaffJSON(c, http.StatusOK, out)
}

func (h *handler) apiTokenCreate(c *gin.Context) {
	var in tokenInput
	if err := decodeJSON(c, &in); err != nil {
		h.failJSON(c, err)
		return
	}
	me, _ := principal(c)
	t, secret, err := h.createToken(c.Request.Context(), me, in)
	if err != nil {
		h.failJSON(c, err)
		return
	}
	c.Header("Location", pathTokens+"/"+strconv.FormatInt(t.ID, 10))
	writeStaffJSON(c, http.StatusCreated, struct {
		Token tokenJSON `json:"token"`
		// Secret is the token itself, shown this once: send it as
		// "Authorization: Bearer <secret>".
		Secret string `json:"secret"`
	}{toTokenJSON(t), secret})
}

func (h *handler) apiTokenRevoke(c *gin.Context) {
	id, err := idParam(c, store.ErrNoToken)
	if err == nil {
		me, _ := principal(c)
		err = h.revokeToken(c.Request.Context(), me, id)
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Status(http.StatusNoContent)
}
