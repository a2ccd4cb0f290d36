-- pep module: XEP-0163 Personal Eventing nodes of each account and their items (XEP-0060 subset).
CREATE TABLE pep_nodes (
  owner          TEXT NOT NULL,              -- bare JID of the account
  node           TEXT NOT NULL,              -- node name, e.g. urn:xmpp:avatar:metadata
  access_model   TEXT NOT NULL,              -- open | presence | whitelist
  max_items      INTEGER NOT NULL,           -- items kept; the oldest beyond it are removed
  persist_items  INTEGER NOT NULL,           -- 0/1, as configured (items are always stored)
  send_last      TEXT NOT NULL,              -- never | on_sub | on_sub_and_presence
  notify_retract INTEGER NOT NULL,           -- 0/1
  notify_delete  INTEGER NOT NULL,           -- 0/1
  title          TEXT NOT NULL DEFAULT '',
  created_at     INTEGER NOT NULL,           -- ms since epoch
  PRIMARY KEY (owner, node)
) WITHOUT ROWID;

CREATE TABLE pep_items (
  owner        TEXT NOT NULL,
  node         TEXT NOT NULL,
  item_id      TEXT NOT NULL,
  payload      TEXT NOT NULL,                -- the payload element as JSON (elementToJson)
  publisher    TEXT NOT NULL,                -- bare JID that published it
  seq          INTEGER NOT NULL,             -- publication order within the server: newest is highest
  published_at INTEGER NOT NULL,             -- ms since epoch
  PRIMARY KEY (owner, node, item_id),
  FOREIGN KEY (owner, node) REFERENCES pep_nodes (owner, node) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE INDEX pep_items_by_age ON pep_items (owner, node, seq);
