-- The compliance archive: its own SQLite file (see modules/archive/README.md).

-- One row per archived message, and the chain's own entries (purge, seal). seq is the position
-- in the hash chain: 1, 2, 3 ... without reuse; a gap is only legitimate when a signed purge
-- record accounts for it.
CREATE TABLE records (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,            -- stable id, also the XEP-0359 stanza-id and the MAM id
  ts INTEGER NOT NULL,                -- capture time, ms since the epoch (server clock)
  day TEXT NOT NULL,                  -- UTC day of ts, YYYY-MM-DD: the unit of sealing and purging
  kind TEXT NOT NULL,                 -- 'message', or the chain's own 'purge' and 'seal'
  type TEXT NOT NULL DEFAULT '',      -- chat, normal, groupchat, headline
  sender TEXT NOT NULL DEFAULT '',    -- full JID as stamped by the server
  sender_bare TEXT NOT NULL DEFAULT '',
  recipient TEXT NOT NULL DEFAULT '', -- the 'to' as addressed
  recipient_bare TEXT NOT NULL DEFAULT '',
  room TEXT NOT NULL DEFAULT '',      -- the room's bare JID for group chat
  direction TEXT NOT NULL DEFAULT '', -- internal, external, partner
  outcome TEXT NOT NULL DEFAULT '',   -- allowed, rewritten, blocked, dropped
  decision TEXT NOT NULL DEFAULT '',  -- JSON: why policy blocked, dropped or rewrote it
  body TEXT NOT NULL DEFAULT '',
  subject TEXT NOT NULL DEFAULT '',
  thread TEXT NOT NULL DEFAULT '',
  stanza TEXT NOT NULL DEFAULT '',    -- the stanza as the sender sent it (XML)
  delivered TEXT NOT NULL DEFAULT '', -- the stanza as delivered, when policy rewrote it
  retain_until TEXT NOT NULL DEFAULT '', -- first UTC day on which the record may be purged; '' = never
  meta TEXT NOT NULL DEFAULT '',      -- JSON for purge and seal entries
  signature TEXT NOT NULL DEFAULT '', -- Ed25519 signature (base64) of purge and seal entries
  prev_hash TEXT NOT NULL,            -- hex SHA-256 of the previous entry ('' x 64 zeros for the first)
  hash TEXT NOT NULL                  -- hex SHA-256 over prev_hash and the canonical form of this entry
);
CREATE INDEX records_day ON records (day, seq);
CREATE INDEX records_sender ON records (sender_bare, seq);
CREATE INDEX records_recipient ON records (recipient_bare, seq);
CREATE INDEX records_room ON records (room, seq) WHERE room <> '';

-- Full-text index of bodies and subjects for e-discovery search.
CREATE VIRTUAL TABLE records_fts USING fts5 (body, subject, content = 'records', content_rowid = 'seq');

-- What each account sees of the archive through MAM (XEP-0313): one row per local participant of
-- a message. User preferences and user deletions change only this table, never the records.
CREATE TABLE user_view (
  owner TEXT NOT NULL,                -- the account's bare JID
  seq INTEGER NOT NULL,
  with_jid TEXT NOT NULL,             -- the other party's bare JID
  PRIMARY KEY (owner, seq)
) WITHOUT ROWID;
CREATE INDEX user_view_with ON user_view (owner, with_jid, seq);

-- Legal holds: while a hold is active, nothing it covers is purged.
CREATE TABLE holds (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,                 -- the case or matter
  jids TEXT NOT NULL,                 -- JSON array of bare JIDs (people or rooms) it covers
  start_ts INTEGER,                   -- covered time range, ms; NULL = open
  end_ts INTEGER,
  reason TEXT NOT NULL DEFAULT '',
  placed_by TEXT NOT NULL,
  placed_at INTEGER NOT NULL,
  released_by TEXT,
  released_at INTEGER
);

-- Days sealed into segment files.
CREATE TABLE segments (
  day TEXT PRIMARY KEY,
  file TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  first_seq INTEGER NOT NULL,
  last_seq INTEGER NOT NULL,
  count INTEGER NOT NULL,
  sealed_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Who read the archive: every search, export, hold and refusal, chained like the records.
CREATE TABLE access_log (
  seq INTEGER PRIMARY KEY,
  ts INTEGER NOT NULL,
  actor TEXT NOT NULL,                -- bare JID, or os:<user> for the operator of the CLI
  action TEXT NOT NULL,               -- search, export, hold, release, verify, seal, purge
  params TEXT NOT NULL,               -- JSON
  result TEXT NOT NULL,               -- allowed, refused, failed
  detail TEXT NOT NULL DEFAULT '',    -- JSON: counts, files, why refused
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
