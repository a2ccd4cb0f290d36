import { Jid, NS, xml, type Element } from '../../server/api/index.js';
import type { VCardSource } from '../vcard/service.js';
import type { DirectoryLookups } from './lookups.js';
import type { Person, PersonMapper } from './people.js';
import type { Synchroniser } from './sync.js';

/** Most vCards kept in memory (they carry photos). */
const CACHE_MAX = 1000;

/**
 * vcard-temp (XEP-0054) cards of directory people, for the vcard module (its `VCardSource`). The
 * fields the directory knows are read-only for the user; the photo (jpegPhoto) becomes PHOTO/BINVAL,
 * from which the vcard module computes the XEP-0153 avatar hash in presence. Cards are cached for
 * vcard_ttl, and dropped early when the sync sees the entry change.
 */
export class DirectoryVCards implements VCardSource {
  readonly name = 'the company directory';
  readonly readOnlyFields = ['FN', 'N', 'EMAIL', 'TEL', 'TITLE', 'ORG', 'PHOTO', 'JABBERID'] as const;
  private readonly cache = new Map<string, { card: Element | null; at: number }>();

  constructor(
    private readonly sync: Synchroniser,
    private readonly lookups: DirectoryLookups,
    private readonly mapper: PersonMapper,
    private readonly ttlMs: number,
  ) {}

  async fetch(bare: string): Promise<Element | null> {
    const jid = Jid.tryParse(bare);
    if (!jid || !this.sync.serves(jid.domain)) return null;
    const person = this.sync.snapshot.person(jid.local);
    if (!person) return null;
    const hit = this.cache.get(bare);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.card;
    let entry;
    try {
      entry = await this.lookups.readPerson(person.dn, true);
    } catch (err) {
      // The directory is down: the last card is better than none (the outage is logged elsewhere).
      if (hit) return hit.card;
      throw err;
    }
    const fresh = entry ? this.mapper.toPerson(entry) : null;
    const card = entry && fresh && !('problem' in fresh) ? directoryVCard(fresh, this.mapper.photo(entry), jid.bare) : null;
    this.cache.delete(bare);
    this.cache.set(bare, { card, at: Date.now() });
    if (this.cache.size > CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    return card;
  }

  /** The person's entry changed: read it again next time. */
  invalidate(bare: string): void {
    this.cache.delete(bare);
  }
}

/** XEP-0054 fields from a person (only the fields the directory has). */
export function directoryVCard(p: Person, photo: Buffer | null, bare: string): Element {
  const card = xml('vCard', { xmlns: NS.VCARD });
  card.append(xml('FN', {}, p.name));
  if (p.givenName || p.familyName) {
    card.append(xml('N', {}, xml('FAMILY', {}, p.familyName ?? ''), xml('GIVEN', {}, p.givenName ?? '')));
  }
  if (p.email) card.append(xml('EMAIL', {}, xml('INTERNET'), xml('PREF'), xml('USERID', {}, p.email)));
  for (const { attribute, number } of p.phones) {
    const kind = /mobile|cell/i.test(attribute) ? [xml('CELL'), xml('VOICE')]
      : /fax/i.test(attribute) ? [xml('FAX')]
        : [xml('WORK'), xml('VOICE')];
    card.append(xml('TEL', {}, ...kind, xml('NUMBER', {}, number)));
  }
  if (p.title) card.append(xml('TITLE', {}, p.title));
  if (p.organization || p.department) {
    // XEP-0054 DTD: ORG is ORGNAME followed by ORGUNITs.
    card.append(xml('ORG', {}, xml('ORGNAME', {}, p.organization ?? ''), p.department ? xml('ORGUNIT', {}, p.department) : null));
  }
  card.append(xml('JABBERID', {}, bare));
  if (photo) card.append(xml('PHOTO', {}, xml('TYPE', {}, imageType(photo)), xml('BINVAL', {}, photo.toString('base64'))));
  return card;
}

/** The MIME type of an image from its first bytes (jpegPhoto is JPEG by definition; thumbnailPhoto may be anything). */
function imageType(bytes: Buffer): string {
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'image/png';
  if (bytes[0] === 0x47 && bytes[1] === 0x49 && bytes[2] === 0x46) return 'image/gif';
  return 'image/jpeg';
}
