import type Database from 'better-sqlite3';
import { deriveScramCredentials } from '../sasl/scram.js';
import type { ScramCredentials } from '../sasl/mechanism.js';
import { Jid } from '../xml/jid.js';
import crypto from 'node:crypto';

export interface AccountRow { jid: string; disabledReason: string | null; createdAt: number }

export class AccountExistsError extends Error {}
export class NoSuchAccountError extends Error {}

/**
 * Local accounts with SCRAM credentials only (RFC 5802 section 3): the password itself is never
 * stored, so a stolen database does not give away passwords nor let anyone log in with PLAIN.
 */
export class AccountStore {
  private readonly byJid;
  private readonly insert;
  private readonly updateCreds;
  private readonly remove;
  private readonly list;
  private readonly disable;

  constructor(private readonly db: Database.Database, private readonly iterations: number) {
    this.byJid = db.prepare('SELECT * FROM accounts WHERE jid = ?');
    this.insert = db.prepare(`INSERT INTO accounts (jid, localpart, domain, salt, iterations, sha1_stored_key,
      sha1_server_key, sha256_stored_key, sha256_server_key, created_at, updated_at)
      VALUES (@jid, @localpart, @domain, @salt, @iterations, @sha1_stored_key, @sha1_server_key,
      @sha256_stored_key, @sha256_server_key, @now, @now)`);
    this.updateCreds = db.prepare(`UPDATE accounts SET salt = @salt, iterations = @iterations,
      sha1_stored_key = @sha1_stored_key, sha1_server_key = @sha1_server_key,
      sha256_stored_key = @sha256_stored_key, sha256_server_key = @sha256_server_key, updated_at = @now WHERE jid = @jid`);
    this.remove = db.prepare('DELETE FROM accounts WHERE jid = ?');
    this.list = db.prepare('SELECT jid, disabled_reason, created_at FROM accounts WHERE (? IS NULL OR domain = ?) ORDER BY jid');
    this.disable = db.prepare('UPDATE accounts SET disabled_reason = ?, updated_at = ? WHERE jid = ?');
  }

  private credentialColumns(password: string) {
    const salt = crypto.randomBytes(16);
    const sha1 = deriveScramCredentials(password, 'SHA-1', this.iterations, salt);
    const sha256 = deriveScramCredentials(password, 'SHA-256', this.iterations, salt);
    return {
      salt, iterations: this.iterations,
      sha1_stored_key: sha1.storedKey, sha1_server_key: sha1.serverKey,
      sha256_stored_key: sha256.storedKey, sha256_server_key: sha256.serverKey,
      now: Date.now(),
    };
  }

  create(jid: Jid, password: string): void {
    if (this.byJid.get(jid.bare)) throw new AccountExistsError(`${jid.bare} already exists`);
    this.insert.run({ jid: jid.bare, localpart: jid.local, domain: jid.domain, ...this.credentialColumns(password) });
  }

  setPassword(jid: Jid, password: string): void {
    const r = this.updateCreds.run({ jid: jid.bare, ...this.credentialColumns(password) });
    if (r.changes === 0) throw new NoSuchAccountError(`${jid.bare} does not exist`);
  }

  delete(jid: Jid): void {
    const r = this.remove.run(jid.bare);
    if (r.changes === 0) throw new NoSuchAccountError(`${jid.bare} does not exist`);
  }

  setDisabled(jid: Jid, reason: string | null): void {
    const r = this.disable.run(reason, Date.now(), jid.bare);
    if (r.changes === 0) throw new NoSuchAccountError(`${jid.bare} does not exist`);
  }

  exists(bare: string): boolean {
    return this.byJid.get(bare) !== undefined;
  }

  disabledReason(bare: string): string | null {
    const row = this.byJid.get(bare) as { disabled_reason: string | null } | undefined;
    return row?.disabled_reason ?? null;
  }

  all(domain?: string): AccountRow[] {
    const rows = this.list.all(domain ?? null, domain ?? null) as { jid: string; disabled_reason: string | null; created_at: number }[];
    return rows.map((r) => ({ jid: r.jid, disabledReason: r.disabled_reason, createdAt: r.created_at }));
  }

  scramCredentials(bare: string, hash: 'SHA-1' | 'SHA-256'): ScramCredentials | null {
    const row = this.byJid.get(bare) as Record<string, Buffer | number | string | null> | undefined;
    if (!row) return null;
    const prefix = hash === 'SHA-1' ? 'sha1' : 'sha256';
    return {
      hash,
      salt: row.salt as Buffer,
      iterations: row.iterations as number,
      storedKey: row[`${prefix}_stored_key`] as Buffer,
      serverKey: row[`${prefix}_server_key`] as Buffer,
    };
  }

  /** For SASL PLAIN: recompute the SCRAM keys from the password and compare in constant time. */
  verifyPassword(bare: string, password: string): boolean {
    const stored = this.scramCredentials(bare, 'SHA-256');
    if (!stored) return false;
    const candidate = deriveScramCredentials(password, 'SHA-256', stored.iterations, stored.salt);
    return crypto.timingSafeEqual(candidate.storedKey, stored.storedKey);
  }
}
