package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/civisens/civisens/registry/internal/auth"
)

// Kinds of errors of accounts, sessions and API tokens.
var (
	ErrNoAccount         = errors.New("no such account")
	ErrAccountExists     = errors.New("an account with this user name already exists")
	ErrNoSession         = errors.New("no such session")
	ErrNoToken           = errors.New("no such API token")
	ErrLastAdministrator = errors.New("the last active administrator cannot be disabled or lose the role")
)

// authTimeFormat is the fixed-width UTC format of the times of accounts,
// sessions and tokens, so that SQL compares them as text.
const authTimeFormat = "2006-01-02T15:04:05.000000Z"

func authTime(t time.Time) string { return t.UTC().Format(authTimeFormat) }

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return authTime(*t)
}

func parseAuthTime(s string) (time.Time, error) { return time.Parse(authTimeFormat, s) }

func parseNullTime(s sql.NullString) (*time.Time, error) {
	if !s.Valid {
		return nil, nil
	}
	t, err := parseAuthTime(s.String)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// Account is a person's account.
type Account struct {
	ID int64
	// Username is the login name, normalized (auth.NormalizeUsername).
	Username string
	// DisplayName is how staff pages name the person; never shown publicly.
	DisplayName string
	Role        auth.Role
	// PasswordHash is the argon2id PHC string (auth.HashPassword).
	PasswordHash string
	CreatedAt    time.Time
	// DisabledAt is when the account was disabled; nil when it is active.
	DisabledAt *time.Time
}

// Disabled reports whether the account may no longer log in.
func (a Account) Disabled() bool { return a.DisabledAt != nil }

// LogValue logs the account without its password hash.
func (a Account) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("id", a.ID), slog.String("username", a.Username),
		slog.String("role", string(a.Role)), slog.Bool("disabled", a.Disabled()))
}

// cleanName trims a free-text name and checks it: at most max characters,
// no control characters.
func cleanName(what, s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max || strings.ContainsFunc(s, unicode.IsControl) {
		return "", fmt.Errorf("%w: %s: at most %d characters of text, without control characters", ErrInvalid, what, max)
	}
	return s, nil
}

// MaxNameLength bounds display names and API token names, in characters.
const MaxNameLength = 100

// CreateAccount adds an account and returns it with its id. The user name
// is normalized; an empty display name becomes the user name; CreatedAt
// zero means now.
func (s *Store) CreateAccount(ctx context.Context, a Account) (Account, error) {
	a.Username = auth.NormalizeUsername(a.Username)
	if !auth.ValidUsername(a.Username) {
		return Account{}, fmt.Errorf("store: create account: %w: %q is not a valid user name", ErrInvalid, a.Username)
	}
	if !a.Role.ForAccount() {
		return Account{}, fmt.Errorf("store: create account %s: %w: %q is not a role for an account", a.Username, ErrInvalid, a.Role)
	}
	if !strings.HasPrefix(a.PasswordHash, "$argon2id$") {
		return Account{}, fmt.Errorf("store: create account %s: %w: the password must be an argon2id hash", a.Username, ErrInvalid)
	}
	var err error
	if a.DisplayName, err = cleanName("display name", a.DisplayName, MaxNameLength); err != nil {
		return Account{}, fmt.Errorf("store: create account %s: %w", a.Username, err)
	}
	if a.DisplayName == "" {
		a.DisplayName = a.Username
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = time.Now()
	}
	a.CreatedAt = a.CreatedAt.UTC().Truncate(time.Microsecond)
	err = s.write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM accounts WHERE username = ?", a.Username).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrAccountExists
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO accounts (username, display_name, role, password_hash, created_at, disabled_at)
			VALUES (?, ?, ?, ?, ?, ?)`, a.Username, a.DisplayName, string(a.Role), a.PasswordHash, authTime(a.CreatedAt), nullTime(a.DisabledAt))
		if err != nil {
			return err
		}
		a.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return Account{}, fmt.Errorf("store: create account %s: %w", a.Username, err)
	}
	return a, nil
}

const accountColumns = "id, username, display_name, role, password_hash, created_at, disabled_at"

type scanner interface{ Scan(dest ...any) error }

func scanAccount(r scanner) (Account, error) {
	var a Account
	var role, created string
	var disabled sql.NullString
	if err := r.Scan(&a.ID, &a.Username, &a.DisplayName, &role, &a.PasswordHash, &created, &disabled); err != nil {
		return Account{}, err
	}
	a.Role = auth.Role(role)
	var err error
	if a.CreatedAt, err = parseAuthTime(created); err != nil {
		return Account{}, fmt.Errorf("account %d: created_at: %w", a.ID, err)
	}
	if a.DisabledAt, err = parseNullTime(disabled); err != nil {
		return Account{}, fmt.Errorf("account %d: disabled_at: %w", a.ID, err)
	}
	return a, nil
}

// AccountByUsername returns the account of a user name (normalized first),
// or ErrNoAccount.
func (s *Store) AccountByUsername(ctx context.Context, username string) (Account, error) {
	username = auth.NormalizeUsername(username)
	a, err := scanAccount(s.db.QueryRowContext(ctx, "SELECT "+accountColumns+" FROM accounts WHERE username = ?", username))
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, fmt.Errorf("store: account %q: %w", username, ErrNoAccount)
	}
	if err != nil {
		return Account{}, fmt.Errorf("store: account %q: %w", username, err)
	}
	return a, nil
}

// AccountByID returns the account id, or ErrNoAccount.
func (s *Store) AccountByID(ctx context.Context, id int64) (Account, error) {
	a, err := scanAccount(s.db.QueryRowContext(ctx, "SELECT "+accountColumns+" FROM accounts WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, fmt.Errorf("store: account %d: %w", id, ErrNoAccount)
	}
	if err != nil {
		return Account{}, fmt.Errorf("store: account %d: %w", id, err)
	}
	return a, nil
}

// ListAccounts returns every account, disabled ones included, by user name.
func (s *Store) ListAccounts(ctx context.Context) ([]Account, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+accountColumns+" FROM accounts ORDER BY username")
	if err != nil {
		return nil, fmt.Errorf("store: list accounts: %w", err)
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list accounts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list accounts: %w", err)
	}
	return out, nil
}

// CountAccounts returns the number of accounts, disabled ones included.
func (s *Store) CountAccounts(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM accounts").Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count accounts: %w", err)
	}
	return n, nil
}

// changeAccount runs fn on the account id in a write transaction, after
// refusing, with ErrLastAdministrator, a change that would leave no active
// administrator: keepsAdmin says whether the account is still an active
// administrator after the change.
func (s *Store) changeAccount(ctx context.Context, id int64, keepsAdmin func(Account) bool, fn func(*sql.Tx, Account) error) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		a, err := scanAccount(tx.QueryRowContext(ctx, "SELECT "+accountColumns+" FROM accounts WHERE id = ?", id))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNoAccount
		}
		if err != nil {
			return err
		}
		if a.Role == auth.RoleAdministrator && !a.Disabled() && !keepsAdmin(a) {
			var others int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM accounts
				WHERE role = 'administrator' AND disabled_at IS NULL AND id <> ?`, id).Scan(&others); err != nil {
				return err
			}
			if others == 0 {
				return ErrLastAdministrator
			}
		}
		return fn(tx, a)
	})
}

// SetRole gives the account id a new role. Its sessions stay: the role is
// read at each request.
func (s *Store) SetRole(ctx context.Context, id int64, role auth.Role) error {
	if !role.ForAccount() {
		return fmt.Errorf("store: set role of account %d: %w: %q is not a role for an account", id, ErrInvalid, role)
	}
	err := s.changeAccount(ctx, id,
		func(Account) bool { return role == auth.RoleAdministrator },
		func(tx *sql.Tx, _ Account) error {
			_, err := tx.ExecContext(ctx, "UPDATE accounts SET role = ? WHERE id = ?", string(role), id)
			return err
		})
	if err != nil {
		return fmt.Errorf("store: set role of account %d: %w", id, err)
	}
	return nil
}

// SetDisabled disables the account id at the time at (deleting its
// sessions), or enables it again. Disabling a disabled account keeps its
// first date.
func (s *Store) SetDisabled(ctx context.Context, id int64, disabled bool, at time.Time) error {
	err := s.changeAccount(ctx, id,
		func(Account) bool { return !disabled },
		func(tx *sql.Tx, a Account) error {
			if !disabled {
				_, err := tx.ExecContext(ctx, "UPDATE accounts SET disabled_at = NULL WHERE id = ?", id)
				return err
			}
			if !a.Disabled() {
				if _, err := tx.ExecContext(ctx, "UPDATE accounts SET disabled_at = ? WHERE id = ?", authTime(at), id); err != nil {
					return err
				}
			}
			_, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE account_id = ?", id)
			return err
		})
	if err != nil {
		return fmt.Errorf("store: disable account %d: %w", id, err)
	}
	return nil
}

// SetPassword replaces the password hash of the account id and deletes its
// sessions, except the one whose hash is keepSession (the person changing
// their own password stays logged in).
func (s *Store) SetPassword(ctx context.Context, id int64, passwordHash, keepSession string) error {
	if !strings.HasPrefix(passwordHash, "$argon2id$") {
		return fmt.Errorf("store: set password of account %d: %w: the password must be an argon2id hash", id, ErrInvalid)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE accounts SET password_hash = ? WHERE id = ?", passwordHash, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNoAccount
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM sessions WHERE account_id = ? AND token_hash <> ?", id, keepSession)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: set password of account %d: %w", id, err)
	}
	return nil
}

// Session is a server-side session; the browser holds the token whose
// hash is TokenHash.
type Session struct {
	TokenHash string // auth.HashToken of the cookie's value
	AccountID int64
	// CSRFToken is the synchronizer token that every state-changing
	// request of the session must carry.
	CSRFToken  string
	CreatedAt  time.Time
	ExpiresAt  time.Time // absolute end, whatever the activity
	LastSeenAt time.Time // for the idle timeout
}

// LogValue logs the session without its secrets.
func (s Session) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("account_id", s.AccountID), slog.Time("expires_at", s.ExpiresAt))
}

// CreateSession stores a new session.
func (s *Store) CreateSession(ctx context.Context, sess Session) error {
	if len(sess.TokenHash) != 64 || sess.CSRFToken == "" || sess.AccountID == 0 {
		return fmt.Errorf("store: create session: %w: token hash, CSRF token and account are required", ErrInvalid)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO sessions (token_hash, account_id, csrf_token, created_at, expires_at, last_seen_at)
		VALUES (?, ?, ?, ?, ?, ?)`, sess.TokenHash, sess.AccountID, sess.CSRFToken,
		authTime(sess.CreatedAt), authTime(sess.ExpiresAt), authTime(sess.LastSeenAt))
	if err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	return nil
}

// SessionByTokenHash returns a session with its account, or ErrNoSession.
// It does not judge expiry or a disabled account: the caller does, with its
// clock.
func (s *Store) SessionByTokenHash(ctx context.Context, tokenHash string) (Session, Account, error) {
	row := s.db.QueryRowContext(ctx, `SELECT s.token_hash, s.account_id, s.csrf_token, s.created_at, s.expires_at, s.last_seen_at,
		a.id, a.username, a.display_name, a.role, a.password_hash, a.created_at, a.disabled_at
		FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.token_hash = ?`, tokenHash)
	var sess Session
	var created, expires, seen string
	var a Account
	var role, acreated string
	var disabled sql.NullString
	err := row.Scan(&sess.TokenHash, &sess.AccountID, &sess.CSRFToken, &created, &expires, &seen,
		&a.ID, &a.Username, &a.DisplayName, &role, &a.PasswordHash, &acreated, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, Account{}, fmt.Errorf("store: %w", ErrNoSession)
	}
	if err != nil {
		return Session{}, Account{}, fmt.Errorf("store: session: %w", err)
	}
	a.Role = auth.Role(role)
	for _, f := range []struct {
		s string
		t *time.Time
	}{{created, &sess.CreatedAt}, {expires, &sess.ExpiresAt}, {seen, &sess.LastSeenAt}, {acreated, &a.CreatedAt}} {
		if *f.t, err = parseAuthTime(f.s); err != nil {
			return Session{}, Account{}, fmt.Errorf("store: session: %w", err)
		}
	}
	if a.DisabledAt, err = parseNullTime(disabled); err != nil {
		return Session{}, Account{}, fmt.Errorf("store: session: %w", err)
	}
	return sess, a, nil
}

// TouchSession records activity on a session at the time at.
func (s *Store) TouchSession(ctx context.Context, tokenHash string, at time.Time) error {
	if _, err := s.db.ExecContext(ctx, "UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?", authTime(at), tokenHash); err != nil {
		return fmt.Errorf("store: touch session: %w", err)
	}
	return nil
}

// DeleteSession deletes a session (logout); deleting a missing one is not
// an error.
func (s *Store) DeleteSession(ctx context.Context, tokenHash string) error {
	if _, err := s.db.ExecContext(ctx, "DELETE FROM sessions WHERE token_hash = ?", tokenHash); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// PurgeSessions deletes the sessions past their absolute end at now, or
// idle for idle or longer, and returns how many it deleted.
func (s *Store) PurgeSessions(ctx context.Context, now time.Time, idle time.Duration) (int64, error) {
	res, err := s.db.ExecContext(ctx, "DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?",
		authTime(now), authTime(now.Add(-idle)))
	if err != nil {
		return 0, fmt.Errorf("store: purge sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// APIToken is an API token: a program's credential, with its own role.
type APIToken struct {
	ID        int64
	Name      string    // what it is for, e.g. "passerelle de la mairie"
	TokenHash string    // auth.HashToken of the token, which is never stored
	Role      auth.Role // one of auth.TokenRoles
	// CreatedBy is the account of the administrator who created the token;
	// 0 when created otherwise (e.g. the command line).
	CreatedBy  int64
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// Revoked reports whether the token is refused.
func (t APIToken) Revoked() bool { return t.RevokedAt != nil }

// LogValue logs the token without its hash.
func (t APIToken) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("id", t.ID), slog.String("name", t.Name),
		slog.String("role", string(t.Role)), slog.Bool("revoked", t.Revoked()))
}

// CreateAPIToken stores a new API token and returns it with its id;
// CreatedAt zero means now.
func (s *Store) CreateAPIToken(ctx context.Context, t APIToken) (APIToken, error) {
	var err error
	if t.Name, err = cleanName("token name", t.Name, MaxNameLength); err != nil {
		return APIToken{}, fmt.Errorf("store: create API token: %w", err)
	}
	switch {
	case t.Name == "":
		return APIToken{}, fmt.Errorf("store: create API token: %w: a name is required", ErrInvalid)
	case !t.Role.ForToken():
		return APIToken{}, fmt.Errorf("store: create API token: %w: %q is not a role for a token", ErrInvalid, t.Role)
	case len(t.TokenHash) != 64:
		return APIToken{}, fmt.Errorf("store: create API token: %w: the token hash is required", ErrInvalid)
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now()
	}
	t.CreatedAt = t.CreatedAt.UTC().Truncate(time.Microsecond)
	var createdBy any
	if t.CreatedBy != 0 {
		createdBy = t.CreatedBy
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO api_tokens (name, token_hash, role, account_id, created_at)
		VALUES (?, ?, ?, ?, ?)`, t.Name, t.TokenHash, string(t.Role), createdBy, authTime(t.CreatedAt))
	if err != nil {
		return APIToken{}, fmt.Errorf("store: create API token: %w", err)
	}
	if t.ID, err = res.LastInsertId(); err != nil {
		return APIToken{}, fmt.Errorf("store: create API token: %w", err)
	}
	return t, nil
}

const tokenColumns = "id, name, token_hash, role, account_id, created_at, last_used_at, revoked_at"

func scanToken(r scanner) (APIToken, error) {
	var t APIToken
	var role, created string
	var by sql.NullInt64
	var used, revoked sql.NullString
	if err := r.Scan(&t.ID, &t.Name, &t.TokenHash, &role, &by, &created, &used, &revoked); err != nil {
		return APIToken{}, err
	}
	t.Role, t.CreatedBy = auth.Role(role), by.Int64
	var err error
	if t.CreatedAt, err = parseAuthTime(created); err != nil {
		return APIToken{}, fmt.Errorf("token %d: %w", t.ID, err)
	}
	if t.LastUsedAt, err = parseNullTime(used); err != nil {
		return APIToken{}, fmt.Errorf("token %d: %w", t.ID, err)
	}
	if t.RevokedAt, err = parseNullTime(revoked); err != nil {
		return APIToken{}, fmt.Errorf("token %d: %w", t.ID, err)
	}
	return t, nil
}

// APITokenByHash returns the token whose hash is tokenHash, revoked or
// not, or ErrNoToken.
func (s *Store) APITokenByHash(ctx context.Context, tokenHash string) (APIToken, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, "SELECT "+tokenColumns+" FROM api_tokens WHERE token_hash = ?", tokenHash))
	if errors.Is(err, sql.ErrNoRows) {
		return APIToken{}, fmt.Errorf("store: %w", ErrNoToken)
	}
	if err != nil {
		return APIToken{}, fmt.Errorf("store: API token: %w", err)
	}
	return t, nil
}

// ListAPITokens returns every token, revoked ones included, oldest first.
func (s *Store) ListAPITokens(ctx context.Context) ([]APIToken, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+tokenColumns+" FROM api_tokens ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("store: list API tokens: %w", err)
	}
	defer rows.Close()
	var out []APIToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list API tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list API tokens: %w", err)
	}
	return out, nil
}

// TouchAPIToken records that the token id was used at the time at.
func (s *Store) TouchAPIToken(ctx context.Context, id int64, at time.Time) error {
	if _, err := s.db.ExecContext(ctx, "UPDATE api_tokens SET last_used_at = ? WHERE id = ?", authTime(at), id); err != nil {
		return fmt.Errorf("store: touch API token %d: %w", id, err)
	}
	return nil
}

// RevokeAPIToken revokes the token id at the time at; revoking a revoked
// token keeps its first date. An unknown id is ErrNoToken.
func (s *Store) RevokeAPIToken(ctx context.Context, id int64, at time.Time) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM api_tokens WHERE id = ?", id).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return ErrNoToken
		}
		_, err := tx.ExecContext(ctx, "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", authTime(at), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: revoke API token %d: %w", id, err)
	}
	return nil
}
