// Accounts and every API token, for admins: list, create, change (role, display name, a new
// password, disabled) and delete accounts (GET and POST /api/users, PATCH and DELETE
// /api/users/{id}); create a token for an account (POST /api/users/{id}/tokens); list every
// token (GET /api/tokens?all=true) and revoke any. Other roles are told the page is not theirs.

import { api } from '../api.js';
import { h, icon, timeEl, put } from '../dom.js';
import {
  button, field, input, select, pageHeader, emptyState, errorBox, loading, openDialog, confirmDialog, errorSummary,
  applyErrors, toast,
} from '../components.js';
import { navigate } from '../router.js';
import { session } from '../session.js';
import { ROLES, roleBadge, tokensTable, revokeToken, createTokenDialog, refocus, loadList, onlyActiveToggle, tokenPages } from './account.js';

/** Whether the signed-in role may manage accounts (the top bar's "Users" link). */
export function mayManageAccounts() {
  return !!session.user && session.user.role === 'admin';
}

const roleOptions = ROLES.map(([value, name, what]) => [value, `${name}: ${what}`]);
const isMe = (u) => !!session.user && u.id === session.user.id;
const rank = (role) => ROLES.findIndex(([value]) => value === role);

// A password set, a role raised or an account enabled outlives this sign-in, so the server
// asks for the admin's own password with it (current_password), as for a token.
const OWN_HINT = 'Setting a password, giving more rights or enabling an account outlives this sign-in, so it asks who you are again.';
const ownPassword = () => input({ type: 'password', name: 'current_password', autocomplete: 'current-password' });
const ownPasswordMissing = { field: 'current_password', messages: ['required for this change: your own password'] };

/** err with the server's 403 for a wrong current_password put next to that field. */
function wrongOwnPassword(err) {
  return err.status === 403 && /current password/.test(err.message)
    ? { status: err.status, message: err.message, errors: [{ field: 'current_password', messages: [err.message] }] }
    : err;
}

/**
 * The "create account" dialog (`account` null) or the "edit account" one. onSaved(account)
 * after the server accepted it.
 */
function accountDialog(account, { onSaved }) {
  const editing = !!account;
  const own = editing && isMe(account);
  const username = editing ? null : input({ name: 'username', maxlength: 64, autocapitalize: 'none', spellcheck: 'false' });
  const dn = input({ name: 'display_name', maxlength: 200, value: editing ? account.display_name : '' });
  const role = select(roleOptions, { name: 'role', value: editing ? account.role : 'viewer' });
  const pw = own ? null : input({ type: 'password', name: 'password', autocomplete: 'new-password' });
  const mine = ownPassword();
  // shown only while the change needs it
  const needsMine = () => !!(pw && pw.value) || (editing && !own && rank(role.value) > rank(account.role));
  const mineField = field({ label: 'Your password', control: mine, field: 'current_password', required: true, hint: OWN_HINT });
  const showMine = () => { mineField.hidden = !needsMine(); };
  showMine();
  role.addEventListener('change', showMine);
  if (pw) pw.addEventListener('input', showMine);
  const summary = errorSummary();
  const save = button(editing ? 'Save' : 'Create account', { kind: 'primary', iconName: editing ? 'check' : 'plus', type: 'submit' });
  const cancel = button('Cancel', { kind: 'ghost' });
  let pwHint;
  if (!editing) pwHint = 'Optional, at least 8 characters. Tell it to the person and ask them to change it on their account page. Leave empty for an account that uses only API tokens, such as a monitoring system.';
  else if (pw) pwHint = 'Optional: leave empty to keep the current one. A new password signs the account out everywhere.';
  const content = h('div', {},
    summary,
    username ? field({
      label: 'Username', control: username, field: 'username', required: true,
      hint: 'Used to sign in: up to 64 letters, digits and the characters _ . @ -. It cannot be changed later.',
    }) : null,
    field({
      label: 'Display name', control: dn, field: 'display_name',
      hint: editing ? 'Shown in the top bar, and as who started or stopped a run.' : 'Shown in the top bar, and as who started or stopped a run. Leave empty to use the username.',
    }),
    field({
      label: 'Role', control: role, field: 'role', required: true,
      hint: own ? 'If you make yourself operator or viewer, you can no longer manage accounts. The last enabled admin account keeps the admin role.' : null,
    }),
    pw ? field({ label: editing ? 'New password' : 'Password', control: pw, field: 'password', hint: pwHint }) : null,
    own ? h('p', { class: 'hint' }, 'Your own password is changed on ', h('a', { href: '/account' }, 'your account page'), '.') : null,
    mineField);

  let busy = false;
  const dlg = openDialog({
    title: editing ? `Edit the account “${account.username}”` : 'Create an account',
    content,
    footer: [cancel, save],
    onSubmit: async () => {
      if (busy) return;
      const formEl = dlg.dialog.querySelector('form');
      const body = {};
      if (!editing) {
        if (username.value.trim()) body.username = username.value.trim();
        body.role = role.value;
        if (dn.value.trim()) body.display_name = dn.value.trim();
        if (pw.value) body.password = pw.value;
      } else {
        if (dn.value.trim() !== account.display_name) body.display_name = dn.value.trim();
        if (role.value !== account.role) body.role = role.value;
        if (pw && pw.value) body.password = pw.value;
        if (!Object.keys(body).length) {
          dlg.close();
          return;
        }
      }
      // Without the admin's own password the change is still sent: from a signed-in browser the
      // server refuses it whatever else it holds, and says what is wrong in the other fields
      // too, so one round shows every error.
      const mineMissing = needsMine() && !mine.value;
      if (needsMine() && !mineMissing) body.current_password = mine.value;
      busy = true;
      save.disabled = true;
      try {
        const saved = editing ? await api.patch(`/users/${account.id}`, body) : await api.post('/users', body);
        dlg.close();
        onSaved(saved, body);
      } catch (err) {
        if (err.status === 401) return;
        const what = editing ? 'Could not save the account' : 'Could not create the account';
        // "the username 'olga' is taken" belongs next to the username, a wrong password of
        // the admin's next to theirs
        let shown = err.status === 409 && !editing && /username/.test(err.message)
          ? { status: err.status, message: err.message, errors: [{ field: 'username', messages: [err.message] }] }
          : wrongOwnPassword(err);
        if (mineMissing) {
          const others = (shown.errors || []).filter((e) => e.field !== 'current_password');
          shown = { status: err.status, message: shown.message, errors: [...others, ownPasswordMissing] };
        }
        (applyErrors(formEl, shown, { what }) || save).focus();
      } finally {
        busy = false;
        save.disabled = false;
      }
    },
  });
  cancel.addEventListener('click', () => dlg.dismiss());
}

/** The "enable account" dialog: the admin's own password, then PATCH {disabled: false}. */
function enableDialog(u, { onSaved }) {
  const mine = ownPassword();
  const summary = errorSummary();
  const save = button('Enable', { kind: 'primary', iconName: 'power', type: 'submit' });
  const cancel = button('Cancel', { kind: 'ghost' });
  let busy = false;
  const dlg = openDialog({
    title: `Enable the account “${u.username}”?`,
    content: h('div', {}, summary,
      h('p', {}, 'It can sign in again, and its API tokens that have not expired or been revoked work again.'),
      field({ label: 'Your password', control: mine, field: 'current_password', required: true, hint: OWN_HINT })),
    footer: [cancel, save],
    onSubmit: async () => {
      if (busy) return;
      const formEl = dlg.dialog.querySelector('form');
      if (!mine.value) {
        (applyErrors(formEl, { message: 'The account was not enabled.', errors: [ownPasswordMissing] }) || save).focus();
        return;
      }
      busy = true;
      save.disabled = true;
      try {
        await api.patch(`/users/${u.id}`, { disabled: false, current_password: mine.value });
        dlg.close();
        onSaved();
      } catch (err) {
        if (err.status === 401) return;
        (applyErrors(formEl, wrongOwnPassword(err), { what: 'Could not enable the account' }) || save).focus();
      } finally {
        busy = false;
        save.disabled = false;
      }
    },
  });
  cancel.addEventListener('click', () => dlg.dismiss());
}

function stateCell(u) {
  return h('span', { class: 'stack' },
    u.disabled
      ? h('span', { class: 'warn-text' }, icon('ban'), ' Disabled')
      : h('span', { class: 'yes' }, icon('check'), ' Enabled'),
    u.has_password ? null : h('small', { class: 'muted' }, 'No password: API tokens only'));
}

export async function usersPage(el, { token }, { onChanged } = {}) {
  if (!mayManageAccounts()) {
    el.append(pageHeader('Users'),
      h('p', {}, 'Only admins may manage accounts and their API tokens.'),
      h('p', {}, 'Your own display name, password and API tokens are on ', h('a', { href: '/account' }, 'your account page'), '.'));
    return;
  }
  // Refusals of the row actions (a 409 such as "this is the last enabled admin account")
  // stay on the page until the next action, rather than in a toast that goes away.
  const notice = h('div', { class: 'users-notice' });
  const accountsHeading = h('h2', { id: 'accounts-h', tabindex: '-1' }, 'Accounts');
  const tokensHeading = h('h2', { id: 'all-tokens-h', tabindex: '-1' }, 'API tokens of every account');
  const accountsArea = h('div', {}, loading());
  const tokensArea = h('div', {}, loading());
  const pages = tokenPages();
  const onlyActive = onlyActiveToggle(() => {
    pages.first();
    loadTokens();
  });

  function refused(what, err) {
    if (err.status === 401) return;
    const box = errorBox(err, { what });
    box.tabIndex = -1;
    put(notice, box);
    box.focus();
  }
  const done = (text) => {
    put(notice);
    toast(text);
  };

  const create = () => accountDialog(null, {
    onSaved: (a) => {
      done(`Created the account “${a.username}” (${a.role}).`);
      loadAccounts();
    },
  });

  el.append(
    pageHeader('Users', [button('Create account…', { kind: 'create', iconName: 'plus', onclick: create })]),
    notice,
    h('section', { 'aria-labelledby': 'accounts-h' },
      h('div', { class: 'section-head' }, accountsHeading),
      accountsArea),
    h('section', { 'aria-labelledby': 'all-tokens-h' },
      h('div', { class: 'section-head' }, tokensHeading, onlyActive.el),
      h('p', { class: 'hint tokens-intro' }, 'Every account’s tokens, newest first. A revoked token is refused at once; a disabled account’s tokens are refused until it is enabled again. New tokens are created from the account’s row above.'),
      tokensArea));

  async function afterChange(fallback) {
    await Promise.all([loadAccounts(), loadTokens()]);
    refocus(fallback);
  }

  function edit(u) {
    accountDialog(u, {
      onSaved: (saved, body) => {
        done(`Saved the account “${saved.username}”.`);
        if (isMe(saved)) {
          session.user.display_name = saved.display_name;
          if (body.role) {
            // no longer an admin: this page is not theirs any more
            session.user.role = saved.role;
            navigate('/users', { replace: true });
            return;
          }
          if (onChanged) onChanged();
        }
        loadAccounts().then(() => refocus(accountsHeading));
      },
    });
  }

  async function disable(u) {
    const ok = await confirmDialog({
      title: `Disable the account “${u.username}”?`,
      message: 'Its sessions end at once and its API tokens are refused, until the account is enabled again. Nothing is deleted.',
      confirmLabel: 'Disable',
      iconName: 'ban',
    });
    if (!ok) return;
    try {
      await api.patch(`/users/${u.id}`, { disabled: true });
      done(`Disabled the account “${u.username}”.`);
      await afterChange(accountsHeading);
    } catch (err) {
      refused(`Could not disable “${u.username}”`, err);
    }
  }

  const enable = (u) => enableDialog(u, {
    onSaved: () => {
      done(`Enabled the account “${u.username}”.`);
      afterChange(accountsHeading);
    },
  });

  async function remove(u) {
    const ok = await confirmDialog({
      title: `Delete the account “${u.username}”?`,
      message: 'The account is deleted with its API tokens and sessions. Runs it started and its audit entries stay. This cannot be undone.',
      confirmLabel: 'Delete',
    });
    if (!ok) return;
    try {
      await api.del(`/users/${u.id}`);
      done(`Deleted the account “${u.username}”.`);
      await afterChange(accountsHeading);
    } catch (err) {
      refused(`Could not delete “${u.username}”`, err);
    }
  }

  function accountsTable(users) {
    return h('div', { class: 'table-wrap' }, h('table', { class: 'table responsive users-table' },
      h('thead', {}, h('tr', {}, ['Username', 'Display name', 'Role', 'State', 'Created', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, users.map((u) => h('tr', { dataset: { userId: u.id } },
        h('td', { 'data-label': 'Username' }, h('span', { class: 'stack' },
          h('span', { class: 'user-name' }, u.username),
          isMe(u) ? h('small', { class: 'muted' }, 'This is you') : null)),
        h('td', { 'data-label': 'Display name', class: 'user-display' }, u.display_name),
        h('td', { 'data-label': 'Role' }, roleBadge(u.role)),
        h('td', { 'data-label': 'State' }, stateCell(u)),
        h('td', { 'data-label': 'Created', class: 'nowrap' }, timeEl(u.created)),
        h('td', { 'data-label': 'Actions' }, h('div', { class: 'row-actions' },
          button('Edit…', { iconName: 'edit', small: true, onclick: () => edit(u) }),
          // one's own account is neither disabled nor deleted here (the session would end)
          isMe(u) ? null : u.disabled
            ? button('Enable…', { iconName: 'power', small: true, onclick: () => enable(u) })
            : button('Disable', { iconName: 'ban', small: true, onclick: () => disable(u) }),
          button('Create token…', {
            iconName: 'plus', small: true,
            onclick: () => createTokenDialog({
              path: `/users/${u.id}/tokens`, owner: u.username, onCreated: () => loadTokens(), onClosed: () => refocus(tokensHeading),
            }),
          }),
          isMe(u) ? null : button('Delete', { iconName: 'trash', small: true, kind: 'danger-ghost', onclick: () => remove(u) }))))))));
  }

  function loadAccounts() {
    return loadList(accountsArea, token, '/users', undefined,
      (list) => (list.length ? accountsTable(list) : emptyState('There are no accounts.')), 'Could not load the accounts');
  }

  function loadTokens() {
    let again = false;
    return loadList(tokensArea, token, '/tokens', pages.query({ all: true, active: onlyActive.on() || null }), (list, data) => {
      again = pages.beyond(data);
      return list.length
        ? h('div', {}, tokensTable(list, {
          showAccount: true,
          onRevoke: (t) => revokeToken(t, {
            onDone: () => {
              put(notice);
              loadTokens().then(() => refocus(tokensHeading));
            },
            onError: (err) => refused(`Could not revoke the token “${t.name}”`, err),
          }),
        }), pages.pagerFor(data, loadTokens))
        : emptyState(onlyActive.on() ? 'No account has an active API token.' : 'No account has an API token.');
    }, 'Could not load the API tokens').then(() => (again ? loadTokens() : undefined));
  }

  await Promise.all([loadAccounts(), loadTokens()]);
}
