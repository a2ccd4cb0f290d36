/**
 * The load generator's XML reader: it cuts the server's byte stream into the stream header and
 * top-level elements (stanzas, features, SASL and TLS nonzas) as strings, without building trees.
 *
 * It trusts the server it talks to (both servers under test escape '<' and '>' in attribute
 * values and text), so a tag ends at the next '>'. No comments, CDATA or DOCTYPE are expected on
 * an XMPP stream; a processing instruction (the XML declaration) is skipped. Parsing the server's
 * output this cheaply keeps the client from being the bottleneck of the benchmark.
 */
import { StringDecoder } from 'node:string_decoder';

export interface SplitterEvents {
  /** The `<stream:stream ...>` opening tag. */
  streamOpen(tag: string): void;
  /** One complete top-level element, as sent. */
  element(xml: string): void;
  /** `</stream:stream>`. */
  streamClose(): void;
}

export class XmlSplitter {
  private decoder = new StringDecoder('utf8');
  private buf = '';
  /** Where scanning resumes in `buf`. */
  private pos = 0;
  /** Start of the top-level element being read, or -1. */
  private start = -1;
  /** 0 before the stream header, 1 between stanzas, more inside one. */
  private depth = 0;
  /** Bumped by reset(), so a scan interrupted by a stream restart stops. */
  private generation = 0;

  constructor(private readonly on: SplitterEvents) {}

  /** Forget everything (stream restart after STARTTLS or SASL success). */
  reset(): void {
    this.decoder = new StringDecoder('utf8');
    this.buf = '';
    this.pos = 0;
    this.start = -1;
    this.depth = 0;
    this.generation++;
  }

  write(chunk: Buffer | string): void {
    this.buf += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    this.scan();
  }

  private scan(): void {
    // A handler may reset() the splitter while we scan (stream restart): check the buffer we own.
    const buf = this.buf;
    const generation = this.generation;
    let pos = this.pos;
    for (;;) {
      const lt = buf.indexOf('<', pos);
      if (lt < 0) { pos = buf.length; break; }
      const gt = buf.indexOf('>', lt + 1);
      if (gt < 0) { pos = lt; break; }
      pos = gt + 1;
      const next = buf.charCodeAt(lt + 1);
      if (next === 0x3f /* ? */ || next === 0x21 /* ! */) continue;
      if (next === 0x2f /* / */) {
        this.depth--;
        if (this.depth === 1) {
          const el = buf.slice(this.start, pos);
          this.start = -1;
          this.on.element(el);
        } else if (this.depth === 0) {
          this.on.streamClose();
        }
      } else if (this.depth === 0) {
        this.depth = 1;
        this.on.streamOpen(buf.slice(lt, pos));
      } else {
        const selfClosing = buf.charCodeAt(gt - 1) === 0x2f;
        if (this.depth === 1) {
          if (selfClosing) { this.on.element(buf.slice(lt, pos)); }
          else { this.start = lt; this.depth = 2; }
        } else if (!selfClosing) {
          this.depth++;
        }
      }
      if (this.generation !== generation) return; // reset() was called by a handler
    }
    // Keep only what is still needed: the unfinished element, or the unread tail.
    const keepFrom = this.start >= 0 ? this.start : pos;
    if (keepFrom > 0) {
      this.buf = buf.slice(keepFrom);
      if (this.start >= 0) this.start = 0;
      this.pos = pos - keepFrom;
    } else {
      this.pos = pos;
    }
  }
}

/** The value of attribute `name` in the opening tag at the start of `xml`, or undefined. */
export function attr(xml: string, name: string): string | undefined {
  const tagEnd = xml.indexOf('>');
  const end = tagEnd < 0 ? xml.length : tagEnd;
  let from = 0;
  for (;;) {
    const i = xml.indexOf(name, from);
    if (i < 0 || i > end) return undefined;
    const before = xml.charCodeAt(i - 1);
    const eq = i + name.length;
    // The attribute name must stand alone (" id=" and not " xid=") and be followed by ="..." or ='...'.
    if ((before === 0x20 || before === 0x09 || before === 0x0a || before === 0x0d) && xml.charCodeAt(eq) === 0x3d) {
      const quote = xml[eq + 1];
      if (quote === '"' || quote === "'") {
        const close = xml.indexOf(quote, eq + 2);
        if (close > 0) return xml.slice(eq + 2, close);
      }
    }
    from = i + name.length;
  }
}

/** The local name of the top-level element `xml` (without any prefix). */
export function elementName(xml: string): string {
  let end = 1;
  while (end < xml.length) {
    const c = xml.charCodeAt(end);
    if (c === 0x20 || c === 0x3e || c === 0x2f || c === 0x09 || c === 0x0a || c === 0x0d) break;
    end++;
  }
  const qname = xml.slice(1, end);
  const colon = qname.indexOf(':');
  return colon >= 0 ? qname.slice(colon + 1) : qname;
}

/** The text between the first opening tag and the last closing tag of a simple element. */
export function innerText(xml: string): string {
  const open = xml.indexOf('>');
  if (xml.charCodeAt(open - 1) === 0x2f) return '';
  const close = xml.lastIndexOf('</');
  return close > open ? xml.slice(open + 1, close) : '';
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&apos;': "'" };
export function unescapeXml(s: string): string {
  return s.indexOf('&') < 0 ? s : s.replace(/&(amp|lt|gt|quot|apos);/g, (m) => ENTITIES[m]!);
}
