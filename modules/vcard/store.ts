import { elementFromJson, elementToJson, type JsonNode } from '../../server/api/index.js';
import type { Element, StorageApi } from '../../server/api/index.js';

/** The vCards users stored themselves (table `vcard`, schema/vcard/001_vcard.sql). */
export interface VCardStore {
  get(bare: string): Element | null;
  /** The hash of the stored photo without reading the vCard; '' when none or no vCard. */
  photoHash(bare: string): string;
  put(bare: string, vcard: Element, photoHash: string): void;
  delete(bare: string): void;
}

export function openVCardStore(storage: StorageApi): VCardStore {
  const db = storage.db;
  const select = db.prepare('SELECT vcard FROM vcard WHERE jid = ?').pluck();
  const selectHash = db.prepare('SELECT photo_hash FROM vcard WHERE jid = ?').pluck();
  const upsert = db.prepare(`INSERT INTO vcard (jid, vcard, photo_hash, updated_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (jid) DO UPDATE SET vcard = excluded.vcard, photo_hash = excluded.photo_hash, updated_at = excluded.updated_at`);
  const remove = db.prepare('DELETE FROM vcard WHERE jid = ?');
  return {
    get(bare) {
      const raw = select.get(bare) as string | undefined;
      return raw === undefined ? null : elementFromJson(JSON.parse(raw) as JsonNode);
    },
    photoHash(bare) {
      return (selectHash.get(bare) as string | undefined) ?? '';
    },
    put(bare, vcard, photoHash) {
      upsert.run(bare, JSON.stringify(elementToJson(vcard)), photoHash, Date.now());
    },
    delete(bare) {
      remove.run(bare);
    },
  };
}
