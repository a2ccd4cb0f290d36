import net from 'node:net';
import tls from 'node:tls';

/**
 * A raw XMPP connection for tests that must send what no client library would: bad XML, a spoofed
 * 'from', PLAIN before TLS. Reads everything into one string and waits for patterns in it.
 */
export class RawClient {
  private buf = '';
  private waiters: (() => void)[] = [];
  closed = false;
  private socket: net.Socket;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.attach(socket);
  }

  static async connect(port: number, opts: { tls?: boolean } = {}): Promise<RawClient> {
    const socket = opts.tls
      ? tls.connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false })
      : net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once(opts.tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  private attach(socket: net.Socket): void {
    socket.on('data', (d: Buffer) => { this.buf += d.toString('utf8'); this.wake(); });
    socket.on('close', () => { this.closed = true; this.wake(); });
    socket.on('error', () => undefined);
  }

  private wake(): void { for (const w of this.waiters.splice(0)) w(); }

  get received(): string { return this.buf; }

  write(s: string | Buffer): void { this.socket.write(s); }

  /** Wait until the received text matches; returns the match. */
  async waitFor(pattern: RegExp, timeoutMs = 5000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.buf.match(pattern);
      if (m) return m;
      if (this.closed) throw new Error(`connection closed before ${pattern}; received: ${this.buf.slice(-1500)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${pattern}; received: ${this.buf.slice(-1500)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }

  /** Wait for the server to close the connection. */
  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('the server did not close the connection');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }

  openStream(to = 'localhost'): void {
    this.write(`<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='${to}' version='1.0'>`);
  }

  /** STARTTLS on this connection: sends <starttls/>, waits for <proceed/>, upgrades. */
  async startTls(): Promise<void> {
    this.write("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    await this.waitFor(/<proceed[^>]*\/>/);
    this.socket.removeAllListeners('data');
    this.socket.removeAllListeners('close');
    const secure = tls.connect({ socket: this.socket, servername: 'localhost', rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => { secure.once('secureConnect', () => resolve()); secure.once('error', reject); });
    this.buf = '';
    this.socket = secure;
    this.attach(secure);
  }

  /** Authenticate with PLAIN on an encrypted stream and restart it; waits for the bind feature. */
  async authenticatePlain(user: string, password: string, domain = 'localhost'): Promise<void> {
    const payload = Buffer.from(`\0${user}\0${password}`).toString('base64');
    this.write(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${payload}</auth>`);
    await this.waitFor(/<success[^>]*(\/>|>[^<]*<\/success>)/);
    this.buf = '';
    this.openStream(domain);
    await this.waitFor(/<bind /);
  }

  async bind(resource = 'raw'): Promise<string> {
    this.write(`<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${resource}</resource></bind></iq>`);
    const m = await this.waitFor(/<jid>([^<]+)<\/jid>/);
    return m[1]!;
  }

  /** Full login over STARTTLS: stream, TLS, PLAIN, bind. */
  static async login(port: number, user: string, password: string, resource = 'raw'): Promise<RawClient> {
    const c = await RawClient.authenticated(port, user, password);
    await c.bind(resource);
    return c;
  }

  /** Stream, TLS and PLAIN, stopping where a client binds a resource or resumes a session. */
  static async authenticated(port: number, user: string, password: string): Promise<RawClient> {
    const c = await RawClient.secured(port);
    await c.authenticatePlain(user, password);
    return c;
  }

  /** Stream and STARTTLS, stopping at the features of the encrypted stream (where SASL starts). */
  static async secured(port: number): Promise<RawClient> {
    const c = await RawClient.connect(port);
    c.openStream();
    await c.waitFor(/<starttls/);
    await c.startTls();
    c.openStream();
    await c.waitFor(/<\/stream:features>/);
    return c;
  }

  /** RFC 9266 tls-exporter bytes of this connection (TLS 1.3), for SCRAM -PLUS. */
  channelBinding(): Buffer | null {
    const s = this.socket as tls.TLSSocket;
    if (typeof s.exportKeyingMaterial !== 'function' || s.getProtocol() !== 'TLSv1.3') return null;
    return s.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0));
  }

  /** Forget what was received so far (before waiting for the next answer). */
  clear(): void { this.buf = ''; }

  destroy(): void { this.socket.destroy(); }
}
