// The admin workflow of the reference, end to end in a real browser against the real binary:
// sign in; create a job; find it in the list; configure and run it (with a since value, then
// with custom args); watch a run's log arrive live; stop a long run; schedule by interval and
// by crontab; remove the schedule; edit; delete. Takes the screenshots of docs/screenshots.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSked } from './lib/sked.mjs';
import { launch, newPage, signIn, until, shot, fieldError, row, finish } from './lib/browser.mjs';

let sked;
let browser;
let page;
const TITLE = 'Sync records to the catalogue';
let jobId;
let reindexId;

before(async () => {
  // a secret for the last test: the file's content is what a run gets
  const secrets = await mkdtemp(join(tmpdir(), 'sked-ui-secrets-'));
  await writeFile(join(secrets, 'ui_body'), 'the-body-secret\n');
  await writeFile(join(secrets, 'ui_token'), 'the-token-secret\n');
  sked = await startSked({ args: ['--secrets-dir', secrets] });
  browser = await launch();
  page = await newPage(browser);
  // Jobs that make the list, the runs and the audit trail look lived in.
  const nightly = await sked.createJob({
    title: 'Nightly report', description: 'Summarises yesterday\'s imports for the team.', task: 'reindex',
    args: { steps: 2, step_seconds: 0 }, schedule: { type: 'cron', expression: '0 3 * * 1-5', timezone: 'Europe/Zurich' },
  });
  const r = await sked.api('POST', `/api/jobs/${nightly.id}/runs`, { title: 'Catch up after the holidays' });
  await sked.waitRun(nightly.id, r.id);
  await sked.createJob({ title: 'Import new files', task: 'import_files', description: 'Imports what landed in /tmp.', active: false });
  const reindex = await sked.createJob({
    title: 'Rebuild the search index', task: 'reindex', description: 'Rebuilds the index segment by segment.',
    args: { steps: 6, step_seconds: 0.5 },
  });
  reindexId = reindex.id;
});

after(() => finish({ page, browser, sked }));

test('sign in', async () => {
  await page.goto(sked.url);
  await page.waitForURL(/\/login/);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('wrong-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('wrong username or password').waitFor();
  await shot(page, 'login');
  await signIn(page, sked.url);
  const header = page.getByRole('banner');
  await header.getByText('Administrator').waitFor();
  await header.getByText('admin', { exact: true }).waitFor();
});

test('create a job: what is missing said in the form\'s order, field errors from the server, then saved and listed', async () => {
  await page.getByRole('button', { name: 'Create' }).click();
  await page.waitForURL(/\/jobs\/new$/);
  // saved empty: nothing is saved, each required field says what it needs, the first one has the focus
  let posted = 0;
  const count = (r) => { if (r.method() === 'POST' && r.url().endsWith('/api/jobs')) posted += 1; };
  page.on('request', count);
  await page.getByRole('button', { name: 'Save' }).click();
  await until(async () => assert.equal(await fieldError(page.getByLabel('Title')), 'Enter a title'));
  assert.equal(await fieldError(page.getByLabel('Task')), 'Choose a job type');
  assert.equal(await page.evaluate(() => document.activeElement.closest('[data-field]')?.dataset.field), 'title');
  assert.equal(await page.getByLabel('Title').getAttribute('aria-invalid'), 'true');
  page.off('request', count);
  assert.equal(posted, 0);
  await page.getByLabel('Title').fill(TITLE);
  await page.getByLabel('Description').fill('Pushes changed records to the remote catalogue.');
  await page.getByLabel('Task').selectOption('sync_records');
  await page.getByLabel('Queue').selectOption('default');
  // the arguments form comes from the job type's schema
  await page.getByLabel('Records').fill('20');
  await page.getByLabel('Mode').selectOption({ label: 'update' });
  // an example of custom args names an argument of the job type
  assert.equal(await page.getByLabel('Custom args').getAttribute('placeholder'), '{"records": 50}');
  await page.getByLabel('Run timeout').fill('soon');
  assert.equal(await page.getByLabel('Active').isChecked(), true);
  await shot(page, 'create-form', { fullPage: true });
  await page.getByRole('button', { name: 'Save' }).click();
  // a 400 with {"field": "timeout"} appears next to the Run timeout field
  await until(async () => assert.match(await fieldError(page.getByLabel('Run timeout')), /expected a duration/i));
  assert.equal(await page.getByLabel('Run timeout').getAttribute('aria-invalid'), 'true');
  await page.getByLabel('Run timeout').fill('10m');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(/\/jobs$/);
  await row(page, TITLE).waitFor();
  const jobs = await sked.api('GET', `/api/jobs?q=${encodeURIComponent(TITLE)}`);
  assert.equal(jobs.hits.total, 1);
  const job = jobs.hits.hits[0];
  jobId = job.id;
  assert.deepEqual(job.run_args, { records: 20, mode: 'update' });
  assert.equal(job.timeout, '10m');
  assert.equal(job.default_queue, 'default');
});

test('the list: search, task, queue, active, never run', async () => {
  await page.getByRole('searchbox', { name: 'Search jobs' }).fill('catalogue');
  await until(async () => assert.equal(await page.getByRole('row').count(), 2)); // header + the job
  await page.getByText('1 result · Page 1 of 1').waitFor();
  const r = row(page, TITLE);
  await r.getByText('Synchronise records').waitFor();
  await r.getByText('Never run').waitFor();
  await r.getByText('Not scheduled').waitFor();
  await page.getByRole('searchbox', { name: 'Search jobs' }).fill('');
  await until(async () => assert.ok(await page.getByRole('row').count() >= 5));
  // the inactive job says so in "Next run"
  await row(page, 'Import new files').getByRole('cell', { name: 'Inactive' }).last().waitFor();
  await page.getByLabel('Active filter').selectOption('false');
  await until(async () => assert.equal(await page.getByRole('row').count(), 2));
  await page.getByLabel('Active filter').selectOption('');
  await until(async () => assert.ok(await page.getByRole('row').count() >= 5));
});

test('configure and run with a since value; the run page opens', async () => {
  await row(page, TITLE).getByRole('button', { name: 'Configure and run…' }).click();
  const dialog = page.getByRole('dialog', { name: /Configure and run/ });
  await dialog.waitFor();
  await dialog.getByText('Leave empty to continue since the last successful run').waitFor();
  await dialog.getByText(/Value that will be used:.*no successful run yet/).waitFor();
  await dialog.getByLabel('Title').fill('Backfill November');
  await dialog.getByLabel('Since').fill('2026-11-01 08:30');
  await dialog.getByText('Value that will be used: 2026-11-01 08:30:00 UTC, as entered.').waitFor();
  await dialog.getByText('Advanced configuration').click();
  await dialog.getByLabel('Reference configuration').waitFor();
  await dialog.getByText('Custom args override everything above.').waitFor();
  await shot(page, 'configure-and-run', { height: 1500 });
  await dialog.getByRole('button', { name: 'Run now' }).click();
  await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
  const runId = page.url().split('/').pop();
  const run = await sked.waitRun(jobId, runId);
  assert.equal(run.args.since, '2026-11-01T08:30:00.000000+00:00');
  assert.equal(run.args.records, 20);
  assert.equal(run.title, 'Backfill November');
  await page.getByRole('heading', { name: /Backfill November/ }).getByText('SUCCESS').waitFor();
  await page.getByText('synchronising 20 record(s) since 2026-11-01T08:30:00.000000+00:00').waitFor();
});

test('configure and run with custom args: the task gets exactly them', async () => {
  await page.getByRole('link', { name: TITLE }).first().click();
  await page.waitForURL(new RegExp(`/jobs/${jobId}$`));
  await page.getByRole('button', { name: 'Configure and run…' }).click();
  const dialog = page.getByRole('dialog');
  // the last success is now the value a run without since continues from
  await dialog.getByText(/Value that will be used:.*the start of the last successful run/).waitFor();
  await dialog.getByText('Advanced configuration').click();
  await dialog.getByLabel('Custom args').fill('{"records": 3, "mode": "insert-only"}');
  await dialog.getByRole('button', { name: 'Run now' }).click();
  await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
  const run = await sked.waitRun(jobId, page.url().split('/').pop());
  assert.deepEqual(run.args, { records: 3, mode: 'insert-only' });
});

test('bad custom args: the error shows, Run now is disabled and nothing is sent', async () => {
  const before = (await sked.api('GET', `/api/jobs/${jobId}/runs`)).hits.total;
  await page.goto(`${sked.url}/jobs`);
  await row(page, TITLE).getByRole('button', { name: 'Configure and run…' }).click();
  const dialog = page.getByRole('dialog', { name: /^Configure and run/ });
  await dialog.getByText('Advanced configuration').click();
  const custom = dialog.getByLabel('Custom args');
  await custom.fill('{"records": 3,');
  await until(async () => assert.match(await fieldError(custom), /^Not valid JSON \(.+\): fix it or empty the field to go on\.$/));
  assert.equal(await custom.getAttribute('aria-invalid'), 'true');
  assert.equal(await dialog.getByRole('button', { name: 'Run now' }).isDisabled(), true);
  // Enter in a field would submit the form: still nothing is sent
  await dialog.getByLabel('Title').press('Enter');
  await custom.fill('[1, 2]');
  await until(async () => assert.match(await fieldError(custom), /must be a JSON object/));
  await page.keyboard.press('Escape');
  await page.getByRole('dialog', { name: 'Discard your changes?' }).getByRole('button', { name: 'Discard' }).click();
  await dialog.waitFor({ state: 'detached' });
  await page.waitForTimeout(300);
  assert.equal((await sked.api('GET', `/api/jobs/${jobId}/runs`)).hits.total, before);
});

test('a run\'s log lines arrive live on its page', async () => {
  await page.goto(`${sked.url}/jobs/${reindexId}`);
  await page.getByRole('button', { name: 'Configure and run…' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Run now' }).click();
  await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
  const log = page.getByRole('region', { name: 'Log lines' });
  const heading = page.getByRole('heading', { level: 1 });
  await log.getByText('segment 2 rebuilt').waitFor();
  // still running when the second line is there: the lines come as they are written
  assert.match(await heading.innerText(), /RUNNING/);
  await page.getByText('● Live').waitFor();
  await shot(page, 'run-detail', { fullPage: true });
  await log.getByText('index rebuilt').waitFor();
  await heading.getByText('SUCCESS').waitFor();
  await page.getByRole('progressbar', { name: 'Progress' }).waitFor();
  await page.getByText('6 of 6 (100 %)').waitFor();
  await page.getByText('The run has finished; the log is complete.').waitFor();
  // the level filter and the search narrow the lines
  await page.getByLabel('Level').selectOption('INFO');
  await log.getByText('segment 2 rebuilt').waitFor({ state: 'hidden' });
  await page.getByText('2 of 8 lines', { exact: true }).waitFor();
  // what a filter leaves is said once by a status; the counter, which follows every new line of
  // a live run, is no live region
  const said = page.locator('.logview [role="status"]');
  assert.equal(await said.textContent(), '2 of 8 lines shown.');
  assert.deepEqual(await page.locator('.log-count').evaluate((el) => [el.getAttribute('role'), el.getAttribute('aria-live')]), [null, null]);
  await page.getByLabel('Level').selectOption('DEBUG');
  await page.getByLabel('Search log').fill('segment 4');
  await page.getByText('1 of 8 lines', { exact: true }).waitFor();
  assert.equal(await said.textContent(), '1 of 8 lines shown.');
});

test('stop a long run: it ends CANCELLED', async () => {
  await page.goto(`${sked.url}/jobs/${reindexId}`);
  await page.getByRole('button', { name: 'Configure and run…' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Steps').fill('1000');
  await dialog.getByLabel('Step seconds').fill('1');
  await dialog.getByRole('button', { name: 'Run now' }).click();
  await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
  const runId = page.url().split('/').pop();
  await page.getByRole('region', { name: 'Log lines' }).getByText('rebuilding 1000 segment(s)').waitFor();
  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  // a stop asks first: dismissing it leaves the run going
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  assert.equal((await sked.api('GET', `/api/jobs/${reindexId}/runs/${runId}`)).status, 'RUNNING');
  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  await page.getByRole('dialog', { name: 'Stop this run?' }).getByRole('button', { name: 'Stop run' }).click();
  const heading = page.getByRole('heading', { level: 1 });
  await heading.getByText('CANCELLED').waitFor({ timeout: 20000 });
  // the Stop button went away under the keyboard: its place moves to the next action
  await until(async () => assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Run again…'));
  await page.getByText('stopped by Administrator').first().waitFor();
  await page.getByRole('region', { name: 'Log lines' }).getByText(/stop requested by Administrator/).waitFor();
  const run = await sked.api('GET', `/api/jobs/${reindexId}/runs/${runId}`);
  assert.equal(run.status, 'CANCELLED');
  assert.equal(run.stopped_by.name, 'Administrator');
  // the job page lists it with who started it, and the Stop button is gone
  await page.getByRole('link', { name: 'Rebuild the search index' }).first().click();
  const r = page.getByRole('row').filter({ hasText: 'CANCELLED' });
  await r.getByRole('cell', { name: 'Administrator', exact: true }).waitFor();
  assert.equal(await r.getByRole('button', { name: 'Stop', exact: true }).count(), 0);
});

test('schedule by interval, then by crontab, see the next run; remove it', async () => {
  await page.goto(`${sked.url}/jobs`);
  await row(page, TITLE).getByRole('button', { name: 'Schedule…' }).click();
  let dialog = page.getByRole('dialog', { name: /Schedule/ });
  await dialog.getByText('The job must be active to run on its schedule.').waitFor();
  await dialog.getByRole('radio', { name: 'Interval' }).check();
  await dialog.getByLabel('Hours', { exact: true }).fill('1');
  await dialog.getByLabel('Minutes', { exact: true }).fill('30');
  await until(async () => assert.equal(await dialog.locator('.preview-table tbody tr').count(), 5));
  await shot(page, 'schedule-dialog', { height: 1150 });
  // a bad value: the preview shows the server's error at the field
  await dialog.getByLabel('Time zone').fill('Mars/Olympus');
  await until(async () => assert.match(await fieldError(dialog.getByLabel('Time zone')), /unknown time zone/i));
  // the daylight-saving column says what the zone's data says: Ireland's winter time is its
  // daylight-saving one (a negative offset from its summer's), so never "summer time"
  await dialog.getByLabel('Time zone').fill('Europe/Dublin');
  await until(async () => assert.match(await dialog.locator('.preview-table thead').innerText(), /Europe\/Dublin/));
  const shown = await dialog.locator('.preview-table tbody tr td:last-child').allInnerTexts();
  const dst = (await sked.api('POST', '/api/schedules/preview', { schedule: { type: 'interval', hours: 1, minutes: 30, timezone: 'Europe/Dublin' } })).times.map((t) => t.dst);
  assert.deepEqual(shown, dst.map((d) => (d ? 'in effect' : '—')));
  // the browser is in UTC: its UTC column is its own time, shown once
  assert.deepEqual(await dialog.locator('.preview-table thead th').allInnerTexts(),
    ['#', 'Local time (Europe/Dublin)', 'UTC', 'Daylight saving']);
  await dialog.getByLabel('Time zone').fill('UTC');
  await until(async () => assert.equal(await dialog.locator('.preview-table tbody tr').count(), 5));
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached' });
  // an interval fires at once when saved; then the next run is 1 h 30 min later
  await until(async () => {
    const job = await sked.api('GET', `/api/jobs/${jobId}`);
    const next = Date.parse(job.next_run);
    assert.ok(next > Date.now() + 80 * 60000, `next run ${job.next_run}`);
    const cell = row(page, TITLE).locator('td[data-label="Next run"] time');
    assert.equal(await cell.getAttribute('datetime'), job.next_run);
    assert.match(await cell.innerText(), /in (1 hour|2 hours|\d+ minutes)/);
  }, { timeout: 20000 });
  await row(page, TITLE).getByText('Every 1 h 30 min').waitFor();

  await row(page, TITLE).getByRole('button', { name: 'Schedule…' }).click();
  dialog = page.getByRole('dialog', { name: /Schedule/ });
  await dialog.getByRole('radio', { name: 'Crontab' }).check();
  await dialog.getByLabel('Minute', { exact: true }).fill('0');
  await dialog.getByLabel('Hour', { exact: true }).fill('3');
  await dialog.getByLabel('Day of week').fill('mon-fri');
  await until(async () => assert.match(await dialog.locator('.preview-table tbody tr').first().innerText(), /03:00:00/));
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached' });
  await until(async () => {
    const job = await sked.api('GET', `/api/jobs/${jobId}`);
    assert.equal(job.schedule.type, 'crontab');
    assert.match(job.next_run, /T03:00:00\.000000\+00:00$/);
    assert.equal(await row(page, TITLE).locator('td[data-label="Next run"] time').getAttribute('datetime'), job.next_run);
  });
  await row(page, TITLE).getByText('Crontab minute=0 hour=3 day_of_week=mon-fri').waitFor();

  // removing asks first; Cancel goes back to the schedule, which stays
  await row(page, TITLE).getByRole('button', { name: 'Schedule…' }).click();
  dialog = page.getByRole('dialog', { name: /^Schedule/ });
  await dialog.getByRole('button', { name: 'Remove schedule' }).click();
  const confirm = page.getByRole('dialog', { name: `Remove the schedule of “${TITLE}”?` });
  await confirm.getByText('It can still be run by hand, and scheduled again.', { exact: false }).waitFor();
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  await confirm.waitFor({ state: 'detached' });
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Remove schedule');
  assert.equal((await sked.api('GET', `/api/jobs/${jobId}`)).schedule.type, 'crontab');
  await dialog.getByRole('button', { name: 'Remove schedule' }).click();
  await confirm.getByRole('button', { name: 'Remove schedule' }).click();
  await dialog.waitFor({ state: 'detached' });
  await row(page, TITLE).getByText('Not scheduled').waitFor();
  assert.equal((await sked.api('GET', `/api/jobs/${jobId}`)).schedule, null);
});

test('the job page: actions, next run, deactivate and activate', async () => {
  await page.goto(`${sked.url}/jobs`);
  const nightly = row(page, 'Nightly report');
  await nightly.getByRole('link', { name: 'Nightly report' }).click();
  await page.getByRole('heading', { name: 'Nightly report', level: 1 }).waitFor();
  const actions = page.getByRole('toolbar', { name: 'Job actions' });
  for (const name of ['Configure and run…', 'Schedule…', 'Deactivate', 'Edit', 'Delete']) {
    await actions.getByRole('button', { name, exact: true }).waitFor();
  }
  await page.getByText('Cron 0 3 * * 1-5 (Europe/Zurich)').waitFor();
  await page.getByRole('row').filter({ hasText: 'Catch up after the holidays' }).getByText('SUCCESS').waitFor();
  await shot(page, 'job-detail', { fullPage: true });
  // from the keyboard: the focus stays on the button, which now says the opposite
  await actions.getByRole('button', { name: 'Deactivate' }).focus();
  await page.keyboard.press('Enter');
  await actions.getByRole('button', { name: 'Activate', exact: true }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Activate');
  await page.keyboard.press('Enter');
  await actions.getByRole('button', { name: 'Deactivate', exact: true }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Deactivate');
  await page.keyboard.press('Enter');
  await actions.getByRole('button', { name: 'Activate', exact: true }).waitFor();
  assert.equal((await sked.api('GET', `/api/jobs/${(await sked.api('GET', '/api/jobs?q=Nightly')).hits.hits[0].id}`)).active, false);
  await page.goto(`${sked.url}/jobs`);
  await row(page, 'Nightly report').getByText('Inactive').first().waitFor();
  await row(page, 'Nightly report').getByRole('link', { name: 'Nightly report' }).click();
  await page.getByRole('button', { name: 'Activate' }).click();
  await page.getByRole('button', { name: 'Deactivate' }).waitFor();
  // the reference's admin link reaches the same page
  const id = (await sked.api('GET', '/api/jobs?q=Nightly')).hits.hits[0].id;
  await page.goto(`${sked.url}/administration/jobs/${id}`);
  await page.getByRole('heading', { name: 'Nightly report', level: 1 }).waitFor();
});

test('edit the job: the form is filled in, the task is fixed', async () => {
  await page.goto(`${sked.url}/jobs`);
  await row(page, TITLE).getByRole('button', { name: 'Edit' }).click();
  await page.waitForURL(new RegExp(`/jobs/${jobId}/edit$`));
  assert.equal(await page.getByLabel('Title').inputValue(), TITLE);
  assert.equal(await page.getByLabel('Task').isDisabled(), true);
  assert.equal(await page.getByLabel('Records').inputValue(), '20');
  await page.getByLabel('Title').fill(`${TITLE} (edited)`);
  await page.getByLabel('Records').fill('35');
  await page.getByLabel('Overlap').selectOption('skip');
  await page.getByLabel('Retries').fill('2');
  await page.getByLabel('Retry backoff').fill('1m');
  // notifications: a bad address is refused next to its field, and nothing is saved
  await page.getByRole('group', { name: 'Notify when a run ends' }).getByLabel('Failed').check();
  await page.getByLabel('Notification e-mails').fill('ops@example.org\nnot-an-address');
  await page.getByLabel('Webhooks').fill('https://hooks.example.org/sked');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.locator('[data-field="notification_emails"] .field-error')
    .getByText("'not-an-address' is not an e-mail address").waitFor();
  assert.equal(await page.getByLabel('Notification e-mails').getAttribute('aria-invalid'), 'true');
  assert.equal((await sked.api('GET', `/api/jobs/${jobId}`)).title, TITLE);
  await page.getByLabel('Notification e-mails').fill('ops@example.org');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(new RegExp(`/jobs/${jobId}$`));
  await page.getByRole('heading', { name: `${TITLE} (edited)`, level: 1 }).waitFor();
  const job = await sked.api('GET', `/api/jobs/${jobId}`);
  assert.equal(job.title, `${TITLE} (edited)`);
  assert.equal(job.run_args.records, 35);
  assert.equal(job.overlap, 'skip');
  assert.equal(job.timeout, '10m');
  assert.equal(job.max_retries, 2);
  assert.equal(job.retry_backoff, '1m');
  assert.deepEqual(job.notification_statuses, ['FAILED']);
  assert.deepEqual(job.notification_emails, ['ops@example.org']);
  assert.deepEqual(job.notification_webhooks, ['https://hooks.example.org/sked']);
  await page.getByText('2, first after 1m').waitFor();
  await page.getByText('On FAILED: e-mail ops@example.org; webhook https://hooks.example.org/sked').waitFor();
  // the form shows what was saved
  await page.getByRole('button', { name: 'Edit' }).first().click();
  await page.waitForURL(new RegExp(`/jobs/${jobId}/edit$`));
  const group = page.getByRole('group', { name: 'Notify when a run ends' });
  assert.equal(await group.getByLabel('Failed').isChecked(), true);
  assert.equal(await group.getByLabel('Success', { exact: true }).isChecked(), false);
  assert.equal(await page.getByLabel('Webhooks').inputValue(), 'https://hooks.example.org/sked');
  // a colleague's change made while the form is open is not undone by saving the form
  const { description } = await sked.api('GET', `/api/jobs/${jobId}`);
  await sked.api('PATCH', `/api/jobs/${jobId}`, { description: 'changed meanwhile' });
  await page.getByLabel('Title').fill(`${TITLE} (edited twice)`);
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Could not save the job: Someone changed this job after you opened this form. '
    + 'Open the job again to see their change, then make yours.').waitFor();
  const kept = await sked.api('GET', `/api/jobs/${jobId}`);
  assert.equal(kept.title, `${TITLE} (edited)`);
  assert.equal(kept.description, 'changed meanwhile');
  await sked.api('PATCH', `/api/jobs/${jobId}`, { description });
  // Back from the form with the title typed asks first
  await page.goBack();
  await page.getByRole('dialog', { name: 'Discard your changes?' }).getByRole('button', { name: 'Discard' }).click();
  await page.waitForURL(new RegExp(`/jobs/${jobId}$`));
});

test('the runs page and the audit trail', async () => {
  await page.getByRole('link', { name: 'Runs', exact: true }).click();
  await page.waitForURL(/\/runs$/);
  await page.getByRole('row').filter({ hasText: 'Backfill November' }).waitFor();
  await shot(page, 'runs');
  await page.getByLabel('Status').selectOption('CANCELLED');
  await until(async () => assert.equal(await page.getByRole('row').count(), 2));
  await page.getByRole('row').filter({ hasText: 'Rebuild the search index' }).getByText('CANCELLED').waitFor();
  await page.getByLabel('Status').selectOption('');

  // an operator pauses a queue with her token, then changes the reason and resumes it; an admin
  // disables and enables her account
  const olga = await sked.api('POST', '/api/users', { username: 'olga', display_name: 'Olga Operator', role: 'operator', password: 'olga-password-1' });
  const tok = await sked.api('POST', `/api/users/${olga.id}/tokens`, { name: 'monitoring' });
  const asOlga = async (path, body) => assert.equal((await fetch(sked.url + path, {
    method: 'POST', headers: { Authorization: `Bearer ${tok.token}` }, body: body && JSON.stringify(body),
  })).status, 200);
  await asOlga('/api/queues/low/actions/pause', { reason: 'disk swap' });
  await asOlga('/api/queues/low/actions/pause', { reason: 'disk swap, longer' });
  await asOlga('/api/queues/low/actions/resume');
  await sked.api('PATCH', `/api/users/${olga.id}`, { disabled: true });

  await page.getByRole('link', { name: 'Audit trail' }).click();
  await page.waitForURL(/\/audit$/);
  await page.getByRole('row').filter({ hasText: 'run.stopped' }).waitFor();
  await shot(page, 'audit');
  /** The cells of the newest entry of `action`, by column. */
  const entry = async (action) => {
    const r = page.getByRole('row').filter({ has: page.getByText(action, { exact: true }) }).first();
    await r.waitFor();
    return Object.fromEntries(await r.locator('td').evaluateAll((tds) => tds.map((td) => [td.dataset.label, td.innerText.trim()])));
  };
  // people by display name, as elsewhere; what an entry is about by name, not by id
  assert.equal((await entry('run.stopped')).Who, 'Administrator');
  const paused = await entry('queue.paused');
  assert.equal(paused.Who, 'Olga Operator (API token)');
  assert.equal(paused.Target, 'queue low');
  assert.equal((await entry('queue.reason_changed')).Details, 'low: reason: "disk swap" → "disk swap, longer"');
  const disabled = await entry('user.updated');
  assert.equal(disabled.Target, 'olga');
  assert.equal(disabled.Details, 'olga: disabled: false → true');
  assert.equal((await entry('token.created')).Target, 'token “monitoring” of olga');
  const account = page.getByRole('row').filter({ has: page.getByText('user.updated', { exact: true }) }).first();
  assert.equal(await account.locator('td[data-label="Target"] span').getAttribute('title'), `Account ${olga.id}`);
  // every documented action can be picked
  for (const action of ['queue.paused', 'queue.resumed', 'queue.reason_changed', 'user.updated', 'token.revoked', 'login.succeeded']) {
    assert.equal(await page.getByLabel('Action').locator(`option[value="${action}"]`).count(), 1, action);
  }
  await page.getByLabel('Action').selectOption('queue.');
  await until(async () => assert.equal(await page.getByRole('row').count(), 4)); // header + 3
  await page.getByText('3 entries · Page 1 of 1').waitFor();
  await page.getByLabel('Action').selectOption('queue.resumed');
  await page.getByText('1 entry · Page 1 of 1').waitFor();
  await page.getByLabel('Action').selectOption('job.scheduled');
  await until(async () => assert.equal(await page.getByRole('row').count(), 4)); // header + 3
});

test('delete the job after confirming', async () => {
  await page.goto(`${sked.url}/jobs`);
  await row(page, 'edited').getByRole('button', { name: 'Delete' }).click();
  const dialog = page.getByRole('dialog', { name: /Delete/ });
  await dialog.getByText('This cannot be undone.').waitFor();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached' });
  assert.equal((await sked.api('GET', `/api/jobs/${jobId}`)).id, jobId);
  await row(page, 'edited').getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await row(page, 'edited').waitFor({ state: 'detached' });
  await assert.rejects(sked.api('GET', `/api/jobs/${jobId}`), { status: 404 });
  await shot(page, 'jobs-list');
});

test('a saved secret stays a reference through the job form and the run dialog', async () => {
  const body = { $secret: 'ui_body' };
  const headers = { 'X-Token': { $secret: 'ui_token' } };
  const job = await sked.createJob({
    title: 'Call with a secret', task: 'http_call', args: { url: `${sked.url}/healthz`, method: 'POST', body, headers },
  });
  await page.goto(`${sked.url}/jobs/${job.id}/edit`);
  const bodyField = page.getByLabel('Body');
  assert.equal(await bodyField.inputValue(), '{"$secret":"ui_body"}');
  await page.getByText(/The secret ui_body: each run gets the content of the file ui_body/).waitFor();
  assert.deepEqual(JSON.parse(await page.getByLabel('Headers').inputValue()), headers);
  await page.getByLabel('Title').fill('Call with a secret (edited)');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(new RegExp(`/jobs/${job.id}$`));
  const saved = await sked.api('GET', `/api/jobs/${job.id}`);
  assert.equal(saved.title, 'Call with a secret (edited)');
  assert.deepEqual(saved.run_args.body, body);
  assert.deepEqual(saved.run_args.headers, headers);
  // an admin's run dialog keeps them as well, and a reference typed into a field is one
  await page.getByRole('button', { name: 'Configure and run…' }).first().click();
  const dialog = page.getByRole('dialog', { name: /Configure and run/ });
  assert.equal(await dialog.getByLabel('Body').inputValue(), '{"$secret":"ui_body"}');
  await dialog.getByLabel('Url').fill('{"$secret": "ui_token"}');
  await dialog.getByRole('button', { name: 'Run now' }).click();
  await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
  const run = await sked.waitRun(job.id, page.url().split('/').pop());
  assert.deepEqual(run.args.body, body);
  assert.deepEqual(run.args.headers, headers);
  assert.deepEqual(run.args.url, { $secret: 'ui_token' });
  assert.doesNotMatch(JSON.stringify(run), /the-(body|token)-secret/);
});

test('the lists show a run started elsewhere at once, not at their next poll', async () => {
  // Nothing listed is running or due: the jobs list would poll again only in 15 s and the
  // runs page in 10 s; their stream of run changes brings the run within a second or two.
  await page.goto(`${sked.url}/jobs`);
  const line = page.locator(`tr[data-job-id="${reindexId}"]`);
  await line.waitFor();
  await page.waitForTimeout(500); // the stream is open
  const run = await sked.api('POST', `/api/jobs/${reindexId}/runs`, { title: 'started by a script' });
  await line.getByText(/RUNNING|SUCCESS/).first().waitFor({ timeout: 5000 });
  await sked.waitRun(reindexId, run.id);
  await page.goto(`${sked.url}/runs`);
  await row(page, 'started by a script').waitFor();
  await page.waitForTimeout(500);
  const next = await sked.api('POST', `/api/jobs/${reindexId}/runs`, { title: 'started once more' });
  await row(page, 'started once more').waitFor({ timeout: 5000 });
  await sked.waitRun(reindexId, next.id);
});
