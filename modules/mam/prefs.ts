import { Jid, StanzaError, xml, type Element, type KeyValueStore } from '../../server/api/index.js';
import type { ViewFilter } from '../archive/service.js';
import { MAM, parseJid } from './protocol.js';

export type DefaultPreference = 'always' | 'never' | 'roster';

/** XEP-0441 section 2.1: what a user chose. JIDs are prepared; bare ones match every resource. */
export interface Preferences {
  default: DefaultPreference;
  always: string[];
  never: string[];
}

/** Most JIDs in one list: a preference is a short personal list, not a second roster. */
export const MAX_LISTED_JIDS = 1000;

const DEFAULTS = new Set<string>(['always', 'never', 'roster']);

/** Whether the owner has the contact (a bare JID) in their roster; undefined when the server keeps no rosters. */
export type RosterLookup = (owner: string, contactBare: string) => boolean | undefined;

/** Preferences ready for a per-message decision. */
interface Compiled {
  default: DefaultPreference;
  always: Set<string>;
  never: Set<string>;
}

/**
 * The users' archiving preferences (XEP-0441), stored per account and kept in memory, because the
 * archive asks for every message it records, inside its capture (it must be synchronous and fast).
 * They decide only what enters a user's own history view; the compliance record is written
 * whatever a user chooses.
 */
export class ArchivePreferences {
  private readonly cache = new Map<string, Compiled | null>();

  constructor(
    private readonly store: KeyValueStore<Preferences>,
    /** The server's default for users who never chose (config `default_preference`). */
    private readonly serverDefault: DefaultPreference,
    private readonly inRoster: RosterLookup,
    private readonly onError: (err: unknown, owner: string) => void,
  ) {}

  /** The owner's preferences, or the server default with empty lists. */
  get(owner: string): Preferences {
    return this.store.get(owner, 'prefs') ?? { default: this.serverDefault, always: [], never: [] };
  }

  set(owner: string, prefs: Preferences): void {
    this.store.set(owner, 'prefs', prefs);
    this.cache.delete(owner);
  }

  /** Forget an account's preferences (account deletion). */
  forget(owner: string): void {
    this.store.clear(owner);
    this.cache.delete(owner);
  }

  /**
   * The archive's view filter: whether `owner` sees this message in their history. XEP-0441
   * section 2.3: the target is the 'to' of an outgoing message and the 'from' of an incoming one;
   * a listed full JID must equal it, a listed bare JID its bare form. 'never' wins over 'always'
   * when a JID is in both lists (the safer reading for the user's privacy).
   */
  readonly keepsInView: ViewFilter = (owner, withJid, record) => {
    // The archive runs this inside its fail-closed capture: a failure here must not stop the
    // message, so it keeps the message in the user's view and is reported.
    try {
      const prefs = this.compiled(owner);
      if (prefs === null) return this.byDefault(this.serverDefault, owner, withJid);
      const target = record.sender_bare === owner ? record.recipient : record.sender;
      if (prefs.never.has(target) || prefs.never.has(withJid)) return false;
      if (prefs.always.has(target) || prefs.always.has(withJid)) return true;
      return this.byDefault(prefs.default, owner, withJid);
    } catch (err) {
      this.onError(err, owner);
      return true;
    }
  };

  /**
   * The default for a JID in neither list. 'roster' keeps messages with roster contacts and with
   * oneself (nobody is in their own roster); on a server without rosters it keeps everything.
   */
  private byDefault(def: DefaultPreference, owner: string, withJid: string): boolean {
    if (def !== 'roster') return def === 'always';
    if (withJid === owner) return true;
    return this.inRoster(owner, withJid) ?? true;
  }

  private compiled(owner: string): Compiled | null {
    let c = this.cache.get(owner);
    if (c === undefined) {
      const stored = this.store.get(owner, 'prefs');
      c = stored ? { default: stored.default, always: new Set(stored.always), never: new Set(stored.never) } : null;
      this.cache.set(owner, c);
    }
    return c;
  }
}

/** XEP-0441 section 2.1: `<prefs default=...><always>jids</always><never>jids</never></prefs>`, both lists always present. */
export function prefsElement(p: Preferences): Element {
  const list = (name: string, jids: string[]) => xml(name, {}, ...jids.map((j) => xml('jid', {}, j)));
  return xml('prefs', { xmlns: MAM, default: p.default }, list('always', p.always), list('never', p.never));
}

/**
 * A preferences set from a client. A missing list is empty (2.1.2, 2.1.3); the default is
 * required. `rosters` says whether 'roster' can mean anything on this server.
 */
export function parsePrefs(el: Element, rosters: boolean): Preferences {
  const def = el.attrs.default;
  if (def === undefined || !DEFAULTS.has(def)) throw new StanzaError('bad-request', "The 'default' attribute must be always, never or roster");
  if (def === 'roster' && !rosters) throw new StanzaError('not-acceptable', "This server keeps no rosters, so 'roster' cannot be the default");
  const list = (name: string): string[] => {
    const jids = (el.getChild(name, MAM)?.getChildren('jid', MAM) ?? []).map((j) => parseJid(j.getText(), `<${name}/>`));
    if (jids.length > MAX_LISTED_JIDS) throw new StanzaError('not-acceptable', `At most ${MAX_LISTED_JIDS} JIDs in <${name}/>`);
    return [...new Set(jids)];
  };
  return { default: def as DefaultPreference, always: list('always'), never: list('never') };
}

/** Roster membership through the roster service, when the server runs the roster module. */
export function rosterLookup(find: () => { get(owner: Jid, contact: Jid): unknown } | undefined): RosterLookup {
  return (owner, contactBare) => {
    const roster = find();
    if (!roster) return undefined;
    const o = Jid.tryParse(owner);
    const c = Jid.tryParse(contactBare);
    return o !== null && c !== null && roster.get(o, c) !== undefined;
  };
}
