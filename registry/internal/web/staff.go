package web

import (
	"io"
	"strconv"
	"sync"
	"time"
)

// Paths of the staff pages (package httpapi serves them).
const (
	LoginPath    = "/login"
	LogoutPath   = "/logout"
	AccountsPath = "/admin/accounts"
	TokensPath   = "/admin/tokens"
	PasswordPath = "/account/password"
)

// CSRFField is the name of the hidden form field that carries a session's
// CSRF token. Every form of a page renders it with {{template "csrf" $}}
// ($ being the page), which is empty when nobody is signed in.
const CSRFField = "csrf_token"

// Staff roles, as package auth names them; web only shows them.
const (
	staffAdministrator = "administrator"
	staffTechnician    = "technician"
)

var messages = sync.OnceValue(catalogue)

// Message returns the catalogue's message key in lang ("fr" or "en"; other
// values give French), formatted with args: the wording of problem bodies
// in the request's language.
func Message(lang, key string, args ...any) string {
	if lang != LangEN {
		lang = LangFR
	}
	return localizer{lang: lang, msgs: messages()[lang]}.T(key, args...)
}

// Notice is a message of the catalogue shown at the top of a staff page.
type Notice struct {
	Key   string // empty: no notice
	Args  []any
	Error bool // an error, rather than the confirmation of an action
}

// FieldError is a problem with one form field, as a catalogue message.
type FieldError struct {
	Field string // the form field's name
	Key   string
	Args  []any
}

type noticeView struct {
	Text  string
	Error bool
}

func (l localizer) notice(n Notice) *noticeView {
	if n.Key == "" {
		return nil
	}
	return &noticeView{Text: l.T(n.Key, n.Args...), Error: n.Error}
}

// fieldErrors returns the messages by field name, for the templates.
func (l localizer) fieldErrors(errs []FieldError) map[string]string {
	m := map[string]string{}
	for _, e := range errs {
		if _, ok := m[e.Field]; !ok {
			m[e.Field] = l.T(e.Key, e.Args...)
		}
	}
	return m
}

// roleName names a role of package auth for staff pages.
func (l localizer) roleName(role string) string {
	if l.has("rolename." + role) {
		return l.T("rolename." + role)
	}
	return role
}

type option struct {
	Value, Label string
	Selected     bool
}

func (l localizer) roleOptions(roles []string, selected string) []option {
	out := make([]option, len(roles))
	for i, r := range roles {
		out[i] = option{Value: r, Label: l.roleName(r), Selected: r == selected}
	}
	return out
}

// staffView is the layout's part for a signed-in person.
type staffView struct {
	Role     string
	Admin    bool
	Accounts string
	Tokens   string
	Password string
	Logout   string
	// Reports and Quality link the pages of reports.go and quality.go;
	// Quality is empty for the roles that may not read it.
	Reports string
	Quality string
	// Sensors links the technicians' provisioning pages (provision.go);
	// empty for the roles that may not provision.
	Sensors string
}

// LoginPage is the data of the login page.
type LoginPage struct {
	Next     string // where to go after logging in; a local path
	Username string // as typed, when the login failed
	Notice   Notice
}

type loginView struct {
	Action   string
	Next     string
	Username string
	Notice   *noticeView
}

// Login renders the login form.
func (p *Pages) Login(w io.Writer, r Request, d LoginPage) error {
	l := p.localizer(r.Lang)
	return p.render(w, "login", r, l.T("login.title")+" – "+l.T("site.title"), loginView{
		Action:   l.link(LoginPath),
		Next:     d.Next,
		Username: d.Username,
		Notice:   l.notice(d.Notice),
	})
}

// Denied renders the page of a refused request (403, 429): key is the
// catalogue message that says why.
func (p *Pages) Denied(w io.Writer, r Request, key string, args ...any) error {
	l := p.localizer(r.Lang)
	return p.render(w, "denied", r, l.T("denied.title")+" – "+l.T("site.title"), l.T(key, args...))
}

// Account is one account on the accounts page.
type Account struct {
	ID          int64
	Username    string
	DisplayName string
	Role        string
	CreatedAt   time.Time
	DisabledAt  *time.Time
	Self        bool // the account of the person viewing the page
}

// AccountForm is what the creation form holds.
type AccountForm struct{ Username, DisplayName, Role string }

// AccountsPage is the data of the accounts page.
type AccountsPage struct {
	Accounts []Account
	Roles    []string // the roles an account may take
	Form     AccountForm
	Errors   []FieldError
	Notice   Notice
	// Secret is a password just generated for SecretFor, shown once.
	Secret, SecretFor string
}

type accountRow struct {
	ID          int64
	Username    string
	DisplayName string
	Role        string
	Created     string
	CreatedISO  string
	State       string
	Disabled    bool
	Self        bool
	Roles       []option
	RoleAction  string
	StateAction string
	ResetAction string
}

type accountsView struct {
	Rows      []accountRow
	Action    string
	Form      AccountForm
	Roles     []option
	Errs      map[string]string
	Notice    *noticeView
	Secret    string
	SecretFor string
	MinLength int
}

// MinPasswordLength is shown in the forms' help; package auth enforces it
// (a test of package httpapi checks that both agree).
const MinPasswordLength = 12

// Accounts renders the accounts page.
func (p *Pages) Accounts(w io.Writer, r Request, d AccountsPage) error {
	l := p.localizer(r.Lang)
	v := accountsView{
		Action:    l.link(AccountsPath),
		Form:      d.Form,
		Roles:     l.roleOptions(d.Roles, d.Form.Role),
		Errs:      l.fieldErrors(d.Errors),
		Notice:    l.notice(d.Notice),
		Secret:    d.Secret,
		SecretFor: d.SecretFor,
		MinLength: MinPasswordLength,
	}
	for _, a := range d.Accounts {
		row := accountRow{
			ID:          a.ID,
			Username:    a.Username,
			DisplayName: a.DisplayName,
			Role:        l.roleName(a.Role),
			Created:     l.Date(a.CreatedAt.In(p.loc)),
			CreatedISO:  a.CreatedAt.UTC().Format(time.RFC3339),
			State:       l.T("accounts.active"),
			Disabled:    a.DisabledAt != nil,
			Self:        a.Self,
			Roles:       l.roleOptions(d.Roles, a.Role),
			RoleAction:  l.link(AccountPath(a.ID, "role")),
			ResetAction: l.link(AccountPath(a.ID, "password")),
			StateAction: l.link(AccountPath(a.ID, "disable")),
		}
		if a.DisabledAt != nil {
			row.State = l.T("accounts.disabled", l.Date(a.DisabledAt.In(p.loc)))
			row.StateAction = l.link(AccountPath(a.ID, "enable"))
		}
		v.Rows = append(v.Rows, row)
	}
	return p.render(w, "accounts", r, l.T("accounts.title")+" – "+l.T("site.title"), v)
}

// AccountPath is the path of an action on an account: "role", "disable",
// "enable" or "password".
func AccountPath(id int64, action string) string {
	return AccountsPath + "/" + strconv.FormatInt(id, 10) + "/" + action
}

// TokenPath is the path of an action on an API token: "revoke".
func TokenPath(id int64, action string) string {
	return TokensPath + "/" + strconv.FormatInt(id, 10) + "/" + action
}

// Token is one API token on the tokens page.
type Token struct {
	ID         int64
	Name       string
	Role       string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// TokenForm is what the creation form holds.
type TokenForm struct{ Name, Role string }

// TokensPage is the data of the API tokens page.
type TokensPage struct {
	Tokens []Token
	Roles  []string // the roles a token may take
	Form   TokenForm
	Errors []FieldError
	Notice Notice
	// Secret is a token just created, named SecretFor, shown once.
	Secret, SecretFor string
}

type tokenRow struct {
	ID           int64
	Name         string
	Role         string
	Created      string
	CreatedISO   string
	Used         string
	State        string
	Revoked      bool
	RevokeAction string
}

type tokensView struct {
	Rows      []tokenRow
	Action    string
	Form      TokenForm
	Roles     []option
	Errs      map[string]string
	Notice    *noticeView
	Secret    string
	SecretFor string
}

// Tokens renders the API tokens page.
func (p *Pages) Tokens(w io.Writer, r Request, d TokensPage) error {
	l := p.localizer(r.Lang)
	v := tokensView{
		Action:    l.link(TokensPath),
		Form:      d.Form,
		Roles:     l.roleOptions(d.Roles, d.Form.Role),
		Errs:      l.fieldErrors(d.Errors),
		Notice:    l.notice(d.Notice),
		Secret:    d.Secret,
		SecretFor: d.SecretFor,
	}
	for _, t := range d.Tokens {
		row := tokenRow{
			ID:           t.ID,
			Name:         t.Name,
			Role:         l.roleName(t.Role),
			Created:      l.Date(t.CreatedAt.In(p.loc)),
			CreatedISO:   t.CreatedAt.UTC().Format(time.RFC3339),
			Used:         l.T("tokens.never"),
			State:        l.T("tokens.active"),
			Revoked:      t.RevokedAt != nil,
			RevokeAction: l.link(TokenPath(t.ID, "revoke")),
		}
		if t.LastUsedAt != nil {
			row.Used = l.DateTime(t.LastUsedAt.In(p.loc))
		}
		if t.RevokedAt != nil {
			row.State = l.T("tokens.revoked", l.Date(t.RevokedAt.In(p.loc)))
		}
		v.Rows = append(v.Rows, row)
	}
	return p.render(w, "tokens", r, l.T("tokens.title")+" – "+l.T("site.title"), v)
}

// PasswordPage is the data of the page where people change their password.
type PasswordPage struct {
	Errors []FieldError
	Notice Notice
}

type passwordView struct {
	Action    string
	Errs      map[string]string
	Notice    *noticeView
	MinLength int
}

// Password renders the page where a signed-in person changes their
// password.
func (p *Pages) Password(w io.Writer, r Request, d PasswordPage) error {
	l := p.localizer(r.Lang)
	return p.render(w, "password", r, l.T("password.title")+" – "+l.T("site.title"), passwordView{
		Action:    l.link(PasswordPath),
		Errs:      l.fieldErrors(d.Errors),
		Notice:    l.notice(d.Notice),
		MinLength: MinPasswordLength,
	})
}

// staff returns the layout's part for the person signed in, if any.
func (l localizer) staff(r Request) *staffView {
	if r.Role == "" {
		return nil
	}
	v := &staffView{
		Role:     l.T("staff.signedin", l.roleName(r.Role)),
		Admin:    r.Role == staffAdministrator,
		Accounts: l.link(AccountsPath),
		Tokens:   l.link(TokensPath),
		Password: l.link(PasswordPath),
		Logout:   l.link(LogoutPath),
		Reports:  l.link(AdminReportsPath),
	}
	if r.Role == staffAdministrator || r.Role == staffTechnician {
		v.Quality = l.link(QualityPath)
		v.Sensors = l.link(StaffSensorsPath)
	}
	return v
}
