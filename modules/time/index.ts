import { defineModule, NS, xml } from '../../server/api/index.js';

/** XEP-0082 time zone offset like "+01:00" for the server's local zone. */
function tzo(date: Date): string {
  const minutes = -date.getTimezoneOffset();
  const sign = minutes >= 0 ? '+' : '-';
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

export default defineModule({
  name: 'time',
  description: "XEP-0202 Entity Time: the server's clock, so clients can spot skew.",
  xeps: [{ xep: 202, version: '2.0', status: 'complete' }],
  setup(ctx) {
    ctx.disco.addFeature(NS.TIME);
    ctx.iq.handle({ type: 'get', xmlns: NS.TIME, name: 'time', to: 'server' }, () => {
      const now = new Date();
      return xml('time', { xmlns: NS.TIME }, xml('tzo', {}, tzo(now)), xml('utc', {}, now.toISOString().replace(/\.\d{3}Z$/, 'Z')));
    });
  },
});
