import { defineModule, Stage, StanzaError } from '../../server/api/index.js';
import { Carbons } from './copies.js';
import { CARBONS } from './eligibility.js';

export default defineModule({
  name: 'carbons',
  description: 'XEP-0280 Message Carbons: every device of a user sees both sides of every conversation.',
  xeps: [
    { xep: 280, status: 'complete' },
    { xep: 297, status: 'complete', note: 'forwarded copies inside carbons' },
    { xep: 334, status: 'partial', note: 'no-copy keeps a message out of carbons' },
  ],
  setup(ctx) {
    const carbons = new Carbons(ctx);
    ctx.disco.addFeature(CARBONS);

    const toggle = (on: boolean) => ctx.iq.handle({ type: 'set', xmlns: CARBONS, name: on ? 'enable' : 'disable', to: 'self' }, (iq) => {
      // Section 3.1: only a client of this server can switch its own carbons.
      if (!iq.origin) throw new StanzaError('not-allowed', 'Carbons are switched by the client session itself');
      carbons.setEnabled(iq.origin, on);
    });
    toggle(true);
    toggle(false);

    // Before the message module delivers (HANDLE): copies are made from what policy let through,
    // and the recipient's copy of a <private/> message loses the element.
    ctx.hooks.on('message/bare', carbons.localMessage, { stage: Stage.POLICY });
    ctx.hooks.on('message/full', carbons.localMessage, { stage: Stage.POLICY });
    ctx.hooks.on('route/remote', carbons.remoteMessage, { stage: Stage.POLICY });
  },
});
