import type { Entry } from 'ldapts';
import { Jid } from '../../server/api/index.js';
import type { DirectoryConfig } from './config.js';
import { dnKey } from './dn.js';

/** One person as the directory describes them (no photo: photos are read with the vCard only). */
export interface Person {
  readonly dn: string;
  /** dnKey(dn), to match member lists and manager attributes. */
  readonly key: string;
  /** The stable id of the entry (entryUUID / objectGUID) as hex of its bytes. */
  readonly id: string;
  /** The JID localpart, prepared (RFC 7622). */
  readonly local: string;
  /** The localpart attribute's value as the directory has it (posixGroup memberUid compares it case-exactly). */
  readonly rawLocal: string;
  readonly name: string;
  readonly givenName: string | null;
  readonly familyName: string | null;
  readonly email: string | null;
  readonly title: string | null;
  readonly department: string | null;
  readonly organization: string | null;
  /** dnKey of the manager's DN, or null. */
  readonly managerKey: string | null;
  readonly phones: readonly { attribute: string; number: string }[];
  readonly modified: string | null;
  /** The configured disabled flag is set. */
  readonly disabled: boolean;
  /** DNs of the groups in the memberOf attribute, as the directory wrote them (groups.source 'member_of' only). */
  readonly memberOf: readonly string[];
}

type Values = (string | Buffer)[];

/** Attribute values by lower-case attribute name (directories answer in their own spelling). */
function valuesOf(entry: Entry): Map<string, Values> {
  const out = new Map<string, Values>();
  for (const [name, value] of Object.entries(entry)) {
    if (name === 'dn') continue;
    const list = (Array.isArray(value) ? value : [value]) as Values;
    out.set(name.toLowerCase().replace(/;binary$/, ''), list);
  }
  return out;
}

function text(v: string | Buffer | undefined): string | null {
  if (v === undefined) return null;
  const s = typeof v === 'string' ? v : v.toString('utf8');
  return s.trim() === '' ? null : s.trim();
}

/**
 * Maps directory entries to people, with the attribute names of the config. The JID localpart is
 * the localpart attribute (its part before "@" when it is an address), prepared per RFC 7622.
 */
export class PersonMapper {
  private readonly a: DirectoryConfig['attributes'];

  constructor(private readonly config: DirectoryConfig, private readonly prepDomain: string) {
    this.a = config.attributes;
  }

  /** The attributes to request for people; the photo only for vCards. */
  attributes(withPhoto: boolean): string[] {
    const a = this.a;
    const list = [a.localpart, a.id, a.modified, a.name, 'cn', a.given_name, a.family_name, a.email, a.title,
      a.department, a.organization, a.manager, ...a.phones];
    if (withPhoto) list.push(a.photo);
    if (this.config.deprovision.disabled) list.push(this.config.deprovision.disabled.attribute);
    if (this.config.groups.source === 'member_of') list.push(this.config.groups.member_of_attribute);
    return [...new Set(list)];
  }

  /** Attributes ldapts must return as bytes. */
  binaryAttributes(): string[] {
    return [this.a.id, this.a.photo];
  }

  /** A prepared localpart for a raw attribute value or login, or null when it is not a valid one. */
  localpart(raw: string): string | null {
    const at = raw.indexOf('@');
    const candidate = (at >= 0 ? raw.slice(0, at) : raw).trim();
    if (candidate === '') return null;
    try {
      return Jid.of(candidate, this.prepDomain).local;
    } catch {
      return null;
    }
  }

  /** The person of an entry, or why it cannot be one (no or an invalid localpart). */
  toPerson(entry: Entry): Person | { problem: string } {
    const v = valuesOf(entry);
    const first = (attr: string) => text(v.get(attr.toLowerCase())?.[0]);
    const rawLocal = first(this.a.localpart);
    if (!rawLocal) return { problem: `no ${this.a.localpart}` };
    const local = this.localpart(rawLocal);
    if (!local) return { problem: `${this.a.localpart} "${rawLocal}" is not a valid JID localpart (RFC 7622)` };
    const idValue = v.get(this.a.id.toLowerCase())?.[0];
    const id = idValue === undefined
      ? `dn:${dnKey(entry.dn)}` // no id attribute: the DN stands in (a renamed entry then looks like a new person)
      : (typeof idValue === 'string' ? Buffer.from(idValue, 'utf8') : idValue).toString('hex');
    const manager = first(this.a.manager);
    const phones: { attribute: string; number: string }[] = [];
    for (const attribute of this.a.phones) {
      for (const n of v.get(attribute.toLowerCase()) ?? []) {
        const number = text(n);
        if (number) phones.push({ attribute, number });
      }
    }
    return {
      dn: entry.dn,
      key: dnKey(entry.dn),
      id,
      local,
      rawLocal,
      name: first(this.a.name) ?? first('cn') ?? rawLocal,
      givenName: first(this.a.given_name),
      familyName: first(this.a.family_name),
      email: first(this.a.email),
      title: first(this.a.title),
      department: first(this.a.department),
      organization: first(this.a.organization),
      managerKey: manager ? dnKey(manager) : null,
      phones,
      modified: first(this.a.modified),
      disabled: this.isDisabled(v),
      memberOf: this.config.groups.source === 'member_of'
        ? (v.get(this.config.groups.member_of_attribute.toLowerCase()) ?? []).map(text).filter((g): g is string => g !== null)
        : [],
    };
  }

  /** The photo bytes of an entry read with `attributes(true)`, or null. */
  photo(entry: Entry): Buffer | null {
    const value = valuesOf(entry).get(this.a.photo.toLowerCase())?.[0];
    if (value === undefined) return null;
    const bytes = typeof value === 'string' ? Buffer.from(value, 'binary') : value;
    return bytes.length > 0 ? bytes : null;
  }

  /** The configured disabled flag (deprovision.disabled): present, one of the values, or a bit set. */
  private isDisabled(v: Map<string, Values>): boolean {
    const flag = this.config.deprovision.disabled;
    if (!flag) return false;
    const values = (v.get(flag.attribute.toLowerCase()) ?? []).map(text).filter((x): x is string => x !== null);
    if (flag.values) {
      const wanted = new Set(flag.values.map((x) => x.toLowerCase()));
      return values.some((x) => wanted.has(x.toLowerCase()));
    }
    if (flag.bitmask !== undefined) {
      return values.some((x) => {
        const n = Number.parseInt(x, 10);
        return Number.isFinite(n) && (BigInt.asUintN(64, BigInt(n)) & BigInt(flag.bitmask!)) !== 0n;
      });
    }
    return values.length > 0;
  }
}
