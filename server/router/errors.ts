import type { Element } from '@xmpp/xml';
import { StanzaError } from '../api/errors.js';
import { errorReply } from '../api/stanza.js';

/**
 * RFC 6120 8.3.1: never answer an error with an error, nor an IQ result. Returns the reply to
 * send, or null when the stanza must not be answered.
 */
export function bounceReply(stanza: Element, error: StanzaError): Element | null {
  const type = stanza.attrs.type;
  if (type === 'error') return null;
  if (stanza.name === 'iq' && type === 'result') return null;
  return errorReply(stanza, error);
}

/** Turn anything a handler threw into the StanzaError the sender gets. */
export function toStanzaError(err: unknown, module: string): StanzaError {
  if (err instanceof StanzaError) return err;
  return new StanzaError('internal-server-error', `Module ${module} failed to handle the request`);
}
