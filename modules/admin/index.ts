import { defineModule } from '../../server/api/index.js';
import { adminCommands } from './commands.js';

export default defineModule({
  name: 'admin',
  description: 'XEP-0133 Service Administration: ad-hoc commands for the server\'s admins (add, delete, disable users; end sessions; online users; announcements).',
  xeps: [{
    xep: 133, status: 'partial',
    note: 'add, delete, disable, re-enable user; end user session; change password; online users (number and list); announce',
  }],
  requires: ['adhoc', 'accountAdmin'],
  setup(ctx) {
    const adhoc = ctx.services.use('adhoc');
    const accounts = ctx.services.use('accountAdmin');
    // Section 6 and 7: only JIDs with the admin role (config `admins`) see or run them; the
    // framework answers everybody else with forbidden.
    for (const command of adminCommands({ ctx, adhoc, accounts })) adhoc.register(command);
  },
});
