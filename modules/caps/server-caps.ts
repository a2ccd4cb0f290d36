import {
  NS, cloneElement, handled, resultReply, xml,
  type Element, type ModuleContext, type StanzaEvent, type Verdict,
} from '../../server/api/index.js';
import { formForHash, verificationInput, verificationString, type DiscoInfo } from './hash.js';

type Ctx = Pick<ModuleContext, 'disco' | 'router' | 'accounts'>;

/**
 * The server's own entity capabilities (XEP-0115 section 6.3): a `<c/>` stream feature whose
 * verification string follows what disco#info answers at the moment it is sent, so it stays right
 * whichever modules load after this one.
 */
export class ServerCaps {
  private lastInput = '';
  private lastVer = '';

  constructor(private readonly ctx: Ctx, readonly node: string) {}

  /** The server's disco#info as the hash sees it. */
  private info(): DiscoInfo {
    const forms = this.ctx.disco.extensions('server').map(formForHash).filter((f) => f !== null);
    return { identities: this.ctx.disco.identities('server'), features: this.ctx.disco.features('server'), forms };
  }

  /** The current verification string; hashed again only when what disco answers changed. */
  get ver(): string {
    const input = verificationInput(this.info());
    if (input !== this.lastInput) {
      this.lastInput = input;
      this.lastVer = verificationString(input, 'sha-1');
    }
    return this.lastVer;
  }

  /**
   * The stream feature. Its 'ver' is read when the features are written (the element is shared by
   * every stream), so it is computed then rather than once at start.
   */
  streamFeature(): Element {
    const c = xml('c', { xmlns: NS.CAPS, hash: 'sha-1', node: this.node });
    Object.defineProperty(c.attrs, 'ver', { enumerable: true, configurable: true, get: () => this.ver });
    return c;
  }

  /**
   * XEP-0115 section 6.2: a disco#info query for `node#ver` is answered like one without a node.
   * The disco module answers every node query with item-not-found, so this is taken at `stanza/in`
   * (after policy) until the module API lets a module answer a disco node itself.
   */
  readonly answerCapsNode = (event: StanzaEvent): Verdict | undefined => {
    if (event.kind !== 'iq' || event.type !== 'get' || event.toImplicit) return undefined;
    if (event.to.local !== '' || !this.ctx.accounts.isLocalDomain(event.to.domain)) return undefined;
    const query = event.stanza.getChild('query', NS.DISCO_INFO);
    if (!query || query.attrs.node !== `${this.node}#${this.ver}`) return undefined;
    const d = this.ctx.disco;
    const payload = xml('query', { xmlns: NS.DISCO_INFO, node: query.attrs.node },
      ...d.identities('server').map((i) => xml('identity', { category: i.category, type: i.type, name: i.name })),
      ...d.features('server').map((f) => xml('feature', { var: f })),
      ...d.extensions('server').map((form) => cloneElement(form)));
    this.ctx.router.reply(event, resultReply(event.stanza, payload));
    return handled();
  };
}
