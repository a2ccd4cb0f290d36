import { client, type Client } from '@xmpp/client';
import { xml, type Element } from '@xmpp/xml';
import { WebSocket } from 'ws';

// @xmpp/websocket uses the global WebSocket, which Node 20 does not have; ws implements the same API.
if (!('WebSocket' in globalThis)) (globalThis as Record<string, unknown>).WebSocket = WebSocket;

export interface ConnectOptions {
  port: number;
  domain: string;
  username: string;
  password: string;
  resource?: string;
  transport?: 'starttls' | 'directtls' | 'websocket';
  httpPort?: number;
  directTlsPort?: number;
  /** Send initial presence after binding (default true). */
  presence?: boolean;
  priority?: number;
}

/** A real @xmpp/client connection with helpers to wait for stanzas, as a test script needs. */
export interface TestClient {
  xmpp: Client;
  jid: string;
  bare: string;
  send(el: Element): Promise<void>;
  /** Wait for the next received stanza matching `match` (stanzas already received count). */
  next(match?: (el: Element) => boolean, timeoutMs?: number): Promise<Element>;
  /** Send an IQ and wait for its answer (result or error, unlike iqCaller which throws). */
  iq(el: Element, timeoutMs?: number): Promise<Element>;
  /** Fail if a matching stanza arrives within `ms` (for "nothing is delivered" checks). */
  nothing(match: (el: Element) => boolean, ms?: number): Promise<void>;
  stop(): Promise<void>;
  /** Drop the TCP connection without </stream:stream>, as a crashed client or a lost network would. */
  kill(): void;
}

let iqCounter = 0;

export async function connect(o: ConnectOptions): Promise<TestClient> {
  const service = o.transport === 'directtls'
    ? `xmpps://127.0.0.1:${o.directTlsPort}`
    : o.transport === 'websocket'
      ? `wss://127.0.0.1:${o.httpPort}/xmpp-websocket`
      : `xmpp://127.0.0.1:${o.port}`;
  const xmpp = client({ service, domain: o.domain, username: o.username, password: o.password, resource: o.resource });
  xmpp.reconnect.stop();
  const received: Element[] = [];
  const waiters: { match: (el: Element) => boolean; resolve: (el: Element) => void }[] = [];
  xmpp.on('error', () => { /* surfaced through start() or the test's own expectations */ });
  xmpp.on('stanza', (el: Element) => {
    const i = waiters.findIndex((w) => w.match(el));
    if (i >= 0) { const [w] = waiters.splice(i, 1); w!.resolve(el); return; }
    received.push(el);
  });
  await xmpp.start();
  const jid = xmpp.jid!.toString();
  if (o.presence !== false) {
    await xmpp.send(xml('presence', {}, o.priority !== undefined ? xml('priority', {}, String(o.priority)) : null));
  }
  const tc: TestClient = {
    xmpp,
    jid,
    bare: jid.split('/')[0]!,
    send: (el) => xmpp.send(el),
    next(match = () => true, timeoutMs = 5000) {
      const i = received.findIndex(match);
      if (i >= 0) return Promise.resolve(received.splice(i, 1)[0]!);
      return new Promise((resolve, reject) => {
        const waiter = { match, resolve: (el: Element) => { clearTimeout(timer); resolve(el); } };
        const timer = setTimeout(() => {
          const j = waiters.indexOf(waiter);
          if (j >= 0) waiters.splice(j, 1);
          reject(new Error(`${jid}: no matching stanza within ${timeoutMs} ms; unmatched so far: ${received.map(String).join(' ').slice(0, 2000)}`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    async iq(el, timeoutMs = 5000) {
      const id = el.attrs.id ?? `test-${++iqCounter}`;
      el.attrs.id = id;
      const answer = tc.next((s) => s.name === 'iq' && s.attrs.id === id && (s.attrs.type === 'result' || s.attrs.type === 'error'), timeoutMs);
      await xmpp.send(el);
      return answer;
    },
    async nothing(match, ms = 500) {
      const got = await tc.next(match, ms).then((el) => el, () => null);
      if (got) throw new Error(`${jid}: expected nothing, got ${String(got)}`);
    },
    async stop() {
      if (xmpp.status === 'offline' || xmpp.status === 'disconnect') return;
      await xmpp.stop().catch(() => undefined);
    },
    kill() {
      const socket = (xmpp as unknown as { socket?: { socket?: { destroy(): void } } }).socket;
      socket?.socket?.destroy();
    },
  };
  return tc;
}
