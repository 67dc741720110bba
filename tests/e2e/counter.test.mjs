// Browser test of the counter tablet, in Debian's headless Chromium driven by playwright-core.
// It starts hailong itself (SQLite in a temporary folder, a free loopback port), creates a
// counter and a device over the API, pairs a browser window, rates with every face (reasons and
// a comment on the negative one), signs an officer in, then stops the server, taps five times
// offline, starts the server again and checks that all five arrive exactly once; finally it
// revokes the device. Screenshots go to the artifacts folder.
//
//   node tests/e2e/counter.test.mjs --hailong build/bin/hailong --artifacts build/e2e-artifacts
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { Hailong, options } from './hailong.mjs';

const args = options();
const artifacts = args.artifacts ?? 'build/e2e-artifacts';
const chromiumPath = args.chromium ?? '/usr/bin/chromium';
fs.mkdirSync(artifacts, { recursive: true });
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hailong-e2e-'));
const step = (what) => console.log(`- ${what}`);

const host = await Hailong.create({
  binary: args.hailong ?? 'build/bin/hailong', work, log: path.join(artifacts, 'counter-server.log'),
  settings: { 'plugins.enabled': 'counter', 'plugin.counter.retry_max_ms': 1500, 'plugin.counter.reset_seconds': 3 },
});
const base = host.base;
const api = (...a) => host.api(...a);
const startServer = () => host.start();
const stopServer = () => host.stop();

async function responsesOfDevice() {
  return (await api('GET', '/api/v1/responses?device=TAB-E2E&limit=500')).items;
}

let browser = null;
try {
  step('start hailong on a free loopback port');
  await startServer();

  step('create a counter, an officer with a PIN and a device; ask for a pairing code');
  await api('POST', '/api/v1/agencies', { code: 'E2E', name: 'UBND phường Phú Thượng', kind: 'commune' });
  await api('POST', '/api/v1/counters', { code: 'E2E-Q1', name: 'Quầy 1 — Tiếp nhận và trả kết quả', agency: 'E2E' });
  await api('POST', '/api/v1/officers', { code: 'E2E-CB1', name: 'Nguyễn Thị Thu Hằng', title: 'Công chức Tư pháp – Hộ tịch', agency: 'E2E' });
  await api('PUT', '/api/v1/officers/E2E-CB1/pin', { pin: '2468' });
  await api('POST', '/api/v1/devices', { code: 'TAB-E2E', name: 'Máy tính bảng quầy 1', counter: 'E2E-Q1' });
  const { pairing_code: pairingCode } = await api('POST', '/api/v1/devices/TAB-E2E/pairing');

  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 800, height: 1280 }, locale: 'vi-VN' });
  const page = await context.newPage();
  const screen = (name) => page.waitForFunction((n) => document.body.dataset.screen === n, name, { timeout: 15000 });
  const queue = (n, timeout = 20000) => page.waitForFunction((k) => document.body.dataset.queue === String(k), n, { timeout });
  const pause = (ms) => new Promise((r) => setTimeout(r, ms));
  // A tap after the page's debounce, then the thank-you screen, then back to the start.
  async function tap(face) {
    await pause(900);
    await page.click(`#faces [data-face="${face}"]`);
  }
  async function thankedAndBack() {
    await screen('thanks');
    await page.click('#thanks-back');
    await screen('start');
  }

  step('pair the browser window with the code, typed in lower case');
  await page.goto(`${base}/c/counter/`);
  await page.fill('#code', pairingCode.toLowerCase());
  await page.click('button[type=submit]');
  await screen('start');
  assert.match(await page.textContent('#counter-name'), /Quầy 1/);
  await page.screenshot({ path: path.join(artifacts, 'counter-portrait.png') });
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.screenshot({ path: path.join(artifacts, 'counter-landscape.png') });
  await page.setViewportSize({ width: 800, height: 1280 });

  step('tap each face; reasons and a comment after the negative one');
  const faces = await page.$$eval('#faces [data-face]', (bs) => bs.map((b) => b.dataset.face));
  assert.deepEqual(faces, ['3', '2', '1']);
  for (const face of ['3', '2']) {
    await tap(face);
    await thankedAndBack();
  }
  await tap('1');
  await screen('reasons');
  await page.click('#reason-list [data-reason="waiting"]');
  await page.click('#reason-list [data-reason="guidance"]');
  await page.fill('#comment', 'Chờ hơn một tiếng mới đến lượt.');
  await page.screenshot({ path: path.join(artifacts, 'counter-reasons-portrait.png') });
  await page.click('#reasons-send');
  await screen('thanks');
  await page.screenshot({ path: path.join(artifacts, 'counter-thanks-portrait.png') });
  step('the thank-you screen returns to the start by itself');
  await screen('start');
  await queue(0);
  let stored = await responsesOfDevice();
  assert.equal(stored.length, 3, 'three ratings stored');
  assert.deepEqual(stored.map((r) => r.answers.rating[0]).sort(), ['1', '2', '3']);
  const negative = stored.find((r) => r.answers.rating[0] === '1');
  assert.deepEqual(negative.answers.reasons.sort(), ['guidance', 'waiting']);
  assert.equal(negative.answers.comment[0], 'Chờ hơn một tiếng mới đến lượt.');
  assert.ok(stored.every((r) => r.counter === 'E2E-Q1' && r.agency === 'E2E' && r.channel === 'counter'));

  step('an officer signs in with the PIN; the next rating is theirs');
  await page.click('#officer-open');
  await page.fill('#shift-officer', 'E2E-CB1');
  await page.fill('#shift-pin', '2468');
  await page.click('#shift-form button[type=submit]');
  await page.waitForFunction(() => document.getElementById('officer-name').textContent.includes('Hằng'), null, { timeout: 10000 });
  if (await page.isVisible('#shift-close')) await page.click('#shift-close');
  await screen('start');
  await tap('3');
  await thankedAndBack();
  await queue(0);
  stored = await responsesOfDevice();
  assert.equal(stored.length, 4);
  assert.equal(stored[0].officer, 'E2E-CB1', 'the newest rating carries the officer on shift');

  step('stop the server; tap five times; the screen keeps working and shows the queue');
  await stopServer();
  for (let i = 0; i < 5; ++i) {
    await tap(i % 2 ? '2' : '3');
    await thankedAndBack();
  }
  await queue(5);
  await page.waitForSelector('#offline:not([hidden])', { timeout: 15000 });
  assert.match(await page.textContent('#offline'), /5/);
  await page.screenshot({ path: path.join(artifacts, 'counter-offline-portrait.png') });

  step('start the server again: the queue drains and all five arrive exactly once');
  await startServer();
  await queue(0, 30000);
  await page.waitForSelector('#offline', { state: 'hidden', timeout: 10000 });
  stored = await responsesOfDevice();
  assert.equal(stored.length, 9, 'four earlier ratings and the five taken offline');
  assert.equal(new Set(stored.map((r) => r.receipt)).size, 9);
  const held = await api('GET', '/api/v1/held');
  assert.equal(held.items.length, 0, 'nothing held for review');

  step('revoke the device: the next tap is told so and nothing is stored');
  await api('POST', '/api/v1/devices/TAB-E2E/revoke');
  await tap('3');
  await screen('revoked');
  await page.screenshot({ path: path.join(artifacts, 'counter-revoked-portrait.png') });
  assert.equal((await responsesOfDevice()).length, 9);
  console.log(`ok: counter tablet in Chromium; screenshots in ${artifacts}`);
} catch (e) {
  console.error(`FAILED: ${e.stack ?? e}`);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  await stopServer();
  fs.rmSync(work, { recursive: true, force: true });
}
