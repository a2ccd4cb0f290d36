import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GENESIS_HASH } from './record.js';

/**
 * The Ed25519 key that signs checkpoints, seals and purge records. It lives in a file outside the
 * archive database: whoever can rewrite the database (and so recompute the chain) still cannot
 * produce signatures that match the checkpoints written elsewhere.
 */
export interface ArchiveSigner {
  readonly publicKey: KeyObject;
  /** Base64 Ed25519 signature of the UTF-8 text. */
  sign(text: string): string;
}

/** Load the key, or create it (mode 0600) with its public half beside it (`.pub`). */
export function loadOrCreateSigner(file: string): ArchiveSigner {
  let privateKey: KeyObject;
  if (fs.existsSync(file)) {
    privateKey = createPrivateKey(fs.readFileSync(file));
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${file}: the archive signing key must be an Ed25519 key, found ${privateKey.asymmetricKeyType}`);
  } else {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const pair = generateKeyPairSync('ed25519');
    privateKey = pair.privateKey;
    fs.writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  }
  const publicKey = createPublicKey(privateKey);
  const pubFile = publicKeyFile(file);
  if (!fs.existsSync(pubFile)) fs.writeFileSync(pubFile, publicKey.export({ type: 'spki', format: 'pem' }));
  return { publicKey, sign: (text) => sign(null, Buffer.from(text, 'utf8'), privateKey).toString('base64') };
}

export function publicKeyFile(signingKeyFile: string): string {
  return `${signingKeyFile}.pub`;
}

/** The public key for verification: from the `.pub` file, or derived from the private key. */
export function loadPublicKey(signingKeyFile: string): KeyObject {
  const pub = publicKeyFile(signingKeyFile);
  if (fs.existsSync(pub)) return createPublicKey(fs.readFileSync(pub));
  return createPublicKey(createPrivateKey(fs.readFileSync(signingKeyFile)));
}

export function verifySignature(publicKey: KeyObject, text: string, signature: string): boolean {
  try {
    return verify(null, Buffer.from(text, 'utf8'), publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/** One line of the checkpoint file: the head of the record chain at a time, signed. */
export interface Checkpoint {
  v: 1;
  seq: number;
  hash: string;
  ts: number;
  /** SHA-256 of the previous line of the file (the checkpoints form a chain of their own). */
  prev: string;
  sig: string;
}

export function checkpointText(c: Omit<Checkpoint, 'sig'>): string {
  return JSON.stringify([c.v, c.seq, c.hash, c.ts, c.prev]);
}

function lineHash(line: string): string {
  return createHash('sha256').update(line).digest('hex');
}

/** Read the checkpoint file: every line parsed, with its own line number. Unparseable lines are reported. */
export function readCheckpoints(file: string): { line: number; text: string; checkpoint: Checkpoint | null }[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0).map((text, i) => {
    try {
      const c = JSON.parse(text) as Checkpoint;
      return { line: i + 1, text, checkpoint: typeof c.seq === 'number' && typeof c.hash === 'string' ? c : null };
    } catch {
      return { line: i + 1, text, checkpoint: null };
    }
  });
}

export interface SyslogTarget { host: string; port: number; facility: number }

/**
 * Appends signed checkpoints to the append-only file (fsync'd), and to syslog when configured.
 */
export class CheckpointWriter {
  private prev: string;
  private lastSeq = 0;

  constructor(private readonly file: string, private readonly signer: ArchiveSigner, private readonly syslog?: SyslogTarget) {
    const lines = readCheckpoints(file);
    const last = lines.at(-1);
    this.prev = last ? lineHash(last.text) : GENESIS_HASH;
    this.lastSeq = last?.checkpoint?.seq ?? 0;
  }

  /** Sign and append the head, unless it is already the last checkpoint. Returns the checkpoint written, if any. */
  write(head: { seq: number; hash: string }, now = Date.now()): Checkpoint | null {
    if (head.seq === 0 || head.seq === this.lastSeq) return null;
    const body = { v: 1 as const, seq: head.seq, hash: head.hash, ts: now, prev: this.prev };
    const c: Checkpoint = { ...body, sig: this.signer.sign(checkpointText(body)) };
    const line = JSON.stringify(c);
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const fd = fs.openSync(this.file, 'a', 0o640);
    try {
      fs.writeSync(fd, `${line}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    this.prev = lineHash(line);
    this.lastSeq = head.seq;
    if (this.syslog) sendSyslog(this.syslog, `archive checkpoint ${line}`);
    return c;
  }
}

/** Verify the checkpoint file's own chain and signatures; the checkpoints that pass, and the problems. */
export function checkCheckpointFile(file: string, publicKey: KeyObject): { valid: Checkpoint[]; problems: string[] } {
  const valid: Checkpoint[] = [];
  const problems: string[] = [];
  let prev = GENESIS_HASH;
  for (const { line, text, checkpoint } of readCheckpoints(file)) {
    if (!checkpoint) problems.push(`checkpoint file line ${line}: not a checkpoint`);
    else if (checkpoint.prev !== prev) problems.push(`checkpoint file line ${line}: does not follow line ${line - 1} (a line was removed, inserted or changed)`);
    else if (!verifySignature(publicKey, checkpointText(checkpoint), checkpoint.sig)) problems.push(`checkpoint file line ${line}: bad signature`);
    else valid.push(checkpoint);
    prev = lineHash(text);
  }
  return { valid, problems };
}

/** One RFC 5424 message over UDP; best effort (a collector that is down must not stop archiving). */
function sendSyslog(target: SyslogTarget, msg: string): void {
  const pri = target.facility * 8 + 5; // severity notice
  const text = `<${pri}>1 ${new Date().toISOString()} ${os.hostname()} parley ${process.pid} archive - ${msg}`;
  const socket = dgram.createSocket(target.host.includes(':') ? 'udp6' : 'udp4');
  socket.send(text, target.port, target.host, () => socket.close());
}
