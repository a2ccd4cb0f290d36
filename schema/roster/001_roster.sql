-- RFC 6121 section 2: rosters. One row per contact in a user's roster. The user edits name and
-- groups (roster set); the server alone manages subscription, ask and approved (section 3).
CREATE TABLE roster_items (
  owner        TEXT NOT NULL,                  -- bare JID of the roster's user, prepared (RFC 7622)
  contact      TEXT NOT NULL,                  -- the item's JID, prepared (normally a bare JID)
  name         TEXT,                           -- the user's handle for the contact, NULL when none
  subscription TEXT NOT NULL DEFAULT 'none' CHECK (subscription IN ('none', 'to', 'from', 'both')),
  ask          INTEGER NOT NULL DEFAULT 0 CHECK (ask IN (0, 1)),       -- pending out: ask='subscribe'
  approved     INTEGER NOT NULL DEFAULT 0 CHECK (approved IN (0, 1)),  -- pre-approved (RFC 6121 3.4)
  groups       TEXT NOT NULL DEFAULT '[]',     -- JSON array of group names, in the user's order
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  PRIMARY KEY (owner, contact)
) WITHOUT ROWID;
-- Who has a given JID in their roster (account deletion, shared groups).
CREATE INDEX roster_items_contact ON roster_items (contact);

-- Inbound subscription requests the user has not answered yet ("Pending In", RFC 6121 3.1.3).
-- Kept apart from roster_items: a request does not put the requester in the roster, and it is
-- redelivered at each login until the user approves or denies it.
CREATE TABLE roster_pending_in (
  owner       TEXT NOT NULL,                   -- bare JID of the user who was asked
  contact     TEXT NOT NULL,                   -- bare JID of the requester
  stanza      TEXT NOT NULL,                   -- the request as received (JSON element tree: status, nick ...)
  received_at INTEGER NOT NULL,
  PRIMARY KEY (owner, contact)
) WITHOUT ROWID;

-- Roster versioning (RFC 6121 2.6): one counter per user, bumped by every change.
CREATE TABLE roster_versions (
  owner   TEXT PRIMARY KEY,
  version INTEGER NOT NULL
) WITHOUT ROWID;
