-- 0004: MQTT credentials and firmware bridges (package provision).
--
-- mqtt_credentials holds the one live MQTT account of a sensor (username
-- = the sensor id) or of a firmware bridge (username = "bridge." + its
-- id): the bcrypt hash of its password, never the password, which is shown
-- once when issued. Rotating replaces the hash in place (rotated_at), so
-- that the old password stops working at once; revoking sets revoked_at.
-- issued_by names who issued or rotated it (a user name or
-- "token:<name>"): private, like the actor of a version. Times are UTC text
-- of fixed width (2006-01-02T15:04:05.000000Z), as in 0002.
--
-- bridges are the firmware bridges (one program that publishes for several
-- sensors, e.g. a LoRaWAN network server's), registered apart from the
-- sensors; bridge_sensors lists the sensors each may publish for.
-- Nothing here is public: the gateway reads it, with a gateway token,
-- through GET /api/v1/gateway/allowlist.

CREATE TABLE bridges (
    id         TEXT PRIMARY KEY CHECK (id <> ''),
    name       TEXT NOT NULL CHECK (name <> ''),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    retired_at TEXT
) STRICT;

CREATE TABLE bridge_sensors (
    bridge_id   TEXT NOT NULL REFERENCES bridges (id) ON DELETE CASCADE,
    sensor_id   TEXT NOT NULL REFERENCES sensors (id) ON DELETE RESTRICT,
    assigned_at TEXT NOT NULL,
    PRIMARY KEY (bridge_id, sensor_id)
) STRICT;

CREATE INDEX bridge_sensors_sensor ON bridge_sensors (sensor_id);

CREATE TABLE mqtt_credentials (
    username   TEXT PRIMARY KEY CHECK (username <> ''),
    sensor_id  TEXT UNIQUE REFERENCES sensors (id) ON DELETE RESTRICT,
    bridge_id  TEXT UNIQUE REFERENCES bridges (id) ON DELETE RESTRICT,
    hash       TEXT NOT NULL CHECK (hash LIKE '$2_$%'),
    issued_by  TEXT NOT NULL,
    created_at TEXT NOT NULL,
    rotated_at TEXT,
    revoked_at TEXT,
    CHECK ((sensor_id IS NULL) <> (bridge_id IS NULL))
) STRICT;
