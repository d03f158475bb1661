-- Knock attempts (D2's knock queue) from every node, shipped without a
-- revision and folded into the store by the node holding the job lease.
CREATE TABLE IF NOT EXISTS adgang_knock_attempts (
    seq     BIGSERIAL PRIMARY KEY,
    attempt BYTEA NOT NULL
);
