// Accessibility: axe-core's WCAG 2.1 A and AA rules on every page and dialog, over data that
// looks lived in (schedules, finished, failed, running and queued runs, log lines of every
// level, accounts of the three roles, tokens, a paused queue and a Celery one), in the light
// and the dark scheme and on a phone.
// A failure lists each violation: the rule, its impact, the element and what is wrong.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startSked, ADMIN_PASSWORD } from './lib/sked.mjs';
import { launch, newPage, signIn, until, row, finish } from './lib/browser.mjs';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

// One line at each level the log view colours.
const LEVELS_TASK = {
  id: 'check_disks',
  title: 'Check the disks',
  command: ['/bin/sh', '-c', [
    'echo "<7>reading the disk table"', 'echo "<6>4 disks to check"', 'echo "<4>disk /var is 91 % full"',
    'echo "<3>disk /srv cannot be mounted" >&2', 'echo "<2>disk /backup lost its journal" >&2', 'echo "checked 4 disks"'].join('; ')],
};
// Fails with a message of several lines.
const FAILING_TASK = {
  id: 'fail_loudly',
  title: 'Fail with several errors',
  command: ['/bin/sh', '-c', 'for i in 1 2 3; do echo "<3>check $i of 3 failed: the remote end refused the batch"; done; exit 3'],
};
// Sleeps in the queue "low", which has one slot: a second run waits there.
const SLOW_TASK = {
  id: 'slow_import',
  title: 'Import slowly',
  command: ['/bin/sh', '-c', 'echo "<6>importing the archive"; exec sleep {{seconds}}'],
  arguments: { type: 'object', properties: { seconds: { type: 'integer', minimum: 1, default: 300 } } },
  default_queue: 'low',
};
// A Celery job type whose broker nobody listens on: the queues page lists its queue, workerless.
const CELERY_TASK = {
  id: 'remote_add',
  title: 'Add on the workers',
  celery: { broker: 'redis://127.0.0.1:9/0', result_backend: 'redis://127.0.0.1:9/1', task: 'app.add', queue: 'remote' },
};

let sked;
let browser;
let sync;
let syncRun;
let disks;
let disksRun;
let failing;
let failedRun;
let slow;
let running;
let queued;
const pages = [];

before(async () => {
  sked = await startSked({ tasks: [LEVELS_TASK, FAILING_TASK, SLOW_TASK, CELERY_TASK] });
  browser = await launch();
  const users = [
    ['victor', 'Victor Viewer', 'viewer'], ['olga', 'Olga Operator', 'operator'], ['ada', 'Ada Admin', 'admin'],
  ];
  const accounts = {};
  for (const [username, name, role] of users) {
    accounts[username] = await sked.api('POST', '/api/users', { username, display_name: name, role, password: `${username}-password-1` });
  }
  const admin = (await sked.api('GET', '/api/users')).hits.hits.find((u) => u.username === 'admin');
  await sked.api('POST', `/api/users/${admin.id}/tokens`, { name: 'deploy script' });
  const old = await sked.api('POST', `/api/users/${accounts.olga.id}/tokens`, { name: 'old laptop' });
  await sked.api('DELETE', `/api/tokens/${old.id}`);
  await sked.api('POST', `/api/users/${accounts.victor.id}/tokens`, { name: 'dashboard' });

  sync = await sked.createJob({
    title: 'Synchronise the catalogue', description: 'Pushes changed records to the remote catalogue every night.',
    task: 'sync_records', args: { records: 30, reject_every: 7 }, schedule: { type: 'interval', hours: 6 },
  });
  syncRun = await sked.api('POST', `/api/jobs/${sync.id}/runs`, { title: 'Nightly sync' });
  disks = await sked.createJob({
    title: 'Check the disks', task: 'check_disks', schedule: { type: 'cron', expression: '0 3 * * 1-5', timezone: 'Europe/Zurich' },
  });
  disksRun = await sked.api('POST', `/api/jobs/${disks.id}/runs`, { title: 'Morning check' });
  failing = await sked.createJob({ title: 'Check the remote end', task: 'fail_loudly', active: false });
  failedRun = await sked.api('POST', `/api/jobs/${failing.id}/runs`, {});
  slow = await sked.createJob({ title: 'Import the archive', task: 'slow_import', description: 'Takes its time.' });
  running = await sked.api('POST', `/api/jobs/${slow.id}/runs`, { title: 'Big import' });
  queued = await sked.api('POST', `/api/jobs/${slow.id}/runs`, { title: 'Next import' });
  await Promise.all([[sync, syncRun], [disks, disksRun], [failing, failedRun]].map(([j, r]) => sked.waitRun(j.id, r.id)));
  await until(async () => assert.equal((await sked.api('GET', `/api/jobs/${slow.id}/runs/${running.id}`)).status, 'RUNNING'));
  // a paused queue, with who paused it and why
  await sked.api('POST', '/api/queues/default/actions/pause', { reason: 'database upgrade until 14:00' });
  await until(async () => assert.ok((await sked.api('GET', '/api/queues')).hits.hits.some((q) => q.name === 'remote')));
});

after(async () => {
  for (const r of [queued, running]) {
    if (r) await sked.api('POST', `/api/jobs/${slow.id}/runs/${r.id}/actions/stop`).catch(() => {});
  }
  await finish({ pages, browser, sked });
});

async function open(opts) {
  const page = await newPage(browser, { ...opts, bypassCSP: true });
  pages.push(page);
  return page;
}

/**
 * Runs axe on the whole document as it is now (an open dialog and the page under it) and adds
 * each violation to `found`, one line per element.
 */
async function audit(page, what, found) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async (tags) => {
    const r = await window.axe.run(document, { runOnly: tags, resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
    }));
  }, TAGS);
  for (const v of violations) {
    for (const n of v.nodes) {
      found.push(`${what}: ${v.id} (${v.impact}, ${v.help}) at ${n.target}\n    ${n.summary.replace(/\n/g, '\n    ')}`);
    }
  }
}

function assertNone(found) {
  assert.equal(found.length, 0, `${found.length} accessibility violation(s):\n${found.join('\n')}`);
}

/** Opens a dialog with `opener`, waits for `ready` in it, audits it, closes it with Escape. */
async function auditDialog(page, what, found, opener, ready) {
  await opener.click();
  const dialog = page.getByRole('dialog');
  await (ready ? ready(dialog) : dialog.waitFor());
  await audit(page, what, found);
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
}

async function goto(page, path, ready) {
  await page.goto(sked.url + path);
  await ready();
}

for (const colorScheme of ['light', 'dark']) {
  test(`${colorScheme} scheme: every page and dialog`, async () => {
    const found = [];
    const page = await open({ colorScheme });

    // signed out, with the error a wrong password gives
    await page.goto(`${sked.url}/login`);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('wrong username or password').waitFor();
    await audit(page, 'sign-in page', found);

    await signIn(page, sked.url);
    await row(page, 'Synchronise the catalogue').getByText('PARTIAL SUCCESS').waitFor();
    await row(page, 'Check the remote end').getByText('FAILED').waitFor();
    await audit(page, 'jobs list', found);

    const syncRow = row(page, 'Synchronise the catalogue');
    await auditDialog(page, 'configure-and-run dialog', found, syncRow.getByRole('button', { name: 'Configure and run…' }), async (d) => {
      await d.getByText('Advanced configuration').click();
      await d.getByLabel('Custom args').waitFor();
    });
    await auditDialog(page, 'schedule dialog', found, syncRow.getByRole('button', { name: 'Schedule…' }),
      (d) => d.locator('.preview-table tbody tr').first().waitFor());
    // removing a schedule asks first, over the schedule dialog
    await syncRow.getByRole('button', { name: 'Schedule…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove schedule' }).click();
    const confirmRemove = page.getByRole('dialog', { name: /^Remove the schedule of/ });
    await confirmRemove.getByRole('button', { name: 'Remove schedule' }).waitFor();
    await audit(page, 'remove-schedule confirmation', found);
    await page.keyboard.press('Escape');
    await confirmRemove.waitFor({ state: 'detached' });
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    // an inactive job's schedule dialog says so, with a check box to activate it
    await auditDialog(page, 'schedule dialog of an inactive job', found,
      row(page, 'Check the remote end').getByRole('button', { name: 'Schedule…' }), (d) => d.getByText('Activate the job when saving').waitFor());
    await auditDialog(page, 'delete confirmation', found, syncRow.getByRole('button', { name: 'Delete' }),
      (d) => d.getByRole('button', { name: 'Delete' }).waitFor());

    await goto(page, `/jobs/${slow.id}`, () => page.getByRole('row').filter({ hasText: 'Next import' }).getByText('QUEUED').waitFor());
    await page.getByRole('row').filter({ hasText: 'Big import' }).getByText('RUNNING').waitFor();
    await audit(page, 'job page with running and queued runs', found);
    await auditDialog(page, 'stop confirmation', found,
      page.getByRole('row').filter({ hasText: 'Big import' }).getByRole('button', { name: 'Stop' }),
      (d) => d.getByRole('button', { name: 'Stop run' }).waitFor());

    await goto(page, `/jobs/${sync.id}`, () => page.getByRole('row').filter({ hasText: 'Nightly sync' }).waitFor());
    await audit(page, 'job page with a schedule and a finished run', found);

    await goto(page, `/jobs/${sync.id}/edit`, () => page.getByLabel('Records').waitFor());
    await audit(page, 'edit form', found);

    await goto(page, `/jobs/${slow.id}/runs/${running.id}`,
      () => page.getByRole('region', { name: 'Log lines' }).getByText('importing the archive').waitFor());
    await page.getByText('● Live').waitFor();
    await audit(page, 'run page, running', found);

    await goto(page, `/jobs/${slow.id}/runs/${queued.id}`, () => page.getByText(/Waiting for a free slot: queue low/).waitFor());
    await audit(page, 'run page, queued', found);

    await goto(page, `/jobs/${disks.id}/runs/${disksRun.id}`,
      () => page.getByRole('region', { name: 'Log lines' }).getByText('/backup lost its journal').waitFor());
    await page.getByText('the log is complete').waitFor();
    await audit(page, 'run page, finished, log lines of every level', found);
    // what a search finds is highlighted on lines of every level
    await page.getByRole('searchbox', { name: 'Search log' }).fill('disk');
    await page.getByRole('region', { name: 'Log lines' }).locator('.lvl-critical mark').first().waitFor();
    await audit(page, 'run page, a search in the log', found);

    await goto(page, `/jobs/${sync.id}/runs/${syncRun.id}`, () => page.getByText('the log is complete').waitFor());
    await audit(page, 'run page, partial success with progress', found);
    await auditDialog(page, 'run again dialog', found, page.getByRole('button', { name: 'Run again…' }),
      (d) => d.getByText('so the same window is processed again', { exact: false }).waitFor());

    await goto(page, `/jobs/${failing.id}/runs/${failedRun.id}`, () => page.locator('pre.message-full').waitFor());
    await audit(page, 'run page, failed', found);

    await goto(page, '/runs', () => page.getByRole('row').filter({ hasText: 'Morning check' }).waitFor());
    await audit(page, 'runs list', found);

    await goto(page, '/queues', () => page.locator('tr[data-queue="default"]').getByText('database upgrade until 14:00').waitFor());
    await page.locator('tr[data-queue="remote"]').waitFor();
    await audit(page, 'queues page, one paused', found);
    await auditDialog(page, 'pause dialog', found, page.locator('tr[data-queue="low"]').getByRole('button', { name: 'Pause…' }),
      (d) => d.getByLabel('Reason (optional)').waitFor());
    await auditDialog(page, 'resume confirmation', found, page.locator('tr[data-queue="default"]').getByRole('button', { name: 'Resume…' }),
      (d) => d.getByRole('button', { name: 'Resume' }).waitFor());

    await goto(page, '/audit', () => page.getByRole('row').filter({ hasText: 'job.created' }).first().waitFor());
    await audit(page, 'audit trail', found);

    await goto(page, '/users', () => page.getByRole('row').filter({ hasText: 'old laptop' }).getByText('Revoked').waitFor());
    await audit(page, 'users', found);
    await auditDialog(page, 'create account dialog', found, page.getByRole('button', { name: 'Create account…' }),
      (d) => d.getByLabel('Username').waitFor());

    await goto(page, '/account', () => page.getByRole('row').filter({ hasText: 'deploy script' }).waitFor());
    await audit(page, 'account', found);
    await auditDialog(page, 'create token dialog', found, page.getByRole('button', { name: 'Create token…' }).first(),
      (d) => d.getByLabel('Name').waitFor());
    // the secret, shown once
    await page.getByRole('button', { name: 'Create token…' }).first().click();
    await page.getByRole('dialog').getByLabel('Name').fill(`laptop (${colorScheme})`);
    await page.getByRole('dialog').getByLabel('Your password').fill(ADMIN_PASSWORD);
    await page.getByRole('dialog').getByRole('button', { name: 'Create token' }).click();
    await page.getByRole('dialog').getByText('Copy the token now').waitFor();
    await audit(page, 'new token dialog', found);
    await page.getByRole('dialog').getByRole('button', { name: 'Done' }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });

    await goto(page, '/no/such/page', () => page.getByRole('heading', { name: 'Page not found' }).waitFor());
    await audit(page, 'not-found page', found);

    // a viewer's jobs list has no actions column
    const viewer = await open({ colorScheme });
    await signIn(viewer, sked.url, 'victor', 'victor-password-1');
    await row(viewer, 'Check the remote end').getByText('FAILED').waitFor();
    await audit(viewer, 'jobs list of a viewer', found);
    await goto(viewer, '/queues', () => viewer.locator('tr[data-queue="default"]').getByText('database upgrade until 14:00').waitFor());
    await audit(viewer, 'queues page of a viewer', found);

    assertNone(found);
  });
}

test('375 px: pages on a phone', async () => {
  const found = [];
  const page = await open({ width: 375, height: 740 });
  await signIn(page, sked.url);
  await row(page, 'Check the remote end').getByText('FAILED').waitFor();
  await audit(page, 'jobs list at 375 px', found);
  await goto(page, `/jobs/${disks.id}/runs/${disksRun.id}`,
    () => page.getByRole('region', { name: 'Log lines' }).getByText('/backup lost its journal').waitFor());
  await audit(page, 'run page at 375 px', found);
  await goto(page, '/users', () => page.getByRole('row').filter({ hasText: 'old laptop' }).waitFor());
  await audit(page, 'users at 375 px', found);
  await goto(page, '/queues', () => page.locator('tr[data-queue="default"]').getByText('database upgrade until 14:00').waitFor());
  await audit(page, 'queues at 375 px', found);
  assertNone(found);
});
