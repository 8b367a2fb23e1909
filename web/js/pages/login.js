// The sign-in page: POST /api/session sets the session cookie and returns the CSRF token.

import { api } from '../api.js';
import { h } from '../dom.js';
import { button, field, input, errorSummary, applyErrors } from '../components.js';
import { navigate } from '../router.js';

/**
 * Where to go after signing in: `next` when it is a page of this application, read as the
 * browser reads it ("/\evil.example" is another site to it), else the jobs.
 */
function nextPath(next) {
  if (!next) return '/jobs';
  let u;
  try {
    u = new URL(next, location.origin);
  } catch (e) {
    return '/jobs';
  }
  if (u.origin !== location.origin || !next.startsWith('/')) return '/jobs';
  return u.pathname + u.search + u.hash;
}

/**
 * Says in form which of the two fields is empty, in plain words rather than by the API's
 * length rules; true when one is (nothing is to be sent).
 */
export function signInFieldsMissing(form, username, password) {
  const missing = [];
  if (!username.value.trim()) missing.push({ field: 'username', messages: ['Enter your username.'] });
  if (!password.value) missing.push({ field: 'password', messages: ['Enter your password.'] });
  if (!missing.length) return false;
  applyErrors(form, { message: 'Fill in both fields to sign in.', errors: missing }).focus();
  return true;
}

export function loginPage(el, { query }, { signedIn }) {
  const username = input({ name: 'username', autocomplete: 'username', autocapitalize: 'none', required: true });
  const password = input({ type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const submit = button('Sign in', { kind: 'primary', type: 'submit' });
  const summary = errorSummary();
  const form = h('form', { class: 'login-form', novalidate: true },
    h('h1', {}, 'Sign in to sked'),
    summary,
    field({ label: 'Username', control: username, field: 'username' }),
    field({ label: 'Password', control: password, field: 'password' }),
    submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (signInFieldsMissing(form, username, password)) return;
    submit.disabled = true;
    try {
      const s = await api.post('/session', { username: username.value.trim(), password: password.value });
      signedIn(s.user, s.csrf_token);
      navigate(nextPath(query.get('next')), { replace: true });
    } catch (err) {
      const f = applyErrors(form, err, { what: 'Could not sign in' });
      password.value = '';
      (f || password).focus();
    } finally {
      submit.disabled = false;
    }
  });
  el.append(h('div', { class: 'login-wrap' }, form));
  username.focus();
}
