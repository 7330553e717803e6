-- 0001: the register's entries and their history.
--
-- sensors holds the current version of each entry: the columns that lists
-- filter on, and the whole entry as registryapi.Sensor JSON in document.
-- sensor_versions holds every version ever written, with who (role and
-- actor), when and why; it is append-only. The credentials of the next
-- migrations reference sensors(id) in the same way.

CREATE TABLE sensors (
    id         TEXT    PRIMARY KEY,
    status     TEXT    NOT NULL CHECK (status IN ('draft', 'active', 'maintenance', 'retired')),
    category   TEXT    NOT NULL,
    version    INTEGER NOT NULL CHECK (version >= 1),
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL,
    document   TEXT    NOT NULL CHECK (json_valid(document))
) STRICT;

CREATE INDEX sensors_status ON sensors (status);

CREATE TABLE sensor_versions (
    sensor_id  TEXT    NOT NULL REFERENCES sensors (id) ON DELETE RESTRICT,
    version    INTEGER NOT NULL CHECK (version >= 1),
    document   TEXT    NOT NULL CHECK (json_valid(document)),
    changed_at TEXT    NOT NULL,
    actor_role TEXT    NOT NULL CHECK (actor_role <> ''),
    actor      TEXT    NOT NULL,
    reason     TEXT    NOT NULL CHECK (reason <> ''),
    summary    TEXT    NOT NULL,
    PRIMARY KEY (sensor_id, version)
) STRICT;

CREATE TRIGGER sensor_versions_append_only_update
BEFORE UPDATE ON sensor_versions
BEGIN
    SELECT RAISE(ABORT, 'sensor_versions is append-only');
END;

CREATE TRIGGER sensor_versions_append_only_delete
BEFORE DELETE ON sensor_versions
BEGIN
    SELECT RAISE(ABORT, 'sensor_versions is append-only');
END;
