-- 0005: citizens' reports (package reports) and what the gateways saw
-- (the register's quality page, package quality).
--
-- Times are UTC text of fixed width (2006-01-02T15:04:05.000000Z), so that
-- they compare and sort as text.
--
-- reports: one row per report. number is public (year-sequence); year and
-- seq make it, unique. sender_email, message and location are private:
-- administrators read them, the public never does.
CREATE TABLE reports (
    id            INTEGER PRIMARY KEY,
    number        TEXT    NOT NULL UNIQUE,
    year          INTEGER NOT NULL,
    seq           INTEGER NOT NULL CHECK (seq >= 1),
    kind          TEXT    NOT NULL CHECK (kind IN ('missing_sensor', 'wrong_information', 'question')),
    sensor_id     TEXT    REFERENCES sensors (id) ON DELETE RESTRICT,
    location      TEXT    NOT NULL DEFAULT '',
    lat           REAL,
    lon           REAL,
    message       TEXT    NOT NULL CHECK (message <> ''),
    sender_email  TEXT,
    lang          TEXT    NOT NULL CHECK (lang IN ('fr', 'en')),
    status        TEXT    NOT NULL CHECK (status IN ('received', 'in_progress', 'answered', 'closed')),
    public_answer TEXT    NOT NULL DEFAULT '',
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    UNIQUE (year, seq),
    CHECK ((lat IS NULL) = (lon IS NULL))
) STRICT;

CREATE INDEX reports_status ON reports (status, created_at);

-- report_events: the history of each report, append-only. actor_role is
-- public ('public' for the filing); actor (an account or token) is not.
CREATE TABLE report_events (
    report_id  INTEGER NOT NULL REFERENCES reports (id) ON DELETE RESTRICT,
    seq        INTEGER NOT NULL CHECK (seq >= 1),
    at         TEXT    NOT NULL,
    status     TEXT    NOT NULL CHECK (status IN ('received', 'in_progress', 'answered', 'closed')),
    actor_role TEXT    NOT NULL CHECK (actor_role <> ''),
    actor      TEXT    NOT NULL,
    note       TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (report_id, seq)
) STRICT;

CREATE TRIGGER report_events_append_only_update
BEFORE UPDATE ON report_events
BEGIN
    SELECT RAISE(ABORT, 'report_events is append-only');
END;

CREATE TRIGGER report_events_append_only_delete
BEFORE DELETE ON report_events
BEGIN
    SELECT RAISE(ABORT, 'report_events is append-only');
END;

-- sensor_last_seen: when each gateway last accepted a reading of each
-- sensor (POST /api/v1/gateway/seen). No foreign key: a gateway reports
-- what it saw, the quality page compares it with the register.
CREATE TABLE sensor_last_seen (
    sensor_id  TEXT NOT NULL,
    gateway_id TEXT NOT NULL,
    last_seen  TEXT NOT NULL,
    PRIMARY KEY (sensor_id, gateway_id)
) STRICT, WITHOUT ROWID;

-- unknown_seen: sensor ids that published without being in a gateway's
-- allow-list, with the number of messages refused. Bounded by the store:
-- rows unseen for 90 days go, and at most 10 000 rows stay.
CREATE TABLE unknown_seen (
    sensor_id  TEXT    NOT NULL,
    gateway_id TEXT    NOT NULL,
    count      INTEGER NOT NULL CHECK (count >= 0),
    last_seen  TEXT    NOT NULL,
    PRIMARY KEY (sensor_id, gateway_id)
) STRICT;

CREATE INDEX unknown_seen_last ON unknown_seen (last_seen);

-- gateway_reports: when each gateway last reported, and how many times.
CREATE TABLE gateway_reports (
    gateway_id  TEXT    PRIMARY KEY,
    reported_at TEXT    NOT NULL,
    reports     INTEGER NOT NULL CHECK (reports >= 1)
) STRICT;
