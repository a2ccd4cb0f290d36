import { StanzaError, type Element, type ModuleContext } from '../../server/api/index.js';
import { mergeVCard, ownFieldsOfUpdate, splitSourceFields, type SourceCard } from './merge.js';
import { photoHash } from './photo.js';
import type { VCardService, VCardSource } from './service.js';
import type { VCardStore } from './store.js';

type Log = ModuleContext['log'];

/**
 * The vCards of this server's users: what they stored, merged with what the sources (the
 * directory) say, and the avatar hash of the result. The hash is kept in memory for users with a
 * session, so that stamping it on their presence costs one Map lookup.
 */
export class VCards implements VCardService {
  private readonly sources: VCardSource[] = [];
  private readonly hashes = new Map<string, string>();

  constructor(
    private readonly store: VCardStore,
    private readonly log: Log,
    /** Tell the user's available resources about a new avatar hash. */
    private readonly announce: (bare: string, hash: string) => void,
  ) {}

  addSource(source: VCardSource): () => void {
    this.sources.push(source);
    this.hashes.clear();
    return () => {
      const i = this.sources.indexOf(source);
      if (i >= 0) this.sources.splice(i, 1);
      this.hashes.clear();
    };
  }

  async get(bare: string): Promise<Element | null> {
    const { cards } = await this.sourceCards(bare);
    return mergeVCard(this.store.get(bare), cards);
  }

  async photoHash(bare: string): Promise<string> {
    return (await this.computeHash(bare)).hash;
  }

  /** The avatar hash for a presence of `bare`: synchronous once known, as it is for every presence after the first. */
  hashForPresence(bare: string): string | Promise<string> {
    const cached = this.hashes.get(bare);
    if (cached !== undefined) return cached;
    if (this.sources.length === 0) {
      const hash = this.store.photoHash(bare);
      this.hashes.set(bare, hash);
      return hash;
    }
    return this.computeHash(bare).then(({ hash, complete }) => {
      // An update that finished meanwhile has set the newer hash; keep it.
      if (complete && !this.hashes.has(bare)) this.hashes.set(bare, hash);
      return hash;
    });
  }

  /** XEP-0054 3.2: replace the user's own vCard (the whole of it: there are no partial updates). */
  async update(bare: string, vcard: Element): Promise<void> {
    let own = vcard;
    if (this.sources.length > 0) {
      const { cards, complete } = await this.sourceCards(bare);
      if (!complete) {
        throw new StanzaError('internal-server-error', 'The directory could not be asked which fields it manages; try again later', { type: 'wait' });
      }
      own = ownFieldsOfUpdate(vcard, splitSourceFields(cards).owned);
    }
    const hash = photoHash(own); // also refuses a PHOTO that is not base64, before anything is stored
    if (own.getChildElements().length === 0) this.store.delete(bare);
    else this.store.put(bare, own, hash);
    await this.refresh(bare);
  }

  async refresh(bare: string): Promise<void> {
    const before = this.hashes.get(bare);
    // Nobody of this user is online: the next login computes the hash afresh.
    if (before === undefined) return;
    const { hash, complete } = await this.computeHash(bare);
    if (!complete) return;
    this.hashes.set(bare, hash);
    if (hash !== before) this.announce(bare, hash);
  }

  /** The user's last session ended: the hash is computed again at the next login. */
  forget(bare: string): void {
    this.hashes.delete(bare);
  }

  deleteAccount(bare: string): void {
    this.store.delete(bare);
    this.hashes.delete(bare);
  }

  private async computeHash(bare: string): Promise<{ hash: string; complete: boolean }> {
    if (this.sources.length === 0) return { hash: this.store.photoHash(bare), complete: true };
    const { cards, complete } = await this.sourceCards(bare);
    try {
      return { hash: photoHash(mergeVCard(this.store.get(bare), cards)), complete };
    } catch (err) {
      // A source's PHOTO that is not base64: no avatar rather than no presence.
      this.log.warn({ jid: bare, err }, 'the photo in the vCard of a source is not valid base64');
      return { hash: '', complete };
    }
  }

  /** What each source says about `bare`; `complete` is false when a source failed (it is then left out). */
  private async sourceCards(bare: string): Promise<{ cards: SourceCard[]; complete: boolean }> {
    const cards: SourceCard[] = [];
    let complete = true;
    for (const source of this.sources) {
      try {
        const card = await source.fetch(bare);
        if (card) cards.push({ source, card });
      } catch (err) {
        complete = false;
        this.log.warn({ source: source.name, jid: bare, err }, 'vCard source failed; using the stored vCard only');
      }
    }
    return { cards, complete };
  }
}
