import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { z } from 'zod';
import { CONFIG_DOCS_PATH, findProjectRoot, renderConfigDocs } from './docs.js';
import { duration, parseDuration } from './duration.js';
import { fileLabel, suggest, validateSection } from './errors.js';
import { ConfigError, loadConfig } from './load.js';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'parley-config-'));
}

/** A temp folder holding parley.yml with `yaml` as its contents. */
function withConfig(yaml: string): { dir: string; file: string } {
  const dir = tempDir();
  const file = path.join(dir, 'parley.yml');
  fs.writeFileSync(file, yaml);
  return { dir, file };
}

/** The problems of the ConfigError that `promise` rejects with. */
async function problemsOf(promise: Promise<unknown>): Promise<string[]> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.message, err.problems.join('\n'));
    return err.problems;
  }
  assert.fail('expected loading to fail');
}

test('no config file gives every default', async () => {
  const dir = tempDir();
  const config = await loadConfig({ cwd: dir });
  assert.equal(config.file, null);
  assert.equal(config.baseDir, dir);
  assert.deepEqual(config.core.domains, ['localhost']);
  assert.equal(config.core.data_dir, path.join(dir, 'data'));
  assert.deepEqual(config.core.log, { level: 'info', format: 'json' });
  assert.equal(config.core.tls.certs_dir, path.join(dir, 'certs'));
  assert.deepEqual(config.core.tls.certificates, []);
  assert.equal(config.core.tls.min_version, 'TLSv1.2');
  assert.deepEqual(config.core.listeners.c2s, { enabled: true, host: '::', port: 5222 });
  assert.equal(config.core.listeners.c2s_direct_tls.port, 5223);
  assert.deepEqual(config.core.listeners.http, {
    enabled: true,
    host: '::',
    port: 5280,
    tls: true,
    websocket_path: '/xmpp-websocket',
  });
  assert.deepEqual(config.core.limits, {
    max_stanza_bytes: 262144,
    max_depth: 64,
    auth_timeout: 30_000,
    auth_failure_delay: 2_000,
    auth_failure_delay_max: 30_000,
    auth_failure_window: 600_000,
    max_sessions_per_user: 50,
  });
  assert.deepEqual(config.core.sasl, {
    scram_iterations: 4096,
    mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-1-PLUS', 'SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN'],
  });
  assert.deepEqual(config.core.admins, []);
  assert.deepEqual(config.core.modules, {
    disco: {}, ping: {}, version: {}, time: {}, message: {},
    roster: {}, presence: {}, offline: {}, blocking: {}, vcard: {}, last: {}, private: {},
    carbons: {}, csi: {}, caps: {}, pep: {}, bookmarks: {}, adhoc: {}, admin: {}, 'contact-info': {},
    archive: {}, mam: {},
  });
  assert.deepEqual(config.core.module_paths, []);
});

test('parley.yml in the working directory is read when no file is named', async () => {
  const { dir, file } = withConfig('domains: [example.com]\n');
  const config = await loadConfig({ cwd: dir });
  assert.equal(config.file, file);
  assert.deepEqual(config.core.domains, ['example.com']);
});

test('a named config file that does not exist is refused', async () => {
  const dir = tempDir();
  const problems = await problemsOf(loadConfig({ cwd: dir, file: 'missing.yml' }));
  assert.deepEqual(problems, ['missing.yml: file not found']);
});

test('a misspelt option is named and the nearest valid option suggested', async () => {
  const { dir, file } = withConfig('limits:\n  max_stanza_byts: 100000\n');
  const problems = await problemsOf(loadConfig({ cwd: dir }));
  assert.deepEqual(problems, [
    `${fileLabel(file)}: limits.max_stanza_byts: unknown option. Did you mean "max_stanza_bytes"? ` +
      'Options: max_stanza_bytes, max_depth, auth_timeout, auth_failure_delay, auth_failure_delay_max, ' +
      'auth_failure_window, max_sessions_per_user',
  ]);
});

test('an unknown option with no near match lists the valid options without a suggestion', async () => {
  const { dir } = withConfig('log:\n  destination: syslog\n');
  const [problem] = await problemsOf(loadConfig({ cwd: dir }));
  assert.match(problem!, /log\.destination: unknown option\. Options: level, format$/);
});

test('module options written at the top level are pointed to the modules section', async () => {
  const { dir, file } = withConfig('ping:\n  interval: 5m\n');
  const problems = await problemsOf(loadConfig({ cwd: dir }));
  assert.deepEqual(problems, [
    `${fileLabel(file)}: ping: unknown option. Options of the ping module go under modules.ping`,
  ]);
});

test('a file that is not a mapping of options is refused', async () => {
  const { dir, file } = withConfig('- localhost\n');
  const problems = await problemsOf(loadConfig({ cwd: dir, overrides: {} }));
  assert.deepEqual(problems, [`${fileLabel(file)}: expected a mapping, got a list ["localhost"]`]);
});

test('a value of the wrong type names the path, the expectation and the value found', async () => {
  const { dir, file } = withConfig('listeners:\n  c2s:\n    port: abc\n');
  const problems = await problemsOf(loadConfig({ cwd: dir }));
  assert.deepEqual(problems, [`${fileLabel(file)}: listeners.c2s.port: expected an integer from 0 to 65535, got "abc"`]);
});

test('an out-of-range number states the accepted range', async () => {
  const { dir } = withConfig('sasl:\n  scram_iterations: 1000\n');
  const [problem] = await problemsOf(loadConfig({ cwd: dir }));
  assert.match(problem!, /sasl\.scram_iterations: expected an integer of at least 4096, got 1000$/);
});

test('a wrong choice lists the choices and suggests the nearest', async () => {
  const { dir } = withConfig('log:\n  level: verbose\n  format: jsn\n');
  const problems = await problemsOf(loadConfig({ cwd: dir }));
  assert.equal(problems.length, 2);
  assert.match(problems[0]!, /log\.level: expected one of "fatal", "error", "warn", "info", "debug", "trace", got "verbose"$/);
  assert.match(problems[1]!, /log\.format: expected one of "json", "pretty", got "jsn"\. Did you mean "json"\?$/);
});

test('an implausible domain name is refused', async () => {
  const { dir } = withConfig('domains: [Example.COM]\n');
  const [problem] = await problemsOf(loadConfig({ cwd: dir }));
  assert.match(problem!, /domains\[0\]: expected a domain name .*, got "Example\.COM"$/);
});

test('a module name that is not lowercase letters, digits and hyphens is refused', async () => {
  const { dir } = withConfig('modules:\n  Archive: {}\n');
  const [problem] = await problemsOf(loadConfig({ cwd: dir }));
  assert.match(problem!, /modules\.Archive: expected a module name .*, got "Archive"$/);
});

test('a missing certificate file is reported with its path', async () => {
  const { dir, file } = withConfig(
    'tls:\n  certificates:\n    - domain: example.com\n      cert: certs/example.crt\n      key: certs/example.key\n',
  );
  fs.mkdirSync(path.join(dir, 'certs'));
  fs.writeFileSync(path.join(dir, 'certs', 'example.key'), 'key');
  const problems = await problemsOf(loadConfig({ cwd: dir }));
  assert.deepEqual(problems, [`${fileLabel(file)}: tls.certificates[0].cert: file not found: certs/example.crt`]);
});

test('several problems are all reported together', async () => {
  const { dir } = withConfig(
    [
      'domainz: [example.com]',
      'log:',
      '  level: loud',
      'listeners:',
      '  http:',
      '    port: 70000',
      'tls:',
      '  certificates:',
      '    - { domain: example.com, cert: a.crt, key: a.key }',
      '',
    ].join('\n'),
  );
  const problems = await problemsOf(loadConfig({ cwd: dir }));
  const joined = problems.join('\n');
  assert.equal(problems.length, 5, joined);
  assert.match(joined, /domainz: unknown option\. Did you mean "domains"\?/);
  assert.match(joined, /log\.level: expected one of .*, got "loud"/);
  assert.match(joined, /listeners\.http\.port: expected an integer from 0 to 65535, got 70000/);
  assert.match(joined, /tls\.certificates\[0\]\.cert: file not found: a\.crt/);
  assert.match(joined, /tls\.certificates\[0\]\.key: file not found: a\.key/);
});

test('a YAML syntax error is reported with its line and column', async () => {
  const { dir, file } = withConfig('limits:\n  max_depth: 10\n  auth_timeout: [30s\nsasl: {}\n');
  const problems = await problemsOf(loadConfig({ cwd: dir }));
  assert.equal(problems.length, 1);
  assert.ok(problems[0]!.startsWith(`${fileLabel(file)}: line 4, column 1: `), problems[0]);
});

test('durations parse from unit strings and from numbers of seconds', () => {
  const schema = duration();
  assert.equal(schema.parse('30s'), 30_000);
  assert.equal(schema.parse(5), 5_000);
  assert.equal(schema.parse('250ms'), 250);
  assert.equal(schema.parse('5m'), 300_000);
  assert.equal(schema.parse('2h'), 7_200_000);
  assert.equal(schema.parse('1h30m'), 5_400_000);
  assert.equal(schema.parse('7d'), 604_800_000);
  assert.equal(schema.parse('1y'), 31_536_000_000);
  assert.equal(duration('10m').parse(undefined), 600_000);
  assert.equal(parseDuration('1.5s'), 1_500);
});

test('a malformed duration is refused with an example of the accepted form', async () => {
  const result = duration().safeParse('seven');
  assert.equal(result.success, false);
  assert.equal(result.error?.issues[0]?.message, 'expected a duration like "30s", "5m", "7d", got "seven"');
  assert.throws(() => parseDuration('5 minutes'), /expected a duration like/);
  assert.throws(() => parseDuration(-1), /got -1/);

  const { dir } = withConfig('limits:\n  auth_timeout: seven\n');
  const [problem] = await problemsOf(loadConfig({ cwd: dir }));
  assert.match(problem!, /limits\.auth_timeout: expected a duration like "30s", "5m", "7d", got "seven"$/);
});

test('overrides merge into the file: mappings key by key, lists replaced', async () => {
  const { dir } = withConfig('domains: [a.example, b.example]\nlimits:\n  max_depth: 10\n');
  const config = await loadConfig({
    cwd: dir,
    overrides: { domains: ['c.example'], limits: { max_sessions_per_user: 3 }, listeners: { c2s: { port: 0 } } },
  });
  assert.deepEqual(config.core.domains, ['c.example']);
  assert.equal(config.core.limits.max_depth, 10);
  assert.equal(config.core.limits.max_sessions_per_user, 3);
  assert.equal(config.core.limits.auth_timeout, 30_000);
  assert.deepEqual(config.core.listeners.c2s, { enabled: true, host: '::', port: 0 });
});

test('an empty section means all of its defaults', async () => {
  const { dir } = withConfig('limits:\n  # max_depth: 10\nmodules:\n  ping:\n');
  const config = await loadConfig({ cwd: dir });
  assert.equal(config.core.limits.max_depth, 64);
  assert.deepEqual(config.core.modules, { ping: null });
});

test('relative paths resolve against the config file folder', async () => {
  const cwd = tempDir();
  const confDir = path.join(cwd, 'conf');
  fs.mkdirSync(path.join(confDir, 'tls'), { recursive: true });
  fs.writeFileSync(path.join(confDir, 'tls', 'example.crt'), 'cert');
  fs.writeFileSync(path.join(confDir, 'tls', 'example.key'), 'key');
  fs.writeFileSync(
    path.join(confDir, 'parley.yml'),
    [
      'data_dir: state',
      'module_paths: [mods, /opt/parley/modules]',
      'tls:',
      '  certs_dir: tls',
      '  certificates:',
      '    - { domain: example.com, cert: tls/example.crt, key: tls/example.key }',
      '',
    ].join('\n'),
  );
  const config = await loadConfig({ cwd, file: 'conf/parley.yml' });
  assert.equal(config.file, path.join(confDir, 'parley.yml'));
  assert.equal(config.baseDir, confDir);
  assert.equal(config.core.data_dir, path.join(confDir, 'state'));
  assert.deepEqual(config.core.module_paths, [path.join(confDir, 'mods'), '/opt/parley/modules']);
  assert.equal(config.core.tls.certs_dir, path.join(confDir, 'tls'));
  assert.deepEqual(config.core.tls.certificates, [
    { domain: 'example.com', cert: path.join(confDir, 'tls', 'example.crt'), key: path.join(confDir, 'tls', 'example.key') },
  ]);
});

test('the loaded configuration is deeply frozen', async () => {
  const config = await loadConfig({ cwd: tempDir() });
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.core));
  assert.ok(Object.isFrozen(config.core.limits));
  assert.ok(Object.isFrozen(config.core.domains));
  assert.ok(Object.isFrozen(config.core.modules['ping']));
  assert.throws(() => {
    (config.core.limits as { max_depth: number }).max_depth = 1;
  }, TypeError);
  assert.throws(() => (config.core.domains as string[]).push('example.com'), TypeError);
});

test('validateSection reports problems in a module schema under the module path', () => {
  const schema = z.strictObject({
    y: z.int().min(1).default(5).describe('Number of ys.'),
    retention: duration('7d').describe('How long to keep things.'),
  });
  const file = '/etc/parley/parley.yml';
  assert.deepEqual(validateSection(file, ['modules', 'x'], schema, null), { y: 5, retention: 604_800_000 });
  assert.deepEqual(validateSection(file, ['modules', 'x'], schema, { y: 2, retention: '1d' }), {
    y: 2,
    retention: 86_400_000,
  });

  assert.throws(
    () => validateSection(file, ['modules', 'x'], schema, { y: 'many', retension: '1d' }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems, [
        `${fileLabel(file)}: modules.x.y: expected an integer of at least 1, got "many"`,
        `${fileLabel(file)}: modules.x.retension: unknown option. Did you mean "retention"? Options: y, retention`,
      ]);
      return true;
    },
  );
});

test('messages written by a module schema are kept and followed by the value found', () => {
  const schema = z.strictObject({
    prefix: z.string().regex(/^[a-z]+$/, 'expected lowercase letters'),
    size: z.number().refine((n) => n % 2 === 0, 'must be even'),
    code: z.string().regex(/^x/),
  });
  assert.throws(
    () => validateSection(null, ['modules', 'x'], schema, { prefix: 'AB', size: 3, code: 'y' }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems, [
        '(defaults): modules.x.prefix: expected lowercase letters, got "AB"',
        '(defaults): modules.x.size: must be even, got 3',
        '(defaults): modules.x.code: expected a string matching /^x/, got "y"',
      ]);
      return true;
    },
  );
});

test('suggestions are limited to near misses', () => {
  assert.equal(suggest('max_dpth', ['max_depth', 'max_stanza_bytes']), 'max_depth');
  assert.equal(suggest('LEVEL', ['level', 'format']), 'level');
  assert.equal(suggest('tsl', ['tls', 'log']), 'tls');
  assert.equal(suggest('certificates_directory', ['certs_dir', 'certificates']), null);
  assert.equal(suggest('ping', ['log', 'tls']), null);
});

test('docs/configuration.md matches the schema', () => {
  const docsFile = path.join(findProjectRoot(), CONFIG_DOCS_PATH);
  const checkedIn = fs.readFileSync(docsFile, 'utf8');
  assert.ok(
    checkedIn === renderConfigDocs(),
    `${CONFIG_DOCS_PATH} is out of date; regenerate it with: node dist/server/config/docs.js`,
  );
});
