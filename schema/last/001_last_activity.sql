-- last module: when each account last logged out and the status it left with (XEP-0012).
CREATE TABLE last_activity (
  jid    TEXT PRIMARY KEY,        -- bare JID of the account
  at     INTEGER NOT NULL,        -- ms since epoch of the last unavailable presence or session end
  status TEXT NOT NULL DEFAULT '' -- <status/> of that unavailable presence; '' when it had none
) WITHOUT ROWID;
