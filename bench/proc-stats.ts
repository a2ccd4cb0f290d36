/**
 * What a server process costs, from Linux /proc: CPU seconds (utime + stime) and resident memory
 * (VmRSS), summed over the process and all its descendants.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

let clockTicks: number | null = null;
/** Kernel clock ticks per second, the unit of utime and stime (USER_HZ, normally 100). */
function ticksPerSecond(): number {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

interface StatLine { pid: number; ppid: number; utime: number; stime: number }

function readStat(pid: number): StatLine | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: fields restart after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pid, ppid: Number(rest[1]), utime: Number(rest[11]), stime: Number(rest[12]) };
}

/** The process and every live descendant. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of fs.readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(pid);
    if (!stat) continue;
    const list = children.get(stat.ppid);
    if (list) list.push(pid); else children.set(stat.ppid, [pid]);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.pop()!;
    out.push(pid);
    for (const child of children.get(pid) ?? []) queue.push(child);
  }
  return out;
}

/** CPU seconds used so far by the process tree (user + system). */
export function cpuSeconds(root: number): number {
  let ticks = 0;
  for (const pid of processTree(root)) {
    const stat = readStat(pid);
    if (stat) ticks += stat.utime + stat.stime;
  }
  return ticks / ticksPerSecond();
}

/** CPU seconds used so far by one process alone (not its children). */
export function processCpuSeconds(pid: number): number {
  const stat = readStat(pid);
  return stat ? (stat.utime + stat.stime) / ticksPerSecond() : 0;
}

/** Resident memory of the process tree, in bytes. */
export function rssBytes(root: number): number {
  let kb = 0;
  for (const pid of processTree(root)) {
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch {
      // the process ended between the listing and the read
    }
  }
  return kb * 1024;
}

/** Open file descriptors of one process. */
export function openFds(pid: number): number {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Wait until the server has nothing left to do from the previous phase (closing connections,
 * broadcasting unavailable presence): CPU under 5% over two consecutive 250 ms samples.
 */
export async function waitQuiet(root: number, maxMs = 20_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  let calm = 0;
  let last = cpuSeconds(root);
  while (Date.now() < deadline && calm < 2) {
    await new Promise((r) => setTimeout(r, 250));
    const now = cpuSeconds(root);
    calm = now - last <= 0.0125 ? calm + 1 : 0;
    last = now;
  }
}

/** CPU seconds the whole machine spent busy (all cores, everything but idle and iowait) so far. */
export function machineBusySeconds(): number {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number) as number[];
  return (user! + nice! + system! + irq! + softirq! + steal!) / ticksPerSecond();
}

/**
 * Other people's work on the machine (tests, builds) skews a benchmark on 2 cores. Wait (at most
 * `maxMs`) until the machine is nearly idle: under 0.15 busy cores over a second, our own idle
 * processes included. Returns the busy cores seen last.
 */
export async function waitMachineQuiet(maxMs = 60_000): Promise<number> {
  const deadline = Date.now() + maxMs;
  let busy = Infinity;
  if (maxMs <= 0) return 0;
  while (Date.now() < deadline) {
    const b0 = machineBusySeconds();
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 1000));
    busy = (machineBusySeconds() - b0) / ((Date.now() - t0) / 1000);
    if (busy < 0.15) break;
  }
  return busy;
}
