// What a first user tripped on: long unbroken titles in tables, log levels of other streams,
// the focus while the jobs list refreshes, why a run waits, links to what does not exist,
// times that can be read without hovering, and running a finished run again.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSked } from './lib/sked.mjs';
import { launch, newPage, signIn, until, row } from './lib/browser.mjs';

// Runs for half a minute in the queue "low" (one slot), writing to both streams.
const SLOW_TASK = {
  id: 'slow_low',
  title: 'Wait in the low queue',
  command: ['/bin/sh', '-c', 'echo begin; echo "<2>cannot reach the catalogue" >&2; sleep 30'],
  default_queue: 'low',
};
const LONG_TITLE = `Supercalifragilistic_${'x'.repeat(90)}_without_any_space`;

let sked;
let browser;
let page;
let slow;
let running;
let waiting;

before(async () => {
  sked = await startSked({ tasks: [SLOW_TASK] });
  browser = await launch();
  page = await newPage(browser);
  slow = await sked.createJob({ title: LONG_TITLE, task: 'slow_low' });
  running = await sked.api('POST', `/api/jobs/${slow.id}/runs`, {});
  waiting = await sked.api('POST', `/api/jobs/${slow.id}/runs`, {});
  await signIn(page, sked.url);
});

after(async () => {
  const errors = page ? page.errors.map(String) : [];
  for (const r of [running, waiting]) {
    if (r) await sked.api('POST', `/api/jobs/${slow.id}/runs/${r.id}/actions/stop`).catch(() => {});
  }
  await browser?.close();
  await sked?.stop();
  assert.deepEqual(errors, [], 'the pages raised no script error');
});

test('a title without spaces wraps in the runs table instead of widening it', async () => {
  await page.goto(`${sked.url}/runs`);
  await page.getByRole('row').filter({ hasText: 'Supercalifragilistic' }).first().waitFor();
  const { table, wrap } = await page.evaluate(() => ({
    table: document.querySelector('.runs-table').getBoundingClientRect().width,
    wrap: document.querySelector('.runs-table').closest('.table-wrap').clientWidth,
  }));
  assert.ok(table <= wrap + 1, `the table is ${table} px wide in ${wrap} px`);
});

test('a queued run says why it waits', async () => {
  await page.goto(`${sked.url}/jobs/${slow.id}/runs/${waiting.id}`);
  await page.getByText('Waiting for a free slot: queue low runs 1 at a time; 1 running, 1 waiting.').waitFor();
  // the facts show the full time beside the relative one, without hovering
  const created = await page.getByRole('region', { name: 'Facts' }).locator('dd').filter({ has: page.locator('time') }).first().innerText();
  assert.match(created, / · /);
  // a paused queue is the reason while it lasts, said with who paused it and why
  await sked.api('POST', '/api/queues/low/actions/pause', { reason: 'catalogue upgrade' });
  try {
    await page.reload();
    await page.getByText(/Queue low is paused by .+ since .+ \(“catalogue upgrade”\): the run starts once the queue is resumed\./).waitFor();
  } finally {
    await sked.api('POST', '/api/queues/low/actions/resume');
  }
});

test('a log line of another stream shows its level and stream apart from its text', async () => {
  await page.goto(`${sked.url}/jobs/${slow.id}/runs/${running.id}`);
  const log = page.getByRole('region', { name: 'Log lines' });
  await log.getByText('cannot reach the catalogue').waitFor();
  const overflowing = await page.evaluate(() => [...document.querySelectorAll('.log-row:not([hidden]) .lv')]
    .filter((lv) => lv.scrollWidth > lv.clientWidth).map((lv) => lv.textContent));
  assert.deepEqual(overflowing, []);
  await page.getByText(/^Times in /).waitFor();
});

test('stopping asks first', async () => {
  // a run under way is not run again (it has no last word yet)
  assert.equal(await page.getByRole('button', { name: 'Run again…' }).count(), 0);
  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Stop this run?' });
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached' });
  assert.equal((await sked.api('GET', `/api/jobs/${slow.id}/runs/${running.id}`)).status, 'RUNNING');
});

test('the jobs list keeps the focus where it was while it refreshes', async () => {
  const other = await sked.createJob({ title: 'Another job', task: 'slow_low' });
  await page.goto(`${sked.url}/jobs`);
  const edit = row(page, 'Another job').getByRole('button', { name: 'Edit' });
  await edit.focus();
  // a job with a run under way refreshes the list every 2 s, and its durations change each time
  await page.evaluate(() => { document.querySelector('.jobs-table').dataset.old = '1'; });
  await until(async () => assert.ok(await page.evaluate(() => !document.querySelector('.jobs-table[data-old]'))),
    { timeout: 10000 });
  const focused = await page.evaluate(() => {
    const el = document.activeElement;
    return { text: el.textContent, job: el.closest('tr')?.dataset.jobId, described: el.getAttribute('aria-describedby') };
  });
  assert.deepEqual(focused, { text: 'Edit', job: other.id, described: `jt-${other.id}` });
});

test('links to a job or a run that does not exist say so, with a way back', async () => {
  const nobody = '00000000-0000-4000-8000-000000000000';
  await page.goto(`${sked.url}/jobs/${nobody}`);
  await page.getByRole('heading', { name: 'Job not found' }).waitFor();
  await page.getByRole('link', { name: 'Back to the jobs.' }).waitFor();
  await page.goto(`${sked.url}/jobs/${slow.id}/runs/${nobody}`);
  await page.getByRole('heading', { name: 'Run not found' }).waitFor();
  await page.getByRole('link', { name: `Back to ${LONG_TITLE}.` }).click();
  await page.getByRole('heading', { level: 1, name: LONG_TITLE }).waitFor();
});

test('the jobs list filters by job type, sorts, and goes to a page by its number', async () => {
  for (let i = 1; i <= 27; i++) await sked.createJob({ title: `Batch ${String(i).padStart(2, '0')}`, task: 'sync_records' });
  await page.goto(`${sked.url}/jobs`);
  await page.getByText('Page 1 of 2').waitFor();
  await page.getByRole('combobox', { name: 'Job type filter' }).selectOption({ label: 'Wait in the low queue' });
  await until(async () => assert.equal(await page.locator('.jobs-table tbody tr').count(), 2));
  assert.match(page.url(), /task=slow_low/);
  await page.getByRole('combobox', { name: 'Job type filter' }).selectOption('');
  await page.getByRole('combobox', { name: 'Order' }).selectOption({ label: 'Newest first' });
  await until(async () => assert.equal(await page.locator('.jobs-table tbody tr .job-title').first().innerText(), 'Batch 27'));
  await page.getByRole('button', { name: 'Page 2', exact: true }).click();
  await page.getByText('Page 2 of 2').waitFor();
  assert.equal(await page.locator('.pager [aria-current="page"]').innerText(), '2');
  // the address keeps all of it
  assert.match(page.url(), /order=newest/);
  assert.match(page.url(), /page=2/);
});

test('"Run again" starts a finished run\'s title, queue and arguments, its since too', async () => {
  // three successful runs: the second continues since the first, the third since the second
  const sync = await sked.createJob({ title: 'Synchronise the catalogue', task: 'sync_records', args: { records: 4 } });
  const runs = [];
  for (const title of ['First sync', 'Second sync', 'Third sync']) {
    const r = await sked.api('POST', `/api/jobs/${sync.id}/runs`, { title, args: { records: 4, reject_every: 0 } });
    runs.push(await sked.waitRun(sync.id, r.id));
  }
  const second = runs[1];
  assert.equal(second.status, 'SUCCESS');
  assert.equal(second.args.since, runs[0].started_at);
  await page.goto(`${sked.url}/jobs/${sync.id}/runs/${second.id}`);
  await page.getByRole('toolbar', { name: 'Run actions' }).getByRole('button', { name: 'Run again…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Run “Synchronise the catalogue” again' });
  await dialog.getByText('so the same window is processed again', { exact: false }).waitFor();
  await dialog.getByText(/^From the run of /).waitFor();
  assert.equal(await dialog.getByLabel('Title').inputValue(), 'Second sync');
  assert.equal(await dialog.getByLabel('Queue').inputValue(), 'default');
  // the arguments as that run received them, as custom args (unfolded), and the same in the fields
  assert.deepEqual(JSON.parse(await dialog.getByLabel('Custom args').inputValue()), second.args);
  assert.equal(await dialog.getByLabel('Records').inputValue(), '4');
  await dialog.getByText(/^Value that will be used: .+, from the custom args below\.$/).waitFor();
  await dialog.getByRole('button', { name: 'Run now' }).click();
  await page.waitForURL((u) => /\/runs\/[0-9a-f-]{36}$/.test(u.pathname) && !u.pathname.endsWith(second.id));
  const again = await sked.waitRun(sync.id, page.url().split('/').pop());
  assert.deepEqual(again.args, second.args);
  assert.notEqual(again.args.since, runs[2].started_at, 'not since the last success: the same window as the second run');
  assert.equal(again.title, 'Second sync');
  assert.equal(again.queue, 'default');
  assert.equal(again.status, 'SUCCESS');
  await page.getByRole('heading', { level: 1, name: /Second sync/ }).getByText('SUCCESS').waitFor();
  await page.getByRole('region', { name: 'Log lines' }).getByText(`since ${second.args.since}`, { exact: false }).first().waitFor();

  // to change an argument: empty the custom args; the fields hold the same values, the since
  // to its last microsecond
  await page.getByRole('button', { name: 'Run again…' }).click();
  const edit = page.getByRole('dialog', { name: 'Run “Synchronise the catalogue” again' });
  const micros = second.args.since.match(/\.(\d+)/)[1].replace(/0+$/, '');
  assert.ok((await edit.getByLabel('Since').inputValue()).endsWith(`.${micros}`));
  await edit.getByLabel('Custom args').fill('');
  await edit.getByText(/^Value that will be used: .+ \(UTC\), as entered\.$/).waitFor();
  await edit.getByLabel('Records').fill('2');
  await edit.getByRole('button', { name: 'Run now' }).click();
  await page.waitForURL((u) => /\/runs\/[0-9a-f-]{36}$/.test(u.pathname) && !u.pathname.endsWith(again.id));
  const changed = await sked.waitRun(sync.id, page.url().split('/').pop());
  assert.deepEqual(changed.args, { ...second.args, records: 2 });
});

test('a chained run names the run whose success started it, with a link to it', async () => {
  const publish = await sked.createJob({ title: 'Publish the catalogue', task: 'sync_records', args: { records: 1 } });
  const harvest = await sked.createJob({ title: 'Harvest the catalogue', task: 'sync_records', args: { records: 1 }, on_success: [publish.id] });
  const first = await sked.api('POST', `/api/jobs/${harvest.id}/runs`, {});
  await sked.waitRun(harvest.id, first.id);
  const chained = await until(async () => {
    const r = (await sked.api('GET', `/api/jobs/${publish.id}/runs`)).hits.hits[0];
    assert.ok(r, 'the chained run is made');
    return r;
  });
  assert.equal(chained.trigger, 'chained');
  await page.goto(`${sked.url}/jobs/${publish.id}/runs/${chained.id}`);
  const facts = page.getByRole('region', { name: 'Facts' });
  const link = facts.getByRole('link', { name: /^Harvest the catalogue \([0-9a-f-]+\)$/ });
  await link.waitFor();
  await facts.getByText(/^chained, after Harvest the catalogue \([0-9a-f-]+\) succeeded$/).waitFor();
  await link.click();
  await page.waitForURL((u) => u.pathname === `/jobs/${harvest.id}/runs/${first.id}`);
});

test('a run held for its job’s running run says so', async () => {
  const job = await sked.createJob({ title: 'One at a time', task: 'slow_low', default_queue: 'default',
    overlap: 'queue_one', schedule: { type: 'interval', seconds: 1 } });
  try {
    const held = await until(async () => {
      const r = (await sked.api('GET', `/api/jobs/${job.id}/runs`)).hits.hits.find((x) => x.held);
      assert.ok(r, 'a fire is held');
      return r;
    });
    await page.goto(`${sked.url}/jobs/${job.id}/runs/${held.id}`);
    await page.getByText('Waits for the job’s running run to end: the job’s overlap policy, queue_one, lets one run wait but none run beside it.').waitFor();
  } finally {
    await sked.api('PATCH', `/api/jobs/${job.id}`, { active: false });
    for (const r of (await sked.api('GET', `/api/jobs/${job.id}/runs`)).hits.hits) {
      await sked.api('POST', `/api/jobs/${job.id}/runs/${r.id}/actions/stop`).catch(() => {});
    }
  }
});
