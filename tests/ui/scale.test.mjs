// 10,000 jobs: the list asks the API for one page at a time, so it opens, searches and
// pages as fast as with ten, and its DOM holds one page of rows.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSked } from './lib/sked.mjs';
import { launch, newPage, signIn, until } from './lib/browser.mjs';

const JOBS = 10000;
let sked;
let browser;
let page;

before(async () => {
  sked = await startSked();
  // eight clients in parallel create the jobs through the API
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < JOBS) {
      const i = next++;
      await sked.createJob({ title: `Bulk job ${String(i).padStart(5, '0')}`, task: 'reindex', description: `Job number ${i} of many.` });
    }
  }));
  browser = await launch();
  page = await newPage(browser);
  await signIn(page, sked.url);
});

after(async () => {
  const errors = page ? page.errors.map(String) : [];
  await browser?.close();
  await sked?.stop();
  assert.deepEqual(errors, [], 'the pages raised no script error');
});

const rows = () => page.getByRole('row');

test('the list of 10,000 jobs opens fast with one page in the DOM', async () => {
  const total = (await sked.api('GET', '/api/jobs?size=1')).hits.total;
  assert.ok(total >= JOBS);
  const t0 = Date.now();
  await page.goto(`${sked.url}/jobs`);
  await page.getByText(`${total.toLocaleString('en-US')} results`).waitFor();
  const ms = Date.now() - t0;
  // generous for a sanitizer build on a busy machine; it takes well under a second alone
  assert.ok(ms < 5000, `${ms} ms to show the list`);
  assert.equal(await rows().count(), 26); // header + 25
  const nodes = await page.evaluate(() => document.getElementsByTagName('*').length);
  assert.ok(nodes < 2500, `${nodes} elements`);
});

test('search and paging go to the server', async () => {
  await page.getByRole('searchbox', { name: 'Search jobs' }).fill('Bulk job 09999');
  await until(async () => assert.equal(await rows().count(), 2));
  await page.getByRole('link', { name: 'Bulk job 09999' }).waitFor();
  await page.getByRole('searchbox', { name: 'Search jobs' }).fill('');
  await page.getByRole('button', { name: 'Next page' }).click();
  await page.getByText('Page 2 of').waitFor();
  await page.getByRole('link', { name: 'Bulk job 00025' }).waitFor();
  // the address keeps the page, so reloading (or sharing it) shows the same
  assert.match(page.url(), /page=2/);
  await page.goto(`${sked.url}/jobs?page=400&size=25`);
  await page.getByRole('link', { name: 'Bulk job 09999' }).waitFor();
  await page.getByLabel('Results per page').selectOption('100');
  await page.getByText('Page 1 of 101').waitFor();
  assert.equal(await rows().count(), 101);
});
