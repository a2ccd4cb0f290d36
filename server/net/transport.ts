import type net from 'node:net';
import tls from 'node:tls';
import type { WebSocket } from 'ws';
import type { TransportKind } from '../api/session.js';

/** Bytes in and out of one client connection, whatever carries them. */
export interface Transport {
  readonly kind: TransportKind;
  /** RFC 7395: every WebSocket message holds whole elements; TCP is one long XML document. */
  readonly framed: boolean;
  readonly remoteAddress: string;
  /** Encrypted now (TLS, or WebSocket over TLS). */
  readonly secure: boolean;
  /** STARTTLS can still be negotiated on this transport. */
  readonly canStartTls: boolean;
  /** TLS protocol in use ('TLSv1.3' ...), or null. */
  readonly tlsProtocol: string | null;
  onData(fn: (chunk: Buffer | string) => void): void;
  onClose(fn: (reason: string) => void): void;
  write(data: string): void;
  /** Upgrade to TLS after `<proceed/>` was written (RFC 6120 5.4.3.3). */
  startTls(): Promise<void>;
  /** RFC 9266 tls-exporter channel binding data, or null (no TLS, or TLS 1.2). */
  channelBinding(): Buffer | null;
  pause(): void;
  resume(): void;
  /** Close after pending writes. */
  end(): void;
  destroy(): void;
}

/** Bytes written to a client and not yet taken by it, beyond which the connection is dropped. */
const MAX_WRITE_BUFFER = 16 * 1024 * 1024;

/** TCP, optionally with STARTTLS, or direct TLS (XEP-0368). */
export class SocketTransport implements Transport {
  readonly framed = false;
  readonly remoteAddress: string;
  private socket: net.Socket | tls.TLSSocket;
  private dataFn: ((chunk: Buffer) => void) | null = null;
  private closeFns: ((reason: string) => void)[] = [];
  private closed = false;
  private tlsSocket: tls.TLSSocket | null;
  /** Output of this event-loop turn, written together (see write). */
  private pending: string[] = [];
  private pendingBytes = 0;
  private flushScheduled = false;

  constructor(socket: net.Socket | tls.TLSSocket, private readonly secureContextOptions: tls.TlsOptions | null, public kind: TransportKind) {
    this.socket = socket;
    this.tlsSocket = socket instanceof tls.TLSSocket ? socket : null;
    this.remoteAddress = socket.remoteAddress ?? 'unknown';
    socket.setNoDelay(true);
    this.attach(socket);
  }

  get secure(): boolean { return this.tlsSocket !== null; }
  get canStartTls(): boolean { return this.tlsSocket === null && this.secureContextOptions !== null; }
  get tlsProtocol(): string | null { return this.tlsSocket?.getProtocol() ?? null; }

  private attach(socket: net.Socket): void {
    socket.on('data', (chunk: Buffer) => this.dataFn?.(chunk));
    socket.on('error', () => { /* reported by 'close' */ });
    socket.on('close', (hadError: boolean) => this.closedBy(hadError ? 'connection error' : 'connection closed'));
  }

  private closedBy(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const fn of this.closeFns) fn(reason);
  }

  onData(fn: (chunk: Buffer | string) => void): void { this.dataFn = fn; }
  onClose(fn: (reason: string) => void): void { this.closeFns.push(fn); }

  /**
   * Queue output; everything written to this connection in one turn of the event loop goes out in
   * one socket write (one TLS record, one system call) when the turn's I/O callbacks are done. A
   * burst of messages to one client (a batch of archived messages released together, a presence
   * broadcast, a MAM page) so costs one write instead of one per stanza.
   */
  write(data: string): void {
    if (this.closed || !this.socket.writable) return;
    this.pending.push(data);
    this.pendingBytes += data.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushNow);
    }
    this.checkBuffered();
  }

  private readonly flushNow = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  /** Write what is queued now (before STARTTLS, closing, or destroying). */
  private flush(): void {
    if (this.pending.length === 0) return;
    const data = this.pending.length === 1 ? this.pending[0]! : this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    if (this.closed || !this.socket.writable) return;
    this.socket.write(data);
    this.checkBuffered();
  }

  private checkBuffered(): void {
    // A client that stops reading must not make the server buffer without bound: drop it (with
    // stream management its session waits for a resumption and keeps what it missed).
    if (this.socket.writableLength + this.pendingBytes > MAX_WRITE_BUFFER) {
      this.pending = [];
      this.pendingBytes = 0;
      this.socket.destroy(new Error('client does not read; output buffer full'));
    }
  }

  startTls(): Promise<void> {
    // <proceed/> goes out in the clear, before the handshake (RFC 6120 5.4.3.3).
    this.flush();
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    const secure = new tls.TLSSocket(plain, { ...this.secureContextOptions, isServer: true });
    this.socket = secure;
    this.tlsSocket = secure;
    this.kind = 'tcp';
    this.attach(secure);
    return new Promise((resolve, reject) => {
      secure.once('secure', () => resolve());
      secure.once('error', (err) => reject(err));
      secure.once('close', () => reject(new Error('connection closed during TLS handshake')));
    });
  }

  channelBinding(): Buffer | null {
    // RFC 9266: tls-exporter is defined for TLS 1.3 (TLS 1.2 only with extended master secret, which Node does not expose).
    if (!this.tlsSocket || this.tlsSocket.getProtocol() !== 'TLSv1.3') return null;
    return this.tlsSocket.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0));
  }

  pause(): void { this.socket.pause(); }
  resume(): void { this.socket.resume(); }
  end(): void {
    this.flush();
    this.socket.end();
    // A peer that never closes its side must not hold the connection (or shutdown) open.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }
  destroy(): void {
    // What was written before still goes to the kernel, as it would have without the queue.
    this.flush();
    this.socket.destroy();
  }
}

/** RFC 7395: XMPP over WebSocket; one element (or the open/close framing elements) per message. */
export class WebSocketTransport implements Transport {
  readonly kind = 'websocket' as const;
  readonly framed = true;
  readonly canStartTls = false;
  private closeFns: ((reason: string) => void)[] = [];
  private closed = false;

  constructor(private readonly ws: WebSocket, readonly remoteAddress: string, readonly secure: boolean, private readonly tlsSocket: tls.TLSSocket | null) {
    ws.on('close', () => this.closedBy('connection closed'));
    ws.on('error', () => this.closedBy('connection error'));
  }

  get tlsProtocol(): string | null { return this.tlsSocket?.getProtocol() ?? null; }

  private closedBy(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const fn of this.closeFns) fn(reason);
  }

  onData(fn: (chunk: Buffer | string) => void): void {
    this.ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      fn(isBinary ? buf : buf.toString('utf8'));
    });
  }
  onClose(fn: (reason: string) => void): void { this.closeFns.push(fn); }
  write(data: string): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(data);
    if (this.ws.bufferedAmount > MAX_WRITE_BUFFER) this.ws.terminate();
  }
  startTls(): Promise<void> { return Promise.reject(new Error('STARTTLS is not used over WebSocket')); }
  channelBinding(): Buffer | null {
    if (!this.tlsSocket || this.tlsSocket.getProtocol() !== 'TLSv1.3') return null;
    return this.tlsSocket.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0));
  }
  pause(): void { this.ws.pause(); }
  resume(): void { this.ws.resume(); }
  end(): void { this.ws.close(1000); setTimeout(() => this.ws.terminate(), 1000).unref(); }
  destroy(): void { this.ws.terminate(); }
}
