// Building blocks used by several pages: form fields with their error slots, API error
// display, modal dialogs, pagination, notices.

import { h, icon, nextId, clear, put, plural, visibleText } from './dom.js';
import { holdOnLeave } from './router.js';

// ---- buttons ---------------------------------------------------------------------------

/**
 * A button with an optional icon; `kind`: '', 'primary', 'danger', 'create', 'ghost'.
 * `action` names what it does (data-action), for the focus to find its successor in a redrawn page.
 */
export function button(label, { kind = '', iconName, onclick, type = 'button', title, disabled, small, action } = {}) {
  return h('button', {
    type, class: `btn ${kind ? `btn-${kind}` : ''} ${small ? 'btn-small' : ''}`.trim(), onclick, title, disabled,
    dataset: action ? { action } : null,
  }, iconName ? icon(iconName) : null, h('span', {}, label));
}

// ---- fields ----------------------------------------------------------------------------

/**
 * A labelled form control with a hint and a slot for its server-side errors.
 * `field` is the API's name for it ("title", "args.limit", "schedule.hours"): 400 answers are
 * matched to it by applyErrors().
 */
export function field({ label, control, hint, field: apiField, required, inline, extra }) {
  const id = control.id || nextId('in');
  control.id = id;
  const hintId = hint ? `${id}-hint` : null;
  const errId = `${id}-err`;
  control.setAttribute('aria-describedby', [hintId, errId].filter(Boolean).join(' '));
  const lab = h('label', { for: id }, label, required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null);
  const err = h('div', { class: 'field-error', id: errId, role: 'alert' });
  // an error is about the value it was given: a changed value takes it away (checks that run
  // while typing are added after this one, so they speak last)
  const changed = () => {
    err.textContent = '';
    control.removeAttribute('aria-invalid');
  };
  control.addEventListener('input', changed); /* selects and check boxes send it too */
  return h('div', { class: `field${inline ? ' field-inline' : ''}`, dataset: apiField ? { field: apiField } : {} },
    inline ? [control, lab] : [lab, control],
    extra || null,
    hint ? h('div', { class: 'hint', id: hintId }, hint) : null,
    err);
}

/** Makes `note` (an element of a field, shown under its control) part of the control's description. */
export function describedAlsoBy(wrap, control, note) {
  control.setAttribute('aria-describedby', `${control.getAttribute('aria-describedby') || ''} ${note.id}`.trim());
  return wrap;
}

/**
 * A group of fields the API names as one (`field`: "args"), under its legend. Its own error
 * slot comes first, so an error of the whole group (applyErrors) shows above its fields rather
 * than under one of them; the group is described by it. `children` are its fields and hints.
 */
export function fieldGroup({ legend, field: apiField, cls = 'box' }, ...children) {
  const err = h('div', { class: 'field-error', id: nextId('grp-err'), role: 'alert' });
  return h('fieldset', { class: cls, dataset: apiField ? { field: apiField } : {}, 'aria-describedby': err.id },
    h('legend', {}, legend), err, children);
}

export function input(attrs = {}) {
  return h('input', { type: 'text', autocomplete: 'off', ...attrs });
}

export function select(options, attrs = {}) {
  const s = h('select', attrs);
  for (const o of options) {
    const [value, text] = Array.isArray(o) ? o : [o, o];
    s.append(h('option', { value }, text));
  }
  if (attrs.value !== undefined) s.value = attrs.value;
  return s;
}

// ---- errors ----------------------------------------------------------------------------

export function clearErrors(root) {
  for (const el of root.querySelectorAll('.field-error')) el.textContent = '';
  for (const el of root.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  for (const el of root.querySelectorAll('.error-summary')) clear(el).hidden = true;
}

/**
 * The field container for an API field name, trying its parents: "args.tags[2]" → "args.tags".
 * Of containers of one name, one inside the other (a group "args" holding the JSON editor "args"
 * of a job type that declares no arguments), the innermost.
 */
function fieldFor(root, name) {
  let n = name;
  while (n) {
    const el = [...root.querySelectorAll(`[data-field="${CSS.escape(n)}"]`)].pop();
    if (el) return el;
    const cut = Math.max(n.lastIndexOf('.'), n.lastIndexOf('['));
    if (cut <= 0) return null;
    n = n.slice(0, cut);
  }
  return null;
}

/** The label a field of a form is shown by ("Custom args"), without the mark of a required one. */
function fieldLabel(container) {
  const l = container.querySelector('label, legend');
  return l ? l.textContent.replace(/\s*\*$/, '').trim() : container.dataset.field;
}

/**
 * A 413 (the request body is larger than the server takes) as an error of the form's field that
 * made it so, the largest of the body's fields the form has: {err, subject}, subject its label.
 */
function tooLargeError(root, err) {
  if (err.status !== 413 || !err.sent || typeof err.sent !== 'object') return { err, subject: null };
  let big = null;
  for (const [name, value] of Object.entries(err.sent)) {
    const f = value === undefined || value === null ? null : fieldFor(root, name);
    const bytes = f ? utf8Bytes(JSON.stringify(value)) : 0;
    if (f && (!big || bytes > big.bytes)) big = { name, bytes, label: fieldLabel(f) };
  }
  if (!big) return { err, subject: null };
  const limit = bodyLimit(err);
  const why = limit ? `at most ${bytesText(limit)} go in one request, and this is ${sizeText(big.bytes)}`
    : `the server refused the ${sizeText(err.sentBytes)} sent, and this is ${sizeText(big.bytes)} of it`;
  return {
    err: { ...err, message: err.message, errors: [{ field: big.name, messages: [`too large: ${why}; shorten it`] }] },
    subject: big.label,
  };
}

/**
 * Shows an API error in a form: each {field, messages} next to its field when the form has
 * it, the rest (and the message of errors without fields) in the form's .error-summary, which
 * says it with errorText(): `what` failed ("Could not save the job"), why, and what to do.
 * `names` gives the API's field names the form lacks the names it shows them by. Returns the
 * first element to focus.
 */
export function applyErrors(root, error, { names = {}, what } = {}) {
  clearErrors(root);
  const { err, subject } = tooLargeError(root, error);
  const summary = root.querySelector('.error-summary');
  const leftover = [];
  let first = null;
  // the first field marked in the form's order, whatever the order of the errors
  const earlier = (a, b) => (!b || (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING) ? a : b);
  for (const e of err.errors || []) {
    const f = e.field ? fieldFor(root, e.field) : null;
    // shown as a sentence under its field ("is required" reads "Required" there)
    const text = sentence((e.messages || []).join('; ').replace(/^is required\b/, 'required'));
    if (!f) {
      leftover.push(e.field ? `${names[e.field] || e.field}: ${text}` : text);
      continue;
    }
    // its own slot, not that of a field inside it (a group's error is not the first field's)
    const slot = f.querySelector(':scope > .field-error') || f.querySelector('.field-error');
    const prefix = f.dataset.field === e.field ? '' : `${e.field}: `;
    slot.textContent = slot.textContent ? `${slot.textContent}; ${prefix}${text}` : `${prefix}${text}`;
    const ctl = f.querySelector('input, select, textarea');
    if (ctl) {
      // a group's first control is where to start correcting it, not what is wrong
      if (f.tagName !== 'FIELDSET') ctl.setAttribute('aria-invalid', 'true');
      first = earlier(ctl, first);
    }
  }
  if (summary) {
    summary.hidden = false;
    summary.append(h('p', { class: 'error-title' }, icon('alert'),
      errorText(err, what, { marked: !!first, listed: leftover.length > 0, subject })));
    if (leftover.length) summary.append(h('ul', {}, leftover.map((t) => h('li', {}, t))));
    if (!first) first = summary;
  }
  return first;
}

export function errorSummary() {
  return h('div', { class: 'error-summary', role: 'alert', tabindex: '-1', hidden: true });
}

/** The API's messages start in lower case ("wrong username or password"); shown as sentences. */
export function sentence(text) {
  const t = String(text);
  return t.charAt(0).toUpperCase() + t.slice(1);
}

/** The text as a sentence that ends with its full stop (or the ? or ! it has). */
function fullSentence(text) {
  const t = sentence(String(text).trim());
  return /[.!?…]$/.test(t) ? t : `${t}.`;
}

function utf8Bytes(text) {
  return new TextEncoder().encode(String(text)).length;
}

/** The most a request body may be, from the server's 413 ("… larger than 1048576 bytes"); null if unsaid. */
function bodyLimit(err) {
  const m = /(\d+) bytes/.exec(err.message || '');
  return m ? Number(m[1]) : null;
}

/** "1 MiB (1,048,576 bytes)": a limit as it is set (--max-body), exact. */
function bytesText(n) {
  for (const [size, unit] of [[1024 * 1024, 'MiB'], [1024, 'KiB']]) {
    if (n >= size && n % size === 0) return `${n / size} ${unit} (${n.toLocaleString()} bytes)`;
  }
  return `${n.toLocaleString()} bytes`;
}

/** "1.2 MiB", "70 KiB": a size sent, roughly. */
function sizeText(n) {
  if (n >= 1024 * 1024) return `${(Math.ceil(n / (1024 * 1024) * 10) / 10).toLocaleString()} MiB`;
  if (n >= 1024) return `${Math.ceil(n / 1024).toLocaleString()} KiB`;
  return `${n.toLocaleString()} bytes`;
}

/**
 * What to do after a failed request, by its status; '' where the server's message says it
 * (a 409's "make another admin first"). `marked`: the fields at fault are marked in the form;
 * `listed`: they are listed under the message.
 */
function nextStep(err, { marked, listed }) {
  const s = err.status;
  const msg = err.message || '';
  if (marked) return `Correct the fields marked${listed ? ' and named' : ''} below, then try again.`;
  if (s === 0) return 'Check that sked is running and that this computer can reach it, then try again.';
  if (/\b(try again|reload)\b/i.test(msg)) return '';
  if (s === 400 || s === 422) return listed ? 'Correct what is named below, then try again.' : 'Correct it, then try again.';
  if (s === 401) return 'Check the username and the password, then try again.';
  if (s === 403 && /needs the \w+( or \w+)* role/.test(msg)) return 'Ask an admin for that role if you need it.';
  if (s === 403 && /CSRF/.test(msg)) return 'Reload the page, then try again.';
  if (s === 404) return 'It may have been deleted meanwhile: reload the page to see what there is now.';
  if (s === 408 || s === 429) return 'Wait a moment, then try again.';
  if (s >= 500) return 'Try again in a moment.';
  if (s === 403 || s === 409 || s === 412) return '';
  return 'Try again.';
}

// What a proxy answers for a server behind it that does not answer (Bad Gateway, Service
// Unavailable, Gateway Timeout).
const GATEWAY_STATUSES = [502, 503, 504];

/**
 * A failed request as the banners say it, on every page and in every dialog: what failed
 * (`what`: "Could not save the job"), the server's message, which names what was wrong and
 * why, and what to do next. An error of a check made here, before anything is sent (no
 * status), is its message and what to do. A 413 says how large a request may be; `subject`
 * names the field that made it too large.
 */
export function errorText(err, what, { marked = false, listed = false, subject = null } = {}) {
  const e = err || {};
  let reason;
  let next;
  if (e.status === 413) { // the server's "request body larger than 1048576 bytes" said plainly
    const limit = bodyLimit(e);
    const it = subject ? `“${subject}”` : 'What you entered';
    const sent = e.sentBytes ? sizeText(e.sentBytes) : 'request';
    // with the field marked, how large it is and may be is said there, once
    if (subject && marked) reason = `${it} is too large. Shorten it as said below, then try again.`;
    else if (limit) reason = `${it} is too large: at most ${bytesText(limit)} go in one request; shorten it, then try again.`;
    else reason = `${it} is too large for the server, which refused the ${sent} sent; shorten it, then try again.`;
    next = '';
  } else if (e.notFromSked && GATEWAY_STATUSES.includes(e.status)) {
    // a proxy's own page (502 Bad Gateway): sked did not answer it
    reason = `No answer from sked (${`${e.status} ${e.statusText || ''}`.trim()} from a proxy in front of it).`;
    next = 'Check that sked is running, then try again.';
  } else {
    reason = fullSentence(e.message || String(err || 'something went wrong'));
    next = e.status === undefined ? (marked && !listed ? 'See the fields marked below.' : '') : nextStep(e, { marked, listed });
  }
  return [what ? `${what}: ${reason}` : reason, next].filter(Boolean).join(' ');
}

/**
 * An error box for errors outside forms (a page that failed to load, a refused action), said
 * with errorText(err, what). `names` gives the API's field names the names the page shows
 * them by ({job_id: 'Job'}).
 */
export function errorBox(err, { what, names = {} } = {}) {
  const listed = !!(err && err.errors && err.errors.length);
  return h('div', { class: 'error-summary', role: 'alert' },
    h('p', { class: 'error-title' }, icon('alert'), errorText(err, what, { listed })),
    listed
      ? h('ul', {}, err.errors.map((e) => h('li', {}, e.field ? `${names[e.field] || e.field}: ` : '', (e.messages || []).join('; '))))
      : null);
}

// ---- notices ---------------------------------------------------------------------------

/**
 * The page-wide banner under the top bar ('info' or 'warn'); '' clears it. Returns a function
 * that takes this banner away again, and only this one: a later banner (signed out) stays.
 */
export function setBanner(text, kind = 'info') {
  const area = document.getElementById('banner');
  clear(area);
  if (!text) return () => {};
  const el = h('div', { class: `banner banner-${kind}` }, icon(kind === 'warn' ? 'alert' : 'clock'), h('span', {}, text));
  area.append(el);
  return () => el.remove();
}

export function toast(message, kind = 'ok') {
  const box = document.getElementById('toasts');
  const t = h('div', { class: `toast toast-${kind}` }, message);
  box.append(t);
  setTimeout(() => t.remove(), 5000);
}

export function emptyState(text, extra) {
  return h('div', { class: 'empty' }, icon('list'), h('p', {}, text), extra || null);
}

export function loading(text = 'Loading…') {
  return h('p', { class: 'muted pad', role: 'status' }, text);
}

// ---- focus -----------------------------------------------------------------------------

// The element that last had the focus. A button disabled while its request is under way loses
// it (to <body>): a dialog opened meanwhile (signing in again) gives it back there all the same.
let lastFocused = null;
document.addEventListener('focusin', (e) => { lastFocused = e.target; });

function focusable(el) {
  return !!el && el.isConnected && !el.disabled && !el.closest('[inert], [hidden]') && el.getClientRects().length > 0;
}

/** Focuses a heading (the page's by default), made focusable from code if it is not. */
export function focusHeading(heading) {
  const el = heading || document.querySelector('#app h1');
  if (!el) return;
  if (!el.hasAttribute('tabindex')) el.tabIndex = -1;
  el.focus();
}

/** Whether two rows show the same item: the same data attributes (data-run-id …), some at least. */
function sameRow(a, b) {
  const da = Object.entries(a.dataset);
  return da.length > 0 && da.length === Object.keys(b.dataset).length && da.every(([k, v]) => b.dataset[k] === v);
}

/**
 * The control drawn since in the place of `opener` (which is no longer in the page): the one of
 * the same data-action; for a control of a table's row, the one in the row drawn anew for the
 * same item, else that row's first link (a Stop gone once its run stopped).
 */
function successorOf(opener) {
  const action = opener && opener.dataset ? opener.dataset.action : null;
  if (!action) return null;
  const same = `[data-action="${CSS.escape(action)}"]`;
  const tr = opener.closest('tr');
  if (!tr) return document.querySelector(same);
  const again = [...document.querySelectorAll('#app tr')].find((x) => x !== tr && sameRow(tr, x));
  return again ? again.querySelector(same) || again.querySelector('a[href]') : null;
}

/**
 * Gives the focus back to `opener` (the control that opened a dialog): itself while it is in
 * the page, else its successor drawn since (see successorOf), else the page's heading, so the
 * keyboard goes on from where it was rather than from the top.
 */
export function focusBack(opener) {
  const successor = opener && !focusable(opener) ? successorOf(opener) : null;
  for (const el of [opener, successor]) {
    if (!focusable(el)) continue;
    el.focus();
    if (document.activeElement === el) return;
  }
  focusHeading();
}

/**
 * put(el, …children), and when the focus was inside el (a list emptied by a deletion), it goes
 * to `heading` rather than to the top of the page.
 */
export function putKeepingFocus(el, heading, ...children) {
  const had = el.contains(document.activeElement);
  put(el, ...children);
  if (had && !el.contains(document.activeElement)) focusHeading(heading);
}

// ---- dialogs ---------------------------------------------------------------------------

/**
 * A modal <dialog>: showModal() makes the rest of the page inert (focus stays inside) and
 * Escape closes it. `content` is the body; `footer` the buttons. Returns {dialog, close,
 * dismiss}: close() closes it (after a save); dismiss() is the user's way out (Cancel, ×,
 * Escape), which in a form dialog (onSubmit) where something was typed or picked first asks
 * whether to discard it, unless `keepsNothing` (what is typed there is worth no question: a
 * password). A long title is cut after three lines; the whole is its tooltip and the dialog's name.
 */
export function openDialog({ title, content, footer = [], wide = false, onClose, onSubmit, keepsNothing = false }) {
  const titleId = nextId('dlg');
  const body = h('div', { class: 'dialog-body' }, content);
  const dialog = h('dialog', { class: `dialog${wide ? ' dialog-wide' : ''}`, 'aria-labelledby': titleId });
  const closeBtn = h('button', { type: 'button', class: 'dialog-x', 'aria-label': 'Close', onclick: () => dismiss() }, icon('x'));
  // With onSubmit the dialog is a form, so Enter in a field submits it like the primary button.
  const inner = onSubmit ? h('form', { novalidate: true }) : h('div');
  inner.className = 'dialog-inner';
  if (onSubmit) {
    inner.addEventListener('submit', (e) => {
      e.preventDefault();
      onSubmit();
    });
  }
  inner.append(h('header', { class: 'dialog-head' }, h('h2', { id: titleId, title }, title), closeBtn), body,
    h('footer', { class: 'dialog-foot' }, footer));
  dialog.append(inner);
  // The browser gives the focus back to the control that opened the dialog, if it still has it
  // then: one disabled while its request was under way had lost it, to <body>. When the
  // browser could not, focusBack() does: the control, its successor in a page redrawn
  // meanwhile, or the page's heading.
  const active = document.activeElement;
  const opener = active && active !== document.body ? active : lastFocused && lastFocused.isConnected ? lastFocused : null;
  let closed = false;
  let release = () => {};
  function close() {
    if (closed) return;
    closed = true;
    release();
    if (dialog.open) dialog.close();
    dialog.remove();
    const now = document.activeElement;
    if (!now || now === document.body || !now.isConnected) focusBack(opener);
    if (onClose) onClose();
  }
  // What the user typed or picked (not what the dialog filled in itself).
  let edited = false;
  if (onSubmit && !keepsNothing) {
    for (const type of ['input', 'change']) body.addEventListener(type, (e) => { if (e.isTrusted) edited = true; });
    // leaving the page (a link, Back, a reload) asks too; the page drops the dialog after
    release = holdOnLeave(() => edited && dialog.isConnected);
  }
  let asking = false;
  async function dismiss() {
    if (closed || asking) return;
    if (!edited) {
      close();
      return;
    }
    asking = true;
    const discard = await confirmDialog({
      title: 'Discard your changes?', message: `What you entered in “${title}” is not saved.`,
      confirmLabel: 'Discard', cancelLabel: 'Keep editing',
    });
    asking = false;
    if (discard) close();
  }
  // Escape fires "cancel" and then "close": an edited form stays open while the user decides.
  dialog.addEventListener('cancel', (e) => {
    if (!edited) return;
    e.preventDefault();
    dismiss();
  });
  dialog.addEventListener('close', () => close());
  document.body.append(dialog);
  dialog.showModal();
  // Focus the first field rather than the close button, so typing can start at once.
  const first = body.querySelector('input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled])');
  if (first) first.focus();
  return { dialog, close, dismiss, opener };
}

/** Asks for confirmation; resolves true when the confirming button was pressed. */
export function confirmDialog({ title, message, confirmLabel, cancelLabel = 'Cancel', danger = true, iconName = 'trash' }) {
  return new Promise((resolve) => {
    let ok = false;
    const yes = button(confirmLabel, { kind: danger ? 'danger' : 'primary', iconName: danger ? iconName : undefined });
    const no = button(cancelLabel, { kind: 'ghost' });
    const { close } = openDialog({
      title, content: h('p', {}, message), footer: [no, yes], onClose: () => resolve(ok),
    });
    no.addEventListener('click', () => close());
    yes.addEventListener('click', () => { ok = true; close(); });
    no.focus();
  });
}

// ---- pagination ------------------------------------------------------------------------

/** "N results", previous/next and the page size; onChange({page, size}). */
/** The pages a pager offers besides its own: the first, the last, two on each side, gaps (null). */
function pageNumbers(page, pages) {
  const keep = new Set([1, pages]);
  for (let n = page - 2; n <= page + 2; n++) if (n >= 1 && n <= pages) keep.add(n);
  const out = [];
  let prev = 0;
  for (const n of [...keep].sort((a, b) => a - b)) {
    if (n - prev > 1) out.push(null);
    out.push(n);
    prev = n;
  }
  return out;
}

export function pager({ total, page, size, onChange, sizes = [10, 25, 50, 100], noun = 'results' }) {
  const pages = Math.max(1, Math.ceil(total / size));
  // a size from a link (?size=7) is one of the choices too, so the select shows what is used
  const choices = [...new Set([...sizes, size])].sort((a, b) => a - b);
  const sizeSel = select(choices.map((s) => [String(s), String(s)]), { value: String(size), 'aria-label': 'Results per page', dataset: { pager: 'size' } });
  sizeSel.addEventListener('change', () => onChange({ page: 1, size: Number(sizeSel.value) }));
  const step = (label, key, to, disabled) => {
    const b = button(label, { small: true, disabled, onclick: () => onChange({ page: to, size }) });
    b.dataset.pager = key;
    return b;
  };
  // what it shows, so that a list refreshed without change keeps it (see showPager)
  return h('nav', { class: 'pager', 'aria-label': 'Pagination', dataset: { shows: `${total} ${noun} ${page} ${size} ${choices}` } },
    h('span', { class: 'pager-total' }, `${plural(total, noun)} · Page ${page.toLocaleString()} of ${pages.toLocaleString()}`),
    h('span', { class: 'pager-pages' },
      step('Previous page', 'previous', page - 1, page <= 1),
      pageNumbers(page, pages).map((n) => (n === null ? h('span', { class: 'pager-gap', 'aria-hidden': 'true' }, '…')
        : n === page ? h('span', { class: 'pager-n pager-current', 'aria-current': 'page' }, n.toLocaleString())
          : h('button', {
            type: 'button', class: 'btn btn-small pager-n', 'aria-label': `Page ${n.toLocaleString()}`, dataset: { pager: `page ${n}` },
            onclick: () => onChange({ page: n, size }),
          }, n.toLocaleString()))),
      step('Next page', 'next', page + 1, page >= pages)),
    h('label', { class: 'pager-size' }, sizeSel, ' per page'));
}

/**
 * Shows `content` (a pager, or what stands in for one: "3 runs") in `slot` in place of what is
 * there, keeping the keyboard in it: a pager that shows the same as the one there (a list that
 * refreshed itself without change) is not replaced; else the pager's control that had the focus
 * gives it to the same control of the new one (Next page after Next page was pressed), or where
 * that one is disabled or gone (Next page on the last page, a page's number that is now the
 * current page) to Next page, else Previous page, else the page size. Focus that cannot stay in
 * the slot goes to `heading`.
 */
export function showPager(slot, content, heading) {
  const old = slot.firstElementChild;
  if (old && content && old.dataset.shows && old.dataset.shows === content.dataset.shows) return;
  if (!slot.contains(document.activeElement)) {
    put(slot, content);
    return;
  }
  const key = document.activeElement.dataset.pager;
  put(slot, content);
  const other = key === 'next' ? 'previous' : 'next';
  const to = [key, other, 'previous', 'size'].map((k) => k && slot.querySelector(`[data-pager="${k}"]`)).find(focusable);
  if (to) to.focus({ preventScroll: true });
  else focusHeading(heading);
}

/**
 * The page's heading and its actions. With `label` the actions form a toolbar of that name
 * ("Job actions"), which tells them apart from the same buttons in a table below.
 */
export function pageHeader(title, actions = [], { label } = {}) {
  return h('div', { class: 'page-head' }, h('h1', {}, title),
    h('div', { class: 'page-actions', role: label ? 'toolbar' : null, 'aria-label': label }, actions));
}

/**
 * A read-only block of text that may scroll: focusable, so it scrolls from the keyboard, and a
 * named group, since a name on a plain <pre> is not announced (ARIA forbids it there).
 */
export function textBlock(text, label, cls = 'json') {
  return h('pre', { class: cls, tabindex: '0', role: 'group', 'aria-label': label }, visibleText(text));
}

/** A read-only JSON value. */
export function jsonBlock(value, label) {
  return textBlock(value === undefined ? '' : JSON.stringify(value, null, 2), label);
}
