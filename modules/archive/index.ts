import path from 'node:path';
import {
  defineModule, Jid, LogThrottle, Stage, type AuditEvent, type Element, type StanzaEvent,
} from '../../server/api/index.js';
import { buildRecord, carriesContent, type CaptureFacts } from './capture.js';
import { indexFileOf, openIndex } from './derived.js';
import { archiveConfig, parseSize } from './config.js';
import { setupDisclaimer } from './disclaimer.js';
import { historyBounds, hideFromHistory, queryHistory } from './history.js';
import { retentionRule } from './retention.js';
import { ArchiveCompliance } from './compliance.js';
import { Housekeeper } from './housekeeper.js';
import { ArchiveIndexer } from './indexer.js';
import { DAY_MS, dayOf } from './record.js';
import { CheckpointWriter, loadOrCreateSigner } from './signing.js';
import { ArchiveStore } from './store.js';
import { ArchiveWriter, ArchiveWriteError } from './writer.js';
import type { ArchiveService, ViewFilter } from './service.js';

const NS_SID = 'urn:xmpp:sid:0';
/** Retention and sealing run this long after start (not in a CLI run), then daily. */
const HOUSEKEEPING_DELAY_MS = 60 * 1000;
/** At most one error line per this interval while the archive cannot write. */
const FAILURE_LOG_INTERVAL_MS = 10 * 1000;

export default defineModule({
  name: 'archive',
  description: 'Compliance archive: every message with content recorded before delivery in a signed hash chain, with retention, legal hold, sealing, e-discovery search and export, and an access log.',
  xeps: [{ xep: 359, version: '0.7.0', status: 'complete', note: 'stanza-id stamped on delivered messages; ids of other servers that claim to be ours are removed' }],
  config: archiveConfig,
  provides: ['archive', 'compliance'],
  uses: ['directory'],
  async setup(ctx) {
    const cfg = ctx.config;
    const file = path.resolve(ctx.storage.dataDir, cfg.path);
    const db = ctx.storage.open(file, 'records');
    // The derived tables (participants, MAM views, full text) are in a file of their own
    // (derived.ts). Opening it through the host applies its schema; the threads and this
    // connection attach it, and this one stays open (idle) until the module unloads.
    ctx.storage.open(indexFileOf(file), 'index');
    openIndex(db, file);
    const store = new ArchiveStore(db);
    const indexer = new ArchiveIndexer({ file, busyTimeoutMs: cfg.busy_timeout });
    const signingKey = path.resolve(ctx.storage.dataDir, cfg.signing_key);
    const signer = loadOrCreateSigner(signingKey);
    const checkpointFile = path.resolve(ctx.storage.dataDir, cfg.checkpoints.file);
    const checkpoints = new CheckpointWriter(checkpointFile, signer, cfg.checkpoints.syslog);
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const failOpen = cfg.on_failure === 'fail_open';
    if (failOpen) ctx.log.warn('the archive fails OPEN: messages are delivered even when they cannot be recorded (not for regulated deployments)');

    const directory = ctx.services.find('directory');
    if (!directory && (cfg.compliance.groups.length > 0 || Object.keys(cfg.retention.groups).length > 0)) {
      throw new Error('compliance.groups and retention.groups name directory groups: enable the directory module');
    }
    const retainUntil = retentionRule(cfg.retention, directory);
    const viewFilters: ViewFilter[] = [];

    // ---- capture (DESIGN.md step 6: once per stanza, after policy, before routing) ----------

    const failureLog = new LogThrottle(FAILURE_LOG_INTERVAL_MS);
    const reportFailure = (err: ArchiveWriteError, entries: number) => {
      const failures = failureLog.note(entries);
      if (failures === 0) return;
      ctx.log.error({ code: err.code, err: err.message, failuresSinceLastLine: failures },
        failOpen ? 'ARCHIVE NOT WRITING: messages are delivered WITHOUT a record (fail_open)' : 'archive cannot write; messages are refused until it can');
    };
    const writer = new ArchiveWriter({
      file,
      busyTimeoutMs: cfg.busy_timeout,
      maxPageCount: cfg.max_size ? Math.max(1, Math.floor(parseSize(cfg.max_size) / pageSize)) : null,
    }, store.head(), { failOpen, onFailure: reportFailure });

    /** Facts about the addressee; at once when it is online (nearly always under load), else from the accounts. */
    const recipientFacts = (event: StanzaEvent): CaptureFacts | Promise<CaptureFacts> => {
      const to = event.to;
      const online = to.local ? ctx.sessions.ofAccount(to.bare) : [];
      if (online.length > 0) return { recipientIsAccount: true, partner: event.origin?.kind === 'partner' || online[0]!.kind === 'partner' };
      return offlineFacts(event);
    };
    const offlineFacts = async (event: StanzaEvent): Promise<CaptureFacts> => {
      const to = event.to;
      const recipientIsAccount = to.local !== '' && ctx.accounts.isLocalDomain(to.domain) && await ctx.accounts.exists(to.bareJid());
      const recipientKind = recipientIsAccount ? await ctx.accounts.kindOf(to.bareJid()) : undefined;
      return { recipientIsAccount, partner: event.origin?.kind === 'partner' || recipientKind === 'partner' };
    };

    /** Record one message; the promise settles when the record is durable (or refused). */
    const write = (audit: AuditEvent, facts: CaptureFacts): Promise<void> => {
      const { event } = audit;
      const entry = buildRecord(audit, facts, ctx.accounts, Date.now(), retainUntil);
      if (viewFilters.length > 0) entry.views = entry.views.filter((v) => viewFilters.every((f) => f(v.owner, v.with_jid, entry.record)));
      // XEP-0359: the archive id travels with the message, so MAM and clients name it the same way.
      // Only where the recipient's history will have it (MAM preferences may leave it out).
      for (const v of entry.views) {
        if (v.owner === event.to.bare && v.owner !== event.from.bare) { stampStanzaId(event.stanza, entry.record.id, event.to.bare); break; }
      }
      return writer.append(entry);
    };
    const record = (audit: AuditEvent): Promise<void> => {
      const facts = recipientFacts(audit.event);
      return facts instanceof Promise ? facts.then((f) => write(audit, f)) : write(audit, facts);
    };

    ctx.events.on('stanza/audit', (audit) => {
      const { event } = audit;
      if (event.kind !== 'message' || event.type === 'error' || !carriesContent(event.stanza)) return;
      return record(audit);
    }, { failClosed: true });

    // XEP-0359 section 5: a stanza-id claiming to be from this server or its accounts is a forgery.
    ctx.hooks.on('stanza/in', (event) => {
      if (event.kind !== 'message') return;
      stripForgedStanzaIds(event.stanza, (by) => ctx.accounts.isLocalDomain(Jid.tryParse(by)?.domain ?? ''));
    }, { stage: Stage.GUARD });
    ctx.disco.addFeature(NS_SID, 'account');

    // ---- chain head: checkpoints and shutdown ----------------------------------------------

    const checkpoint = () => {
      try {
        checkpoints.write(writer.head);
      } catch (err) {
        ctx.log.error({ err, file: checkpointFile }, 'could not write an archive checkpoint');
      }
    };
    ctx.timers.every(cfg.checkpoints.interval, checkpoint);
    ctx.events.on('server/stopping', async () => {
      await writer.drain();
      checkpoint();
      await writer.stop();
      await indexer.stop();
    });
    ctx.onUnload(() => { void writer.stop(); void indexer.stop(); });

    // ---- services -----------------------------------------------------------------------

    const segmentsDir = path.resolve(ctx.storage.dataDir, cfg.segments.dir);
    const housekeeper = new Housekeeper({ file, busyTimeoutMs: cfg.busy_timeout, signingKey, segmentsDir });
    ctx.onUnload(() => { void housekeeper.stop(); });
    const compliance = new ArchiveCompliance({
      store, housekeeper, publicKey: signer.publicKey, checkpointFile, segmentsDir,
      readers: cfg.compliance.readers, groups: cfg.compliance.groups, directory,
      domain: ctx.accounts.domains[0]!, log: ctx.log,
      afterWrite: checkpoint,
    });
    ctx.services.provide('compliance', compliance);

    const service: ArchiveService = {
      setViewFilter(fn) {
        viewFilters.push(fn);
        return () => { const i = viewFilters.indexOf(fn); if (i >= 0) viewFilters.splice(i, 1); };
      },
      // The indexer thread keeps the views up to date; a reader waits for it to catch up first.
      history: async (q) => { await indexer.catchUp(); return queryHistory(db, q); },
      historyBounds: async (owner) => { await indexer.catchUp(); return historyBounds(db, owner); },
      hideFromHistory: async (owner, filter) => { await indexer.catchUp(); return hideFromHistory(db, owner, filter); },
      record: (id) => store.byId(id),
    };
    ctx.services.provide('archive', service);

    // ---- housekeeping: sealing and retention ---------------------------------------------

    const housekeeping = async () => {
      // Days are sealed when they have been closed for a whole day, so a record still queued at
      // midnight (or stamped by a clock that stepped back) cannot land after its day's seal.
      if (cfg.segments.auto_seal) await compliance.seal('system:archive', { before: dayOf(Date.now() - DAY_MS) });
      if (cfg.retention.purge) await compliance.purge('system:archive', { requireSealed: cfg.segments.auto_seal });
    };
    ctx.timers.after(HOUSEKEEPING_DELAY_MS, async () => {
      ctx.timers.every(DAY_MS, housekeeping);
      await housekeeping();
    });
    ctx.events.on('server/stopping', () => housekeeper.stop());

    setupDisclaimer(ctx, cfg.disclaimer);
    await Promise.all([writer.start(), indexer.start()]);
  },
});

function stampStanzaId(stanza: Element, id: string, by: string): void {
  stanza.c('stanza-id', { xmlns: NS_SID, id, by });
}

function stripForgedStanzaIds(stanza: Element, ours: (by: string) => boolean): void {
  stanza.children = stanza.children.filter((c) => typeof c === 'string' || !(c.name === 'stanza-id' && c.attrs.xmlns === NS_SID && ours(c.attrs.by ?? '')));
}
