import { z } from 'zod';
import { duration } from './duration.js';

// The single source of truth for core options and their defaults: the loader, the error
// messages and docs/configuration.md are all derived from this schema.

/**
 * A mapping of options where every option has a default. Writing the section name with nothing
 * under it (all options commented out) leaves YAML `null`, which means the same as leaving the
 * section out: all defaults.
 */
function section<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  return z.preprocess((value) => value ?? {}, z.strictObject(shape));
}

// One DNS label: letters/digits, inner hyphens allowed, at most 63 characters.
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DOMAIN_PATTERN = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);

const domainName = z
  .string()
  .max(253)
  .regex(DOMAIN_PATTERN, 'expected a domain name of lowercase letters, digits, dots and hyphens, like "example.com"');

// Only the shape is checked here; normalisation of JIDs is the JID parser's job.
const bareJid = z
  .string()
  .regex(/^[^@/\s]+@[^@/\s]+$/, 'expected a bare JID like "alice@example.com" (no resource)');

const port = z.int().min(0).max(65535);

const logSection = section({
  level: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace'])
    .default('info')
    .describe('Least severe log level written.'),
  format: z
    .enum(['json', 'pretty'])
    .default('json')
    .describe('"json" writes one JSON object per line for log collectors; "pretty" is for reading in a terminal.'),
});

const certificate = z.strictObject({
  domain: domainName.describe('Domain this certificate serves; chosen by the name the client asks for (SNI).'),
  cert: z.string().min(1).describe('PEM certificate chain file. Must exist when the server starts.'),
  key: z.string().min(1).describe('PEM private key file for `cert`. Must exist when the server starts.'),
});

const tlsSection = section({
  certs_dir: z
    .string()
    .min(1)
    .default('./certs')
    .describe(
      'Folder searched for `<domain>.crt` and `<domain>.key` when a domain has no entry in `certificates`; ' +
        'a self-signed certificate is generated there if none exists.',
    ),
  certificates: z
    .array(certificate)
    .default([])
    .describe('Explicit certificate and key files per domain. Domains not listed use `certs_dir`.'),
  min_version: z
    .enum(['TLSv1.2', 'TLSv1.3'])
    .default('TLSv1.2')
    .describe('Oldest TLS protocol version accepted.'),
});

function listener(defaults: { port: number }, purpose: string) {
  return {
    enabled: z.boolean().default(true).describe(`Accept ${purpose}.`),
    host: z.string().min(1).default('::').describe('Address to listen on; "::" is every IPv6 and IPv4 address.'),
    port: port.default(defaults.port).describe('TCP port; 0 picks a free port (used by tests).'),
  };
}

const listenersSection = section({
  c2s: section(listener({ port: 5222 }, 'client connections that upgrade with STARTTLS')).describe(
    'Client-to-server listener (XMPP over TCP, STARTTLS).',
  ),
  c2s_direct_tls: section(listener({ port: 5223 }, 'client connections that start with TLS')).describe(
    'Client-to-server listener with TLS from the first byte (XEP-0368).',
  ),
  http: section({
    ...listener({ port: 5280 }, 'HTTP connections'),
    tls: z
      .boolean()
      .default(true)
      .describe(
        'Serve HTTPS and WSS with the domain certificates. Set to false only behind a reverse proxy that terminates TLS.',
      ),
    websocket_path: z
      .string()
      .regex(/^\/\S*$/, 'expected a URL path starting with "/"')
      .default('/xmpp-websocket')
      .describe('URL path of the XMPP-over-WebSocket endpoint (RFC 7395).'),
  }).describe('HTTP listener: WebSocket endpoint and HTTP APIs.'),
});

const limitsSection = section({
  max_stanza_bytes: z
    .int()
    .min(10000)
    .default(262144)
    .describe('Largest stanza accepted, in bytes; bigger ones close the stream with a policy-violation error.'),
  max_depth: z.int().min(1).default(64).describe('Deepest XML element nesting accepted within a stanza.'),
  auth_timeout: duration('30s').describe('Connections that have not authenticated within this time are closed.'),
  auth_failure_delay: duration('2s').describe(
    'Delay before answering a failed authentication; doubled for each recent failure, up to `auth_failure_delay_max`.',
  ),
  auth_failure_delay_max: duration('30s').describe('Upper bound of the authentication failure delay.'),
  auth_failure_window: duration('10m').describe('How long a failed authentication counts as recent.'),
  max_sessions_per_user: z
    .int()
    .min(1)
    .default(50)
    .describe('Most simultaneous sessions (resources) one account may have.'),
});

const streamManagementSection = section({
  enabled: z.boolean().default(true).describe('Offer XEP-0198 Stream Management (acknowledgements and resumption) to clients.'),
  resume_timeout: duration('5m').describe(
    'How long a session whose connection dropped waits for the client to resume it; then its unacknowledged stanzas go to other resources or offline storage.',
  ),
  max_unacked: z
    .int()
    .min(100)
    .default(10000)
    .describe('Most stanzas sent to a client and not yet acknowledged; beyond it the stream is closed (its stanzas are re-routed, not lost).'),
});

const SASL_MECHANISMS = ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-1-PLUS', 'SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN'] as const;

const saslSection = section({
  scram_iterations: z
    .int()
    .min(4096)
    .default(4096)
    .describe('PBKDF2 iteration count for newly stored SCRAM credentials.'),
  mechanisms: z
    .array(z.enum(SASL_MECHANISMS))
    .min(1)
    .default([...SASL_MECHANISMS])
    .describe('SASL mechanisms offered to clients, in this order.'),
});

const MODULE_NAME = /^[a-z][a-z0-9-]*$/;

const modules = z
  .record(
    z.string().regex(MODULE_NAME, 'expected a module name of lowercase letters, digits and hyphens, starting with a letter'),
    z.unknown(),
  )
  // A function so each load gets its own objects (the loaded config is frozen).
  .default(() => ({
    disco: {}, ping: {}, version: {}, time: {}, message: {},
    roster: {}, presence: {}, offline: {}, blocking: {}, vcard: {}, last: {}, private: {},
    carbons: {}, csi: {}, caps: {}, pep: {}, bookmarks: {}, adhoc: {}, admin: {}, 'contact-info': {},
    archive: {}, mam: {},
  }))
  .describe(
    'Modules to load, each with its own options (see the module\'s documentation). ' +
      'A module listed with no options uses its defaults.',
  );

export const coreConfigSchema = z.strictObject({
  domains: z
    .array(domainName)
    .min(1)
    .default(['localhost'])
    .describe('Domains this server hosts.'),
  data_dir: z
    .string()
    .min(1)
    .default('./data')
    .describe('Folder for the SQLite database and other state.'),
  log: logSection.describe('Logging.'),
  tls: tlsSection.describe('TLS certificates and protocol versions.'),
  listeners: listenersSection.describe('Network listeners.'),
  limits: limitsSection.describe('Resource limits and authentication throttling.'),
  sasl: saslSection.describe('Authentication (SASL).'),
  stream_management: streamManagementSection.describe('XEP-0198 Stream Management.'),
  admins: z.array(bareJid).default([]).describe('Bare JIDs of accounts with the admin role.'),
  modules,
  module_paths: z
    .array(z.string().min(1))
    .default([])
    .describe('Extra folders searched for third-party modules.'),
});

export type CoreConfig = z.output<typeof coreConfigSchema>;
