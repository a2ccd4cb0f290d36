import { defineModule, duration, NS, Stage, z } from '../../server/api/index.js';
import { ClientCaps } from './client-caps.js';
import { ServerCaps } from './server-caps.js';

export default defineModule({
  name: 'caps',
  description: 'XEP-0115 Entity Capabilities: the server\'s own caps in the stream features, and what each client can do (for PEP notifications).',
  xeps: [{ xep: 115, status: 'complete', note: 'server caps as a stream feature; client caps resolved, verified and cached for +notify' }],
  provides: ['caps'],
  config: z.strictObject({
    node: z.string().min(1).default('urn:x-parley:server').describe('The caps node URI that names this server software'),
    query_timeout: duration('10s').describe('How long to wait for a client to answer the disco#info query about its caps'),
    cache_size: z.int().min(16).default(5000).describe('Most client verification strings remembered'),
  }),
  setup(ctx) {
    const server = new ServerCaps(ctx, ctx.config.node);
    ctx.disco.addFeature(NS.CAPS);
    ctx.stream.addFeature(server.streamFeature());
    ctx.hooks.on('stanza/in', server.answerCapsNode, { stage: Stage.HANDLE });

    const clients = new ClientCaps(ctx, { queryTimeoutMs: ctx.config.query_timeout, cacheSize: ctx.config.cache_size });
    ctx.services.provide('caps', clients);
    // Not awaited: the answer to the disco#info query comes over the same stream, whose reading
    // waits until this presence is processed.
    ctx.events.on('session/available', ({ session }) => {
      clients.presenceChanged(session).catch((err) => ctx.log.error({ err, session: session.id }, 'resolving client caps failed'));
    });
  },
});
