-- Side effects of decisions from every node (login times, knock attempts,
-- password failures), shipped without a revision and folded into the store by the
-- node holding the job lease; kind says which.
CREATE TABLE IF NOT EXISTS adgang_events (
    seq  BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    body BYTEA NOT NULL
);
CREATE INDEX IF NOT EXISTS adgang_events_kind ON adgang_events (kind, seq);
