import { NS, xml, type Element, type ModuleContext, type Session } from '../../server/api/index.js';
import { isSupportedHash, parseDiscoInfo, verificationInput, verificationString } from './hash.js';
import type { CapsService } from './service.js';

type Ctx = Pick<ModuleContext, 'router' | 'events' | 'log'>;

/** What a session's last presence said about its capabilities. */
interface Announced { node: string; ver: string; hash: string | null }

interface SessionCaps {
  announced: Announced | null;
  features: ReadonlySet<string> | undefined;
}

export interface ClientCapsOptions {
  /** How long to wait for a client to answer the disco#info query. */
  queryTimeoutMs: number;
  /** Most verification strings remembered; the oldest is forgotten first. */
  cacheSize: number;
}

const NONE: ReadonlySet<string> = new Set();

/**
 * XEP-0115 on the receiving side. Each session's `<c/>` is read from its presence; a `ver` seen
 * before is answered from the cache, a new one with a disco#info query to that session
 * (`node#ver`), whose answer is cached only when its hash checks out (section 5.4).
 */
export class ClientCaps implements CapsService {
  private readonly sessions = new WeakMap<Session, SessionCaps>();
  /** Verified feature sets by "hash ver". */
  private readonly cache = new Map<string, ReadonlySet<string>>();
  /** Queries in flight by "hash ver", so a crowd of clients of one version asks once. */
  private readonly inFlight = new Map<string, Promise<ReadonlySet<string> | null>>();

  constructor(private readonly ctx: Ctx, private readonly opts: ClientCapsOptions) {}

  featuresOf(session: Session): ReadonlySet<string> | undefined {
    return this.sessions.get(session)?.features;
  }

  /** A session sent available presence: look at its caps and resolve them when they changed. */
  async presenceChanged(session: Session): Promise<void> {
    const announced = readCaps(session.presence);
    const state = this.sessions.get(session) ?? { announced: null, features: undefined };
    this.sessions.set(session, state);
    if (sameCaps(state.announced, announced)) return;
    state.announced = announced;
    if (!announced) {
      const had = state.features !== undefined && state.features.size > 0;
      state.features = undefined;
      if (had) await this.ctx.events.emit('caps/changed', { session, features: NONE });
      return;
    }
    const features = await this.resolve(session, announced);
    // A newer presence may have changed the caps while the query was out.
    if (state.announced !== announced || !session.open) return;
    state.features = features ?? undefined;
    if (features) await this.ctx.events.emit('caps/changed', { session, features });
  }

  private async resolve(session: Session, a: Announced): Promise<ReadonlySet<string> | null> {
    const key = a.hash && isSupportedHash(a.hash) ? `${a.hash} ${a.ver}` : null;
    if (key) {
      const cached = this.cache.get(key);
      if (cached) return cached;
      const pending = this.inFlight.get(key);
      if (pending) return pending;
    }
    const query = this.query(session, a, key);
    if (key) {
      this.inFlight.set(key, query);
      void query.finally(() => this.inFlight.delete(key));
    }
    return query;
  }

  /** Ask the session itself (section 6.2) and check the answer against the announced 'ver' (5.4). */
  private async query(session: Session, a: Announced, key: string | null): Promise<ReadonlySet<string> | null> {
    const node = `${a.node}#${a.ver}`;
    let reply: Element;
    try {
      reply = await this.ctx.router.request(
        xml('iq', { type: 'get', from: session.jid.domain, to: session.jid.full }, xml('query', { xmlns: NS.DISCO_INFO, node })),
        this.opts.queryTimeoutMs,
      );
    } catch (err) {
      this.ctx.log.debug({ session: session.id, node, err: (err as Error).message }, 'a client did not answer the caps query');
      return null;
    }
    const info = parseDiscoInfo(reply.getChild('query', NS.DISCO_INFO) ?? xml('query'));
    if (!info) {
      this.ctx.log.debug({ session: session.id, node }, 'ill-formed disco#info answer to a caps query');
      return null;
    }
    const features: ReadonlySet<string> = new Set(info.features);
    if (!key) return features; // legacy caps without a hash: good for this session only
    if (verificationString(verificationInput(info), a.hash!) !== a.ver) {
      // Section 5.4 step 7: not cached; the session's own answer is still what it can do.
      this.ctx.log.debug({ session: session.id, node }, 'caps verification string does not match the disco#info answer');
      return features;
    }
    this.remember(key, features);
    return features;
  }

  private remember(key: string, features: ReadonlySet<string>): void {
    this.cache.set(key, features);
    if (this.cache.size > this.opts.cacheSize) this.cache.delete(this.cache.keys().next().value!);
  }
}

function readCaps(presence: Element | null): Announced | null {
  const c = presence?.getChild('c', NS.CAPS);
  if (!c?.attrs.node || !c.attrs.ver) return null;
  return { node: c.attrs.node, ver: c.attrs.ver, hash: c.attrs.hash ?? null };
}

function sameCaps(a: Announced | null, b: Announced | null): boolean {
  if (a === null || b === null) return a === b;
  return a.node === b.node && a.ver === b.ver && a.hash === b.hash;
}
