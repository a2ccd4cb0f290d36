-- vcard module: the vCard each account stored itself (XEP-0054), with the avatar hash of its
-- PHOTO (XEP-0153) computed once at store time so that logins need not decode the image.
CREATE TABLE vcard (
  jid        TEXT PRIMARY KEY,          -- bare JID of the owner
  vcard      TEXT NOT NULL,             -- the <vCard/> element as JSON: [name, attrs, ...children]
  photo_hash TEXT NOT NULL DEFAULT '',  -- hex SHA-1 of the stored PHOTO's image bytes; '' for none
  updated_at INTEGER NOT NULL           -- ms since epoch
) WITHOUT ROWID;
