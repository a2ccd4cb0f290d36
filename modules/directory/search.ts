import { NS, StanzaError, xml, type Element, type IqEvent } from '../../server/api/index.js';
import type { Person } from './people.js';
import type { Synchroniser } from './sync.js';

export const NS_SEARCH = 'jabber:iq:search';

/** The form's fields (XEP-0055 section 3 with XEP-0004 data forms). */
const FIELDS = [
  { var: 'name', label: 'Name' },
  { var: 'email', label: 'Email' },
  { var: 'department', label: 'Department' },
] as const;

type Criteria = { name?: string; email?: string; department?: string; given?: string; family?: string; local?: string };

/**
 * XEP-0055 Jabber Search over the people of the directory, answered by the server's domain:
 * the search form (data form, plus the legacy fields for old clients), and results limited to
 * search.max_results. Answers come from the last sync (every person who may use the server), so a
 * search works during a directory outage and never sends client text to the directory. Partner
 * accounts and other servers may not search the company.
 */
export class DirectorySearch {
  constructor(private readonly sync: Synchroniser, private readonly maxResults: number) {}

  /** IQ get: the search form (XEP-0055 section 2.1 / 3.1). */
  readonly form = (iq: IqEvent): Element => {
    this.allowed(iq);
    return xml('query', { xmlns: NS_SEARCH },
      xml('instructions', {}, 'Find colleagues by name, email address or department. Fill in one field or more; every word you type must match.'),
      xml('first'), xml('last'), xml('nick'), xml('email'),
      xml('x', { xmlns: NS.DATA_FORMS, type: 'form' },
        xml('title', {}, 'Company directory'),
        xml('instructions', {}, `Find colleagues by name, email address or department (at most ${this.maxResults} results).`),
        xml('field', { type: 'hidden', var: 'FORM_TYPE' }, xml('value', {}, NS_SEARCH)),
        ...FIELDS.map((f) => xml('field', { type: 'text-single', var: f.var, label: f.label }))));
  };

  /** IQ set: run a search submitted as a data form or with the legacy fields (sections 2.2 / 3.2). */
  readonly submit = (iq: IqEvent): Element => {
    this.allowed(iq);
    const form = iq.payload.getChild('x', NS.DATA_FORMS);
    const criteria = form ? criteriaFromForm(form) : criteriaFromLegacy(iq.payload);
    if (Object.values(criteria).every((v) => v === undefined)) {
      throw new StanzaError('bad-request', 'Fill in at least one search field');
    }
    const domain = iq.to.domain;
    const found = this.find(criteria);
    if (!form) {
      return xml('query', { xmlns: NS_SEARCH }, ...found.map((p) => xml('item', { jid: `${p.local}@${domain}` },
        xml('first', {}, p.givenName ?? ''), xml('last', {}, p.familyName ?? ''), xml('nick', {}, p.local), xml('email', {}, p.email ?? ''))));
    }
    const columns = [
      { var: 'jid', label: 'Address', type: 'jid-single', value: (p: Person) => `${p.local}@${domain}` },
      { var: 'name', label: 'Name', type: 'text-single', value: (p: Person) => p.name },
      { var: 'email', label: 'Email', type: 'text-single', value: (p: Person) => p.email ?? '' },
      { var: 'department', label: 'Department', type: 'text-single', value: (p: Person) => p.department ?? '' },
      { var: 'title', label: 'Title', type: 'text-single', value: (p: Person) => p.title ?? '' },
    ];
    return xml('query', { xmlns: NS_SEARCH },
      xml('x', { xmlns: NS.DATA_FORMS, type: 'result' },
        xml('field', { type: 'hidden', var: 'FORM_TYPE' }, xml('value', {}, NS_SEARCH)),
        xml('reported', {}, ...columns.map((c) => xml('field', { var: c.var, label: c.label, type: c.type }))),
        ...found.map((p) => xml('item', {}, ...columns.map((c) => xml('field', { var: c.var }, xml('value', {}, c.value(p))))))));
  };

  /** Only the company's own people (employees and service accounts) may search it. */
  private allowed(iq: IqEvent): void {
    const kind = iq.origin?.kind;
    if (kind !== 'employee' && kind !== 'service') {
      throw new StanzaError('forbidden', 'The company directory is not available to this account');
    }
  }

  /** People matching every criterion, by name, at most max_results. */
  find(c: Criteria): Person[] {
    const tests: ((p: Person) => boolean)[] = [];
    if (c.name) tests.push(words(c.name, (p) => [p.name, p.givenName, p.familyName, p.local]));
    if (c.given) tests.push(words(c.given, (p) => [p.givenName]));
    if (c.family) tests.push(words(c.family, (p) => [p.familyName]));
    if (c.local) tests.push(words(c.local, (p) => [p.local]));
    if (c.email) tests.push(words(c.email, (p) => [p.email]));
    if (c.department) tests.push(words(c.department, (p) => [p.department]));
    const out: Person[] = [];
    for (const p of this.sync.snapshot.people.values()) if (tests.every((t) => t(p))) out.push(p);
    out.sort((a, b) => a.name.localeCompare(b.name));
    return out.slice(0, this.maxResults);
  }
}

/** Case- and accent-insensitive comparison form. */
function fold(s: string): string {
  return s.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
}

/** Every word of the query must occur in one of the person's values. */
function words(query: string, values: (p: Person) => (string | null)[]): (p: Person) => boolean {
  const parts = fold(query).split(/\s+/).filter((w) => w !== '');
  return (p) => {
    const hay = values(p).filter((v): v is string => v !== null).map(fold);
    return parts.every((w) => hay.some((h) => h.includes(w)));
  };
}

function value(text: string | undefined | null): string | undefined {
  const t = text?.trim();
  return t ? t : undefined;
}

function criteriaFromForm(form: Element): Criteria {
  if (form.attrs.type !== 'submit') throw new StanzaError('bad-request', "Submit the search form with type='submit' (XEP-0004)");
  const get = (name: string) => value(form.getChildren('field').find((f) => f.attrs.var === name)?.getChildText('value'));
  return { name: get('name'), email: get('email'), department: get('department') };
}

/** XEP-0055 section 2: first, last, nick, email. */
function criteriaFromLegacy(query: Element): Criteria {
  return {
    given: value(query.getChildText('first')),
    family: value(query.getChildText('last')),
    local: value(query.getChildText('nick')),
    email: value(query.getChildText('email')),
  };
}
