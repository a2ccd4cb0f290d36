-- XEP-0160 offline storage: messages that no resource of the recipient could take, kept until the
-- recipient sends non-negative available presence. One row per message and recipient account.
CREATE TABLE offline_messages (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,  -- delivery order; never reused
  owner        TEXT NOT NULL,                      -- recipient's bare JID
  sender       TEXT NOT NULL,                      -- the stanza's 'from' (full JID)
  stored_at    INTEGER NOT NULL,                   -- ms since epoch; becomes the XEP-0203 stamp
  stanza_json  TEXT NOT NULL                       -- the stanza as JSON [name, attrs, ...children]
);
CREATE INDEX offline_messages_owner ON offline_messages(owner, id);
CREATE INDEX offline_messages_stored_at ON offline_messages(stored_at);
