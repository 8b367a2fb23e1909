// Lists past their end, links with refused filters, where signing in leads, text a task
// wrote that holds bidirectional controls, and where the keyboard is after a page change, a
// refresh, a Stop or a Delete in a list.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSked } from './lib/sked.mjs';
import { launch, newPage, signIn, until, row, finish } from './lib/browser.mjs';

// A job type whose runs end at once, to have many runs quickly.
const QUICK_TASK = { id: 'quick', title: 'End at once', command: ['/bin/sh', '-c', 'exit 0'] };
// A log line with a right-to-left override (U+202E) in the middle.
// A job type whose runs take large arguments, to have pages too large for one answer.
const BLOB_TASK = {
  id: 'blob', title: 'Take a blob', command: ['/bin/sh', '-c', 'cat > /dev/null'],
  arguments: { type: 'object', properties: { blob: { type: 'string' } } },
};
// A job type whose runs sleep until they are stopped.
const NAP_TASK = { id: 'nap', title: 'Sleep a minute', command: ['/bin/sh', '-c', 'exec sleep 60'] };
const BIDI_TASK = {
  id: 'bidi_line', title: 'Write a bidirectional control',
  command: ['/bin/sh', '-c', 'printf "plain \\342\\200\\256reversed\\n"'],
};

let sked;
let browser;
let page;
let job;

before(async () => {
  sked = await startSked({ tasks: [QUICK_TASK, BIDI_TASK, BLOB_TASK, NAP_TASK] });
  browser = await launch();
  page = await newPage(browser);
  job = await sked.createJob({ title: 'Many quick runs', task: 'quick' });
  // 26 runs: page 2 of 25 holds one
  const runs = [];
  for (let i = 0; i < 26; i++) runs.push(await sked.api('POST', `/api/jobs/${job.id}/runs`, { title: `Quick ${i + 1}` }));
  for (const r of runs) await sked.waitRun(job.id, r.id);
  await signIn(page, sked.url);
});

after(() => finish({ page, browser, sked }));

test('the runs page: a page past the end shows the last page there is', async () => {
  await page.goto(`${sked.url}/runs?job_id=${job.id}&page=9`);
  await page.getByText('26 runs · Page 2 of 2').waitFor();
  assert.equal(await page.getByText('No run matches these filters.').count(), 0);
  await until(async () => assert.match(page.url(), /[?&]page=2\b/));
});

test('a page of runs too large for one answer shows and links the size the server answered it at', async () => {
  // 20 runs of 250 KB of arguments: 4 MiB holds 16, so a page of 100 is answered as one of 10
  const big = await sked.createJob({ title: 'Large arguments', task: 'blob' });
  const runs = [];
  for (let i = 1; i <= 20; i++) {
    runs.push(await sked.api('POST', `/api/jobs/${big.id}/runs`, { title: `Large ${i}`, custom_args: { blob: 'x'.repeat(250000) } }));
  }
  for (const r of runs) await sked.waitRun(big.id, r.id);
  const titles = async () => page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => (r.textContent.match(/Large \d+/) || [''])[0]));
  const newestFirst = runs.map((_, i) => `Large ${20 - i}`);
  for (const [path, scope] of [[`/runs?job_id=${big.id}&size=100`, 'main'], [`/jobs/${big.id}?size=100`, '.runs-section']]) {
    await page.goto(`${sked.url}${path}`);
    await page.getByText('20 runs · Page 1 of 2').waitFor();
    await until(async () => assert.match(page.url(), /[?&]size=10\b/));
    assert.equal(await page.locator(scope).getByLabel('Results per page').inputValue(), '10');
    await until(async () => assert.deepEqual(await titles(), newestFirst.slice(0, 10)));
    await page.locator(scope).getByRole('button', { name: 'Next page' }).click();
    await page.getByText('20 runs · Page 2 of 2').waitFor();
    await until(async () => assert.deepEqual(await titles(), newestFirst.slice(10)));
    assert.match(page.url(), /[?&]page=2\b/);
  }
});

test('the jobs a success starts this one after are all listed, however large their documents', async () => {
  // six jobs of 200 KB of arguments each (800 KB a document): 4 MiB holds five of them
  const target = await sked.createJob({ title: 'Started by many', task: 'quick' });
  const titles = [];
  for (let i = 1; i <= 6; i++) {
    titles.push(`Upstream ${i}`);
    await sked.createJob({ title: `Upstream ${i}`, task: 'blob', custom_args: { blob: 'u'.repeat(200000) }, on_success: [target.id] });
  }
  await page.goto(`${sked.url}/jobs/${target.id}`);
  const fact = page.locator('.fact').filter({ has: page.getByText('Started when these succeed', { exact: true }) });
  await until(async () => assert.deepEqual(await fact.getByRole('link').allInnerTexts(), titles));
});

test('the Job filter says so when its text names no job, rather than keep another job\'s list under it', async () => {
  await page.goto(`${sked.url}/runs?job_id=${job.id}`);
  const box = page.getByLabel('Job', { exact: true });
  await until(async () => assert.equal(await box.inputValue(), 'Many quick runs'));
  await box.fill('Many quick');
  await box.press('Enter');
  const error = page.locator(`#${await box.getAttribute('id')}-err`);
  await until(async () => assert.equal(await error.innerText(),
    'No job is titled “Many quick”: pick one of the suggestions, or paste a job id. '
    + 'The list is still of the job picked before.'));
  assert.equal(await box.getAttribute('aria-invalid'), 'true');
  assert.match(page.url(), new RegExp(`job_id=${job.id}`)); // the list it still shows
  // typing on takes the note away; a title picked filters by it
  await box.fill('Many quick runs');
  await until(async () => assert.equal(await error.innerText(), ''));
  assert.equal(await box.getAttribute('aria-invalid'), null);
});

test('the job page: deleting the only run of the last page shows the page before it', async () => {
  await page.goto(`${sked.url}/jobs/${job.id}`);
  await page.getByRole('button', { name: 'Page 2' }).click();
  await page.getByText('26 runs · Page 2 of 2').waitFor();
  await page.locator('.runs-section').getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog', { name: 'Delete this run?' }).getByRole('button', { name: 'Delete' }).click();
  await until(async () => assert.equal(await page.locator('.runs-section tbody tr').count(), 25));
  assert.equal(await page.getByText('This job has not run yet.').count(), 0);
});

test('the audit trail: a page past the end shows the last page there is', async () => {
  await page.goto(`${sked.url}/audit?page=999`);
  await page.locator('.audit-table').waitFor();
  assert.equal(await page.getByText('No entry matches these filters.').count(), 0);
  await until(async () => assert.doesNotMatch(page.url(), /page=999/));
});

test('a link with filters the server refuses names them as the page does', async () => {
  await page.goto(`${sked.url}/runs?job_id=not-a-job&status=NOPE`);
  const box = page.locator('.error-summary');
  await box.waitFor();
  const text = await box.innerText();
  assert.match(text, /Job: /);
  assert.match(text, /Status: /);
  assert.doesNotMatch(text, /job_id|status:/);
});

test('a page size from a link is shown as chosen, and one the server refuses is named as the page names it', async () => {
  await page.goto(`${sked.url}/runs?job_id=${job.id}&size=7`);
  await page.getByText(/runs · Page 1 of 4/).waitFor();
  assert.equal(await page.getByLabel('Results per page').inputValue(), '7');
  await page.goto(`${sked.url}/jobs?size=5000`);
  const box = page.locator('.error-summary');
  await box.waitFor();
  assert.match(await box.innerText(), /Results per page: /);
  assert.doesNotMatch(await box.innerText(), /size:/);
});

test('deleting the only job of a filtered list leaves the keyboard at the search', async () => {
  await sked.createJob({ title: 'Lonely job', task: 'quick' });
  await page.goto(`${sked.url}/jobs?q=Lonely`);
  await row(page, 'Lonely job').getByRole('button', { name: 'Delete' }).focus();
  await page.keyboard.press('Enter');
  const confirm = page.getByRole('dialog', { name: /^Delete/ });
  await confirm.getByRole('button', { name: 'Delete' }).focus();
  await page.keyboard.press('Enter');
  await page.getByText('No job matches these filters.').waitFor();
  await until(async () => assert.equal(await page.getByRole('searchbox', { name: 'Search jobs' })
    .evaluate((el) => el === document.activeElement), true));
});

test('signing in with a next that is another site goes to the jobs, with no error', async () => {
  const other = await newPage(browser);
  await other.goto(`${sked.url}/login?next=${encodeURIComponent('/\\evil.example')}`);
  await other.getByLabel('Username').fill('admin');
  await other.getByLabel('Password').fill('admin-password-1');
  await other.getByRole('button', { name: 'Sign in' }).click();
  await other.waitForURL(/\/jobs$/);
  await other.getByRole('button', { name: 'Sign out' }).waitFor();
  assert.equal(await other.locator('.error-summary:not([hidden])').count(), 0);
  // a page of the application is where it leads
  await other.getByRole('button', { name: 'Sign out' }).click();
  await other.waitForURL(/\/login/);
  await other.goto(`${sked.url}/login?next=${encodeURIComponent('/runs?status=FAILED')}`);
  await other.getByLabel('Username').fill('admin');
  await other.getByLabel('Password').fill('admin-password-1');
  await other.getByRole('button', { name: 'Sign in' }).click();
  await other.waitForURL(/\/runs\?status=FAILED$/);
  assert.deepEqual(other.errors.map(String), []);
  await other.context().close();
});

test('a bidirectional control in a log line shows as a marker instead of reversing the text', async () => {
  const bidi = await sked.createJob({ title: 'Bidi in the log', task: 'bidi_line' });
  const r = await sked.api('POST', `/api/jobs/${bidi.id}/runs`, {});
  await sked.waitRun(bidi.id, r.id);
  await page.goto(`${sked.url}/jobs/${bidi.id}/runs/${r.id}`);
  const msg = page.locator('.log-row:not([hidden]) .msg').first();
  await until(async () => assert.equal(await msg.innerText(), 'plain ⟨U+202E⟩reversed'));
  assert.equal(await msg.evaluate((el) => /[\u202a-\u202e\u2066-\u2069\u200e\u200f]/.test(el.textContent)), false);
  // found by a search, the marker stays
  await page.getByRole('searchbox', { name: 'Search log' }).fill('rev');
  await until(async () => assert.equal(await msg.locator('mark').innerText(), 'rev'));
  assert.equal(await msg.innerText(), 'plain ⟨U+202E⟩reversed');
});

test('the audit trail\'s User filter finds an account by part of its display name', async () => {
  const olga = await sked.api('POST', '/api/users', { username: 'olga', display_name: 'Olga Operator', role: 'operator' });
  await sked.api('POST', '/api/users', { username: 'oleg', display_name: 'Oleg Observer', role: 'viewer' });
  const tok = await sked.api('POST', `/api/users/${olga.id}/tokens`, { name: 'maintenance' });
  for (const action of ['pause', 'resume']) {
    const res = await fetch(`${sked.url}/api/queues/low/actions/${action}`, { method: 'POST', headers: { Authorization: `Bearer ${tok.token}` } });
    assert.equal(res.status, 200);
  }
  await page.goto(`${sked.url}/audit`);
  await page.locator('.audit-table').waitFor();
  const user = page.getByLabel('User', { exact: true });
  const offered = () => user.evaluate((el) => (el.list ? [...el.list.options].map((o) => o.value) : []));
  await user.fill('operat');
  // the accounts whose display name or username holds what is typed are offered
  await until(async () => assert.deepEqual(await offered(), ['Olga Operator (olga)']));
  await user.press('Enter');
  await until(async () => assert.match(page.url(), /[?&]user=olga(&|$)/));
  await page.getByText('2 entries · Page 1 of 1').waitFor();
  assert.deepEqual([...new Set(await page.locator('td[data-label="Who"]').allInnerTexts())], ['Olga Operator (API token)']);
  assert.equal(await user.inputValue(), 'Olga Operator (olga)');

  // what two accounts' names hold is said to be so, and the list stays as it was
  await user.fill('OL');
  await until(async () => assert.deepEqual(await offered(), ['Oleg Observer (oleg)', 'Olga Operator (olga)']));
  await user.press('Enter');
  const error = page.locator(`#${await user.getAttribute('id')}-err`);
  await until(async () => assert.equal(await error.innerText(),
    '2 accounts match “OL”: pick one of the suggestions. The list is still of the user picked before.'));
  assert.match(page.url(), /[?&]user=olga(&|$)/);
  // a name that is no account's is taken as written: a deleted account's, an operating-system user's
  await user.fill('root');
  await user.press('Enter');
  await until(async () => assert.match(page.url(), /[?&]user=root(&|$)/));
  await page.getByText('No entry matches these filters.').waitFor();
  assert.equal(await error.innerText(), '');
  // a link with a username shows its account by name
  await page.goto(`${sked.url}/audit?user=olga`);
  await until(async () => assert.equal(await user.inputValue(), 'Olga Operator (olga)'));
});

/** The focused element: a pager's control by its name, a heading or link by its text, else its tag. */
function focused(p) {
  return p.evaluate(() => {
    const a = document.activeElement;
    if (!a || a === document.body) return 'BODY';
    return `${a.tagName} ${a.getAttribute('aria-label') || a.textContent.trim()}`;
  });
}

test('the pagers of the runs page, a job\'s page and the audit trail keep the keyboard on Next or Previous page', async () => {
  const paged = await sked.createJob({ title: 'Eleven runs', task: 'quick' });
  const runs = [];
  for (let i = 1; i <= 11; i++) runs.push(await sked.api('POST', `/api/jobs/${paged.id}/runs`, { title: `Paged ${i}` }));
  for (const r of runs) await sked.waitRun(paged.id, r.id);
  const lists = [[`/runs?job_id=${paged.id}&size=10`, 'runs'], [`/jobs/${paged.id}?size=10`, 'runs'],
    [`/audit?job_id=${paged.id}&action=run.started&size=10`, 'entries']];
  for (const [path, noun] of lists) {
    await page.goto(`${sked.url}${path}`);
    await page.getByText(`11 ${noun} · Page 1 of 2`).waitFor();
    await page.getByRole('button', { name: 'Next page' }).focus();
    await page.keyboard.press('Enter');
    await page.getByText(`11 ${noun} · Page 2 of 2`).waitFor();
    // Next page is disabled on the last page: the keyboard is on Previous page, and back
    await until(async () => assert.equal(await focused(page), 'BUTTON Previous page'), { timeout: 3000 });
    await page.keyboard.press('Enter');
    await page.getByText(`11 ${noun} · Page 1 of 2`).waitFor();
    await until(async () => assert.equal(await focused(page), 'BUTTON Next page'), { timeout: 3000 });
  }
  // a list that refreshes itself (a run started meanwhile) keeps it there too
  let total = 11;
  for (const [path] of lists.slice(0, 2)) {
    await page.goto(`${sked.url}${path}`);
    await page.getByText(`${total} runs · Page 1 of 2`).waitFor();
    await page.getByRole('button', { name: 'Next page' }).focus();
    const r = await sked.api('POST', `/api/jobs/${paged.id}/runs`, { title: 'Paged later' });
    total += 1;
    await page.getByText(`${total} runs · Page 1 of 2`).waitFor();
    await sked.waitRun(paged.id, r.id);
    assert.equal(await focused(page), 'BUTTON Next page');
  }
});

test('the jobs list\'s pager keeps the keyboard on Next or Previous page', async () => {
  for (let i = 1; i <= 3; i++) await sked.createJob({ title: `Paging job ${i}`, task: 'quick' });
  await page.goto(`${sked.url}/jobs?q=${encodeURIComponent('Paging job')}&size=2`);
  await page.getByText('3 results · Page 1 of 2').waitFor();
  await page.getByRole('button', { name: 'Next page' }).focus();
  await page.keyboard.press('Enter');
  await page.getByText('3 results · Page 2 of 2').waitFor();
  await until(async () => assert.equal(await focused(page), 'BUTTON Previous page'), { timeout: 3000 });
  await page.keyboard.press('Enter');
  await page.getByText('3 results · Page 1 of 2').waitFor();
  await until(async () => assert.equal(await focused(page), 'BUTTON Next page'), { timeout: 3000 });
});

test('after Stop or Delete in a list of runs the keyboard stays in the list, not at the top of the page', async () => {
  const napper = await sked.createJob({ title: 'Nap', task: 'nap' });
  const napRow = (r) => page.locator(`tr[data-run-id="${r.id}"]`);
  // Stop: once the run stopped (its Stop gone), the keyboard is on its row's link
  const first = await sked.api('POST', `/api/jobs/${napper.id}/runs`, { title: 'Nap 1' });
  await page.goto(`${sked.url}/jobs/${napper.id}`);
  await napRow(first).getByRole('button', { name: 'Stop' }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('dialog', { name: 'Stop this run?' }).getByRole('button', { name: 'Stop run' }).click();
  await napRow(first).getByText('CANCELLED').waitFor();
  await until(async () => assert.equal(await focused(page), 'A Nap 1'), { timeout: 3000 });

  // the row drawn anew while its Stop was being confirmed (the job renamed): Stop of the new row
  const second = await sked.api('POST', `/api/jobs/${napper.id}/runs`, { title: 'Nap 2' });
  try {
    await page.goto(`${sked.url}/runs?job_id=${napper.id}`);
    await napRow(second).getByRole('button', { name: 'Stop' }).focus();
    await page.keyboard.press('Enter');
    const ask = page.getByRole('dialog', { name: 'Stop this run?' });
    await ask.waitFor();
    await napRow(second).evaluate((tr) => { tr.drawnBefore = true; });
    await sked.api('PATCH', `/api/jobs/${napper.id}`, { title: 'Nap, renamed' });
    await until(async () => assert.equal(await napRow(second).evaluate((tr) => !tr.drawnBefore), true));
    await page.keyboard.press('Escape');
    await ask.waitFor({ state: 'detached' });
    // the focus is given back as the dialog closes, which may end after it leaves the tree
    await until(async () => assert.equal(await focused(page), 'BUTTON Stop'), { timeout: 3000 });
    assert.equal(await page.evaluate(() => document.activeElement.closest('tr').dataset.runId), second.id);
  } finally {
    await sked.api('POST', `/api/jobs/${napper.id}/runs/${second.id}/actions/stop`);
  }
  await sked.waitRun(napper.id, second.id);

  // Delete: the Delete of the row now in its place, then (the list empty) the list's heading
  await page.goto(`${sked.url}/jobs/${napper.id}`);
  const deletes = page.locator('.runs-section').getByRole('button', { name: 'Delete' });
  await until(async () => assert.equal(await deletes.count(), 2));
  for (const [left, after] of [[1, 'BUTTON Delete'], [0, 'H2 Runs']]) {
    await deletes.first().focus();
    await page.keyboard.press('Enter');
    await page.getByRole('dialog', { name: 'Delete this run?' }).getByRole('button', { name: 'Delete' }).click();
    await until(async () => assert.equal(await deletes.count(), left));
    await until(async () => assert.equal(await focused(page), after), { timeout: 3000 });
  }
  await page.getByText('This job has not run yet.').waitFor();
});
