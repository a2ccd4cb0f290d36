import { createHash } from 'node:crypto';
import { NS, StanzaError, cloneElement, xml, type Element } from '../../server/api/index.js';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const WHITESPACE = /\s+/g;

/**
 * The image bytes of a vCard's PHOTO/BINVAL, or null when there is no inline photo (no PHOTO, an
 * empty BINVAL, or only an EXTVAL link, which XEP-0153 section 4.5 advises against and which has
 * no bytes to hash). Throws `bad-request` when BINVAL is not base64.
 */
export function photoBytes(vcard: Element): Buffer | null {
  const binval = vcard.getChild('PHOTO')?.getChild('BINVAL');
  if (!binval) return null;
  // XEP-0153 section 4.6 rule 5 (RFC 2045 6.8): line breaks and other whitespace are ignored.
  const text = binval.getText().replace(WHITESPACE, '');
  if (text === '') return null;
  if (text.length % 4 !== 0 || !BASE64.test(text)) throw new StanzaError('bad-request', 'PHOTO/BINVAL is not valid base64');
  return Buffer.from(text, 'base64');
}

/** XEP-0153 section 3.1: lower-case hex SHA-1 of the image data (not of its base64), '' for no photo. */
export function photoHash(vcard: Element | null): string {
  const bytes = vcard ? photoBytes(vcard) : null;
  return bytes ? createHash('sha1').update(bytes).digest('hex') : '';
}

/** Whether a presence already carries exactly `<x xmlns='vcard-temp:x:update'><photo>hash</photo></x>`, once. */
function hasUpdate(presence: Element, hash: string): boolean {
  const updates = presence.getChildren('x', NS.VCARD_UPDATE);
  if (updates.length !== 1) return false;
  const children = updates[0]!.getChildElements();
  return children.length === 1 && children[0]!.name === 'photo' && children[0]!.getText() === hash;
}

/**
 * The presence with the server's avatar hash: any `vcard-temp:x:update` the client put in is
 * replaced (XEP-0153 section 4.1: an empty `<photo/>` when there is no avatar). Returns null when
 * the presence already says exactly that, so the caller need not copy it.
 */
export function withAvatarHash(presence: Element, hash: string): Element | null {
  if (hasUpdate(presence, hash)) return null;
  const copy = cloneElement(presence);
  copy.children = copy.children.filter((c) => typeof c === 'string' || !c.is('x', NS.VCARD_UPDATE));
  copy.append(xml('x', { xmlns: NS.VCARD_UPDATE }, xml('photo', {}, hash || undefined)));
  return copy;
}
