// Forms generated from a job type's arguments schema (GET /api/tasks/{id}/args; the subset
// of JSON Schema that docs/tasks.md describes), and the JSON editors for what a form cannot
// express. Fields carry the API's field names ("args.limit"), so 400 answers land on them.

import { h, humanize, readInstant, INSTANT_FORMATS } from './dom.js';
import { field, fieldGroup, input, select, sentence } from './components.js';

/**
 * "2026-11-01T08:30:00.000000+00:00" → "2026-11-01 08:30" (UTC), the form the API reads back;
 * seconds and their fraction only when there are some ("2026-11-30 14:39:29.786762", a since
 * that a run resolved to the start of another: a run again must not lose a part of a second).
 * A text the API would not read is given back as it is.
 */
export function sinceForInput(v) {
  if (typeof v !== 'string' || !v) return '';
  const { date, fraction } = readInstant(v);
  if (!date) return v;
  const iso = date.toISOString();
  // the fraction as written: Date keeps milliseconds only
  const frac = /[1-9]/.test(fraction) ? `.${fraction.replace(/0+$/, '')}` : '';
  const secs = iso.slice(17, 19) !== '00' || frac ? `${iso.slice(16, 19)}${frac}` : '';
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}${secs}`;
}

/** Why a typed date-time would be refused by the server, as a sentence; '' when it is fine. */
export function dateTimeProblem(text) {
  const t = text.trim();
  return t ? sentence(readInstant(t).problem || '') : '';
}

/**
 * An example object for a custom args placeholder: the schema's first property (after since,
 * which every job type may have) with a value of its kind, so it names an argument of the job type.
 */
export function customArgsExample(schema) {
  const props = Object.entries((schema && schema.properties) || {});
  const [name, p] = props.find(([k]) => k !== 'since') || props[0] || [];
  if (!name) return '{"key": "value"}';
  const type = typeOf(p);
  let v;
  if (p.default !== undefined && p.default !== null) v = p.default;
  else if (p.enum) [v] = p.enum;
  else if (p.format === 'date-time') v = '2026-01-01 00:00';
  else if (type === 'integer' || type === 'number') v = p.minimum ?? 1;
  else if (type === 'boolean') v = true;
  else if (type === 'array') v = [];
  else if (type === 'object') v = {};
  else v = 'value';
  return JSON.stringify({ [name]: v }).replace(/^\{"(.*?)":/, '{"$1": ');
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
        // the button that sends it is off meanwhile: say so, or it looks broken
        msg = `Not valid JSON (${e.message}): fix it or empty the field to go on.`;
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

/** The name a value refers to when it is a secret's reference ({"$secret": "NAME"}), else null. */
export function secretName(v) {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return null;
  const keys = Object.keys(v);
  return keys.length === 1 && keys[0] === '$secret' && typeof v.$secret === 'string' ? v.$secret : null;
}

/** Typed text as a value: a secret's reference when it reads as one, else the text. */
function textOrSecret(text) {
  if (!text.trim().startsWith('{')) return text;
  try {
    const v = JSON.parse(text);
    return secretName(v) !== null ? v : text;
  } catch (e) {
    return text;
  }
}

/**
 * Whether the user changed a control, or any control inside an element (a nested object's
 * fieldset). Until then a field gives back the saved value exactly, "" and spaces included:
 * opening a form and saving it must not change what it was opened with.
 */
function watchTouched(el) {
  const state = { touched: false };
  for (const type of ['input', 'change']) el.addEventListener(type, () => { state.touched = true; });
  return state;
}

/** A field's reader that gives the saved value `saved` while the field is untouched. */
function keepUntouched(saved, watched, read) {
  return () => (!watched.touched && saved !== undefined ? saved : read());
}

/** Why a typed number does not fit its schema, in plain words; '' when it fits. */
function numberProblem(n, prop, integer) {
  if (integer && !Number.isInteger(n)) return 'Must be a whole number';
  if (typeof prop.minimum === 'number' && n < prop.minimum) return `Must be at least ${prop.minimum}`;
  if (typeof prop.maximum === 'number' && n > prop.maximum) return `Must be at most ${prop.maximum}`;
  return '';
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
export function argsForm(schema, values = {}, { prefix = 'args', extra = () => null, onValidity, saved = false } = {}) {
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
    if (prop.format === 'date-time') hintParts.push(`${INSTANT_FORMATS}.`);
    if (prop.description) hintParts.push(/[.!?]$/.test(prop.description) ? prop.description : `${prop.description}.`);
    if (prop.minimum !== undefined && prop.maximum !== undefined) hintParts.push(`From ${prop.minimum} to ${prop.maximum}.`);
    else if (prop.minimum !== undefined) hintParts.push(`${prop.minimum} or more.`);
    else if (prop.maximum !== undefined) hintParts.push(`At most ${prop.maximum}.`);
    if (dflt !== '' && type !== 'object') hintParts.push(`Default: ${dflt}.`);
    const hint = hintParts.join(' ') || null;
    let control;
    let read;

    const secret = secretName(v);
    if (secret !== null) {
      // a reference to a secret stays one unless it is typed over; its value is never here
      control = input({ placeholder: dflt });
      control.value = JSON.stringify(v);
      hintParts.push(`The secret ${secret}: each run gets the content of the file ${secret} in sked's secrets folder, which nobody sees here.`);
      read = () => (control.value === '' ? undefined : textOrSecret(control.value));
    } else if (prop.enum) {
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
      // checked here as the schema says, so every field's problem shows at once
      read = () => {
        if (control.validity.badInput) throw new Error('Must be a number');
        if (control.value === '') return undefined;
        const n = Number(control.value);
        const problem = numberProblem(n, prop, type === 'integer');
        if (problem) throw new Error(problem);
        return n;
      };
    } else if (type === 'array' && prop.items && ['string', 'integer', 'number'].includes(typeOf(prop.items))) {
      // Lists of plain values read best one per line.
      const numeric = typeOf(prop.items) !== 'string';
      control = h('textarea', { rows: 3, placeholder: Array.isArray(prop.default) ? prop.default.join('\n') : '' });
      if (Array.isArray(v)) control.value = v.join('\n');
      hintParts.push('One value per line.');
      read = () => {
        // strings as typed (spaces may matter); an empty line is no value
        const items = control.value.split('\n').filter((s) => (numeric ? s.trim() : s) !== '');
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
      const fs = fieldGroup({ legend: label, field: apiField, cls: 'subfields' },
        prop.description ? h('p', { class: 'hint' }, prop.description) : null, sub.el);
      el.append(fs);
      readers.push({ name, apiField, read: keepUntouched(v, watchTouched(fs), () => {
        const r = sub.read();
        if (r.errors.length) throw Object.assign(new Error('nested'), { nested: r.errors });
        return Object.keys(r.value).length ? r.value : undefined;
      }) });
      continue;
    } else if (type === 'array' || type === 'object') {
      const ed = jsonEditor({
        label, apiField, hint, value: v === undefined ? '' : v, kind: type, onChange: onValidity, rows: 3,
        placeholder: prop.default !== undefined ? JSON.stringify(prop.default) : '',
      });
      editors.push(ed);
      el.append(ed.el);
      readers.push({ name, apiField, read: keepUntouched(v, watchTouched(ed.textarea), () => {
        if (!ed.valid) throw new Error('is not valid JSON');
        return ed.value;
      }) });
      continue;
    } else if (prop.format === 'date-time') {
      // checked here as the server reads it, so a typo is caught before Run now or Save
      const dt = input({ placeholder: 'YYYY-MM-DD HH:mm' });
      control = dt;
      if (typeof v === 'string') dt.value = sinceForInput(v);
      else if (v !== undefined && v !== null) dt.value = String(v);
      // a date-time is read as the server reads it, spaces around it meaning nothing
      read = () => {
        const problem = dateTimeProblem(dt.value);
        if (problem) throw new Error(problem);
        return dt.value.trim() === '' ? undefined : dt.value.trim();
      };
    } else {
      control = input({ placeholder: dflt });
      if (typeof v === 'string') control.value = v;
      else if (v !== undefined && v !== null) control.value = String(v);
      // as typed: spaces may matter in a pattern, a separator or a header value
      read = () => (control.value === '' ? undefined : textOrSecret(control.value));
    }
    control.name = apiField;
    // a job may be saved without an argument every run needs (a run may give it): its form
    // says so rather than marking it as required as a run's form does
    const needed = saved && required.has(name) ? 'Every run needs it: save it here, or give it when running.' : '';
    const wrap = field({
      label, control, field: apiField, required: !saved && required.has(name), extra: extra(name, control),
      hint: [hintParts.join(' ') || hint, needed].filter(Boolean).join(' '),
    });
    el.append(wrap);
    if (prop.format === 'date-time') {
      // said once the field is left, not at every key while the value is being typed
      const slot = wrap.querySelector('.field-error');
      control.addEventListener('change', () => {
        const problem = dateTimeProblem(control.value);
        slot.textContent = problem;
        if (problem) control.setAttribute('aria-invalid', 'true');
        else control.removeAttribute('aria-invalid');
      });
    }
    readers.push({ name, apiField, read: keepUntouched(v, watchTouched(control), read) });
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
