-- Who took part in a record, for e-discovery search by participant. Derived from the records after
-- the durable write (store.ts: indexPending) instead of two indexes on records that every write
-- had to update on a random page.
DROP INDEX records_sender;
DROP INDEX records_recipient;
CREATE TABLE record_parties (
  jid TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (jid, seq)
) WITHOUT ROWID;
INSERT OR IGNORE INTO record_parties (jid, seq) SELECT sender_bare, seq FROM records WHERE kind = 'message' AND sender_bare <> '';
INSERT OR IGNORE INTO record_parties (jid, seq) SELECT recipient_bare, seq FROM records WHERE kind = 'message' AND recipient_bare <> '';
