import type { Jid } from '../../server/api/index.js';
import type { SharedContact, SharedGroupSource } from '../roster/service.js';
import type { Synchroniser } from './sync.js';

/**
 * The directory's shared groups (config shared_groups) as a source for the roster service: members
 * of a shared group find each other in their rosters, in a roster group named after the directory
 * group, with presence both ways and no subscription requests. Answers come from the snapshot of
 * the last sync; a person on one served domain sees colleagues on the same domain.
 */
export function sharedRosterSource(sync: Synchroniser): SharedGroupSource {
  return {
    name: 'the company directory',
    contactsOf(owner: Jid): SharedContact[] {
      if (!sync.serves(owner.domain)) return [];
      const out: SharedContact[] = [];
      for (const link of sync.snapshot.contactsOf(owner.local).values()) {
        out.push({ jid: `${link.local}@${owner.domain}`, name: link.name, groups: link.groups });
      }
      return out;
    },
    contactOf(owner: Jid, contact: Jid): SharedContact | undefined {
      if (owner.domain !== contact.domain || !sync.serves(owner.domain) || contact.resource !== '') return undefined;
      const groups = sync.snapshot.sharedBetween(owner.local, contact.local);
      if (groups.length === 0) return undefined;
      return { jid: contact.bare, name: sync.snapshot.person(contact.local)?.name ?? null, groups };
    },
  };
}
