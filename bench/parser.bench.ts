/**
 * Throughput of the server's restricted XML parser (server/xml/parser.ts)
 * against ltx's parser as wrapped by @xmpp/xml, on typical chat traffic.
 *
 * Run after building: `node dist/bench/parser.bench.js`. Every loop is
 * bounded; the whole run takes a few seconds.
 */
import { performance } from 'node:perf_hooks';
import * as xmppXml from '@xmpp/xml';
import { StreamParser } from '../server/xml/parser.js';

/** The part of @xmpp/xml's Parser used here (types/xmpp-xml.d.ts does not declare it). */
interface LtxStreamParser {
  on(event: string, listener: (...args: unknown[]) => void): void;
  write(data: string | Buffer): void;
}
const LtxParser = (xmppXml as unknown as { Parser: new () => LtxStreamParser }).Parser;

const HEADER =
  "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' " +
  "from='juliet@example.com' to='example.com' version='1.0' xml:lang='en'>";

const MESSAGES = 20_000;
const CHUNK_BYTES = 16 * 1024;
const WARMUP_RUNS = 3;
const TIMED_RUNS = 15;

const ASCII_BODIES = [
  'Are we still on for lunch tomorrow? I can book the usual place for half past twelve.',
  'Sure, see you there. Bring the slides from the review, the team wants to go through them.',
  'Running ten minutes late, sorry! Traffic on the bridge is terrible again this morning.',
];
const UNICODE_BODIES = [
  'Rendez-vous à midi au café près de la gare ? Je réserve la table habituelle 😀',
  'Встречаемся в полдень у вокзала, я закажу столик как обычно. До завтра!',
  '明天中午在车站旁边的咖啡馆见面吧？我会预订我们常坐的那张桌子。🍜',
];

/** A typical one-to-one chat message: ~300 bytes with receipts and chat states. */
function message(i: number, bodies: readonly string[]): string {
  return (
    `<message from='juliet@example.com/balcony-${i % 7}' to='romeo@example.net' type='chat' id='msg-${i}' xml:lang='en'>` +
    `<body>${bodies[i % bodies.length]}</body>` +
    "<active xmlns='http://jabber.org/protocol/chatstates'/>" +
    "<request xmlns='urn:xmpp:receipts'/>" +
    `<origin-id xmlns='urn:xmpp:sid:0' id='5e1a6c0d-${(1000 + (i % 9000)).toString()}'/>` +
    '</message>'
  );
}

function slice(data: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let off = 0; off < data.length; off += size) chunks.push(data.subarray(off, off + size));
  return chunks;
}

interface Workload {
  name: string;
  bytes: number;
  stanzas: number;
  chunks: Buffer[];
}

function workload(name: string, bodies: readonly string[], perStanzaWrites: boolean): Workload {
  const stanzas = Array.from({ length: MESSAGES }, (_, i) => message(i, bodies));
  const header = Buffer.from(HEADER);
  const chunks = perStanzaWrites
    ? [header, ...stanzas.map((s) => Buffer.from(s))]
    : slice(Buffer.concat([header, Buffer.from(stanzas.join(''))]), CHUNK_BYTES);
  const bytes = chunks.reduce((sum, c) => sum + c.length, 0);
  return { name, bytes, stanzas: MESSAGES, chunks };
}

function runParley(chunks: Buffer[]): number {
  let count = 0;
  let failure = '';
  const parser = new StreamParser({
    streamOpen() {},
    element() {
      count++;
    },
    streamClose() {},
    error(condition, text) {
      failure = `${condition}: ${text}`;
    },
  });
  for (const chunk of chunks) parser.write(chunk);
  if (failure) throw new Error(`parley parser failed: ${failure}`);
  return count;
}

function runLtx(chunks: Buffer[]): number {
  let count = 0;
  const parser = new LtxParser();
  parser.on('element', () => {
    count++;
  });
  parser.on('error', (err) => {
    throw err;
  });
  for (const chunk of chunks) parser.write(chunk);
  return count;
}

interface Result {
  mbPerSecond: number;
  stanzasPerSecond: number;
}

function timeRun(run: (chunks: Buffer[]) => number, load: Workload): number {
  const start = performance.now();
  const count = run(load.chunks);
  const seconds = (performance.now() - start) / 1000;
  if (count !== load.stanzas) throw new Error(`expected ${load.stanzas} stanzas, got ${count}`);
  return seconds;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function result(load: Workload, seconds: number): Result {
  return { mbPerSecond: load.bytes / seconds / 1e6, stanzasPerSecond: load.stanzas / seconds };
}

/**
 * Runs both parsers alternately, after warm-up runs that let the JIT settle,
 * so that noise from the machine hits both alike; reports the medians.
 */
function compare(load: Workload): { parley: Result; ltx: Result } {
  for (let i = 0; i < WARMUP_RUNS; i++) {
    runParley(load.chunks);
    runLtx(load.chunks);
  }
  const parley: number[] = [];
  const ltx: number[] = [];
  for (let i = 0; i < TIMED_RUNS; i++) {
    parley.push(timeRun(runParley, load));
    ltx.push(timeRun(runLtx, load));
  }
  return { parley: result(load, median(parley)), ltx: result(load, median(ltx)) };
}

function format(result: Result): string {
  return `${result.mbPerSecond.toFixed(1).padStart(7)} MB/s ${Math.round(result.stanzasPerSecond).toLocaleString('en-US').padStart(11)} stanzas/s`;
}

function main(): void {
  const loads = [
    workload('chat messages, ASCII, 16 KiB chunks', ASCII_BODIES, false),
    workload('chat messages, non-ASCII, 16 KiB chunks', UNICODE_BODIES, false),
    workload('chat messages, one write per stanza', ASCII_BODIES, true),
  ];
  console.log(`XML parser benchmark: ${MESSAGES} messages per run, median of ${TIMED_RUNS} runs (node ${process.version})`);
  for (const load of loads) {
    const { parley, ltx } = compare(load);
    console.log(`\n${load.name} (${(load.bytes / load.stanzas).toFixed(0)} bytes/stanza, ${(load.bytes / 1e6).toFixed(1)} MB)`);
    console.log(`  parley StreamParser  ${format(parley)}`);
    console.log(`  @xmpp/xml (ltx)      ${format(ltx)}`);
    console.log(`  ratio parley/ltx     ${(parley.mbPerSecond / ltx.mbPerSecond).toFixed(2)}x`);
  }
}

main();
