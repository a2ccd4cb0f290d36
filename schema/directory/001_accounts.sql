-- The directory module's memory of who had an address (modules/directory/store.ts).
-- One row per JID localpart ever given to a directory person. 'active': the person may use it.
-- 'retired': the person was deprovisioned (entry gone, disabled, out of the required group); the
-- address stays theirs and is refused to any other directory entry until an administrator
-- releases it (which deletes the row). The same entry (same entry_id) coming back reactivates it.
CREATE TABLE directory_accounts (
  local       TEXT PRIMARY KEY,              -- prepared JID localpart (RFC 7622), on every served domain
  entry_id    TEXT NOT NULL,                 -- stable id of the directory entry (entryUUID / objectGUID), hex
  dn          TEXT NOT NULL,                 -- the entry's DN when last seen
  state       TEXT NOT NULL CHECK (state IN ('active', 'retired')),
  reason      TEXT,                          -- why it was retired
  first_seen  INTEGER NOT NULL,              -- ms since epoch
  changed_at  INTEGER NOT NULL               -- last change of state or DN, ms since epoch
);
CREATE INDEX directory_accounts_state ON directory_accounts (state);
