import crypto from 'node:crypto';
import {
  NS, StanzaError, xml,
  type Element, type IqEvent, type Jid, type ModuleContext,
} from '../../server/api/index.js';
import { buildForm, formValues } from './forms.js';
import type { AdhocCommand, AdhocService, CommandRequest, CommandResponse } from './service.js';

export const COMMANDS = 'http://jabber.org/protocol/commands';

type Ctx = Pick<ModuleContext, 'accounts' | 'timers' | 'log'>;
type Action = 'execute' | 'next' | 'prev' | 'complete' | 'cancel';
const ACTIONS = new Set<string>(['execute', 'next', 'prev', 'complete', 'cancel']);

interface RunState {
  id: string;
  command: AdhocCommand;
  /** Only the full JID that started a run may continue it. */
  requester: string;
  state: Record<string, unknown>;
  /** What the last response offered (cancel is always allowed). */
  allowed: Set<string>;
  defaultAction: 'next' | 'prev' | 'complete';
  expires: { cancel(): void };
}

export interface AdhocLimits {
  /** A run with no step for this long is forgotten (its next step gets session-expired). */
  sessionTimeoutMs: number;
  /** Most unfinished runs of one requester. */
  maxRunsPerRequester: number;
}

function commandError(condition: 'bad-request' | 'not-allowed', app: string, text: string): StanzaError {
  return new StanzaError(condition, text, { app: xml(app, { xmlns: COMMANDS }) });
}

/** XEP-0050 Ad-Hoc Commands: the registry of commands and the runs in progress. */
export class Commands implements AdhocService {
  private readonly commands = new Map<string, AdhocCommand>();
  private readonly runs = new Map<string, RunState>();

  constructor(private readonly ctx: Ctx, private readonly limits: AdhocLimits) {}

  register(command: AdhocCommand): () => void {
    const existing = this.commands.get(command.node);
    if (existing) throw new Error(`ad-hoc command ${command.node} is already registered`);
    this.commands.set(command.node, command);
    return () => { if (this.commands.get(command.node) === command) this.commands.delete(command.node); };
  }

  form = buildForm;
  values = formValues;

  mayRun(command: AdhocCommand, requester: Jid): boolean {
    if (command.access === 'admin') return this.ctx.accounts.isAdmin(requester.bare);
    if (command.access === 'local') return this.ctx.accounts.isLocalDomain(requester.domain) && requester.local !== '';
    return command.access(requester);
  }

  /** Section 2.2: the commands a requester may run, for disco#items of the commands node. */
  visibleTo(requester: Jid): AdhocCommand[] {
    return [...this.commands.values()].filter((c) => this.mayRun(c, requester));
  }

  get(node: string): AdhocCommand | undefined {
    return this.commands.get(node);
  }

  /** An IQ set with `<command/>` to the server (section 3). */
  readonly handle = async (iq: IqEvent): Promise<Element> => {
    const payload = iq.payload;
    const node = payload.attrs.node;
    if (!node) throw new StanzaError('bad-request', 'The command has no node');
    const action = payload.attrs.action ?? 'execute';
    if (!ACTIONS.has(action)) throw commandError('bad-request', 'malformed-action', `'${action}' is not a command action`);
    const sessionid = payload.attrs.sessionid;
    if (!sessionid) return this.start(iq, node, action as Action);
    return this.continue(iq, node, sessionid, action as Action, payload.getChild('x', NS.DATA_FORMS));
  };

  private async start(iq: IqEvent, node: string, action: Action): Promise<Element> {
    const command = this.commands.get(node);
    if (!command) throw new StanzaError('item-not-found', `No command ${node} here`);
    if (!this.mayRun(command, iq.from)) throw new StanzaError('forbidden', 'You may not run this command');
    if (action === 'cancel') return xml('command', { xmlns: COMMANDS, node, status: 'canceled' });
    const open = [...this.runs.values()].filter((r) => r.requester === iq.from.full).length;
    if (open >= this.limits.maxRunsPerRequester) throw new StanzaError('resource-constraint', 'Too many unfinished commands; complete or cancel one first');
    const run: RunState = {
      id: crypto.randomUUID(), command, requester: iq.from.full, state: {},
      allowed: new Set(), defaultAction: 'complete', expires: { cancel() {} },
    };
    return this.step(iq, run, 'execute', undefined);
  }

  private async continue(iq: IqEvent, node: string, sessionid: string, action: Action, form: Element | undefined): Promise<Element> {
    const run = this.runs.get(sessionid);
    if (!run || run.command.node !== node || run.requester !== iq.from.full) {
      // Section 4.6: an unknown session is bad-sessionid; one that timed out is gone the same way.
      throw commandError('bad-request', 'bad-sessionid', 'No such command session (it may have expired)');
    }
    if (action === 'cancel') {
      this.end(run);
      return xml('command', { xmlns: COMMANDS, node, sessionid, status: 'canceled' });
    }
    const chosen = action === 'execute' ? run.defaultAction : action;
    if (!run.allowed.has(chosen)) throw commandError('bad-request', 'bad-action', `'${action}' is not one of the offered actions`);
    // Rights are checked at every step: an admin removed from config mid-run is stopped.
    if (!this.mayRun(run.command, iq.from)) { this.end(run); throw new StanzaError('forbidden', 'You may not run this command'); }
    if (form && form.attrs.type === 'cancel') {
      this.end(run);
      return xml('command', { xmlns: COMMANDS, node, sessionid, status: 'canceled' });
    }
    return this.step(iq, run, chosen, form);
  }

  private async step(iq: IqEvent, run: RunState, action: CommandRequest['action'], form: Element | undefined): Promise<Element> {
    let response: CommandResponse;
    try {
      response = await run.command.run({
        requester: iq.from, session: iq.origin, to: iq.to, action, values: formValues(form), state: run.state,
      });
    } catch (err) {
      this.end(run);
      throw err;
    }
    const out = xml('command', { xmlns: COMMANDS, node: run.command.node, sessionid: run.id, status: response.status });
    if (response.status === 'completed') {
      this.end(run);
    } else {
      const offered = response.actions ?? { complete: true };
      run.allowed = new Set((['next', 'prev', 'complete'] as const).filter((a) => offered[a]));
      if (run.allowed.size === 0) run.allowed.add('complete');
      run.defaultAction = offered.execute ?? (run.allowed.has('next') ? 'next' : 'complete');
      run.allowed.add(run.defaultAction);
      const actions = xml('actions', { execute: run.defaultAction });
      for (const a of ['prev', 'next', 'complete'] as const) if (run.allowed.has(a)) actions.append(xml(a));
      out.append(actions);
      this.keep(run);
    }
    if (response.note) out.append(xml('note', { type: response.note.type }, response.note.text));
    if (response.form) out.append(response.form);
    return out;
  }

  private keep(run: RunState): void {
    run.expires.cancel();
    this.runs.set(run.id, run);
    run.expires = this.ctx.timers.after(this.limits.sessionTimeoutMs, () => { this.runs.delete(run.id); });
  }

  private end(run: RunState): void {
    run.expires.cancel();
    this.runs.delete(run.id);
  }

  /** A requester's session ended: its unfinished runs go with it. */
  forget(fullJid: string): void {
    for (const run of [...this.runs.values()]) if (run.requester === fullJid) this.end(run);
  }
}
