/**
 * One client connection of the load generator: TCP, STARTTLS (or direct TLS, XEP-0368), SASL
 * SCRAM-SHA-1 (or PLAIN over TLS), resource binding; then raw stanza strings in and out.
 *
 * Made for many thousands of connections in one process: no XML trees, no per-stanza objects
 * beyond the string the splitter cuts out, stanzas written as pre-built strings.
 */
import net from 'node:net';
import tls from 'node:tls';
import { ScramSha1Client, plainPayload } from './scram-client.js';
import { XmlSplitter, attr, elementName, innerText, unescapeXml } from './xml-splitter.js';

export type TlsMode = 'starttls' | 'direct';
export type SaslMechanism = 'SCRAM-SHA-1' | 'PLAIN';

export interface LoginOptions {
  host: string;
  port: number;
  domain: string;
  tls: TlsMode;
  mechanism: SaslMechanism;
  username: string;
  password: string;
  resource: string;
  /** The whole login must finish within this time. */
  timeoutMs: number;
}

export interface LoginTimings {
  /** From the first TCP byte to the bind result, in milliseconds. */
  toBoundMs: number;
  /** Milestones on the way, in milliseconds from the start: TCP connected, TLS up, SASL success. */
  connectedMs: number;
  tlsMs: number;
  authMs: number;
}

const NS_STREAM_HEADER = (domain: string) =>
  `<?xml version='1.0'?><stream:stream to='${domain}' version='1.0' xml:lang='en' ` +
  "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";

/** The TLS parameters negotiated, to show that both servers were measured with the same. */
export interface TlsInfo { protocol: string; cipher: string; group: string }

type State = 'features-tls' | 'proceed' | 'features-auth' | 'sasl' | 'features-bind' | 'bind' | 'bound' | 'closed';

export class BenchConnection {
  private socket: net.Socket | tls.TLSSocket;
  private state: State = 'features-tls';
  private readonly splitter: XmlSplitter;
  private scram: ScramSha1Client | null = null;
  private resolveLogin: ((t: LoginTimings) => void) | null = null;
  private rejectLogin: ((err: Error) => void) | null = null;
  private loginTimer: NodeJS.Timeout | null = null;
  private readonly startedAt = performance.now();
  private readonly marks = { connectedMs: 0, tlsMs: 0, authMs: 0 };
  /** The full JID the server bound. */
  jid = '';
  tlsInfo: TlsInfo | null = null;
  /** Every top-level element after binding (stanzas, stream errors). */
  onStanza: (xml: string) => void = () => undefined;
  /** Once, when the connection is gone, with the reason. */
  onClose: (reason: string) => void = () => undefined;
  /** The server's stream error condition, if one ended the stream. */
  streamError: string | null = null;
  private closeReason = 'closed by the server';

  private constructor(private readonly opts: LoginOptions) {
    this.splitter = new XmlSplitter({
      streamOpen: () => undefined,
      element: (xml) => this.onElement(xml),
      streamClose: () => { this.closeReason = 'stream closed by the server'; this.destroy(); },
    });
    if (opts.tls === 'direct') {
      this.socket = tls.connect({
        host: opts.host, port: opts.port, servername: opts.domain, rejectUnauthorized: false, ALPNProtocols: ['xmpp-client'],
      });
      this.state = 'features-auth';
      this.socket.once('connect', () => { this.marks.connectedMs = performance.now() - this.startedAt; });
      this.socket.once('secureConnect', () => {
        this.marks.tlsMs = performance.now() - this.startedAt;
        this.noteTls(this.socket as tls.TLSSocket);
        this.socket.write(NS_STREAM_HEADER(opts.domain));
      });
    } else {
      this.socket = net.connect({ host: opts.host, port: opts.port });
      this.socket.once('connect', () => {
        this.marks.connectedMs = performance.now() - this.startedAt;
        this.socket.setNoDelay(true);
        this.socket.write(NS_STREAM_HEADER(opts.domain));
      });
    }
    this.socket.setNoDelay(true);
    this.listen(this.socket);
  }

  /** Connect and log in; resolves when the resource is bound. */
  static login(opts: LoginOptions): Promise<{ conn: BenchConnection; timings: LoginTimings }> {
    return new Promise((resolve, reject) => {
      const conn = new BenchConnection(opts);
      conn.resolveLogin = (timings) => resolve({ conn, timings });
      conn.rejectLogin = reject;
      conn.loginTimer = setTimeout(() => conn.fail(new Error(`login timed out after ${opts.timeoutMs} ms in state ${conn.state}`)), opts.timeoutMs);
    });
  }

  private listen(socket: net.Socket): void {
    socket.on('data', (chunk: Buffer) => this.splitter.write(chunk));
    socket.on('error', (err) => { this.closeReason = `socket error: ${(err as NodeJS.ErrnoException).code ?? err.message}`; });
    socket.on('close', () => this.closed());
  }

  private noteTls(socket: tls.TLSSocket): void {
    const cipher = socket.getCipher();
    const eph = socket.getEphemeralKeyInfo() as { name?: string; type?: string } | null;
    this.tlsInfo = { protocol: socket.getProtocol() ?? '?', cipher: cipher?.standardName ?? cipher?.name ?? '?', group: eph?.name ?? eph?.type ?? '?' };
  }

  get bound(): boolean { return this.state === 'bound'; }

  send(data: string): void {
    if (this.state !== 'closed') this.socket.write(data);
  }

  /** Bytes queued in user space and not yet handed to the kernel. */
  get writeBacklog(): number { return this.socket.writableLength; }

  /** Close the stream politely; the socket goes once written. */
  close(): void {
    if (this.state === 'closed') return;
    this.closeReason = 'closed by the client';
    this.socket.end('</stream:stream>');
    this.state = 'closed';
    const s = this.socket;
    setTimeout(() => s.destroy(), 2000).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private closed(): void {
    const wasLoggingIn = this.resolveLogin !== null;
    this.state = 'closed';
    if (wasLoggingIn) this.fail(new Error(`${this.closeReason} during login${this.streamError ? ` (stream error ${this.streamError})` : ''}`));
    this.onClose(this.closeReason);
  }

  private fail(err: Error): void {
    const reject = this.rejectLogin;
    this.resolveLogin = null;
    this.rejectLogin = null;
    if (this.loginTimer) { clearTimeout(this.loginTimer); this.loginTimer = null; }
    this.socket.destroy();
    reject?.(err);
  }

  private onElement(xml: string): void {
    if (this.state === 'bound') {
      if (xml.startsWith('<stream:error')) this.streamError = streamErrorCondition(xml);
      this.onStanza(xml);
      return;
    }
    const name = elementName(xml);
    if (name === 'error' && xml.startsWith('<stream:error')) {
      this.streamError = streamErrorCondition(xml);
      this.closeReason = `stream error ${this.streamError}`;
      return this.fail(new Error(`stream error during login: ${this.streamError}`));
    }
    try {
      this.negotiate(name, xml);
    } catch (err) {
      this.fail(err as Error);
    }
  }

  private negotiate(name: string, xml: string): void {
    const o = this.opts;
    switch (this.state) {
      case 'features-tls':
        if (name !== 'features') return;
        if (!xml.includes('urn:ietf:params:xml:ns:xmpp-tls')) throw new Error('the server offers no STARTTLS');
        this.state = 'proceed';
        this.socket.write("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
        return;
      case 'proceed': {
        if (name !== 'proceed') throw new Error(`STARTTLS refused: ${xml}`);
        const plain = this.socket;
        plain.removeAllListeners('data');
        plain.removeAllListeners('close');
        plain.removeAllListeners('error');
        this.splitter.reset();
        const secure = tls.connect({ socket: plain, servername: o.domain, rejectUnauthorized: false });
        this.socket = secure;
        this.listen(secure);
        this.state = 'features-auth';
        secure.once('secureConnect', () => {
          this.marks.tlsMs = performance.now() - this.startedAt;
          this.noteTls(secure);
          secure.write(NS_STREAM_HEADER(o.domain));
        });
        return;
      }
      case 'features-auth':
        if (name !== 'features') return;
        if (!xml.includes(`>${o.mechanism}<`)) throw new Error(`the server does not offer ${o.mechanism}`);
        this.state = 'sasl';
        if (o.mechanism === 'PLAIN') {
          this.socket.write(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${plainPayload(o.username, o.password)}</auth>`);
        } else {
          this.scram = new ScramSha1Client(o.username, o.password);
          this.socket.write(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>${this.scram.first()}</auth>`);
        }
        return;
      case 'sasl':
        if (name === 'challenge') {
          const response = this.scram!.final(innerText(xml).trim());
          this.socket.write(`<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>${response}</response>`);
          return;
        }
        if (name === 'success') {
          if (this.scram && !this.scram.verify(innerText(xml).trim())) throw new Error('the server signature is wrong');
          this.marks.authMs = performance.now() - this.startedAt;
          this.splitter.reset();
          this.state = 'features-bind';
          this.socket.write(NS_STREAM_HEADER(o.domain));
          return;
        }
        throw new Error(`authentication failed: ${xml}`);
      case 'features-bind':
        if (name !== 'features') return;
        this.state = 'bind';
        this.socket.write(`<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${o.resource}</resource></bind></iq>`);
        return;
      case 'bind': {
        if (name !== 'iq' || attr(xml, 'id') !== 'bind') return;
        if (attr(xml, 'type') !== 'result') throw new Error(`bind failed: ${xml}`);
        const jidStart = xml.indexOf('<jid>');
        this.jid = jidStart >= 0 ? unescapeXml(xml.slice(jidStart + 5, xml.indexOf('</jid>', jidStart))) : '';
        this.state = 'bound';
        const resolve = this.resolveLogin;
        this.resolveLogin = null;
        this.rejectLogin = null;
        if (this.loginTimer) { clearTimeout(this.loginTimer); this.loginTimer = null; }
        resolve?.({ toBoundMs: performance.now() - this.startedAt, ...this.marks });
        return;
      }
      default:
        return;
    }
  }
}

/** The condition element's name in a `<stream:error>`. */
function streamErrorCondition(xml: string): string {
  const m = /<([a-z-]+)[^>]*xmlns=['"]urn:ietf:params:xml:ns:xmpp-streams['"]/.exec(xml);
  return m?.[1] ?? 'unknown';
}
