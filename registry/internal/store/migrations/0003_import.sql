-- 0003: bulk import (package importer).
--
-- import_refs ties an entry to its reference in the inventory it was
-- imported from (an asset number, a row id of the old spreadsheet), so
-- that importing the same file again finds the same entries: one
-- reference per entry, one entry per reference. It is written in the same
-- transaction as the entry's version. A reference is not public (exports
-- do not carry it), but it is no secret either.

CREATE TABLE import_refs (
    source_ref  TEXT NOT NULL PRIMARY KEY CHECK (source_ref <> ''),
    sensor_id   TEXT NOT NULL UNIQUE REFERENCES sensors (id) ON DELETE RESTRICT,
    file        TEXT NOT NULL,
    imported_at TEXT NOT NULL
) STRICT;
