// Live pages in many tabs: over HTTP/1.1 the browser opens at most 6 connections to a host,
// and every live page holds one for its event stream. A hidden tab gives its stream up, so
// more tabs still load; shown again, it resumes without missing or repeating anything.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSked, FLOOD_TASK } from './lib/sked.mjs';
import { launch, newPage, signIn, until, finish } from './lib/browser.mjs';

const TABS = 8;
let sked;
let browser;
let page;
let job;
const pages = [];

before(async () => {
  sked = await startSked({ tasks: [FLOOD_TASK] });
  browser = await launch();
  page = await newPage(browser);
  pages.push(page);
  job = await sked.createJob({ title: 'Print 10 lines', task: 'flood', args: { lines: 10 } });
  await signIn(page, sked.url);
});

after(async () => {
  await finish({ pages, browser, sked });
});

/** Another tab of the signed-in browser (same context: same cookies, same connections). */
async function tab() {
  const p = await page.context().newPage();
  p.errors = [];
  p.on('pageerror', (e) => p.errors.push(e));
  pages.push(p);
  return p;
}

/**
 * Hides or shows the tab as switching tabs does. Headless Chromium keeps every tab visible, so
 * the document says what a background tab's would, and is told of the change.
 */
function setHidden(p, hidden) {
  return p.evaluate((hide) => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => hide });
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (hide ? 'hidden' : 'visible') });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

const live = (p) => p.locator('.log-live');

test(`${TABS} run pages of queued runs all load; shown again, each log is complete`, async () => {
  await sked.api('POST', '/api/queues/default/actions/pause', { reason: 'keep the runs queued' });
  const runs = [];
  for (let i = 0; i < TABS; i++) runs.push(await sked.api('POST', `/api/jobs/${job.id}/runs`, {}));
  const tabs = [];
  for (let i = 0; i < TABS; i++) {
    const p = i === 0 ? page : await tab();
    tabs.push(p);
    // a tab past the sixth would wait for a free connection here
    await p.goto(`${sked.url}/jobs/${job.id}/runs/${runs[i].id}`);
    await live(p).filter({ hasText: 'Live' }).waitFor();
    await setHidden(p, true);
  }
  for (const p of tabs) await live(p).filter({ hasText: 'Paused' }).waitFor();
  // the first tab shown again is live again, and gets the lines written while it is shown
  await setHidden(tabs[0], false);
  await live(tabs[0]).filter({ hasText: 'Live' }).waitFor();
  await sked.api('POST', '/api/queues/default/actions/resume');
  for (const r of runs) await sked.waitRun(job.id, r.id);
  // the others were hidden while their runs wrote and ended: shown, they read what they missed
  for (const p of tabs) {
    if (p !== tabs[0]) await setHidden(p, false);
    await live(p).filter({ hasText: 'the log is complete' }).waitFor();
    await p.getByRole('heading', { level: 1 }).getByText('SUCCESS').waitFor();
    await p.getByText('10 lines', { exact: true }).waitFor();
    const seqs = await p.locator('.log-row:not([hidden]) .ln').allTextContents();
    assert.deepEqual(seqs, ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'], 'each line once, in order');
  }
  for (const p of tabs.slice(1)) await p.close();
});

test(`${TABS} lists of runs all load, and a list shown again shows what changed meanwhile`, async () => {
  const tabs = [];
  for (let i = 0; i < TABS; i++) {
    const p = await tab();
    tabs.push(p);
    await p.goto(`${sked.url}/jobs/${job.id}`);
    await p.getByRole('heading', { level: 1, name: 'Print 10 lines' }).waitFor();
    await setHidden(p, true);
  }
  const rows = (p) => p.locator('tbody tr[data-run-id]');
  const before = await rows(tabs[0]).count();
  await sked.api('POST', `/api/jobs/${job.id}/runs`, {});
  await setHidden(tabs[0], false);
  await until(async () => assert.equal(await rows(tabs[0]).count(), before + 1));
});

/** The `seq` of the log lines in sight (not the rows drawn above and below it). */
const seqsInSight = (p) => p.getByRole('region', { name: 'Log lines' }).evaluate((vp) => {
  const box = vp.getBoundingClientRect();
  return [...vp.querySelectorAll('.log-row:not([hidden])')].filter((r) => {
    const b = r.getBoundingClientRect();
    return b.bottom > box.top && b.top < box.bottom;
  }).map((r) => Number(r.querySelector('.ln').textContent));
});

/** Scrolls the log to `where` (0 the start, 1 the end); the lines then in sight follow each other. */
async function consecutiveAt(p, where) {
  await p.getByRole('region', { name: 'Log lines' }).evaluate((vp, at) => {
    vp.scrollTop = at * (vp.scrollHeight - vp.clientHeight);
  }, where);
  await until(async () => {
    const seqs = await seqsInSight(p);
    assert.ok(seqs.length > 5, `${seqs.length} lines in sight`);
    assert.deepEqual(seqs, seqs.map((_, i) => seqs[0] + i), `no line missing or twice at ${where}`);
  });
}

// Each line missed is sent as an event of its own by the stream, a task of the page's thread
// each: a tab far behind reads them in pages of the paged API instead.
test('a tab shown again after a run wrote 200,000 lines reads them in pages, each once', async () => {
  const flood = await sked.createJob({ title: 'Print 200,000 lines', task: 'flood', args: { lines: 200000 } });
  await sked.api('POST', '/api/queues/default/actions/pause', { reason: 'keep the run queued' });
  const run = await sked.api('POST', `/api/jobs/${flood.id}/runs`, {});
  const p = await tab();
  await p.goto(`${sked.url}/jobs/${flood.id}/runs/${run.id}`);
  await live(p).filter({ hasText: 'Live' }).waitFor();
  await setHidden(p, true);
  await sked.api('POST', '/api/queues/default/actions/resume');
  await sked.waitRun(flood.id, run.id, 120000);
  const paged = [];
  p.on('request', (r) => { if (/\/logs\?/.test(r.url())) paged.push(r.url()); });
  await setHidden(p, false);
  await live(p).filter({ hasText: 'the log is complete' }).waitFor({ timeout: 120000 });
  await p.getByRole('heading', { level: 1 }).getByText('SUCCESS').waitFor();
  assert.ok(paged.length >= 40, `${paged.length} pages read for 200,000 lines`);
  const stored = (await sked.api('GET', `/api/jobs/${flood.id}/runs/${run.id}/logs?limit=1`)).hits.total;
  await p.getByText(`${stored.toLocaleString('en-US')} lines`, { exact: true }).waitFor();
  await p.getByRole('region', { name: 'Log lines' }).getByText('line 200000 of 200000').waitFor();
  for (const where of [0, 0.37, 0.5, 1]) await consecutiveAt(p, where);
  await p.close();
});

test('a run page open while a run writes 300,000 lines shows every line once', async () => {
  const flood = await sked.createJob({ title: 'Print 300,000 lines', task: 'flood', args: { lines: 300000 } });
  await sked.api('POST', '/api/queues/default/actions/pause', { reason: 'keep the run queued' });
  const run = await sked.api('POST', `/api/jobs/${flood.id}/runs`, {});
  const p = await tab();
  await p.goto(`${sked.url}/jobs/${flood.id}/runs/${run.id}`);
  await live(p).filter({ hasText: 'Live' }).waitFor();
  await sked.api('POST', '/api/queues/default/actions/resume');
  await sked.waitRun(flood.id, run.id, 120000);
  await live(p).filter({ hasText: 'the log is complete' }).waitFor({ timeout: 120000 });
  const stored = (await sked.api('GET', `/api/jobs/${flood.id}/runs/${run.id}/logs?limit=1`)).hits.total;
  await p.getByText(`${stored.toLocaleString('en-US')} lines`, { exact: true }).waitFor();
  await p.getByRole('region', { name: 'Log lines' }).getByText('line 300000 of 300000').waitFor();
  for (const where of [0, 0.25, 0.5, 0.75, 1]) await consecutiveAt(p, where);
  await p.close();
});
