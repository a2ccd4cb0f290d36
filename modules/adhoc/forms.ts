import { NS, xml, type Element } from '../../server/api/index.js';
import type { FormSpec } from './service.js';

/** XEP-0004 section 3: a data form from a description. */
export function buildForm(spec: FormSpec): Element {
  const x = xml('x', { xmlns: NS.DATA_FORMS, type: spec.type });
  if (spec.title) x.append(xml('title', {}, spec.title));
  if (spec.instructions) x.append(xml('instructions', {}, spec.instructions));
  if (spec.formType) x.append(xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, spec.formType)));
  for (const f of spec.fields) {
    const field = xml('field', { var: f.var, type: f.type, label: f.label });
    if (f.desc) field.append(xml('desc', {}, f.desc));
    if (f.required) field.append(xml('required'));
    for (const o of f.options ?? []) field.append(xml('option', { label: o.label }, xml('value', {}, o.value)));
    for (const v of f.values ?? []) field.append(xml('value', {}, v));
    x.append(field);
  }
  return x;
}

/** XEP-0004 section 3.2: the submitted values of each field (a field without values maps to []). */
export function formValues(form: Element | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (!form) return out;
  for (const field of form.getChildren('field')) {
    const name = field.attrs.var;
    if (name) out.set(name, field.getChildren('value').map((v) => v.getText()));
  }
  return out;
}
