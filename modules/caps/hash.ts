import crypto from 'node:crypto';
import { NS, type DiscoIdentity, type Element } from '../../server/api/index.js';

/** XEP-0115 hash names (IANA "Hash Function Textual Names") and their node:crypto names. */
const HASHES: Record<string, string> = {
  'sha-1': 'sha1', 'sha-224': 'sha224', 'sha-256': 'sha256', 'sha-384': 'sha384', 'sha-512': 'sha512',
};

export function isSupportedHash(name: string): boolean {
  return name in HASHES;
}

/** What the verification string is computed from (XEP-0115 section 5.1). */
export interface DiscoInfo {
  identities: readonly (DiscoIdentity & { lang?: string })[];
  features: readonly string[];
  /** XEP-0128 forms, each as FORM_TYPE and its other fields with their values. */
  forms: readonly { formType: string; fields: readonly { var: string; values: readonly string[] }[] }[];
}

/** Byte-wise ("i;octet") comparison, as section 5.1 asks for. */
function octetCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** XEP-0115 section 5.1: the string S before hashing. */
export function verificationInput(info: DiscoInfo): string {
  let s = '';
  const identities = info.identities.map((i) => `${i.category}/${i.type}/${i.lang ?? ''}/${i.name ?? ''}`).sort(octetCompare);
  for (const i of identities) s += `${i}<`;
  for (const f of [...info.features].sort(octetCompare)) s += `${f}<`;
  const forms = [...info.forms].sort((a, b) => octetCompare(a.formType, b.formType));
  for (const form of forms) {
    s += `${form.formType}<`;
    const fields = [...form.fields].sort((a, b) => octetCompare(a.var, b.var));
    for (const field of fields) {
      s += `${field.var}<`;
      for (const v of [...field.values].sort(octetCompare)) s += `${v}<`;
    }
  }
  return s;
}

/** The verification string: base64 of the hash of S. */
export function verificationString(input: string, hash = 'sha-1'): string {
  const algorithm = HASHES[hash];
  if (!algorithm) throw new Error(`unsupported caps hash ${hash}`);
  return crypto.createHash(algorithm).update(input, 'utf8').digest('base64');
}

/** A data form as the hash sees it, or null when it has no usable FORM_TYPE (section 5.4 step 3). */
export function formForHash(x: Element): DiscoInfo['forms'][number] | null {
  let formType: string | null = null;
  const fields: { var: string; values: string[] }[] = [];
  for (const field of x.getChildren('field')) {
    const name = field.attrs.var;
    if (!name) continue;
    const values = field.getChildren('value').map((v) => v.getText());
    if (name === 'FORM_TYPE') {
      // A FORM_TYPE that is not hidden makes the form one to ignore; two different values make it unusable.
      if (field.attrs.type !== 'hidden' || values.length === 0 || new Set(values).size !== 1) return null;
      formType = values[0]!;
    } else {
      fields.push({ var: name, values });
    }
  }
  return formType === null ? null : { formType, fields };
}

/**
 * A disco#info `<query/>` from a client, checked per XEP-0115 section 5.4 step 3: duplicate
 * identities, features or form types make it ill-formed (null).
 */
export function parseDiscoInfo(query: Element): DiscoInfo | null {
  const identities = query.getChildren('identity').map((i) => ({
    category: i.attrs.category ?? '', type: i.attrs.type ?? '', name: i.attrs.name, lang: i.attrs['xml:lang'],
  }));
  const identityKeys = identities.map((i) => `${i.category}/${i.type}/${i.lang ?? ''}/${i.name ?? ''}`);
  if (new Set(identityKeys).size !== identityKeys.length) return null;
  const features = query.getChildren('feature').map((f) => f.attrs.var ?? '').filter((f) => f !== '');
  if (new Set(features).size !== features.length) return null;
  const forms = query.getChildren('x', NS.DATA_FORMS).map(formForHash).filter((f) => f !== null);
  if (new Set(forms.map((f) => f.formType)).size !== forms.length) return null;
  return { identities, features, forms };
}
