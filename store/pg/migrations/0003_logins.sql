-- Last-login times from every node of a fleet: bookkeeping for the
-- lifecycle jobs (L1, L9), shipped by each node without a revision and
-- folded into the user records by the node that runs the jobs.
CREATE TABLE IF NOT EXISTS adgang_logins (
    user_id    TEXT PRIMARY KEY,
    last_login TIMESTAMPTZ NOT NULL,
    shipped_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS adgang_logins_shipped ON adgang_logins (shipped_at);
