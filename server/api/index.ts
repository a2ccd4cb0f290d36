/**
 * THE module API. Modules import from this file and nowhere else in server/.
 * See DESIGN.md "A module" and docs/modules.md.
 */
import type { z } from 'zod';
import type { ModuleDefinition } from './context.js';

export { z } from 'zod';
export { Element, xml } from '@xmpp/xml';
export { Jid, JidError } from '../xml/jid.js';
export { NS } from './ns.js';
export type { Namespace } from './ns.js';
export { Stage } from './stage.js';
export { StanzaError, StreamError, AuthUnavailableError } from './errors.js';
export type { StanzaErrorCondition, StanzaErrorType, StreamErrorCondition } from './errors.js';
export { handled, block, drop, rewrite } from './verdicts.js';
export type { Verdict, HookResult } from './verdicts.js';
export type { Session, SessionKind, TransportKind } from './session.js';
export type {
  StanzaEvent, StanzaKind, AuditEvent, OutgoingEvent, IqEvent, ParleyHooks, ParleyEvents,
  HookName, EventName, HookFn, EventFn,
} from './events.js';
export type {
  ModuleContext, ModuleDefinition, IqHandler, IqHandlerKey, IqAddressee, DiscoIdentity, DiscoItem,
  DiscoTarget, DiscoRegistry, RouterApi, SessionDirectory, AccountProvider, PasswordCheck, ScramCredentialSet, AccountsApi, StorageApi,
  KeyValueStore, ParleyServices, AccountAdminService, TimersApi, HttpRequestHandler, XepSupport,
} from './context.js';
export { duration } from '../config/duration.js';
export { elementToJson, elementFromJson } from './element-json.js';
export type { JsonNode } from './element-json.js';
export { cloneElement, delayStamp, errorReply, resultReply, stanzaType } from './stanza.js';
export { LogThrottle } from './log-throttle.js';

/** Declare a module. The type of `ctx.config` follows from the `config` schema. */
export function defineModule<S extends z.ZodType = z.ZodType>(def: ModuleDefinition<S>): ModuleDefinition<S> {
  return def;
}
