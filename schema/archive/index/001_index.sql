-- The archive's derived tables, in a file of their own beside the records (archive.index.db next
-- to archive.db), attached to the records' connections as `ix`. They are filled from the records
-- by the indexer thread in large transactions, concurrently with the writer's appends to the
-- records file (SQLite allows one writer per file). Everything here except `shown = 0` can be
-- rebuilt from the records; `shown = 0` is a user's deletion from their own history.

-- How far the tables below go: every record with seq <= indexed_upto is in them.
CREATE TABLE index_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO index_state (key, value) VALUES ('indexed_upto', 0);

-- Bare JIDs by number, so that participant rows are small integers.
CREATE TABLE jids (
  id INTEGER PRIMARY KEY,
  jid TEXT NOT NULL UNIQUE
);

-- One row per participant (sender, addressee) of a message record: e-discovery finds every
-- participant whatever they hid; MAM reads shown = 1.
CREATE TABLE parties (
  jid INTEGER NOT NULL,               -- jids.id of the participant
  seq INTEGER NOT NULL,               -- the record (records.seq in the records file)
  with_jid INTEGER NOT NULL,          -- jids.id of the other participant, 0 when there is none
  shown INTEGER NOT NULL,             -- 1: in this account's history; 0: not a local account's view,
                                      -- left out by its preferences, or deleted by the user
  PRIMARY KEY (jid, seq)
) WITHOUT ROWID;
CREATE INDEX parties_with ON parties (jid, with_jid, shown, seq);

-- Full text of bodies and subjects for e-discovery; rowid = records.seq. Contentless (the text
-- stays in the records), with deletes for purging.
CREATE VIRTUAL TABLE records_fts USING fts5 (body, subject, content = '', contentless_delete = 1);
