import type { Logger } from 'pino';
import { Stage } from '../api/stage.js';
import { block, type Verdict } from '../api/verdicts.js';
import { StanzaError } from '../api/errors.js';
import type { HookFn, HookName, ParleyHooks } from '../api/events.js';

interface HookEntry<N extends HookName> {
  fn: HookFn<N>;
  stage: Stage;
  module: string;
  seq: number;
}

/** Stages in which a crashing hook blocks the stanza (fail closed), per DESIGN.md "Errors". */
const FAIL_CLOSED_STAGES = new Set([Stage.GUARD, Stage.POLICY]);

/**
 * The pipeline hook lists. Lists are sorted when a hook is added (stage, then load order), never
 * per stanza; running a list awaits only hooks that return a promise.
 */
export class HookRegistry {
  private readonly lists = new Map<HookName, HookEntry<HookName>[]>();
  private seq = 0;

  constructor(private readonly log: Logger) {}

  add<N extends HookName>(name: N, fn: HookFn<N>, stage: Stage, module: string): () => void {
    const entry = { fn, stage, module, seq: this.seq++ } as unknown as HookEntry<HookName>;
    const list = [...(this.lists.get(name) ?? []), entry].sort((a, b) => a.stage - b.stage || a.seq - b.seq);
    this.lists.set(name, list);
    return () => {
      const current = this.lists.get(name) ?? [];
      this.lists.set(name, current.filter((e) => e !== entry));
    };
  }

  has(name: HookName): boolean {
    return (this.lists.get(name)?.length ?? 0) > 0;
  }

  /**
   * Run the hooks of `name` until one returns a verdict. `rewrite` replaces `event.stanza` (when the
   * payload has one) and the list goes on. Returns the stopping verdict, a rewrite verdict if the
   * stanza was rewritten and nothing stopped it, or undefined.
   */
  run<N extends HookName>(name: N, event: ParleyHooks[N], context: { stanzaId?: string; session?: string } = {}): Verdict | undefined | Promise<Verdict | undefined> {
    const list = this.lists.get(name);
    if (!list) return undefined;
    return this.runFrom(list, 0, name, event, context, undefined);
  }

  private runFrom<N extends HookName>(
    list: HookEntry<HookName>[], start: number, name: N, event: ParleyHooks[N],
    context: { stanzaId?: string; session?: string }, rewritten: Verdict | undefined,
  ): Verdict | undefined | Promise<Verdict | undefined> {
    for (let i = start; i < list.length; i++) {
      const entry = list[i]!;
      let result;
      try {
        result = (entry.fn as HookFn<N>)(event);
      } catch (err) {
        const crash = this.crashed(entry, name, err, context);
        if (crash) return crash;
        continue;
      }
      if (result instanceof Promise) {
        return result.then(
          (v) => {
            const next = this.settle(v ?? undefined, event, rewritten);
            if (next.stop) return next.verdict;
            return this.runFrom(list, i + 1, name, event, context, next.verdict);
          },
          (err) => {
            const crash = this.crashed(entry, name, err, context);
            if (crash) return crash;
            return this.runFrom(list, i + 1, name, event, context, rewritten);
          },
        );
      }
      const next = this.settle(result ?? undefined, event, rewritten);
      if (next.stop) return next.verdict;
      rewritten = next.verdict;
    }
    return rewritten;
  }

  private settle(v: Verdict | undefined, event: unknown, rewritten: Verdict | undefined): { stop: boolean; verdict: Verdict | undefined } {
    if (v === undefined) return { stop: false, verdict: rewritten };
    if (v.kind === 'rewrite') {
      (event as { stanza?: unknown }).stanza = v.stanza;
      return { stop: false, verdict: v };
    }
    return { stop: true, verdict: v };
  }

  /** A hook threw. A StanzaError is a refusal; anything else is logged once and, in GUARD/POLICY, blocks. */
  private crashed(entry: HookEntry<HookName>, hook: string, err: unknown, context: { stanzaId?: string; session?: string }): Verdict | undefined {
    if (err instanceof StanzaError) return block(err);
    this.log.error({ module: entry.module, hook, stanzaId: context.stanzaId, session: context.session, err }, 'hook failed');
    if (FAIL_CLOSED_STAGES.has(entry.stage)) {
      return block(new StanzaError('internal-server-error', `Module ${entry.module} failed to check the stanza`));
    }
    return undefined;
  }
}
