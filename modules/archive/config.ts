import { duration, z } from '../../server/api/index.js';

const retentionPeriod = () => duration().describe('How long records are kept, e.g. "7y", "3y", "90d"');

const checkpointsSection = z.strictObject({
  file: z.string().default('archive-keys/checkpoints.log')
    .describe('Append-only file where signed checkpoints of the record chain are written (one JSON line each)'),
  interval: duration('5m').describe('How often a checkpoint is signed (only when new records were written)'),
  syslog: z.strictObject({
    host: z.string().describe('Syslog collector host (UDP, RFC 5424)'),
    port: z.number().int().min(1).max(65535).default(514),
    facility: z.number().int().min(0).max(23).default(13).describe('13 = log audit'),
  }).optional().describe('Also send each checkpoint to a syslog collector'),
});

const retentionSection = z.strictObject({
  default: duration('7y').describe('How long records are kept when no domain or group rule applies'),
  domains: z.record(z.string(), retentionPeriod()).default({})
    .describe('Per hosted domain, overriding the default'),
  groups: z.record(z.string(), retentionPeriod()).default({})
    .describe('Per directory group (needs the directory module); the longest period of a participant wins'),
  purge: z.boolean().default(true).describe('Purge expired days by themselves (once a day and at start)'),
});

const disclaimerSection = z.strictObject({
  text: z.string().min(1).default('This conversation is recorded and archived as required by regulation.')
    .describe('The notice sent to people'),
  at_login: z.boolean().default(false).describe('Send the notice when a person logs in'),
  external: z.boolean().default(false)
    .describe('Send the notice to both sides when someone starts a conversation with an external contact (another domain or a partner account)'),
  period: duration('24h').describe('The notice is sent at most once per person (or per pair of people) in this period'),
});

export const archiveConfig = z.strictObject({
  path: z.string().default('archive/archive.db')
    .describe('The archive database, a SQLite file of its own (absolute, or relative to data_dir); put it on its own volume'),
  on_failure: z.enum(['fail_closed', 'fail_open']).default('fail_closed')
    .describe('When a record cannot be written: fail_closed refuses the message (the sender gets an error); fail_open delivers it unarchived with an error in the log (not for regulated deployments)'),
  max_size: z.string().regex(/^\d+(?:[KMGT]i?B)?$/, 'a size like "500MiB" or "20GB"').optional()
    .describe('Size limit of the archive database (e.g. "50GiB"); when reached, writes fail like a full disk'),
  busy_timeout: duration('5s').describe('How long a write waits for a database lock held by another process before it fails'),
  signing_key: z.string().default('archive-keys/signing-key.pem')
    .describe('Ed25519 private key (PEM) that signs checkpoints, seals and purge records; generated on first start if missing. Keep it outside the archive database, ideally on another volume'),
  checkpoints: checkpointsSection.prefault({} as z.input<typeof checkpointsSection>).describe('Signed checkpoints of the chain, kept outside the database'),
  segments: z.strictObject({
    dir: z.string().default('archive/segments')
      .describe('Folder for sealed, compressed, signed day segments, ready to copy to WORM storage'),
    auto_seal: z.boolean().default(true).describe('Seal each closed day (UTC) by itself'),
  }).prefault({}),
  retention: retentionSection.prefault({} as z.input<typeof retentionSection>).describe('How long records are kept; whole expired days are purged unless a legal hold covers them'),
  compliance: z.strictObject({
    readers: z.array(z.string()).default([])
      .describe('Bare JIDs allowed to search, export and place holds'),
    groups: z.array(z.string()).default([])
      .describe('Directory groups whose members may search, export and place holds'),
  }).prefault({}),
  disclaimer: disclaimerSection.prefault({} as z.input<typeof disclaimerSection>).describe('A notice that conversations are recorded'),
});

export type ArchiveConfig = z.output<typeof archiveConfig>;

const UNITS: Record<string, number> = { '': 1, K: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };

/** Bytes for a size like "500MiB". */
export function parseSize(text: string): number {
  const m = /^(\d+)(?:([KMGT]i?)B)?$/.exec(text);
  if (!m) throw new RangeError(`not a size: ${text}`);
  return Number(m[1]) * UNITS[m[2] ?? '']!;
}
