import { defineModule, NS, z } from '../../server/api/index.js';
import { infoResponse, itemsResponse } from './responses.js';

export default defineModule({
  name: 'disco',
  description: 'XEP-0030 Service Discovery: what the server and each account support, and which services it hosts.',
  xeps: [{ xep: 30, version: '2.5rc3', status: 'complete' }, { xep: 128, version: '1.0.1', status: 'complete' }],
  config: z.strictObject({
    name: z.string().default('Parley').describe('The server identity name shown to clients'),
    items: z.array(z.strictObject({
      jid: z.string().describe('Address of the service'),
      name: z.string().optional().describe('Human-readable name'),
    })).default([]).describe('Extra services to list in disco#items of the server (e.g. a gateway on another host)'),
  }),
  setup(ctx) {
    ctx.disco.addIdentity({ category: 'server', type: 'im', name: ctx.config.name });
    ctx.disco.addFeature(NS.DISCO_INFO);
    ctx.disco.addFeature(NS.DISCO_ITEMS);
    ctx.disco.addIdentity({ category: 'account', type: 'registered' }, 'account');
    ctx.disco.addFeature(NS.DISCO_INFO, 'account');
    ctx.disco.addFeature(NS.DISCO_ITEMS, 'account');
    for (const item of ctx.config.items) ctx.disco.addItem(item);

    ctx.iq.handle({ type: 'get', xmlns: NS.DISCO_INFO, name: 'query', to: 'server' },
      (iq) => infoResponse(ctx.disco, 'server', iq.payload.attrs.node));
    ctx.iq.handle({ type: 'get', xmlns: NS.DISCO_INFO, name: 'query', to: 'account' },
      (iq) => infoResponse(ctx.disco, 'account', iq.payload.attrs.node));
    ctx.iq.handle({ type: 'get', xmlns: NS.DISCO_ITEMS, name: 'query', to: 'server' },
      (iq) => itemsResponse(ctx.disco.items(), iq.payload.attrs.node));
    // Account items (PEP nodes) are listed by the PEP module when it is loaded; none otherwise.
    ctx.iq.handle({ type: 'get', xmlns: NS.DISCO_ITEMS, name: 'query', to: 'account' },
      (iq) => itemsResponse([], iq.payload.attrs.node));
  },
});
