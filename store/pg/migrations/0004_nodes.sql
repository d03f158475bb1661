-- The revision each node of the fleet has applied, so the log can be
-- pruned below what every live node has (a node that fell further behind
-- starts again from a snapshot).
CREATE TABLE IF NOT EXISTS adgang_nodes (
    node     TEXT PRIMARY KEY,
    applied  BIGINT NOT NULL,
    seen_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
