import { NS, xml, type Element } from '../../server/api/index.js';

/** XEP-0157 section 4: the registered FORM_TYPE. */
export const SERVER_INFO = 'http://jabber.org/network/serverinfo';

/** The address kinds of XEP-0157 section 3, each a field `<kind>-addresses`. */
export const ADDRESS_KINDS = ['abuse', 'admin', 'feedback', 'sales', 'security', 'status', 'support'] as const;
export type AddressKind = (typeof ADDRESS_KINDS)[number];

/**
 * The serverinfo data form (XEP-0157 section 2), with a list-multi field for every kind that has
 * addresses; null when none has any (an empty form would tell clients nothing).
 */
export function serverInfoForm(addresses: Readonly<Record<AddressKind, readonly string[]>>): Element | null {
  const fields = ADDRESS_KINDS
    .filter((kind) => addresses[kind].length > 0)
    .map((kind) => xml('field', { var: `${kind}-addresses`, type: 'list-multi' },
      ...addresses[kind].map((a) => xml('value', {}, a))));
  if (fields.length === 0) return null;
  return xml('x', { xmlns: NS.DATA_FORMS, type: 'result' },
    xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, SERVER_INFO)),
    ...fields);
}
