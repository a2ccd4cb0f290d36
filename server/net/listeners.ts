import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { SocketTransport, WebSocketTransport, type Transport } from './transport.js';

export interface ListenerSpec { host: string; port: number }

export interface ListenerOptions {
  log: Logger;
  tlsOptions: tls.TlsOptions;
  c2s: ListenerSpec | null;
  directTls: ListenerSpec | null;
  http: (ListenerSpec & { tls: boolean; websocketPath: string }) | null;
  onTransport(t: Transport): void;
  /** Requests that are not the WebSocket upgrade (module HTTP routes); false = 404. */
  onHttpRequest(req: http.IncomingMessage, res: http.ServerResponse): boolean;
  /** Refuse new connections while at the limit (file descriptors are finite). */
  maxConnections: number;
}

export interface BoundAddresses { c2s?: number; directTls?: number; http?: number }

/** The sockets Parley listens on: c2s with STARTTLS, direct TLS (XEP-0368), HTTP(S) with WebSocket (RFC 7395). */
export class Listeners {
  private readonly servers: net.Server[] = [];
  private wss: WebSocketServer | null = null;
  readonly ports: BoundAddresses = {};

  constructor(private readonly o: ListenerOptions) {}

  async start(): Promise<BoundAddresses> {
    const { o } = this;
    if (o.c2s) {
      const server = net.createServer((socket) => o.onTransport(new SocketTransport(socket, o.tlsOptions, 'tcp')));
      this.ports.c2s = await this.listen(server, o.c2s, 'c2s (STARTTLS)');
    }
    if (o.directTls) {
      // XEP-0368: TLS from the first byte; ALPN 'xmpp-client'.
      const server = tls.createServer({ ...o.tlsOptions, ALPNProtocols: ['xmpp-client'] }, (socket) => o.onTransport(new SocketTransport(socket, null, 'tls')));
      server.on('tlsClientError', (err) => o.log.debug({ err: err.message }, 'TLS handshake failed'));
      this.ports.directTls = await this.listen(server, o.directTls, 'c2s (direct TLS)');
    }
    if (o.http) {
      const spec = o.http;
      const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
        if (o.onHttpRequest(req, res)) return;
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found\n');
      };
      const server = spec.tls ? https.createServer({ ...o.tlsOptions, ALPNProtocols: ['http/1.1'] }, handler) : http.createServer(handler);
      // RFC 7395 3.1: the sub-protocol is 'xmpp'; anything else is refused at the handshake.
      this.wss = new WebSocketServer({
        noServer: true,
        maxPayload: 4 * 1024 * 1024,
        handleProtocols: (protocols) => (protocols.has('xmpp') ? 'xmpp' : false),
      });
      server.on('upgrade', (req, socket, head) => {
        const path = (req.url ?? '').split('?')[0];
        if (path !== spec.websocketPath || !/\bxmpp\b/.test(String(req.headers['sec-websocket-protocol'] ?? ''))) {
          socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
          return;
        }
        this.wss!.handleUpgrade(req, socket, head, (ws) => {
          const tlsSocket = socket instanceof tls.TLSSocket ? socket : null;
          o.onTransport(new WebSocketTransport(ws, req.socket.remoteAddress ?? 'unknown', tlsSocket !== null, tlsSocket));
        });
      });
      if (server instanceof tls.Server) server.on('tlsClientError', (err) => o.log.debug({ err: err.message }, 'TLS handshake failed'));
      this.ports.http = await this.listen(server, spec, spec.tls ? 'HTTPS + WebSocket' : 'HTTP + WebSocket');
    }
    return this.ports;
  }

  private listen(server: net.Server, spec: ListenerSpec, label: string): Promise<number> {
    server.maxConnections = this.o.maxConnections;
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(spec.port, spec.host, () => {
        server.off('error', reject);
        server.on('error', (err) => this.o.log.error({ err, listener: label }, 'listener error'));
        const port = (server.address() as net.AddressInfo).port;
        this.o.log.info({ listener: label, host: spec.host, port }, 'listening');
        resolve(port);
      });
    });
  }

  /** Stop accepting connections (existing ones are closed by the server). */
  async stop(): Promise<void> {
    this.wss?.close();
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}
