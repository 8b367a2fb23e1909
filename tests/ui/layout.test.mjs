// Every page at 375 px (a phone) without sideways scrolling, a failed run's error and log on
// a laptop's first screen, a wide screen, the dark scheme, and keyboard use: dialogs take the
// focus, keep it, and close on Escape.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSked } from './lib/sked.mjs';
import { launch, newPage, signIn, until, shot, row, finish } from './lib/browser.mjs';

// A job type whose runs fail with a message of several lines.
const FAILING_TASK = {
  id: 'fail_loudly',
  title: 'Fail with several errors',
  command: ['/bin/sh', '-c', 'for i in 1 2 3 4; do echo "<3>check $i of 4 failed: the remote end refused the batch"; done; exit 3'],
};

// A job type whose description and argument hint hold a word longer than any screen is wide.
const WORDY_TASK = {
  id: 'wordy',
  title: 'Described at length',
  description: `Documented at https://docs.example.com/${'W'.repeat(300)}`,
  command: ['/bin/sh', '-c', 'exit 0'],
  arguments: { type: 'object', properties: { target: { type: 'string', description: `One of ${'W'.repeat(300)}` } } },
};

let sked;
let browser;
let job;
let run;
let failing;
let failedRun;
const pages = [];

before(async () => {
  sked = await startSked({ tasks: [FAILING_TASK, WORDY_TASK] });
  browser = await launch();
  job = await sked.createJob({
    title: 'Synchronise the catalogue with a rather long title that has to wrap on a phone',
    description: 'Pushes changed records to the remote catalogue every night, and reports what was rejected.',
    task: 'sync_records', args: { records: 40, reject_every: 7 },
    schedule: { type: 'interval', hours: 6 },
  });
  run = await sked.api('POST', `/api/jobs/${job.id}/runs`, { title: 'Nightly sync' });
  await sked.waitRun(job.id, run.id);
  failing = await sked.createJob({ title: 'Check the remote end', task: 'fail_loudly' });
  failedRun = await sked.waitRun(failing.id, (await sked.api('POST', `/api/jobs/${failing.id}/runs`, {})).id);
});

after(async () => {
  await finish({ pages, browser, sked });
});

async function open(opts) {
  const page = await newPage(browser, opts);
  pages.push(page);
  return page;
}

/** Fails when the document is wider than the window (content would scroll sideways). */
async function assertNoOverflow(page, what) {
  const { scroll, width, culprit } = await page.evaluate(() => {
    const w = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll('body *')].find((el) => el.getBoundingClientRect().right > w + 1
      && !el.closest('.table-wrap, .log-viewport, pre, .preview-body'));
    return { scroll: document.documentElement.scrollWidth, width: w, culprit: wide ? wide.outerHTML.slice(0, 200) : null };
  });
  assert.ok(scroll <= width, `${what}: the page is ${scroll} px wide in a ${width} px window (${culprit})`);
}

test('375 px: every page and dialog fits the width', async () => {
  const page = await open({ width: 375, height: 740 });
  await page.goto(`${sked.url}/login`);
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await assertNoOverflow(page, 'sign-in page');
  await signIn(page, sked.url);
  await row(page, 'Nightly sync').or(row(page, 'rather long title')).first().waitFor();
  await assertNoOverflow(page, 'jobs list');
  // the top bar: two rows (the mark and who is signed in, then every section), not four
  const bar = await page.getByRole('banner').boundingBox();
  assert.ok(bar.height <= 100, `the top bar is ${bar.height} px high`);
  for (const control of ['Jobs', 'Runs', 'Queues', 'Audit trail', 'Users'].map((name) =>
    page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }))
    .concat(page.getByRole('button', { name: 'Sign out' }))) {
    const box = await control.boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 375, `${control}: ${JSON.stringify(box)}`);
  }
  await shot(page, 'mobile-jobs', { fullPage: true });

  await row(page, 'rather long title').getByRole('button', { name: 'Configure and run…' }).click();
  await page.getByRole('dialog').getByText('Advanced configuration').click();
  await assertNoOverflow(page, 'configure-and-run dialog');
  await page.keyboard.press('Escape');
  await row(page, 'rather long title').getByRole('button', { name: 'Schedule…' }).click();
  await page.getByRole('dialog').locator('.preview-table tbody tr').first().waitFor();
  await assertNoOverflow(page, 'schedule dialog');
  // the table scrolls sideways in a region the keyboard can reach
  const fires = page.getByRole('dialog').getByRole('region', { name: 'Next fire times', exact: true });
  await fires.focus();
  assert.equal(await fires.evaluate((el) => el === document.activeElement && el.scrollWidth > el.clientWidth), true);
  await page.keyboard.press('Escape');

  const paths = [
    ['job page', `/jobs/${job.id}`, 'Runs'],
    ['run page', `/jobs/${job.id}/runs/${run.id}`, 'Log'],
    ['create form', '/jobs/new', 'Create job'],
    ['edit form', `/jobs/${job.id}/edit`, 'Policies'],
    ['runs page', '/runs', 'Runs'],
    ['queues page', '/queues', 'Running'],
    ['audit trail', '/audit', 'Audit trail'],
  ];
  for (const [what, path, text] of paths) {
    await page.goto(sked.url + path);
    await page.getByText(text, { exact: true }).first().waitFor();
    await page.waitForTimeout(200);
    await assertNoOverflow(page, what);
    if (what === 'run page') await shot(page, 'mobile-run', { fullPage: true });
  }
});

test('390 px: a long display name is cut with an ellipsis, and Sign out stays in sight', async () => {
  await sked.api('POST', '/api/users', {
    username: 'maria', display_name: 'Dr. Maria-Magdalena von Schmidt-Hohenberger', role: 'viewer', password: 'maria-password-1',
  });
  const page = await open({ width: 390, height: 844 });
  await signIn(page, sked.url, 'maria', 'maria-password-1');
  await assertNoOverflow(page, 'top bar with a long name');
  const signOut = await page.getByRole('button', { name: 'Sign out' }).boundingBox();
  assert.ok(signOut.x + signOut.width <= 390, `Sign out ends at ${signOut.x + signOut.width} px`);
  const name = page.locator('.who-name');
  assert.ok(await name.evaluate((el) => el.scrollWidth > el.clientWidth), 'the name is cut');
  assert.equal(await name.evaluate((el) => getComputedStyle(el).textOverflow), 'ellipsis');
});

test('1280 px: a display name of 200 letters wraps in the users table instead of widening it', async () => {
  await sked.api('POST', '/api/users', { username: 'longname', display_name: 'N'.repeat(200), role: 'viewer', password: 'longname-password-1' });
  const page = await open();
  await signIn(page, sked.url);
  await page.goto(`${sked.url}/users`);
  const table = page.locator('table').filter({ hasText: 'longname' });
  await table.waitFor();
  const { tableWidth, wrapWidth } = await table.evaluate((t) => ({ tableWidth: t.scrollWidth, wrapWidth: t.parentElement.clientWidth }));
  assert.ok(tableWidth <= wrapWidth, `the table is ${tableWidth} px wide in ${wrapWidth} px`);
  const role = await page.getByRole('columnheader', { name: 'Role' }).boundingBox();
  assert.ok(role.x < 1280, `Role is at ${role.x} px`);
});

test('a failed run at 1280 × 800: why it failed and the log\'s first line without scrolling', async () => {
  const page = await open({ width: 1280, height: 800 });
  await signIn(page, sked.url);
  await page.goto(`${sked.url}/jobs/${failing.id}/runs/${failedRun.id}`);
  const first = page.getByRole('region', { name: 'Log lines' }).getByText(/^check 1 of 4 failed/);
  await first.waitFor();
  await page.getByText('The run has finished; the log is complete.').waitFor();
  const reason = page.getByRole('group', { name: 'Message' }).filter({ hasText: /^exited with status 3/ });
  await reason.waitFor();
  assert.equal(await page.evaluate(() => window.scrollY), 0, 'the page opens at its top');
  for (const [what, el] of [['the log\'s first line', first], ['the error', reason]]) {
    const box = await el.boundingBox();
    assert.ok(box && box.y >= 0 && box.y + box.height <= 800, `${what} is at ${box && Math.round(box.y)} px, outside the 800 px window`);
  }
  // on a phone the same page fits the width, the error before the log
  await page.setViewportSize({ width: 375, height: 740 });
  await page.waitForTimeout(200);
  await assertNoOverflow(page, 'failed run at 375 px');
  assert.ok((await reason.boundingBox()).y < (await first.boundingBox()).y, 'the error comes before the log');
});

test('a wide screen uses the width', async () => {
  const page = await open({ width: 1920, height: 1000 });
  await signIn(page, sked.url);
  await row(page, 'rather long title').waitFor();
  await assertNoOverflow(page, 'jobs list at 1920 px');
  // the row's four actions stand on one line
  const tops = await row(page, 'rather long title').getByRole('button').evaluateAll((bs) => bs.map((b) => Math.round(b.getBoundingClientRect().top)));
  assert.equal(new Set(tops).size, 1, `action rows: ${tops}`);
});

/**
 * Fails when a table is wider than its box, a job's title breaks inside a word that would fit
 * its cell, or a row's buttons are not wholly in the window.
 */
async function assertTablesFit(page, what) {
  const found = await page.evaluate(() => {
    const tables = [...document.querySelectorAll('main table')].map((t) => ({ table: t.scrollWidth, box: t.parentElement.clientWidth }));
    // a word broken over two lines has two boxes
    const broken = [];
    for (const a of document.querySelectorAll('td.job-cell .job-title')) {
      const text = a.firstChild;
      const cell = a.closest('td').getBoundingClientRect().width;
      for (const m of text.data.matchAll(/\S+/g)) {
        const range = document.createRange();
        range.setStart(text, m.index);
        range.setEnd(text, m.index + m[0].length);
        const rects = [...range.getClientRects()].filter((r) => r.width > 0);
        if (rects.length > 1 && range.getBoundingClientRect().width < cell) broken.push(m[0]);
      }
    }
    const cells = [...document.querySelectorAll('td.job-cell')].map((c) => c.getBoundingClientRect().width);
    const out = [...document.querySelectorAll('main tbody button')].map((b) => b.getBoundingClientRect())
      .filter((r) => r.left < 0 || r.right > document.documentElement.clientWidth).length;
    return { tables, broken, cells, out };
  });
  for (const t of found.tables) assert.ok(t.table <= t.box, `${what}: a table is ${t.table} px wide in a box of ${t.box} px`);
  assert.deepEqual(found.broken, [], `${what}: words of job titles broken over two lines`);
  for (const w of found.cells) assert.ok(w >= 100, `${what}: a job's cell is ${w} px wide`);
  assert.equal(found.out, 0, `${what}: buttons of the rows outside the window`);
}

test('768, 1024 and 1280 px: the jobs and runs tables fit their boxes, titles keep their words, the actions are in sight', async () => {
  const page = await open({ width: 1024, height: 768 });
  await signIn(page, sked.url);
  for (const width of [1024, 768, 1280]) {
    await page.setViewportSize({ width, height: 768 });
    await page.goto(`${sked.url}/jobs`);
    await row(page, 'rather long title').getByRole('button', { name: 'Delete' }).waitFor();
    await assertTablesFit(page, `jobs list at ${width} px`);
    await assertNoOverflow(page, `jobs list at ${width} px`);
    await page.goto(`${sked.url}/runs`);
    await row(page, 'Nightly sync').getByRole('button', { name: 'Delete' }).waitFor();
    await assertTablesFit(page, `runs list at ${width} px`);
    await assertNoOverflow(page, `runs list at ${width} px`);
    await page.goto(`${sked.url}/jobs/${job.id}`);
    await row(page, 'Nightly sync').getByRole('button', { name: 'Delete' }).waitFor();
    await assertTablesFit(page, `job page at ${width} px`);
  }
});

test('the dark scheme', async () => {
  const page = await open({ colorScheme: 'dark' });
  await signIn(page, sked.url);
  await page.goto(`${sked.url}/jobs/${job.id}`);
  await page.getByRole('row').filter({ hasText: 'Nightly sync' }).waitFor();
  const [bg, fg] = await page.evaluate(() => {
    const cs = getComputedStyle(document.body);
    const lum = (c) => c.match(/\d+/g).slice(0, 3).reduce((a, b) => a + Number(b), 0) / 3;
    return [lum(cs.backgroundColor), lum(cs.color)];
  });
  assert.ok(bg < 60 && fg > 180, `background ${bg}, text ${fg}`);
  await shot(page, 'dark-mode', { fullPage: true });
  await page.goto(`${sked.url}/jobs/${job.id}/runs/${run.id}`);
  await page.getByRole('region', { name: 'Log lines' }).getByText('record 7 rejected').waitFor();
  await shot(page, 'dark-mode-run');
});

test('keyboard: dialogs take and keep the focus, Escape closes them', async () => {
  const page = await open();
  await signIn(page, sked.url);
  const schedule = row(page, 'rather long title').getByRole('button', { name: 'Schedule…' });
  await schedule.focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: /Schedule/ });
  await dialog.waitFor();
  const inDialog = () => page.evaluate(() => !!document.activeElement.closest('dialog'));
  assert.equal(await inDialog(), true, 'focus moved into the dialog');
  // the saved interval is filled in
  assert.equal(await dialog.getByRole('radio', { name: 'Interval' }).isChecked(), true);
  assert.equal(await dialog.getByLabel('Hours', { exact: true }).inputValue(), '6');
  for (let i = 0; i < 25; i++) {
    await page.keyboard.press('Tab');
    const where = await page.evaluate(() => document.activeElement.tagName);
    if (where !== 'BODY') assert.equal(await inDialog(), true, `Tab ${i + 1} left the dialog`);
  }
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  // a confirmation from the keyboard: Escape cancels
  await row(page, 'Check the remote end').getByRole('button', { name: 'Delete' }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('dialog', { name: /Delete/ }).waitFor();
  await page.keyboard.press('Escape');
  await page.getByRole('dialog').waitFor({ state: 'detached' });
  assert.equal((await sked.api('GET', `/api/jobs/${failing.id}`)).id, failing.id);
});

test('a long run message: first lines, then "Show more"', async () => {
  const page = await open();
  await signIn(page, sked.url);
  await page.goto(`${sked.url}/jobs/${failing.id}`);
  const r = page.getByRole('row').filter({ hasText: 'FAILED' });
  await r.getByText('exited with status 3').waitFor();
  assert.equal(await r.getByText('check 4 of 4 failed').count(), 0);
  const more = r.getByRole('button', { name: 'Show more' });
  await more.focus();
  await page.keyboard.press('Enter');
  await r.getByText(/check 4 of 4 failed/).waitFor();
  assert.equal(await r.getByRole('button', { name: 'Show less' }).getAttribute('aria-expanded'), 'true');
  // the run page shows it whole, with its exit code, though its log is short
  await r.getByRole('link').first().click();
  await page.getByRole('region', { name: 'Facts' }).getByText('Exit code').waitFor();
  await page.locator('pre.message-full').getByText(/check 4 of 4 failed/).waitFor();
});

test('a job type\'s description with a long word wraps: the job form and run dialog fit 1280 and 360 px', async () => {
  const wordy = await sked.createJob({ title: 'Described job', task: 'wordy' });
  for (const width of [1280, 360]) {
    const page = await open({ width, height: 800 });
    await signIn(page, sked.url);
    await page.goto(`${sked.url}/jobs/new`);
    await page.getByLabel('Task').selectOption('wordy');
    await page.locator('.task-info').getByText('Documented at').waitFor();
    await page.getByLabel('Target').waitFor();
    await assertNoOverflow(page, `create form at ${width} px`);
    await page.goto(`${sked.url}/jobs/${wordy.id}/edit`);
    await page.getByLabel('Target').waitFor();
    await assertNoOverflow(page, `edit form at ${width} px`);
    await page.goto(`${sked.url}/jobs/${wordy.id}`);
    await page.getByRole('toolbar', { name: 'Job actions' }).getByRole('button', { name: 'Configure and run…' }).click();
    const body = page.getByRole('dialog').locator('.dialog-body');
    await body.getByLabel('Target').waitFor();
    const { scroll, client } = await body.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
    assert.ok(scroll <= client, `the run dialog's body is ${scroll} px wide in ${client} px at ${width} px`);
    await page.close();
  }
});

test('360 px: a dialog heading of a 250-character title takes at most three lines, its name whole', async () => {
  const title = 'Reconcile the ledger entries of every regional office with the central books '.repeat(4).slice(0, 250).trim();
  const long = await sked.createJob({ title, task: 'fail_loudly', schedule: { type: 'interval', hours: 1 } });
  const page = await open({ width: 360, height: 740 });
  await signIn(page, sked.url);
  await page.goto(`${sked.url}/jobs/${long.id}`);
  const actions = page.getByRole('toolbar', { name: 'Job actions' });
  for (const [button, name] of [['Configure and run…', `Configure and run “${title}”`], ['Schedule…', `Schedule “${title}”`],
    ['Delete', `Delete “${title}”?`]]) {
    await actions.getByRole('button', { name: button, exact: true }).click();
    const dialog = page.getByRole('dialog', { name, exact: true });
    await dialog.waitFor();
    const head = await dialog.locator('.dialog-head h2').evaluate((el) => ({
      height: el.getBoundingClientRect().height, line: parseFloat(getComputedStyle(el).lineHeight), tip: el.title,
    }));
    assert.ok(head.height <= 4 * head.line, `${button}: the heading is ${head.height} px high (lines of ${head.line} px)`);
    assert.equal(head.tip, name);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
  }
});

test('360 px: a log line shows its time, and its message starts in the left half', async () => {
  const page = await open({ width: 360, height: 740 });
  await signIn(page, sked.url);
  await page.goto(`${sked.url}/jobs/${job.id}/runs/${run.id}`);
  const line = page.locator('.log-row.lvl-info:not([hidden])').first();
  await line.waitFor();
  const ts = await line.locator('.ts').boundingBox();
  assert.ok(ts && ts.width > 0 && ts.x >= 0 && ts.x + ts.width <= 360, `the time is at ${JSON.stringify(ts)}`);
  assert.match(await line.locator('.ts').innerText(), /^\d\d:\d\d:\d\d/);
  const msg = await line.locator('.msg').boundingBox();
  assert.ok(msg.x < 180, `the message starts at ${msg.x} px`);
  // the zone the times are in is named, since they are shown
  assert.equal(await page.getByText(/^Times in /).isVisible(), true);
});

test('360 px: the sections bar scrolls sideways, faded at an edge with more beyond it', async () => {
  const page = await open({ width: 360, height: 740 });
  await signIn(page, sked.url);
  const nav = page.getByRole('navigation', { name: 'Main' });
  const state = () => nav.evaluate((el) => ({
    scrolls: el.scrollWidth > el.clientWidth, mask: getComputedStyle(el).maskImage,
    before: el.classList.contains('more-before'), after: el.classList.contains('more-after'),
  }));
  const first = await state();
  assert.ok(first.scrolls, 'the sections are wider than the phone');
  assert.ok(first.after && !first.before && first.mask !== 'none', JSON.stringify(first));
  await nav.evaluate((el) => { el.scrollLeft = el.scrollWidth; });
  await until(async () => {
    const end = await state();
    assert.ok(end.before && !end.after, JSON.stringify(end));
  });
  const users = await nav.getByRole('link', { name: 'Users' }).boundingBox();
  assert.ok(users.x + users.width <= 360, `Users ends at ${users.x + users.width} px`);
});

/** Fails when el's box leaves the window, or its text its box (a word too long to wrap). */
async function assertWhole(locator, what) {
  const r = await locator.evaluate((el) => {
    const box = el.getBoundingClientRect();
    const range = document.createRange();
    range.selectNodeContents(el);
    const text = range.getBoundingClientRect();
    return { box: [box.left, box.right], text: [text.left, text.right], width: document.documentElement.clientWidth };
  });
  assert.ok(r.box[0] >= 0 && r.box[1] <= r.width, `${what}: its box spans ${r.box} px in a ${r.width} px window`);
  assert.ok(r.text[0] >= r.box[0] - 1 && r.text[1] <= r.box[1] + 1, `${what}: its text spans ${r.text} px, its box ${r.box} px`);
}

/** Fails when a table of the page (not of a dialog) is wider than its box. */
async function assertTablesInBox(page, what) {
  const wide = await page.evaluate(() => [...document.querySelectorAll('#app .table-wrap > table')]
    .filter((t) => t.getBoundingClientRect().width > t.parentElement.clientWidth + 1).map((t) => t.className));
  assert.deepEqual(wide, [], `${what}: tables wider than their box`);
}

test('a title of 250 letters without a space wraps wherever it is shown: toasts, headings, dialogs, tables', async () => {
  const title = 'a'.repeat(250);
  for (const width of [1280, 375]) {
    const page = await open({ width, height: 800 });
    await signIn(page, sked.url);
    await page.goto(`${sked.url}/jobs/new`);
    await page.getByLabel('Title').fill(title);
    await page.getByLabel('Task').selectOption('fail_loudly');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(/\/jobs$/);
    await assertWhole(page.locator('.toast').filter({ hasText: 'Created “' }), `the toast at ${width} px`);
    await row(page, title).first().waitFor();
    await assertNoOverflow(page, `the jobs list at ${width} px`);
    await assertTablesInBox(page, `the jobs list at ${width} px`);

    await row(page, title).first().getByRole('link', { name: title }).click();
    const actions = page.getByRole('toolbar', { name: 'Job actions' });
    await actions.waitFor();
    await assertWhole(page.getByRole('heading', { level: 1 }), `the job page's heading at ${width} px`);
    await assertNoOverflow(page, `the job page at ${width} px`);
    for (const button of ['Configure and run…', 'Schedule…', 'Backfill…', 'Delete']) {
      await actions.getByRole('button', { name: button, exact: true }).click();
      const dialog = page.getByRole('dialog');
      await dialog.locator('.dialog-body').waitFor();
      await assertWhole(dialog, `the dialog of ${button} at ${width} px`);
      await assertWhole(dialog.locator('.dialog-head h2'), `the heading of ${button}'s dialog at ${width} px`);
      const body = await dialog.locator('.dialog-body').evaluate((el) => [el.scrollWidth, el.clientWidth]);
      assert.ok(body[0] <= body[1], `the body of ${button}'s dialog is ${body[0]} px wide in ${body[1]} px at ${width} px`);
      if (button !== 'Backfill…') {
        await page.keyboard.press('Escape');
        await dialog.waitFor({ state: 'detached' });
        continue;
      }
      // what was typed is asked about, by the dialog's title
      await dialog.getByLabel('From').fill('2026-03-01');
      await page.keyboard.press('Escape');
      const ask = page.getByRole('dialog', { name: 'Discard your changes?' });
      await assertWhole(ask.locator('.dialog-body p'), `the question of discarding at ${width} px`);
      await ask.getByRole('button', { name: 'Keep editing' }).click();
      await dialog.getByLabel('To').fill('2026-03-02');
      await dialog.getByRole('button', { name: 'Start 1 run' }).click();
      await assertWhole(page.locator('.toast').filter({ hasText: 'Started 1 run of' }), `the backfill's toast at ${width} px`);
    }
    await page.locator('.runs-section tbody tr').first().waitFor();
    await assertTablesInBox(page, `the job page at ${width} px`);
    await page.goto(`${sked.url}/runs`);
    await row(page, title).first().waitFor();
    await assertNoOverflow(page, `the runs page at ${width} px`);
    await assertTablesInBox(page, `the runs page at ${width} px`);
    await page.goto(`${sked.url}/audit`);
    await row(page, title).first().waitFor();
    await assertNoOverflow(page, `the audit trail at ${width} px`);
    await assertTablesInBox(page, `the audit trail at ${width} px`);
    await page.close();
  }
});
