/**
 * A load worker: a child process (forked by bench/run.ts) that holds client connections and runs
 * the phases the coordinator sends over IPC, one at a time, answering each with its result.
 */
import {
  chatScenario, closeGroup, groupState, loginScenario, openGroup, rosterScenario,
  type ChatParams, type RosterParams, type Target,
} from './load-scenarios.js';

export type WorkerOrder =
  | { op: 'login'; target: Target; users: string[]; concurrency: number; resource: string }
  | { op: 'open'; target: Target; group: string; users: string[]; concurrency: number; resource: string; roster: boolean; presence: boolean }
  | { op: 'state'; group: string }
  | { op: 'close'; group: string }
  | { op: 'chat'; params: ChatParams }
  | { op: 'roster'; params: RosterParams }
  | { op: 'exit' };

export interface WorkerReply { id: number; ok: boolean; result?: unknown; error?: string }

async function run(order: WorkerOrder): Promise<unknown> {
  switch (order.op) {
    case 'login': return loginScenario(order.target, order.users, order.concurrency, order.resource);
    case 'open': return openGroup(order.target, order.group, order.users, order.concurrency, order.resource, { roster: order.roster, presence: order.presence });
    case 'state': return groupState(order.group);
    case 'close': return closeGroup(order.group);
    case 'chat': return chatScenario(order.params);
    case 'roster': return rosterScenario(order.params);
    case 'exit': setImmediate(() => process.exit(0)); return null;
  }
}

if (!process.send) {
  console.error('bench/worker.js is started by bench/run.js, not by hand');
  process.exit(2);
}
// The coordinator going away must not leave connections behind.
process.on('disconnect', () => process.exit(0));
process.on('message', (msg: { id: number; order: WorkerOrder }) => {
  run(msg.order).then(
    (result) => process.send!({ id: msg.id, ok: true, result } satisfies WorkerReply),
    (err: Error) => process.send!({ id: msg.id, ok: false, error: err.stack ?? err.message } satisfies WorkerReply),
  );
});
