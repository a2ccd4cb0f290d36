import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { xml } from '@xmpp/xml';
import { PACKAGE_ROOT } from '../../server/paths.js';
import { startServer } from '../kit/server.js';

/**
 * The module author guide's example (docs/examples/faq-bot), installed the way a third party would:
 * a folder under module_paths with index.js and schema/.
 */
function installFaqBot(): string {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-modules-'));
  const target = path.join(folder, 'faq-bot');
  fs.mkdirSync(target);
  const compiled = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'examples', 'faq-bot', 'index.js');
  // The compiled example imports the API by a path relative to the repository; point it at the build.
  const api = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'server', 'api', 'index.js');
  fs.writeFileSync(path.join(target, 'index.js'), fs.readFileSync(compiled, 'utf8').replace('../../../server/api/index.js', api));
  fs.cpSync(path.join(PACKAGE_ROOT, 'docs', 'examples', 'faq-bot', 'schema'), path.join(target, 'schema'), { recursive: true });
  return folder;
}

test('the example FAQ bot from the author guide loads from module_paths and answers from its table', async (t) => {
  const s = await startServer(t, {
    modules: { disco: {}, message: {}, 'faq-bot': { jid: 'faq@localhost' } },
    config: { module_paths: [installFaqBot()] },
  });
  await s.createUser('alice');
  const alice = await s.connect('alice');
  await alice.send(xml('message', { to: 'faq@localhost', type: 'chat' }, xml('body', {}, 'How do I use the VPN?')));
  const answer = await alice.next((el) => el.name === 'message' && el.attrs.from === 'faq@localhost');
  assert.match(answer.getChildText('body')!, /VPN guide/);
  await alice.send(xml('message', { to: 'faq@localhost', type: 'chat' }, xml('body', {}, 'what is the meaning of life')));
  assert.match((await alice.next((el) => el.name === 'message' && el.attrs.from === 'faq@localhost')).getChildText('body')!, /do not know/);
});

test("a third-party module's config section is validated like a built-in one", async () => {
  await assert.rejects(
    startServer(null, { modules: { message: {}, 'faq-bot': { jdi: 'x@localhost' } }, config: { module_paths: [installFaqBot()] } }),
    /modules\.faq-bot\.jdi: unknown option\. Did you mean "jid"\?/,
  );
});
