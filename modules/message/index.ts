import { defineModule, StanzaError, block, handled } from '../../server/api/index.js';

/**
 * Plain message delivery between local accounts (RFC 6121 section 8.5). Offline storage, carbons
 * and archiving are other modules: when nobody can take a message this module passes, so the
 * FALLBACK stage (offline storage) or the core's bounce answers it.
 */
export default defineModule({
  name: 'message',
  description: 'RFC 6121 8.5 message delivery to the right resources of local accounts.',
  setup(ctx) {
    ctx.hooks.on('message/bare', (event) => {
      // RFC 6121 8.5.2.1.3: groupchat to a bare JID is an error, there is no room here.
      if (event.type === 'groupchat') return block(new StanzaError('service-unavailable', 'groupchat messages go to a room'));
      return ctx.router.deliverToBareJid(event.stanza, event.to) > 0 ? handled() : undefined;
    });

    ctx.hooks.on('message/full', (event) => {
      const session = ctx.sessions.byFullJid(event.to);
      if (session && session.deliver(event.stanza)) return handled();
      // RFC 6121 8.5.3.2.1: the resource is gone.
      switch (event.type) {
        case 'chat':
        case 'normal':
          // ... treat it as if it were addressed to the bare JID.
          return ctx.router.deliverToBareJid(event.stanza, event.to.bareJid()) > 0 ? handled() : undefined;
        case 'groupchat':
          return block(new StanzaError('service-unavailable', 'the resource is not online'));
        default:
          // headline and error to a missing resource are silently ignored (RFC 6121 8.5.3.2.1).
          return handled();
      }
    });
  },
});
