// Debian's Chromium driven by playwright-core (which downloads no browser), and the helpers
// the UI tests share: signing in, waiting for a condition, screenshots, page errors.

import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SRC, ADMIN_PASSWORD } from './sked.mjs';

export const CHROMIUM = process.env.SKED_CHROMIUM || '/usr/bin/chromium';
// Screenshots go to docs/screenshots (what the README shows) unless SKED_SCREENSHOT_DIR says
// otherwise; the meson test writes them below the build folder so runs leave the tree clean.
export const SHOT_DIR = process.env.SKED_SCREENSHOT_DIR || join(SRC, 'docs', 'screenshots');

/** A fresh browser; Playwright gives each launch a new temporary profile (user-data dir). */
export function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * A page in a new browser context (its own cookies). Uncaught errors of the page's scripts
 * are collected in page.errors, and each test file checks that none happened. The browser's
 * "Leave site?" question (beforeunload: a reload or page.goto away from a form with unsaved
 * edits) is answered "Leave" and counted in page.leaveQuestions; the UI uses no other native
 * dialog, and any other is dismissed. `bypassCSP`
 * lets a test add a script of its own (axe-core), which sked's Content-Security-Policy refuses.
 * The browser's time zone is UTC unless `timezoneId` names another.
 */
export async function newPage(browser, {
  width = 1280, height = 860, colorScheme = 'light', bypassCSP = false, timezoneId = 'UTC',
} = {}) {
  const context = await browser.newContext({ viewport: { width, height }, colorScheme, locale: 'en-US', timezoneId, bypassCSP });
  context.setDefaultTimeout(20000);
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e));
  page.leaveQuestions = 0;
  page.on('dialog', (d) => {
    if (d.type() !== 'beforeunload') return d.dismiss();
    page.leaveQuestions += 1;
    return d.accept();
  });
  return page;
}

/**
 * The end of a test file: the browser closed and sked stopped (whichever were started), then
 * the check that no page (page, or each of pages) raised a script error.
 */
export async function finish({ page, pages = [], browser, sked }) {
  const errors = [...(page ? [page] : []), ...pages].flatMap((p) => p.errors.map(String));
  await browser?.close();
  await sked?.stop();
  assert.deepEqual(errors, [], 'the pages raised no script error');
}

export async function signIn(page, url, username = 'admin', password = ADMIN_PASSWORD) {
  await page.goto(`${url}/login`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/jobs$/);
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** Retries `fn` (which throws while its condition is not met) until it passes. */
export async function until(fn, { timeout = 15000, interval = 100 } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((ok) => setTimeout(ok, interval));
    }
  }
}

/** A screenshot into SHOT_DIR; `height` takes it in a taller window (dialogs shown whole). */
export async function shot(page, name, { height, ...opts } = {}) {
  await mkdir(SHOT_DIR, { recursive: true });
  const size = page.viewportSize();
  if (height) {
    await page.setViewportSize({ width: size.width, height });
    await page.waitForTimeout(100);
  }
  // Toasts come and go; they would make the pictures differ from run to run.
  await page.evaluate(() => {
    document.getElementById('toasts')?.replaceChildren();
    window.scrollTo(0, 0);
  });
  await page.screenshot({ path: join(SHOT_DIR, `${name}.png`), ...opts });
  if (height) await page.setViewportSize(size);
}

/** The text of a field's error slot (the element its aria-describedby names last). */
export function fieldError(locator) {
  return locator.evaluate((el) => {
    const ids = (el.getAttribute('aria-describedby') || '').split(/\s+/);
    return ids.map((id) => document.getElementById(id)).filter((x) => x && x.classList.contains('field-error'))
      .map((x) => x.textContent).join(' ');
  });
}

/** A table row of the page holding `text` (a job title, a run id …). */
export function row(page, text) {
  return page.getByRole('row').filter({ hasText: text });
}
