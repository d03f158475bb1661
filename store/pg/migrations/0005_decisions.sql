-- The stored decision log of every node (S11): shipped by the node that
-- decided, read by every other node into its replica, so auditors see the
-- whole fleet's decisions on any node. seq orders the shipments (with an
-- overlap on reading: a sequence does not give commit order).
CREATE TABLE IF NOT EXISTS adgang_decisions (
    seq         BIGSERIAL PRIMARY KEY,
    decision_id TEXT NOT NULL UNIQUE,
    decided_at  TIMESTAMPTZ NOT NULL,
    record      BYTEA NOT NULL
);
CREATE INDEX IF NOT EXISTS adgang_decisions_at ON adgang_decisions (decided_at);
