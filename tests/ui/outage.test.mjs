// The run page while the server cannot be reached (sked killed, then started again): a
// page-wide banner says so and the duration stops counting; both come back with the connection.
// A proxy's page for a sked that does not answer says so, and what to do.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSked } from './lib/sked.mjs';
import { launch, newPage, signIn, until, finish } from './lib/browser.mjs';

let sked;
let browser;
let page;
let job;
let run;

before(async () => {
  sked = await startSked();
  browser = await launch();
  page = await newPage(browser);
  job = await sked.createJob({ title: 'A long rebuild', task: 'reindex', args: { steps: 600, step_seconds: 0.1 } });
  run = await sked.api('POST', `/api/jobs/${job.id}/runs`, {});
  await signIn(page, sked.url);
});

after(() => finish({ page, browser, sked }));

test('the run page says the server is out of reach, and its duration stops until it is back', async () => {
  await page.goto(`${sked.url}/jobs/${job.id}/runs/${run.id}`);
  await page.getByText('● Live').waitFor();
  const duration = page.locator('.run-summary .duration');
  const banner = page.locator('#banner');
  await sked.kill();
  await until(async () => assert.match(await banner.innerText(), /The server cannot be reached/));
  const frozen = await duration.innerText();
  await page.waitForTimeout(2500);
  assert.equal(await duration.innerText(), frozen);
  // back: the banner goes, and the page shows the run as it is now (the restart ended it)
  await sked.restart();
  await until(async () => assert.equal(await banner.innerText(), ''), { timeout: 20000 });
  await page.locator('.run-heading').getByText('FAILED').waitFor();
});


test('the jobs and runs lists left while the server was out of reach come back with it', async () => {
  for (const path of ['/jobs', '/runs']) {
    await page.goto(`${sked.url}/queues`);
    await page.getByRole('heading', { name: 'Queues' }).waitFor();
    await sked.kill();
    await page.getByRole('link', { name: path === '/jobs' ? 'Jobs' : 'Runs', exact: true }).first().click();
    await page.getByText(/The server cannot be reached/).first().waitFor();
    await sked.restart();
    // no reload: the list asks again until it is answered
    await page.getByText('A long rebuild').first().waitFor({ timeout: 20000 });
  }
});

test('a proxy\'s page for a sked that does not answer says what happened and what to do', async () => {
  const proxy = (route) => route.fulfill({ status: 502, contentType: 'text/html',
    body: '<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>' });
  await page.route(/\/api\/runs\?/, proxy);
  try {
    await page.goto(`${sked.url}/runs`);
    const box = page.locator('#app .error-summary');
    await until(async () => assert.equal((await box.innerText()).trim(), 'Could not load the runs: '
      + 'No answer from sked (502 Bad Gateway from a proxy in front of it). Check that sked is running, then try again.'));
  } finally {
    await page.unroute(/\/api\/runs\?/, proxy);
  }
  // the list asks again until it is answered
  await page.getByText('A long rebuild').first().waitFor({ timeout: 20000 });
});
