import type { Element } from '@xmpp/xml';
import type { StanzaError } from './errors.js';

/**
 * What a pipeline hook decides. Returning nothing passes the stanza on; anything else is explicit.
 * No truthy returns, no numbers: a reader sees the decision in the code.
 */
export type Verdict =
  | { readonly kind: 'handled' }
  | { readonly kind: 'block'; readonly error: StanzaError }
  | { readonly kind: 'drop'; readonly reason: string }
  | { readonly kind: 'rewrite'; readonly stanza: Element };

const HANDLED: Verdict = Object.freeze({ kind: 'handled' });

/** The hook took care of the stanza; later hooks and the default action do not run. */
export function handled(): Verdict { return HANDLED; }
/** Refuse the stanza; the sender gets `error` as a stanza error. */
export function block(error: StanzaError): Verdict { return { kind: 'block', error }; }
/** Discard the stanza without an answer; `reason` is logged (use sparingly: nothing is dropped silently). */
export function drop(reason: string): Verdict { return { kind: 'drop', reason }; }
/** Replace the stanza for the hooks after this one and for delivery. */
export function rewrite(stanza: Element): Verdict { return { kind: 'rewrite', stanza }; }

/** What a hook may return: nothing (pass), a verdict, or a promise of either. */
export type HookResult = Verdict | undefined | void | Promise<Verdict | undefined | void>;
