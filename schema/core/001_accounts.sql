-- Local accounts (service accounts, partners, small deployments). Passwords are never stored:
-- only SCRAM credentials (RFC 5802), for SHA-1 and SHA-256, from one salt.
CREATE TABLE accounts (
  jid              TEXT PRIMARY KEY,            -- bare JID, prepared (RFC 7622)
  localpart        TEXT NOT NULL,
  domain           TEXT NOT NULL,
  salt             BLOB NOT NULL,
  iterations       INTEGER NOT NULL CHECK (iterations >= 4096),
  sha1_stored_key  BLOB NOT NULL,
  sha1_server_key  BLOB NOT NULL,
  sha256_stored_key BLOB NOT NULL,
  sha256_server_key BLOB NOT NULL,
  disabled_reason  TEXT,                        -- NULL while the account may log in
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX accounts_domain ON accounts(domain);

-- Per-account key/value data for modules that need no table of their own (ctx.storage.keyValue).
CREATE TABLE module_kv (
  module  TEXT NOT NULL,
  store   TEXT NOT NULL,
  owner   TEXT NOT NULL,
  key     TEXT NOT NULL,
  value   TEXT NOT NULL,                        -- JSON
  PRIMARY KEY (module, store, owner, key)
) WITHOUT ROWID;
