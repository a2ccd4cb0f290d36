import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { describeSchema } from '../../server/config/docs.js';
import { directoryConfig } from './config.js';
import { connectionSettings } from './settings.js';

const minimal = { url: 'ldaps://ldap.example.com', base_dn: 'dc=example,dc=com' };
/** The module's README in the source tree, searched upwards from the compiled test, then from the working directory. */
function readme(): string {
  for (let dir of [path.dirname(fileURLToPath(import.meta.url)), process.cwd()]) {
    for (;;) {
      const candidate = path.join(dir, 'modules', 'directory', 'README.md');
      if (fs.existsSync(candidate)) return fs.readFileSync(candidate, 'utf8');
      const up = path.dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  throw new Error('modules/directory/README.md not found');
}

function issues(input: unknown): string[] {
  const r = directoryConfig.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

test('a minimal config gets the OpenLDAP defaults', () => {
  const c = directoryConfig.parse(minimal);
  assert.equal(c.users.filter, '(&(objectClass=inetOrgPerson)(uid={user}))');
  assert.equal(c.attributes.localpart, 'uid');
  assert.equal(c.attributes.photo, 'jpegPhoto');
  assert.equal(c.starttls, true);
  assert.equal(c.sync_interval, 15 * 60 * 1000);
  assert.equal(c.timeouts.operation, 10_000);
  assert.deepEqual(c.groups.member_attributes, { member: 'dn', uniqueMember: 'dn', memberUid: 'localpart' });
});

test('ldap:// without StartTLS is refused unless unencrypted connections are allowed explicitly', () => {
  assert.match(issues({ ...minimal, url: 'ldap://ldap.example.com', starttls: false }).join(), /clear text/);
  assert.deepEqual(issues({ ...minimal, url: 'ldap://localhost', starttls: false, allow_unencrypted: true }), []);
});

test('a user filter without {user} and unknown keys are refused', () => {
  assert.match(issues({ ...minimal, users: { filter: '(uid=alice)' } }).join(), /must contain \{user\}/);
  assert.match(issues({ ...minimal, bind_pasword: 'x' }).join(), /bind_pasword/);
});

test('the service password comes from exactly one place, and only with a bind DN', () => {
  assert.match(issues({ ...minimal, bind_dn: 'cn=parley,dc=example,dc=com' }).join(), /needs bind_password/);
  assert.match(issues({ ...minimal, bind_dn: 'cn=p,dc=x', bind_password: 'a', bind_password_env: 'B' }).join(), /only one of/);
  assert.match(issues({ ...minimal, bind_password: 'a' }).join(), /without bind_dn/);
});

test('the service password is read from a file or an environment variable, and errors never show it', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-directory-'));
  const file = path.join(dir, 'ldap-password');
  fs.writeFileSync(file, 's3cret-from-file\n');
  const fromFile = connectionSettings(directoryConfig.parse({ ...minimal, bind_dn: 'cn=p,dc=x', bind_password_file: file }));
  assert.equal(fromFile.bindPassword, 's3cret-from-file');
  process.env.PARLEY_TEST_LDAP_PASSWORD = 's3cret-from-env';
  const fromEnv = connectionSettings(directoryConfig.parse({ ...minimal, bind_dn: 'cn=p,dc=x', bind_password_env: 'PARLEY_TEST_LDAP_PASSWORD' }));
  assert.equal(fromEnv.bindPassword, 's3cret-from-env');
  delete process.env.PARLEY_TEST_LDAP_PASSWORD;
  assert.throws(() => connectionSettings(directoryConfig.parse({ ...minimal, bind_dn: 'cn=p,dc=x', bind_password_env: 'PARLEY_TEST_LDAP_PASSWORD' })),
    /bind_password_env: the environment variable PARLEY_TEST_LDAP_PASSWORD is not set/);
  assert.throws(() => connectionSettings(directoryConfig.parse({ ...minimal, bind_dn: 'cn=p,dc=x', bind_password_file: path.join(dir, 'missing') })),
    (err: Error) => /bind_password_file: cannot read/.test(err.message) && !err.message.includes('s3cret'));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the Active Directory example of the README is a valid config', () => {
  const yaml = /```yaml\n# Active Directory\n([\s\S]*?)```/.exec(readme());
  assert.ok(yaml, 'the README has an Active Directory example');
  const parsed = YAML.parse(yaml[1]!) as { modules: { directory: unknown } };
  assert.deepEqual(issues(parsed.modules.directory), []);
});

test('the README documents every option of the config schema', () => {
  const text = readme();
  const missing = describeSchema(directoryConfig).map((o) => o.key).filter((key) => !text.includes(`\`${key}\``));
  assert.deepEqual(missing, []);
});
