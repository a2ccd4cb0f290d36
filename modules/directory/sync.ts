import type { Entry } from 'ldapts';
import { Jid, StreamError, type ModuleContext } from '../../server/api/index.js';
import type { SharedGroupsHandle, SharedPair } from '../roster/service.js';
import type { DirectoryConfig } from './config.js';
import { DirectoryUnreachable, describe } from './connection.js';
import { groupsFromEntries, groupsFromMemberOf, matchesGroup, type Group } from './groups.js';
import type { DirectoryLookups } from './lookups.js';
import type { Person, PersonMapper } from './people.js';
import type { SyncReport } from './service.js';
import { Snapshot, sameLink } from './snapshot.js';
import type { AccountStore } from './store.js';

type Ctx = Pick<ModuleContext, 'log' | 'sessions' | 'events' | 'timers' | 'accounts'>;

/** What the sync needs to tell the roster and vCard sides (attached when those modules are loaded). */
export interface SyncListeners {
  /** Look for the roster and vcard services (they may load after this module); called before each run. */
  attach(): void;
  /** The shared-roster handle of the roster service. */
  roster: SharedGroupsHandle | null;
  /** A person's directory data changed: drop cached vCards and let the vcard module recompute avatars. */
  personChanged(local: string): void;
}

/**
 * The synchronisation (DESIGN: "deprovisioning"): reads every person and group, decides who may
 * use the server, keeps the addresses table (store.ts) and the in-memory snapshot that shared
 * rosters, search and the `directory` service answer from, and ends the sessions of people who
 * were deprovisioned.
 *
 * Who may use the server: a person entry (users.list_filter) with a valid localpart, not disabled
 * (deprovision.disabled), in deprovision.required_group if set, whose address is not retired for
 * another entry. A person who was active and is now gone (deprovision.missing_entry), disabled or
 * out of the required group is retired: the address stays recorded with the entry's id, and only
 * the same entry coming back gets it again; any other entry is refused until an administrator
 * releases the address.
 */
export class Synchroniser {
  snapshot = Snapshot.empty();
  /** Localparts with an active address (exists() answers from this). */
  known = new Set<string>();
  last: SyncReport | null = null;
  private current: Promise<SyncReport> | null = null;
  private queued: Promise<SyncReport> | null = null;
  private soonTimer: { cancel(): void } | null = null;
  /** Problems already logged (an entry without a valid localpart, a refused address): once each. */
  private readonly warned = new Set<string>();
  /** Localparts claimed by several entries at once in the last run; nobody new gets them, nobody is retired for them. */
  private contested = new Set<string>();

  constructor(
    private readonly ctx: Ctx,
    private readonly config: DirectoryConfig,
    private readonly domains: readonly string[],
    private readonly lookups: DirectoryLookups,
    private readonly mapper: PersonMapper,
    private readonly store: AccountStore,
    readonly listeners: SyncListeners,
  ) {
    for (const local of store.activeLocals()) this.known.add(local);
  }

  serves(domain: string): boolean {
    return this.domains.includes(domain);
  }

  /** Run a sync now; one at a time, and a call during a sync gets the next one. */
  sync(): Promise<SyncReport> {
    if (!this.current) {
      this.current = this.run().finally(() => { this.current = null; });
      return this.current;
    }
    this.queued ??= this.current.then(() => { this.queued = null; return this.sync(); });
    return this.queued;
  }

  /** A sync in a moment (after a new person's first login), merged with others asked for meanwhile. */
  syncSoon(): void {
    if (this.soonTimer) return;
    this.soonTimer = this.ctx.timers.after(1000, async () => {
      this.soonTimer = null;
      await this.sync();
    });
  }

  /** Whether a person is in the configured required group (from the groups given). */
  inRequiredGroup(local: string, groups: Iterable<Group>): boolean {
    const required = this.config.deprovision.required_group;
    if (!required) return true;
    for (const g of groups) if (matchesGroup(g, required) && g.members.has(local)) return true;
    return false;
  }

  /** A person who logged in for the first time (or again after being re-enabled) between syncs. */
  admit(person: Person): void {
    this.store.activate(person.local, person.id, person.dn);
    this.known.add(person.local);
    this.syncSoon();
  }

  /**
   * Whether another provider (the local accounts) already has this localpart on a served domain:
   * the directory person is then ignored, so the existing account keeps its address.
   */
  async takenByOtherAccount(local: string): Promise<boolean> {
    if (this.known.has(local)) return false;
    for (const domain of this.domains) {
      const jid = Jid.tryParse(`${local}@${domain}`);
      if (jid && (await this.ctx.accounts.exists(jid))) {
        this.warnOnce(`taken:${local}`, { address: jid.bare }, 'a directory person has the address of another (local) account; the directory person is ignored');
        return true;
      }
    }
    return false;
  }

  warnOnce(key: string, fields: Record<string, unknown>, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.ctx.log.warn(fields, message);
  }

  // ---- one run ---------------------------------------------------------------------------------

  private async run(): Promise<SyncReport> {
    const started = Date.now();
    this.listeners.attach();
    let entries;
    let groupEntries;
    try {
      entries = await this.lookups.listPeople();
      groupEntries = this.config.groups.source === 'entries' ? await this.lookups.listGroups() : [];
    } catch (err) {
      // An unreachable directory is logged once by the connection's health; other failures here.
      if (!(err instanceof DirectoryUnreachable)) this.ctx.log.error({ err: describe(err) }, 'the directory sync could not read people and groups');
      return this.finish({
        ok: false, at: new Date(started), durationMs: Date.now() - started, people: 0, active: this.snapshot.people.size,
        groups: this.snapshot.groups.size, retired: [], reactivated: [], refused: [], error: describe(err),
      });
    }

    const rows = new Map(this.store.all().map((r) => [r.local, r]));
    const found = this.people(entries, rows);
    const groups = this.config.groups.source === 'entries'
      ? groupsFromEntries(groupEntries, this.config, found, this.mapper)
      : groupsFromMemberOf(found);
    const refusal = (p: Person): string | null => {
      if (p.disabled) return 'disabled in the directory';
      if (!this.inRequiredGroup(p.local, groups.values())) return `not in the group ${this.config.deprovision.required_group}`;
      return null;
    };

    let retire: { local: string; reason: string }[] = [];
    const activate: Person[] = [];
    const moved: Person[] = [];
    const reactivated: string[] = [];
    const refused: string[] = [];
    for (const [local, p] of found) {
      const row = rows.get(local);
      if (row?.state === 'active' && row.entryId !== p.id) {
        // The entry that had this address is gone and another one has it now: the first person is
        // deprovisioned and the address is not handed over.
        retire.push({ local, reason: 'the directory entry was replaced by another one' });
        refused.push(local);
        continue;
      }
      const reason = refusal(p);
      if (reason) {
        if (row?.state === 'active') retire.push({ local, reason });
        continue;
      }
      if (!row) { if (!(await this.takenByOtherAccount(local))) activate.push(p); }
      else if (row.state === 'active') { if (row.dn !== p.dn) moved.push(p); }
      else if (row.entryId === p.id) { activate.push(p); reactivated.push(local); }
      else refused.push(local);
    }
    if (this.config.deprovision.missing_entry) {
      for (const row of rows.values()) {
        if (row.state === 'active' && !found.has(row.local) && !this.contested.has(row.local)) retire.push({ local: row.local, reason: 'the directory entry is gone' });
      }
    }
    for (const local of refused) {
      this.warnOnce(`refused:${local}:${found.get(local)!.id}`, { address: local, dn: found.get(local)!.dn },
        'a directory entry asks for the address of a deprovisioned person; refused until an administrator releases it');
    }

    // Safety: a broken filter or a directory that answers half must not lock the company out.
    let error: string | undefined;
    if (retire.length > 0 && this.config.deprovision.max_per_sync === 0) {
      this.ctx.log.info({ wouldRetire: retire.map((r) => r.local) }, 'automatic deprovisioning is off (deprovision.max_per_sync: 0)');
      retire = [];
    } else if (retire.length > 0 && found.size === 0) {
      error = 'the directory listed no people at all; nobody was deprovisioned';
    } else if (retire.length > this.config.deprovision.max_per_sync) {
      error = `${retire.length} people would be deprovisioned, more than deprovision.max_per_sync (${this.config.deprovision.max_per_sync}); nobody was`;
    }
    if (error) {
      this.ctx.log.error({ wouldRetire: retire.length }, error);
      retire = [];
    }

    this.store.transaction(() => {
      for (const p of activate) this.store.activate(p.local, p.id, p.dn);
      for (const p of moved) this.store.updateDn(p.local, p.dn);
      for (const r of retire) this.store.retire(r.local, r.reason);
    });

    // The people who may use the server: eligible, and holding their address.
    const activeRows = new Map(this.store.all().filter((r) => r.state === 'active').map((r) => [r.local, r]));
    const people = new Map<string, Person>();
    for (const [local, p] of found) {
      if (activeRows.get(local)?.entryId === p.id && refusal(p) === null) people.set(local, p);
    }
    const next = new Snapshot(people, groups, this.config.shared_groups);
    await this.swap(next, new Set(activeRows.keys()));

    for (const r of retire) await this.deprovision(r.local, r.reason);
    this.endStraySessions(new Set(retire.map((r) => r.local)));
    for (const local of reactivated) this.ctx.log.info({ address: local }, 'a re-enabled directory person has their address again');

    const report: SyncReport = {
      ok: true, at: new Date(started), durationMs: Date.now() - started, people: found.size, active: people.size,
      groups: groups.size, retired: retire, reactivated, refused, ...(error ? { error } : {}),
    };
    this.ctx.log.info({ people: report.people, active: report.active, groups: report.groups, retired: retire.length, refused: refused.length, durationMs: report.durationMs },
      'directory synchronised');
    return this.finish(report);
  }

  /** People by localpart; entries without a valid localpart and contested localparts are left out (logged once). */
  private people(entries: readonly Entry[], rows: ReadonlyMap<string, { entryId: string }>): Map<string, Person> {
    const byLocal = new Map<string, Person[]>();
    for (const e of entries) {
      const p = this.mapper.toPerson(e);
      if ('problem' in p) {
        this.warnOnce(`entry:${e.dn}`, { dn: e.dn, problem: p.problem }, 'a directory entry cannot get an address');
        continue;
      }
      const list = byLocal.get(p.local);
      if (list) list.push(p); else byLocal.set(p.local, [p]);
    }
    const found = new Map<string, Person>();
    this.contested = new Set();
    for (const [local, list] of byLocal) {
      if (list.length === 1) { found.set(local, list[0]!); continue; }
      // Two entries give the same localpart: the one that holds the address keeps it, else nobody.
      const holder = list.find((p) => p.id === rows.get(local)?.entryId);
      if (holder) found.set(local, holder); else this.contested.add(local);
      this.warnOnce(`contested:${local}:${list.length}`, { address: local, dns: list.map((p) => p.dn), kept: holder?.dn ?? null },
        'several directory entries give the same address');
    }
    return found;
  }

  /**
   * Replace the snapshot. Rosters of online users whose shared contacts change are pushed (and
   * presence follows) through the roster service, which compares before and after around the swap.
   */
  private async swap(next: Snapshot, known: Set<string>): Promise<void> {
    const before = this.snapshot;
    const apply = () => {
      this.snapshot = next;
      this.known = known;
    };
    const roster = this.listeners.roster;
    const pairs = roster ? this.sharedChanges(before, next) : [];
    if (roster && pairs.length > 0) await roster.update(pairs, apply);
    else apply();
    for (const p of next.people.values()) {
      const old = before.person(p.local);
      if (old && (old.modified !== p.modified || old.name !== p.name)) this.listeners.personChanged(p.local);
    }
  }

  /** Owner/contact pairs whose shared view changes, for owners who are online (only they get pushes or presence). */
  private sharedChanges(before: Snapshot, after: Snapshot): SharedPair[] {
    const pairs: SharedPair[] = [];
    const seen = new Set<string>();
    for (const session of this.ctx.sessions.all()) {
      const owner = session.jid.bareJid();
      if (seen.has(owner.bare) || !this.serves(owner.domain)) continue;
      seen.add(owner.bare);
      const was = before.contactsOf(owner.local);
      const is = after.contactsOf(owner.local);
      for (const [local, link] of was) if (!sameLink(link, is.get(local))) pairs.push({ owner, contact: Jid.of(local, owner.domain) });
      for (const local of is.keys()) if (!was.has(local)) pairs.push({ owner, contact: Jid.of(local, owner.domain) });
    }
    return pairs;
  }

  /**
   * Sessions of retired addresses that are still open (the address was retired by another process,
   * such as a `parley directory sync` run beside the server, or a login raced the sync): ended too.
   */
  private endStraySessions(justRetired: ReadonlySet<string>): void {
    for (const session of [...this.ctx.sessions.all()]) {
      const { local, domain } = session.jid;
      if (!session.open || justRetired.has(local) || this.known.has(local) || !this.serves(domain)) continue;
      if (this.store.get(local)?.state !== 'retired') continue;
      this.ctx.log.info({ address: local, session: session.id }, 'a session of a retired directory address was ended');
      session.close(new StreamError('not-authorized', 'Your account was disabled in the company directory'));
    }
  }

  /** End a deprovisioned person's sessions (RFC 6120 4.9.3.12 not-authorized) and tell other modules. */
  private async deprovision(local: string, reason: string): Promise<void> {
    this.ctx.log.info({ address: local, reason }, 'directory person deprovisioned');
    for (const domain of this.domains) {
      const bare = `${local}@${domain}`;
      for (const session of [...this.ctx.sessions.ofAccount(bare)]) {
        session.close(new StreamError('not-authorized', 'Your account was disabled in the company directory'));
      }
      await this.ctx.events.emit('account/disabled', { jid: bare, reason: `directory: ${reason}` });
    }
  }

  private async finish(report: SyncReport): Promise<SyncReport> {
    this.last = report;
    await this.ctx.events.emit('directory/synced', { report });
    return report;
  }
}
