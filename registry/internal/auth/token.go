package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
)

// APITokenPrefix starts every API token, so that people and secret
// scanners recognise one.
const APITokenPrefix = "cvs_"

// NewToken returns 32 random bytes as unpadded base64url: 43 characters.
// It serves as session id and CSRF token.
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("new token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// NewAPIToken returns a new API token: APITokenPrefix and NewToken.
func NewAPIToken() (string, error) {
	t, err := NewToken()
	if err != nil {
		return "", err
	}
	return APITokenPrefix + t, nil
}

// HashToken returns the SHA-256 of a token in lower-case hex, the form in
// which the store keeps session ids and API tokens.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

var tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// WellFormedToken reports whether s has the shape of a NewToken token, so
// that garbage is refused before reaching the database.
func WellFormedToken(s string) bool { return tokenRE.MatchString(s) }

// WellFormedAPIToken reports whether s has the shape of a NewAPIToken token.
func WellFormedAPIToken(s string) bool {
	rest, ok := strings.CutPrefix(s, APITokenPrefix)
	return ok && WellFormedToken(rest)
}

var usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,63}$`)

// NormalizeUsername returns the form in which a user name is stored and
// compared: trimmed and in lower case.
func NormalizeUsername(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidUsername reports whether s, normalized, is a valid user name: 2 to
// 64 of a–z, 0–9, ".", "_", "-", starting with a letter or digit.
func ValidUsername(s string) bool { return usernameRE.MatchString(s) }
