// sked admin: a single-page application over the public REST API (/api). No build step:
// the browser loads these ES modules as they are.
//
//   js/api.js         requests, CSRF token, API errors, the signed-out reaction
//   js/router.js      pages by address (the server answers every page path with index.html)
//   js/session.js     the signed-in account and what its role may do
//   js/dom.js         element building, time, duration and status formatting
//   js/components.js  fields, error display, dialogs, pagination
//   js/argsform.js    forms generated from a job type's arguments schema
//   js/dialogs.js     "Configure and run", "Schedule" and delete confirmations
//   js/runs.js        the runs table of the job page and the runs page
//   js/logview.js     the live, windowed log view of a run
//   js/pages/*.js     one module per page

import { api, setCsrf, whenForbidden, whenSignedOut } from './js/api.js';
import { route, setGuard, setNotFound, start, navigate, mayLeave, setLeaveQuestion, unsaved } from './js/router.js';
import { session, can } from './js/session.js';
import { h, icon, clear, refreshRelativeTimes, refreshDurations } from './js/dom.js';
import {
  errorBox, confirmDialog, setBanner, openDialog, button, field, input, errorSummary, applyErrors, errorText,
} from './js/components.js';
import { loginPage, signInFieldsMissing } from './js/pages/login.js';
import { jobsPage } from './js/pages/jobs.js';
import { jobFormPage } from './js/pages/jobform.js';
import { jobPage } from './js/pages/job.js';
import { runPage } from './js/pages/run.js';
import { runsPage } from './js/pages/runs.js';
import { queuesPage } from './js/pages/queues.js';
import { auditPage } from './js/pages/audit.js';
import { accountPage } from './js/pages/account.js';
import { usersPage, mayManageAccounts } from './js/pages/users.js';

const main = document.getElementById('app');
const topbar = document.getElementById('topbar');

function renderTopbar() {
  clear(topbar);
  const here = location.pathname;
  const link = (href, text, match) => h('a', {
    href, class: 'nav-link', 'aria-current': match.test(here) ? 'page' : null,
  }, text);
  topbar.append(h('a', { href: '/jobs', class: 'brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, 's'), 'sked'));
  if (!session.user) return;
  const nav = h('nav', { class: 'nav', 'aria-label': 'Main' },
    link('/jobs', 'Jobs', /^\/(jobs|administration)/),
    link('/runs', 'Runs', /^\/runs/),
    link('/queues', 'Queues', /^\/queues/),
    can('audit') ? link('/audit', 'Audit trail', /^\/audit/) : null,
    mayManageAccounts() ? link('/users', 'Users', /^\/users/) : null);
  nav.addEventListener('scroll', markNavEdges, { passive: true });
  topbar.append(nav);
  const u = session.user;
  topbar.append(h('div', { class: 'who' },
    h('a', {
      href: '/account', class: 'who-name', title: `Signed in as ${u.username}`, 'aria-current': /^\/account/.test(here) ? 'page' : null,
      'aria-label': `${u.display_name || u.username}, your account`,
    }, u.display_name || u.username),
    h('span', { class: `role role-${u.role}`, title: 'Your role' }, u.role),
    h('button', { type: 'button', class: 'btn btn-ghost btn-small', onclick: signOut }, icon('logout'), h('span', {}, 'Sign out'))));
  markNavEdges();
}

// On a phone the sections scroll sideways in one line: an edge with more beyond it than a
// link's padding is faded, so the bar is seen to go on.
function markNavEdges() {
  const nav = topbar.querySelector('.nav');
  if (!nav) return;
  const PADDING = 10; /* px, a little more than .nav-link's on a phone */
  nav.classList.toggle('more-before', nav.scrollLeft > PADDING);
  nav.classList.toggle('more-after', nav.scrollWidth - nav.clientWidth - nav.scrollLeft > PADDING);
}
window.addEventListener('resize', markNavEdges);

// Whether this browser signed in and has not signed out since: the session cookie itself is
// HttpOnly, so without this hint every visit of the sign-in page asked the server, and its
// answer, 401, was an error in the browser's console. The server still decides.
const SIGNED_IN_HINT = 'sked.signed-in';
function hint(on) {
  try {
    if (on) localStorage.setItem(SIGNED_IN_HINT, '1');
    else localStorage.removeItem(SIGNED_IN_HINT);
  } catch {
    // storage off: the session is asked for at every start, as without the hint
  }
}
function hinted() {
  try {
    return localStorage.getItem(SIGNED_IN_HINT) === '1';
  } catch {
    return true;
  }
}

async function signOut() {
  // what is typed cannot be saved once signed out: asked first
  if (!await mayLeave()) return;
  try {
    await api.del('/session');
  } catch (e) {
    // Already gone (401) or refused: the local state is cleared all the same.
  }
  session.user = null;
  hint(false);
  setCsrf(null);
  setBanner('You are signed out.');
  navigate('/login', { force: true });
}

/** Signs the UI in with an answer of POST or GET /api/session. */
export function signedIn(user, csrf) {
  session.user = user;
  hint(true);
  setCsrf(csrf);
  setBanner('');
}

// The sign-in dialog of a session that ended under typed work (null while none is open).
let reauth = null;

// Any 401 outside signing in: the session ended (expired, signed out in another tab,
// account disabled, password changed). With something typed in a form or an open dialog, a
// sign-in dialog over the page keeps it; else the sign-in page, which comes back here after.
whenSignedOut(() => {
  if (!session.user) return;
  if (reauth || unsaved() || document.querySelector('dialog[open]')) {
    signInAgain();
    return;
  }
  session.user = null;
  hint(false);
  setCsrf(null);
  setBanner('You have been signed out: your session ended or is no longer valid. Sign in again to continue.', 'warn');
  const back = location.pathname + location.search;
  navigate(`/login${back.startsWith('/login') ? '' : `?next=${encodeURIComponent(back)}`}`, { replace: true, force: true });
});

/**
 * Asks for the password over the page, which stays as it is: after signing in, Save or Run now
 * sends again what was typed. Another account signing in gets the page drawn for it.
 */
function signInAgain() {
  if (reauth) return;
  const was = session.user;
  // the token of the ended session is of no use; the new one comes with signing in
  setCsrf(null);
  setBanner('Your session ended. Sign in again to save what you entered: it is kept.', 'warn');
  const username = input({ name: 'username', autocomplete: 'username', autocapitalize: 'none', value: was.username });
  const password = input({ type: 'password', name: 'password', autocomplete: 'current-password' });
  const submit = button('Sign in', { kind: 'primary', type: 'submit' });
  const cancel = button('Not now', { kind: 'ghost' });
  let busy = false;
  reauth = openDialog({
    title: 'Your session ended',
    content: [
      errorSummary(),
      h('p', {}, 'You were signed out (the session expired, or the password or the account changed). ',
        h('strong', {}, 'What you entered is kept'), ': sign in again, then save or run it once more.'),
      field({ label: 'Username', control: username, field: 'username' }),
      field({ label: 'Password', control: password, field: 'password' })],
    footer: [cancel, submit],
    keepsNothing: true,
    onClose: () => { reauth = null; },
    onSubmit: async () => {
      if (busy) return;
      const form = reauth.dialog.querySelector('form');
      if (signInFieldsMissing(form, username, password)) return;
      busy = true;
      submit.disabled = true;
      try {
        const s = await api.post('/session', { username: username.value.trim(), password: password.value });
        signedIn(s.user, s.csrf_token);
        reauth.close();
        if (s.user.id !== was.id || s.user.role !== was.role) {
          setBanner(s.user.id !== was.id ? `Signed in as ${s.user.username}: the page shows what this account may do.`
            : `Your role is now ${s.user.role}: the page shows what it may do.`, 'warn');
          redraw();
        } else {
          renderTopbar();
        }
      } catch (err) {
        (applyErrors(form, err, { what: 'Could not sign in' }) || password).focus();
        password.value = '';
      } finally {
        busy = false;
        submit.disabled = false;
      }
    },
  });
  cancel.addEventListener('click', () => reauth.dismiss());
  password.focus();
}

/** The page drawn again (after an open dialog is closed: it keeps what it says until then). */
function redraw() {
  renderTopbar();
  const again = () => navigate(location.pathname + location.search, { replace: true, force: true });
  const open = document.querySelector('dialog[open]');
  if (open) open.addEventListener('close', again, { once: true });
  else again();
}

// The role is read by the server at every request: one changed since the page was drawn (an
// admin lowered or raised it) is noticed at a refusal and every minute, and the page drawn
// again with what the role may do now.
async function checkRole() {
  if (!session.user) return;
  let s;
  try {
    s = await api.get('/session');
  } catch (e) {
    return; // signed out (handled above) or out of reach: asked again later
  }
  if (!session.user || s.user.role === session.user.role) return;
  session.user = s.user;
  setBanner(`Your role is now ${s.user.role}: the page shows what it may do.`, 'warn');
  // an open dialog keeps what it says (the refusal, what was typed) until it is closed
  redraw();
}
whenForbidden(() => checkRole());
setInterval(checkRole, 60000);

setGuard((path) => {
  if (!session.user && path !== '/login') return `/login?next=${encodeURIComponent(path + location.search)}`;
  if (session.user && path === '/login') return '/jobs';
  if (path === '/' || path === '/administration' || path === '/administration/jobs') return '/jobs';
  return null;
});

// Leaving a form or dialog with something typed in: the question Cancel and Escape ask too.
setLeaveQuestion(() => confirmDialog({
  title: 'Discard your changes?', message: 'What you entered is not saved.',
  confirmLabel: 'Discard', cancelLabel: 'Keep editing',
}));

let firstPage = true;

function page(fn, title) {
  return async (ctx) => {
    // A dialog left open by the previous page must not survive it.
    for (const d of document.querySelectorAll('dialog')) d.remove();
    renderTopbar();
    clear(main);
    document.title = title ? `${title} · sked` : 'sked';
    // A new page starts at its top, and screen readers are taken to it (not on first load,
    // where the browser does this itself).
    if (!firstPage) {
      window.scrollTo(0, 0);
      main.focus({ preventScroll: true });
    }
    firstPage = false;
    try {
      await fn(main, ctx);
    } catch (e) {
      if (e.name === 'AbortError' || (e.status === 401)) return;
      console.error(e);
      main.append(errorBox(e, { what: 'Could not show this page' }));
    }
  };
}

route('/login', page((el, ctx) => loginPage(el, ctx, { signedIn }), 'Sign in'));
route('/jobs', page(jobsPage, 'Jobs'));
route('/jobs/new', page(jobFormPage, 'Create job'));
route('/jobs/:id/edit', page(jobFormPage, 'Edit job'));
route('/jobs/:id', page(jobPage, 'Job'));
route('/administration/jobs/:id', page(jobPage, 'Job'));
route('/jobs/:job/runs/:run', page(runPage, 'Run'));
route('/runs', page(runsPage, 'Runs'));
route('/queues', page(queuesPage, 'Queues'));
route('/audit', page(auditPage, 'Audit trail'));
route('/account', page((el, ctx) => accountPage(el, ctx, { onChanged: renderTopbar }), 'Account'));
route('/users', page((el, ctx) => usersPage(el, ctx, { onChanged: renderTopbar }), 'Users'));
setNotFound(page((el, { path }) => {
  el.append(h('div', { class: 'page-head' }, h('h1', {}, 'Page not found')),
    h('p', {}, `There is no page at ${path}. `, h('a', { href: '/jobs' }, 'Go to the jobs.')));
}));

// Relative times ("5 minutes ago") and running durations count on by themselves.
setInterval(() => refreshDurations(), 1000);
setInterval(() => refreshRelativeTimes(), 15000);

async function boot() {
  if (hinted()) {
    try {
      const s = await api.get('/session');
      signedIn(s.user, s.csrf_token);
    } catch (e) {
      if (e.status === 401) hint(false);
      else setBanner(errorText(e, 'Could not ask the server who is signed in'), 'warn');
    }
  }
  await start();
}

boot();
