-- 0006: a counter of the changes to the register's entries, for the
-- readers that keep the published entries in memory (package httpapi).
--
-- register_generation has one row. Every insert, update or delete of a
-- row of sensors adds one to generation and sets changed_at, in the same
-- transaction, whoever writes: the server, "registry import" running
-- beside it, or a hand-made SQL session. A reader that remembers the
-- generation it built from knows, with one cheap query, whether it is
-- still current. changed_at is UTC text of fixed width
-- (2006-01-02T15:04:05.000Z), the time of the latest change.
CREATE TABLE register_generation (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL,
    changed_at TEXT    NOT NULL
) STRICT;

INSERT INTO register_generation (id, generation, changed_at)
VALUES (1, 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

CREATE TRIGGER sensors_generation_insert
AFTER INSERT ON sensors
BEGIN
    UPDATE register_generation
    SET generation = generation + 1, changed_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE id = 1;
END;

CREATE TRIGGER sensors_generation_update
AFTER UPDATE ON sensors
BEGIN
    UPDATE register_generation
    SET generation = generation + 1, changed_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE id = 1;
END;

CREATE TRIGGER sensors_generation_delete
AFTER DELETE ON sensors
BEGIN
    UPDATE register_generation
    SET generation = generation + 1, changed_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE id = 1;
END;
