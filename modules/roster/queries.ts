import { StanzaError, type IqEvent } from '../../server/api/index.js';
import { itemElement, parseRosterSet, rosterQuery, type RosterLimits } from './items.js';
import type { Rosters } from './roster.js';

/**
 * Roster get (RFC 6121 2.1.3, 2.2) with versioning (2.6.3): the asking resource becomes
 * interested; a 'ver' equal to the current version gets an empty result (changes will come as
 * pushes), any other 'ver' gets the whole roster with the current version.
 */
export function rosterGet(rosters: Rosters) {
  return (iq: IqEvent) => {
    const owner = iq.from.bareJid();
    if (iq.origin) rosters.markInterested(iq.origin);
    const clientVer = iq.payload.attrs.ver;
    const current = rosters.version(owner);
    if (clientVer !== undefined && clientVer === current) return undefined;
    return rosterQuery(rosters.list(owner).map(itemElement), clientVer !== undefined ? current : undefined);
  };
}

/** Roster set (RFC 6121 2.3 add/update, 2.5 remove). The push goes to every interested resource. */
export function rosterSet(rosters: Rosters, limits: RosterLimits) {
  return async (iq: IqEvent) => {
    const owner = iq.from.bareJid();
    const request = parseRosterSet(iq.payload, limits);
    if (request.kind === 'remove') {
      const shared = rosters.sharedGroupsOf(owner, request.contact);
      if (shared.length > 0) {
        // Shared contacts are managed elsewhere (the directory): the owner cannot take them out.
        throw new StanzaError('not-allowed', `${request.contact.bare} is in your roster through the shared group${shared.length > 1 ? 's' : ''} ${shared.map((g) => `"${g}"`).join(', ')} and cannot be removed`);
      }
      // RFC 6121 2.5.3: removing an item that is not there is an error.
      if (!(await rosters.remove(owner, request.contact))) {
        throw new StanzaError('item-not-found', `${request.contact.full} is not in the roster`);
      }
      return undefined;
    }
    rosters.setItem(owner, request.contact, request.edit);
    return undefined;
  };
}
