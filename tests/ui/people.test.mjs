// Accounts and API tokens in the admin UI. The account page, for every role: display name,
// password (the server's rules next to the fields), own tokens shown once and revoked. The
// users page, for admins only: create, change, disable, enable and delete accounts, a token for
// an account, every account's tokens, and the server's refusals (the last enabled admin).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSked, ADMIN_PASSWORD } from './lib/sked.mjs';
import { launch, newPage, signIn, until, fieldError, finish } from './lib/browser.mjs';

const NEW_PASSWORD = 'admin-password-2';
let sked;
let browser;
let admin; // the admin's page, shared by the admin's tests in order
const pages = [];

before(async () => {
  sked = await startSked();
  browser = await launch();
  await sked.api('POST', '/api/users', { username: 'victor', display_name: 'Victor Viewer', role: 'viewer', password: 'victor-password-1' });
});

after(async () => {
  await finish({ pages, browser, sked });
});

async function open(opts) {
  const page = await newPage(browser, opts);
  pages.push(page);
  return page;
}

/** GET /api/session with a token, as a program using it would. */
async function withToken(secret, method = 'GET', path = '/api/session', body) {
  return fetch(sked.url + path, {
    method, headers: { Authorization: `Bearer ${secret}` }, body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Creates a token in the open "create" dialog, confirming with the signed-in person's
 * password; returns the secret the next dialog shows once. */
async function createToken(page, name, { expires, password } = {}) {
  const form = page.getByRole('dialog');
  await form.getByLabel('Name').fill(name);
  if (expires) await form.getByLabel('Expires').fill(expires);
  await form.getByLabel('Your password').fill(password);
  await form.getByRole('button', { name: 'Create token' }).click();
  const shown = page.getByRole('dialog', { name: `Token “${name}” created` });
  await shown.getByText('Copy the token now: you will not see it again.').waitFor();
  const secret = await shown.getByLabel('Token', { exact: true }).inputValue();
  assert.match(secret, /^sked_[0-9a-f]{40}$/);
  return { shown, secret };
}

function accountRow(page, username) {
  return page.getByRole('region', { name: 'Accounts' }).getByRole('row').filter({ hasText: username });
}

test('a viewer: no Users link, the role message at /users, and their own account page', async () => {
  const page = await open();
  await signIn(page, sked.url, 'victor', 'victor-password-1');
  const banner = page.getByRole('banner');
  assert.equal(await banner.getByRole('link', { name: 'Users' }).count(), 0);
  await page.goto(`${sked.url}/users`);
  await page.getByText('Only admins may manage accounts and their API tokens.').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Create account…' }).count(), 0);

  // the name in the top bar leads to the account page
  await banner.getByRole('link', { name: 'Victor Viewer, your account' }).click();
  await page.waitForURL(/\/account$/);
  await page.getByRole('heading', { name: 'Your account', level: 1 }).waitFor();
  await page.getByText('Only an admin can change your role or username.').waitFor();
  await page.getByText('You have no API tokens.').waitFor();

  await page.getByLabel('Display name').fill('Victor V.');
  await page.getByRole('button', { name: 'Save display name' }).click();
  await banner.getByRole('link', { name: 'Victor V., your account' }).waitFor();
  assert.equal((await sked.api('GET', '/api/users')).hits.hits.find((u) => u.username === 'victor').display_name, 'Victor V.');

  await page.getByLabel('Current password').fill('victor-password-1');
  await page.getByLabel(/^New password( \*)?$/).fill('victor-password-2');
  await page.getByLabel('New password again').fill('victor-password-2');
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByText('Password changed.').waitFor();
  const signin = await fetch(`${sked.url}/api/session`, { method: 'POST', body: JSON.stringify({ username: 'victor', password: 'victor-password-2' }) });
  assert.equal(signin.status, 201);

  // a token of their own acts with their role
  await page.getByRole('button', { name: 'Create token…' }).first().click();
  const { shown, secret } = await createToken(page, 'reports', { password: 'victor-password-2' });
  await shown.getByRole('button', { name: 'Done' }).click();
  assert.equal((await withToken(secret, 'GET', '/api/jobs')).status, 200);
  assert.equal((await withToken(secret, 'POST', '/api/jobs', { title: 'x', task: 'reindex' })).status, 403);
  const r = page.getByRole('row').filter({ hasText: 'reports' });
  await r.getByRole('button', { name: 'Revoke' }).click();
  await page.getByRole('dialog', { name: 'Revoke the token “reports”?' }).getByRole('button', { name: 'Revoke' }).click();
  await r.getByText('Revoked').waitFor();
  assert.equal((await withToken(secret, 'GET', '/api/jobs')).status, 401);
});

test('the admin changes their own password, then signs in with the new one', async () => {
  admin = await open();
  await signIn(admin, sked.url);
  await admin.getByRole('banner').getByRole('link', { name: 'Administrator, your account' }).click();
  await admin.waitForURL(/\/account$/);
  await admin.getByText('Other people’s accounts and tokens are managed on the').waitFor();
  const cur = admin.getByLabel('Current password');
  const pw = admin.getByLabel(/^New password( \*)?$/);
  const again = admin.getByLabel('New password again');
  const change = admin.getByRole('button', { name: 'Change password' });

  // the server's rule, next to its field
  await cur.fill(ADMIN_PASSWORD);
  await pw.fill('short');
  await again.fill('short');
  await change.click();
  await until(async () => assert.match(await fieldError(pw), /must be at least 8 characters long/i));
  assert.equal(await pw.getAttribute('aria-invalid'), 'true');
  // the two new passwords differ: nothing is sent
  await pw.fill(NEW_PASSWORD);
  await again.fill('admin-password-3');
  await change.click();
  await until(async () => assert.match(await fieldError(again), /differs from the new password/i));
  // a wrong current password: the server's 403, at that field
  await again.fill(NEW_PASSWORD);
  await cur.fill('not-my-password');
  await change.click();
  await until(async () => assert.match(await fieldError(cur), /the current password is wrong/i));
  await admin.getByText('Could not change the password: The current password is wrong. Correct the fields marked below, then try again.').waitFor();

  await cur.fill(ADMIN_PASSWORD);
  await change.click();
  await admin.getByText('Password changed.').waitFor();
  assert.equal(await cur.inputValue(), '');
  assert.equal(await pw.inputValue(), '');
  // this session stays signed in
  assert.equal((await admin.request.get(`${sked.url}/api/session`)).status(), 200);

  await admin.getByRole('button', { name: 'Sign out' }).click();
  await admin.waitForURL(/\/login$/);
  await admin.getByLabel('Username').fill('admin');
  await admin.getByLabel('Password').fill(ADMIN_PASSWORD);
  await admin.getByRole('button', { name: 'Sign in' }).click();
  await admin.getByText('wrong username or password').waitFor();
  await signIn(admin, sked.url, 'admin', NEW_PASSWORD);
});

test('an own token: the secret is shown once, works, and is revoked after confirming', async () => {
  await admin.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: sked.url });
  await admin.goto(`${sked.url}/account`);
  await admin.getByRole('button', { name: 'Create token…' }).first().click();
  const form = admin.getByRole('dialog', { name: 'Create an API token' });
  // a name is required: the server says so at the field
  await form.getByRole('button', { name: 'Create token' }).click();
  await until(async () => assert.match(await fieldError(form.getByLabel('Name')), /required/i));
  // a token outlives the session, so the session's person must give their password again
  await until(async () => assert.match(await fieldError(form.getByLabel('Your password')), /required to create a token from a web session/i));
  await form.getByLabel('Name').fill('laptop');
  await form.getByLabel('Your password').fill('not-my-password');
  await form.getByRole('button', { name: 'Create token' }).click();
  // at the field it was typed in, which has the focus
  await until(async () => assert.match(await fieldError(form.getByLabel('Your password')), /the password is wrong/i));
  assert.equal(await form.getByLabel('Your password').evaluate((el) => el === document.activeElement), true);
  const { shown, secret } = await createToken(admin, 'laptop', { expires: '2031-01-01', password: NEW_PASSWORD });
  // the token field has the focus, selected, and the copy button copies it
  assert.equal(await shown.getByLabel('Token', { exact: true }).evaluate((el) => el === document.activeElement), true);
  await shown.getByRole('button', { name: 'Copy' }).click();
  await shown.getByText('Copied to the clipboard.').waitFor();
  assert.equal(await admin.evaluate(() => navigator.clipboard.readText()), secret);
  await shown.getByRole('button', { name: 'Done' }).click();
  await shown.waitFor({ state: 'detached' });

  // listed by its prefix; the secret is not on the page any more
  const r = admin.getByRole('row').filter({ hasText: 'laptop' });
  await r.getByText(`${secret.slice(0, 9)}…`).waitFor();
  await r.getByText('Active').waitFor();
  assert.equal((await admin.content()).includes(secret), false);
  const listed = (await sked.api('GET', '/api/tokens?all=true')).hits.hits.find((t) => t.name === 'laptop');
  assert.equal(listed.expires_at, '2031-01-01T00:00:00.000000+00:00'); // 00:00 in the browser's zone (UTC here)

  // it works against the API, as the admin
  const who = await withToken(secret);
  assert.equal(who.status, 200);
  assert.equal((await who.json()).user.username, 'admin');

  await r.getByRole('button', { name: 'Revoke' }).click();
  const confirm = admin.getByRole('dialog', { name: 'Revoke the token “laptop”?' });
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  await confirm.waitFor({ state: 'detached' });
  assert.equal((await withToken(secret)).status, 200);
  await r.getByRole('button', { name: 'Revoke' }).click();
  await confirm.getByRole('button', { name: 'Revoke' }).click();
  await r.getByText('Revoked').waitFor();
  assert.equal(await r.getByRole('button', { name: 'Revoke' }).count(), 0);
  // the focus does not get lost with the button
  assert.equal(await admin.evaluate(() => document.activeElement.textContent), 'API tokens');
  assert.equal((await withToken(secret)).status, 401);
});

test('users: create an operator, change its role, give it a token, disable and enable it', async () => {
  await admin.getByRole('banner').getByRole('link', { name: 'Users' }).click();
  await admin.waitForURL(/\/users$/);
  await accountRow(admin, 'This is you').getByText('admin', { exact: true }).first().waitFor();

  await admin.getByRole('button', { name: 'Create account…' }).click();
  let dialog = admin.getByRole('dialog', { name: 'Create an account' });
  await dialog.getByLabel('Username').fill('bad name!');
  await dialog.getByLabel('Display name').fill('Olga Operator');
  await dialog.getByLabel('Role').selectOption('operator');
  // the admin's own password is asked for once the account gets one: it outlives this sign-in
  const mine = dialog.getByLabel(/^Your password/);
  assert.equal(await mine.isVisible(), false);
  await dialog.getByLabel('Password', { exact: true }).fill('short');
  await mine.waitFor();
  await dialog.getByRole('button', { name: 'Create account' }).click();
  // every field's problem at once: the username, the password and the missing own password
  await until(async () => assert.match(await fieldError(mine), /required for this change: your own password/i));
  assert.match(await fieldError(dialog.getByLabel('Username')), /1 to 64 ASCII letters, digits/i);
  assert.match(await fieldError(dialog.getByLabel('Password', { exact: true })), /must be at least 8 characters long/i);
  assert.equal((await sked.api('GET', '/api/users')).hits.hits.some((u) => u.username === 'olga'), false);
  await dialog.getByLabel('Username').fill('olga');
  await mine.fill('not-my-password');
  await dialog.getByRole('button', { name: 'Create account' }).click();
  await until(async () => assert.match(await fieldError(dialog.getByLabel('Password', { exact: true })), /must be at least 8 characters long/i));
  await dialog.getByLabel('Password', { exact: true }).fill('olga-password-1');
  await dialog.getByRole('button', { name: 'Create account' }).click();
  await until(async () => assert.match(await fieldError(mine), /the current password is wrong/i));
  await mine.fill(NEW_PASSWORD);
  await dialog.getByRole('button', { name: 'Create account' }).click();
  await dialog.waitFor({ state: 'detached' });
  const olgaRow = accountRow(admin, 'olga');
  await olgaRow.getByText('operator', { exact: true }).waitFor();
  await olgaRow.getByText('Olga Operator').waitFor();
  const olga = (await sked.api('GET', '/api/users')).hits.hits.find((u) => u.username === 'olga');
  assert.equal(olga.role, 'operator');
  assert.equal(olga.has_password, true);

  // a taken username: the server's 409 next to the field
  await admin.getByRole('button', { name: 'Create account…' }).click();
  dialog = admin.getByRole('dialog', { name: 'Create an account' });
  await dialog.getByLabel('Username').fill('OLGA');
  await dialog.getByRole('button', { name: 'Create account' }).click();
  await until(async () => assert.match(await fieldError(dialog.getByLabel('Username')), /the username 'olga' is taken/i));
  await admin.keyboard.press('Escape');
  await admin.getByRole('dialog', { name: 'Discard your changes?' }).getByRole('button', { name: 'Discard' }).click();
  await dialog.waitFor({ state: 'detached' });

  await olgaRow.getByRole('button', { name: 'Edit…' }).click();
  dialog = admin.getByRole('dialog', { name: 'Edit the account “olga”' });
  assert.equal(await dialog.getByLabel('Role').inputValue(), 'operator');
  // more rights ask for the admin's password, fewer do not
  await dialog.getByLabel('Role').selectOption('admin');
  await dialog.getByLabel(/^Your password/).waitFor();
  await dialog.getByLabel('Role').selectOption('viewer');
  await dialog.getByLabel(/^Your password/).waitFor({ state: 'hidden' });
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached' });
  await olgaRow.getByText('viewer', { exact: true }).waitFor();
  assert.equal((await sked.api('GET', `/api/users/${olga.id}`)).role, 'viewer');

  // a token for olga, made by the admin
  await olgaRow.getByRole('button', { name: 'Create token…' }).click();
  await admin.getByRole('dialog', { name: 'Create a token for “olga”' }).waitFor();
  const { shown, secret } = await createToken(admin, 'olga-ci', { password: NEW_PASSWORD });
  await shown.getByText('It acts as “olga”.').waitFor();
  await shown.getByRole('button', { name: 'Done' }).click();
  const tokens = admin.getByRole('region', { name: 'API tokens of every account' });
  await tokens.getByRole('row').filter({ hasText: 'olga-ci' }).getByRole('cell', { name: 'olga', exact: true }).waitFor();
  assert.equal((await withToken(secret, 'GET', '/api/jobs')).status, 200);

  await olgaRow.getByRole('button', { name: 'Disable' }).click();
  await admin.getByRole('dialog', { name: 'Disable the account “olga”?' }).getByRole('button', { name: 'Disable' }).click();
  await olgaRow.getByText('Disabled').waitFor();
  assert.equal((await sked.api('GET', `/api/users/${olga.id}`)).disabled, true);
  assert.equal((await withToken(secret, 'GET', '/api/jobs')).status, 401);
  // its token is not shown as working while it is refused
  await tokens.getByRole('row').filter({ hasText: 'olga-ci' }).getByText('Account disabled').waitFor();
  await olgaRow.getByRole('button', { name: 'Enable…' }).click();
  const enabling = admin.getByRole('dialog', { name: 'Enable the account “olga”?' });
  await enabling.getByLabel(/^Your password/).fill('not-my-password');
  await enabling.getByRole('button', { name: 'Enable' }).click();
  await until(async () => assert.match(await fieldError(enabling.getByLabel(/^Your password/)), /the current password is wrong/i));
  assert.equal((await sked.api('GET', `/api/users/${olga.id}`)).disabled, true);
  await enabling.getByLabel(/^Your password/).fill(NEW_PASSWORD);
  await enabling.getByRole('button', { name: 'Enable' }).click();
  await enabling.waitFor({ state: 'detached' });
  await olgaRow.getByText('Enabled').waitFor();
  assert.equal((await withToken(secret, 'GET', '/api/jobs')).status, 200);
  await tokens.getByRole('row').filter({ hasText: 'olga-ci' }).getByText('Active').waitFor();

  // revoked from the list of every token
  const tokenRow = tokens.getByRole('row').filter({ hasText: 'olga-ci' });
  await tokenRow.getByRole('button', { name: 'Revoke' }).click();
  await admin.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
  await tokenRow.getByText('Revoked').waitFor();
  assert.equal((await withToken(secret, 'GET', '/api/jobs')).status, 401);
});

test('users: the tokens list narrowed to the tokens that still work', async () => {
  const victor = (await sked.api('GET', '/api/users')).hits.hits.find((u) => u.username === 'victor');
  const old = await sked.api('POST', `/api/users/${victor.id}/tokens`, { name: 'old-laptop' });
  await sked.api('POST', `/api/users/${victor.id}/tokens`, { name: 'new-laptop' });
  await sked.api('DELETE', `/api/tokens/${old.id}`);
  await admin.goto(`${sked.url}/users`);
  const tokens = admin.getByRole('region', { name: 'API tokens of every account' });
  const tokenRow = (name) => tokens.getByRole('row').filter({ hasText: name });
  await tokenRow('old-laptop').waitFor();
  await tokens.getByLabel('Only active tokens').check();
  await tokenRow('old-laptop').waitFor({ state: 'detached' });
  await tokenRow('new-laptop').waitFor();
  await tokens.getByLabel('Only active tokens').uncheck();
  await tokenRow('old-laptop').waitFor();
});

test('users: the last-admin refusal, a refused row action, and deleting an account', async () => {
  // the only enabled admin makes themselves a viewer: the server's 409 is shown in the dialog
  const me = accountRow(admin, 'This is you');
  assert.equal(await me.getByRole('button', { name: 'Delete' }).count(), 0);
  assert.equal(await me.getByRole('button', { name: 'Disable' }).count(), 0);
  await me.getByRole('button', { name: 'Edit…' }).click();
  const dialog = admin.getByRole('dialog', { name: 'Edit the account “admin”' });
  await dialog.getByLabel('Role').selectOption('viewer');
  await dialog.getByRole('button', { name: 'Save' }).click();
  const refusal = dialog.getByRole('alert').filter({ hasText: 'This is the last enabled admin account; make another admin first' });
  await refusal.waitFor();
  assert.equal(await refusal.evaluate((el) => el.contains(document.activeElement)), true);
  assert.equal((await sked.api('GET', '/api/users')).hits.hits.find((u) => u.username === 'admin').role, 'admin');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached' });
  await admin.getByRole('banner').getByText('admin', { exact: true }).waitFor();

  // an account deleted elsewhere meanwhile: the refusal stays on the page
  const gone = await sked.api('POST', '/api/users', { username: 'temp', role: 'viewer' });
  await admin.reload();
  await accountRow(admin, 'temp').getByText('No password: API tokens only').waitFor();
  await sked.api('DELETE', `/api/users/${gone.id}`);
  await accountRow(admin, 'temp').getByRole('button', { name: 'Delete' }).click();
  await admin.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await admin.getByRole('alert').filter({
    hasText: `Could not delete “temp”: Account ${gone.id} does not exist. It may have been deleted meanwhile: reload the page to see what there is now.`,
  }).waitFor();

  const olgaRow = accountRow(admin, 'olga');
  await olgaRow.getByRole('button', { name: 'Delete' }).click();
  const confirm = admin.getByRole('dialog', { name: 'Delete the account “olga”?' });
  await confirm.getByText('This cannot be undone.').waitFor();
  await confirm.getByRole('button', { name: 'Delete' }).click();
  await olgaRow.waitFor({ state: 'detached' });
  assert.equal((await sked.api('GET', '/api/users')).hits.hits.some((u) => u.username === 'olga'), false);
  // the refusal shown before is gone with the next action that worked
  assert.equal(await admin.getByText('Could not delete “temp”').count(), 0);
});

test('375 px: the account and users pages fit the width, tables as cards', async () => {
  const page = await open({ width: 375, height: 740 });
  await signIn(page, sked.url, 'admin', NEW_PASSWORD);
  for (const path of ['/account', '/users']) {
    await page.goto(sked.url + path);
    await page.getByRole('heading', { level: 1 }).waitFor();
    await page.locator('table').first().or(page.getByText('You have no API tokens.')).first().waitFor();
    const { scroll, width } = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth, width: document.documentElement.clientWidth,
    }));
    assert.ok(scroll <= width, `${path}: the page is ${scroll} px wide in a ${width} px window`);
  }
  // each cell says what it is
  const cell = accountRow(page, 'This is you').locator('td[data-label="Role"]');
  assert.equal(await cell.evaluate((el) => getComputedStyle(el, '::before').content), '"Role"');
});

test('a browser that has not signed in is not asked who it is: the sign-in page raises no error', async () => {
  const page = await open();
  const asked = [];
  const logged = [];
  page.on('request', (r) => { if (r.url().endsWith('/api/session')) asked.push(r.method()); });
  page.on('console', (m) => { if (m.type() === 'error') logged.push(m.text()); });
  await page.goto(`${sked.url}/jobs`);
  await page.waitForURL(/\/login\?next=%2Fjobs$/);
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  assert.deepEqual(asked, [], 'no GET /api/session without a sign-in');
  assert.deepEqual(logged, [], 'nothing in the console');
  // signed in, a reload asks (the cookie is the server's to judge) and stays signed in
  await sked.api('POST', '/api/users', { username: 'hina', role: 'viewer', password: 'hina-password-1' });
  await page.getByLabel('Username').fill('hina');
  await page.getByLabel('Password').fill('hina-password-1');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/jobs$/);
  await page.reload();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  assert.deepEqual(asked, ['POST', 'GET']);
  // a session ended elsewhere: the reload's 401 clears the hint; signing out does too
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await page.goto(`${sked.url}/runs`);
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  assert.deepEqual(asked, ['POST', 'GET', 'DELETE']);
});
