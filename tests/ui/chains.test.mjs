// Chains in the admin UI: the job form's "When a run succeeds, start these jobs" (on_success),
// a search of the jobs by title whose choices show as removable chips, and the job page's
// "On success, starts". Jobs are picked by typing part of their titles, with the keyboard and
// the mouse; the job itself is not offered; the server's cycle refusal shows at the field; a
// removed chip leaves the list sent; a success of the job starts a chained run of the others.
// Screenshots only when SKED_SCREENSHOT_DIR names a folder (they are not the README's).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startSked } from './lib/sked.mjs';
import { launch, newPage, signIn, until, shot, fieldError, finish } from './lib/browser.mjs';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const LABEL = 'When a run succeeds, start these jobs';
const QUICK = { task: 'reindex', args: { steps: 1, step_seconds: 0 } };

let sked;
let browser;
let page;
let a;
let b;
let c;
const pages = [];

before(async () => {
  sked = await startSked();
  browser = await launch();
  a = await sked.createJob({ title: 'Harvest the archive', ...QUICK });
  b = await sked.createJob({ title: 'Reindex the catalogue', ...QUICK, default_queue: 'low' });
  c = await sked.createJob({ title: 'Publish the catalogue', ...QUICK, active: false });
  page = await open();
  await signIn(page, sked.url);
});

after(async () => {
  await finish({ pages, browser, sked });
});

async function open(opts) {
  const p = await newPage(browser, { ...opts, bypassCSP: true });
  pages.push(p);
  return p;
}

async function snap(p, name, opts) {
  if (process.env.SKED_SCREENSHOT_DIR) await shot(p, name, opts);
}

/** axe-core's WCAG 2.1 A and AA rules on the page as it is now. */
async function axeViolations(p) {
  if (!(await p.evaluate(() => typeof window.axe === 'object'))) await p.addScriptTag({ path: AXE });
  return p.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'], resultTypes: ['violations'] });
    return r.violations.flatMap((v) => v.nodes.map((n) => `${v.id} at ${n.target.join(' ')}: ${n.failureSummary}`));
  });
}

const combo = (p) => p.getByRole('combobox', { name: LABEL });
const chips = (p) => p.getByRole('list', { name: 'Jobs started on success' });
const found = (p) => p.getByRole('listbox', { name: 'Jobs found' });

async function editForm(p, job) {
  await p.goto(`${sked.url}/jobs/${job.id}/edit`);
  await p.getByRole('heading', { name: `Edit “${job.title}”` }).waitFor();
  await p.getByLabel('Steps').waitFor();
}

test('A chooses B with the keyboard and C with the mouse, by part of their titles; A is not offered', async () => {
  await editForm(page, a);
  const box = combo(page);
  assert.equal(await chips(page).isVisible(), false, 'no chips while none is chosen');

  // the job itself is not offered
  await box.fill('harvest');
  await page.locator('p', { hasText: 'No other job’s title or description has “harvest”.' }).waitFor();
  assert.equal(await found(page).getByRole('option').count(), 0);
  assert.equal(await box.getAttribute('aria-expanded'), 'true');
  await box.press('Escape');
  assert.equal(await box.getAttribute('aria-expanded'), 'false');

  // an empty search offers every other job by title (sked's own prune job too), A never
  await box.fill('');
  await box.press('ArrowDown');
  await found(page).getByRole('option', { name: /Reindex the catalogue/ }).waitFor();
  assert.deepEqual(await found(page).getByRole('option').evaluateAll((os) => os.map((o) => o.firstChild.textContent)),
    ['Prune old runs', 'Publish the catalogue', 'Reindex the catalogue']);
  await box.press('Escape');

  // the keyboard: type, arrow down to the job, Enter (which does not send the form)
  await box.fill('reind');
  const optB = found(page).getByRole('option', { name: /Reindex the catalogue/ });
  await optB.waitFor();
  assert.equal(await found(page).getByRole('option').count(), 1);
  await box.press('ArrowDown');
  assert.equal(await optB.getAttribute('aria-selected'), 'true');
  assert.equal(await box.getAttribute('aria-activedescendant'), await optB.getAttribute('id'));
  await box.press('Enter');
  await chips(page).getByRole('listitem').filter({ hasText: 'Reindex the catalogue' }).waitFor();
  assert.equal(await box.inputValue(), '');
  assert.equal(await box.getAttribute('aria-expanded'), 'false');
  assert.match(page.url(), /\/edit$/, 'Enter in the list did not save the form');
  assert.equal(await box.evaluate((el) => el === document.activeElement), true);

  // the mouse: "catalogue" finds B and C; B, chosen already, is not offered again
  await box.fill('CATALOGUE');
  const optC = found(page).getByRole('option', { name: /Publish the catalogue/ });
  await optC.waitFor();
  assert.equal(await found(page).getByRole('option').count(), 1);
  await optC.getByText('inactive: passed over').waitFor();
  await snap(page, 'chain-form-search', { fullPage: true });
  await optC.click();
  await chips(page).getByRole('listitem').filter({ hasText: 'Publish the catalogue' }).getByText('(inactive)').waitFor();
  assert.deepEqual(await chips(page).getByRole('listitem').allInnerTexts().then((t) => t.map((x) => x.replace(/\s+/g, ' ').trim())),
    ['Reindex the catalogue', 'Publish the catalogue (inactive)']);

  const violations = await axeViolations(page);
  assert.deepEqual(violations, [], 'the field with chips passes axe');

  const saving = page.waitForRequest((r) => r.method() === 'PATCH' && r.url().endsWith(`/api/jobs/${a.id}`));
  await page.getByRole('button', { name: 'Save' }).click();
  assert.deepEqual((await saving).postDataJSON().on_success, [b.id, c.id]);
  await page.getByRole('heading', { name: 'Harvest the archive', level: 1 }).waitFor();
  assert.deepEqual((await sked.api('GET', `/api/jobs/${a.id}`)).on_success, [b.id, c.id]);
});

test('the job page lists the jobs a success starts, as links', async () => {
  const fact = page.locator('.fact').filter({ has: page.getByText('On success, starts', { exact: true }) });
  await fact.getByRole('link', { name: 'Reindex the catalogue' }).waitFor();
  assert.equal(await fact.getByRole('link', { name: 'Reindex the catalogue' }).getAttribute('href'), `/jobs/${b.id}`);
  assert.equal(await fact.getByRole('link', { name: 'Publish the catalogue' }).getAttribute('href'), `/jobs/${c.id}`);
  await fact.getByText('(inactive: passed over)').waitFor();
  await snap(page, 'chain-job-page');
  // a job without a chain has no such fact
  await page.goto(`${sked.url}/jobs/${b.id}`);
  await page.getByRole('heading', { name: 'Reindex the catalogue', level: 1 }).waitFor();
  await page.getByText('Notifications', { exact: true }).waitFor();
  assert.equal(await page.getByText('On success, starts').count(), 0);
  // ... and the job A starts names A the other way round
  const up = page.locator('.fact').filter({ has: page.getByText('Started when these succeed', { exact: true }) });
  await up.getByRole('link', { name: 'Harvest the archive' }).waitFor();
  assert.equal(await up.getByRole('link', { name: 'Harvest the archive' }).getAttribute('href'), `/jobs/${a.id}`);
});

test('a success of A starts a chained run of B (C is inactive), shown in B\'s runs', async () => {
  const run = await sked.api('POST', `/api/jobs/${a.id}/runs`, { title: 'Harvest now' });
  assert.equal((await sked.waitRun(a.id, run.id)).status, 'SUCCESS');
  const chained = await until(async () => {
    const r = (await sked.api('GET', `/api/jobs/${b.id}/runs`)).hits.hits.find((x) => x.trigger === 'chained');
    assert.ok(r, 'B has a chained run');
    return r;
  });
  assert.equal(chained.parent_run_id, run.id);
  assert.equal((await sked.api('GET', `/api/jobs/${c.id}/runs`)).hits.total, 0, 'the inactive job was passed over');
  await page.goto(`${sked.url}/jobs/${b.id}`);
  await page.locator(`tr[data-run-id="${chained.id}"]`).getByRole('cell', { name: 'chained' }).waitFor();
});

test('a cycle: B choosing A shows the server\'s refusal at the field; removing the chip clears it', async () => {
  await editForm(page, b);
  const box = combo(page);
  await box.fill('harv');
  await found(page).getByRole('option', { name: /Harvest the archive/ }).click();
  await page.getByRole('button', { name: 'Save' }).click();
  await until(async () => assert.match(await fieldError(box),
    /would make a cycle: Reindex the catalogue → Harvest the archive → Reindex the catalogue/i));
  assert.equal(await box.getAttribute('aria-invalid'), 'true');
  await page.getByText('Could not save the job: A validation error occurred. Correct the fields marked below, then try again.').waitFor();
  assert.equal(await box.evaluate((el) => el === document.activeElement), true, 'the focus went to the field');
  assert.match(page.url(), /\/edit$/);
  await snap(page, 'chain-form-cycle', { fullPage: true });

  // removed with the keyboard: the error goes with it, the focus stays in the field
  const remove = chips(page).getByRole('button', { name: 'Remove “Harvest the archive”' });
  await remove.focus();
  await page.keyboard.press('Enter');
  await until(async () => assert.equal(await chips(page).isVisible(), false));
  assert.equal(await fieldError(box), '');
  assert.equal(await box.getAttribute('aria-invalid'), null);
  assert.equal(await box.evaluate((el) => el === document.activeElement), true);

  // saved with none: an empty list is sent
  const saving = page.waitForRequest((r) => r.method() === 'PATCH' && r.url().endsWith(`/api/jobs/${b.id}`));
  await page.getByRole('button', { name: 'Save' }).click();
  assert.deepEqual((await saving).postDataJSON().on_success, []);
  await page.getByRole('heading', { name: 'Reindex the catalogue', level: 1 }).waitFor();
});

test('editing shows the saved list by title; removing a chip and saving sends the shorter list', async () => {
  await editForm(page, a);
  assert.deepEqual(await chips(page).getByRole('listitem').allInnerTexts().then((t) => t.map((x) => x.replace(/\s+/g, ' ').trim())),
    ['Reindex the catalogue', 'Publish the catalogue (inactive)']);
  await chips(page).getByRole('button', { name: 'Remove “Publish the catalogue”' }).click();
  assert.equal(await chips(page).getByRole('listitem').count(), 1);
  // the focus went to the remaining chip's button
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-label')), 'Remove “Reindex the catalogue”');
  const saving = page.waitForRequest((r) => r.method() === 'PATCH' && r.url().endsWith(`/api/jobs/${a.id}`));
  await page.getByRole('button', { name: 'Save' }).click();
  assert.deepEqual((await saving).postDataJSON().on_success, [b.id]);
  await page.getByRole('heading', { name: 'Harvest the archive', level: 1 }).waitFor();
  assert.deepEqual((await sked.api('GET', `/api/jobs/${a.id}`)).on_success, [b.id]);
  const fact = page.locator('.fact').filter({ has: page.getByText('On success, starts', { exact: true }) });
  await fact.getByRole('link', { name: 'Reindex the catalogue' }).waitFor();
  assert.equal(await fact.getByRole('link').count(), 1);
});

test('a new job with a chain, from the create form', async () => {
  await page.goto(`${sked.url}/jobs/new`);
  await page.getByLabel('Title').fill('Announce the release');
  await page.getByLabel('Task').selectOption('reindex');
  await page.getByLabel('Steps').waitFor();
  // the arrow pressed at once, before the jobs arrived: the first one found becomes active
  await combo(page).fill('publish');
  await combo(page).press('ArrowDown');
  await until(async () => assert.match(await combo(page).getAttribute('aria-activedescendant') || '', new RegExp(c.id)));
  await combo(page).press('Enter');
  await chips(page).getByRole('listitem').filter({ hasText: 'Publish the catalogue' }).waitFor();
  const saving = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/api/jobs'));
  await page.getByRole('button', { name: 'Save' }).click();
  assert.deepEqual((await saving).postDataJSON().on_success, [c.id]);
  await page.waitForURL(/\/jobs$/);
  const made = (await sked.api('GET', '/api/jobs?q=announce')).hits.hits[0];
  assert.deepEqual(made.on_success, [c.id]);
});

for (const [name, opts] of [['dark', { colorScheme: 'dark' }], ['phone', { width: 375, height: 800 }]]) {
  test(`${name}: the field and the job page pass axe`, async () => {
    const p = await open(opts);
    await signIn(p, sked.url);
    await sked.api('PATCH', `/api/jobs/${a.id}`, { on_success: [b.id, c.id] });
    await editForm(p, a);
    await chips(p).getByRole('listitem').nth(1).waitFor();
    await combo(p).fill('e');
    await found(p).getByRole('option').first().waitFor();
    await combo(p).press('ArrowDown');
    assert.deepEqual(await axeViolations(p), []);
    // nothing sticks out sideways on a phone
    assert.equal(await p.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), true, 'no sideways scrolling');
    await snap(p, `chain-form-${name}`, { fullPage: true });
    await p.goto(`${sked.url}/jobs/${a.id}`);
    await p.getByRole('link', { name: 'Publish the catalogue' }).waitFor();
    assert.deepEqual(await axeViolations(p), []);
    await snap(p, `chain-job-page-${name}`, { fullPage: true });
  });
}
