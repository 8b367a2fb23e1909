// The queues page: every queue with its slots, running and waiting runs and its state, a
// Celery queue with its broker and workers; an operator pauses a queue with a reason (a run
// started into it waits, and its page says why) and resumes it (the run finishes); the API's
// refusals show (a queue gone from the server said as such); a viewer sees no buttons; the
// focus stays put while the page refreshes; a broker out of reach leaves its count unknown.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSked } from './lib/sked.mjs';
import { launch, newPage, signIn, until, shot, row, finish } from './lib/browser.mjs';

// Sleeps in the queue "low" (one slot): a second run waits behind it.
const SLOW_TASK = {
  id: 'slow_import',
  title: 'Import slowly',
  command: ['/bin/sh', '-c', 'echo "<6>importing the archive"; exec sleep 60'],
  default_queue: 'low',
};
// A Celery job type whose broker nobody listens on: its queue is listed, with no worker.
const CELERY_TASK = {
  id: 'remote_add',
  title: 'Add on the workers',
  celery: { broker: 'redis://127.0.0.1:9/0', result_backend: 'redis://127.0.0.1:9/1', task: 'app.add', queue: 'remote' },
};
const REASON = 'database upgrade until 14:00';

let sked;
let browser;
let slow;
let sync;
const started = [];
const pages = [];

before(async () => {
  sked = await startSked({ tasks: [SLOW_TASK, CELERY_TASK] });
  browser = await launch();
  for (const [username, name, role] of [['olga', 'Olga Operator', 'operator'], ['oscar', 'Oscar Operator', 'operator'],
    ['victor', 'Victor Viewer', 'viewer']]) {
    await sked.api('POST', '/api/users', { username, display_name: name, role, password: `${username}-password-1` });
  }
  slow = await sked.createJob({ title: 'Import the archive', task: 'slow_import' });
  sync = await sked.createJob({ title: 'Synchronise the catalogue', task: 'sync_records', args: { records: 5 } });
  for (const title of ['Big import', 'Next import']) started.push(await sked.api('POST', `/api/jobs/${slow.id}/runs`, { title }));
  await until(async () => {
    const low = (await sked.api('GET', '/api/queues')).hits.hits.find((q) => q.name === 'low');
    assert.deepEqual([low.busy, low.queued], [1, 1]);
  });
  // the Celery queue is listed once its job type's broker was first tried
  await until(async () => assert.ok((await sked.api('GET', '/api/queues')).hits.hits.some((q) => q.name === 'remote')));
});

after(async () => {
  for (const r of started) await sked.api('POST', `/api/jobs/${slow.id}/runs/${r.id}/actions/stop`).catch(() => {});
  await finish({ pages, browser, sked });
});

async function open(username, opts) {
  const page = await newPage(browser, opts);
  pages.push(page);
  await signIn(page, sked.url, username, `${username}-password-1`);
  return page;
}

/** The text of each cell of a queue's row, by column. */
async function cells(page, name) {
  const r = page.locator(`tr[data-queue="${name}"]`);
  await r.waitFor();
  return Object.fromEntries(await r.locator('td').evaluateAll((tds) => tds.map((td) => [td.dataset.label, td.innerText.replace(/\s+/g, ' ').trim()])));
}

let olga;

test('the page lists the queues with their figures, after Runs in the top bar', async () => {
  olga = await open('olga');
  const nav = olga.getByRole('navigation', { name: 'Main' });
  assert.deepEqual(await nav.getByRole('link').allInnerTexts(), ['Jobs', 'Runs', 'Queues']);
  await nav.getByRole('link', { name: 'Queues' }).click();
  await olga.waitForURL(/\/queues$/);
  await olga.getByRole('heading', { level: 1, name: 'Queues' }).waitFor();
  assert.equal(await nav.getByRole('link', { name: 'Queues' }).getAttribute('aria-current'), 'page');
  assert.equal(await olga.title(), 'Queues · sked');

  assert.deepEqual(await cells(olga, 'default'), {
    Queue: 'default', Executor: 'local', Slots: '4', Running: '0 of 4', Waiting: '0', State: 'Running', Actions: 'Pause…',
  });
  assert.deepEqual(await cells(olga, 'low'), {
    Queue: 'low', Executor: 'local', Slots: '1', Running: '1 of 1', Waiting: '1', State: 'Running', Actions: 'Pause…',
  });
  const remote = await cells(olga, 'remote');
  assert.equal(remote.Executor, 'celery redis://127.0.0.1:9/0');
  assert.equal(remote.Slots, 'set by the workers');
  // its broker (port 9) does not answer: said first
  assert.equal(remote.State, 'sked cannot reach the broker No worker has reported');
  assert.equal(remote.Actions, 'Pause it at its workers');
  // the queues in their configured order, sked's own first
  assert.deepEqual(await olga.locator('tr[data-queue]').evaluateAll((rs) => rs.map((r) => r.dataset.queue)), ['default', 'low', 'remote']);
});

test('an operator pauses a queue with a reason; a run started into it waits, and says why', async () => {
  const r = row(olga, 'default');
  await r.getByRole('button', { name: 'Pause…' }).click();
  const dialog = olga.getByRole('dialog', { name: 'Pause the queue “default”?' });
  await dialog.getByText('they stay QUEUED until the queue is resumed, and so do the runs started or scheduled in it meanwhile.').waitFor();
  await dialog.getByText('Running runs finish:').waitFor();
  await dialog.getByText('across restarts of sked, until someone resumes the queue.').waitFor();
  // the reason field has the focus, so typing starts at once
  assert.equal(await olga.evaluate(() => document.activeElement.name), 'reason');
  await olga.keyboard.type(REASON);
  await dialog.getByRole('button', { name: 'Pause queue' }).click();
  await dialog.waitFor({ state: 'detached' });

  await until(async () => assert.match((await cells(olga, 'default')).State, new RegExp(`^Paused by Olga Operator since .+ — ${REASON}$`)));
  // the focus is on what comes next: the row's Resume button
  await until(async () => assert.deepEqual(await olga.evaluate(() => [document.activeElement.textContent, document.activeElement.closest('tr')?.dataset.queue]),
    ['Resume…', 'default']));
  const q = (await sked.api('GET', '/api/queues')).hits.hits.find((x) => x.name === 'default');
  assert.equal(q.paused, true);
  assert.equal(q.pause_reason, REASON);
  assert.equal(q.paused_by, 'Olga Operator');
  await shot(olga, 'queues');

  // where a run is started, the queue is marked paused, and the run is said to wait
  await olga.goto(`${sked.url}/jobs/${sync.id}`);
  await olga.getByRole('button', { name: 'Configure and run…' }).click();
  const runDialog = olga.getByRole('dialog');
  assert.equal(await runDialog.getByLabel('Queue').locator('option:checked').innerText(), 'default (4 at a time) — paused');
  await runDialog.getByText(`Queue default is paused by Olga Operator (“${REASON}”): this run waits, queued, until it is resumed.`).waitFor();
  await olga.keyboard.press('Escape');
  await runDialog.waitFor({ state: 'detached' });
  await olga.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Queues' }).click();

  // a run started into the paused queue stays QUEUED, and its page says why
  const run = await sked.api('POST', `/api/jobs/${sync.id}/runs`, { title: 'During the upgrade' });
  await until(async () => assert.equal((await cells(olga, 'default')).Waiting, '1'));
  await olga.waitForTimeout(1000);
  assert.equal((await sked.api('GET', `/api/jobs/${sync.id}/runs/${run.id}`)).status, 'QUEUED');
  await olga.goto(`${sked.url}/jobs/${sync.id}/runs/${run.id}`);
  await olga.getByText(`Queue default is paused by Olga Operator since`).waitFor();
  await olga.getByText(`(“${REASON}”): the run starts once the queue is resumed.`, { exact: false }).waitFor();

  // resuming asks first; then the run starts and finishes
  await olga.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Queues' }).click();
  await row(olga, 'default').getByRole('button', { name: 'Resume…' }).click();
  const confirm = olga.getByRole('dialog', { name: 'Resume the queue “default”?' });
  await confirm.getByText('Its waiting run starts at once, oldest first, as its slots allow (4 at a time).').waitFor();
  await confirm.getByRole('button', { name: 'Resume' }).click();
  await until(async () => assert.equal((await cells(olga, 'default')).State, 'Running'));
  await row(olga, 'default').getByRole('button', { name: 'Pause…' }).waitFor();
  assert.equal((await sked.waitRun(sync.id, run.id)).status, 'SUCCESS');
  assert.equal((await sked.api('GET', '/api/queues')).hits.hits.find((x) => x.name === 'default').paused, false);
});

test('cancelling the pause dialog changes nothing', async () => {
  await row(olga, 'low').getByRole('button', { name: 'Pause…' }).click();
  const dialog = olga.getByRole('dialog', { name: 'Pause the queue “low”?' });
  await dialog.getByText('In low now, 1 run waits and 1 run is running.').waitFor();
  await olga.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.equal((await sked.api('GET', '/api/queues')).hits.hits.find((x) => x.name === 'low').paused, false);
  assert.equal(await olga.evaluate(() => document.activeElement.closest('tr')?.dataset.queue), 'low');
});

test('a refusal of the server shows in the dialog', async () => {
  const oscar = await open('oscar');
  await oscar.goto(`${sked.url}/queues`);
  await row(oscar, 'low').getByRole('button', { name: 'Pause…' }).click();
  const dialog = oscar.getByRole('dialog');
  await dialog.getByLabel('Reason (optional)').fill('x');
  // meanwhile an admin makes Oscar a viewer
  const id = (await sked.api('GET', '/api/users')).hits.hits.find((u) => u.username === 'oscar').id;
  await sked.api('PATCH', `/api/users/${id}`, { role: 'viewer' });
  await dialog.getByRole('button', { name: 'Pause queue' }).click();
  await dialog.getByRole('alert').filter({ hasText: /operator/i }).waitFor();
  // the new role is said, and the dialog stays with the refusal until it is closed
  await oscar.getByText('Your role is now viewer: the page shows what it may do.').waitFor();
  assert.equal(await dialog.isVisible(), true);
  assert.equal((await sked.api('GET', '/api/queues')).hits.hits.find((x) => x.name === 'low').paused, false);
});

test('a viewer sees the queues and their state, without buttons', async () => {
  await sked.api('POST', '/api/queues/low/actions/pause', { reason: 'disk swap' });
  try {
    const victor = await open('victor');
    await victor.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Queues' }).click();
    await until(async () => assert.match((await cells(victor, 'low')).State, /^Paused by bootstrap token since .+ — disk swap$/));
    assert.equal(await victor.getByRole('button', { name: /Pause|Resume/ }).count(), 0);
    assert.equal(await victor.getByRole('columnheader', { name: 'Actions' }).count(), 0);
    // nor "Run again" on a finished run
    const done = await sked.api('GET', `/api/jobs/${sync.id}/runs`);
    await victor.goto(`${sked.url}/jobs/${sync.id}/runs/${done.hits.hits[0].id}`);
    await victor.getByRole('heading', { level: 1 }).getByText('SUCCESS').waitFor();
    assert.equal(await victor.getByRole('button', { name: 'Run again…' }).count(), 0);
  } finally {
    await sked.api('POST', '/api/queues/low/actions/resume');
  }
});

test('the focus stays on its button while the page refreshes', async () => {
  await olga.goto(`${sked.url}/queues`);
  const pause = row(olga, 'default').getByRole('button', { name: 'Pause…' });
  await pause.focus();
  // another queue changes: the table is built anew at the next refresh
  await olga.evaluate(() => { document.querySelector('.queues-table').dataset.old = '1'; });
  await sked.api('POST', '/api/queues/low/actions/pause', {});
  try {
    await until(async () => assert.ok(await olga.evaluate(() => !document.querySelector('.queues-table[data-old]'))), { timeout: 10000 });
    await until(async () => assert.match((await cells(olga, 'low')).State, /^Paused/));
    const focused = await olga.evaluate(() => ({
      text: document.activeElement.textContent, queue: document.activeElement.closest('tr')?.dataset.queue,
      described: document.activeElement.getAttribute('aria-describedby'),
    }));
    assert.deepEqual(focused, { text: 'Pause…', queue: 'default', described: 'qn-default' });
    // and from the keyboard: Tab goes on to the next row's button
    await olga.keyboard.press('Tab');
    assert.deepEqual(await olga.evaluate(() => [document.activeElement.textContent, document.activeElement.closest('tr')?.dataset.queue]),
      ['Resume…', 'low']);
  } finally {
    await sked.api('POST', '/api/queues/low/actions/resume');
  }
});

test('what sked shows rarely: a removed queue finishing its runs, a Celery queue\'s workers', async () => {
  const page = await open('olga');
  // the server's answer, with a queue a reload took out and two workers on the Celery queue
  await page.route('**/api/queues', async (route) => {
    const res = await route.fetch();
    const body = await res.json();
    body.hits.hits.push({
      name: 'old', title: 'old', executor: 'local', concurrency: 2, busy: 1, queued: 0, removed: true,
      paused: false, paused_at: null, paused_by: null, paused_by_id: null, pause_reason: null,
    });
    Object.assign(body.hits.hits.find((q) => q.name === 'remote'), {
      busy: 1, queued: 3, connected: true,
      workers: [
        { hostname: 'w1@box', last_heartbeat: new Date().toISOString(), active: 1, online: true },
        { hostname: 'w2@box', last_heartbeat: new Date(Date.now() - 180000).toISOString(), active: 0, online: false },
      ],
    });
    await route.fulfill({ response: res, json: body });
  });
  await page.goto(`${sked.url}/queues`);
  const old = await cells(page, 'old');
  assert.equal(old.State, 'Removed: finishing its runs');
  assert.equal(old.Running, '1 of 2');
  assert.equal(old.Actions, '—');
  const remote = await cells(page, 'remote');
  assert.equal(remote.Waiting, '3 messages in the broker');
  assert.equal(remote.State, '1 of 2 workers online');
  const workers = page.locator('tr[data-queue="remote"] details');
  await workers.locator('summary').click();
  await workers.getByText('w1@box').waitFor();
  assert.deepEqual(await workers.locator('li').evaluateAll((lis) => lis.map((li) => li.textContent.replace(/\s+/g, ' '))),
    ['w1@box online, 1 task under way, heard from just now', 'w2@box offline, heard from 3 minutes ago']);
  // the heartbeats change at each refresh: the list stays unfolded in the new table
  await page.evaluate(() => { document.querySelector('.queues-table').dataset.old = '1'; });
  await until(async () => assert.ok(await page.evaluate(() => !document.querySelector('.queues-table[data-old]'))), { timeout: 10000 });
  assert.equal(await workers.evaluate((d) => d.open), true);
});

test('a Celery queue whose broker is out of reach shows its waiting count as unknown, not the last one read', async () => {
  const page = await open('olga');
  await page.route('**/api/queues', async (route) => {
    const res = await route.fetch();
    const body = await res.json();
    Object.assign(body.hits.hits.find((q) => q.name === 'remote'), { queued: 7, connected: false });
    await route.fulfill({ response: res, json: body });
  });
  await page.goto(`${sked.url}/queues`);
  assert.equal((await cells(page, 'remote')).Waiting, '— unknown while sked cannot reach the broker');
});

test('pausing a queue the server no longer has says so, and to reload the Queues page', async () => {
  const page = await open('olga');
  await page.goto(`${sked.url}/queues`);
  // the server's answer for a queue a reload of its settings took out since the page was read
  await page.route('**/api/queues/low/actions/pause', (route) => route.fulfill({ status: 404, contentType: 'application/json',
    body: JSON.stringify({ status: 404, message: 'Queue low does not exist (see GET /api/queues).' }) }));
  await row(page, 'low').getByRole('button', { name: 'Pause…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Pause the queue “low”?' });
  await dialog.getByRole('button', { name: 'Pause queue' }).click();
  await until(async () => assert.equal((await dialog.locator('.error-summary').innerText()).trim(),
    'Could not pause low: The queue low no longer exists on this server: reload the Queues page to see the queues it has now.'));
});

test('the job form names a Celery queue by its workers, having no slot count', async () => {
  const admin = await newPage(browser);
  pages.push(admin);
  await signIn(admin, sked.url);
  await admin.goto(`${sked.url}/jobs/new`);
  const queue = admin.getByLabel('Queue');
  assert.equal(await queue.locator('option[value="remote"]').innerText(), 'remote (Celery workers)');
  assert.equal(await queue.locator('option[value="low"]').innerText(), 'low (1 at a time)');
});

test('375 px: the queues as cards, nothing wider than the window', async () => {
  const page = await open('olga', { width: 375, height: 740 });
  await sked.api('POST', '/api/queues/default/actions/pause', { reason: REASON });
  try {
    await page.goto(`${sked.url}/queues`);
    await until(async () => assert.match((await cells(page, 'default')).State, /^Paused/));
    const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: document.documentElement.clientWidth }));
    assert.ok(scroll <= width, `the page is ${scroll} px wide in ${width} px`);
  } finally {
    await sked.api('POST', '/api/queues/default/actions/resume');
  }
});
