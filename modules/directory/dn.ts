/**
 * Distinguished names (RFC 4514) as Parley compares them: a person's DN in a group's member list,
 * in memberOf and in a manager attribute must match whatever spacing and case the directory used
 * ("CN=Support,OU=Groups" in AD memberOf, "cn=Support,ou=Groups" as the entry's own DN).
 */

/** The RDNs of a DN, split at commas that are not escaped; each as [type, value] with the value unescaped. */
export function parseDn(dn: string): [string, string][] {
  const rdns: [string, string][] = [];
  let type = '';
  let value = '';
  let inValue = false;
  for (let i = 0; i < dn.length; i++) {
    const ch = dn[i]!;
    if (ch === '\\' && i + 1 < dn.length) {
      const hex = dn.slice(i + 1, i + 3);
      if (/^[0-9a-fA-F]{2}$/.test(hex)) {
        // A hex pair is one octet of UTF-8; collect consecutive pairs before decoding.
        const bytes: number[] = [];
        while (dn[i] === '\\' && /^[0-9a-fA-F]{2}$/.test(dn.slice(i + 1, i + 3))) {
          bytes.push(Number.parseInt(dn.slice(i + 1, i + 3), 16));
          i += 3;
        }
        i--;
        const text = Buffer.from(bytes).toString('utf8');
        if (inValue) value += text; else type += text;
      } else {
        if (inValue) value += dn[i + 1]; else type += dn[i + 1];
        i++;
      }
      continue;
    }
    if (!inValue && ch === '=') { inValue = true; continue; }
    if (ch === ',') {
      rdns.push([type.trim(), value.trim()]);
      type = ''; value = ''; inValue = false;
      continue;
    }
    if (inValue) value += ch; else type += ch;
  }
  if (type.trim() !== '' || value.trim() !== '') rdns.push([type.trim(), value.trim()]);
  return rdns;
}

/**
 * A comparable form of a DN: attribute types and values in lower case (the naming attributes of
 * people and groups, cn, uid, ou, dc, match case-insensitively), no spaces around separators.
 */
export function dnKey(dn: string): string {
  return parseDn(dn).map(([t, v]) => `${t.toLowerCase()}=${v.toLowerCase()}`).join(',');
}

/** The value of the first RDN ("Support" for "CN=Support,OU=Groups,DC=corp,DC=example"). */
export function firstRdnValue(dn: string): string {
  return parseDn(dn)[0]?.[1] ?? dn;
}
