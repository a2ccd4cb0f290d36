import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { SCHEMA_ROOT } from '../../server/paths.js';
import { applyMigrations, openDatabaseFile } from '../../server/storage/database.js';
import type { RecordInput } from '../../modules/archive/record.js';
import { indexFileOf, openIndex } from '../../modules/archive/derived.js';

/**
 * A real archive database file with the archive module's schema, in a temporary folder (or the
 * given file), with its index file attached, for unit tests of the archive's parts without a server.
 */
export function openArchiveDb(file?: string): { db: Database.Database; file: string; dir: string } {
  const target = file ?? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'parley-archive-')), 'archive.db');
  const db = openDatabaseFile(target);
  applyMigrations(db, path.join(SCHEMA_ROOT, 'archive', 'records'), 'archive/records');
  const index = openDatabaseFile(indexFileOf(target));
  applyMigrations(index, path.join(SCHEMA_ROOT, 'archive', 'index'), 'archive/index');
  index.close();
  openIndex(db, target);
  return { db, file: target, dir: path.dirname(target) };
}

/** What a test says of a message; everything else gets the value capture would give. */
export type TestMessage = Partial<RecordInput> & { from: string; to: string; body: string; ts: number };

/** A record the way capture builds one: full JIDs, bare JIDs, the room for group chat. */
export function archiveMessage(m: TestMessage): RecordInput {
  const type = m.type ?? 'chat';
  const fromBare = m.from.split('/')[0]!;
  const toBare = m.to.split('/')[0]!;
  return {
    id: randomUUID(), ts: m.ts, kind: 'message', type,
    sender: m.from, sender_bare: fromBare, recipient: m.to, recipient_bare: toBare,
    room: type === 'groupchat' ? toBare : '', direction: m.direction ?? 'internal',
    outcome: m.outcome ?? 'allowed', decision: m.decision ?? '',
    body: m.body, subject: m.subject ?? '', thread: '',
    stanza: `<message from="${m.from}" to="${m.to}" type="${type}"><body>${m.body}</body></message>`,
    delivered: '', retain_until: m.retain_until ?? '', meta: '', signature: '',
  };
}
