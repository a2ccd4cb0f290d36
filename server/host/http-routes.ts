import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { HttpRequestHandler } from '../api/context.js';

/** HTTP routes that modules add (ctx.http.route), served on the HTTP listener beside WebSocket. */
export class HttpRoutes {
  private readonly routes = new Map<string, { handler: HttpRequestHandler; module: string }>();

  constructor(private readonly log: Logger) {}

  add(method: string, path: string, handler: HttpRequestHandler, module: string): () => void {
    const key = `${method} ${path}`;
    if (this.routes.has(key)) throw new Error(`HTTP route ${key} is already taken by module ${this.routes.get(key)!.module}`);
    this.routes.set(key, { handler, module });
    return () => { this.routes.delete(key); };
  }

  /** Serve a request; returns false when no route matches. */
  serve(req: IncomingMessage, res: ServerResponse): boolean {
    const path = (req.url ?? '/').split('?')[0];
    const route = this.routes.get(`${req.method} ${path}`);
    if (!route) return false;
    Promise.resolve()
      .then(() => route.handler(req, res))
      .catch((err) => {
        this.log.error({ module: route.module, err }, 'HTTP handler failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal server error\n');
      });
    return true;
  }
}
