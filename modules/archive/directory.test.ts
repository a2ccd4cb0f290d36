import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { xml, type Element } from '@xmpp/xml';
import { startServer } from '../../test/kit/server.js';
import { openldapDirectoryConfig, slapdSkip, startSlapd, type Slapd } from '../../test/kit/slapd.js';
import { Jid } from '../../server/xml/jid.js';
import type { ArchiveRecord } from './record.js';
import type { ComplianceService } from './service.js';

// The archive with the company directory (a real slapd): the compliance role from a directory
// group, retention by department, and officers authenticated with their directory password.

const skip = slapdSkip;
let slapd: Slapd;
before(async () => { if (!skip) slapd = await startSlapd(); });
after(async () => { await slapd?.destroy(); });

const isBody = (text: string) => (el: Element) => el.name === 'message' && el.getChildText('body') === text;

test('the compliance role and retention come from directory groups', { skip }, async (t) => {
  const s = await startServer(t, {
    modules: {
      disco: {}, message: {}, directory: openldapDirectoryConfig(slapd),
      archive: { compliance: { groups: ['Management'] }, retention: { default: '3y', groups: { Sales: '7y' } } },
    },
  });
  const compliance = s.server.host.service('compliance') as ComplianceService;
  assert.equal(compliance.mayRead('dora@localhost'), true, 'dora is in Management');
  assert.equal(compliance.mayRead('bob@localhost'), false, 'bob is in Sales only');
  assert.throws(() => compliance.search('bob@localhost', {}), /not in the compliance role/);
  // What the CLI checks for --as: the directory password, like a login.
  assert.equal(await s.server.accountsApi.verifyPassword(Jid.parse('dora@localhost'), 'dora-secret'), 'ok');
  assert.equal(await s.server.accountsApi.verifyPassword(Jid.parse('dora@localhost'), 'wrong'), 'wrong');

  const bob = await s.connect('bob', { password: 'bob-secret' });
  const carol = await s.connect('carol', { password: 'carol-secret' });
  const dave = await s.connect('dave', { password: 'dave-secret' });
  await bob.send(xml('message', { to: 'carol@localhost', type: 'chat' }, xml('body', {}, 'sales to engineering')));
  await carol.next(isBody('sales to engineering'));
  await carol.send(xml('message', { to: 'dave@localhost', type: 'chat' }, xml('body', {}, 'within engineering')));
  await dave.next(isBody('within engineering'));

  const found = compliance.search('dora@localhost', { keywords: 'engineering' }).records;
  assert.deepEqual(found.map((r) => r.body), ['sales to engineering', 'within engineering']);
  await s.stop();

  const db = new Database(path.join(s.dataDir, 'archive', 'archive.db'), { readonly: true });
  t.after(() => db.close());
  const records = db.prepare("SELECT * FROM records WHERE kind = 'message' ORDER BY seq").all() as ArchiveRecord[];
  const year = (r: ArchiveRecord) => Number(r.retain_until.slice(0, 4)) - Number(r.day.slice(0, 4));
  assert.equal(year(records[0]!), 7, 'a Sales participant: the longest period applies');
  assert.equal(year(records[1]!), 3, 'engineering only: the default');
  const log = db.prepare('SELECT actor, action, result FROM access_log ORDER BY seq').all();
  assert.deepEqual(log, [
    { actor: 'bob@localhost', action: 'search', result: 'refused' },
    { actor: 'dora@localhost', action: 'search', result: 'allowed' },
  ]);
});
