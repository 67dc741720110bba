// What the browser tests of the console share: checks that report and go on, the problems pages
// report themselves, navigation that waits for the new document, signing in (with the one-time
// password `hailong serve` prints at its first start), screenshots, and what sticks out of a
// phone's width.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function launchChromium(executablePath = '/usr/bin/chromium') {
  return chromium.launch({ executablePath, args: chromiumArgs });
}

/// base: the server's address; artifacts: where screenshots go, each named `${prefix}-<name>.png`;
/// logFile: the server's log (for the first admin's password).
export function consoleKit({ base, artifacts, prefix, logFile }) {
  const kit = { failed: [], pageProblems: [], screenshots: [] };
  kit.step = (what) => console.log(`- ${what}`);
  kit.shotPath = (name) => path.join(artifacts, `${prefix}-${name}.png`);
  kit.shot = async (page, name, options = {}) => {
    await page.screenshot({ path: kit.shotPath(name), fullPage: true, ...options });
    kit.screenshots.push(kit.shotPath(name));
  };
  // Checks that do not stop the run: a failure is reported here and at the end.
  kit.part = async (what, body) => {
    try {
      await body();
    } catch (e) {
      const text = (e.message ?? String(e)).split('\n').slice(0, 3).join(' ');
      kit.failed.push(`${what}: ${text}`);
      console.log(`  FAILED (going on): ${what}: ${text}`);
    }
  };
  // Problems the pages report themselves (console errors, CSP refusals, script errors).
  kit.watch = (page, label) => {
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      // Refusals (403, 404, 422) are logged by Chromium as failed loads: they are expected answers.
      if (/Failed to load resource: the server responded with a status of (401|403|404|422)/.test(m.text())) return;
      kit.pageProblems.push(`${label}: console: ${m.text()} (${page.url()})`);
    });
    page.on('pageerror', (e) => kit.pageProblems.push(`${label}: script error: ${e.message}`));
    return page;
  };
  // Resolves when the page has loaded a new document (after a POST, a redirect).
  kit.navigating = async (page, action) => {
    const done = page.waitForEvent('load', { timeout: 15000 });
    await action();
    await done;
  };
  // The POST a click sends and the page it leads to: the POST's status.
  kit.submitting = async (page, action) => {
    const posted = page.waitForResponse((r) => r.request().method() === 'POST', { timeout: 15000 });
    await kit.navigating(page, action);
    return (await posted).status();
  };
  kit.rowsOf = (page, table = 'main table') => page.$$eval(`${table} tbody tr`,
    (trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent.trim())));
  kit.codesOf = async (page) => (await kit.rowsOf(page)).map((cells) => cells[0]);
  kit.optionsOf = (page, select) => page.$$eval(`${select} option`, (os) => os.map((o) => o.value));
  // The text of the first element that matches, or null when there is none (no waiting).
  kit.text = async (page, selector) =>
    (await page.locator(selector).count()) ? (await page.locator(selector).first().textContent()).trim() : null;
  kit.open = async (page, url, expected = 200) => {
    const r = await page.goto(base + url);
    assert.equal(r.status(), expected, `GET ${url}: ${r.status()}`);
    return r;
  };
  // The password the first start printed (it comes after the server starts answering).
  kit.firstAdminPassword = async () => {
    for (let i = 0; i < 100; ++i) {
      const m = [...fs.readFileSync(logFile, 'utf8').matchAll(/mật khẩu dùng một lần: ([0-9A-Z]+)/g)].pop();
      if (m) return m[1];
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no one-time password for admin in ${logFile}`);
  };
  // From any console address to the sign-in form, signed in: where the server sent the browser.
  kit.signIn = async (page, username, password, from = '/console/') => {
    await page.goto(base + from);
    assert.equal(new URL(page.url()).pathname, '/console/signin', `${from} sends to the sign-in page`);
    assert.equal(new URL(page.url()).searchParams.get('next'), from, 'the sign-in page knows where to go next');
    await page.fill('#username', username);
    await page.fill('#password', password);
    return kit.submitting(page, () => page.click('main form button[type=submit]'));
  };
  // On /console/password after a one-time password: the new password, then the overview.
  kit.changePassword = async (page, current, next) => {
    assert.equal(new URL(page.url()).pathname, '/console/password', 'a one-time password leads to /console/password');
    await page.fill('#current', current);
    await page.fill('#new', next);
    await page.fill('#again', next);
    await kit.navigating(page, () => page.click('main form button.primary'));
    assert.equal(new URL(page.url()).pathname, '/console/', `after the new password: the overview (${page.url()})`);
    assert.equal(await kit.text(page, 'h1'), 'Tổng quan');
  };
  // The innermost elements that reach past the window's right edge, to say what overflows: data
  // tables and charts in their scrolling frames (WCAG 1.4.10 excepts them) apart from the rest.
  kit.pastTheEdge = (page) => page.evaluate(() => {
    const out = [...document.querySelectorAll('body *:not(option)')]
      .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
      .filter((e) => !e.closest('.scroll, figure.chart') || e.matches('.scroll, figure.chart'))
      .filter((e, _, all) => !all.some((o) => o !== e && e.contains(o)))
      .sort((a, b) => b.getBoundingClientRect().width - a.getBoundingClientRect().width);
    const name = (e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}` +
      `${e.className && typeof e.className === 'string' ? `.${e.className.split(' ').join('.')}` : ''} ` +
      `(${Math.round(e.getBoundingClientRect().width)} px wide)`;
    return { table: out.filter((e) => e.closest('table')).slice(0, 3).map(name),
      other: out.filter((e) => !e.closest('table')).slice(0, 3).map(name) };
  });
  return kit;
}
