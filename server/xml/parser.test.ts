import assert from 'node:assert/strict';
import { test } from 'node:test';
import { xml, type Element } from '@xmpp/xml';
import {
  StreamParser,
  STREAMS_NS,
  type ParserHandlers,
  type ParserLimits,
  type ParserMode,
  type StreamErrorCondition,
} from './parser.js';

type Event =
  | ['open', string, Record<string, string>]
  | ['element', unknown]
  | ['close']
  | ['error', StreamErrorCondition, string];

interface Recorder {
  parser: StreamParser;
  events: Event[];
  elements: Element[];
}

/** A JSON-able picture of an element that also shows how text nodes are split. */
function shape(el: Element): unknown {
  return {
    name: el.name,
    attrs: { ...el.attrs },
    children: el.children.map((child) => (typeof child === 'string' ? child : shape(child))),
  };
}

function record(limits: Partial<ParserLimits> = {}, mode: ParserMode = 'stream', hooks: Partial<ParserHandlers> = {}): Recorder {
  const events: Event[] = [];
  const elements: Element[] = [];
  const parser = new StreamParser(
    {
      streamOpen(name, attrs) {
        events.push(['open', name, attrs]);
        hooks.streamOpen?.(name, attrs);
      },
      element(el) {
        events.push(['element', shape(el)]);
        elements.push(el);
        hooks.element?.(el);
      },
      streamClose() {
        events.push(['close']);
        hooks.streamClose?.();
      },
      error(condition, text) {
        events.push(['error', condition, text]);
        hooks.error?.(condition, text);
      },
    },
    limits,
    mode,
  );
  return { parser, events, elements };
}

const HEADER =
  "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' " +
  "to='example.com' version='1.0' xml:lang='en'>";

const FRAMING_NS = 'urn:ietf:params:xml:ns:xmpp-framing';

/** Parses a client stream: the header, then each chunk in its own write(). */
function parse(...chunks: Array<string | Buffer>): Recorder {
  const r = record();
  r.parser.write(HEADER);
  for (const chunk of chunks) r.parser.write(chunk);
  return r;
}

function errorsOf(r: Recorder): Array<[StreamErrorCondition, string]> {
  return r.events.filter((e) => e[0] === 'error').map((e) => [e[1], e[2]] as [StreamErrorCondition, string]);
}

/** Asserts that the input ended in exactly one error with this condition. */
function assertRefused(r: Recorder, condition: StreamErrorCondition, text?: RegExp): void {
  const errors = errorsOf(r);
  assert.equal(errors.length, 1, `expected one error, got ${JSON.stringify(r.events)}`);
  assert.equal(errors[0]![0], condition, `wrong condition: ${errors[0]![1]}`);
  if (text) assert.match(errors[0]![1], text);
  assert.equal(r.events.at(-1)![0], 'error', 'no event may follow the error');
}

function assertNoError(r: Recorder): void {
  assert.deepEqual(errorsOf(r), []);
}

/** Small deterministic PRNG (mulberry32), so fuzz failures reproduce. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A valid stream exercising most of the grammar, including multi-byte text. */
const RICH_STREAM =
  "\uFEFF<?xml version='1.0' encoding='UTF-8'?>\n" +
  "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0' xml:lang='en'>\n" +
  "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>" +
  "<message from='juliet@example.com/balcony' to='romeo@example.net' type='chat' id='m1' xml:lang='fr'>" +
  '<body>Wherefore art thou, Roméo? 😀 漢字 &lt;&gt;&amp;&quot;&apos; &#65;&#x42;&#x1F600;\r\nline two\rline three</body>' +
  "<thread>e0ffe42b28561960c6b12b944a092794b9683a38</thread><active xmlns='http://jabber.org/protocol/chatstates'/>" +
  "<x:data xmlns:x='urn:example:x' x:attr='v &apos;q&apos; \"d\"'><![CDATA[<raw> & ]] stuff]]></x:data>" +
  '</message>\n   \n' +
  "<iq type='get' id='ping1'><ping xmlns='urn:xmpp:ping'/></iq>" +
  "<presence><show>away</show><status>  spaced\ttext  </status><priority>5</priority></presence>" +
  ' </stream:stream>\n';

function feedWhole(input: string): Event[] {
  const r = record();
  r.parser.write(Buffer.from(input, 'utf8'));
  return r.events;
}

// ---------------------------------------------------------------------------
// The stream header

test('the stream header is reported with its attributes as soon as its start tag is complete', () => {
  const r = record();
  r.parser.write(HEADER.slice(0, -1));
  assert.deepEqual(r.events, []);
  r.parser.write('>');
  assert.deepEqual(r.events, [
    [
      'open',
      'stream:stream',
      {
        xmlns: 'jabber:client',
        'xmlns:stream': STREAMS_NS,
        to: 'example.com',
        version: '1.0',
        'xml:lang': 'en',
      },
    ],
  ]);
});

test('a stream header without an XML declaration is accepted', () => {
  const r = record();
  r.parser.write(HEADER.replace("<?xml version='1.0'?>", ''));
  assert.equal(r.events.length, 1);
  assert.equal(r.events[0]![0], 'open');
});

test('an XML declaration naming UTF-8 as its encoding is accepted', () => {
  const r = record();
  r.parser.write(HEADER.replace("<?xml version='1.0'?>", '<?xml version="1.0" encoding="utf-8" ?>'));
  assertNoError(r);
  assert.equal(r.events[0]![0], 'open');
});

test('an XML declaration naming another encoding is refused as unsupported-encoding', () => {
  const r = record();
  r.parser.write(HEADER.replace("<?xml version='1.0'?>", "<?xml version='1.0' encoding='ISO-8859-1'?>"));
  assertRefused(r, 'unsupported-encoding', /ISO-8859-1/);
});

test('a malformed XML declaration is refused as not-well-formed', () => {
  const r = record();
  r.parser.write("<?xml version='2' ?>");
  assertRefused(r, 'not-well-formed');
});

test('an XML declaration that is not at the very start is refused as restricted-xml', () => {
  const r = record();
  r.parser.write(" \n<?xml version='1.0'?>");
  assertRefused(r, 'restricted-xml');
});

test('a processing instruction before the stream header is refused as restricted-xml', () => {
  const r = record();
  r.parser.write("<?xml-stylesheet href='a.xsl'?>");
  assertRefused(r, 'restricted-xml', /processing instructions/);
});

test('a UTF-8 byte order mark before the stream header is accepted', () => {
  const r = record();
  r.parser.write(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(HEADER)]));
  assertNoError(r);
  assert.equal(r.events[0]![0], 'open');
});

test('a root element other than stream is refused as invalid-namespace', () => {
  const r = record();
  r.parser.write("<stream:foo xmlns:stream='http://etherx.jabber.org/streams'>");
  assertRefused(r, 'invalid-namespace');
});

test('a stream root in the wrong namespace is refused as invalid-namespace', () => {
  const r = record();
  r.parser.write("<stream:stream xmlns='jabber:client' xmlns:stream='http://example.com/streams'>");
  assertRefused(r, 'invalid-namespace', /http:\/\/example\.com\/streams/);
});

test('a stream root with an unbound prefix is refused as not-well-formed', () => {
  const r = record();
  r.parser.write("<stream:stream xmlns='jabber:client'>");
  assertRefused(r, 'not-well-formed', /unbound/);
});

test('a stream root with a different prefix is accepted and reported under that name', () => {
  const r = record();
  r.parser.write("<s:stream xmlns='jabber:client' xmlns:s='http://etherx.jabber.org/streams'><s:features/></s:stream>");
  assertNoError(r);
  assert.equal(r.events[0]![1], 's:stream');
  assert.equal(r.elements[0]!.name, 's:features');
  assert.equal(r.elements[0]!.getNS(), STREAMS_NS);
  assert.deepEqual(r.events.at(-1), ['close']);
});

test('text before the stream header is refused as not-well-formed', () => {
  const r = record();
  r.parser.write('hello <stream:stream>');
  assertRefused(r, 'not-well-formed');
});

// ---------------------------------------------------------------------------
// Stanzas

test('a stanza is reported when its end tag is seen, detached and with its inherited namespace', () => {
  const r = parse("<message to='romeo@example.net'><body>hi</body>");
  assert.equal(r.elements.length, 0);
  r.parser.write('</message>');
  assertNoError(r);
  const el = r.elements[0]!;
  assert.equal(el.parent, null);
  assert.equal(el.attrs['xmlns'], 'jabber:client');
  assert.equal(el.getNS(), 'jabber:client');
  assert.ok(el.is('message', 'jabber:client'));
  assert.equal(el.getChildText('body'), 'hi');
  assert.equal(el.getChild('body')!.getNS(), 'jabber:client');
});

test('a stanza with its own namespace keeps it', () => {
  const r = parse("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGp1bGlldAByMG0zMG15cjBtMzA=</auth>");
  assertNoError(r);
  const el = r.elements[0]!;
  assert.equal(el.getNS(), 'urn:ietf:params:xml:ns:xmpp-sasl');
  assert.equal(el.attrs['mechanism'], 'PLAIN');
  assert.equal(el.getText(), 'AGp1bGlldAByMG0zMG15cjBtMzA=');
});

test('self-closing elements are reported at top level and built as children', () => {
  const r = parse("<r xmlns='urn:xmpp:sm:3'/><iq type='result' id='1'/><message><active xmlns='http://jabber.org/protocol/chatstates' /></message>");
  assertNoError(r);
  assert.deepEqual(
    r.elements.map((el) => el.toString()),
    [
      '<r xmlns="urn:xmpp:sm:3"/>',
      '<iq type="result" id="1" xmlns="jabber:client"/>',
      '<message xmlns="jabber:client"><active xmlns="http://jabber.org/protocol/chatstates"/></message>',
    ],
  );
});

test('nested elements form a tree whose children point to their parents', () => {
  const r = parse(
    "<iq type='result' id='r1'><query xmlns='jabber:iq:roster'><item jid='a@b' name='A'><group>Friends</group></item><item jid='c@d'/></query></iq>",
  );
  assertNoError(r);
  const iq = r.elements[0]!;
  const query = iq.getChild('query')!;
  assert.equal(query.parent, iq);
  const items = query.getChildren('item');
  assert.equal(items.length, 2);
  assert.equal(items[0]!.parent, query);
  assert.equal(items[0]!.getChildText('group'), 'Friends');
  assert.equal(items[0]!.getChild('group')!.getNS(), 'jabber:iq:roster');
  assert.equal(items[1]!.attrs['jid'], 'c@d');
});

test('multiple stanzas in one chunk are all reported in order', () => {
  const r = parse("<presence/><message id='1'><body>one</body></message><message id='2'><body>two</body></message><iq id='3' type='get'/>");
  assertNoError(r);
  assert.deepEqual(
    r.elements.map((el) => `${el.name}#${el.attrs['id'] ?? ''}`),
    ['presence#', 'message#1', 'message#2', 'iq#3'],
  );
});

test('a stanza split across many chunks is reported once, when it is complete', () => {
  const stanza = "<message type='chat' id='split'><body>a fairly long body &amp; an entity</body><thread>t1</thread></message>";
  const r = parse();
  for (let i = 0; i < stanza.length; i += 7) {
    assert.equal(r.elements.length, 0);
    r.parser.write(stanza.slice(i, i + 7));
  }
  assertNoError(r);
  assert.equal(r.elements.length, 1);
  assert.equal(r.elements[0]!.getChildText('body'), 'a fairly long body & an entity');
  assert.equal(r.elements[0]!.getChild('body')!.children.length, 1);
});

test('whitespace keepalives between stanzas are ignored', () => {
  const r = parse(' ', '\n', "<presence/>\r\n\t ", '   ');
  assertNoError(r);
  assert.equal(r.events.length, 2);
});

test('non-whitespace text directly inside the stream element is refused as not-well-formed', () => {
  const r = parse('<presence/> hello ');
  assertRefused(r, 'not-well-formed', /directly inside the stream/);
  assert.equal(r.elements.length, 1);
});

test('the stream end tag reports streamClose', () => {
  const r = parse('<presence/>', '</stream:stream>');
  assertNoError(r);
  assert.deepEqual(r.events.at(-1), ['close']);
});

test('an element after the stream is closed is refused as not-well-formed', () => {
  const r = parse('</stream:stream>\n', '<presence/>');
  assertRefused(r, 'not-well-formed', /after the end of the stream/);
});

test('text after the stream is closed is refused as not-well-formed', () => {
  const r = parse('</stream:stream>', 'junk');
  assertRefused(r, 'not-well-formed');
});

test('the stream end tag while a stanza is open is refused as not-well-formed', () => {
  const r = parse('<message><body>hi</body></stream:stream>');
  assertRefused(r, 'not-well-formed', /does not match/);
});

test('xml:lang stays an attribute named xml:lang', () => {
  const r = parse("<message xml:lang='de'><body xml:lang='fr'>salut</body></message>");
  assertNoError(r);
  assert.equal(r.elements[0]!.attrs['xml:lang'], 'de');
  assert.equal(r.elements[0]!.getChild('body')!.attrs['xml:lang'], 'fr');
  assert.equal(r.elements[0]!.attrs['xmlns:xml'], undefined);
});

test('an attribute named __proto__ is stored as an ordinary attribute', () => {
  const r = parse("<message __proto__='x' constructor='y'/>");
  assertNoError(r);
  const attrs = r.elements[0]!.attrs;
  assert.ok(Object.hasOwn(attrs, '__proto__'));
  assert.equal(attrs['__proto__'], 'x');
  assert.equal(attrs['constructor'], 'y');
  assert.equal(Object.getPrototypeOf(attrs), Object.prototype);
});

// ---------------------------------------------------------------------------
// Namespaces

test('stream:features from a peer keeps its name and gets the stream namespace declaration', () => {
  const r = parse("<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>");
  assertNoError(r);
  const el = r.elements[0]!;
  assert.equal(el.name, 'stream:features');
  assert.equal(el.attrs['xmlns:stream'], STREAMS_NS);
  assert.ok(el.is('features', STREAMS_NS));
  assert.equal(el.getChild('bind')!.getNS(), 'urn:ietf:params:xml:ns:xmpp-bind');
});

test('a stream:error keeps its name and the namespaces of its conditions', () => {
  const r = parse(
    "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Replaced</text></stream:error>",
  );
  assertNoError(r);
  const el = r.elements[0]!;
  assert.ok(el.is('error', STREAMS_NS));
  assert.equal(el.getChild('conflict', 'urn:ietf:params:xml:ns:xmpp-streams')!.name, 'conflict');
  assert.equal(el.attrs['xmlns'], undefined, 'nothing inside inherits the default namespace');
});

test('a prefix declared on the stream root and used inside a stanza is copied onto the stanza', () => {
  const r = record();
  r.parser.write(
    "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' to='example.net'>",
  );
  r.parser.write("<db:result from='example.org' to='example.net'><extra/>b4835385f37fe2895af6c196b59097b16862406db80559900d96bf6fa7d23df3</db:result>");
  r.parser.write("<message><db:hint/></message>");
  assertNoError(r);
  const [result, message] = r.elements;
  assert.equal(result!.name, 'db:result');
  assert.equal(result!.attrs['xmlns:db'], 'jabber:server:dialback');
  assert.ok(result!.is('result', 'jabber:server:dialback'));
  // <extra/> inherits the root's default namespace, so the stanza carries it.
  assert.equal(result!.getChild('extra')!.getNS(), 'jabber:server');
  assert.equal(message!.attrs['xmlns:db'], 'jabber:server:dialback');
  assert.equal(message!.getChild('hint')!.getNS(), 'jabber:server:dialback');
  assert.equal(message!.getNS(), 'jabber:server');
});

test('a prefix declared inside the stanza is resolved there and nothing is copied', () => {
  const r = parse("<message><x:y xmlns:x='urn:example:x' x:a='1'><x:z/></x:y></message>");
  assertNoError(r);
  const el = r.elements[0]!;
  assert.equal(el.attrs['xmlns:x'], undefined);
  assert.equal(el.attrs['xmlns:stream'], undefined);
  assert.equal(el.getChild('y')!.getChild('z')!.getNS(), 'urn:example:x');
});

test('an unbound namespace prefix on an element is refused as not-well-formed', () => {
  const r = parse('<foo:bar/>');
  assertRefused(r, 'not-well-formed', /unbound namespace prefix "foo"/);
});

test('an unbound namespace prefix on an attribute is refused as not-well-formed', () => {
  const r = parse("<message foo:bar='1'/>");
  assertRefused(r, 'not-well-formed', /unbound/);
});

test('a namespace prefix declared by a sibling is not in scope', () => {
  const r = parse("<message><a xmlns:p='urn:p'/><p:b/></message>");
  assertRefused(r, 'not-well-formed', /unbound/);
});

test('two attributes with the same expanded name are refused as not-well-formed', () => {
  const r = parse("<message xmlns:a='urn:same' xmlns:b='urn:same' a:x='1' b:x='2'/>");
  assertRefused(r, 'not-well-formed');
});

test('undeclaring a namespace prefix is refused as not-well-formed', () => {
  const r = parse("<message xmlns:p=''/>");
  assertRefused(r, 'not-well-formed');
});

// ---------------------------------------------------------------------------
// Text, references and CDATA

test('the five predefined entities decode in text and in attribute values', () => {
  const r = parse("<message id='&amp;&lt;&gt;&quot;&apos;'><body>&amp;&lt;&gt;&quot;&apos;</body></message>");
  assertNoError(r);
  assert.equal(r.elements[0]!.attrs['id'], `&<>"'`);
  assert.equal(r.elements[0]!.getChildText('body'), `&<>"'`);
});

test('attribute values with &apos; and &quot; decode inside either kind of quotes', () => {
  const r = parse(`<message a='it&apos;s "quoted"' b="say &quot;hi&quot; it's"/>`);
  assertNoError(r);
  assert.equal(r.elements[0]!.attrs['a'], `it's "quoted"`);
  assert.equal(r.elements[0]!.attrs['b'], `say "hi" it's`);
});

test('decimal and hexadecimal character references decode, including astral characters', () => {
  const r = parse("<message id='&#65;&#x42;'><body>&#65;&#x42;&#x63;&#x1F600;&#128512;&#xE9;&#0000233;</body></message>");
  assertNoError(r);
  assert.equal(r.elements[0]!.attrs['id'], 'AB');
  assert.equal(r.elements[0]!.getChildText('body'), 'ABc😀😀éé');
});

test('a reference to a character XML forbids is refused as not-well-formed', () => {
  for (const ref of ['&#0;', '&#x1;', '&#xFFFE;', '&#xD800;', '&#1114112;', '&#99999999999999999999;']) {
    const r = parse(`<message><body>${ref}</body></message>`);
    assertRefused(r, 'not-well-formed', /character reference/);
  }
});

test('a malformed character reference is refused as not-well-formed', () => {
  for (const ref of ['&#;', '&#x;', '&#X41;', '&#12a;', '&#65 ']) {
    const r = parse(`<message><body>${ref}</body></message>`);
    assertRefused(r, 'not-well-formed');
  }
});

test('an undeclared entity reference is refused as restricted-xml', () => {
  const r = parse('<message><body>caf&eacute;</body></message>');
  assertRefused(r, 'restricted-xml', /&eacute;/);
});

test('an undeclared entity reference in an attribute value is refused as restricted-xml', () => {
  const r = parse("<message id='&nbsp;'/>");
  assertRefused(r, 'restricted-xml');
});

test('an unterminated entity reference is refused as not-well-formed', () => {
  const r = parse('<message><body>fish &amp chips</body></message>');
  assertRefused(r, 'not-well-formed', /not terminated/);
});

test('a bare ampersand is refused as not-well-formed', () => {
  const r = parse('<message><body>fish & chips</body></message>');
  assertRefused(r, 'not-well-formed');
});

test('a CDATA section is kept and decoded as text', () => {
  const r = parse('<message><body><![CDATA[<b>bold</b> & ]] ]]]></body></message>');
  assertNoError(r);
  assert.equal(r.elements[0]!.getChildText('body'), '<b>bold</b> & ]] ]');
});

test('adjacent text, CDATA sections and references merge into one text node', () => {
  const r = parse('<message><body>a &amp; <![CDATA[b]]> c&#33;', ' d</body></message>');
  assertNoError(r);
  const body = r.elements[0]!.getChild('body')!;
  assert.deepEqual(body.children, ['a & b c! d']);
});

test('text around a child element stays in two text nodes', () => {
  const r = parse('<message><body>one<br/>two</body></message>');
  assertNoError(r);
  assert.equal(r.elements[0]!.getChild('body')!.children.length, 3);
});

test('a CDATA section outside a stanza is refused as not-well-formed', () => {
  const r = parse('<![CDATA[ ]]>');
  assertRefused(r, 'not-well-formed', /CDATA/);
});

test("']]>' in character data is refused as not-well-formed, even across chunks", () => {
  assertRefused(parse('<message><body>a]]>b</body></message>'), 'not-well-formed', /]]>/);
  assertRefused(parse('<message><body>a]', ']', '>b</body></message>'), 'not-well-formed', /]]>/);
  assertNoError(parse('<message><body>a]>b] ]>]&#93;></body></message>'));
});

test('line ends in text are normalised to LF and whitespace in attribute values to spaces', () => {
  const r = parse("<message id='a\tb\r\nc\nd&#10;e'><body>1\r\n2\r3\n4&#13;5</body></message>");
  assertNoError(r);
  assert.equal(r.elements[0]!.attrs['id'], 'a b c d\ne');
  assert.equal(r.elements[0]!.getChildText('body'), '1\n2\n3\n4\r5');
});

test('a CR LF pair split across chunks becomes a single LF', () => {
  const r = parse('<message><body>1\r', '\n2</body></message>');
  assertNoError(r);
  assert.equal(r.elements[0]!.getChildText('body'), '1\n2');
});

// ---------------------------------------------------------------------------
// Restricted XML (RFC 6120 §11.1)

test('a comment inside a stanza is refused as restricted-xml', () => {
  const r = parse('<message><!-- hello --><body>hi</body></message>');
  assertRefused(r, 'restricted-xml', /comments/);
});

test('a comment between stanzas is refused as restricted-xml', () => {
  const r = parse('<presence/><!-- keepalive -->');
  assertRefused(r, 'restricted-xml', /comments/);
});

test('a comment before the stream header is refused as restricted-xml', () => {
  const r = record();
  r.parser.write('<!-- hi -->' + HEADER);
  assertRefused(r, 'restricted-xml', /comments/);
});

test('the billion-laughs entity bomb is refused as restricted-xml', () => {
  const bomb =
    "<?xml version='1.0'?>\n<!DOCTYPE lolz [\n <!ENTITY lol 'lol'>\n" +
    Array.from({ length: 9 }, (_, i) => ` <!ENTITY lol${i + 1} '${`&lol${i === 0 ? '' : i};`.repeat(10)}'>\n`).join('') +
    ']>\n<stream:stream xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams"><message><body>&lol9;</body></message>';
  const r = record();
  r.parser.write(bomb);
  assertRefused(r, 'restricted-xml', /document type/);
});

test('any <! markup other than CDATA inside a stanza is refused as restricted-xml', () => {
  assertRefused(parse("<message><!ENTITY x 'y'></message>"), 'restricted-xml');
  assertRefused(parse('<message><![INCLUDE[ x ]]></message>'), 'restricted-xml');
  assertRefused(parse('<message><!', '[CDAT', 'X[ x ]]></message>'), 'restricted-xml');
});

test('a processing instruction inside a stanza is refused as restricted-xml', () => {
  const r = parse("<message><?php echo 'hi'; ?></message>");
  assertRefused(r, 'restricted-xml', /processing instructions/);
});

test('an XML declaration after the stream header is refused as restricted-xml', () => {
  const r = parse("<?xml version='1.0'?>");
  assertRefused(r, 'restricted-xml');
});

// ---------------------------------------------------------------------------
// Malformed XML

test('a mismatched end tag is refused as not-well-formed', () => {
  const r = parse('<message><body>hi</bdy></message>');
  assertRefused(r, 'not-well-formed', /<\/bdy> does not match <body>/);
});

test('an end tag may carry trailing whitespace', () => {
  const r = parse('<message><body>hi</body \n></message\t>');
  assertNoError(r);
  assert.equal(r.elements.length, 1);
});

test("a '<' in an attribute value is refused as not-well-formed", () => {
  const r = parse("<message id='a<b'/>");
  assertRefused(r, 'not-well-formed', /'<'/);
});

test('an unquoted attribute value is refused as not-well-formed', () => {
  const r = parse('<message id=abc/>');
  assertRefused(r, 'not-well-formed', /quoted/);
});

test('a duplicate attribute is refused as not-well-formed', () => {
  const r = parse("<message id='1' type='chat' id='2'/>");
  assertRefused(r, 'not-well-formed', /duplicate/);
});

test('an attribute without a value is refused as not-well-formed', () => {
  assertRefused(parse('<message disabled/>'), 'not-well-formed', /no value/);
  assertRefused(parse('<message disabled>'), 'not-well-formed', /no value/);
  assertRefused(parse("<message disabled type='chat'/>"), 'not-well-formed', /no value/);
});

test('a duplicate attribute after many others is refused as not-well-formed', () => {
  const attrs = Array.from({ length: 30 }, (_, i) => ` a${i}='${i}'`).join('');
  assertRefused(parse(`<message${attrs} a17='again'/>`), 'not-well-formed', /duplicate attribute "a17"/);
  assertNoError(parse(`<message${attrs}/>`));
});

test('attributes not separated by whitespace are refused as not-well-formed', () => {
  const r = parse("<message id='1'type='chat'/>");
  assertRefused(r, 'not-well-formed', /whitespace/);
});

test('bad element and attribute names are refused as not-well-formed', () => {
  for (const input of ['<1message/>', '<-a/>', '<a:b:c/>', "<:a xmlns:a='x'/>", "<message 1id='x'/>", '<mess"age/>', '< message/>']) {
    assertRefused(parse(input), 'not-well-formed');
  }
});

test('raw control characters XML forbids are refused as not-well-formed', () => {
  assertRefused(parse('<message><body>a\u0001b</body></message>'), 'not-well-formed', /U\+0001/);
  assertRefused(parse("<message id='a\u0000b'/>"), 'not-well-formed', /U\+0000/);
  assertRefused(parse('<message><body><![CDATA[\u001f]]></body></message>'), 'not-well-formed');
  assertRefused(parse('<message\u0008/>'), 'not-well-formed');
  assertRefused(parse(' \u000c'), 'not-well-formed');
});

test('tab, LF and CR are accepted in text', () => {
  const r = parse('<message><body>\ta\nb\r</body></message>');
  assertNoError(r);
});

test('a lone surrogate in string input is refused as not-well-formed', () => {
  assertRefused(parse('<message><body>a\ud800b</body></message>'), 'not-well-formed');
  assertRefused(parse('<message><body>a\udc00b</body></message>'), 'not-well-formed');
  assertRefused(parse('<message><body>\uffff</body></message>'), 'not-well-formed');
});

test('a surrogate pair split across two string writes is accepted', () => {
  const r = parse('<message><body>\ud83d', '\ude00</body></message>');
  assertNoError(r);
  assert.equal(r.elements[0]!.getChildText('body'), '😀');
});

test('non-ASCII element and attribute names are accepted', () => {
  const r = parse("<message><données clé='valeur' 名前='x'/></message>");
  assertNoError(r);
  assert.equal(r.elements[0]!.getChild('données')!.attrs['clé'], 'valeur');
});

// ---------------------------------------------------------------------------
// Encoding (RFC 6120 §11.6)

test('bytes that are not valid UTF-8 are refused as not-well-formed', () => {
  for (const bad of [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x28, 0xa1], [0xf8, 0x88, 0x80, 0x80, 0x80]]) {
    const r = parse(Buffer.concat([Buffer.from('<message><body>'), Buffer.from(bad), Buffer.from('</body></message>')]));
    assertRefused(r, 'not-well-formed', /UTF-8/);
  }
});

test('a truncated UTF-8 sequence followed by ASCII is refused as not-well-formed', () => {
  const r = parse(Buffer.from('<message><body>'), Buffer.from([0xc3]), Buffer.from('a</body></message>'));
  assertRefused(r, 'not-well-formed', /UTF-8/);
});

test('a multi-byte character split across two writes decodes correctly', () => {
  const bytes = Buffer.from('<message><body>é😀</body></message>');
  const cut = bytes.indexOf(0xc3) + 1;
  const r = parse(bytes.subarray(0, cut), bytes.subarray(cut, cut + 2), bytes.subarray(cut + 2));
  assertNoError(r);
  assert.equal(r.elements[0]!.getChildText('body'), 'é😀');
});

// ---------------------------------------------------------------------------
// Limits

test('a stanza larger than maxStanzaBytes is refused as soon as the limit is crossed, without waiting for its end tag', () => {
  const r = parse('<message><body>');
  const chunk = Buffer.alloc(16384, 'a');
  let written = '<message><body>'.length;
  // A 100 MB body with no end tag; the parser must give up after 256 KiB.
  for (let i = 0; i < 6400 && errorsOf(r).length === 0; i++) {
    r.parser.write(chunk);
    written += chunk.length;
    assert.ok(r.parser.bufferedBytes <= 262144, 'never holds more than the limit');
  }
  assertRefused(r, 'policy-violation', /stanza exceeds 262144 bytes/);
  assert.ok(written > 262144 && written <= 262144 + chunk.length, `refused after ${written} bytes`);
  assert.equal(r.parser.bufferedBytes, 0);
});

test('a single huge write is refused at the byte that crosses the limit, without parsing further', () => {
  // A forbidden character at the first byte over the limit is never looked
  // at; one byte earlier it is inside the limit and is reported.
  const prefix = Buffer.from('<message><body>');
  const overAt = (index: number): Recorder => {
    const body = Buffer.alloc(4 * 1024 * 1024, 'a');
    body[index - prefix.length] = 0x01;
    return parse(Buffer.concat([prefix, body]));
  };
  assertRefused(overAt(262144), 'policy-violation', /stanza exceeds 262144 bytes/);
  assertRefused(overAt(262143), 'not-well-formed', /U\+0001/);
});

test('stanza size is counted in UTF-8 bytes of the input, up to and including the limit', () => {
  const fits = `<m>a${'é'.repeat(46)}</m>`;
  const over = `<m>aa${'é'.repeat(46)}</m>`;
  assert.equal(Buffer.byteLength(fits), 100);
  for (const asBuffer of [false, true]) {
    const ok = record({ maxStanzaBytes: 100 });
    ok.parser.write(HEADER);
    ok.parser.write(asBuffer ? Buffer.from(fits) : fits);
    assertNoError(ok);
    assert.equal(ok.elements.length, 1);
    const bad = record({ maxStanzaBytes: 100 });
    bad.parser.write(HEADER);
    bad.parser.write(asBuffer ? Buffer.from(over) : over);
    assertRefused(bad, 'policy-violation', /stanza exceeds 100 bytes/);
  }
});

test('the size limit is enforced at the same byte however the input is cut', () => {
  // The first stanza is exactly at the limit; the second crosses it before
  // its bad end tag, so the limit must win in every chunking.
  const input = `${HEADER}<m>${'x'.repeat(93)}</m><m>${'x'.repeat(100)}</wrong>`;
  const run = (size: number): Event[] => {
    const r = record({ maxStanzaBytes: 100 });
    for (let i = 0; i < input.length; i += size) r.parser.write(input.slice(i, i + size));
    return r.events;
  };
  const whole = run(input.length);
  assert.deepEqual(
    whole.map((e) => e[0]),
    ['open', 'element', 'error'],
  );
  assert.equal(whole[2]![1], 'policy-violation');
  for (const size of [1, 2, 3, 7, 50, 99, 100, 101]) assert.deepEqual(run(size), whole, `chunks of ${size}`);
});

test('attributes count towards the stanza size', () => {
  const stanza = (n: number): string => `<m a='${'x'.repeat(n)}'/>`;
  const ok = record({ maxStanzaBytes: 200 });
  ok.parser.write(HEADER + stanza(200 - stanza(0).length));
  assertNoError(ok);
  const bad = record({ maxStanzaBytes: 200 });
  bad.parser.write(HEADER + stanza(201 - stanza(0).length));
  assertRefused(bad, 'policy-violation');
});

test('an open tag with endless attributes is refused once over the limit', () => {
  const r = record({ maxStanzaBytes: 1000 });
  r.parser.write(HEADER + '<message');
  for (let i = 0; i < 1000 && errorsOf(r).length === 0; i++) r.parser.write(` a${i}='v'`);
  assertRefused(r, 'policy-violation');
});

test('nesting deeper than maxDepth is refused as policy-violation', () => {
  const nest = (depth: number): string => '<a>'.repeat(depth) + '</a>'.repeat(depth);
  const ok = record({ maxDepth: 5 });
  ok.parser.write(HEADER + nest(5));
  assertNoError(ok);
  assert.equal(ok.elements.length, 1);
  const bad = record({ maxDepth: 5 });
  bad.parser.write(HEADER + nest(6));
  assertRefused(bad, 'policy-violation', /deeper than 5/);
});

test('the default depth limit refuses a deeply nested stanza', () => {
  const r = parse('<a>'.repeat(65));
  assertRefused(r, 'policy-violation', /deeper than 64/);
});

test('a stream header larger than maxHeaderBytes is refused as policy-violation', () => {
  const r = record({ maxHeaderBytes: 200 });
  r.parser.write(`<stream:stream xmlns='jabber:client' xmlns:stream='${STREAMS_NS}' to='${'x'.repeat(200)}'>`);
  assertRefused(r, 'policy-violation', /stream header exceeds 200 bytes/);
});

test('an endless stream header is refused once over the default header limit', () => {
  const r = record();
  r.parser.write(`<stream:stream xmlns:stream='${STREAMS_NS}' to='`);
  for (let i = 0; i < 100 && errorsOf(r).length === 0; i++) r.parser.write('x'.repeat(1000));
  assertRefused(r, 'policy-violation', /stream header exceeds 8192 bytes/);
});

test('whitespace before the stream header counts towards the header limit', () => {
  const r = record({ maxHeaderBytes: 100 });
  r.parser.write(' '.repeat(101));
  assertRefused(r, 'policy-violation');
});

test('bufferedBytes reports the bytes held for an unfinished stanza and drops to zero when it completes', () => {
  const r = parse();
  assert.equal(r.parser.bufferedBytes, 0);
  r.parser.write('  <message><body>hé');
  assert.equal(r.parser.bufferedBytes, Buffer.byteLength('<message><body>hé'));
  r.parser.write('llo</body>');
  assert.equal(r.parser.bufferedBytes, Buffer.byteLength('<message><body>héllo</body>'));
  r.parser.write('</message>');
  assert.equal(r.parser.bufferedBytes, 0);
  assert.equal(r.elements.length, 1);
});

test('limits apply to each stanza separately', () => {
  const r = record({ maxStanzaBytes: 64 });
  r.parser.write(HEADER);
  for (let i = 0; i < 100; i++) r.parser.write(`<message id='${i}'><body>hello</body></message>`);
  assertNoError(r);
  assert.equal(r.elements.length, 100);
});

// ---------------------------------------------------------------------------
// Errors, reset and handlers

test('after an error the parser reports nothing more until reset', () => {
  const r = parse('<message><!-- x --></message>', '<presence/>', '</stream:stream>');
  assertRefused(r, 'restricted-xml');
  assert.equal(r.events.length, 2);
  r.parser.reset();
  r.parser.write(HEADER + '<presence/>');
  assert.deepEqual(
    r.events.slice(2).map((e) => e[0]),
    ['open', 'element'],
  );
});

test('reset() after <proceed/> starts a new stream that expects a new header', () => {
  const r = record();
  r.parser.write(HEADER);
  r.parser.write("<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>");
  r.parser.write("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  assert.equal(r.elements.at(-1)!.getName(), 'proceed');
  r.parser.reset();
  r.parser.write(HEADER.replace("xml:lang='en'", "xml:lang='de'"));
  r.parser.write('<stream:features/>');
  assertNoError(r);
  assert.deepEqual(
    r.events.map((e) => e[0]),
    ['open', 'element', 'element', 'open', 'element'],
  );
  assert.equal((r.events[3] as ['open', string, Record<string, string>])[2]['xml:lang'], 'de');
});

test('reset() called from the element handler discards the rest of the chunk', () => {
  // RFC 6120 §5.4.3.3: plaintext that follows <starttls/> must not reach the TLS stream.
  let parser: StreamParser | null = null;
  const r = record({}, 'stream', {
    element(el) {
      if (el.getName() === 'starttls') parser!.reset();
    },
  });
  parser = r.parser;
  r.parser.write(HEADER);
  r.parser.write("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><message><body>injected</body></message>");
  r.parser.write(HEADER + '<presence/>');
  assertNoError(r);
  assert.deepEqual(
    r.events.map((e) => e[0]),
    ['open', 'element', 'open', 'element'],
  );
  assert.equal(r.elements[1]!.name, 'presence');
});

test('an exception thrown by a handler propagates and stops the parser until reset', () => {
  const r = record({}, 'stream', {
    element() {
      throw new Error('boom');
    },
  });
  r.parser.write(HEADER);
  assert.throws(() => r.parser.write('<presence/><message/>'), /boom/);
  r.parser.write('<presence/>');
  assert.equal(r.elements.length, 1);
  r.parser.reset();
  r.parser.write(HEADER);
  assert.deepEqual(
    r.events.map((e) => e[0]),
    ['open', 'element', 'open'],
  );
});

// ---------------------------------------------------------------------------
// Framed mode (RFC 7395)

test('framed mode reports <open/>, stanzas and <close/> as top-level elements', () => {
  const r = record({}, 'framed');
  r.parser.write(`<open xmlns='${FRAMING_NS}' to='example.com' version='1.0'/>`);
  r.parser.write("<message xmlns='jabber:client' to='romeo@example.net'><body>hi</body></message>");
  r.parser.write(`<close xmlns='${FRAMING_NS}'/>`);
  assertNoError(r);
  assert.deepEqual(
    r.events.map((e) => e[0]),
    ['element', 'element', 'element'],
  );
  const [open, message, close] = r.elements;
  assert.ok(open!.is('open', FRAMING_NS));
  assert.equal(open!.attrs['to'], 'example.com');
  assert.ok(message!.is('message', 'jabber:client'));
  assert.ok(close!.is('close', FRAMING_NS));
});

test('framed mode accepts several elements and whitespace in one message', () => {
  const r = record({}, 'framed');
  r.parser.write("<presence xmlns='jabber:client'/>\n<iq xmlns='jabber:client' type='get' id='1'/> ");
  assertNoError(r);
  assert.equal(r.elements.length, 2);
});

test('framed mode accepts an XML declaration at the start of a frame only', () => {
  const r = record({}, 'framed');
  r.parser.write(`<?xml version='1.0'?><open xmlns='${FRAMING_NS}' to='example.com' version='1.0'/>`);
  r.parser.write(`<?xml version='1.0'?><presence xmlns='jabber:client'/>`);
  assertNoError(r);
  assert.equal(r.elements.length, 2);
  r.parser.write(`<presence xmlns='jabber:client'/><?xml version='1.0'?>`);
  assertRefused(r, 'restricted-xml');
});

test('framed mode refuses a message that ends inside an element', () => {
  const r = record({}, 'framed');
  r.parser.write("<message xmlns='jabber:client'><body>hi");
  assertRefused(r, 'not-well-formed', /RFC 7395/);
});

test('framed mode refuses a message that ends inside a UTF-8 character', () => {
  const r = record({}, 'framed');
  r.parser.write(Buffer.from([...Buffer.from("<message xmlns='jabber:client'/>"), 0xc3]));
  assertRefused(r, 'not-well-formed', /UTF-8/);
});

test('framed mode refuses an end tag at the top level', () => {
  const r = record({}, 'framed');
  r.parser.write('</stream:stream>');
  assertRefused(r, 'not-well-formed');
});

test('framed mode refuses text outside elements', () => {
  const r = record({}, 'framed');
  r.parser.write("<presence xmlns='jabber:client'/>hi");
  assertRefused(r, 'not-well-formed', /outside/);
});

test('framed mode applies the stanza limit to each element', () => {
  const r = record({ maxStanzaBytes: 100 }, 'framed');
  r.parser.write(`<message xmlns='jabber:client'><body>${'x'.repeat(100)}</body></message>`);
  assertRefused(r, 'policy-violation');
});

// ---------------------------------------------------------------------------
// Streaming equivalence and robustness

test('feeding a stream one byte at a time gives exactly the same events as feeding it whole', () => {
  const whole = feedWhole(RICH_STREAM);
  assert.equal(whole.filter((e) => e[0] === 'error').length, 0, JSON.stringify(whole));
  assert.deepEqual(
    whole.map((e) => e[0]),
    ['open', 'element', 'element', 'element', 'element', 'close'],
  );
  const bytes = Buffer.from(RICH_STREAM, 'utf8');
  const r = record();
  for (let i = 0; i < bytes.length; i++) r.parser.write(bytes.subarray(i, i + 1));
  assert.deepEqual(r.events, whole);
});

test('feeding a stream one UTF-16 code unit at a time gives the same events as feeding it whole', () => {
  const whole = feedWhole(RICH_STREAM);
  const r = record();
  for (let i = 0; i < RICH_STREAM.length; i++) r.parser.write(RICH_STREAM[i]!);
  assert.deepEqual(r.events, whole);
});

test('feeding a stream in random cuts gives the same events as feeding it whole', () => {
  const whole = feedWhole(RICH_STREAM);
  const bytes = Buffer.from(RICH_STREAM, 'utf8');
  const random = prng(7);
  for (let round = 0; round < 300; round++) {
    const r = record();
    const asString = round % 2 === 1;
    let pos = 0;
    while (pos < bytes.length) {
      const size = 1 + Math.floor(random() * 40);
      if (asString) r.parser.write(RICH_STREAM.slice(pos, pos + size));
      else r.parser.write(bytes.subarray(pos, pos + size));
      pos += size;
    }
    assert.deepEqual(r.events, whole, `round ${round}`);
  }
});

/** A random stanza built with @xmpp/xml, to be serialised by ltx. */
function randomStanza(random: () => number, depth = 0): Element {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const textPieces = ['hello', ' ', '<', '>', '&', '"', "'", ']]>', 'é', '😀', '漢字', '\t', '\n', 'x'.repeat(40)];
  const valuePieces = ['v', ' ', '<', '>', '&', '"', "'", 'ü', '😀', '=', '/'];
  const name = depth === 0 ? pick(['message', 'iq', 'presence']) : pick(['body', 'x', 'item', 'é-lément', 'a.b_c', 'p:thing']);
  const attrs: Record<string, string> = depth === 0 ? { xmlns: 'jabber:client' } : {};
  if (name.startsWith('p:')) attrs['xmlns:p'] = 'urn:example:p';
  const attrCount = Math.floor(random() * 4);
  for (let i = 0; i < attrCount; i++) {
    attrs[pick(['id', 'type', 'to', 'xml:lang', `k${i}`])] = Array.from({ length: Math.floor(random() * 5) }, () => pick(valuePieces)).join('');
  }
  const el = xml(name, attrs);
  const childCount = depth < 4 ? Math.floor(random() * 4) : 0;
  for (let i = 0; i < childCount; i++) {
    if (random() < 0.5) el.t(Array.from({ length: 1 + Math.floor(random() * 4) }, () => pick(textPieces)).join(''));
    else el.cnode(randomStanza(random, depth + 1));
  }
  return el;
}

test('random stanzas serialised by ltx come back unchanged, however the input is cut', () => {
  const random = prng(99);
  for (let round = 0; round < 100; round++) {
    const stanzas = Array.from({ length: 5 }, () => randomStanza(random));
    const input = Buffer.from(HEADER + stanzas.map((el) => el.toString()).join(' '));
    const r = record();
    let pos = 0;
    while (pos < input.length) {
      const size = 1 + Math.floor(random() * 64);
      r.parser.write(input.subarray(pos, pos + size));
      pos += size;
    }
    assertNoError(r);
    assert.deepEqual(
      r.elements.map((el) => el.toString()),
      stanzas.map((el) => el.toString()),
    );
  }
});

test('write() never throws on random bytes and reports at most one error', () => {
  const random = prng(42);
  // Half the bytes are markup characters, so that the state machine gets past '<'.
  const markup = Buffer.from('<>/=\'"&;#x![]-?: \nabc');
  for (let round = 0; round < 400; round++) {
    const framed = round % 3 === 0;
    const r = record({ maxStanzaBytes: 2048, maxHeaderBytes: 512, maxDepth: 8 }, framed ? 'framed' : 'stream');
    if (!framed && round % 2 === 0) r.parser.write(HEADER);
    const length = Math.floor(random() * 600);
    const data = Buffer.alloc(length);
    for (let i = 0; i < length; i++) {
      data[i] = random() < 0.5 ? markup[Math.floor(random() * markup.length)]! : Math.floor(random() * 256);
    }
    let pos = 0;
    while (pos < length) {
      const size = 1 + Math.floor(random() * 64);
      assert.doesNotThrow(() => r.parser.write(data.subarray(pos, pos + size)));
      pos += size;
    }
    assert.ok(errorsOf(r).length <= 1);
  }
});

test('write() never throws on mutated valid streams and stays consistent', () => {
  const random = prng(1234);
  const original = Buffer.from(RICH_STREAM, 'utf8');
  const alphabet = Buffer.from('<>/=\'"&;#x![]-?: \n\r\t\u0000abcé');
  for (let round = 0; round < 600; round++) {
    const data = Buffer.from(original);
    const mutations = 1 + Math.floor(random() * 4);
    for (let m = 0; m < mutations; m++) {
      data[Math.floor(random() * data.length)] = alphabet[Math.floor(random() * alphabet.length)]!;
    }
    const r = record({}, 'stream');
    let pos = 0;
    while (pos < data.length) {
      const size = 1 + Math.floor(random() * 50);
      assert.doesNotThrow(() => r.parser.write(data.subarray(pos, pos + size)));
      pos += size;
    }
    const errors = errorsOf(r);
    assert.ok(errors.length <= 1);
    if (errors.length === 1) assert.equal(r.events.at(-1)![0], 'error');
    // The same bytes in one piece must give the same events.
    const whole = record({}, 'stream');
    whole.parser.write(data);
    assert.deepEqual(whole.events, r.events, `round ${round}`);
  }
});
