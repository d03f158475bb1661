-- Leases: one node of the fleet runs the background jobs (lifecycle,
-- outbox) at a time; a lease that is not renewed expires and another node
-- takes it.
CREATE TABLE IF NOT EXISTS adgang_lease (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
