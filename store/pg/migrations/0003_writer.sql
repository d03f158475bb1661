-- Who wrote each entry (a nonce per write), so a writer whose commit was
-- cut off can read back whether it landed.
ALTER TABLE adgang_log ADD COLUMN IF NOT EXISTS writer TEXT NOT NULL DEFAULT '';
