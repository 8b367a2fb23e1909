// What each role is offered: a viewer sees no control that changes anything, an operator may
// run, stop, schedule and (de)activate but not create, edit or delete. And the signed-out
// state: signing out, and a session that ends under an open page (the API answers 401).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSked, ADMIN_PASSWORD } from './lib/sked.mjs';
import { launch, newPage, signIn, until, row, fieldError, finish } from './lib/browser.mjs';

let sked;
let browser;
let job;
let longRun;
const pages = [];

before(async () => {
  const secrets = await mkdtemp(join(tmpdir(), 'sked-ui-secrets-'));
  await writeFile(join(secrets, 'ping_token'), 'Bearer the-ping-token\n');
  sked = await startSked({ args: ['--secrets-dir', secrets] });
  browser = await launch();
  await sked.api('POST', '/api/users', { username: 'victor', display_name: 'Victor Viewer', role: 'viewer', password: 'victor-password-1' });
  await sked.api('POST', '/api/users', { username: 'olga', display_name: 'Olga Operator', role: 'operator', password: 'olga-password-1' });
  job = await sked.createJob({ title: 'Rebuild the search index', task: 'reindex', args: { steps: 600, step_seconds: 1 } });
  longRun = await sked.api('POST', `/api/jobs/${job.id}/runs`, { title: 'A long rebuild' });
});

after(async () => {
  if (longRun) await sked.api('POST', `/api/jobs/${job.id}/runs/${longRun.id}/actions/stop`).catch(() => {});
  await finish({ pages, browser, sked });
});

async function pageFor(user, password) {
  const page = await newPage(browser);
  pages.push(page);
  await signIn(page, sked.url, user, password);
  return page;
}

const DESTRUCTIVE = ['Create', 'Edit', 'Delete', 'Stop', 'Configure and run…', 'Schedule…', 'Deactivate', 'Activate'];

async function visibleButtons(page, names) {
  const found = [];
  for (const name of names) {
    const b = page.getByRole('button', { name, exact: true });
    for (let i = 0; i < await b.count(); i++) if (await b.nth(i).isVisible() && await b.nth(i).isEnabled()) found.push(name);
  }
  return found;
}

test('a viewer reads everything and is offered no change', async () => {
  const page = await pageFor('victor', 'victor-password-1');
  await page.getByRole('banner').getByText('Victor Viewer').waitFor();
  await page.getByRole('banner').getByText('viewer', { exact: true }).waitFor();
  await row(page, 'Rebuild the search index').waitFor();
  assert.deepEqual(await visibleButtons(page, DESTRUCTIVE), [], 'jobs list');
  assert.equal(await page.getByRole('link', { name: 'Audit trail' }).count(), 0);

  await row(page, 'Rebuild the search index').getByRole('link', { name: 'Rebuild the search index' }).click();
  await page.getByRole('row').filter({ hasText: 'A long rebuild' }).getByText('RUNNING').waitFor();
  assert.deepEqual(await visibleButtons(page, DESTRUCTIVE), [], 'job page');

  await page.getByRole('link', { name: 'A long rebuild' }).click();
  await page.getByRole('region', { name: 'Log lines' }).getByText('rebuilding 600 segment(s)').waitFor();
  assert.deepEqual(await visibleButtons(page, DESTRUCTIVE), [], 'run page');

  await page.getByRole('link', { name: 'Runs', exact: true }).click();
  await page.getByRole('row').filter({ hasText: 'A long rebuild' }).waitFor();
  assert.deepEqual(await visibleButtons(page, DESTRUCTIVE), [], 'runs page');

  await page.goto(`${sked.url}/jobs/new`);
  await page.getByText('Your role may not create jobs').waitFor();
  await page.goto(`${sked.url}/audit`);
  await page.getByText('Only admins may read the audit trail.').waitFor();
});

test('an operator runs, stops and schedules, and does not create, edit or delete', async () => {
  const page = await pageFor('olga', 'olga-password-1');
  await row(page, 'Rebuild the search index').waitFor();
  const offered = await visibleButtons(page, DESTRUCTIVE);
  assert.deepEqual([...new Set(offered)].sort(), ['Configure and run…', 'Schedule…']);

  await row(page, 'Rebuild the search index').getByRole('link', { name: 'Rebuild the search index' }).click();
  const actions = page.getByRole('toolbar', { name: 'Job actions' });
  await actions.getByRole('button', { name: 'Deactivate' }).waitFor();
  assert.deepEqual([...new Set(await visibleButtons(actions, DESTRUCTIVE))].sort(), ['Configure and run…', 'Deactivate', 'Schedule…']);
  // the long run can be stopped from the job's runs table
  const runRow = page.getByRole('row').filter({ hasText: 'A long rebuild' });
  await runRow.getByRole('button', { name: 'Stop', exact: true }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Stop run' }).click();
  await runRow.getByText('CANCELLED').waitFor({ timeout: 20000 });
  const stopped = await sked.api('GET', `/api/jobs/${job.id}/runs/${longRun.id}`);
  assert.equal(stopped.stopped_by.name, 'Olga Operator');
  longRun = null;
  // finished runs can only be deleted by admins
  assert.equal(await runRow.getByRole('button', { name: 'Delete' }).count(), 0);

  // scheduling is allowed (PATCH with only schedule)
  await actions.getByRole('button', { name: 'Schedule…' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('radio', { name: 'Cron expression' }).check();
  await dialog.getByLabel('Expression', { exact: true }).fill('@daily');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached' });
  await page.getByText('Cron @daily').waitFor();
  assert.equal((await sked.api('GET', `/api/jobs/${job.id}`)).schedule.expression, '@daily');
});

test('an operator runs a job type that keeps its runs to the saved arguments', async () => {
  // the example http_call sets "operator_args": false: an operator may not point it elsewhere
  const call = await sked.createJob({ title: 'Ping sked', task: 'http_call', args: { url: `${sked.url}/healthz` } });
  const page = await pageFor('olga', 'olga-password-1');
  await row(page, 'Ping sked').getByRole('button', { name: 'Configure and run…' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText('Saved arguments:').waitFor();
  await dialog.getByText(`"url": "${sked.url}/healthz"`).waitFor();
  assert.equal(await dialog.getByRole('textbox', { name: 'Custom args' }).count(), 0, 'no custom args');
  assert.equal(await dialog.getByRole('group', { name: 'Args' }).count(), 0, 'no argument fields');
  await dialog.getByRole('button', { name: 'Run now' }).click();
  await page.waitForURL(/\/runs\//);
  const runs = (await sked.api('GET', `/api/jobs/${call.id}/runs`)).hits.hits;
  assert.equal(runs.length, 1);
  assert.equal(runs[0].started_by.name, 'Olga Operator');
  assert.equal(runs[0].args.url, `${sked.url}/healthz`);
  // a backfill would give each run a since of its own: not offered (the server refuses it)
  await page.goto(`${sked.url}/jobs/${call.id}`);
  const actions = page.getByRole('toolbar', { name: 'Job actions' });
  await actions.getByRole('button', { name: 'Configure and run…' }).waitFor();
  assert.equal(await actions.getByRole('button', { name: 'Backfill…' }).count(), 0);
});

test('an operator runs a job that refers to a secret with its saved arguments', async () => {
  // sync_records lets operators give arguments, but this job's refer to a secret: changing
  // another one could send it elsewhere, so the dialog shows them read-only
  const job = await sked.createJob({ title: 'Sync with a token', task: 'sync_records', args: { records: 2, mode: 'update' } });
  await sked.api('PATCH', `/api/jobs/${job.id}`, { custom_args: { records: 2, token: { $secret: 'ping_token' } } });
  const page = await pageFor('olga', 'olga-password-1');
  await row(page, 'Sync with a token').getByRole('button', { name: 'Configure and run…' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText(/this job's arguments refer to secrets/).waitFor();
  assert.equal(await dialog.getByRole('textbox', { name: 'Custom args' }).count(), 0, 'no custom args');
  await dialog.getByLabel('Title').fill('olga syncs');
  await dialog.getByRole('button', { name: 'Run now' }).click();
  await page.waitForURL(/\/runs\//);
  const runs = (await sked.api('GET', `/api/jobs/${job.id}/runs`)).hits.hits;
  assert.equal(runs.length, 1);
  assert.equal(runs[0].title, 'olga syncs');
  assert.deepEqual(runs[0].args.token, { $secret: 'ping_token' });
});

test('signing out, and a session that ends while a page is open', async () => {
  const page = await pageFor('admin');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/login$/);
  await page.getByText('You are signed out.').waitFor();
  // the session is gone on the server too
  assert.equal((await page.request.get(`${sked.url}/api/session`)).status(), 401);

  await signIn(page, sked.url);
  await row(page, 'Rebuild the search index').waitFor();
  // The session cookie disappears (expired, or ended elsewhere): the next request is
  // answered 401 and the page says so instead of breaking.
  await page.context().clearCookies();
  await page.getByRole('searchbox', { name: 'Search jobs' }).fill('index');
  await page.getByText('You have been signed out').waitFor();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  assert.match(page.url(), /\/login\?next=%2Fjobs/);
  // empty fields are said in plain words, at each field, before anything is sent
  await page.getByRole('button', { name: 'Sign in' }).click();
  await until(async () => assert.equal(await fieldError(page.getByLabel('Username')), 'Enter your username.'));
  assert.equal(await fieldError(page.getByLabel('Password')), 'Enter your password.');
  assert.equal(await page.getByLabel('Username').evaluate((el) => el === document.activeElement), true);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('admin-password-1');
  await page.getByRole('button', { name: 'Sign in' }).click();
  // back where it was
  await until(async () => assert.match(page.url(), /\/jobs/));
  await row(page, 'Rebuild the search index').waitFor();
});

test('a role changed while a page is open: the page is drawn again with what it may do', async () => {
  const page = await pageFor('olga', 'olga-password-1');
  await row(page, 'Rebuild the search index').getByRole('link', { name: 'Rebuild the search index' }).click();
  const actions = page.getByRole('toolbar', { name: 'Job actions' });
  const toggle = actions.getByRole('button', { name: /^(Deactivate|Activate)$/ });
  await toggle.waitFor();
  const olga = (await sked.api('GET', '/api/users')).hits.hits.find((u) => u.username === 'olga');
  await sked.api('PATCH', `/api/users/${olga.id}`, { role: 'viewer' });
  try {
    // the refusal of what the page still offered tells the page to ask who is signed in
    await toggle.click();
    await page.getByText('Your role is now viewer: the page shows what it may do.').waitFor();
    await page.locator('#topbar .role').getByText('viewer').waitFor();
    await page.getByRole('heading', { name: 'Rebuild the search index' }).waitFor();
    await until(async () => assert.deepEqual(await visibleButtons(page, DESTRUCTIVE), []));
  } finally {
    await sked.api('PATCH', `/api/users/${olga.id}`, { role: 'operator' }).catch(() => {});
  }
});

test('a session that ends under typed work: a sign-in dialog over the page keeps it, and Save then saves it', async () => {
  await sked.api('POST', '/api/users', { username: 'ada', display_name: 'Ada Admin', role: 'admin', password: 'ada-password-1' });
  const ada = (await sked.api('GET', '/api/users')).hits.hits.find((u) => u.username === 'ada');
  const page = await pageFor('ada', 'ada-password-1');
  await page.goto(`${sked.url}/jobs/${job.id}/edit`);
  const description = page.getByLabel('Description');
  await description.fill('Typed before the session ended');
  // an admin's new password ends the account's sessions
  await sked.api('PATCH', `/api/users/${ada.id}`, { password: 'ada-password-2' });
  await page.getByRole('button', { name: 'Save' }).click();
  const dialog = page.getByRole('dialog', { name: 'Your session ended' });
  await dialog.waitFor();
  await dialog.getByText('What you entered is kept').waitFor();
  assert.equal(await dialog.getByLabel('Username').inputValue(), 'ada');
  // the form stays as it was, under the dialog
  assert.match(page.url(), new RegExp(`/jobs/${job.id}/edit$`));
  assert.equal(await description.inputValue(), 'Typed before the session ended');
  // a wrong password is said in the dialog, which stays
  await dialog.getByLabel('Password').fill('ada-password-1');
  await dialog.getByRole('button', { name: 'Sign in' }).click();
  await dialog.locator('.error-summary').getByText(/wrong username or password/i).waitFor();
  await dialog.getByLabel('Password').fill('ada-password-2');
  await dialog.getByRole('button', { name: 'Sign in' }).click();
  await dialog.waitFor({ state: 'detached' });
  assert.equal(await description.inputValue(), 'Typed before the session ended');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(new RegExp(`/jobs/${job.id}$`));
  assert.equal((await sked.api('GET', `/api/jobs/${job.id}`)).description, 'Typed before the session ended');
  assert.equal(page.leaveQuestions, 0);
});

test('signing in again under the run dialog gives the keyboard back to the control that had it', async () => {
  const page = await pageFor('admin');
  await page.goto(`${sked.url}/jobs/${job.id}`);
  await page.getByRole('toolbar', { name: 'Job actions' }).getByRole('button', { name: 'Configure and run…' }).click();
  const run = page.getByRole('dialog', { name: /Configure and run/ });
  await run.getByLabel('Title').fill('Typed before the session ended');
  await page.context().clearCookies();
  // Run now is disabled while its request is under way, which takes the focus from it
  await run.getByRole('button', { name: 'Run now' }).click();
  const signInDialog = page.getByRole('dialog', { name: 'Your session ended' });
  await signInDialog.getByLabel('Password').fill(ADMIN_PASSWORD);
  await signInDialog.getByRole('button', { name: 'Sign in' }).click();
  await signInDialog.waitFor({ state: 'detached' });
  await until(async () => assert.equal(await page.evaluate(() => {
    const a = document.activeElement;
    return a.closest('dialog') ? a.textContent : a.tagName;
  }), 'Run now'));
  assert.equal(await run.getByLabel('Title').inputValue(), 'Typed before the session ended');
  await page.keyboard.press('Escape');
  await page.getByRole('dialog', { name: 'Discard your changes?' }).getByRole('button', { name: 'Discard' }).click();
  await run.waitFor({ state: 'detached' });
  // back on the button that opened it
  await until(async () => assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Configure and run…'));
});

test('a refusal for the role says what is needed without the server\'s path', async () => {
  const page = await pageFor('olga', 'olga-password-1');
  await row(page, 'Rebuild the search index').getByRole('button', { name: 'Configure and run…' }).click();
  const dialog = page.getByRole('dialog', { name: /Configure and run/ });
  await dialog.getByRole('button', { name: 'Run now' }).waitFor();
  const olga = (await sked.api('GET', '/api/users')).hits.hits.find((u) => u.username === 'olga');
  await sked.api('PATCH', `/api/users/${olga.id}`, { role: 'viewer' });
  try {
    await dialog.getByRole('button', { name: 'Run now' }).click();
    const summary = dialog.locator('.error-summary');
    await summary.getByText('Permission denied').waitFor();
    assert.equal((await summary.textContent()).trim(), 'Could not start the run: Permission denied: this needs the operator or admin role (you are viewer).'
      + ' Ask an admin for that role if you need it.');
  } finally {
    await sked.api('PATCH', `/api/users/${olga.id}`, { role: 'operator' }).catch(() => {});
  }
});

test('a session that ends under an open dialog: another account signing in gets the page drawn for it', async () => {
  const ada = (await sked.api('GET', '/api/users')).hits.hits.find((u) => u.username === 'ada');
  await sked.api('PATCH', `/api/users/${ada.id}`, { password: 'ada-password-3' });
  const page = await pageFor('ada', 'ada-password-3');
  await page.goto(`${sked.url}/jobs/${job.id}`);
  await page.getByRole('toolbar', { name: 'Job actions' }).getByRole('button', { name: 'Configure and run…' }).click();
  const run = page.getByRole('dialog', { name: /Configure and run/ });
  await run.getByLabel('Title').fill('Typed in the dialog');
  await sked.api('PATCH', `/api/users/${ada.id}`, { disabled: true });
  try {
    await run.getByRole('button', { name: 'Run now' }).click();
    const signInDialog = page.getByRole('dialog', { name: 'Your session ended' });
    await signInDialog.getByLabel('Username').fill('olga');
    await signInDialog.getByLabel('Password').fill('olga-password-1');
    await signInDialog.getByRole('button', { name: 'Sign in' }).click();
    await signInDialog.waitFor({ state: 'detached' });
    await page.getByText('Signed in as olga: the page shows what this account may do.').waitFor();
    await page.getByRole('banner').getByText('Olga Operator').waitFor();
    // the dialog keeps what was typed until it is closed; then the page is drawn for olga
    assert.equal(await run.getByLabel('Title').inputValue(), 'Typed in the dialog');
    await run.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('dialog', { name: 'Discard your changes?' }).getByRole('button', { name: 'Discard' }).click();
    await run.waitFor({ state: 'detached' });
    await page.getByRole('toolbar', { name: 'Job actions' }).getByRole('button', { name: 'Configure and run…' }).waitFor();
    await until(async () => assert.equal(await page.getByRole('toolbar', { name: 'Job actions' }).getByRole('button', { name: 'Edit' }).count(), 0));
  } finally {
    await sked.api('PATCH', `/api/users/${ada.id}`, { disabled: false }).catch(() => {});
  }
});
