package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/civisens/civisens/registry/internal/auth"
)

// What EnsureAPIToken did.
const (
	TokenUnchanged = "unchanged" // the token was already there, live
	TokenCreated   = "created"   // no token had this name: created
	TokenReplaced  = "replaced"  // the name had another token: revoked, and this one created
	TokenRestored  = "restored"  // the token had been revoked: live again
)

// ErrTokenTaken is the kind of the error of EnsureAPIToken when the token
// is already another API token (another name or role).
var ErrTokenTaken = errors.New("the token is already another API token")

// EnsureAPIToken makes the token whose hash is tokenHash the one live API
// token named name, with role: created when missing, the other live tokens
// of that name revoked (the value changed), and un-revoked when it had been
// revoked (the configuration says it is wanted). It is idempotent, for the
// tokens that the configuration provides at start, such as the gateway's
// bootstrap token. It reports what it did: TokenUnchanged, TokenCreated,
// TokenReplaced or TokenRestored.
func (s *Store) EnsureAPIToken(ctx context.Context, name string, role auth.Role, tokenHash string, at time.Time) (string, error) {
	switch {
	case name == "" || !role.ForToken():
		return "", fmt.Errorf("store: ensure API token: %w: a name and a token role", ErrInvalid)
	case len(tokenHash) != 64:
		return "", fmt.Errorf("store: ensure API token %s: %w: the token hash is required", name, ErrInvalid)
	}
	ts := authTime(at)
	did := TokenUnchanged
	err := s.write(ctx, func(tx *sql.Tx) error {
		var id int64
		var gotName, gotRole string
		var revoked sql.NullString
		err := tx.QueryRowContext(ctx, "SELECT id, name, role, revoked_at FROM api_tokens WHERE token_hash = ?", tokenHash).
			Scan(&id, &gotName, &gotRole, &revoked)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			id = 0
		case err != nil:
			return err
		case gotName != name || gotRole != string(role):
			return fmt.Errorf("%w (%q, role %s)", ErrTokenTaken, gotName, gotRole)
		case revoked.Valid:
			if _, err := tx.ExecContext(ctx, "UPDATE api_tokens SET revoked_at = NULL WHERE id = ?", id); err != nil {
				return err
			}
			did = TokenRestored
		}
		res, err := tx.ExecContext(ctx, "UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND id <> ? AND revoked_at IS NULL", ts, name, id)
		if err != nil {
			return err
		}
		if id != 0 {
			return nil
		}
		if n, _ := res.RowsAffected(); n > 0 {
			did = TokenReplaced
		} else {
			did = TokenCreated
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO api_tokens (name, token_hash, role, account_id, created_at)
			VALUES (?, ?, ?, NULL, ?)`, name, tokenHash, string(role), ts)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("store: ensure API token %s: %w", name, err)
	}
	return did, nil
}
