// The signed-in person's own account, for every role: who they are (GET /api/users/me), their
// display name and password (PATCH /api/users/me), and their API tokens (GET and POST
// /api/tokens, DELETE /api/tokens/{id}). The tokens table, the "create a token" dialog and the
// revoke confirmation are also used by the users page.

import { api } from '../api.js';
import { h, icon, timeEl, put, nextId } from '../dom.js';
import {
  button, field, input, pageHeader, emptyState, errorBox, loading, openDialog, confirmDialog, errorSummary,
  applyErrors, clearErrors, toast, pager, errorText,
} from '../components.js';
import { isCurrent } from '../router.js';
import { session } from '../session.js';

/** The roles, with what each may do, for selects and the account facts. */
export const ROLES = [
  ['viewer', 'Viewer', 'reads jobs, runs and logs'],
  ['operator', 'Operator', 'also starts, stops and schedules runs'],
  ['admin', 'Admin', 'also changes jobs and accounts, and reads the audit trail'],
];

export function roleBadge(role) {
  return h('span', { class: `role role-${role}` }, role);
}

function fact(label, value) {
  return h('div', { class: 'fact' }, h('dt', {}, label), h('dd', {}, value));
}

/**
 * Reads a list (`path`, `query`) into `area` with render(hits, data): an error shown in its
 * place (`what` failed: "Could not load the tokens"), nothing done once the page is left
 * (`token`) or the session is gone (401: the sign-in page).
 */
export async function loadList(area, token, path, query, render, what) {
  let data;
  try {
    data = await api.get(path, query);
  } catch (err) {
    if (err.status === 401 || !isCurrent(token)) return;
    put(area, errorBox(err, { what }));
    return;
  }
  if (isCurrent(token)) put(area, render(data.hits.hits, data));
}

/**
 * The pages of a tokens list (GET /api/tokens lists 100 a page unless told otherwise): query(q)
 * adds the page to a list's query, first() goes back to page 1 (a filter changed), and
 * pagerFor(data, reload) is the pager under the table while there is more than one page.
 */
export function tokenPages() {
  const state = { page: 1, size: 100 };
  return {
    query: (q) => ({ ...q, page: state.page > 1 ? state.page : null, size: state.size !== 100 ? state.size : null }),
    first: () => { state.page = 1; },
    // past the end (its last tokens revoked while only active ones are shown): the last page
    beyond: (data) => {
      const last = Math.max(1, Math.ceil(data.hits.total / state.size));
      if (state.page <= last) return false;
      state.page = last;
      return true;
    },
    pagerFor: (data, reload) => (data.hits.total > state.size || state.page > 1
      ? pager({ total: data.hits.total, page: state.page, size: state.size, sizes: [25, 50, 100, 250], noun: 'tokens', onChange: (p) => { Object.assign(state, p); reload(); } })
      : null),
  };
}

/**
 * "Only active tokens": narrows a tokens list to those that still work. Returns {el, on}: on()
 * is whether it is checked; onChange() runs when it changes.
 */
export function onlyActiveToggle(onChange) {
  const box = h('input', { type: 'checkbox' });
  box.addEventListener('change', () => onChange());
  return { el: h('label', { class: 'inline-check' }, box, 'Only active tokens'), on: () => box.checked };
}

/** After a list was redrawn under the focus (the focused button is gone), focus `fallback`. */
export function refocus(fallback) {
  if (!document.activeElement || document.activeElement === document.body) fallback.focus();
}

// ---- tokens ----------------------------------------------------------------------------

function tokenState(t) {
  if (t.revoked_at) {
    return h('span', { class: 'stack' }, h('span', { class: 'muted' }, icon('ban'), ' Revoked'), timeEl(t.revoked_at));
  }
  if (!t.active && t.expires_at && Date.parse(t.expires_at) <= Date.now()) {
    return h('span', { class: 'muted' }, icon('clock'), ' Expired');
  }
  // neither revoked nor expired, yet refused: its account is disabled
  if (!t.active) return h('span', { class: 'muted' }, icon('ban'), ' Account disabled');
  return h('span', { class: 'yes' }, icon('check'), ' Active');
}

/**
 * A table of tokens (never their secrets: the prefix tells them apart). `showAccount` adds
 * the account each acts as; `onRevoke(token)` is offered for the tokens still active.
 */
export function tokensTable(tokens, { showAccount = false, onRevoke } = {}) {
  const cols = [showAccount ? 'Account' : null, 'Name', 'Created', 'Last used', 'Expires', 'State', 'Actions'].filter(Boolean);
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table responsive tokens-table' },
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, tokens.map((t) => h('tr', { dataset: { tokenId: t.id } },
      showAccount ? h('td', { 'data-label': 'Account' }, t.username) : null,
      h('td', { 'data-label': 'Name' }, h('span', { class: 'stack' },
        h('span', { class: 'token-name' }, t.name),
        h('code', { class: 'muted', title: 'The first characters of the token' }, `${t.prefix}…`))),
      h('td', { 'data-label': 'Created', class: 'nowrap' }, timeEl(t.created)),
      h('td', { 'data-label': 'Last used', class: 'nowrap' }, timeEl(t.last_used, { fallback: 'Never' })),
      h('td', { 'data-label': 'Expires', class: 'nowrap' }, timeEl(t.expires_at, { fallback: 'Never' })),
      h('td', { 'data-label': 'State' }, tokenState(t)),
      h('td', { 'data-label': 'Actions' }, t.active && onRevoke
        ? h('div', { class: 'row-actions' }, button('Revoke', { iconName: 'ban', small: true, kind: 'danger-ghost', onclick: () => onRevoke(t) }))
        : h('span', { class: 'muted' }, '—')))))));
}

/** Asks, then revokes the token; onDone() after it was revoked, onError(err) when refused. */
export async function revokeToken(t, { onDone, onError } = {}) {
  const ok = await confirmDialog({
    title: `Revoke the token “${t.name}”?`,
    message: `Requests with this token (${t.prefix}…) are refused from now on. This cannot be undone: a program that still needs access needs a new token.`,
    confirmLabel: 'Revoke',
    iconName: 'ban',
  });
  if (!ok) return;
  try {
    await api.del(`/tokens/${t.id}`);
    toast(`Token “${t.name}” revoked.`);
    if (onDone) onDone();
  } catch (err) {
    if (err.status === 401) return;
    if (onError) onError(err);
    else toast(errorText(err, `Could not revoke the token “${t.name}”`), 'error');
  }
}

function localDate(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** Copies the text of a read-only input; false when the browser allows neither way. */
async function copyFrom(el) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(el.value);
      return true;
    }
  } catch {
    // not allowed here (no permission, page not focused): try the selection below
  }
  el.focus();
  el.select();
  try {
    return document.execCommand('copy');
  } catch {
    return false;
  }
}

/** Shows a new token's secret, the only time it can be seen; onClosed() when it is closed. */
function showSecret(t, onClosed) {
  const secret = input({ value: t.token, readonly: true, class: 'code token-secret', spellcheck: 'false' });
  const noteId = nextId('note');
  const status = h('span', { class: 'copy-status', role: 'status' });
  const copy = button('Copy');
  copy.addEventListener('click', async () => {
    status.textContent = '';
    const ok = await copyFrom(secret);
    status.textContent = ok ? 'Copied to the clipboard.' : 'The browser does not allow copying here: select the token and copy it yourself.';
  });
  secret.addEventListener('focus', () => secret.select());
  const done = button('Done', { kind: 'primary' });
  const owner = session.user && t.account_id === session.user.id ? 'you' : `“${t.username}”`;
  const { close } = openDialog({
    title: `Token “${t.name}” created`,
    content: h('div', {},
      h('div', { class: 'notice notice-warn', id: noteId }, icon('alert'), h('span', {},
        h('strong', {}, 'Copy the token now: you will not see it again. '),
        'sked keeps only a fingerprint of it. If it is lost, revoke it and create another.')),
      field({
        label: 'Token', control: secret,
        hint: `It acts as ${owner}. Send it in the header Authorization: Bearer ${t.prefix}…`,
        extra: h('div', { class: 'copy-row' }, copy, status),
      })),
    footer: [done],
    onClose: onClosed,
  });
  secret.setAttribute('aria-describedby', `${noteId} ${secret.getAttribute('aria-describedby')}`);
  done.addEventListener('click', () => close());
  secret.select();
}

/**
 * The "create a token" dialog. `path`: '/tokens' (one's own) or '/users/{id}/tokens' (an
 * admin, for an account); `owner`: that account's username. onCreated(token) after it was
 * made; then the secret is shown once, and onClosed() runs when that is closed.
 */
export function createTokenDialog({ path = '/tokens', owner, onCreated, onClosed } = {}) {
  const name = input({ name: 'name', maxlength: 100 });
  const tomorrow = new Date();
  tomorrow.setDate(tomorrow.getDate() + 1);
  const expires = input({ type: 'date', name: 'expires_at', min: localDate(tomorrow) });
  const password = input({ type: 'password', name: 'password', autocomplete: 'current-password' });
  const summary = errorSummary();
  const save = button('Create token', { kind: 'primary', iconName: 'plus', type: 'submit' });
  const cancel = button('Cancel', { kind: 'ghost' });
  const content = h('div', {},
    summary,
    h('p', { class: 'hint' }, owner
      ? `The token acts as “${owner}”, with the role that account has at each request.`
      : 'The token acts as you, with the role you have at each request.'),
    field({ label: 'Name', control: name, field: 'name', required: true, hint: 'What the token is for, such as “CI” or “monitoring”.' }),
    field({
      label: 'Expires', control: expires, field: 'expires_at',
      hint: 'Optional: the token stops working when this day begins (00:00, your time). Leave empty for a token that does not expire.',
    }),
    field({
      label: 'Your password', control: password, field: 'password', required: true,
      hint: 'A token outlives this sign-in, so making one asks who you are again.',
    }));
  let busy = false;
  const dlg = openDialog({
    title: owner ? `Create a token for “${owner}”` : 'Create an API token',
    content,
    footer: [cancel, save],
    onSubmit: async () => {
      if (busy) return;
      const formEl = dlg.dialog.querySelector('form');
      if (expires.validity.badInput) {
        (applyErrors(formEl, { message: 'The token was not created.', errors: [{ field: 'expires_at', messages: ['must be a complete date'] }] }) || save).focus();
        return;
      }
      const body = {};
      if (name.value.trim()) body.name = name.value.trim();
      // the day begins at 00:00 in the browser's time zone; sent as an instant in UTC
      if (expires.value) body.expires_at = new Date(`${expires.value}T00:00`).toISOString();
      if (password.value) body.password = password.value;
      busy = true;
      save.disabled = true;
      try {
        const t = await api.post(path, body);
        dlg.close();
        if (onCreated) onCreated(t);
        showSecret(t, onClosed);
      } catch (err) {
        if (err.status === 401) return;
        // a wrong password is the password field's error, told where it is typed
        const shown = err.status === 403 && /password is wrong/i.test(err.message)
          ? { status: err.status, message: err.message, errors: [{ field: 'password', messages: [err.message] }] }
          : err;
        (applyErrors(formEl, shown, { what: 'Could not create the token' }) || save).focus();
      } finally {
        busy = false;
        save.disabled = false;
      }
    },
  });
  cancel.addEventListener('click', () => dlg.dismiss());
}

// ---- the page --------------------------------------------------------------------------

function profileCard(me, { onSaved }) {
  const dn = input({ name: 'display_name', value: me.display_name, maxlength: 200, autocomplete: 'name' });
  const summary = errorSummary();
  const save = button('Save display name', { kind: 'primary', iconName: 'check', type: 'submit' });
  const role = ROLES.find(([r]) => r === me.role);
  const form = h('form', { class: 'account-form', novalidate: true },
    summary,
    field({ label: 'Display name', control: dn, field: 'display_name', hint: 'Shown in the top bar, and as who started or stopped a run.' }),
    h('div', { class: 'form-actions' }, save));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (save.disabled) return;
    save.disabled = true;
    try {
      const saved = await api.patch('/users/me', { display_name: dn.value.trim() });
      clearErrors(form);
      dn.value = saved.display_name;
      toast('Display name saved.');
      onSaved(saved);
    } catch (err) {
      if (err.status === 401) return;
      (applyErrors(form, err, { what: 'Could not save the display name' }) || dn).focus();
    } finally {
      save.disabled = false;
    }
  });
  return h('section', { class: 'card', 'aria-labelledby': 'profile-h' },
    h('h2', { id: 'profile-h' }, 'Profile'),
    h('dl', { class: 'facts' },
      fact('Username', me.username),
      fact('Role', h('span', { class: 'stack' }, h('span', {}, roleBadge(me.role)),
        role ? h('small', { class: 'muted' }, `${role[1]}: ${role[2]}.`) : null)),
      fact('Created', timeEl(me.created, { full: true }))),
    me.role === 'admin'
      ? h('p', { class: 'hint account-note' }, 'Other people’s accounts and tokens are managed on the ', h('a', { href: '/users' }, 'Users'), ' page.')
      : h('p', { class: 'hint account-note' }, 'Only an admin can change your role or username.'),
    form);
}

function passwordCard(me) {
  const cur = input({ type: 'password', name: 'current_password', autocomplete: 'current-password' });
  const pw = input({ type: 'password', name: 'password', autocomplete: 'new-password' });
  const again = input({ type: 'password', name: 'password_again', autocomplete: 'new-password' });
  const summary = errorSummary();
  const save = button('Change password', { kind: 'primary', iconName: 'check', type: 'submit' });
  const form = h('form', { class: 'account-form', novalidate: true },
    // for password managers: whose password this is
    h('input', { type: 'text', name: 'username', autocomplete: 'username', value: me.username, hidden: true, readonly: true }),
    summary,
    field({ label: 'Current password', control: cur, field: 'current_password', required: true }),
    field({ label: 'New password', control: pw, field: 'password', required: true, hint: 'At least 8 characters.' }),
    field({ label: 'New password again', control: again, field: 'password_again', required: true, hint: 'Type the new password once more, to rule out a typing mistake.' }),
    h('div', { class: 'form-actions' }, save));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (save.disabled) return;
    const errors = [];
    if (!cur.value) errors.push({ field: 'current_password', messages: ['required to change your own password'] });
    if (!pw.value) errors.push({ field: 'password', messages: ['required'] });
    else if (again.value !== pw.value) errors.push({ field: 'password_again', messages: ['differs from the new password: type the same password twice'] });
    if (errors.length) {
      (applyErrors(form, { message: 'The password was not changed.', errors }) || save).focus();
      return;
    }
    save.disabled = true;
    try {
      await api.patch('/users/me', { current_password: cur.value, password: pw.value });
      clearErrors(form);
      cur.value = '';
      pw.value = '';
      again.value = '';
      toast('Password changed. Your other sessions were signed out; this one stays signed in.');
    } catch (err) {
      if (err.status === 401) return;
      // 403 "the current password is wrong" belongs next to that field
      const shown = err.status === 403 && /current password/.test(err.message)
        ? { status: err.status, message: err.message, errors: [{ field: 'current_password', messages: [err.message] }] }
        : err;
      (applyErrors(form, shown, { what: 'Could not change the password' }) || save).focus();
    } finally {
      save.disabled = false;
    }
  });
  return h('section', { class: 'card', 'aria-labelledby': 'password-h' },
    h('h2', { id: 'password-h' }, 'Password'),
    h('p', { class: 'hint account-note' }, 'Changing it signs you out everywhere else; this session stays signed in.'),
    form);
}

export async function accountPage(el, { token }, { onChanged } = {}) {
  el.append(pageHeader('Your account'));
  const me = await api.get('/users/me');
  if (!isCurrent(token)) return;

  const tokensHeading = h('h2', { id: 'tokens-h', tabindex: '-1' }, 'API tokens');
  const tokensArea = h('div', {}, loading());
  const pages = tokenPages();
  const onlyActive = onlyActiveToggle(() => {
    pages.first();
    loadTokens();
  });
  const create = () => createTokenDialog({ onCreated: () => loadTokens(), onClosed: () => refocus(tokensHeading) });

  el.append(
    h('div', { class: 'cards' },
      profileCard(me, {
        onSaved: (saved) => {
          session.user.display_name = saved.display_name;
          if (onChanged) onChanged();
        },
      }),
      passwordCard(me)),
    h('section', { 'aria-labelledby': 'tokens-h' },
      h('div', { class: 'section-head' }, tokensHeading, onlyActive.el,
        button('Create token…', { kind: 'create', iconName: 'plus', onclick: create })),
      h('p', { class: 'hint tokens-intro' },
        'A token lets a script or another program use the API as you, with your role: it sends the header ',
        h('code', {}, 'Authorization: Bearer sked_…'), '. Revoke a token that is no longer needed or may have leaked.'),
      tokensArea));

  function loadTokens() {
    let again = false;
    return loadList(tokensArea, token, '/tokens', pages.query({ active: onlyActive.on() || null }), (list, data) => {
      again = pages.beyond(data);
      return list.length
        ? h('div', {}, tokensTable(list, { onRevoke: (t) => revokeToken(t, { onDone: () => loadTokens().then(() => refocus(tokensHeading)) }) }),
          pages.pagerFor(data, loadTokens))
        : emptyState(onlyActive.on() ? 'You have no active API tokens.' : 'You have no API tokens.',
          button('Create token…', { kind: 'create', iconName: 'plus', onclick: create }));
    }, 'Could not load your API tokens').then(() => (again ? loadTokens() : undefined));
  }
  await loadTokens();
}
