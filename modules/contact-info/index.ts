import { defineModule, z } from '../../server/api/index.js';
import { serverInfoForm } from './form.js';

/** A URI as XEP-0157 wants it: a scheme, a colon, something after it (mailto:, xmpp:, https:, tel:). */
const uri = z.string().regex(/^[a-z][a-z0-9+.-]*:\S+$/i, 'expected a URI like "mailto:abuse@example.com" or "xmpp:admin@example.com"');
const addresses = (who: string) => z.array(uri).default([]).describe(`Addresses for ${who}`);

export default defineModule({
  name: 'contact-info',
  description: 'XEP-0157 Contact Addresses for XMPP Services: who to contact about abuse, security, support … in the server\'s disco#info.',
  xeps: [{ xep: 157, status: 'complete' }],
  config: z.strictObject({
    abuse: addresses('reporting abuse (spam, harassment)'),
    admin: addresses('the administrators of the service'),
    feedback: addresses('feedback about the service'),
    sales: addresses('sales questions'),
    security: addresses('reporting security issues'),
    status: addresses('service status (a status page, a news feed)'),
    support: addresses('user support'),
  }),
  setup(ctx) {
    const form = serverInfoForm(ctx.config);
    if (!form) {
      ctx.log.info('no contact addresses configured; nothing to announce');
      return;
    }
    // XEP-0157 section 2: an XEP-0128 extension of the server's disco#info.
    ctx.disco.addExtension(form, 'server');
  },
});
