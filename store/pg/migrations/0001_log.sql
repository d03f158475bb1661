-- The fleet's system of record: the ordered log of committed writes, the
-- state they add up to (for snapshots), and fleet-wide settings.
-- Plain SQL that CockroachDB accepts too (no advisory locks, no triggers).
CREATE TABLE IF NOT EXISTS adgang_meta (
    name  TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE IF NOT EXISTS adgang_log (
    revision   BIGINT PRIMARY KEY,
    ops        BYTEA NOT NULL,
    changes    BYTEA NOT NULL,
    written_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS adgang_kv (
    key      BYTEA PRIMARY KEY,
    value    BYTEA NOT NULL,
    revision BIGINT NOT NULL
);
