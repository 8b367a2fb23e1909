// The job page's "Backfill…": a past range cut into windows of a step, previewed as it is typed
// (the server's dry run), refused at the field the server names, and started as one run per
// window, each titled by its window, whose page shows the window it processed. Then its "Stop
// runs…", which says how many it stops, and a schedule's jitter in the Schedule dialog.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startSked } from './lib/sked.mjs';
import { launch, newPage, signIn, until, fieldError } from './lib/browser.mjs';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

let sked;
let browser;
let page;
let job;

before(async () => {
  sked = await startSked();
  browser = await launch();
  job = await sked.createJob({ title: 'Harvest the archive', task: 'reindex', args: { steps: 1, step_seconds: 0 } });
  page = await newPage(browser, { bypassCSP: true });
  await signIn(page, sked.url);
});

after(async () => {
  const errors = page ? page.errors.map(String) : [];
  await browser?.close();
  await sked?.stop();
  assert.deepEqual(errors, [], 'the page raised no script error');
});

test('a backfill is previewed, refused at its field, and started as one run per window', async () => {
  await page.goto(`${sked.url}/jobs/${job.id}`);
  await page.getByRole('heading', { name: 'Harvest the archive', level: 1 }).waitFor();
  await page.getByRole('button', { name: 'Backfill…' }).click();
  const dlg = page.getByRole('dialog', { name: 'Backfill “Harvest the archive”' });
  await dlg.waitFor();
  const start = dlg.getByRole('button', { name: /^Start/ });
  assert.equal(await start.isDisabled(), true, 'nothing to start before a range is given');

  await dlg.getByLabel('From').fill('2026-03-01');
  await dlg.getByLabel('To').fill('2026-03-03 12:00');
  await dlg.getByText('3 windows of 1d from 2026-03-01 00:00:00 to 2026-03-03 12:00:00 UTC').waitFor();
  const rows = dlg.getByRole('region', { name: 'Windows' }).getByRole('row');
  assert.equal(await rows.count(), 4, 'a header and three windows');
  assert.deepEqual((await rows.nth(3).allInnerTexts())[0].split(/\s+/).filter(Boolean),
    ['3', '2026-03-03', '00:00:00', '2026-03-03', '12:00:00']);
  await dlg.getByRole('button', { name: 'Start 3 runs' }).waitFor();

  // the server's refusals, at their fields; nothing can be started meanwhile
  await dlg.getByLabel('Step').fill('1s');
  await until(async () => assert.match(await fieldError(dlg.getByLabel('Step')), /at most 1000 a backfill/));
  assert.equal(await start.isDisabled(), true);
  await dlg.getByLabel('Step').fill('1d');
  await dlg.getByLabel('From').fill('yesterday');
  await until(async () => assert.match(await fieldError(dlg.getByLabel('From')), /not a valid date-time/i));
  assert.equal(await start.isDisabled(), true);
  await dlg.getByLabel('From').fill('2026-03-01');
  await dlg.getByRole('button', { name: 'Start 3 runs' }).waitFor();

  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document.querySelector('dialog'), { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'], resultTypes: ['violations'] });
    return r.violations.flatMap((v) => v.nodes.map((n) => `${v.id} at ${n.target.join(' ')}`));
  });
  assert.deepEqual(violations, [], 'the dialog passes axe');

  const sent = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith(`/api/jobs/${job.id}/actions/backfill`));
  await dlg.getByRole('button', { name: 'Start 3 runs' }).click();
  assert.deepEqual((await sent).postDataJSON(), { from: '2026-03-01', to: '2026-03-03 12:00', step: '1d', queue: 'default' });
  await page.getByText('Started 3 runs of Harvest the archive, one per window.').waitFor();
  await dlg.waitFor({ state: 'detached' });

  const runs = await until(async () => {
    const r = await sked.api('GET', `/api/jobs/${job.id}/runs`);
    assert.deepEqual(r.hits.hits.map((x) => x.status), ['SUCCESS', 'SUCCESS', 'SUCCESS']);
    return r.hits.hits;
  });
  assert.deepEqual(runs.map((r) => [r.trigger, r.args.since, r.until]).reverse(), [
    ['backfill', '2026-03-01T00:00:00.000000+00:00', '2026-03-02T00:00:00.000000+00:00'],
    ['backfill', '2026-03-02T00:00:00.000000+00:00', '2026-03-03T00:00:00.000000+00:00'],
    ['backfill', '2026-03-03T00:00:00.000000+00:00', '2026-03-03T12:00:00.000000+00:00']]);
  await page.getByRole('row').filter({ hasText: 'Backfill 2026-03-02 00:00:00 to 2026-03-03 00:00:00 UTC' }).waitFor();

  // a run's page tells the window it processed
  await page.goto(`${sked.url}/jobs/${job.id}/runs/${runs[0].id}`);
  const fact = page.locator('.fact').filter({ has: page.getByText('Window', { exact: true }) });
  await fact.waitFor();
  assert.match(await fact.innerText(), /to/);
});

test('"Stop runs…" stops a job\'s queued and running runs after saying how many', async () => {
  const slow = await sked.createJob({ title: 'Slow reindex', task: 'reindex', args: { steps: 600, step_seconds: 0.1 }, default_queue: 'low' });
  const started = [];
  for (let i = 0; i < 3; i++) started.push(await sked.api('POST', `/api/jobs/${slow.id}/runs`, {}));
  await until(async () => {
    const r = await sked.api('GET', `/api/jobs/${slow.id}/runs`);
    assert.deepEqual(r.hits.hits.map((x) => x.status).sort(), ['QUEUED', 'QUEUED', 'RUNNING']);
  });
  await page.goto(`${sked.url}/jobs/${slow.id}`);
  await page.getByRole('heading', { name: 'Slow reindex', level: 1 }).waitFor();
  await page.getByRole('button', { name: 'Stop runs…' }).click();
  const dlg = page.getByRole('dialog', { name: 'Stop the runs of “Slow reindex”?' });
  await dlg.getByText('2 queued runs are cancelled before they start, and 1 running run is asked to end').waitFor();
  await dlg.getByRole('button', { name: 'Stop runs' }).click();
  await page.getByText('Stopped 3 runs of Slow reindex.').waitFor();
  await until(async () => {
    const r = await sked.api('GET', `/api/jobs/${slow.id}/runs`);
    assert.deepEqual(r.hits.hits.map((x) => x.status), ['CANCELLED', 'CANCELLED', 'CANCELLED']);
  }, { timeout: 20000 });
  // with none left, the action says so
  await page.getByRole('button', { name: 'Stop runs…' }).click();
  await page.getByText('No run of Slow reindex is queued or running.').waitFor();
});

test('a cron schedule with a jitter: the preview gives the job\'s place, the job page says it', async () => {
  await page.goto(`${sked.url}/jobs/${job.id}`);
  await page.getByRole('heading', { name: 'Harvest the archive', level: 1 }).waitFor();
  await page.getByRole('button', { name: 'Schedule…' }).click();
  const dialog = page.getByRole('dialog', { name: /^Schedule/ });
  // an interval takes none: the field is not offered
  assert.equal(await dialog.getByLabel('Jitter').isVisible(), false);
  await dialog.getByRole('radio', { name: 'Cron expression' }).check();
  await dialog.getByRole('textbox', { name: 'Expression' }).fill('0 3 * * *');
  await dialog.getByLabel('Jitter').fill('10m');
  await dialog.getByText(/This job fires \d+(m\d+s|m|s) after each of the schedule's times/).waitFor();
  const first = await dialog.locator('.preview-table tbody tr').first().innerText();
  await dialog.getByLabel('Jitter').fill('2d');
  await until(async () => assert.match(await fieldError(dialog.getByLabel('Jitter')), /from 2s to 1d/i));
  await dialog.getByLabel('Jitter').fill('10m');
  await dialog.getByText(/This job fires/).waitFor();
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached' });
  const saved = await sked.api('GET', `/api/jobs/${job.id}`);
  assert.deepEqual(saved.schedule, { type: 'cron', expression: '0 3 * * *', timezone: 'UTC', jitter: '10m' });
  assert.match(first, new RegExp(saved.next_run.slice(11, 19)));
  await page.getByText('Cron 0 3 * * * (UTC), up to 10m later').waitFor();
});

test('the job form sets an alert when the job stops succeeding; the job page says it', async () => {
  await page.goto(`${sked.url}/jobs/${job.id}/edit`);
  await page.getByLabel('Alert when no success for').fill('26h');
  await page.getByRole('button', { name: 'Save' }).click();
  // the job's page, once saved (the form's heading, “Edit “Harvest the archive””, holds the title too)
  await page.getByRole('heading', { name: 'Harvest the archive', level: 1, exact: true }).waitFor();
  assert.equal((await sked.api('GET', `/api/jobs/${job.id}`)).alert_after, '1d2h'); // as durations are written back
  await page.getByText('after 1d2h without a success').waitFor();
  await page.goto(`${sked.url}/jobs/${job.id}/edit`);
  await page.getByLabel('Alert when no success for').fill('soon');
  await page.getByRole('button', { name: 'Save' }).click();
  await until(async () => assert.match(await fieldError(page.getByLabel('Alert when no success for')), /duration/i));
});

test('after a backfill starts the keyboard is back on Backfill…, not at the top of the page', async () => {
  const other = await sked.createJob({ title: 'Backfilled from the keyboard', task: 'reindex', args: { steps: 1, step_seconds: 0 } });
  await page.goto(`${sked.url}/jobs/${other.id}`);
  const actions = page.getByRole('toolbar', { name: 'Job actions' });
  await actions.getByRole('button', { name: 'Backfill…' }).click();
  const dlg = page.getByRole('dialog', { name: 'Backfill “Backfilled from the keyboard”' });
  await dlg.getByLabel('From').fill('2026-03-01');
  await dlg.getByLabel('To').fill('2026-03-02');
  // the page is drawn anew once the runs start: its button is told apart from this one
  await page.evaluate(() => { document.querySelector('[data-action="backfill"]').dataset.before = ''; });
  await dlg.getByRole('button', { name: 'Start 1 run' }).click();
  await dlg.waitFor({ state: 'detached' });
  await page.locator('[data-action="backfill"]:not([data-before])').waitFor();
  await page.getByRole('row').filter({ hasText: 'Backfill 2026-03-01 00:00:00 to 2026-03-02 00:00:00 UTC' }).waitFor();
  await until(async () => assert.equal(await page.evaluate(() => {
    const a = document.activeElement;
    return a.matches('[data-action="backfill"]') ? a.textContent : `${a.tagName} ${a.textContent.slice(0, 40)}`;
  }), 'Backfill…'));
});
