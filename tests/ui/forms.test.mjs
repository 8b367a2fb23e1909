// What the forms send and when they ask: a run dialog or job form opened and not touched sends
// the saved arguments exactly ("" and spaces included), typed text goes as typed, numbers are
// checked against the schema with every problem at once, and typed work is not left unasked
// by a link, Back or a reload. The schedule dialog marks an interval of 0 and names fields as
// the dialog does. Errors are shown once, where they belong; arguments that cannot be read or
// checked (a job type's request failed, its task file removed) are said to be so.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startSked } from './lib/sked.mjs';
import { launch, newPage, signIn, until, fieldError, finish } from './lib/browser.mjs';

// A job type whose arguments are strings where spaces and "" matter, in a list and an object too.
const TEXT_TASK = {
  id: 'text_args',
  title: 'Take text arguments',
  command: ['/bin/sh', '-c', 'exit 0'],
  arguments: {
    type: 'object',
    properties: {
      separator: { type: 'string', default: ',', description: 'Between the fields' },
      pattern: { type: 'string', default: '*' },
      label: { type: 'string' },
      tags: { type: 'array', items: { type: 'string' } },
      nested: { type: 'object', properties: { a: { type: 'string' } } },
      count: { type: 'integer', minimum: 0, maximum: 10 },
    },
  },
};
// Numbers bounded below, above, and on both sides, as the argument form's hints say them.
const BOUNDS_TASK = {
  id: 'bounds',
  title: 'Take bounded numbers',
  command: ['/bin/sh', '-c', 'exit 0'],
  arguments: {
    type: 'object',
    properties: {
      workers: { type: 'integer', minimum: 1 },
      ratio: { type: 'number', maximum: 0.5 },
      level: { type: 'integer', minimum: 0, maximum: 9 },
    },
  },
};
// A job type whose task file the test removes while a job of it remains.
const ORPHAN_TASK = {
  id: 'retired',
  title: 'A retired job type',
  command: ['/bin/sh', '-c', 'exit 0'],
  arguments: { type: 'object', properties: { workers: { type: 'integer' }, level: { type: 'integer' } } },
};
const SAVED = { separator: ' ; ', pattern: '', label: 'keep me', tags: ['a', ' b '], nested: { a: '  x  ' }, count: 3 };

let sked;
let browser;
let page;
let job;
let orphan; // jobs of the job type ORPHAN_TASK, whose task file retire() removes
let orphanToRun;

before(async () => {
  sked = await startSked({ tasks: [TEXT_TASK, BOUNDS_TASK, ORPHAN_TASK] });
  browser = await launch();
  page = await newPage(browser);
  job = await sked.createJob({ title: 'Split the export', task: 'text_args', args: SAVED });
  orphan = await sked.createJob({ title: 'Check the bounds', task: 'retired', args: { workers: 4, level: 2 } });
  orphanToRun = await sked.createJob({ title: 'Retired reports', task: 'retired', args: { workers: 1 } });
  await signIn(page, sked.url);
});

/** Removes the task file of ORPHAN_TASK (sked restarted to read tasks.d again); once is enough. */
async function retire() {
  const file = join(sked.tmp, 'tasks.d', 'retired.json');
  if (!existsSync(file)) return;
  await sked.kill();
  await rm(file);
  await sked.restart();
}

after(() => finish({ page, browser, sked }));

/** Opens "Configure and run…" on the job page; returns the dialog. */
async function openRunDialog() {
  await page.goto(`${sked.url}/jobs/${job.id}`);
  await page.getByRole('button', { name: 'Configure and run…' }).click();
  const dialog = page.getByRole('dialog', { name: /Configure and run/ });
  await dialog.waitFor();
  return dialog;
}

/** Presses Run now; returns the body the dialog sent. */
async function runNow(dialog) {
  const sent = page.waitForRequest((r) => r.method() === 'POST' && /\/api\/jobs\/[^/]+\/runs$/.test(r.url()));
  await dialog.getByRole('button', { name: 'Run now' }).click();
  const body = (await sent).postDataJSON();
  await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
  return body;
}

test('"Run now" untouched sends the saved arguments exactly, "" and spaces included', async () => {
  const dialog = await openRunDialog();
  assert.equal(await dialog.getByLabel('Separator').inputValue(), ' ; ');
  const body = await runNow(dialog);
  assert.deepEqual(body.args, SAVED);
});

test('typed text is sent as typed; a field emptied is not given', async () => {
  const dialog = await openRunDialog();
  await dialog.getByLabel('Separator').fill('  |  ');
  await dialog.getByLabel('Label').fill('');
  await dialog.getByLabel('Tags').fill('one\n two \n');
  const body = await runNow(dialog);
  assert.deepEqual(body.args, { separator: '  |  ', pattern: '', tags: ['one', ' two '], nested: { a: '  x  ' }, count: 3 });
});

test('the job form saved untouched changes neither the arguments nor the description', async () => {
  const description = '  indented\n\n  text  ';
  await sked.api('PATCH', `/api/jobs/${job.id}`, { description });
  const before = await sked.api('GET', `/api/jobs/${job.id}`);
  await page.goto(`${sked.url}/jobs/${job.id}/edit`);
  await page.getByLabel('Separator').waitFor();
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(new RegExp(`/jobs/${job.id}$`));
  const saved = await sked.api('GET', `/api/jobs/${job.id}`);
  assert.deepEqual(saved.run_args, before.run_args);
  assert.deepEqual(saved.run_args, SAVED);
  assert.equal(saved.description, description);
  assert.equal(saved.title, before.title);
  // a description of spaces alone is none
  await page.goto(`${sked.url}/jobs/${job.id}/edit`);
  await page.getByLabel('Description').fill('   ');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(new RegExp(`/jobs/${job.id}$`));
  assert.equal((await sked.api('GET', `/api/jobs/${job.id}`)).description, null);
});

test('the job form cannot be saved before its arguments are shown, which would drop the saved ones', async () => {
  let release;
  const held = new Promise((ok) => { release = ok; });
  await page.route('**/api/tasks/text_args/args', async (route) => { await held; await route.continue().catch(() => {}); });
  try {
    await page.goto(`${sked.url}/jobs/${job.id}/edit`);
    await page.getByRole('heading', { name: 'Edit “Split the export”' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Save' }).isDisabled(), true);
    await page.getByText('Loading the job type\'s arguments…').waitFor();
    // Custom args made valid meanwhile does not enable it either
    await page.getByLabel('Custom args').fill('{}');
    assert.equal(await page.getByRole('button', { name: 'Save' }).isDisabled(), true);
    release();
    await page.getByLabel('Separator').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Save' }).isDisabled(), false);
  } finally {
    release();
    await page.unroute('**/api/tasks/text_args/args');
  }
});

test('editing a job whose job type is no longer loaded keeps its type and saved arguments', async () => {
  await retire();
  await page.goto(`${sked.url}/jobs/${orphan.id}/edit`);
  await page.getByText('The job type retired is not loaded').waitFor();
  assert.equal(await page.getByLabel('Task').inputValue(), 'retired');
  await page.getByLabel('Description').fill('kept while its task file is away');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(new RegExp(`/jobs/${orphan.id}$`));
  const saved = await sked.api('GET', `/api/jobs/${orphan.id}`);
  assert.equal(saved.description, 'kept while its task file is away');
  assert.deepEqual(saved.run_args, { workers: 4, level: 2 });
});

test('numbers are checked as the schema says, every field at once, and nothing is saved', async () => {
  await page.goto(`${sked.url}/jobs/new`);
  let posted = 0;
  const count = (r) => { if (r.method() === 'POST' && r.url().endsWith('/api/jobs')) posted += 1; };
  page.on('request', count);
  await page.getByLabel('Title').fill('Numbers out of range');
  await page.getByLabel('Task').selectOption('sync_records');
  await page.getByLabel('Records').fill('-5');
  await page.getByLabel('Reject every').fill('1.5');
  await page.getByLabel('Since').fill('yesterday');
  await page.getByRole('button', { name: 'Save' }).click();
  await until(async () => assert.equal(await fieldError(page.getByLabel('Records')), 'Must be at least 0'));
  assert.equal(await fieldError(page.getByLabel('Reject every')), 'Must be a whole number');
  assert.notEqual(await fieldError(page.getByLabel('Since')), '');
  await page.getByLabel('Records').fill('100001');
  await page.getByRole('button', { name: 'Save' }).click();
  await until(async () => assert.equal(await fieldError(page.getByLabel('Records')), 'Must be at most 100000'));
  page.off('request', count);
  assert.equal(posted, 0);
});

test('the job form shows every error of one save at once: the arguments\' and the other fields\'', async () => {
  const before = (await sked.api('GET', '/api/jobs')).hits.total;
  await page.goto(`${sked.url}/jobs/new`);
  await page.getByLabel('Title').fill('Every error at once');
  await page.getByLabel('Task').selectOption('reindex');
  await page.getByLabel('Steps').fill('0');
  await page.getByLabel('Run timeout').fill('soon');
  await page.getByLabel('Retries').fill('500');
  await page.getByLabel('Notification e-mails').fill('not-an-address');
  await page.getByLabel('Webhooks').fill('ftp://hooks.example.org/');
  await page.getByRole('button', { name: 'Save' }).click();
  await until(async () => assert.equal(await fieldError(page.getByLabel('Steps')), 'Must be at least 1'));
  assert.match(await fieldError(page.getByLabel('Run timeout')), /expected a duration/i);
  assert.match(await fieldError(page.getByLabel('Retries')), /from 0 to 100/i);
  assert.match(await fieldError(page.getByLabel('Notification e-mails')), /not an e-mail address/i);
  assert.match(await fieldError(page.getByLabel('Webhooks')), /not an http:\/\/ or https:\/\/ URL/i);
  // the first field marked has the focus, and nothing was saved
  assert.equal(await page.evaluate(() => document.activeElement.name), 'args.steps');
  assert.equal((await sked.api('GET', '/api/jobs')).hits.total, before);
});

test('Cancel on an edit form loaded from outside the app goes to the job, not back', async () => {
  await page.goto(`${sked.url}/jobs`);
  await page.getByRole('heading', { name: 'Jobs' }).waitFor();
  // typed in the address bar: the entry before it is not the form's way back
  await page.goto(`${sked.url}/jobs/${job.id}/edit`);
  await page.getByLabel('Description').fill('changed, then dropped');
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.getByRole('dialog', { name: 'Discard your changes?' }).getByRole('button', { name: 'Discard' }).click();
  await until(async () => assert.match(page.url(), new RegExp(`/jobs/${job.id}$`)));
});

test('a top-bar link, Back and a reload ask before typed work is lost', async () => {
  // to the form within the application, so Back stays in it
  await page.goto(`${sked.url}/jobs`);
  await page.getByRole('button', { name: 'Create' }).click();
  await page.waitForURL(/\/jobs\/new$/);
  const title = page.getByLabel('Title');
  await title.fill('Half-typed job');
  const ask = page.getByRole('dialog', { name: 'Discard your changes?' });
  // a link of the top bar
  await page.getByRole('banner').getByRole('link', { name: 'Runs' }).click();
  await ask.getByRole('button', { name: 'Keep editing' }).click();
  await ask.waitFor({ state: 'detached' });
  assert.match(page.url(), /\/jobs\/new$/);
  assert.equal(await title.inputValue(), 'Half-typed job');
  // the browser's Back: the address stays while the user decides
  await page.evaluate(() => history.back());
  await ask.waitFor();
  await until(async () => assert.match(page.url(), /\/jobs\/new$/));
  await ask.getByRole('button', { name: 'Keep editing' }).click();
  await ask.waitFor({ state: 'detached' });
  await until(async () => assert.match(page.url(), /\/jobs\/new$/));
  assert.equal(await title.inputValue(), 'Half-typed job');
  // Back again, and discard: the previous page
  await page.evaluate(() => history.back());
  await ask.getByRole('button', { name: 'Discard' }).click();
  await until(async () => assert.match(page.url(), /\/jobs$/));
  await page.getByRole('heading', { name: 'Jobs' }).waitFor();
  // a reload: the browser's own question (answered "Leave" by the test's page), only when
  // something was typed
  await page.goto(`${sked.url}/jobs/new`);
  const asked = page.leaveQuestions;
  await page.reload();
  assert.equal(page.leaveQuestions, asked);
  await title.fill('Typed before a reload');
  await page.reload();
  assert.equal(page.leaveQuestions, asked + 1);
  await title.waitFor();
  assert.equal(await title.inputValue(), '');
});

test('Back with something typed in the run dialog asks, and keeping on leaves the dialog as it was', async () => {
  await page.goto(`${sked.url}/jobs`);
  await page.getByRole('link', { name: job.title }).click();
  await page.waitForURL(new RegExp(`/jobs/${job.id}$`));
  await page.getByRole('button', { name: 'Configure and run…' }).click();
  const dialog = page.getByRole('dialog', { name: /Configure and run/ });
  await dialog.getByLabel('Title').fill('A run to keep');
  await page.evaluate(() => history.back());
  const ask = page.getByRole('dialog', { name: 'Discard your changes?' });
  await ask.getByRole('button', { name: 'Keep editing' }).click();
  await ask.waitFor({ state: 'detached' });
  assert.match(page.url(), new RegExp(`/jobs/${job.id}$`));
  assert.equal(await dialog.getByLabel('Title').inputValue(), 'A run to keep');
  // saving (running) leaves without asking
  await runNow(dialog);
  assert.equal(await ask.count(), 0);
});

test('the schedule dialog marks an interval of 0, and names the schedule as it does', async () => {
  await page.goto(`${sked.url}/jobs/${job.id}`);
  await page.getByRole('button', { name: 'Schedule…' }).click();
  const dialog = page.getByRole('dialog', { name: /Schedule/ });
  await dialog.getByLabel('Seconds').fill('0');
  await until(async () => assert.match(await fieldError(dialog.getByLabel('Seconds')), /at least 1 second/));
  assert.equal(await dialog.getByLabel('Seconds').getAttribute('aria-invalid'), 'true');
  // a crontab that never fires: the summary says "Schedule", not the API's "schedule"
  await dialog.getByText('Crontab', { exact: true }).click();
  await dialog.getByLabel('Minute', { exact: true }).fill('0');
  await dialog.getByLabel('Hour', { exact: true }).fill('3');
  await dialog.getByLabel('Day of month').fill('30');
  await dialog.getByLabel('Month of year').fill('2');
  await dialog.getByRole('button', { name: 'Save' }).click();
  const summary = dialog.locator('.error-summary');
  await until(async () => assert.match(await summary.innerText(), /Schedule: /));
  assert.doesNotMatch(await summary.innerText(), /^schedule: /m);
  await page.keyboard.press('Escape');
  const ask = page.getByRole('dialog', { name: 'Discard your changes?' });
  await ask.getByRole('button', { name: 'Discard' }).click();
  await dialog.waitFor({ state: 'detached' });
});

test('a save that fails stays said in the schedule and backfill dialogs, though a preview ends after it', async () => {
  const other = await sked.createJob({ title: 'Refused saves', task: 'text_args' });
  // the server cannot write: each save is refused, the previews are answered
  const refuse = (route) => (route.request().method() === 'GET' ? route.continue()
    : route.fulfill({ status: 503, contentType: 'application/json',
      body: JSON.stringify({ status: 503, message: 'The store failed; see the server log' }) }));
  await page.route(`**/api/jobs/${other.id}`, refuse);
  await page.route(`**/api/jobs/${other.id}/actions/backfill`, refuse);
  try {
    await page.goto(`${sked.url}/jobs/${other.id}`);
    await page.getByRole('button', { name: 'Schedule…' }).click();
    let dialog = page.getByRole('dialog', { name: /Schedule/ });
    // Save at once: the preview of what was typed is still to come, and ends after the refusal
    await dialog.getByLabel('Minutes').fill('5');
    await dialog.getByRole('button', { name: 'Save' }).click();
    const summary = dialog.locator('.error-summary');
    await until(async () => assert.match(await summary.innerText(), /store failed/));
    await dialog.locator('.preview-table').waitFor();
    await page.waitForTimeout(500);
    assert.match(await summary.innerText(), /store failed/, 'still said once the preview is shown');
    // a change goes on from there: the next preview clears it
    await dialog.getByLabel('Minutes').fill('6');
    await until(async () => assert.doesNotMatch(await summary.innerText(), /store failed/));
    await page.keyboard.press('Escape');
    await page.getByRole('dialog', { name: 'Discard your changes?' }).getByRole('button', { name: 'Discard' }).click();
    await dialog.waitFor({ state: 'detached' });

    await page.getByRole('button', { name: 'Backfill…' }).click();
    dialog = page.getByRole('dialog', { name: /Backfill/ });
    await dialog.getByLabel('From').fill('2026-01-01');
    await dialog.getByLabel('Step').fill('1d');
    const start = dialog.getByRole('button', { name: /^Start \d+ runs?$/ });
    await until(async () => assert.equal(await start.isEnabled(), true));
    await dialog.getByLabel('Title').fill('windows');
    await start.click();
    await until(async () => assert.match(await dialog.locator('.error-summary').innerText(), /store failed/));
    await page.waitForTimeout(800);
    assert.match(await dialog.locator('.error-summary').innerText(), /store failed/);
    await page.keyboard.press('Escape');
    const ask = page.getByRole('dialog', { name: 'Discard your changes?' });
    if (await ask.count()) await ask.getByRole('button', { name: 'Discard' }).click();
  } finally {
    await page.unroute(`**/api/jobs/${other.id}`);
    await page.unroute(`**/api/jobs/${other.id}/actions/backfill`);
  }
});

test('the hint of a number with a minimum or a maximum alone says it in words, not with ∞', async () => {
  await page.goto(`${sked.url}/jobs/new`);
  await page.getByLabel('Task').selectOption('bounds');
  const hint = (label) => page.getByLabel(label).evaluate((el) => el.getAttribute('aria-describedby').split(/\s+/)
    .map((id) => document.getElementById(id)).filter((x) => x && x.classList.contains('hint')).map((x) => x.textContent).join(' '));
  await page.getByLabel('Workers').waitFor();
  assert.equal(await hint('Workers'), '1 or more.');
  assert.equal(await hint('Ratio'), 'At most 0.5.');
  assert.equal(await hint('Level'), 'From 0 to 9.');
});

test('a failed request says what failed, the server\'s reason and what to do, alike on a page, in a dialog and in a toast', async () => {
  const other = await sked.createJob({ title: 'Refused everywhere', task: 'text_args' });
  // the store fails: the server's own answer
  const storeFailed = (route) => route.fulfill({ status: 503, contentType: 'application/json',
    body: JSON.stringify({ status: 503, message: 'the store failed; see the server log' }) });
  const reason = 'The store failed; see the server log. Try again in a moment.';
  await page.route(/\/api\/jobs\?/, storeFailed);
  try {
    await page.goto(`${sked.url}/jobs`);
    const box = page.locator('.error-summary');
    await box.waitFor();
    assert.equal((await box.innerText()).trim(), `Could not load the jobs: ${reason}`);
  } finally {
    await page.unroute(/\/api\/jobs\?/, storeFailed);
  }
  await page.route(`**/api/jobs/${other.id}`, (route) => (route.request().method() === 'GET' ? route.continue() : storeFailed(route)));
  try {
    await page.goto(`${sked.url}/jobs/${other.id}`);
    await page.getByRole('button', { name: 'Schedule…' }).click();
    const dialog = page.getByRole('dialog', { name: /Schedule/ });
    await dialog.getByLabel('Minutes').fill('5');
    await dialog.getByRole('button', { name: 'Save' }).click();
    const summary = dialog.locator('.error-summary');
    await until(async () => assert.equal((await summary.innerText()).trim(), `Could not save the schedule: ${reason}`));
    await page.keyboard.press('Escape');
    await page.getByRole('dialog', { name: 'Discard your changes?' }).getByRole('button', { name: 'Discard' }).click();
    await dialog.waitFor({ state: 'detached' });

    await page.getByRole('toolbar', { name: 'Job actions' }).getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog', { name: 'Delete “Refused everywhere”?' }).getByRole('button', { name: 'Delete' }).click();
    await page.locator('.toast-error').getByText(`Could not delete “Refused everywhere”: ${reason}`, { exact: true }).waitFor();
  } finally {
    await page.unroute(`**/api/jobs/${other.id}`);
  }
  // a refusal that names fields: which, and what to do with them
  await page.goto(`${sked.url}/runs?status=NOPE`);
  const box = page.locator('.error-summary');
  await box.waitFor();
  assert.match(await box.innerText(), /^Could not load the runs: A validation error occurred\. Correct what is named below, then try again\.\n+Status: /);
});

test('a body larger than the server takes says which field is too large and how large it may be', async () => {
  // the run dialog's custom args, past the server's 1 MiB (--max-body)
  const dialog = await openRunDialog();
  await dialog.getByText('Advanced configuration').click();
  const custom = dialog.getByLabel('Custom args');
  await custom.fill(JSON.stringify({ blob: 'a'.repeat(1100000) }));
  await dialog.getByRole('button', { name: 'Run now' }).click();
  const summary = dialog.locator('.error-summary');
  // how large it is and may be is said once, at the field
  await until(async () => assert.equal((await summary.innerText()).trim(),
    'Could not start the run: “Custom args” is too large. Shorten it as said below, then try again.'));
  assert.equal(await fieldError(custom), 'Too large: at most 1 MiB (1,048,576 bytes) go in one request, and this is 1.1 MiB; shorten it');
  assert.equal(await custom.evaluate((el) => el === document.activeElement), true);
  await page.keyboard.press('Escape');
  await page.getByRole('dialog', { name: 'Discard your changes?' }).getByRole('button', { name: 'Discard' }).click();
  await dialog.waitFor({ state: 'detached' });

  // the job form's custom args, and a description refused by a proxy in front of sked, whose
  // answer is a page of HTML and names no limit
  await page.goto(`${sked.url}/jobs/new`);
  await page.getByLabel('Title').fill('Too much to say');
  await page.getByLabel('Task').selectOption('text_args');
  const jobCustom = page.getByLabel('Custom args');
  await jobCustom.fill(JSON.stringify({ blob: 'a'.repeat(1100000) }));
  await page.getByRole('button', { name: 'Save' }).click();
  await until(async () => assert.equal((await page.locator('.error-summary').innerText()).trim(),
    'Could not create the job: “Custom args” is too large. Shorten it as said below, then try again.'));
  assert.equal(await fieldError(jobCustom), 'Too large: at most 1 MiB (1,048,576 bytes) go in one request, and this is 1.1 MiB; shorten it');
  await jobCustom.fill('');
  const proxy = (route) => route.fulfill({ status: 413, contentType: 'text/html',
    body: '<html><head><title>413 Request Entity Too Large</title></head><body><h1>413 Request Entity Too Large</h1><hr>nginx</body></html>' });
  await page.route('**/api/jobs', proxy);
  try {
    await page.getByLabel('Description').fill('d'.repeat(20000));
    await page.getByRole('button', { name: 'Save' }).click();
    await until(async () => assert.equal((await page.locator('.error-summary').innerText()).trim(),
      'Could not create the job: “Description” is too large. Shorten it as said below, then try again.'));
    assert.match(await fieldError(page.getByLabel('Description')), /^Too large: the server refused the \d+ KiB sent, and this is 20 KiB of it; shorten it$/);
    assert.doesNotMatch(await page.locator('.error-summary').innerText(), /<|nginx/);
  } finally {
    await page.unroute('**/api/jobs', proxy);
  }
  assert.equal((await sked.api('GET', '/api/jobs?q=Too%20much')).hits.total, 0);
});

test('the job form leaves the keyboard where it was put while the job type\'s arguments were loading', async () => {
  let release;
  const held = new Promise((ok) => { release = ok; });
  await page.route('**/api/tasks/text_args/args', async (route) => { await held; await route.continue().catch(() => {}); });
  try {
    await page.goto(`${sked.url}/jobs/${job.id}/edit`);
    const description = page.getByLabel('Description');
    await description.fill('');
    await page.keyboard.type('typed while ');
    release();
    await page.getByLabel('Separator').waitFor();
    await page.keyboard.type('they loaded');
    assert.equal(await description.inputValue(), 'typed while they loaded');
    assert.equal(await page.getByLabel('Title').inputValue(), job.title);
  } finally {
    release();
    await page.unroute('**/api/tasks/text_args/args');
  }
  // untouched meanwhile, the title takes it once the form is whole
  await page.goto(`${sked.url}/jobs/${job.id}/edit`);
  await page.getByLabel('Separator').waitFor();
  await until(async () => assert.equal(await page.evaluate(() => document.activeElement.name), 'title'));
});

test('an error of the arguments as a whole is said above them, once, and not under their first field', async () => {
  const args = (dialog) => dialog.getByRole('group', { name: 'Args', exact: true });
  const shown = (dialog) => dialog.locator('.field-error').evaluateAll((els) => els.map((e) => e.textContent).filter(Boolean));
  // the server's refusal of args itself
  let dialog = await openRunDialog();
  const refuse = (route) => route.fulfill({ status: 400, contentType: 'application/json',
    body: JSON.stringify({ status: 400, message: 'A validation error occurred.', errors: [{ field: 'args', messages: ['must have at most 6 properties'] }] }) });
  await page.route(/\/api\/jobs\/[^/]+\/runs$/, refuse);
  try {
    await dialog.getByRole('button', { name: 'Run now' }).click();
    await until(async () => assert.equal(await fieldError(args(dialog)), 'Must have at most 6 properties'));
    assert.deepEqual(await shown(dialog), ['Must have at most 6 properties']);
    assert.equal(await fieldError(dialog.getByLabel('Separator')), '');
    assert.equal(await dialog.getByLabel('Separator').getAttribute('aria-invalid'), null);
  } finally {
    await page.unroute(/\/api\/jobs\/[^/]+\/runs$/, refuse);
  }
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  // args too large for the server: said at the group, its size once
  dialog = await openRunDialog();
  await dialog.getByLabel('Label').fill('a'.repeat(1100000));
  await dialog.getByRole('button', { name: 'Run now' }).click();
  await until(async () => assert.equal((await dialog.locator('.error-summary').innerText()).trim(),
    'Could not start the run: “Args” is too large. Shorten it as said below, then try again.'));
  assert.equal(await fieldError(args(dialog)), 'Too large: at most 1 MiB (1,048,576 bytes) go in one request, and this is 1.1 MiB; shorten it');
  assert.deepEqual(await shown(dialog), ['Too large: at most 1 MiB (1,048,576 bytes) go in one request, and this is 1.1 MiB; shorten it']);
  await page.keyboard.press('Escape');
  await page.getByRole('dialog', { name: 'Discard your changes?' }).getByRole('button', { name: 'Discard' }).click();
  await dialog.waitFor({ state: 'detached' });
});

test('a job type\'s arguments that cannot be read are said to be missing, and Save does not drop the saved ones', async () => {
  const saved = (await sked.api('GET', `/api/jobs/${job.id}`)).run_args;
  const storeFailed = (route) => route.fulfill({ status: 503, contentType: 'application/json',
    body: JSON.stringify({ status: 503, message: 'the store failed; see the server log' }) });
  await page.route('**/api/tasks/text_args/args', storeFailed);
  try {
    await page.goto(`${sked.url}/jobs/${job.id}/edit`);
    const box = page.locator('.args-box');
    await box.getByText('Could not load the arguments of the job type Take text arguments (text_args): '
      + 'The store failed; see the server log. Try again in a moment.').waitFor();
    await box.getByText('Until they are shown, Save keeps the saved arguments as they are.').waitFor();
    assert.equal(await box.getByText(/declares no arguments/).count(), 0);
    await page.getByLabel('Description').fill('saved while the arguments could not be read');
    const sent = page.waitForRequest((r) => r.method() === 'PATCH');
    await page.getByRole('button', { name: 'Save' }).click();
    assert.equal('args' in (await sent).postDataJSON(), false);
    await page.waitForURL(new RegExp(`/jobs/${job.id}$`));
    assert.deepEqual((await sked.api('GET', `/api/jobs/${job.id}`)).run_args, saved);
    // a new job waits for them
    await page.goto(`${sked.url}/jobs/new`);
    await page.getByLabel('Title').fill('Waits for its arguments');
    await page.getByLabel('Task').selectOption('text_args');
    await page.getByRole('button', { name: 'Load the arguments again' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Save' }).isDisabled(), true);
  } finally {
    await page.unroute('**/api/tasks/text_args/args', storeFailed);
  }
  // asked again once they can be read, they are shown, and the keyboard is at the first
  await page.getByRole('button', { name: 'Load the arguments again' }).click();
  await page.getByLabel('Separator').waitFor();
  await until(async () => assert.equal(await page.evaluate(() => document.activeElement.name), 'args.separator'));
  assert.equal(await page.getByRole('button', { name: 'Save' }).isDisabled(), false);
});

test('a job whose task is not installed says so on its page and in its run dialog, not that its arguments are wrong', async () => {
  await retire();
  await page.goto(`${sked.url}/jobs/${orphanToRun.id}`);
  await page.getByText('A run started now would be refused: its task retired is not installed on this server').waitFor();
  await page.locator('.facts').getByText('None: the task retired is not installed, so the saved arguments cannot be checked.').waitFor();
  assert.equal(await page.getByText(/do not validate|declares no arguments/).count(), 0);
  await page.getByRole('button', { name: 'Configure and run…' }).click();
  const dialog = page.getByRole('dialog', { name: /Configure and run/ });
  await dialog.getByRole('group', { name: 'Args', exact: true })
    .getByText('The task of this job, retired, is not installed on this server (its task file is missing)').waitFor();
  await dialog.getByText('Advanced configuration').click();
  await dialog.getByText('None: the task retired is not installed on this server, so the arguments cannot be checked.').waitFor();
  assert.equal(await dialog.getByText(/do not validate|declares no arguments/).count(), 0);
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
});
