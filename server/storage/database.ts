import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

/**
 * Open (creating if needed) the server's SQLite database in WAL mode.
 * synchronous=FULL: a message the server acknowledged must survive a power cut, not only a crash.
 */
export function openDatabase(dataDir: string): Database.Database {
  return openDatabaseFile(path.join(dataDir, 'parley.db'));
}

/** Open (creating it and its folder if needed) one SQLite file with the server's settings. */
export function openDatabaseFile(file: string): Database.Database {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    scope TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL, applied_at INTEGER NOT NULL,
    PRIMARY KEY (scope, version)) WITHOUT ROWID`);
  return db;
}

export interface AppliedMigration { scope: string; version: number; name: string }

/**
 * Apply the `NNN_name.sql` files in `dir` not yet recorded for `scope`, each in its own
 * transaction, in version order. A missing folder means the scope has no tables.
 */
export function applyMigrations(db: Database.Database, dir: string, scope: string): AppliedMigration[] {
  if (!fs.existsSync(dir)) return [];
  const done = new Set(
    (db.prepare('SELECT version FROM schema_migrations WHERE scope = ?').all(scope) as { version: number }[]).map((r) => r.version),
  );
  const files = fs.readdirSync(dir).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
  const applied: AppliedMigration[] = [];
  const record = db.prepare('INSERT INTO schema_migrations (scope, version, name, applied_at) VALUES (?, ?, ?, ?)');
  for (const file of files) {
    const version = Number.parseInt(file, 10);
    if (done.has(version)) continue;
    const sql = fs.readFileSync(path.join(dir, file), 'utf8');
    const name = file.replace(/^\d+_/, '').replace(/\.sql$/, '');
    db.transaction(() => {
      db.exec(sql);
      record.run(scope, version, name, Date.now());
    })();
    applied.push({ scope, version, name });
  }
  return applied;
}
