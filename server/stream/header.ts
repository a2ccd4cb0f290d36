import { escapeXML } from '@xmpp/xml';
import { NS } from '../api/ns.js';
import { StreamError } from '../api/errors.js';

/**
 * RFC 6120 4.7 and 4.9.3: check a client's stream header. Returns the hosted domain it asks for.
 * For RFC 7395 framing the header is an <open/> element with the same attributes.
 */
export function checkStreamHeader(attrs: Record<string, string | undefined>, framed: boolean, isHosted: (d: string) => boolean): string {
  if (!framed) {
    if (attrs.xmlns !== NS.CLIENT) throw new StreamError('invalid-namespace', `expected default namespace '${NS.CLIENT}'`);
  }
  const version = attrs.version;
  // RFC 6120 4.7.5: no version means pre-1.0, which this server does not speak.
  if (!version || !/^1\.\d+$/.test(version)) throw new StreamError('unsupported-version', 'XMPP version 1.0 is required');
  const to = (attrs.to ?? '').toLowerCase().replace(/\.$/, '');
  if (!to) throw new StreamError('host-unknown', "the stream header has no 'to' address");
  if (!isHosted(to)) throw new StreamError('host-unknown', `this server does not host '${to}'`);
  return to;
}

export function streamHeader(opts: { id: string; from: string; to?: string | undefined; framed: boolean }): string {
  const to = opts.to ? ` to='${escapeXML(opts.to)}'` : '';
  if (opts.framed) {
    return `<open xmlns='${NS.FRAMING}' id='${opts.id}' from='${escapeXML(opts.from)}'${to} version='1.0' xml:lang='en'/>`;
  }
  return `<?xml version='1.0'?><stream:stream xmlns='${NS.CLIENT}' xmlns:stream='${NS.STREAM}' id='${opts.id}' from='${escapeXML(opts.from)}'${to} version='1.0' xml:lang='en'>`;
}

/** A header sent only so a stream error can follow it (RFC 6120 4.9.1.2). */
export function emergencyHeader(id: string, framed: boolean): string {
  return framed
    ? `<open xmlns='${NS.FRAMING}' id='${id}' version='1.0' xml:lang='en'/>`
    : `<?xml version='1.0'?><stream:stream xmlns='${NS.CLIENT}' xmlns:stream='${NS.STREAM}' id='${id}' version='1.0' xml:lang='en'>`;
}

export function streamClose(framed: boolean): string {
  return framed ? `<close xmlns='${NS.FRAMING}'/>` : '</stream:stream>';
}
