import { defineModule, xml, z } from '../../server/api/index.js';
import { ClientStates } from './state.js';

const CSI = 'urn:xmpp:csi:0';

export default defineModule({
  name: 'csi',
  description: 'XEP-0352 Client State Indication: phones in the pocket get presence updates and other chatter in batches, messages at once.',
  xeps: [{ xep: 352, status: 'complete' }],
  config: z.strictObject({
    max_held: z.int().min(1).default(500)
      .describe('Most stanzas held back for one inactive session; when more come, all of them are sent'),
  }),
  setup(ctx) {
    const states = new ClientStates(ctx, ctx.config.max_held);
    // Section 4.1: offered after authentication.
    ctx.stream.addFeature(xml('csi', { xmlns: CSI }));
    // Section 4.2: no reply to either element.
    ctx.stream.handle(CSI, 'inactive', (session) => states.setInactive(session));
    ctx.stream.handle(CSI, 'active', (session) => states.setActive(session));
    // HANDLE stage: blocking (GUARD) and other filters run first; what is held has passed them.
    ctx.hooks.on('stanza/out', states.outgoing);
    ctx.events.on('session/closed', ({ session }) => states.closed(session));
  },
});
