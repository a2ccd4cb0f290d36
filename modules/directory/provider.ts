import { AuthUnavailableError, Jid, type AccountProvider, type ModuleContext, type PasswordCheck, type SessionKind } from '../../server/api/index.js';
import type { DirectoryConfig } from './config.js';
import { DirectoryUnreachable, describe, type DirectoryConnections } from './connection.js';
import { dnKey, firstRdnValue } from './dn.js';
import { groupsFromMemberOf, type Group } from './groups.js';
import type { DirectoryLookups } from './lookups.js';
import type { Person, PersonMapper } from './people.js';
import type { AccountStore } from './store.js';
import type { Synchroniser } from './sync.js';

/** How long a verified login's entry is remembered for the questions that follow it (canonical localpart, refusal). */
const RECENT_MS = 60_000;
const RECENT_MAX = 2000;

type Ctx = Pick<ModuleContext, 'log' | 'accounts'>;

/**
 * The directory in the auth chain (ctx.auth.addProvider): passwords are checked by binding as the
 * person (so the domains it serves offer SASL PLAIN only, over TLS), the JID localpart comes from
 * the directory, and disabled or deprovisioned people are refused. `exists` answers from the
 * addresses known at the last sync, without asking the directory.
 */
export class DirectoryAccounts implements AccountProvider {
  readonly name = 'directory';
  private readonly recentByLogin = new Map<string, { person: Person; at: number }>();
  private readonly recentByLocal = new Map<string, { person: Person; at: number }>();

  constructor(
    private readonly ctx: Ctx,
    private readonly config: DirectoryConfig,
    readonly domains: readonly string[],
    private readonly conn: DirectoryConnections,
    private readonly lookups: DirectoryLookups,
    private readonly mapper: PersonMapper,
    private readonly store: AccountStore,
    private readonly sync: Synchroniser,
  ) {}

  exists(local: string): boolean {
    return this.sync.known.has(local);
  }

  sessionKind(local: string): SessionKind | undefined {
    return this.sync.known.has(local) ? 'employee' : undefined;
  }

  /**
   * SASL PLAIN: find the login name's entry with users.filter ({user} escaped per RFC 4515), then
   * bind as that entry with the password. 'unknown' lets local accounts (service accounts,
   * partners) on the same domain answer.
   */
  async verifyPassword(login: string, domain: string, password: string): Promise<PasswordCheck> {
    let entries;
    try {
      entries = await this.lookups.findLogin(login);
    } catch (err) {
      return this.unavailable(login, domain, err);
    }
    if (entries.length === 0) return 'unknown';
    if (entries.length > 1) {
      this.ctx.log.warn({ login, dns: entries.map((e) => e.dn) }, 'a login name matches several directory entries; refused (tighten users.filter)');
      return 'wrong';
    }
    const person = this.mapper.toPerson(entries[0]!);
    if ('problem' in person) {
      this.ctx.log.warn({ dn: entries[0]!.dn, problem: person.problem }, 'a directory entry cannot get an address; its login is refused');
      return 'wrong';
    }
    // A local account with this address was there first: it keeps it, the directory stays out.
    if (await this.sync.takenByOtherAccount(person.local)) return 'unknown';
    let ok: boolean;
    try {
      ok = await this.conn.checkPassword(person.dn, password);
    } catch (err) {
      return this.unavailable(login, domain, err);
    }
    if (!ok) return 'wrong';
    this.remember(login, person);
    return 'ok';
  }

  async canonicalLocal(login: string): Promise<string | null> {
    return this.recent(this.recentByLogin, login)?.local ?? null;
  }

  /** Why a person who gave the right password may not log in now; null lets them in (and records the address). */
  async loginRefusal(local: string, domain: string): Promise<string | null> {
    const person = this.recent(this.recentByLocal, local);
    if (!person) return null; // not a directory login
    if (person.disabled) return 'Your account is disabled in the company directory';
    if (this.config.deprovision.required_group && !(await this.inRequiredGroup(person, domain))) {
      return 'Your directory account is not in the group allowed to use this server';
    }
    const row = this.store.get(local);
    if (row && row.entryId !== person.id) {
      this.sync.warnOnce(`refused:${local}:${person.id}`, { address: local, dn: person.dn },
        'a directory entry asks for the address of another (former) person; refused until an administrator releases it');
      // The sync deprovisions the former holder if the replacement happened since the last one.
      if (row.state === 'active') this.sync.syncSoon();
      return 'This address belongs to a former employee and has not been released for reuse; ask an administrator';
    }
    if (!row || row.state === 'retired') {
      if (row) this.ctx.log.info({ address: local }, 'a re-enabled directory person has their address again');
      this.sync.admit(person);
    }
    return null;
  }

  private async inRequiredGroup(person: Person, domain: string): Promise<boolean> {
    let groups: Iterable<Group>;
    if (this.config.groups.source === 'member_of') {
      groups = groupsFromMemberOf(new Map([[person.local, person]])).values();
    } else {
      let entries;
      try {
        entries = await this.lookups.groupsWithMember(person);
      } catch (err) {
        if (!(err instanceof DirectoryUnreachable)) this.ctx.log.error({ err: describe(err), domain }, 'a directory lookup failed');
        throw new AuthUnavailableError('the company directory is unreachable', { cause: err });
      }
      groups = entries.map((e) => ({
        key: dnKey(e.dn), dn: e.dn, members: new Set([person.local]),
        name: String((Object.entries(e).find(([k]) => k.toLowerCase() === this.config.groups.name_attribute.toLowerCase())?.[1]) ?? firstRdnValue(e.dn)),
      }));
    }
    return this.sync.inRequiredGroup(person.local, groups);
  }

  /**
   * The directory cannot answer: the client gets temporary-auth-failure. A login that names a local
   * account (not a directory person) goes on to the local accounts instead, so service accounts and
   * partners keep working through a directory outage.
   */
  private async unavailable(login: string, domain: string, err: unknown): Promise<'unknown'> {
    if (!(err instanceof DirectoryUnreachable)) this.ctx.log.error({ err: describe(err) }, 'a directory lookup failed');
    const local = this.mapper.localpart(login);
    if (local && !login.includes('@') && !this.sync.known.has(local)) {
      const jid = Jid.tryParse(`${local}@${domain}`);
      if (jid && (await this.ctx.accounts.exists(jid))) return 'unknown';
    }
    throw new AuthUnavailableError('the company directory is unreachable', { cause: err });
  }

  private remember(login: string, person: Person): void {
    const entry = { person, at: Date.now() };
    for (const [map, key] of [[this.recentByLogin, login], [this.recentByLocal, person.local]] as const) {
      map.delete(key);
      map.set(key, entry);
      if (map.size > RECENT_MAX) map.delete(map.keys().next().value!);
    }
  }

  private recent(map: Map<string, { person: Person; at: number }>, key: string): Person | undefined {
    const hit = map.get(key);
    if (!hit) return undefined;
    if (Date.now() - hit.at > RECENT_MS) { map.delete(key); return undefined; }
    return hit.person;
  }
}
