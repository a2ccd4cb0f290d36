import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { SCHEMA_ROOT } from '../../server/paths.js';
import { applyMigrations, openDatabaseFile } from '../../server/storage/database.js';

/**
 * A real archive database file with the archive module's schema, in a temporary folder (or the
 * given file), for unit tests of the archive's parts without a server.
 */
export function openArchiveDb(file?: string): { db: Database.Database; file: string; dir: string } {
  const target = file ?? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'parley-archive-')), 'archive.db');
  const db = openDatabaseFile(target);
  applyMigrations(db, path.join(SCHEMA_ROOT, 'archive', 'records'), 'archive/records');
  return { db, file: target, dir: path.dirname(target) };
}
