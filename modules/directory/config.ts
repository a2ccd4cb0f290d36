import { duration, z } from '../../server/api/index.js';

// Defaults follow an OpenLDAP directory with inetOrgPerson people; README.md shows the Active
// Directory equivalents (sAMAccountName, userAccountControl, memberOf ...).

const ldapUrl = z.string().regex(/^ldaps?:\/\/(\[[0-9a-fA-F:.]+\]|[^/\s:[\]]+)(:\d{1,5})?\/?$/i,
  'expected an LDAP URL with scheme, host and optional port, like "ldaps://ldap.example.com:636"');
const attribute = z.string().regex(/^([A-Za-z][A-Za-z0-9-]*|\d+(\.\d+)+)(;[A-Za-z0-9-]+)*$/,
  'expected an LDAP attribute name such as "uid" or "jpegPhoto"');
const filter = z.string().regex(/^\(.*\)$/s, 'expected an LDAP filter in parentheses (RFC 4515), like "(objectClass=inetOrgPerson)"');
const dn = z.string().regex(/^[^=,]+=[^,]*(,[^=,]+=.*)*$/s, 'expected a distinguished name like "dc=example,dc=com"');

const tlsSection = z.strictObject({
  ca_file: z.string().min(1).optional()
    .describe('PEM file with the CA certificate(s) that signed the directory\'s certificate; the system CAs when absent. The certificate is always verified'),
  server_name: z.string().min(1).optional()
    .describe('Name to expect in the directory\'s certificate when the URL names an IP address (default: the URL\'s host)'),
  min_version: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2').describe('Oldest TLS version accepted from the directory'),
});

const usersSection = z.strictObject({
  base_dn: dn.optional().describe('Where people are searched (default: base_dn)'),
  scope: z.enum(['sub', 'one']).default('sub').describe('"sub": the whole subtree under the base; "one": its direct children only'),
  filter: filter.default('(&(objectClass=inetOrgPerson)(uid={user}))')
    .refine((f) => f.includes('{user}'), 'the filter must contain {user}, where the escaped login name goes')
    .describe('Finds the entry of a login name; {user} is replaced by the name the client gave, escaped per RFC 4515. AD: "(&(objectClass=user)(sAMAccountName={user}))"; by mail: "(mail={user}@example.com)"'),
  list_filter: filter.default('(objectClass=inetOrgPerson)')
    .describe('Every person who may have an account, for the sync, shared rosters and search. AD: "(&(objectClass=user)(!(objectClass=computer)))"'),
});

const attributesSection = z.strictObject({
  localpart: attribute.default('uid')
    .describe('Gives the JID localpart, normalised per RFC 7622 (lower case). A value with "@" (mail, userPrincipalName) gives its part before the "@". AD: sAMAccountName'),
  id: attribute.default('entryUUID')
    .describe('A value that never changes for one entry and is never reused, to tell a re-enabled person from a new one with the same localpart. AD: objectGUID'),
  modified: attribute.default('modifyTimestamp').describe('Changes whenever the entry does (cached vCards and avatar hashes are renewed when it moves). OpenLDAP: entryCSN is finer; AD: whenChanged'),
  name: attribute.default('displayName').describe('Display name (falls back to cn)'),
  given_name: attribute.default('givenName').describe('Given name (vCard N, search)'),
  family_name: attribute.default('sn').describe('Family name (vCard N, search)'),
  email: attribute.default('mail').describe('Email address (vCard EMAIL, search)'),
  title: attribute.default('title').describe('Job title (vCard TITLE)'),
  department: attribute.default('ou').describe('Department shown in vCards and searched by XEP-0055. AD: department'),
  organization: attribute.default('o').describe('Organisation name for the vCard ORG (AD: company)'),
  manager: attribute.default('manager').describe('DN of the person\'s manager'),
  phones: z.array(attribute).default(['telephoneNumber', 'mobile'])
    .describe('Phone number attributes, in vCard order; names containing "mobile" become CELL, "fax" FAX, others WORK VOICE'),
  photo: attribute.default('jpegPhoto').describe('JPEG photo: vCard PHOTO and the avatar hash in presence. AD: thumbnailPhoto'),
});

const groupsSection = z.strictObject({
  source: z.enum(['entries', 'member_of']).default('entries')
    .describe('"entries": search group entries and read their members (groupOfNames, groupOfUniqueNames, posixGroup); "member_of": read the groups from each person\'s memberOf attribute (AD, OpenLDAP memberof overlay)'),
  base_dn: dn.optional().describe('Where group entries are searched (default: base_dn)'),
  filter: filter.default('(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))')
    .describe('Group entries to read, with source "entries"'),
  name_attribute: attribute.default('cn').describe('The group\'s name (the roster group name), with source "entries"; with "member_of" the value of the first RDN of the group\'s DN'),
  member_attributes: z.record(attribute, z.enum(['dn', 'localpart']))
    .default({ member: 'dn', uniqueMember: 'dn', memberUid: 'localpart' })
    .describe('Member attributes of group entries and what their values are: "dn" of a person, or a "localpart" (posixGroup memberUid, matched against the localpart attribute)'),
  member_of_attribute: attribute.default('memberOf').describe('With source "member_of": the person\'s attribute listing the DNs of its groups'),
});

const disabledFlag = z.strictObject({
  attribute: attribute.describe('The attribute to look at'),
  values: z.array(z.string()).min(1).optional().describe('The person is disabled when the attribute has one of these values (case-insensitive)'),
  bitmask: z.int().positive().optional().describe('The person is disabled when the attribute, an integer, has one of these bits set (AD userAccountControl: 2)'),
}).refine((d) => !(d.values && d.bitmask), 'give either values or bitmask, not both')
  .describe('Without values or bitmask: disabled when the attribute is present at all (pwdAccountLockedTime)');

const deprovisionSection = z.strictObject({
  missing_entry: z.boolean().default(true).describe('A person whose entry is gone (or no longer matches users.list_filter) is deprovisioned'),
  disabled: disabledFlag.optional()
    .describe('An attribute that marks a disabled person. OpenLDAP ppolicy: {attribute: pwdAccountLockedTime}; 389-DS: {attribute: nsAccountLock, values: ["true"]}; AD: {attribute: userAccountControl, bitmask: 2}'),
  required_group: z.string().min(1).optional()
    .describe('Only members of this group (name or DN) may use the server; others are deprovisioned'),
  max_per_sync: z.int().min(0).default(50)
    .describe('A sync that would deprovision more people than this retires nobody and logs an error instead (a broken filter or a half-empty directory must not lock the company out)'),
});

const searchSection = z.strictObject({
  enabled: z.boolean().default(true).describe('Answer XEP-0055 searches (jabber:iq:search) on the served domains'),
  max_results: z.int().min(1).max(500).default(25).describe('Most people one search returns'),
});

const timeoutsSection = z.strictObject({
  connect: duration('5s').describe('Longest wait for a TCP and TLS connection to the directory'),
  operation: duration('10s').describe('Longest wait for one LDAP operation (bind, search)'),
});

export const directoryConfig = z.strictObject({
  url: z.union([ldapUrl, z.array(ldapUrl).min(1)])
    .describe('The directory: one LDAP URL or a list tried in order (failover). ldaps:// is TLS from the start; ldap:// upgrades with StartTLS'),
  starttls: z.boolean().default(true).describe('Upgrade ldap:// connections with StartTLS (RFC 4513 3)'),
  allow_unencrypted: z.boolean().default(false)
    .describe('Allow ldap:// with starttls: false; passwords then cross the network in clear text. For a directory on the same host only'),
  tls: tlsSection.prefault({}).describe('Certificate checks for LDAPS and StartTLS'),
  bind_dn: dn.optional().describe('The service account that searches the directory (anonymous when absent)'),
  bind_password: z.string().min(1).optional().describe('Its password (prefer bind_password_file or bind_password_env: the config file is often readable by more people)'),
  bind_password_file: z.string().min(1).optional().describe('A file holding the password (one line; a trailing newline is ignored)'),
  bind_password_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name').optional()
    .describe('The name of an environment variable holding the password'),
  base_dn: dn.describe('The subtree Parley reads, e.g. "dc=example,dc=com"'),
  domains: z.array(z.string().min(1)).min(1).optional()
    .describe('Hosted domains whose accounts come from the directory (default: all); a person is localpart@domain on each. Local accounts (service accounts, partners) exist beside them'),
  users: usersSection.prefault({}).describe('Where people are and how a login name finds its entry'),
  attributes: attributesSection.prefault({}).describe('Which attribute holds what (OpenLDAP inetOrgPerson names by default)'),
  groups: groupsSection.prefault({}).describe('Directory groups: shared rosters, the required group, and the groups other modules ask about'),
  shared_groups: z.array(z.string().min(1)).default([])
    .describe('Groups (names or DNs; "*" for every group) whose members see each other in their rosters, with presence, without subscriptions; the group name is the roster group'),
  deprovision: deprovisionSection.prefault({}).describe('Who loses access at the next sync: sessions end with not-authorized, logins are refused, the address is kept for them'),
  sync_interval: duration('15m').describe('How often people, groups and deprovisioning are synchronised; 0 only at start and on demand'),
  vcard_ttl: duration('10m').describe('How long a vCard read from the directory is served from memory'),
  search: searchSection.prefault({}).describe('XEP-0055 Jabber Search over the people'),
  timeouts: timeoutsSection.prefault({} as z.input<typeof timeoutsSection>).describe('Time limits for talking to the directory'),
  bind_connections: z.int().min(1).max(64).default(4).describe('Connections kept open for checking passwords (binds are one at a time per connection)'),
}).superRefine((c, ctx) => {
  const sources = [c.bind_password, c.bind_password_file, c.bind_password_env].filter((v) => v !== undefined).length;
  if (sources > 1) ctx.addIssue({ code: 'custom', path: ['bind_password'], message: 'give only one of bind_password, bind_password_file, bind_password_env' });
  if (c.bind_dn && sources === 0) ctx.addIssue({ code: 'custom', path: ['bind_dn'], message: 'bind_dn needs bind_password, bind_password_file or bind_password_env' });
  if (!c.bind_dn && sources > 0) ctx.addIssue({ code: 'custom', path: ['bind_dn'], message: 'a bind password was given without bind_dn' });
  const urls = Array.isArray(c.url) ? c.url : [c.url];
  if (!c.starttls && !c.allow_unencrypted && urls.some((u) => u.toLowerCase().startsWith('ldap://'))) {
    ctx.addIssue({ code: 'custom', path: ['starttls'], message: 'ldap:// without StartTLS sends passwords in clear text: use ldaps://, starttls: true, or set allow_unencrypted: true' });
  }
});

export type DirectoryConfig = z.output<typeof directoryConfig>;
