// Browser test of the console for officials (/console/), in Debian's headless Chromium driven by
// playwright-core. It starts hailong itself on an empty database (SQLite in a temporary folder, a
// free loopback port, the counter plugin), creates agencies PT (province) > XA, XB (communes) with
// a counter, an officer, a device and dossiers in each over the API, then:
//   1. signs in as "admin" with the one-time password `hailong serve` printed at its first start,
//      is made to choose a new one (a mismatch first) and lands on the overview; the old password
//      no longer works; the header's menu and language link;
//   2. creates a counter for XA and a device for it with the console's forms, asks for its pairing
//      code (Crockford base32, XXXX-XXXX) and pairs a tablet page at /c/counter/ with it; revokes
//      a second device;
//   3. creates an official account for XA on the accounts page and reads its one-time password;
//   4. the survey editor: a shipped survey's JSON edited in the page, "Kiểm tra" (valid and with
//      errors: bad JSON, a bad question type), "Xem trước", "Xuất bản" (a new version, seen in
//      the API), an invalid definition refused at publishing, an older version retired;
//   5. the audit log shows all of that (and filters by kind);
//   6. the XA official, in a new browser context: forced password change, then sees only XA's
//      agencies, counters, officers, devices and audit entries, may add a counter to XA, and is
//      refused XB (a counter posted for XB: 403 and the form's error; XB's device's pairing code,
//      its revocation, XB's counter, officer or agency moved or changed, a device on XB's counter:
//      403 each and nothing stored), admins' forms (accounts, a password reset, publishing and
//      retiring a survey: 403), the accounts page (403), XB's dossiers over the API with the
//      session (403; XA's 200, devices XA's only; a change without X-CSRF-Token 403);
//   6b. webhooks: one added with the console's form (its secret shown once, not after a reload),
//      its delivery log after a response (a receiver that is not there), another paused: marked
//      on /console/webhooks and named on /console/alerts;
//   7. runs axe-core (WCAG 2.0/2.1 A and AA) on the sign-in page, the overview, the counters,
//      devices, accounts, audit, survey and webhook pages: a serious or critical violation fails
//      (console-axe.json);
//   8. takes screenshots at 1280×800 and at 390 px (console-*.png); nothing but a data table may
//      stick out past the right edge at 390 px (WCAG 1.4.10).
// Every console page must load without a console error (CSP refusals, script errors).
//
//   node tests/e2e/console.test.mjs --hailong build/bin/hailong --artifacts build/e2e-artifacts
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { axeCheck as axeCheckIn, writeAxeReport } from './axe.mjs';
import os from 'node:os';
import path from 'node:path';
import { consoleKit, launchChromium } from './console-kit.mjs';
import { Hailong, options } from './hailong.mjs';

const args = options();
const artifacts = args.artifacts ?? 'build/e2e-artifacts';
const chromiumPath = args.chromium ?? '/usr/bin/chromium';
fs.mkdirSync(artifacts, { recursive: true });
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hailong-console-'));
const began = Date.now();
// The server's log (stdout and stderr) is where the first admin's password is printed: a fresh
// log for this run, so that the password read is this database's.
const logFile = path.join(artifacts, 'console-server.log');
fs.rmSync(logFile, { force: true });
const host = await Hailong.create({
  binary: args.hailong ?? 'build/bin/hailong', work, log: logFile,
  settings: { 'plugins.enabled': 'counter' },
});
const base = host.base;
const api = (...a) => host.api(...a);
const status = async (method, url) =>
  (await fetch(base + url, { method, headers: { Authorization: `Bearer ${host.token}` } })).status;

const SURVEY = 'nps-service';
const ADMIN_PASSWORD = 'Tra-Cuu-2026-An-Toan';
const OFFICIAL = 'canbo.xa';
const OFFICIAL_PASSWORD = 'Xa-A-Mot-Cua-2026';
// Crockford base32 (no I, L, O, U), in two groups of four.
const PAIRING = /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/;

const { step, shot, screenshots, part, failed, watch, pageProblems, navigating, submitting, rowsOf, codesOf,
  optionsOf, text, open, firstAdminPassword, signIn, changePassword, pastTheEdge } =
  consoleKit({ base, artifacts, prefix: 'console', logFile });

// --- axe-core -----------------------------------------------------------------------------------
const axeReports = [];
const axeCheck = (page, name) => axeCheckIn(page, name, axeReports);

let browser = null;
// A browser context whose waits give up after 10 s (a missing element fails soon).
async function newContext(settings) {
  const context = await browser.newContext(settings);
  context.setDefaultTimeout(10000);
  return context;
}
try {
  step('start hailong on an empty database; PT > XA, XB with a counter, an officer, a device and dossiers each');
  await host.start();
  const oneTime = await firstAdminPassword();
  assert.match(oneTime, /^[0-9A-Z]{16}$/, 'the printed one-time password');
  await api('POST', '/api/v1/agencies', { code: 'PT', name: 'UBND tỉnh Phú Thọ', kind: 'province' });
  await api('POST', '/api/v1/agencies', { code: 'XA', name: 'UBND xã An Thạnh', kind: 'commune', parent: 'PT' });
  await api('POST', '/api/v1/agencies', { code: 'XB', name: 'UBND xã Bình Minh', kind: 'commune', parent: 'PT' });
  await api('POST', '/api/v1/procedures', { code: '1.001193', name: 'Đăng ký khai sinh', processing_days: 1 });
  for (const a of ['XA', 'XB']) {
    await api('POST', '/api/v1/officers', { code: `${a}-CB1`, name: `Cán bộ một cửa ${a}`, title: 'Công chức Văn phòng', agency: a });
    for (let i = 1; i <= 2; ++i)
      await api('POST', '/api/v1/dossiers', { code: `${a}-HS${i}`, agency: a, procedure: '1.001193',
        received_at: Date.now() - 86400000, status: 'returned' });
  }
  await api('POST', '/api/v1/counters', { code: 'XB-Q1', name: 'Quầy 1 — xã Bình Minh', agency: 'XB' });
  await api('POST', '/api/v1/devices', { code: 'XB-TAB1', name: 'Máy tính bảng xã Bình Minh', counter: 'XB-Q1' });

  browser = await launchChromium(chromiumPath);

  // ---- 1: the first admin ------------------------------------------------------------------------
  step('admin signs in with the printed one-time password; must choose a new one; lands on the overview');
  const adminContext = await newContext({ viewport: { width: 1280, height: 800 }, locale: 'vi-VN' });
  const page = watch(await adminContext.newPage(), 'admin');
  await page.goto(`${base}/console/`);
  assert.equal(await text(page, 'h1'), 'Đăng nhập');
  await shot(page, 'signin');
  assert.equal(await signIn(page, 'admin', oneTime), 303, 'the sign-in POST redirects');
  assert.equal(new URL(page.url()).pathname, '/console/password', 'a one-time password leads to /console/password');
  assert.match(await text(page, '.notice'), /mật khẩu mới/, 'the page says why');
  await shot(page, 'password');
  await open(page, '/console/counters');
  assert.equal(new URL(page.url()).pathname, '/console/password', 'no other page before the new password');
  await page.fill('#current', oneTime);
  await page.fill('#new', ADMIN_PASSWORD);
  await page.fill('#again', `${ADMIN_PASSWORD}x`);
  assert.equal(await submitting(page, () => page.click('main form button.primary')), 422, 'a mismatch is a 422');
  assert.equal(await page.getAttribute('.failure', 'role'), 'alert');
  assert.ok((await text(page, '.failure')).length > 0, 'the mismatch is explained');
  await changePassword(page, oneTime, ADMIN_PASSWORD);
  assert.match(await text(page, '.me'), /Quản trị · Quản trị viên · Toàn tỉnh/);
  const nav = await page.$$eval('header nav a', (as) => as.map((a) => [a.textContent.trim(), a.getAttribute('href')]));
  // These, in this order (other entries may sit between them).
  const menu = [['Cơ quan, đơn vị', '/console/agencies'], ['Quầy tiếp nhận', '/console/counters'],
    ['Cán bộ, công chức', '/console/officers'], ['Thiết bị đánh giá', '/console/devices'],
    ['Phiếu khảo sát', '/console/surveys'], ['Tài khoản', '/console/users'], ['Nhật ký thay đổi', '/console/audit']];
  assert.deepEqual(nav.filter(([, href]) => menu.some(([, h]) => h === href)), menu,
    `the header menu of an admin: ${nav.map(([label]) => label).join(', ')}`);
  await shot(page, 'home');
  await navigating(page, () => page.click('a.lang'));
  assert.equal(await text(page, 'h1'), 'Overview', 'a.lang switches to English');
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  await open(page, '/console/agencies');
  assert.equal(await page.getAttribute('html', 'lang'), 'en', 'the language is remembered');
  await shot(page, 'agencies-en');
  await navigating(page, () => page.click('a.lang'));
  assert.equal(await page.getAttribute('html', 'lang'), 'vi');
  assert.deepEqual(await codesOf(page), ['PT', 'XA', 'XB'], 'the admin sees every agency');
  step('the one-time password no longer signs in');
  {
    const other = await newContext({ locale: 'vi-VN' });
    const p = watch(await other.newPage(), 'old-password');
    assert.equal(await signIn(p, 'admin', oneTime), 401, 'the old one-time password is refused');
    assert.equal(new URL(p.url()).pathname, '/console/signin');
    assert.equal(await p.getAttribute('.failure', 'role'), 'alert');
    await shot(p, 'signin-refused');
    await other.close();
  }

  // ---- 2: a counter, a device, its pairing code ------------------------------------------------
  step('a counter for XA with the console’s form');
  await open(page, '/console/counters');
  assert.deepEqual(await optionsOf(page, '#agency'), ['PT', 'XA', 'XB']);
  await page.fill('#code', 'XA-Q1');
  await page.fill('#name', 'Quầy 1 — Bộ phận một cửa xã An Thạnh');
  await page.selectOption('#agency', 'XA');
  await navigating(page, () => page.getByRole('button', { name: 'Lưu' }).click());
  assert.equal(new URL(page.url()).pathname + new URL(page.url()).search, '/console/counters?saved=XA-Q1');
  assert.match(await text(page, '.notice'), /XA-Q1/);
  assert.equal(await page.getAttribute('.notice', 'role'), 'status');
  assert.deepEqual((await rowsOf(page)).find((c) => c[0] === 'XA-Q1')?.slice(0, 3),
    ['XA-Q1', 'Quầy 1 — Bộ phận một cửa xã An Thạnh', 'XA'], 'the counter is listed with its agency');
  assert.equal((await api('GET', '/api/v1/counters/XA-Q1')).agency, 'XA', 'and stored');
  await shot(page, 'counters');

  step('a device for it; its pairing code');
  await open(page, '/console/devices');
  assert.deepEqual(await optionsOf(page, '#counter'), ['XA-Q1', 'XB-Q1']);
  for (const [code, name] of [['XA-TAB1', 'Máy tính bảng quầy 1'], ['XA-TAB2', 'Máy dự phòng']]) {
    await page.fill('#code', code);
    await page.fill('#name', name);
    await page.selectOption('#counter', 'XA-Q1');
    await navigating(page, () => page.getByRole('button', { name: 'Lưu' }).click());
    assert.equal(new URL(page.url()).search, `?saved=${code}`);
  }
  let devices = await rowsOf(page);
  assert.deepEqual(devices.find((c) => c[0] === 'XA-TAB1')?.slice(0, 4),
    ['XA-TAB1', 'Máy tính bảng quầy 1', 'XA-Q1', 'Chưa ghép nối']);
  const row = (code) => page.locator('main table tbody tr', { has: page.locator(`code:text-is("${code}")`) });
  await navigating(page, () => row('XA-TAB1').getByRole('button', { name: 'Mã ghép nối' }).click());
  const notice = await text(page, '.notice');
  const m = notice.match(/^Mã ghép nối của XA-TAB1: (\S+) \(dùng được đến (\d\d\/\d\d\/\d{4} \d\d:\d\d)\)\.$/);
  assert.ok(m, `the notice gives the code: “${notice}”`);
  const pairingCode = m[1];
  assert.match(pairingCode, PAIRING, 'a pairing code is Crockford base32, XXXX-XXXX');
  await shot(page, 'devices-pairing');

  step(`pair a tablet page at /c/counter/ with ${pairingCode}`);
  const tablet = await newContext({ viewport: { width: 800, height: 1280 }, locale: 'vi-VN' });
  const tab = watch(await tablet.newPage(), 'tablet');
  await tab.goto(`${base}/c/counter/`);
  await tab.fill('#code', pairingCode.toLowerCase());
  await tab.click('button[type=submit]');
  await tab.waitForFunction(() => document.body.dataset.screen === 'start', null, { timeout: 15000 });
  assert.match(await tab.textContent('#counter-name'), /Quầy 1/);
  await tablet.close();
  await open(page, '/console/devices');
  devices = await rowsOf(page);
  assert.equal(devices.find((c) => c[0] === 'XA-TAB1')?.[3], 'Đang dùng', 'the paired device is in use');

  step('revoke the spare device with “Thu hồi”');
  await navigating(page, () => row('XA-TAB2').getByRole('button', { name: 'Thu hồi' }).click());
  assert.match(await text(page, '.notice'), /Đã thu hồi thiết bị XA-TAB2/);
  assert.equal((await rowsOf(page)).find((c) => c[0] === 'XA-TAB2')?.[3], 'Đã thu hồi');
  assert.equal(await row('XA-TAB2').getByRole('button', { name: 'Thu hồi' }).count(), 0, 'no “Thu hồi” on a revoked device');

  // ---- 3: an official's account ----------------------------------------------------------------
  step(`an official account for XA (${OFFICIAL}) on the accounts page`);
  await open(page, '/console/users');
  await page.fill('#username', OFFICIAL);
  await page.fill('#name', 'Trần Văn Bình');
  await page.selectOption('#role', 'official');
  await page.selectOption('#agency', 'XA');
  await navigating(page, () => page.getByRole('button', { name: 'Tạo tài khoản' }).click());
  const created = (await text(page, '.notice')).match(/Mật khẩu dùng một lần: ([0-9A-Z]+)/);
  assert.ok(created, 'the notice gives the one-time password');
  const officialOneTime = created[1];
  assert.match(officialOneTime, /^[0-9A-Z]{16}$/);
  assert.deepEqual((await rowsOf(page)).find((c) => c[0] === OFFICIAL)?.slice(0, 5),
    [OFFICIAL, 'Trần Văn Bình', 'Cán bộ quản lý', 'XA', 'Đang hoạt động']);
  await shot(page, 'users');

  // ---- 4: the survey editor ------------------------------------------------------------------
  let published = null;
  await part('survey editor', async () => {
    step(`the survey editor: ${SURVEY}`);
    const before = await api('GET', `/api/v1/surveys/${SURVEY}`);
    await open(page, '/console/surveys');
    const listed = (await rowsOf(page)).find((c) => c[0] === SURVEY);
    assert.ok(listed, `${SURVEY} is listed on /console/surveys`);
    assert.ok(listed.includes(String(before.version)), `its latest version ${before.version} is shown: ${listed.join(' | ')}`);
    await shot(page, 'surveys');
    await navigating(page, () => page.click(`main a[href="/console/surveys/${SURVEY}"]`));
    assert.equal(new URL(page.url()).pathname, `/console/surveys/${SURVEY}`);
    const form = `form[method=post][action="/console/surveys/${SURVEY}"]`;
    assert.equal(await page.locator(`${form} textarea#definition[name=definition]`).count(), 1, 'the editor form');
    const shown = JSON.parse(await page.inputValue('#definition'));
    assert.equal(shown.id, SURVEY);
    assert.deepEqual(shown.title, before.title, 'the textarea holds the latest version');
    const button = (action) => page.locator(`${form} button[name=action][value=${action}]`);
    assert.deepEqual([await button('check').textContent(), await button('preview').textContent(), await button('publish').textContent()]
      .map((s) => s.trim()), ['Kiểm tra', 'Xem trước', 'Xuất bản']);
    await shot(page, 'survey-editor');
    const errors = () => page.$$eval('ul#survey-errors li', (ls) => ls.map((l) => l.textContent.trim()));
    const version = async () => (await api('GET', `/api/v1/surveys/${SURVEY}`)).version;

    step('typing in the editor checks it live: an unknown question type is named by its path');
    {
      const typed = structuredClone(shown);
      typed.questions[0].type = 'kieu-go-sai';
      await page.fill('#definition', JSON.stringify(typed, null, 2));
      await page.waitForFunction(() => document.querySelector('#live-check li'), null, { timeout: 5000 });
      const live = await page.textContent('#live-check');
      assert.match(live, /\/questions\/0\/type/, `live check names the place: ${live}`);
      await page.fill('#definition', JSON.stringify(shown, null, 2));
      await page.waitForFunction(() => document.querySelector('#live-check.ok'), null, { timeout: 5000 });
    }

    step('“Kiểm tra” on broken JSON and on an unknown question type: the error list');
    await page.fill('#definition', '{ "id": "nps-service", "title": ');
    await navigating(page, () => button('check').click());
    assert.ok((await errors()).length >= 1, 'broken JSON: at least one error listed');
    assert.equal(await page.inputValue('#definition'), '{ "id": "nps-service", "title": ', 'what was typed is kept');
    const bad = structuredClone(shown);
    bad.questions[0].type = 'khong-co-kieu-nay';
    await page.fill('#definition', JSON.stringify(bad, null, 2));
    await navigating(page, () => button('check').click());
    let listedErrors = await errors();
    assert.ok(listedErrors.some((e) => e.startsWith('/questions/0/type')), `the type error by its path: ${listedErrors.join(' ; ')}`);
    assert.equal(await page.locator('.notice').count(), 0, 'no “valid” notice with errors');
    await shot(page, 'survey-errors');
    step('“Xuất bản” of the invalid definition: refused, no new version');
    await navigating(page, () => button('publish').click());
    listedErrors = await errors();
    assert.ok(listedErrors.some((e) => e.startsWith('/questions/0/type')), 'the same error at publishing');
    assert.equal(await version(), before.version, 'nothing published');

    step('title.vi + " (2026)": “Kiểm tra” (valid), “Xem trước”, “Xuất bản”');
    await open(page, `/console/surveys/${SURVEY}`);
    await page.$eval('#definition', (t) => {
      const d = JSON.parse(t.value);
      d.title.vi += ' (2026)';
      t.value = JSON.stringify(d, null, 2);
    });
    await navigating(page, () => button('check').click());
    assert.equal(await page.locator('ul#survey-errors').count(), 0, `valid: no error list (${(await errors()).join(' ; ')})`);
    assert.ok((await text(page, '.notice'))?.length > 0, 'valid: a notice');
    assert.equal(JSON.parse(await page.inputValue('#definition')).title.vi, `${before.title.vi} (2026)`, 'the edit is kept');
    await navigating(page, () => button('preview').click());
    const preview = await text(page, 'section#preview');
    assert.ok(preview, 'section#preview');
    for (const q of shown.questions.filter((x) => x.text?.vi))
      assert.ok(preview.includes(q.text.vi), `the preview shows question ${q.id}`);
    assert.equal(JSON.parse(await page.inputValue('#definition')).title.vi, `${before.title.vi} (2026)`, 'the edit is kept');
    await shot(page, 'survey-preview');
    await navigating(page, () => button('publish').click());
    const said = (await text(page, '.notice')) ?? '';
    assert.match(said, new RegExp(`phiên bản ${before.version + 1}\\b`), `the notice names the new version: “${said}”`);
    const after = await api('GET', `/api/v1/surveys/${SURVEY}`);
    assert.equal(after.version, before.version + 1, 'the API serves the new version');
    assert.equal(after.title.vi, `${before.title.vi} (2026)`);
    assert.equal(after.status, 'published');
    published = after.version;
    await shot(page, 'survey-published');

    step(`retire version ${before.version} with its row’s button`);
    await open(page, `/console/surveys/${SURVEY}`);
    const retire = page.locator(`form[method=post][action="/console/surveys/${SURVEY}/${before.version}/retire"] button`);
    assert.equal(await retire.count(), 1, `a retire button for version ${before.version}`);
    await navigating(page, () => retire.click());
    const versions = (await api('GET', `/api/v1/surveys/${SURVEY}/versions`)).items;
    assert.equal(versions.find((v) => v.version === before.version)?.status, 'retired');
    assert.equal(versions.find((v) => v.version === published)?.status, 'published');
  });

  // ---- 5: the audit log --------------------------------------------------------------------------
  step('the audit log has each change, by user:admin');
  await open(page, '/console/audit');
  const audit = (await rowsOf(page)).map((c) => c.slice(1, 5).join(' '));
  const expected = ['user:admin password user admin', 'user:admin create counter XA-Q1',
    'user:admin create device XA-TAB1', 'user:admin pairing_code device XA-TAB1',
    'user:admin revoke device XA-TAB2', `user:admin create user ${OFFICIAL}`];
  for (const e of expected) assert.ok(audit.includes(e), `audit: “${e}”`);
  await part('audit of the survey', async () => {
    assert.ok(published, 'a survey was published');
    assert.ok(audit.includes(`user:admin publish survey ${SURVEY}`), `audit: “user:admin publish survey ${SURVEY}”`);
    assert.ok(audit.includes(`user:admin retire survey ${SURVEY}`), `audit: “user:admin retire survey ${SURVEY}”`);
  });
  await shot(page, 'audit');
  await page.fill('#kind', 'device');
  await navigating(page, () => page.getByRole('button', { name: 'Lọc' }).click());
  assert.equal(new URL(page.url()).searchParams.get('kind'), 'device');
  const deviceRows = await rowsOf(page);
  assert.ok(deviceRows.length >= 3 && deviceRows.every((c) => c[3] === 'device'), 'the kind filter keeps devices only');

  // ---- 6: an official of XA ------------------------------------------------------------------
  step(`${OFFICIAL} in a new browser context: from /console/counters to the sign-in, a new password`);
  const officialContext = await newContext({ viewport: { width: 1280, height: 800 }, locale: 'vi-VN' });
  const op = watch(await officialContext.newPage(), 'official');
  assert.equal(await signIn(op, OFFICIAL, officialOneTime, '/console/counters'), 303);
  assert.match(await text(op, '.notice'), /mật khẩu mới/, 'the password page says why');
  await changePassword(op, officialOneTime, OFFICIAL_PASSWORD);
  assert.match(await text(op, '.me'), /Trần Văn Bình · Cán bộ quản lý · UBND xã An Thạnh/);
  const officialNav = await op.$$eval('header nav a', (as) => as.map((a) => a.getAttribute('href')));
  assert.ok(!officialNav.includes('/console/users'), 'no accounts link for an official');

  step('only XA’s agencies, counters, officers, devices and audit entries');
  await open(op, '/console/agencies');
  assert.deepEqual(await codesOf(op), ['XA']);
  await open(op, '/console/counters');
  assert.deepEqual(await codesOf(op), ['XA-Q1']);
  assert.deepEqual(await optionsOf(op, '#agency'), ['XA'], 'the agency choice is XA only');
  await shot(op, 'official-counters');
  await open(op, '/console/officers');
  assert.deepEqual(await codesOf(op), ['XA-CB1']);
  await open(op, '/console/devices');
  assert.deepEqual((await codesOf(op)).sort(), ['XA-TAB1', 'XA-TAB2']);
  assert.deepEqual(await optionsOf(op, '#counter'), ['XA-Q1']);
  await open(op, '/console/audit');
  const officialAudit = await rowsOf(op);
  console.log(`  the official’s audit log: ${officialAudit.length} entries: ` +
    `${[...new Set(officialAudit.map((c) => `${c[2]} ${c[3]} ${c[4]}`))].join(', ')}`);
  assert.ok(officialAudit.some((c) => c[4] === 'XA-Q1'), 'XA’s changes are in the official’s audit log');
  assert.deepEqual(officialAudit.filter((c) => /^X[^A]/.test(c[4]) || c[4] === 'PT').map((c) => c.join(' ')), [],
    'nothing of XB or PT in the official’s audit log');

  step('the official adds a counter to XA');
  await open(op, '/console/counters');
  await op.fill('#code', 'XA-Q2');
  await op.fill('#name', 'Quầy 2 — xã An Thạnh');
  await navigating(op, () => op.getByRole('button', { name: 'Lưu' }).click());
  assert.equal(new URL(op.url()).search, '?saved=XA-Q2');
  assert.deepEqual((await codesOf(op)).sort(), ['XA-Q1', 'XA-Q2']);

  step('a counter posted for XB (the select changed in the page): 403 and the form’s error');
  await op.fill('#code', 'XB-Q9');
  await op.fill('#name', 'Quầy không được phép');
  await op.$eval('#agency', (s) => { s.add(new Option('XB', 'XB')); s.value = 'XB'; });
  assert.equal(await submitting(op, () => op.getByRole('button', { name: 'Lưu' }).click()), 403);
  assert.equal(await op.getAttribute('.failure', 'role'), 'alert');
  assert.ok((await text(op, '.failure')).length > 0);
  assert.equal(await status('GET', '/api/v1/counters/XB-Q9'), 404, 'no counter XB-Q9 was stored');
  assert.deepEqual(await codesOf(op), ['XA-Q1', 'XA-Q2'], 'the refusal lists XA’s counters only');
  await shot(op, 'official-refused');

  step('XB’s device’s pairing code (the page’s key, another device): 403');
  await open(op, '/console/devices');
  const csrf = await op.$eval('main form input[name=csrf]', (i) => i.value);
  const pairXB = await op.request.post(`${base}/console/devices/XB-TAB1/pairing`, { form: { csrf }, maxRedirects: 0 });
  assert.equal(pairXB.status(), 403);
  assert.doesNotMatch(await pairXB.text(), /Mã ghép nối của XB-TAB1/);
  const pairOwn = await op.request.post(`${base}/console/devices/XA-TAB2/pairing`, { form: { csrf: 'not-the-key' }, maxRedirects: 0 });
  assert.equal(pairOwn.status(), 403, 'a form without the page’s key is refused');

  step('other forms of XB’s things and admins’ forms, posted with the page’s key: 403 each, nothing changed');
  const { version: latest, status: _s, content_hash: _h, ...latestDefinition } = await api('GET', `/api/v1/surveys/${SURVEY}`);
  const definition = JSON.stringify({ ...latestDefinition, title: { ...latestDefinition.title, vi: 'Không được xuất bản' } });
  const probes = [
    ['/console/devices/XB-TAB1/revoke', {}],
    ['/console/counters', { code: 'XB-Q1', name: 'Quầy của XB chuyển sang XA', agency: 'XA' }],
    ['/console/officers', { code: 'XB-CB1', name: 'Cán bộ XB', title: '', agency: 'XA' }],
    ['/console/agencies', { code: 'XB', name: 'Xã B đổi tên', kind: 'commune', parent: 'XA' }],
    ['/console/agencies', { code: 'XA-T1', name: 'Thôn mới dưới XB', kind: 'village', parent: 'XB' }],
    ['/console/devices', { code: 'XB-TAB9', name: 'Thiết bị trên quầy XB', counter: 'XB-Q1' }],
    ['/console/users', { username: 'ke.gian', name: '', role: 'admin', agency: '' }],
    ['/console/users/admin/reset', {}],
    [`/console/surveys/${SURVEY}`, { action: 'publish', definition }],
    [`/console/surveys/${SURVEY}/${latest}/retire`, {}],
  ];
  const allowed = [];
  for (const [url, fields] of probes) {
    const r = await op.request.post(base + url, { form: { csrf, ...fields }, maxRedirects: 0 });
    if (r.status() !== 403) allowed.push(`POST ${url} ${JSON.stringify(fields).slice(0, 80)}: ${r.status()}`);
  }
  await part('the official’s forbidden forms', async () => assert.ok(allowed.length === 0,
    `an official of XA is refused each of these with 403, but: ${allowed.join('; ')}`));
  assert.equal((await api('GET', '/api/v1/counters/XB-Q1')).agency, 'XB');
  assert.equal((await api('GET', '/api/v1/officers/XB-CB1')).agency, 'XB');
  assert.equal((await api('GET', '/api/v1/agencies/XB')).name, 'UBND xã Bình Minh');
  assert.equal((await api('GET', '/api/v1/agencies/XB')).parent, 'PT');
  const survey = await api('GET', `/api/v1/surveys/${SURVEY}`);
  assert.deepEqual([survey.version, survey.status], [latest, 'published'], 'the survey’s latest version is unchanged');
  for (const url of ['/api/v1/agencies/XA-T1', '/api/v1/devices/XB-TAB9'])
    assert.equal(await status('GET', url), 404, `${url} was not made`);

  step('the accounts page: 403');
  await open(op, '/console/users', 403);
  assert.equal(await op.getAttribute('.failure', 'role'), 'alert');
  assert.equal(await op.locator('#username').count(), 0, 'no account form');

  step('the API with the session cookie: XB’s dossiers 403, XA’s 200');
  const xb = await op.request.get(`${base}/api/v1/dossiers?agency=XB`);
  assert.equal(xb.status(), 403, `GET /api/v1/dossiers?agency=XB: ${xb.status()}`);
  const xa = await op.request.get(`${base}/api/v1/dossiers?agency=XA`);
  assert.equal(xa.status(), 200, `GET /api/v1/dossiers?agency=XA: ${xa.status()}`);
  assert.deepEqual((await xa.json()).items.map((d) => d.code).sort(), ['XA-HS1', 'XA-HS2']);
  const all = await op.request.get(`${base}/api/v1/dossiers`);
  assert.equal(all.status(), 200);
  assert.deepEqual((await all.json()).items.map((d) => d.code).sort(), ['XA-HS1', 'XA-HS2'], 'the API lists XA’s dossiers only');
  // (Agencies, counters and officers are the public directory over the API; devices are not.)
  const apiDevices = await op.request.get(`${base}/api/v1/devices`);
  assert.equal(apiDevices.status(), 200);
  assert.deepEqual((await apiDevices.json()).items.map((d) => d.code).sort(), ['XA-TAB1', 'XA-TAB2'], 'the API lists XA’s devices only');
  const change = await op.request.post(`${base}/api/v1/counters`, { data: { code: 'XA-Q3', name: 'Quầy 3', agency: 'XA' } });
  assert.equal(change.status(), 403, 'a change over the API with the session but without X-CSRF-Token: 403');
  await part('follow-up cases: the official sees XA’s, assigns, answers; XB’s is refused', async () => {
    for (const a of ['XA', 'XB'])
      await api('POST', '/api/v1/responses', { idempotency_key: `e2e-case-${a}`, survey: 'phan-anh', channel: 'api',
        dossier: `${a}-HS1`, answers: { dossier: `${a}-HS1`, complaint: `Hồ sơ ${a}-HS1 trễ hẹn hai ngày, không được báo trước.` } });
    const all = (await api('GET', '/api/v1/cases?status=all')).cases;
    const mine = all.find((c) => c.agency === 'XA'), theirs = all.find((c) => c.agency === 'XB');
    await open(op, '/console/cases');
    assert.deepEqual((await codesOf(op)).map((c) => c.split('\n')[0].trim().slice(0, mine.code.length)), [mine.code]);
    await shot(op, 'official-cases');
    await navigating(op, () => op.getByRole('link', { name: mine.code }).click());
    assert.equal(await text(op, 'h1'), `Phản ánh ${mine.code}`);
    assert.match(await text(op, '#words'), /trễ hẹn hai ngày/);
    await op.selectOption('#c-assignee', OFFICIAL);
    await navigating(op, () => op.getByRole('button', { name: 'Giao xử lý' }).click());
    assert.match(await text(op, '#case-status'), /Đã giao/);
    await op.fill('#c-answer', 'Xin lỗi Ông/Bà; hồ sơ đã có kết quả, mời nhận tại quầy 1.');
    await navigating(op, () => op.getByRole('button', { name: 'Gửi trả lời' }).click());
    assert.match(await text(op, '.notice'), /Đã lưu trả lời/);
    assert.match(await text(op, '#case-status'), /Đã trả lời/);
    assert.match(await text(op, '#case-answer'), /mời nhận tại quầy 1/);
    await shot(op, 'official-case');
    await op.reload();  // the answer page came by a redirect: reloading sends nothing again
    const answered = await api('GET', `/api/v1/cases/${mine.code}`);
    assert.equal(answered.status, 'answered');
    assert.equal(answered.assignee, 'Trần Văn Bình');
    assert.deepEqual(answered.history.map((e) => e.action), ['opened', 'assigned', 'answered']);
    const refused = await op.goto(`${base}/console/cases/${theirs.id}`);
    assert.equal(refused.status(), 403, 'XB’s case is out of the official’s scope');
  });
  await part('survey pages for an official', async () => {
    await open(op, `/console/surveys/${SURVEY}`);
    assert.equal(await op.locator('button[name=action][value=publish]').count(), 0, 'no “Xuất bản” for an official');
  });
  await officialContext.close();

  // ---- 6b: webhooks -------------------------------------------------------------------------
  let webhookId = null;
  await part('webhooks: one added (its secret once) with a delivery log, another paused', async () => {
    step('webhooks: one added with the form; its secret is shown once');
    await open(page, '/console/webhooks');
    await page.fill('#w-name', 'Phần mềm một cửa xã An Thạnh');
    await page.fill('#w-url', 'http://127.0.0.1:9/hooks/hailong');
    await page.selectOption('#w-agency', 'XA');
    await page.check('input[name=events][value="response.created"]');
    await page.check('input[name=events][value="case.changed"]');
    await navigating(page, () => page.getByRole('button', { name: 'Thêm webhook' }).click());
    const m = new URL(page.url()).pathname.match(/^\/console\/webhooks\/(\d+)$/);
    assert.ok(m, `the form leads to the new webhook's page: ${page.url()}`);
    webhookId = m[1];
    assert.match(await text(page, '#webhook-secret'), /^whsec_[0-9a-f]{48}$/, 'the secret, once');
    await shot(page, 'webhook-created');
    await page.reload();
    assert.equal(await page.locator('#webhook-secret').count(), 0, 'a reload does not show it again');

    step('a response of XA: its delivery fails (nobody listens), the log says so');
    const rated = await api('POST', '/api/v1/responses', { idempotency_key: 'e2e-webhook-1', survey: 'counter-quick',
      channel: 'api', agency: 'XA', answers: { rating: '1' } });
    const event = `response.created:${rated.response_id}`;
    const attempted = (log) => log.some((d) => d.event === event && d.attempts > 0);
    let log = [];
    for (let i = 0; i < 100 && !attempted(log); ++i) {
      await new Promise((r) => setTimeout(r, 200));
      log = (await api('GET', `/api/v1/webhooks/${webhookId}/deliveries`)).items;
    }
    assert.ok(attempted(log), 'the new response’s delivery was attempted');
    await open(page, `/console/webhooks/${webhookId}`);
    const rows = await rowsOf(page, '#deliveries');
    assert.ok(rows.some((c) => c[2] === event && c[1] === 'Phiếu đánh giá mới' && c[3] === 'Gửi lỗi, sẽ thử lại' &&
      /Không kết nối được hệ thống nhận/.test(c[6])), `the log has ${event}: ${JSON.stringify(rows)}`);
    await shot(page, 'webhook');

    step('another webhook (of XB) paused with its button: it stands out; the alerts page says so');
    const other = await api('POST', '/api/v1/webhooks', { name: 'Cổng dịch vụ công xã Bình Minh',
      url: 'https://dvc.binhminh.example/hooks', agency: 'XB', events: ['response.negative', 'alert.raised'] });
    await open(page, '/console/webhooks');
    await navigating(page, () => page.locator(`form[action="/console/webhooks/${other.id}/pause"] button`).click());
    assert.match(await text(page, '.notice'), /Đã tạm dừng webhook «Cổng dịch vụ công xã Bình Minh»/);
    assert.equal(await page.locator('#paused-webhooks .badge.paused').count(), 1, 'the paused one stands out');
    assert.equal(await page.locator('#webhooks tr.paused').count(), 1);
    await shot(page, 'webhooks');
    await open(page, '/console/alerts');
    assert.match(await text(page, '#paused-webhooks'), /1 webhook đang tạm dừng/);
    await shot(page, 'alerts-webhook-paused');
  });

  // ---- 7: accessibility ----------------------------------------------------------------------
  step('axe-core (wcag2a, wcag2aa, wcag21a, wcag21aa) on the console’s pages');
  const axeContext = await newContext({ viewport: { width: 1280, height: 800 }, locale: 'vi-VN', bypassCSP: true });
  const ap = watch(await axeContext.newPage(), 'axe');
  const serious = [];
  await ap.goto(`${base}/console/`);
  serious.push(...await axeCheck(ap, 'signin'));
  await ap.fill('#username', 'khong.co.ai');
  await ap.fill('#password', 'sai-mat-khau-1');
  await navigating(ap, () => ap.click('main form button[type=submit]'));
  serious.push(...await axeCheck(ap, 'signin-error'));
  await ap.fill('#username', 'admin');
  await ap.fill('#password', ADMIN_PASSWORD);
  await navigating(ap, () => ap.click('main form button[type=submit]'));
  assert.equal(await text(ap, 'h1'), 'Tổng quan');
  serious.push(...await axeCheck(ap, 'home'));
  for (const name of ['counters', 'devices', 'users', 'audit', 'cases', 'cases/1', 'alerts']) {
    await open(ap, `/console/${name}`);
    serious.push(...await axeCheck(ap, name.replace('/', '-')));
  }
  await part('axe on the webhook pages', async () => {
    assert.ok(webhookId, 'a webhook was added');
    await open(ap, '/console/webhooks');
    serious.push(...await axeCheck(ap, 'webhooks'));
    await open(ap, `/console/webhooks/${webhookId}`);
    serious.push(...await axeCheck(ap, 'webhook'));
  });
  await part('axe on the survey pages', async () => {
    await open(ap, '/console/surveys');
    serious.push(...await axeCheck(ap, 'surveys'));
    await open(ap, `/console/surveys/${SURVEY}`);
    serious.push(...await axeCheck(ap, 'survey-editor'));
  });
  await axeContext.close();
  writeAxeReport(axeReports, path.join(artifacts, 'console-axe.json'));
  await part('axe', async () => assert.deepEqual(serious, [], 'no serious or critical accessibility violation'));

  // ---- 8: a phone's width ----------------------------------------------------------------------
  step('the overview, counters, devices, accounts, audit log and survey editor at 390 px');
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [url, name] of [['/console/', 'home-390'], ['/console/counters', 'counters-390'],
    ['/console/devices', 'devices-390'], ['/console/users', 'users-390'], ['/console/audit', 'audit-390'],
    [`/console/surveys/${SURVEY}`, 'survey-editor-390'], ['/console/webhooks', 'webhooks-390']]) {
    const r = await page.goto(base + url);
    if (r.status() !== 200) {
      await part(`${name}`, async () => assert.fail(`GET ${url}: ${r.status()}`));
      continue;
    }
    await shot(page, name);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    const past = await pastTheEdge(page);
    console.log(`  ${name}: scrollWidth ${width} px` +
      `${past.other.length ? `; past the edge: ${past.other.join(', ')}` : ''}` +
      `${past.table.length ? `; a table wider than the window (${past.table.join(', ')})` : ''}`);
    await part(`${name} fits`, async () => assert.ok(past.other.length === 0,
      `nothing but tables sticks out at 390 px (scrollWidth ${width}; ${past.other.join(', ')})`));
  }
  await adminContext.close();

  await part('no console or CSP errors on the pages', async () => assert.deepEqual(pageProblems, []));
  assert.deepEqual(failed, [], 'the checks reported above');
  console.log(`ok: console in Chromium (first admin, counter, device and pairing, account, survey editor, audit, ` +
    `an official’s scope, axe on ${axeReports.length} pages, ${screenshots.length} screenshots) in ` +
    `${((Date.now() - began) / 1000).toFixed(1)} s; screenshots in ${artifacts}`);
} catch (e) {
  console.error(`FAILED: ${e.stack ?? e}`);
  if (failed.length) console.error(`also failed:\n  ${failed.join('\n  ')}`);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  await host.stop();
  fs.rmSync(work, { recursive: true, force: true });
}
