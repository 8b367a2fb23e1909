// Small DOM and formatting helpers shared by every page. Elements are built with h() and
// text is always set as text, never parsed as HTML: job titles, log lines and messages come
// from users and tasks.

/**
 * h('button', {class: 'btn', onclick: fn, disabled: true}, 'Save', icon('check'))
 * Attributes: `class`, `text`, `style` (string), `dataset` (object), on* (listeners),
 * booleans (set when true), anything else as an attribute. Children: nodes, strings,
 * numbers, arrays; null, undefined and false are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked' || k === 'selected') el[k] = !!v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// Bidirectional controls (embeddings, overrides, isolates, marks). In text a task wrote (its
// log, its message, its output) one would make the text show other than it was written
// ("desrever" for "reversed"): each is shown as a small visible marker instead.
const BIDI_CONTROL = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/;
const BIDI_SPLIT = /([\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069])/;

/** The text as children for h() or put(): bidirectional controls as markers ("⟨U+202E⟩"). */
export function visibleText(text) {
  const s = String(text);
  if (!BIDI_CONTROL.test(s)) return [s];
  return s.split(BIDI_SPLIT).map((part, i) => {
    if (i % 2 === 0) return part;
    const code = `U+${part.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
    return h('span', { class: 'bidi-mark', title: `A control character (${code}) that would change the direction of the text` }, `⟨${code}⟩`);
  }).filter((p) => p !== '');
}

/** Replaces the children; unlike el.replaceChildren(), skips null and false (no "null" text). */
export function put(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';
// Stroked 24×24 outlines; `f` marks the few drawn filled.
const ICONS = {
  play: { d: 'M8 5v14l11-7z', f: true },
  pause: { d: 'M8 5v14M16 5v14' },
  calendar: { d: 'M7 2v4M17 2v4M3 9h18M5 4h14a2 2 0 0 1 2 2v14a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z' },
  edit: { d: 'M4 20h4L19 9l-4-4L4 16zM13.5 6.5l4 4' },
  trash: { d: 'M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3' },
  plus: { d: 'M12 5v14M5 12h14' },
  stop: { d: 'M7 7h10v10H7z', f: true },
  check: { d: 'M21 12a9 9 0 1 1-18 0a9 9 0 1 1 18 0M8 12.5l2.5 2.5L16 9.5' },
  x: { d: 'M21 12a9 9 0 1 1-18 0a9 9 0 1 1 18 0M9 9l6 6M15 9l-6 6' },
  clock: { d: 'M21 12a9 9 0 1 1-18 0a9 9 0 1 1 18 0M12 7v5l3 2' },
  ban: { d: 'M21 12a9 9 0 1 1-18 0a9 9 0 1 1 18 0M5.7 5.7l12.6 12.6' },
  alert: { d: 'M12 3l10 18H2zM12 10v4M12 17.5v.5' },
  spin: { d: 'M12 3a9 9 0 1 0 9 9' },
  download: { d: 'M12 4v11M7 10l5 5 5-5M5 20h14' },
  logout: { d: 'M15 4h4v16h-4M10 8l-4 4 4 4M6 12h10' },
  back: { d: 'M19 12H5M11 6l-6 6 6 6' },
  power: { d: 'M12 3v9M6.3 6.3a8 8 0 1 0 11.4 0' },
  search: { d: 'M17 11a6 6 0 1 1-12 0a6 6 0 1 1 12 0M15.5 15.5L20 20' },
  list: { d: 'M8 6h13M8 12h13M8 18h13M3 6h.01M3 12h.01M3 18h.01' },
  lock: { d: 'M6 11h12v10H6zM8 11V7a4 4 0 0 1 8 0v4' },
};

/** A decorative icon (hidden from assistive technology; the button text names the action). */
export function icon(name, cls = '') {
  const def = ICONS[name];
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', `icon ${cls}`.trim());
  const p = document.createElementNS(SVG, 'path');
  p.setAttribute('d', def.d);
  if (def.f) p.setAttribute('fill', 'currentColor');
  svg.append(p);
  return svg;
}

// ---- time ------------------------------------------------------------------------------

// An instant as the API reads it in requests (docs/api.md, value formats): YYYY-MM-DD, then
// optionally a T or a space, HH:mm, :ss and a fraction (a dot or a comma), then optionally Z or
// an offset (+HH:MM, +HHMM). Without a designator the time is UTC; Date.parse would read
// "2026-01-01 00:00" in the browser's zone, so it is never used for such a text.
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;
const FIRST_MS = Date.UTC(2000, 0, 1) - 730485 * 86400000; /* 0000-01-01T00:00Z */
const END_MS = Date.UTC(9999, 11, 31) + 86400000; /* 10000-01-01T00:00Z */

/** The formats an instant may be typed in, for hints and errors. */
export const INSTANT_FORMATS = 'YYYY-MM-DD, YYYY-MM-DD HH:mm or YYYY-MM-DD HH:mm:ss, in UTC unless it ends in an offset such as +01:00';

function daysInMonth(y, m) {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];
}

/**
 * Reads an instant the way the server does: {date, fraction} (fraction: the digits after the
 * second as written, at most 6, which Date cannot keep), or {problem} saying why it is none.
 */
export function readInstant(text) {
  const m = INSTANT.exec(String(text));
  if (!m) return { problem: `not a date-time; write ${INSTANT_FORMATS}` };
  const [y, mo, d, hh = 0, mi = 0, ss = 0] = m.slice(1, 7).map((x) => (x === undefined ? undefined : Number(x)));
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return { problem: 'there is no such date' };
  if (hh > 23 || mi > 59 || ss > 60) return { problem: 'the time of day is out of range (00:00 to 23:59)' };
  const [oh, om] = [Number(m[10] || 0), Number(m[11] || 0)];
  if (oh > 23 || om > 59) return { problem: 'the offset is out of range' };
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d); /* not Date.UTC, which takes years below 100 for 19xx */
  date.setUTCHours(hh, mi, Math.min(ss, 59)); /* a leap second is read as 59, as the server does */
  const fraction = (m[7] || '').slice(0, 6);
  const sign = m[9] === '-' ? -1 : 1;
  const ms = date.getTime() - (m[9] ? sign * (oh * 60 + om) * 60000 : 0);
  if (ms < FIRST_MS || ms >= END_MS) return { problem: 'out of range: from 0000-01-01 to 9999-12-31 in UTC' };
  return { date: new Date(ms + Number(fraction.padEnd(3, '0').slice(0, 3))), fraction };
}

/** An instant of the API (or typed for it) as a Date; null when it is none. */
export function parseTime(iso) {
  if (!iso) return null;
  return readInstant(iso).date || null;
}

/** "2026-01-01 00:00:00 UTC": an instant as the API's requests write it. */
export function utcText(d) {
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

const fullFmt = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
  timeZoneName: 'short',
});

export function fullTime(iso) {
  const d = parseTime(iso);
  return d ? fullFmt.format(d) : '';
}

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const STEPS = [
  ['year', 365 * 86400], ['month', 30 * 86400], ['week', 7 * 86400], ['day', 86400],
  ['hour', 3600], ['minute', 60], ['second', 1],
];

export function relativeTime(iso, now = Date.now()) {
  const d = parseTime(iso);
  if (!d) return '';
  const secs = (d.getTime() - now) / 1000;
  if (Math.abs(secs) < 45) return secs >= 0 && secs > 1 ? 'in a few seconds' : 'just now';
  for (const [unit, size] of STEPS) {
    if (Math.abs(secs) >= size || unit === 'second') return rtf.format(Math.round(secs / size), unit);
  }
  return '';
}

const LIST_RELATIVE_S = 12 * 3600;
const shortFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const shortYearFmt = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const shortZoneFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' });
const shortYearZoneFmt = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short',
});

/**
 * A time in a list: relative within 12 hours of now ("5 minutes ago", "in 3 hours"); further
 * off, the short local date and time ("Nov 28, 02:03 PM", with the year when it is another),
 * which can be compared from row to row when looking back at what happened when. With `zone`
 * the date and time name the browser's zone ("Dec 7, 04:00 AM GMT+1"), for a time shown
 * beside one in another zone (a schedule's).
 */
export function listTime(iso, now = Date.now(), { zone = false } = {}) {
  const d = parseTime(iso);
  if (!d) return '';
  if (Math.abs(d.getTime() - now) / 1000 < LIST_RELATIVE_S) return relativeTime(iso, now);
  const thisYear = d.getFullYear() === new Date(now).getFullYear();
  if (zone) return (thisYear ? shortZoneFmt : shortYearZoneFmt).format(d);
  return (thisYear ? shortFmt : shortYearFmt).format(d);
}

/**
 * A <time> in a list (listTime, naming the zone with `zone`), the full local time (and UTC) on
 * hover; with full, the relative time followed by the full local time (for facts, where touch
 * and keyboard users need it without hovering). Pages' times are refreshed by the ticker in
 * app.js through the data-rel attribute.
 */
export function timeEl(iso, { fallback = '—', full = false, zone = false } = {}) {
  if (!iso) return h('span', { class: 'muted' }, fallback);
  const d = parseTime(iso);
  const t = h('time', {
    datetime: iso,
    title: `${fullTime(iso)} (${d.toISOString().replace('.000Z', 'Z')})`,
    dataset: full ? { rel: 'relative' } : zone ? { rel: 'list', zone: 'local' } : { rel: 'list' },
  }, full ? relativeTime(iso) : listTime(iso, Date.now(), { zone }));
  return full ? h('span', {}, t, h('small', { class: 'muted' }, ` · ${fullTime(iso)}`)) : t;
}

export function refreshRelativeTimes(root = document) {
  const now = Date.now();
  for (const t of root.querySelectorAll('time[data-rel]')) {
    const iso = t.getAttribute('datetime');
    t.textContent = t.dataset.rel === 'list' ? listTime(iso, now, { zone: !!t.dataset.zone }) : relativeTime(iso, now);
  }
}

/** 0.4 → "0.4 s", 75 → "1 min 15 s", 7260 → "2 h 1 min". */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return '—';
  if (seconds < 10) return `${Math.round(seconds * 10) / 10} s`;
  let s = Math.round(seconds);
  const d = Math.floor(s / 86400); s -= d * 86400;
  const hh = Math.floor(s / 3600); s -= hh * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  const parts = [];
  if (d) parts.push(`${d} d`);
  if (hh) parts.push(`${hh} h`);
  if (m && !d) parts.push(`${m} min`);
  if (s && !d && !hh) parts.push(`${s} s`);
  return parts.join(' ') || '0 s';
}

// ---- runs ------------------------------------------------------------------------------

export const ACTIVE_STATUSES = ['QUEUED', 'RUNNING', 'CANCELLING'];
export const isActive = (status) => ACTIVE_STATUSES.includes(status);

/**
 * The start of an id as lists show it: 8 characters; 13 of a run's, whose id starts with its
 * creation time (a version-7 UUID), so runs made within a minute differ only after the 8th.
 */
export function shortId(id) {
  return id.slice(0, id.length === 36 && id[14] === '7' ? 13 : 8);
}

const STATUS_ICON = {
  SUCCESS: 'check', PARTIAL_SUCCESS: 'alert', WARNING: 'alert', FAILED: 'x',
  CANCELLED: 'ban', CANCELLING: 'spin', RUNNING: 'spin', QUEUED: 'clock',
};

/** A run status as an icon and its name, coloured by outcome. */
export function statusBadge(status, { iconOnly = false } = {}) {
  const name = (status || 'UNKNOWN').replace(/_/g, ' ');
  const cls = `status status-${(status || 'unknown').toLowerCase()}`;
  const ic = icon(STATUS_ICON[status] || 'clock', status === 'RUNNING' || status === 'CANCELLING' ? 'spinning' : '');
  if (iconOnly) return h('span', { class: cls, role: 'img', 'aria-label': name, title: name }, ic);
  return h('span', { class: cls }, ic, h('span', { class: 'status-text' }, name));
}

/**
 * The duration of a run; while it runs the element is kept counting by the ticker in app.js
 * (from the server's own duration plus the time since it was read, so clock skew between
 * browser and server does not matter).
 */
export function durationEl(run) {
  let secs = run.duration;
  // a run read a while ago (run._readAt, set by the run page) has run on since
  const readAt = run._readAt ?? performance.now();
  if (typeof secs !== 'number' && run.started_at && isActive(run.status)) secs = (Date.now() - parseTime(run.started_at)) / 1000;
  const el = h('span', { class: 'duration' });
  if (run.started_at && isActive(run.status) && typeof secs === 'number') {
    el.dataset.liveFrom = String(readAt - secs * 1000);
    secs += (performance.now() - readAt) / 1000;
  }
  el.textContent = formatDuration(secs);
  return el;
}

export function refreshDurations(root = document) {
  const now = performance.now();
  for (const el of root.querySelectorAll('[data-live-from]')) {
    el.textContent = formatDuration((now - Number(el.dataset.liveFrom)) / 1000);
  }
}

export function personName(p) {
  return p ? p.name || p.id : 'System';
}

// ---- misc ------------------------------------------------------------------------------

export function debounce(fn, ms) {
  let t;
  const d = (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
  d.cancel = () => clearTimeout(t);
  return d;
}

export function prettyJson(v) {
  return JSON.stringify(v, null, 2);
}

// Words that are written in capitals wherever they appear in a label.
const ACRONYMS = new Set(['api', 'csv', 'dns', 'html', 'http', 'https', 'id', 'ip', 'json', 'smtp', 'sql', 'ssh', 'tls', 'uri', 'url', 'utc', 'uuid', 'xml']);

/** "reject_every" → "Reject every"; "callback_url" → "Callback URL". */
export function humanize(name) {
  const words = String(name).replace(/[_-]+/g, ' ').trim().split(/\s+/)
    .map((w) => (ACRONYMS.has(w.toLowerCase()) ? w.toUpperCase() : w));
  const s = words.join(' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** "1 result", "2 results", "1 entry": a count with its noun, given in the plural. */
export function plural(n, nouns) {
  if (n !== 1) return `${n.toLocaleString()} ${nouns}`;
  const one = /ies$/.test(nouns) ? nouns.replace(/ies$/, 'y') : nouns.replace(/s$/, '');
  return `1 ${one}`;
}

let uid = 0;
export function nextId(prefix = 'f') {
  uid += 1;
  return `${prefix}-${uid}`;
}

// An interval's fields, with their length in microseconds and their short unit.
const INTERVAL_UNITS = [['weeks', 604800e6, 'w'], ['days', 86400e6, 'd'], ['hours', 3600e6, 'h'], ['minutes', 60e6, 'min'],
  ['seconds', 1e6, 's'], ['milliseconds', 1e3, 'ms'], ['microseconds', 1, 'µs']];

/**
 * The whole seconds an interval schedule fires every: its fields summed and rounded to the
 * nearest second, half a second up, as the server does (docs/cron.md).
 */
export function intervalSeconds(s) {
  const us = INTERVAL_UNITS.reduce((sum, [k, size]) => sum + (Number(s[k]) || 0) * size, 0);
  return Math.floor(us / 1e6 + 0.5);
}

/** Seconds in weeks, days, hours, minutes and seconds: 90 → {minutes: 1, seconds: 30}. */
export function splitSeconds(total) {
  const out = {};
  let rest = total;
  for (const [k, size] of INTERVAL_UNITS.slice(0, 5)) {
    const n = Math.floor(rest / (size / 1e6));
    if (n) out[k] = n;
    rest -= n * (size / 1e6);
  }
  return out;
}

/** Describes a schedule object in a few words. */
/** ", up to 10m later": a schedule's jitter, as its summary ends. */
function jitterText(s) {
  return s.jitter ? `, up to ${s.jitter} later` : '';
}

export function describeSchedule(s) {
  if (!s) return 'Not scheduled';
  // a crontab's or cron expression's fields are wall times of its zone (UTC unless it names
  // one), which may not be the browser's: named (an interval counts elapsed time, in no zone)
  const tz = ` (${s.timezone || 'UTC'})`;
  if (s.type === 'interval') {
    // milliseconds and microseconds read better as the whole seconds they come to
    const fields = s.milliseconds || s.microseconds ? splitSeconds(intervalSeconds(s)) : s;
    const parts = INTERVAL_UNITS.filter(([k]) => fields[k]).map(([k, , u]) => `${fields[k]} ${u}`);
    return `Every ${parts.join(' ') || '?'}`;
  }
  if (s.type === 'crontab') {
    // the fields set, named and in the schedule dialog's order: five bare values would read as
    // a cron line, whose two day fields mean either day where a crontab's mean both
    const set = ['minute', 'hour', 'day_of_week', 'day_of_month', 'month_of_year']
      .filter((k) => s[k] !== undefined && s[k] !== null).map((k) => `${k}=${s[k]}`);
    return `Crontab ${set.join(' ') || 'minute=*'}${tz}${jitterText(s)}`;
  }
  if (s.type === 'cron') return `Cron ${s.expression}${tz}${jitterText(s)}`;
  return JSON.stringify(s);
}
