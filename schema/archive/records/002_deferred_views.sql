-- MAM views and the full-text index are derived from the records after the durable write, in
-- larger batches (see store.ts: indexPending). Each record keeps its views so nothing is lost if
-- the server stops before they are indexed; `indexed_upto` says how far the derived tables go.
ALTER TABLE records ADD COLUMN views TEXT NOT NULL DEFAULT '';
CREATE TABLE archive_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO archive_state (key, value) SELECT 'indexed_upto', COALESCE(MAX(seq), 0) FROM records;
