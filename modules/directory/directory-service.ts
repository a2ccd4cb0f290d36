import { Jid, type ModuleContext } from '../../server/api/index.js';
import { matchesGroup } from './groups.js';
import type { DirectoryPerson, DirectoryService, RetiredAddress } from './service.js';
import type { AccountStore } from './store.js';
import type { Synchroniser } from './sync.js';

/** The `directory` service (service.ts) over the snapshot of the last sync. */
export function directoryService(sync: Synchroniser, store: AccountStore, domains: readonly string[], log: ModuleContext['log']): DirectoryService {
  /** The localpart of a bare JID on a served domain, or null. */
  const localOf = (bare: Jid | string): Jid | null => {
    const jid = typeof bare === 'string' ? Jid.tryParse(bare) : bare;
    return jid && jid.local !== '' && sync.serves(jid.domain) ? jid : null;
  };
  const service: DirectoryService = {
    isEmployee: (bare) => {
      const jid = localOf(bare);
      return jid !== null && sync.snapshot.person(jid.local) !== undefined;
    },
    person: (bare): DirectoryPerson | undefined => {
      const jid = localOf(bare);
      const p = jid ? sync.snapshot.person(jid.local) : undefined;
      if (!jid || !p) return undefined;
      const manager = sync.snapshot.managerOf(p.local);
      return {
        jid: `${p.local}@${jid.domain}`, dn: p.dn, name: p.name, givenName: p.givenName, familyName: p.familyName,
        email: p.email, title: p.title, department: p.department, organization: p.organization,
        phones: p.phones.map((x) => x.number), manager: manager ? `${manager.local}@${jid.domain}` : null,
        groups: sync.snapshot.groupsOf(p.local).map((g) => g.name),
      };
    },
    groupsOf: (bare) => {
      const jid = localOf(bare);
      return jid ? sync.snapshot.groupsOf(jid.local).map((g) => g.name) : [];
    },
    isInGroup: (bare, group) => {
      const jid = localOf(bare);
      return jid !== null && sync.snapshot.groupsOf(jid.local).some((g) => matchesGroup(g, group));
    },
    membersOf: (group, domain = domains[0]!) => {
      const out: string[] = [];
      for (const g of sync.snapshot.groups.values()) {
        if (!matchesGroup(g, group)) continue;
        for (const local of g.members) if (sync.snapshot.person(local)) out.push(`${local}@${domain}`);
      }
      return [...new Set(out)].sort();
    },
    managerOf: (bare) => {
      const jid = localOf(bare);
      const m = jid ? sync.snapshot.managerOf(jid.local) : undefined;
      return m && jid ? `${m.local}@${jid.domain}` : undefined;
    },
    reportsOf: (bare) => {
      const jid = localOf(bare);
      return jid ? sync.snapshot.reportsOf(jid.local).map((l) => `${l}@${jid.domain}`) : [];
    },
    sync: () => sync.sync(),
    lastSync: () => sync.last,
    retiredAddresses: (): RetiredAddress[] => store.all().filter((r) => r.state === 'retired')
      .map((r) => ({ local: r.local, dn: r.dn, reason: r.reason ?? '', retiredAt: new Date(r.changedAt) })),
    release: (address) => {
      const local = (address.includes('@') ? Jid.tryParse(address) : Jid.tryParse(`${address}@${domains[0]!}`))?.local;
      if (!local || !store.release(local)) return false;
      log.info({ address: local }, 'a retired directory address was released; a new directory entry may take it at the next sync');
      sync.syncSoon();
      return true;
    },
  };
  return service;
}
