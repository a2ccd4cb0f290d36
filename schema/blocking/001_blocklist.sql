-- XEP-0191 block lists: one row per blocked JID of an account. A blocked JID is stored prepared
-- (RFC 7622) in one of the four forms of XEP-0191 section 4: user@domain/resource, user@domain,
-- domain/resource or domain.
CREATE TABLE blocklist (
  owner       TEXT NOT NULL,             -- the blocking account's bare JID
  jid         TEXT NOT NULL,             -- the blocked JID
  created_at  INTEGER NOT NULL,          -- ms since epoch; the list is returned in this order
  PRIMARY KEY (owner, jid)
) WITHOUT ROWID;
