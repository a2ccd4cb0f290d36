import path from 'node:path';
import type Database from 'better-sqlite3';

/**
 * The archive's derived tables (participants with the users' MAM views, full text) live in a file
 * of their own next to the records: archive.db's are in archive.index.db. SQLite lets one
 * connection at a time write a file, so with both in one file every index pass held up the
 * writer's appends, which messages wait for; in two files the indexer thread fills the index in
 * large transactions (each index page written once for thousands of records) while the writer
 * appends. Connections that read both attach the index as `ix`; table names are unique across
 * the two files, so queries name them without a schema.
 */
export const INDEX_SCHEMA = 'ix';

/** The index file of a records file: archive.db -> archive.index.db. */
export function indexFileOf(recordsFile: string): string {
  const ext = path.extname(recordsFile);
  return ext === '' ? `${recordsFile}.index.db` : `${recordsFile.slice(0, -ext.length)}.index${ext}`;
}

/**
 * Attach the index file to a connection of the records file and move the derived tables of an
 * archive written before the split into it. The index file's schema (schema/archive/index/) must
 * be applied first (the module opens it with ctx.storage.open(file, 'index')); run once per
 * process, before any thread attaches: migrations are not safe to race.
 */
export function openIndex(db: Database.Database, recordsFile: string): void {
  attachIndex(db, recordsFile);
  moveDerivedTables(db);
}

/**
 * Attach the (prepared) index file to a connection of the records file. `synchronous` is the
 * index's: FULL where users' deletions are written, NORMAL for the indexer (a lost index
 * transaction is redone from the records, and indexed_upto goes back with it).
 */
export function attachIndex(db: Database.Database, recordsFile: string, synchronous: 'FULL' | 'NORMAL' = 'FULL'): void {
  db.prepare(`ATTACH DATABASE ? AS ${INDEX_SCHEMA}`).run(indexFileOf(recordsFile));
  db.pragma(`${INDEX_SCHEMA}.synchronous = ${synchronous}`);
}

/**
 * An archive from before the split has jids, parties and records_fts in the records file. Copy
 * participants (with the users' deletions) into the index, rebuild the full text there, then drop
 * the old tables: two transactions, the copy first, so a stop in between only means the copy is
 * made again at the next start.
 */
function moveDerivedTables(db: Database.Database): void {
  const has = (name: string) => db.prepare("SELECT 1 FROM main.sqlite_master WHERE name = ?").get(name) !== undefined;
  if (!has('parties')) return;
  const upto = db.prepare("SELECT value FROM main.archive_state WHERE key = 'indexed_upto'").pluck().get() as number | undefined ?? 0;
  db.transaction(() => {
    db.exec(`DELETE FROM ix.parties; DELETE FROM ix.jids; DELETE FROM ix.records_fts;
      INSERT INTO ix.jids (id, jid) SELECT id, jid FROM main.jids;
      INSERT INTO ix.parties (jid, seq, with_jid, shown) SELECT jid, seq, with_jid, shown FROM main.parties;`);
    db.prepare(`INSERT INTO ix.records_fts (rowid, body, subject) SELECT seq, body, subject FROM main.records
      WHERE seq <= ? AND kind = 'message' AND (body <> '' OR subject <> '')`).run(upto);
    db.prepare("UPDATE ix.index_state SET value = ? WHERE key = 'indexed_upto'").run(upto);
  }).immediate();
  db.transaction(() => {
    db.exec('DROP TABLE main.records_fts; DROP TABLE main.parties; DROP TABLE main.jids;');
    db.exec("DELETE FROM main.archive_state WHERE key = 'indexed_upto'");
  }).immediate();
}
