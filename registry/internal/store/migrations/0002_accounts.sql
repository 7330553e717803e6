-- 0002: accounts, sessions and API tokens (package auth).
--
-- Secrets are never stored: a password as its argon2id PHC string, a
-- session id and an API token as the SHA-256 of the token (hex). Times are
-- UTC text of fixed width (2006-01-02T15:04:05.000000Z), so that they
-- compare as text. User names are stored normalized (lower case).
-- Nothing here is public: the public history of entries shows roles only.

CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE CHECK (username <> '' AND username = lower(username)),
    display_name  TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('administrator', 'technician', 'energy_manager')),
    password_hash TEXT    NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    created_at    TEXT    NOT NULL,
    disabled_at   TEXT
) STRICT;

-- Server-side sessions: a disabled account's sessions are deleted, and a
-- session is refused once idle too long or past expires_at (absolute).
CREATE TABLE sessions (
    token_hash   TEXT    PRIMARY KEY CHECK (length(token_hash) = 64),
    account_id   INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    csrf_token   TEXT    NOT NULL CHECK (csrf_token <> ''),
    created_at   TEXT    NOT NULL,
    expires_at   TEXT    NOT NULL,
    last_seen_at TEXT    NOT NULL
) STRICT;

CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- API tokens, for gateways (role gateway) and automation. account_id is
-- the administrator who created the token (NULL when created otherwise);
-- the token acts with its own role, not as that account. A revoked token
-- is kept, for the record, and refused.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL CHECK (name <> ''),
    token_hash   TEXT    NOT NULL UNIQUE CHECK (length(token_hash) = 64),
    role         TEXT    NOT NULL CHECK (role IN ('administrator', 'technician', 'energy_manager', 'gateway')),
    account_id   INTEGER REFERENCES accounts (id) ON DELETE SET NULL,
    created_at   TEXT    NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
) STRICT;
