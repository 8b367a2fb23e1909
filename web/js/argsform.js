// Forms generated from a job type's arguments schema (GET /api/tasks/{id}/args; the subset
// of JSON Schema that docs/tasks.md describes), and the JSON editors for what a form cannot
// express. Fields carry the API's field names ("args.limit"), so 400 answers land on them.

import { h, humanize, parseTime } from './dom.js';
import { field, input, select } from './components.js';

/**
 * "2026-11-01T08:30:00.000000+00:00" → "2026-11-01 08:30" (UTC), the form the API reads back;
 * seconds and their fraction only when there are some ("2026-11-30 14:39:29.786762", a since
 * that a run resolved to the start of another: a run again must not lose a part of a second).
 */
export function sinceForInput(v) {
  if (typeof v !== 'string' || !v) return '';
  const d = parseTime(v);
  if (!d) return v;
  const iso = d.toISOString();
  // the fraction as written: Date keeps milliseconds only
  const m = /:\d\d(\.\d+)/.exec(v);
  const frac = m && /[1-9]/.test(m[1]) ? m[1].replace(/0+$/, '') : '';
  const secs = iso.slice(17, 19) !== '00' || frac ? `${iso.slice(16, 19)}${frac}` : '';
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}${secs}`;
}

/**
 * A textarea for a JSON value that checks it while typing. `kind`: 'object' (custom args:
 * empty means none), 'array', 'any'. onChange(valid) lets the owner disable its submit button.
 */
export function jsonEditor({ label, apiField, hint, value, kind = 'any', onChange, rows = 5, placeholder }) {
  const ta = h('textarea', { rows, spellcheck: 'false', class: 'code', placeholder });
  if (value !== undefined && value !== null) ta.value = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  const wrap = field({ label, control: ta, hint, field: apiField });
  const slot = wrap.querySelector('.field-error');
  const state = { valid: true, value: undefined };
  function check(notify = true) {
    const text = ta.value.trim();
    let msg = '';
    state.value = undefined;
    if (text) {
      try {
        const v = JSON.parse(text);
        if (kind === 'object' && (typeof v !== 'object' || v === null || Array.isArray(v))) msg = 'must be a JSON object, such as {"limit": 10}';
        else if (kind === 'array' && !Array.isArray(v)) msg = 'must be a JSON array, such as ["a", "b"]';
        else state.value = v;
      } catch (e) {
        msg = `Invalid JSON: ${e.message}`;
      }
    }
    state.valid = !msg;
    slot.textContent = msg;
    if (msg) ta.setAttribute('aria-invalid', 'true');
    else ta.removeAttribute('aria-invalid');
    if (onChange && notify) onChange(state.valid);
  }
  ta.addEventListener('input', () => check());
  check(false); // the owner reads .valid once it is built
  return {
    el: wrap,
    textarea: ta,
    get valid() { return state.valid; },
    /** The parsed value; undefined when empty. */
    get value() { return state.value; },
    check,
  };
}

function typeOf(schema) {
  return Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
}

function defaultText(schema) {
  if (schema.default === undefined) return '';
  return typeof schema.default === 'string' ? schema.default : JSON.stringify(schema.default);
}

/**
 * Builds the fields for an object schema. `values` prefill them (saved or run arguments).
 * `extra(name)` may return an element shown under a property's field (the "Since" note).
 * Returns {el, read(), editors}; read() gives {value, errors} with errors in the API's shape.
 */
export function argsForm(schema, values = {}, { prefix = 'args', extra = () => null, onValidity } = {}) {
  const props = (schema && schema.properties) || null;
  const readers = [];
  const editors = [];
  const el = h('div', { class: 'args-fields' });

  if (!props || !Object.keys(props).length) {
    // No declared properties: the job type accepts any object, so offer it as JSON.
    const ed = jsonEditor({
      label: 'Arguments (JSON)', apiField: prefix, kind: 'object', value: Object.keys(values || {}).length ? values : '',
      hint: 'This job type declares no arguments; any JSON object is passed to the task.', onChange: onValidity,
    });
    editors.push(ed);
    el.append(ed.el);
    return {
      el, editors,
      read: () => (ed.valid ? { value: ed.value || {}, errors: [] } : { value: {}, errors: [{ field: prefix, messages: ['is not valid JSON'] }] }),
    };
  }

  const required = new Set(schema.required || []);
  for (const [name, prop] of Object.entries(props)) {
    const apiField = `${prefix}.${name}`;
    const label = prop.title || humanize(name);
    const type = typeOf(prop);
    const v = values ? values[name] : undefined;
    const dflt = defaultText(prop);
    const hintParts = [];
    if (prop.format === 'date-time') hintParts.push('YYYY-MM-DD HH:mm, in UTC.');
    if (prop.description) hintParts.push(/[.!?]$/.test(prop.description) ? prop.description : `${prop.description}.`);
    if (prop.minimum !== undefined || prop.maximum !== undefined) {
      hintParts.push(`From ${prop.minimum ?? '−∞'} to ${prop.maximum ?? '∞'}.`);
    }
    if (dflt !== '' && type !== 'object') hintParts.push(`Default: ${dflt}.`);
    const hint = hintParts.join(' ') || null;
    let control;
    let read;

    if (prop.enum) {
      const opts = [['', dflt !== '' ? `Default (${dflt})` : '—']].concat(prop.enum.map((e) => [JSON.stringify(e), String(e)]));
      control = select(opts);
      if (v !== undefined && v !== null) control.value = JSON.stringify(v);
      read = () => (control.value === '' ? undefined : JSON.parse(control.value));
    } else if (type === 'boolean') {
      control = select([['', dflt !== '' ? `Default (${dflt})` : '—'], ['true', 'Yes'], ['false', 'No']]);
      if (typeof v === 'boolean') control.value = String(v);
      read = () => (control.value === '' ? undefined : control.value === 'true');
    } else if (type === 'integer' || type === 'number') {
      control = input({
        type: 'number', inputmode: type === 'integer' ? 'numeric' : 'decimal', step: type === 'integer' ? '1' : 'any',
        placeholder: dflt, min: prop.minimum, max: prop.maximum,
      });
      if (typeof v === 'number') control.value = String(v);
      read = () => {
        if (control.validity.badInput) throw new Error('must be a number');
        return control.value === '' ? undefined : Number(control.value);
      };
    } else if (type === 'array' && prop.items && ['string', 'integer', 'number'].includes(typeOf(prop.items))) {
      // Lists of plain values read best one per line.
      const numeric = typeOf(prop.items) !== 'string';
      control = h('textarea', { rows: 3, placeholder: Array.isArray(prop.default) ? prop.default.join('\n') : '' });
      if (Array.isArray(v)) control.value = v.join('\n');
      hintParts.push('One value per line.');
      read = () => {
        const items = control.value.split('\n').map((s) => s.trim()).filter(Boolean);
        if (!items.length) return undefined;
        if (!numeric) return items;
        return items.map((s) => {
          const n = Number(s);
          if (Number.isNaN(n)) throw new Error(`'${s}' is not a number`);
          return n;
        });
      };
    } else if (type === 'object' && prop.properties) {
      const sub = argsForm(prop, v || {}, { prefix: apiField, extra, onValidity });
      editors.push(...sub.editors);
      const fs = h('fieldset', { class: 'subfields', dataset: { field: apiField } },
        h('legend', {}, label), prop.description ? h('p', { class: 'hint' }, prop.description) : null, sub.el,
        h('div', { class: 'field-error', role: 'alert' }));
      el.append(fs);
      readers.push({ name, apiField, read: () => {
        const r = sub.read();
        if (r.errors.length) throw Object.assign(new Error('nested'), { nested: r.errors });
        return Object.keys(r.value).length ? r.value : undefined;
      } });
      continue;
    } else if (type === 'array' || type === 'object') {
      const ed = jsonEditor({
        label, apiField, hint, value: v === undefined ? '' : v, kind: type, onChange: onValidity, rows: 3,
        placeholder: prop.default !== undefined ? JSON.stringify(prop.default) : '',
      });
      editors.push(ed);
      el.append(ed.el);
      readers.push({ name, apiField, read: () => {
        if (!ed.valid) throw new Error('is not valid JSON');
        return ed.value;
      } });
      continue;
    } else {
      control = input({ placeholder: prop.format === 'date-time' ? 'YYYY-MM-DD HH:mm' : dflt });
      if (typeof v === 'string') control.value = prop.format === 'date-time' ? sinceForInput(v) : v;
      else if (v !== undefined && v !== null) control.value = String(v);
      read = () => (control.value.trim() === '' ? undefined : control.value.trim());
    }
    control.name = apiField;
    el.append(field({
      label, control, field: apiField, required: required.has(name), extra: extra(name, control),
      hint: hintParts.join(' ') || hint,
    }));
    readers.push({ name, apiField, read });
  }

  // Saved values the schema does not know (from an older version of the job type) are kept,
  // so saving a form does not silently drop them; the server reports them if they are refused.
  const unknown = Object.fromEntries(Object.entries(values || {}).filter(([k]) => !props[k] && k !== 'custom_args'));

  return {
    el,
    editors,
    read() {
      const value = { ...unknown };
      const errors = [];
      for (const r of readers) {
        try {
          const x = r.read();
          if (x !== undefined) value[r.name] = x;
        } catch (e) {
          if (e.nested) errors.push(...e.nested);
          else errors.push({ field: r.apiField, messages: [e.message] });
        }
      }
      return { value, errors };
    },
  };
}
