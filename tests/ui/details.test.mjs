// What a first user tripped on: long unbroken titles in tables, a run's queue and counts in the
// runs table, log levels of other streams, the focus while the jobs list refreshes, why a run
// waits, links to what does not exist, times that can be read without hovering, running a
// finished run again, since values read as the server reads them, the schedule dialog of a
// scheduled job, paused queues where a queue is picked, the labels of the job form, typed
// input that a dialog does not drop without asking, and list times that can be compared.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSked } from './lib/sked.mjs';
import { launch, newPage, signIn, until, row, fieldError } from './lib/browser.mjs';

// Runs for half a minute in the queue "low" (one slot), writing to both streams.
const SLOW_TASK = {
  id: 'slow_low',
  title: 'Wait in the low queue',
  command: ['/bin/sh', '-c', 'echo begin; echo "<2>cannot reach the catalogue" >&2; sleep 60'],
  default_queue: 'low',
};
// Counts what it did on its status channel and ends at once.
const COUNTED_TASK = {
  id: 'counted',
  title: 'Count some records',
  command: ['/bin/sh', '-c', 'echo \'{"entries":{"total":1234,"inserted":1200,"updated":30,"errored":4}}\' >&3'],
};
// Sleeps `seconds`, then exits with `code`: a run that succeeds or fails as the test asks.
const EXIT_TASK = {
  id: 'exit_with',
  title: 'Exit with a status',
  command: ['/bin/sh', '-c', 'sleep "$1"; exit "$2"', 'exit_with', '{{seconds}}', '{{code}}'],
  arguments: {
    type: 'object',
    properties: { seconds: { type: 'number', minimum: 0, default: 0 }, code: { type: 'integer', minimum: 0, maximum: 255, default: 0 } },
  },
};
// Prints a line coloured with ANSI escape sequences, and one that clears the line (CSI 2K).
const ANSI_TASK = {
  id: 'ansi_colours',
  title: 'Print in colour',
  command: ['/bin/sh', '-c', "printf '\\033[31mred\\033[0m plain \\033[1;32mbold green\\033[0m \\033[2Kcleared\\n'"],
};
const LONG_TITLE = `Supercalifragilistic_${'x'.repeat(90)}_without_any_space`;

let sked;
let browser;
let page;
let slow;
let running;
let waiting;
const others = []; /* pages besides `page`, whose script errors count too */

before(async () => {
  sked = await startSked({ tasks: [SLOW_TASK, COUNTED_TASK, EXIT_TASK, ANSI_TASK] });
  browser = await launch();
  page = await newPage(browser);
  slow = await sked.createJob({ title: LONG_TITLE, task: 'slow_low' });
  running = await sked.api('POST', `/api/jobs/${slow.id}/runs`, {});
  waiting = await sked.api('POST', `/api/jobs/${slow.id}/runs`, {});
  await signIn(page, sked.url);
});

after(async () => {
  const errors = [page, ...others].filter(Boolean).flatMap((p) => p.errors.map(String));
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

test('the runs table shows each run\'s queue and what it counted', async () => {
  const job = await sked.createJob({ title: 'Counted import', task: 'counted' });
  const counted = await sked.waitRun(job.id, (await sked.api('POST', `/api/jobs/${job.id}/runs`, {})).id);
  assert.equal(counted.status, 'PARTIAL_SUCCESS'); // some entries errored
  await page.goto(`${sked.url}/runs`);
  const cells = async (text) => {
    const r = row(page, text).first();
    await r.waitFor();
    return Object.fromEntries(await r.locator('td').evaluateAll((tds) => tds.map((td) => [td.dataset.label, td.innerText.trim()])));
  };
  const mine = await cells('Counted import');
  assert.equal(mine.Queue, 'default');
  assert.equal(mine.Entries, '1,234 · 4 errored');
  assert.equal(await row(page, 'Counted import').first().locator('td[data-label="Entries"] span[title]').getAttribute('title'),
    '1,234 total · 1,200 inserted · 30 updated · 4 errored');
  const slowRow = await cells('Supercalifragilistic');
  assert.equal(slowRow.Queue, 'low');
  assert.equal(slowRow.Entries, '—');
});

test('a dialog with something typed in asks before Escape, × or Cancel discards it', async () => {
  await page.goto(`${sked.url}/jobs/${slow.id}`);
  const open = async () => {
    await page.getByRole('button', { name: 'Configure and run…' }).click();
    const d = page.getByRole('dialog', { name: `Configure and run “${LONG_TITLE}”` });
    await d.waitFor();
    return d;
  };
  // nothing typed: Escape closes at once
  let dialog = await open();
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });

  dialog = await open();
  await dialog.getByLabel('Title').fill('Backfill of the spring');
  const ask = page.getByRole('dialog', { name: 'Discard your changes?' });
  for (const leave of [() => page.keyboard.press('Escape'), () => dialog.getByRole('button', { name: 'Close' }).click(),
    () => dialog.getByRole('button', { name: 'Cancel' }).click()]) {
    await leave();
    await ask.waitFor();
    await ask.getByRole('button', { name: 'Keep editing' }).click();
    await ask.waitFor({ state: 'detached' });
    assert.equal(await dialog.getByLabel('Title').inputValue(), 'Backfill of the spring');
  }
  await page.keyboard.press('Escape');
  await ask.getByRole('button', { name: 'Discard' }).click();
  await dialog.waitFor({ state: 'detached' });
  assert.equal(await ask.count(), 0);
});

test('the job form asks before Cancel throws away what was typed', async () => {
  const job = await sked.createJob({ title: 'Form to leave', task: 'sync_records' });
  await page.goto(`${sked.url}/jobs/${job.id}/edit`);
  const title = page.getByLabel('Title');
  await title.fill('Form to leave, renamed');
  await page.getByRole('button', { name: 'Cancel' }).click();
  const ask = page.getByRole('dialog', { name: 'Discard your changes?' });
  await ask.getByRole('button', { name: 'Keep editing' }).click();
  await ask.waitFor({ state: 'detached' });
  assert.equal(await title.inputValue(), 'Form to leave, renamed');
  await page.getByRole('button', { name: 'Cancel' }).click();
  await ask.getByRole('button', { name: 'Discard' }).click();
  await until(async () => assert.doesNotMatch(page.url(), /\/edit$/));
  assert.equal((await sked.api('GET', `/api/jobs/${job.id}`)).title, 'Form to leave');
});

test('a list shows a time more than 12 hours off as a date and time, a nearer one as relative', async () => {
  const month = ((new Date().getUTCMonth() + 6) % 12) + 1; /* the first of a month about half a year off */
  await sked.createJob({ title: 'Half-year report', task: 'counted', schedule: { type: 'cron', expression: `0 0 1 ${month} *`, timezone: 'UTC' } });
  await sked.createJob({ title: 'Every six hours', task: 'counted', schedule: { type: 'interval', hours: 6 } });
  await page.goto(`${sked.url}/jobs`);
  const next = async (title) => {
    const cell = row(page, title).first().locator('td[data-label="Next run"] time');
    await cell.waitFor();
    return { text: await cell.innerText(), title: await cell.getAttribute('title') };
  };
  const far = await next('Half-year report');
  // the year when it is another, and the zone, as the schedule beside it names its own
  assert.match(far.text, /^[A-Z][a-z]{2} 1(, \d{4})?, 12:00 AM UTC$/);
  await row(page, 'Half-year report').getByText(`Cron 0 0 1 ${month} * (UTC)`).waitFor();
  assert.match(far.title, /[A-Z][a-z]{2} \d{1,2}, \d{4}/); // the full time stays on hover
  assert.equal((await next('Every six hours')).text, 'in 6 hours');
});

test('a queued run says why it waits', async () => {
  await page.goto(`${sked.url}/jobs/${slow.id}/runs/${waiting.id}`);
  await page.getByText('Waiting for a free slot: queue low runs 1 at a time; 1 running, 1 waiting.').waitFor();
  // asked again every few seconds, the note (a status, read out when it changes) is left alone
  // while what it says stays the same
  const note = page.locator('.wait-note');
  assert.equal(await note.getAttribute('role'), 'status');
  await note.evaluate((el) => { el.lastChild.unchanged = true; });
  const asked = () => page.waitForRequest((r) => r.url().endsWith('/api/queues'));
  await asked();
  await asked(); /* the answer to the first was handled before the second was asked */
  assert.equal(await note.evaluate((el) => el.lastChild.unchanged === true), true);
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

test('a run that ends while its Stop is being confirmed leaves the keyboard on Run again', async () => {
  const job = await sked.createJob({ title: 'Short rebuild', task: 'reindex', args: { steps: 2, step_seconds: 1 } });
  const run = await sked.api('POST', `/api/jobs/${job.id}/runs`, {});
  await page.goto(`${sked.url}/jobs/${job.id}/runs/${run.id}`);
  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Stop this run?' });
  await dialog.waitFor();
  await until(async () => assert.equal((await sked.api('GET', `/api/jobs/${job.id}/runs/${run.id}`)).status, 'SUCCESS'));
  await page.getByRole('heading', { level: 1 }).getByText('SUCCESS').waitFor();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached' });
  await until(async () => assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Run again…'));
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
  // an id with characters a path or a query gives a meaning to ('?', '=', a space) is still an id
  for (const [path, heading] of [['/jobs/%3Fq%3DHealth', 'Job not found'], ['/jobs/%3Fq%3DHealth/edit', 'Job not found'],
    [`/jobs/${slow.id}/runs/%20`, 'Run not found'], [`/jobs/${slow.id}/runs/%3Fsize%3D1`, 'Run not found']]) {
    await page.goto(sked.url + path);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
    assert.equal(await page.locator('.error-summary').count(), 0, path);
  }
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
  await dialog.getByText(/^Value that will be used: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, from the custom args below \(the task gets it as written there\)\.$/).waitFor();
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
  await edit.getByText(/^Value that will be used: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, as entered\.$/).waitFor();
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

test('a since without an offset is UTC wherever the UI reads one, in any browser zone, and is checked as the server checks it', async () => {
  const job = await sked.createJob({ title: 'Sync from a given time', task: 'sync_records', args: { records: 1 } });
  const first = await sked.api('POST', `/api/jobs/${job.id}/runs`, { custom_args: { records: 5, since: '2026-01-01 00:00' } });
  assert.deepEqual((await sked.waitRun(job.id, first.id)).args, { records: 5, since: '2026-01-01 00:00' });
  const zurich = await newPage(browser, { timezoneId: 'Europe/Zurich' });
  others.push(zurich);
  await signIn(zurich, sked.url);
  await zurich.goto(`${sked.url}/jobs/${job.id}/runs/${first.id}`);
  await zurich.getByRole('button', { name: 'Run again…' }).click();
  const dialog = zurich.getByRole('dialog', { name: 'Run “Sync from a given time” again' });
  await dialog.getByText('(since 2026-01-01 00:00 UTC)', { exact: false }).waitFor();
  const since = dialog.getByLabel('Since');
  assert.equal(await since.inputValue(), '2026-01-01 00:00');
  const note = dialog.locator('.will-use');
  assert.equal(await note.innerText(), 'Value that will be used: Jan 1, 2026, 01:00:00 AM GMT+1 (2026-01-01 00:00:00 UTC), '
    + 'from the custom args below (the task gets it as written there).');
  // the hint says what the field reads
  await dialog.getByText('YYYY-MM-DD, YYYY-MM-DD HH:mm or YYYY-MM-DD HH:mm:ss, in UTC unless it ends in an offset such as +01:00.', { exact: false }).waitFor();
  // the fields instead of the custom args: the since typed is UTC too, an offset moves it
  await dialog.getByLabel('Custom args').fill('');
  await until(async () => assert.equal(await note.innerText(), 'Value that will be used: Jan 1, 2026, 01:00:00 AM GMT+1 (2026-01-01 00:00:00 UTC), as entered.'));
  await since.fill('2026-01-01T00:00+01:00');
  await until(async () => assert.match(await note.innerText(), /\(2025-12-31 23:00:00 UTC\), as entered\.$/));
  // one in the future would handle nothing: said before the server refuses it
  await since.fill('2099-01-01');
  await until(async () => assert.match(await note.innerText(), /^Value that will be used: None yet: .*\(2099-01-01 00:00:00 UTC\) is in the future, and a run handles what changed since then\.$/));
  // what the server would refuse is said at once, with the formats it reads; Run now sends nothing
  await since.fill('yesterday');
  await until(async () => assert.equal(await note.innerText(), 'Value that will be used: None yet: “yesterday” is refused (not a date-time; '
    + 'write YYYY-MM-DD, YYYY-MM-DD HH:mm or YYYY-MM-DD HH:mm:ss, in UTC unless it ends in an offset such as +01:00).'));
  await since.press('Tab');
  await until(async () => assert.match(await fieldError(since), /^Not a date-time; write YYYY-MM-DD, /));
  assert.equal(await since.getAttribute('aria-invalid'), 'true');
  await since.fill('2026-02-30 10:00');
  await dialog.getByRole('button', { name: 'Run now' }).click();
  await until(async () => assert.equal(await fieldError(since), 'There is no such date'));
  assert.equal(await zurich.evaluate(() => document.activeElement.name), 'args.since');
  assert.equal((await sked.api('GET', `/api/jobs/${job.id}/runs`)).hits.total, 1);
  // custom args: the task gets their since as written, or none
  const custom = dialog.getByLabel('Custom args');
  await custom.fill('{"records": 2, "since": "yesterday"}');
  await until(async () => assert.equal(await note.innerText(), 'Value that will be used: "yesterday", from the custom args below, as written: '
    + 'custom args are not checked, and this is no date-time.'));
  await custom.fill('{"records": 2}');
  await until(async () => assert.equal(await note.innerText(), 'Value that will be used: None: the custom args below have no since, and the task receives them as they are.'));
  assert.equal(await custom.getAttribute('placeholder'), '{"records": 50}');
  await zurich.keyboard.press('Escape'); // what was typed is dropped once confirmed
  await zurich.getByRole('dialog', { name: 'Discard your changes?' }).getByRole('button', { name: 'Discard' }).click();
  await dialog.waitFor({ state: 'detached' });
  await zurich.context().close();
});

/** The PATCH bodies the page sends while `fn` runs. */
async function patchesDuring(fn) {
  const bodies = [];
  const seen = (r) => { if (r.method() === 'PATCH') bodies.push(r.postDataJSON()); };
  page.on('request', seen);
  try {
    await fn();
  } finally {
    page.off('request', seen);
  }
  return bodies;
}

const focusedText = () => page.evaluate(() => document.activeElement.textContent);

test('the schedule dialog of a scheduled job shows its next run, which saving it unchanged keeps', async () => {
  const job = await sked.createJob({ title: 'Hourly sync', task: 'sync_records', args: { records: 1 }, schedule: { type: 'interval', hours: 1 } });
  // saved, an interval fires at once; its next run is an hour later once that fire is made
  const saved = await until(async () => {
    const j = await sked.api('GET', `/api/jobs/${job.id}`);
    assert.ok(Date.parse(j.next_run) > Date.now() + 30 * 60000, `next run ${j.next_run}`);
    return j;
  });
  await page.goto(`${sked.url}/jobs/${job.id}`);
  const opener = page.getByRole('toolbar', { name: 'Job actions' }).getByRole('button', { name: 'Schedule…' });
  await opener.focus();
  await page.keyboard.press('Enter');
  let dialog = page.getByRole('dialog', { name: 'Schedule “Hourly sync”' });
  await dialog.getByText(/^Current schedule: Every 1 h\. Next run: .+ \(in (1 hour|\d+ minutes)\)\.$/).waitFor();
  // unchanged, it goes on from its next run: it does not fire at once
  const status = dialog.locator('.preview [role="status"]');
  await until(async () => assert.match(await status.innerText(), /^Unchanged: saving keeps the next run, /));
  assert.doesNotMatch(await status.innerText(), /at once/);
  // (a schedule in UTC has its local time column only)
  await until(async () => assert.equal((await dialog.locator('.preview-table tbody tr').first().locator('td').nth(1).innerText()).slice(0, 19),
    saved.next_run.slice(0, 19).replace('T', ' ')));
  assert.equal(await dialog.locator('.preview-table thead th').filter({ hasText: /^UTC$/ }).count(), 0);
  // saved unchanged: nothing is sent, so the next run and the audit trail stay as they were
  assert.deepEqual(await patchesDuring(async () => {
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
  }), []);
  const same = await sked.api('GET', `/api/jobs/${job.id}`);
  assert.equal(same.next_run, saved.next_run);
  assert.deepEqual(same.schedule, { type: 'interval', hours: 1 });
  assert.deepEqual((await sked.api('GET', `/api/audit?job_id=${job.id}`)).hits.hits.map((e) => e.action), ['job.created']);
  assert.equal(await focusedText(), 'Schedule…');

  // changed, it fires at once; it is sent as typed, and the focus comes back to its button
  await page.keyboard.press('Enter');
  dialog = page.getByRole('dialog', { name: 'Schedule “Hourly sync”' });
  await dialog.getByLabel('Hours', { exact: true }).fill('2');
  await until(async () => assert.match(await status.innerText(), /^An interval fires at once when saved, then every interval\./));
  assert.deepEqual(await patchesDuring(async () => {
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('region', { name: 'Schedule' }).getByText('Every 2 h').waitFor();
  }), [{ schedule: { type: 'interval', hours: 2 } }]);
  assert.equal(await focusedText(), 'Schedule…');

  // removed after confirming, the focus back on the button too, also when the page was redrawn
  // under the dialog (the job changed meanwhile) and the button that opened it is gone
  const old = await opener.elementHandle();
  await page.keyboard.press('Enter');
  dialog = page.getByRole('dialog', { name: 'Schedule “Hourly sync”' });
  await sked.api('PATCH', `/api/jobs/${job.id}`, { description: 'Changed meanwhile' });
  await until(async () => assert.equal(await old.evaluate((el) => el.isConnected), false), { timeout: 30000 });
  await dialog.getByRole('button', { name: 'Remove schedule' }).click();
  await page.getByRole('dialog', { name: 'Remove the schedule of “Hourly sync”?' }).getByRole('button', { name: 'Remove schedule' }).click();
  await page.getByRole('region', { name: 'Schedule' }).getByText('Not scheduled').first().waitFor();
  assert.equal(await focusedText(), 'Schedule…');
  assert.equal((await sked.api('GET', `/api/jobs/${job.id}`)).schedule, null);
});

test('an interval saved in milliseconds shows in the units the dialog offers, and stays as saved unless changed', async () => {
  const job = await sked.createJob({ title: 'Every ninety seconds', task: 'sync_records', active: false, schedule: { type: 'interval', milliseconds: 90000 } });
  await page.goto(`${sked.url}/jobs/${job.id}`);
  await page.getByRole('region', { name: 'Schedule' }).getByText('Every 1 min 30 s').waitFor();
  await page.getByRole('button', { name: 'Schedule…' }).click();
  let dialog = page.getByRole('dialog', { name: 'Schedule “Every ninety seconds”' });
  await dialog.getByText('Current schedule: Every 1 min 30 s. The job is inactive, so it has no next run.').waitFor();
  await dialog.getByText('Saved as 90000 ms, shown here as the same length in the units offered.').waitFor();
  const values = async () => Promise.all(['Weeks', 'Days', 'Hours', 'Minutes', 'Seconds'].map((l) => dialog.getByLabel(l, { exact: true }).inputValue()));
  assert.deepEqual(await values(), ['', '', '', '1', '30']);
  await until(async () => assert.equal(await dialog.locator('.preview-table tbody tr').count(), 5));
  await dialog.getByText(/^An interval fires at once when the job is activated, then every interval\./).waitFor();
  assert.deepEqual(await patchesDuring(async () => {
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
  }), []);
  assert.deepEqual((await sked.api('GET', `/api/jobs/${job.id}`)).schedule, { type: 'interval', milliseconds: 90000 });
  await page.getByRole('button', { name: 'Schedule…' }).click();
  dialog = page.getByRole('dialog', { name: 'Schedule “Every ninety seconds”' });
  await dialog.getByLabel('Seconds', { exact: true }).fill('45');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('region', { name: 'Schedule' }).getByText('Every 1 min 45 s').waitFor();
  assert.deepEqual((await sked.api('GET', `/api/jobs/${job.id}`)).schedule, { type: 'interval', minutes: 1, seconds: 45 });
});

test('a paused queue is marked where a run or a job picks its queue, and a run started there is said to wait', async () => {
  await sked.api('POST', '/api/queues/default/actions/pause', { reason: 'catalogue upgrade' });
  try {
    const job = await sked.createJob({ title: 'Sync into a paused queue', task: 'sync_records' });
    await page.goto(`${sked.url}/jobs/${job.id}`);
    await page.getByRole('button', { name: 'Configure and run…' }).click();
    const dialog = page.getByRole('dialog');
    const queue = dialog.getByLabel('Queue');
    assert.equal(await queue.locator('option:checked').innerText(), 'default (4 at a time) — paused');
    assert.equal(await queue.locator('option[value="low"]').innerText(), 'low (1 at a time)');
    const note = dialog.locator('.queue-paused-note');
    assert.match(await note.innerText(), /^Queue default is paused by .+ \(“catalogue upgrade”\): this run waits, queued, until it is resumed\.$/);
    await queue.selectOption('low');
    await note.waitFor({ state: 'hidden' });
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });

    await page.goto(`${sked.url}/jobs/new`);
    await page.getByLabel('Task').selectOption('sync_records');
    assert.equal(await page.getByLabel('Queue').locator('option:checked').innerText(), 'default (4 at a time) — paused');
    await page.locator('.queue-paused-note').getByText(/: runs of this job wait there, queued, until it is resumed\.$/).waitFor();
  } finally {
    await sked.api('POST', '/api/queues/default/actions/resume');
  }
});

test('a job that could not run now says so, and a run that waits in its queue is said to be queued', async () => {
  // the job form does not mark an argument every run needs as required: a run may give it
  await page.goto(`${sked.url}/jobs/new`);
  await page.getByLabel('Task').selectOption('http_call');
  const url = page.getByLabel('URL');
  await page.getByText('Every run needs it: save it here, or give it when running.').waitFor();
  assert.notEqual(await url.getAttribute('aria-required'), 'true');
  const broken = await sked.createJob({ title: 'Ping nothing', task: 'http_call' }); // no url saved
  await page.goto(`${sked.url}/jobs/${broken.id}`);
  await page.getByText('A run started now would be refused:').waitFor();
  // arguments that never validated are not said to validate "no longer"
  await page.getByText('The saved arguments do not validate against the job type.').waitFor();
  await sked.api('POST', '/api/queues/default/actions/pause', {});
  try {
    const job = await sked.createJob({ title: 'Sync while paused', task: 'sync_records' });
    await page.goto(`${sked.url}/jobs/${job.id}`);
    await page.getByRole('heading', { name: 'Sync while paused' }).waitFor();
    assert.equal(await page.getByText('A run started now would be refused:').count(), 0);
    await page.getByRole('button', { name: 'Configure and run…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Run now' }).click();
    await page.getByText('Run queued: Sync while paused. It starts once queue default is resumed: it is paused.').waitFor();
  } finally {
    await sked.api('POST', '/api/queues/default/actions/resume');
  }
});

test('the job form writes acronyms in capitals, tells the two timeouts apart and offers an example of its job type', async () => {
  await page.goto(`${sked.url}/jobs/new`);
  await page.getByLabel('Task').selectOption('http_call');
  const args = page.getByRole('group', { name: 'Arguments' });
  await args.getByRole('textbox', { name: 'URL', exact: true }).waitFor();
  // the argument's title names it (tasks.d/http_call.json); the job's own limit says what it limits
  await args.getByLabel('Request timeout', { exact: true }).waitFor();
  await page.getByRole('group', { name: 'Policies' }).getByLabel('Run timeout', { exact: true }).waitFor();
  assert.equal(await page.getByLabel('Timeout', { exact: true }).count(), 0);
  assert.equal(await page.getByLabel('Custom args').getAttribute('placeholder'), '{"url": "value"}');
});

test('a job\'s page sums up its recent runs: how many ended how, the share that succeeded, how long they took', async () => {
  const job = await sked.createJob({ title: 'Sometimes fails', task: 'exit_with' });
  const run = async (args) => sked.waitRun(job.id, (await sked.api('POST', `/api/jobs/${job.id}/runs`, { args })).id);
  const schedule = page.getByRole('region', { name: 'Schedule' });
  const recent = schedule.locator('.fact').filter({ has: page.getByText('Recent runs', { exact: true }) });
  // one run: its status and how long it took, no share or spread
  const ended = [await run({ seconds: 1, code: 0 })];
  await page.goto(`${sked.url}/jobs/${job.id}`);
  await until(async () => assert.match(await recent.locator('dd').innerText(), /^The last run: SUCCESS · took 1(\.\d)? s$/));
  ended.push(await run({ seconds: 0, code: 3 }));
  assert.deepEqual(ended.map((r) => r.status), ['SUCCESS', 'FAILED']);
  await page.reload();
  // the durations: the failed run ended at once, the successful one slept a second (rounded as the runs table does)
  await until(async () => assert.match(await recent.locator('dd').innerText(),
    /^50% succeeded of the last 2 \(SUCCESS 1, FAILED 1\) · typically \d(\.\d)? s, p95 1(\.\d)? s, at most 1(\.\d)? s$/));

  // a run that ends while the page is open is counted once the page reads the job again
  await run({ seconds: 0, code: 0 });
  await until(async () => assert.match(await recent.locator('dd').innerText(),
    /^67% succeeded of the last 3 \(SUCCESS 2, FAILED 1\) · /), { timeout: 30000 });

  // figures that cannot be read leave them out, and only them: no error is shown for it
  await page.route('**/api/jobs/*/stats', (r) => r.fulfill({ status: 503, contentType: 'application/json', body: '{"status":503,"message":"the store failed"}' }));
  try {
    await page.reload();
    await row(page, 'FAILED').first().waitFor();
    await schedule.getByText('Notifications', { exact: true }).waitFor();
    assert.equal(await recent.count(), 0);
    assert.equal(await page.locator('.error-summary, [role="dialog"]').count(), 0);
  } finally {
    await page.unroute('**/api/jobs/*/stats');
  }

  // a job that has not run has no such figures (and the rest of its page is there)
  const idle = await sked.createJob({ title: 'Never ran', task: 'exit_with' });
  await page.goto(`${sked.url}/jobs/${idle.id}`);
  await page.getByText('This job has not run yet.').waitFor();
  await schedule.getByText('Notifications', { exact: true }).waitFor();
  assert.equal(await page.getByText('Recent runs', { exact: true }).count(), 0);
  assert.equal(await page.getByText(/succeeded of the last/).count(), 0);
});

test('a log line\'s ANSI colours are shown as colours, other escape sequences not at all; search reads the text', async () => {
  const job = await sked.createJob({ title: 'Print in colour', task: 'ansi_colours' });
  const run = await sked.waitRun(job.id, (await sked.api('POST', `/api/jobs/${job.id}/runs`, {})).id);
  await page.goto(`${sked.url}/jobs/${job.id}/runs/${run.id}`);
  const log = page.getByRole('region', { name: 'Log lines' });
  const msg = log.locator('.log-row:not([hidden]) .msg').filter({ hasText: 'plain' });
  await until(async () => assert.equal(await msg.textContent(), 'red plain bold green cleared'));
  // the look of each text node, by its text
  const look = await msg.evaluate((el) => {
    const out = {};
    const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      const s = getComputedStyle(n.parentElement);
      out[n.data.trim()] = { color: s.color, weight: Number(s.fontWeight) };
    }
    return out;
  });
  assert.notEqual(look.red.color, look.plain.color);
  assert.notEqual(look['bold green'].color, look.plain.color);
  assert.notEqual(look['bold green'].color, look.red.color);
  assert.ok(look['bold green'].weight >= 700);
  assert.equal(look.cleared.color, look.plain.color);
  // search reads the text without the escape sequences
  await page.getByRole('searchbox', { name: 'Search log' }).fill('red plain');
  await until(async () => assert.equal(await log.locator('.log-row:not([hidden]) mark').textContent(), 'red plain'));
  assert.equal(await log.locator('.log-row:not([hidden])').count(), 1);
  // the download keeps the raw text
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download log' }).click();
  const text = await (await download).createReadStream().then((st) => new Promise((ok) => {
    let all = '';
    st.on('data', (c) => { all += c; });
    st.on('end', () => ok(all));
  }));
  assert.ok(text.includes('\u001b[31mred\u001b[0m plain \u001b[1;32mbold green\u001b[0m \u001b[2Kcleared'), text);
});

test('"Run again" of a run without a title starts one without a title too', async () => {
  const job = await sked.createJob({ title: 'Exit at once', task: 'exit_with' });
  const first = await sked.waitRun(job.id, (await sked.api('POST', `/api/jobs/${job.id}/runs`, {})).id);
  assert.ok(!first.title);
  await page.goto(`${sked.url}/jobs/${job.id}/runs/${first.id}`);
  await page.getByRole('toolbar', { name: 'Run actions' }).getByRole('button', { name: 'Run again…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Run “Exit at once” again' });
  assert.equal(await dialog.getByLabel('Title').inputValue(), '');
  const sent = page.waitForRequest((r) => r.method() === 'POST' && /\/api\/jobs\/[^/]+\/runs$/.test(r.url()));
  await dialog.getByRole('button', { name: 'Run now' }).click();
  assert.equal((await sent).postDataJSON().title, null);
  await page.waitForURL((u) => /\/runs\/[0-9a-f-]{36}$/.test(u.pathname) && !u.pathname.endsWith(first.id));
  const again = await sked.waitRun(job.id, page.url().split('/').pop());
  assert.ok(!again.title);
  // listed as the first one is: "Run" and its id, not the job's title
  await page.goto(`${sked.url}/jobs/${job.id}`);
  await page.getByRole('link', { name: `Run ${again.id.slice(0, 8)}`, exact: false }).first().waitFor();
});

test('an emptied Since says what the run gets: the start of the last success, not the since saved with the job', async () => {
  const saved = { records: 1, since: '2026-06-01T00:00:00Z' };
  const job = await sked.createJob({ title: 'Sync with a saved since', task: 'sync_records', args: saved });
  const utc = (iso) => `${iso.slice(0, 19).replace('T', ' ')} UTC`; /* the browser is in UTC */
  const openDialog = async () => {
    await page.goto(`${sked.url}/jobs/${job.id}`);
    await page.getByRole('toolbar', { name: 'Job actions' }).getByRole('button', { name: 'Configure and run…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Configure and run “Sync with a saved since”' });
    await dialog.getByLabel('Since').waitFor();
    return dialog;
  };
  // no successful run yet: an empty since is none, whatever the job saved
  let dialog = await openDialog();
  const note = () => dialog.locator('.will-use').innerText();
  assert.equal(await dialog.getByLabel('Since').inputValue(), '2026-06-01 00:00');
  assert.equal(await note(), 'Value that will be used: 2026-06-01 00:00:00 UTC, as entered.');
  await dialog.getByLabel('Since').fill('');
  await until(async () => assert.equal(await note(), 'Value that will be used: None: this job has no successful run yet, so the task starts from the beginning.'));
  await page.keyboard.press('Escape');
  await page.getByRole('dialog', { name: 'Discard your changes?' }).getByRole('button', { name: 'Discard' }).click();
  await dialog.waitFor({ state: 'detached' });

  // after a success: its start, which is what the server gives the run
  const first = await sked.waitRun(job.id, (await sked.api('POST', `/api/jobs/${job.id}/runs`, {})).id);
  assert.equal(first.status, 'SUCCESS');
  assert.equal(first.args.since, '2026-06-01T00:00:00.000000+00:00');
  dialog = await openDialog();
  await dialog.getByLabel('Since').fill('');
  await until(async () => assert.equal(await note(), `Value that will be used: ${utc(first.started_at)} — the start of the last successful run `
    + '(not the since saved with the job: the fields replace the saved arguments).'));
  await dialog.getByRole('button', { name: 'Run now' }).click();
  await page.waitForURL((u) => /\/runs\/[0-9a-f-]{36}$/.test(u.pathname) && !u.pathname.endsWith(first.id));
  const second = await sked.waitRun(job.id, page.url().split('/').pop());
  assert.equal(second.args.since, first.started_at);
});

test('the job page keeps its runs\' status filter, page and page size in the address: Back and a reload come back to them', async () => {
  const job = await sked.createJob({ title: 'Many short runs', task: 'exit_with' });
  const made = [];
  for (let i = 0; i < 32; i++) made.push(await sked.api('POST', `/api/jobs/${job.id}/runs`, { args: { code: i % 8 === 7 ? 1 : 0 } }));
  for (const r of made) await sked.waitRun(job.id, r.id);
  await page.goto(`${sked.url}/jobs/${job.id}`);
  const pages = page.getByRole('navigation', { name: 'Pagination' });
  await pages.getByText('32 runs · Page 1 of 2').waitFor();
  await page.getByLabel('Status filter').selectOption('SUCCESS');
  await pages.getByText('28 runs · Page 1 of 2').waitFor();
  await pages.getByLabel('Results per page').selectOption('10');
  await pages.getByRole('button', { name: 'Page 3' }).click();
  await pages.getByText('28 runs · Page 3 of 3').waitFor();
  assert.equal(new URL(page.url()).search, '?status=SUCCESS&page=3&size=10');
  const shown = await page.locator('.runs-table tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.runId));
  assert.equal(shown.length, 8);
  // a run of the page, then Back
  await page.locator(`.runs-table tr[data-run-id="${shown[0]}"] a`).first().click();
  await page.waitForURL(new RegExp(`/runs/${shown[0]}$`));
  await page.goBack();
  await pages.getByText('28 runs · Page 3 of 3').waitFor();
  assert.equal(await page.getByLabel('Status filter').inputValue(), 'SUCCESS');
  assert.deepEqual(await page.locator('.runs-table tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.runId)), shown);
  await page.reload();
  await pages.getByText('28 runs · Page 3 of 3').waitFor();
  assert.equal(await page.getByLabel('Status filter').inputValue(), 'SUCCESS');
  assert.equal(await pages.getByLabel('Results per page').inputValue(), '10');
});

test('activating a job whose interval fires at once asks first and says that a run starts now', async () => {
  const job = await sked.createJob({ title: 'Every two hours', task: 'exit_with', active: false, schedule: { type: 'interval', hours: 2 } });
  await page.goto(`${sked.url}/jobs/${job.id}`);
  const actions = page.getByRole('toolbar', { name: 'Job actions' });
  await actions.getByRole('button', { name: 'Activate', exact: true }).click();
  let confirm = page.getByRole('dialog', { name: 'Activate “Every two hours”?' });
  await confirm.getByText('which fires at once when the job is activated: a run starts now', { exact: false }).waitFor();
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  await confirm.waitFor({ state: 'detached' });
  assert.equal((await sked.api('GET', `/api/jobs/${job.id}`)).active, false);
  assert.equal((await sked.api('GET', `/api/jobs/${job.id}/runs`)).hits.total, 0);
  await actions.getByRole('button', { name: 'Activate', exact: true }).click();
  confirm = page.getByRole('dialog', { name: 'Activate “Every two hours”?' });
  await confirm.getByRole('button', { name: 'Activate and run now' }).click();
  await page.locator('#toasts').getByText('Job activated: its interval fired at once, so a run starts now.').waitFor();
  await actions.getByRole('button', { name: 'Deactivate', exact: true }).waitFor();
  await until(async () => assert.equal((await sked.api('GET', `/api/jobs/${job.id}/runs`)).hits.total, 1));
  // deactivating asks nothing
  await actions.getByRole('button', { name: 'Deactivate', exact: true }).click();
  await actions.getByRole('button', { name: 'Activate', exact: true }).waitFor();
  assert.equal(await page.getByRole('dialog').count(), 0);
});

test('checking Active in the edit form of a job whose interval fires at once asks first too', async () => {
  const job = await sked.createJob({ title: 'Every three hours', task: 'exit_with', active: false, schedule: { type: 'interval', hours: 3 } });
  await page.goto(`${sked.url}/jobs/${job.id}/edit`);
  await page.getByLabel('Active', { exact: true }).check();
  await page.getByRole('button', { name: 'Save' }).click();
  const confirm = page.getByRole('dialog', { name: 'Activate “Every three hours”?' });
  await confirm.getByText('which fires at once when the job is activated: a run starts now', { exact: false }).waitFor();
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  await confirm.waitFor({ state: 'detached' });
  // nothing saved, the form still open with the box checked
  assert.equal((await sked.api('GET', `/api/jobs/${job.id}`)).active, false);
  assert.equal((await sked.api('GET', `/api/jobs/${job.id}/runs`)).hits.total, 0);
  assert.equal(await page.getByLabel('Active', { exact: true }).isChecked(), true);
  await page.getByRole('button', { name: 'Save' }).click();
  await confirm.getByRole('button', { name: 'Activate and run now' }).click();
  await page.locator('#toasts').getByText('Saved and activated “Every three hours”: its interval fired at once, so a run starts now.').waitFor();
  await page.waitForURL(new RegExp(`/jobs/${job.id}$`));
  assert.equal((await sked.api('GET', `/api/jobs/${job.id}`)).active, true);
  await until(async () => assert.equal((await sked.api('GET', `/api/jobs/${job.id}/runs`)).hits.total, 1));
  // a save that leaves an inactive job inactive asks nothing
  await sked.api('PATCH', `/api/jobs/${job.id}`, { active: false });
  await page.goto(`${sked.url}/jobs/${job.id}/edit`);
  await page.getByLabel('Description').fill('three-hourly');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(new RegExp(`/jobs/${job.id}$`));
  assert.equal(await page.getByRole('dialog').count(), 0);
  assert.equal((await sked.api('GET', `/api/jobs/${job.id}`)).description, 'three-hourly');
});
