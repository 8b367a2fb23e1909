// A run that writes 100,000 lines: the run page follows it live, keeps only the visible rows
// in the DOM, scrolls to the last line at once, searches it, and downloads the whole log.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { startSked, FLOOD_TASK, SEQ_TASK } from './lib/sked.mjs';
import { launch, newPage, signIn, until, shot } from './lib/browser.mjs';

let sked;
let browser;
let page;
let job;
let runUrl;

before(async () => {
  sked = await startSked({ tasks: [FLOOD_TASK, SEQ_TASK] });
  browser = await launch();
  page = await newPage(browser);
  job = await sked.createJob({ title: 'Print 100,000 lines', task: 'flood', args: { lines: 100000 } });
  await signIn(page, sked.url);
});

after(async () => {
  const errors = page ? page.errors.map(String) : [];
  await browser?.close();
  await sked?.stop();
  assert.deepEqual(errors, [], 'the pages raised no script error');
});

const domSize = () => page.evaluate(() => ({
  nodes: document.getElementsByTagName('*').length,
  rows: document.querySelectorAll('.log-row').length,
}));
const viewport = () => page.getByRole('region', { name: 'Log lines' });

test('the run page follows 100,000 lines live with a small DOM', async () => {
  await page.goto(`${sked.url}/jobs/${job.id}`);
  await page.getByRole('button', { name: 'Configure and run…' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Run now' }).click();
  await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
  runUrl = page.url();
  await page.getByText('100,000 lines', { exact: true }).waitFor({ timeout: 60000 });
  await page.getByRole('heading', { level: 1 }).getByText('SUCCESS').waitFor();
  // following: the end is in sight without scrolling
  await viewport().getByText('line 100000 of 100000').waitFor();
  const size = await domSize();
  assert.ok(size.rows < 150, `${size.rows} log rows in the DOM`);
  assert.ok(size.nodes < 1500, `${size.nodes} elements in the page`);
});

test('scrolling to the start, the middle and the end is immediate', async () => {
  const took = await viewport().evaluate(async (vp) => {
    const frame = () => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok)));
    const times = [];
    for (const where of [0, 0.5, 1]) {
      const t0 = performance.now();
      vp.scrollTop = where * vp.scrollHeight;
      await frame();
      times.push(performance.now() - t0);
    }
    return times;
  });
  // three scroll-and-paint round trips; each is a couple of frames (~30 ms) when nothing
  // blocks; rendering 100,000 rows would take seconds
  assert.ok(Math.max(...took) < 1000, `scrolling took ${took.map((t) => t.toFixed(0)).join(', ')} ms`);
  await viewport().getByText('line 100000 of 100000').waitFor();
  // at the end it follows; scrolling up pauses it and shows the first line
  assert.equal(await page.getByLabel('Follow').isChecked(), true);
  await viewport().evaluate((vp) => { vp.scrollTop = 0; });
  await viewport().getByText('line 1 of 100000', { exact: true }).waitFor();
  await until(async () => assert.equal(await page.getByLabel('Follow').isChecked(), false));
  assert.ok((await domSize()).rows < 150);
  // keyboard: End in the focused log goes to the last line
  await viewport().focus();
  await page.keyboard.press('End');
  await viewport().getByText('line 100000 of 100000').waitFor();
});

test('searching 100,000 lines', async () => {
  await page.getByLabel('Search log').fill('line 99999 of');
  await page.getByText('1 of 100,000 lines', { exact: true }).waitFor();
  await viewport().getByText('line 99999 of 100000').waitFor();
  assert.equal(await viewport().locator('mark').innerText(), 'line 99999 of', 'what was found is marked');
  await page.getByLabel('Search log').fill('');
  await page.getByText('100,000 lines', { exact: true }).waitFor();
  await shot(page, 'run-detail-big-log');
});

test('downloading the full log as text', async () => {
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download log' }).click(),
  ]);
  assert.match(download.suggestedFilename(), /^sked-run-[0-9a-f-]{36}\.txt$/);
  const text = await readFile(await download.path(), 'utf8');
  const lines = text.trimEnd().split('\n');
  assert.equal(lines.length, 100000);
  assert.match(lines[0], /^1\t\S+\tINFO\tstdout\tline 1 of 100000$/);
  assert.match(lines[99999], /^100000\t.*line 100000 of 100000$/);
});

test('opening the finished run again reads its history in pages', async () => {
  const t0 = Date.now();
  await page.goto(runUrl);
  await page.getByText('100,000 lines', { exact: true }).waitFor({ timeout: 30000 });
  const ms = Date.now() - t0;
  assert.ok(ms < 30000, `${ms} ms to load`);
  await page.getByText('The run has finished; the log is complete.').waitFor();
  // a finished run opens at its start
  await viewport().getByText('line 1 of 100000', { exact: true }).waitFor();
  await until(async () => assert.ok((await domSize()).rows < 150));
});

// Browsers cap an element's height (Chromium at 33,554,432 px): at 20 px a line, a spacer as
// tall as its lines would leave every line past 1,677,721 out of reach.
test('a log of 2,000,000 lines shows its last line and its middle', async () => {
  const big = await sked.createJob({ title: 'Count to 2,000,000', task: 'seq', args: { lines: 2000000 } });
  const run = await sked.api('POST', `/api/jobs/${big.id}/runs`, {});
  await sked.waitRun(big.id, run.id, 300000);
  await page.goto(`${sked.url}/jobs/${big.id}/runs/${run.id}`);
  await page.getByText('2,000,000 lines', { exact: true }).waitFor({ timeout: 300000 });
  // the numbers of the lines in sight (not the rows drawn above and below it)
  const inSight = () => viewport().evaluate((vp) => {
    const box = vp.getBoundingClientRect();
    return [...vp.querySelectorAll('.log-row:not([hidden])')].filter((r) => {
      const b = r.getBoundingClientRect();
      return b.bottom > box.top && b.top < box.bottom;
    }).map((r) => Number(r.querySelector('.msg').textContent));
  });
  await viewport().evaluate((vp) => { vp.scrollTop = vp.scrollHeight; });
  await until(async () => assert.equal((await inSight()).at(-1), 2000000));
  assert.equal(await page.getByLabel('Follow').isChecked(), true, 'at the end, it follows');
  await viewport().evaluate((vp) => { vp.scrollTop = (vp.scrollHeight - vp.clientHeight) / 2; });
  await until(async () => {
    const shown = await inSight();
    assert.ok(shown.some((n) => Math.abs(n - 1000000) < 1000), `the middle shows lines ${shown[0]} to ${shown.at(-1)}`);
  });
  assert.equal(await page.getByLabel('Follow').isChecked(), false);
  // the lines in sight are consecutive: no row drawn over another, no gap
  const shown = await inSight();
  assert.deepEqual(shown, shown.map((_, i) => shown[0] + i));
});
