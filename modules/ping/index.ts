import { defineModule, NS, z, duration, xml, StreamError } from '../../server/api/index.js';
import { startKeepalive } from './keepalive.js';

export default defineModule({
  name: 'ping',
  description: 'XEP-0199 XMPP Ping: answers pings, and pings idle clients to find dead connections.',
  xeps: [{ xep: 199, version: '2.0.1', status: 'complete' }],
  config: z.strictObject({
    keepalive_interval: duration('5m').describe('Ping a client after this long without traffic from it; 0 turns keepalive off'),
    keepalive_timeout: duration('60s').describe('Close the session when a keepalive ping gets no answer within this time'),
  }),
  setup(ctx) {
    ctx.disco.addFeature(NS.PING);
    ctx.disco.addFeature(NS.PING, 'account');
    // XEP-0199 section 4 and 5: client-to-server and client-to-account pings get an empty result.
    ctx.iq.handle({ type: 'get', xmlns: NS.PING, name: 'ping', to: ['server', 'account'] }, () => undefined);
    if (ctx.config.keepalive_interval > 0) {
      startKeepalive(ctx, {
        intervalMs: ctx.config.keepalive_interval,
        timeoutMs: ctx.config.keepalive_timeout,
        ping: (session) => ctx.router.request(
          xml('iq', { type: 'get', from: session.jid.domain, to: session.jid.full }, xml('ping', { xmlns: NS.PING })),
          ctx.config.keepalive_timeout,
        ),
        timeoutError: () => new StreamError('connection-timeout', 'no answer to keepalive ping'),
      });
    }
  },
});
