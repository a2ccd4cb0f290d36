import { defineModule, duration, NS, Stage, z } from '../../server/api/index.js';
import { COMMANDS, Commands } from './commands.js';
import { discoNodes } from './disco.js';

export default defineModule({
  name: 'adhoc',
  description: 'XEP-0050 Ad-Hoc Commands on the server\'s domain, as a service other modules register commands with.',
  xeps: [
    { xep: 50, status: 'complete', note: 'commands on the server domain; multi-step runs with sessions, next/prev/complete/cancel' },
    { xep: 4, status: 'partial', note: 'forms for commands: build and read fields; no validation of datatypes (XEP-0122)' },
  ],
  provides: ['adhoc'],
  config: z.strictObject({
    session_timeout: duration('10m').describe('An unfinished command run with no step for this long is forgotten'),
    max_runs_per_requester: z.int().min(1).default(10).describe('Most unfinished command runs one client may have'),
  }),
  setup(ctx) {
    const commands = new Commands(ctx, {
      sessionTimeoutMs: ctx.config.session_timeout, maxRunsPerRequester: ctx.config.max_runs_per_requester,
    });
    ctx.services.provide('adhoc', commands);
    ctx.disco.addFeature(COMMANDS);
    ctx.disco.addFeature(NS.DATA_FORMS);
    ctx.iq.handle({ type: 'set', xmlns: COMMANDS, name: 'command', to: 'server' }, commands.handle);
    ctx.hooks.on('stanza/in', discoNodes(ctx, commands), { stage: Stage.HANDLE });
    ctx.events.on('session/closed', ({ session }) => commands.forget(session.jid.full));
  },
});
