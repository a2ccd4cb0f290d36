-- One participants table with small integer keys instead of two tables keyed by JID text.
--
-- Every message record used to add two rows to user_view, two to its (owner, with_jid) index and
-- two to record_parties, each keyed by the JID's text and landing on a different page per person,
-- so an index pass rewrote thousands of pages. Now a bare JID gets a number once (jids), and each
-- participant of a record has one row in parties that serves both e-discovery (who took part,
-- whatever the user did to their history) and MAM (shown = 1: in that account's history).

CREATE TABLE jids (
  id INTEGER PRIMARY KEY,
  jid TEXT NOT NULL UNIQUE            -- a bare JID
);

CREATE TABLE parties (
  jid INTEGER NOT NULL,               -- jids.id of a participant (sender or addressee) of the record
  seq INTEGER NOT NULL,
  with_jid INTEGER NOT NULL,          -- jids.id of the other participant, 0 when there is none
  shown INTEGER NOT NULL,             -- 1: in this account's history (MAM); 0: not a local account's
                                      -- view, left out by its preferences, or deleted by the user
  PRIMARY KEY (jid, seq)
) WITHOUT ROWID;
-- A history with one contact: equal jid, with_jid and shown, in seq order, without reading the rows.
CREATE INDEX parties_with ON parties (jid, with_jid, shown, seq);

INSERT OR IGNORE INTO jids (jid)
  SELECT sender_bare FROM records WHERE kind = 'message' AND sender_bare <> ''
  UNION SELECT recipient_bare FROM records WHERE kind = 'message' AND recipient_bare <> '';

INSERT OR IGNORE INTO parties (jid, seq, with_jid, shown)
  SELECT js.id, r.seq, COALESCE(jr.id, 0),
         EXISTS (SELECT 1 FROM user_view uv WHERE uv.owner = r.sender_bare AND uv.seq = r.seq)
  FROM records r JOIN jids js ON js.jid = r.sender_bare LEFT JOIN jids jr ON jr.jid = r.recipient_bare
  WHERE r.kind = 'message' AND r.seq <= (SELECT value FROM archive_state WHERE key = 'indexed_upto');
INSERT OR IGNORE INTO parties (jid, seq, with_jid, shown)
  SELECT jr.id, r.seq, COALESCE(js.id, 0),
         EXISTS (SELECT 1 FROM user_view uv WHERE uv.owner = r.recipient_bare AND uv.seq = r.seq)
  FROM records r JOIN jids jr ON jr.jid = r.recipient_bare LEFT JOIN jids js ON js.jid = r.sender_bare
  WHERE r.kind = 'message' AND r.seq <= (SELECT value FROM archive_state WHERE key = 'indexed_upto');

DROP TABLE user_view;
DROP TABLE record_parties;
