import os from 'node:os';
import { defineModule, NS, z, xml } from '../../server/api/index.js';

export default defineModule({
  name: 'version',
  description: 'XEP-0092 Software Version: tells clients which server software runs here.',
  xeps: [{ xep: 92, version: '1.1', status: 'complete' }],
  config: z.strictObject({
    show_os: z.boolean().default(false).describe('Include the operating system in the answer (off: less for an attacker to learn)'),
  }),
  setup(ctx) {
    ctx.disco.addFeature(NS.VERSION);
    ctx.iq.handle({ type: 'get', xmlns: NS.VERSION, name: 'query', to: 'server' }, () =>
      xml('query', { xmlns: NS.VERSION },
        xml('name', {}, ctx.server.name),
        xml('version', {}, ctx.server.version),
        ctx.config.show_os ? xml('os', {}, `${os.type()} ${os.release()}`) : null,
      ));
  },
});
