import type { Element } from '../../server/api/index.js';

/**
 * Somewhere else that knows people's vCards: the company directory (LDAP), an HR feed.
 * A source is consulted before the vCards users stored themselves; see "Merge rule" below.
 */
export interface VCardSource {
  /** Shown in logs and in the text of a refused update ("managed by <name>"). */
  readonly name: string;
  /**
   * The source's vCard (`<vCard xmlns='vcard-temp'>`) for a bare JID, or null when it does not know
   * the user. Called for vCard reads and once per login of a user (for the avatar hash), so it
   * should be cached by the source if it is slow.
   */
  fetch(bare: string): Promise<Element | null> | Element | null;
  /**
   * Top-level vCard fields (element names: 'FN', 'N', 'EMAIL', 'TEL', 'PHOTO', ...) that this
   * source owns for the users it knows. Omitted: every field it returns is owned.
   */
  readonly readOnlyFields?: readonly string[];
}

/**
 * The `vcard` service, provided by the vcard module.
 *
 * Merge rule (the vCard other users see, and the one its owner reads):
 * 1. For every field a source owns (its `readOnlyFields`) and returns for the user, the source's
 *    elements are shown; the first source registered wins when two own the same field.
 * 2. Every other field comes from the vCard the user stored (XEP-0054 set).
 * 3. Fields a source returns but does not own are defaults: shown only when the user's stored vCard
 *    has no field of that name.
 * An update (IQ set) that changes an owned field is refused with `not-allowed`; one that repeats the
 * source's values unchanged, or leaves owned fields out, is accepted and stores only the user's own
 * fields. The avatar hash (XEP-0153) is computed from the merged vCard's PHOTO.
 */
export interface VCardService {
  /** Consult `source` before local storage. Returns a function that removes it again. */
  addSource(source: VCardSource): () => void;
  /** The merged vCard of a bare JID as other users see it, or null when there is none. */
  get(bare: string): Promise<Element | null>;
  /** Lower-case hex SHA-1 of the merged vCard's photo (XEP-0153), '' when there is no photo. */
  photoHash(bare: string): Promise<string>;
  /**
   * A source's data for this user changed (e.g. a new photo in the directory): recompute the
   * avatar hash and, if it changed, announce it to the user's available resources.
   */
  refresh(bare: string): Promise<void>;
}

declare module '../../server/api/index.js' {
  interface ParleyServices {
    vcard: VCardService;
  }
}
