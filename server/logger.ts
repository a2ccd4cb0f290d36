import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** 'pretty' format: one human-readable line per event on stderr, for a terminal. */
function prettyDestination(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        try {
          const { time, level, msg, name: _n, pid: _p, hostname: _h, ...rest } = JSON.parse(line) as Record<string, unknown>;
          const extra = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(' ');
          out.write(`${String(time)} ${LEVELS[level as number] ?? level} ${String(msg ?? '')}${extra ? ' ' + extra : ''}\n`);
        } catch {
          out.write(line + '\n');
        }
      }
      done();
    },
  });
}

/**
 * Structured, levelled logs: one JSON line per event. Passwords are never passed to the logger;
 * as a second line of defence these keys are redacted wherever they appear.
 */
export function createLogger(opts: { level: string; format: 'json' | 'pretty'; destination?: NodeJS.WritableStream }): Logger {
  const dest = opts.format === 'pretty'
    ? prettyDestination(opts.destination ?? process.stderr)
    : opts.destination ?? pino.destination({ dest: 1, sync: false });
  return pino({
    level: opts.level,
    base: { name: 'parley' },
    redact: { paths: ['password', '*.password', 'secret', '*.secret'], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  }, dest);
}
