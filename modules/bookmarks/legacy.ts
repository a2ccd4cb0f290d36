import {
  Jid, cloneElement, elementFromJson, elementToJson, xml,
  type Element, type JsonNode, type KeyValueStore, type ModuleContext,
} from '../../server/api/index.js';
import type { PepService } from '../pep/service.js';
import type { PrivateElementHandler } from '../private/service.js';
import { BOOKMARKS, LEGACY, fromLegacy, toLegacy } from './convert.js';

type Ctx = Pick<ModuleContext, 'log'>;

/**
 * XEP-0402 section 5 compatibility (`urn:xmpp:bookmarks:1#compat`): the legacy
 * `<storage xmlns='storage:bookmarks'/>` in private XML storage is a view of the PEP bookmarks.
 * A read builds it from the PEP items; a write publishes what changed and retracts what is gone, so
 * clients on either protocol see (and are notified of) the same bookmarks. The `<url/>` bookmarks
 * of XEP-0048, which XEP-0402 has no place for, are kept beside them.
 */
export class LegacyBookmarks implements PrivateElementHandler {
  constructor(
    private readonly ctx: Ctx,
    private readonly pep: PepService,
    /** Other children of the legacy storage (url bookmarks), per owner. */
    private readonly extras: KeyValueStore<JsonNode[]>,
  ) {}

  get(owner: string, stored: Element | null): Element | null {
    const jid = Jid.parse(owner);
    if (stored) this.adopt(owner, stored);
    const conferences = this.pep.items(jid, BOOKMARKS).map((item) => toLegacy(item.id, item.payload));
    const extras = (this.extras.get(owner, 'storage') ?? []).map((j) => elementFromJson(j));
    if (conferences.length === 0 && extras.length === 0) return null;
    return xml('storage', { xmlns: LEGACY }, ...conferences, ...extras);
  }

  /**
   * Bookmarks kept in private storage before this module was enabled move to PEP once: rooms PEP
   * does not have yet are published, URL bookmarks kept unless some are kept already.
   */
  private adopt(owner: string, stored: Element): void {
    const jid = Jid.parse(owner);
    const known = new Set(this.pep.items(jid, BOOKMARKS).map((i) => i.id));
    let moved = 0;
    for (const conference of stored.getChildren('conference')) {
      let bookmark;
      try { bookmark = fromLegacy(conference); } catch { continue; } // unusable then, unusable now
      if (known.has(bookmark.jid)) continue;
      this.pep.publish(jid, BOOKMARKS, { id: bookmark.jid, payload: bookmark.payload });
      moved++;
    }
    const extras = stored.getChildElements().filter((c) => c.name !== 'conference');
    if (extras.length > 0 && !this.extras.get(owner, 'storage')) this.extras.set(owner, 'storage', extras.map((c) => elementToJson(cloneElement(c))));
    this.ctx.log.info({ owner, moved }, 'legacy bookmarks moved from private storage to PEP');
  }

  set(owner: string, storage: Element): void {
    const jid = Jid.parse(owner);
    const desired = new Map(storage.getChildren('conference').map((c) => fromLegacy(c)).map((b) => [b.jid, b.payload]));
    const current = new Map(this.pep.items(jid, BOOKMARKS).map((i) => [i.id, i.payload]));
    for (const [room, payload] of desired) {
      const before = current.get(room);
      if (before && sameElement(before, payload)) continue;
      this.pep.publish(jid, BOOKMARKS, { id: room, payload });
    }
    const gone = [...current.keys()].filter((room) => !desired.has(room));
    if (gone.length > 0) this.pep.retract(jid, BOOKMARKS, gone);
    const extras = storage.getChildElements().filter((c) => c.name !== 'conference').map((c) => elementToJson(cloneElement(c)));
    if (extras.length > 0) this.extras.set(owner, 'storage', extras); else this.extras.delete(owner, 'storage');
  }
}

function sameElement(a: Element, b: Element): boolean {
  return JSON.stringify(elementToJson(a)) === JSON.stringify(elementToJson(b));
}
