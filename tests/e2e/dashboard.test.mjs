// Browser test of the analyst's dashboard (/console/dashboard), the printable report and the
// alerts page, in Debian's headless Chromium driven by playwright-core, on the demo province:
// `hailong demo` fills a fresh SQLite database (24,000 dossiers over the last year), `hailong
// user add` makes an analyst of the province, then hailong serves on a free loopback port and:
//   1. the analyst signs in with the one-time password, chooses a new one, opens the dashboard
//      for the quick counter survey: the headline with its interval and n, the distribution,
//      the trend, the channels, the two hour-of-week heat maps, agencies, counters, officers,
//      procedures and topics are there, charts as accessible SVG beside their tables;
//   2. finds the worst counter of last month (the first row, worst first) and follows it to its
//      comments: every comment shown is that counter's, and there is at least one;
//   3. drills down from the province to an agency: the page is that agency's, with fewer
//      counters;
//   4. searches the comments without diacritics ("cho doi qua lau") and finds the accented
//      comment; filters by topic; switches the trend to weeks;
//   5. opens the printable report (every section, printed to PDF by Chromium);
//   6. an alert rule (over the API) fires when unhappy ratings arrive and shows on the alerts
//      page and the dashboard, with no sweep in between (evaluated on ingest);
//   7. axe-core (WCAG 2.0/2.1 A and AA) on the dashboard, the report and the alerts page: a
//      serious or critical violation fails (dashboard-axe.json);
//   6b. the analyst exports SIPAS to Excel on the exports page, the page follows the job to its
//      download, and LibreOffice opens the workbook: the command line's CSV's header and rows;
//   8. screenshots at 1280 px and 390 px (dashboard-*.png); at 390 px nothing but a data table or
//      a chart in its scrolling frame may stick out.
// Every page must load without a console error. The server-side time of each dashboard page is
// printed (the benchmark in bench/ measures it properly).
//
//   node tests/e2e/dashboard.test.mjs --hailong build/bin/hailong --artifacts build/e2e-artifacts
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { axeCheck as axeCheckIn, writeAxeReport } from './axe.mjs';
import { consoleKit, launchChromium } from './console-kit.mjs';
import { Hailong, options } from './hailong.mjs';

const args = options();
const artifacts = args.artifacts ?? 'build/e2e-artifacts';
const binary = args.hailong ?? 'build/bin/hailong';
fs.mkdirSync(artifacts, { recursive: true });
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hailong-dashboard-'));
const began = Date.now();
const logFile = path.join(artifacts, 'dashboard-server.log');
fs.rmSync(logFile, { force: true });
const host = await Hailong.create({
  binary, work, log: logFile,
  // No sweep while the test runs: an alert can only come from ratings as they arrive.
  settings: { 'plugins.enabled': 'counter', 'alerts.sweep_seconds': '3600', 'alerts.settle_ms': '100' },
});
const base = host.base;
const { step, shot, screenshots, part, failed, watch, pageProblems, navigating, rowsOf, text, open,
  signIn, changePassword, pastTheEdge } = consoleKit({ base, artifacts, prefix: 'dashboard', logFile });
const axeReports = [];
const axeCheck = (page, name) => axeCheckIn(page, name, axeReports);
const PASSWORD = 'Phan-Tich-So-Lieu-2026';
const SURVEY = 'counter-quick';
// Accent-free, lower case: how a search without diacritics reads a comment.
const plain = (s) => s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[đĐ]/g, 'd').toLowerCase();

// `hailong <command>` on the test's database, to completion: its standard output.
function hailong(...command) {
  const r = spawnSync(binary, [...command, '--db', `sqlite:${work}/hl.db`, '--set', `paths.data=${work}`],
    { encoding: 'utf8', timeout: 300000 });
  assert.equal(r.status, 0, `hailong ${command.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
// Loads a dashboard address; prints how long the server took for the document.
async function dashboard(page, url) {
  const r = await open(page, url);
  const timing = await page.evaluate(() => {
    const n = performance.getEntriesByType('navigation')[0];
    return { server: n.responseStart - n.requestStart, bytes: n.transferSize };
  });
  console.log(`  ${url}: server ${timing.server.toFixed(0)} ms, ${(timing.bytes / 1024).toFixed(0)} kB`);
  return r;
}

let browser = null;
try {
  step('hailong demo (24,000 dossiers) and an analyst of the province, then serve');
  const demo = hailong('demo');
  assert.match(demo, /demo loaded/);
  const created = hailong('user', 'add', 'phan.tich', '--role', 'analyst', '--agency', 'PT',
    '--display-name', 'Chuyên viên phân tích');
  const oneTime = created.match(/Mật khẩu dùng một lần: ([0-9A-Z]+)/)?.[1];
  assert.ok(oneTime, `the CLI prints the one-time password: ${created}`);
  await host.start();
  browser = await launchChromium(args.chromium);
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'vi-VN' });
  context.setDefaultTimeout(10000);
  const page = watch(await context.newPage(), 'analyst');

  // ---- 1: the overview -----------------------------------------------------------------------
  step('the analyst signs in, chooses a password and opens the dashboard of the quick survey');
  await signIn(page, 'phan.tich', oneTime);
  await changePassword(page, oneTime, PASSWORD);
  await dashboard(page, `/console/dashboard?survey=${SURVEY}`);
  assert.match(await text(page, 'h1'), /^Chỉ số hài lòng · Tỉnh Phú Thọ/);
  const big = await text(page, '#headline .big');
  assert.match(big, /^\d+,\d \(\d+,\d–\d+,\d\) n = [\d.]+/, `the headline with its interval and n: ${big}`);
  for (const [selector, what] of [['#trend-panel svg[role=img]', 'trend'], ['#distribution svg[role=img]', 'distribution'],
    ['#channels svg[role=img]', 'channels'], ['#agencies-panel svg[role=img]', 'agencies'],
    ['#counters-panel svg[role=img]', 'counters'], ['#officers-panel svg[role=img]', 'officers'],
    ['#topics svg[role=img]', 'topics']])
    assert.equal(await page.locator(selector).count(), 1, `the ${what} chart`);
  assert.equal(await page.locator('#heatmap svg[role=img]').count(), 2, 'two heat maps');
  const cells = await page.locator('#heatmap svg rect.cell:not(.empty)').count();
  assert.ok(cells >= 40, `heat map cells with data: ${cells}`);
  assert.match(await page.locator('#heatmap svg title').first().textContent(), /Số lượt đánh giá theo giờ/);
  assert.equal((await rowsOf(page, '#trend')).length, 12, 'twelve months of trend');
  assert.equal((await rowsOf(page, '#channels table')).length, 3, 'three channels: counter, SMS, web');
  assert.ok((await rowsOf(page, '#officers')).length > 0, 'officers ranked');
  assert.ok((await rowsOf(page, '#procedures')).length > 0, 'procedures ranked');
  await shot(page, 'overview');
  await page.locator('#heatmap').screenshot({ path: path.join(artifacts, 'dashboard-heatmap.png') });
  screenshots.push(path.join(artifacts, 'dashboard-heatmap.png'));

  // ---- 2: the worst counter and why ---------------------------------------------------------------
  step('the worst counter of last month, and its comments');
  const counters = await rowsOf(page, '#counters');
  const worst = counters[0];
  const worstCode = await page.locator('#counters tbody tr').first().locator('code').textContent();
  console.log(`  worst counter: ${worst[1]} at ${worst[2]} (n = ${worst[3]}); best ranked: ${counters.find((c) => c[0] === '1')?.[1]}`);
  const values = counters.filter((c) => c[0] !== '').map((c) => parseFloat(c[2].replace(',', '.')));
  assert.deepEqual(values, [...values].sort((a, b) => a - b), 'ranked counters come worst first');
  await navigating(page, () => page.locator('#counters tbody tr').first().locator('a').click());
  assert.equal(new URL(page.url()).searchParams.get('counter'), worstCode);
  assert.match(await text(page, '#comments-title'), new RegExp(worstCode));
  const why = await page.locator('#comments .comments li').allTextContents();
  assert.ok(why.length > 0, `the worst counter ${worstCode} has comments`);
  for (const c of why) assert.ok(c.includes(worstCode), `a comment of ${worstCode}: ${c}`);
  console.log(`  its comments (${why.length}): ${why.slice(0, 3).map((c) => c.split('\n').pop().trim()).join(' | ')}`);
  await page.locator('#comments').scrollIntoViewIfNeeded();
  await shot(page, 'counter-comments');

  // ---- 3: drill-down -------------------------------------------------------------------------------
  step('drill down from the province to an agency');
  await dashboard(page, `/console/dashboard?survey=${SURVEY}`);
  const provinceCounters = (await rowsOf(page, '#counters')).length;
  const link = page.locator('#agencies tbody tr a').first();
  const agencyName = (await link.textContent()).trim();
  await navigating(page, () => link.click());
  assert.equal(await text(page, 'h1'), `Chỉ số hài lòng · ${agencyName}`);
  const agencyCounters = (await rowsOf(page, '#counters')).length;
  assert.ok(agencyCounters < provinceCounters, `the agency has fewer counters (${agencyCounters} < ${provinceCounters})`);
  await shot(page, 'drilldown');

  // ---- 4: comments searched and filtered -----------------------------------------------------------
  step('comments searched without diacritics, filtered by topic; the trend by week');
  await dashboard(page, `/console/dashboard?survey=${SURVEY}`);
  await page.fill('#d-q', 'cho doi qua lau');
  await navigating(page, () => page.click('#comments form button[type=submit]'));
  const found = await page.locator('#comments .comments li').allTextContents();
  assert.ok(found.length > 0, 'the search finds comments');
  assert.ok(found.some((c) => c.includes('Chờ đợi quá lâu')), 'the accented comment is found');
  for (const c of found) assert.ok(plain(c).includes('cho doi qua lau'), `every result matches: ${c}`);
  await shot(page, 'search');
  await page.fill('#d-q', '');
  await page.selectOption('#d-topic', 'waiting');
  await navigating(page, () => page.click('#comments form button[type=submit]'));
  const waiting = await page.locator('#comments .comments li .help').allTextContents();
  assert.ok(waiting.length > 0);
  for (const c of waiting) assert.match(c, /Chờ đợi/, 'each comment is tagged "waiting"');
  await page.selectOption('#d-trend', 'week');
  await navigating(page, () => page.click('main > form.filters button[type=submit]'));
  assert.equal(await text(page, '#trend-title'), 'Diễn biến 13 tuần');
  assert.equal((await rowsOf(page, '#trend')).length, 13);

  // ---- 5: the printable report ---------------------------------------------------------------------
  step('the printable report, printed to PDF');
  await navigating(page, () => page.click('a[href^="/console/report"]'));
  assert.equal(await text(page, 'h1'), 'Báo cáo mức độ hài lòng');
  assert.equal(await page.locator('svg[role=img]').count() >= 8, true, 'the report has its charts');
  assert.equal(await page.locator('details[open]').count(), await page.locator('details').count(), 'every section open');
  await shot(page, 'report');
  await page.emulateMedia({ media: 'print' });
  await page.pdf({ path: path.join(artifacts, 'dashboard-report.pdf'), format: 'A4', printBackground: true });
  const pdf = fs.statSync(path.join(artifacts, 'dashboard-report.pdf')).size;
  assert.ok(pdf > 20000, `a PDF of some pages (${pdf} bytes)`);
  await page.emulateMedia({ media: 'screen' });

  // ---- 6: an alert as ratings arrive ---------------------------------------------------------------
  step('an alert rule fires as unhappy ratings arrive, and shows on the alerts page and the dashboard');
  await host.api('POST', '/api/v1/alert-rules', { agency: 'PVTRI', kind: 'unhappy_share', threshold: 40,
    window: 30, min_n: 5, recipients: ['truong.phong@pvtri.gov.vn'] });
  await open(page, '/console/alerts');
  assert.equal(await text(page, '#open-alerts p'), 'Không có cảnh báo nào đang mở.');
  assert.equal(await page.locator('#rule-form').count(), 0, 'an analyst has no rule form');
  for (let i = 0; i < 6; ++i)
    await host.api('POST', '/api/v1/responses', { idempotency_key: `e2e-alert-${i}`, survey: SURVEY,
      channel: 'counter', agency: 'PVTRI', answers: { rating: 1 } });
  let shown = null;
  for (let i = 0; i < 60 && !shown; ++i) {
    await new Promise((r) => setTimeout(r, 250));
    await open(page, '/console/alerts');
    shown = await text(page, '#open-alerts li');
  }
  assert.ok(shown, 'the alert is open within 15 s');
  assert.match(shown, /^Phường Việt Trì: \d+,\d% đánh giá không hài lòng trong 30 phút \(n = \d+\), ngưỡng 40,0%/);
  await shot(page, 'alerts');
  await dashboard(page, `/console/dashboard?survey=${SURVEY}`);
  assert.match(await text(page, '#alerts'), /Cảnh báo đang mở/);

  // ---- 6b: exports ---------------------------------------------------------------------------------
  step('the analyst exports SIPAS to Excel in the console, waits for it and downloads it; LibreOffice opens it');
  await open(page, '/console/exports');
  await page.selectOption('#survey', 'sipas-2017');
  await page.selectOption('#format', 'xlsx');
  await navigating(page, () => page.click('form.card button[type=submit]'));
  let download = null;
  for (let i = 0; i < 120 && !download; ++i) {
    download = await page.locator('#exports a[href$="/download"]').first().getAttribute('href', { timeout: 100 }).catch(() => null);
    if (!download) await page.waitForTimeout(500);
  }
  assert.ok(download, 'the export is downloadable within a minute');
  await shot(page, 'exports');
  const [file] = await Promise.all([page.waitForEvent('download'), page.click('#exports a[href$="/download"]')]);
  const xlsx = path.join(work, 'sipas.xlsx');
  await file.saveAs(xlsx);
  assert.match(file.suggestedFilename(), /^sipas-2017-\d{4}-\d{2}-\d{2}\.xlsx$/);
  const converted = spawnSync('soffice', ['--headless', '--norestore', `-env:UserInstallation=file://${work}/lo`,
    '--convert-to', 'csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1',
    '--outdir', work, xlsx], { encoding: 'utf8', timeout: 120000 });
  assert.equal(converted.status, 0, `soffice: ${converted.stderr}`);
  // One CSV per sheet, "<file>-<sheet>.csv": the responses, the codebook, the indices.
  const sheets = fs.readdirSync(work).filter((f) => f.startsWith('sipas-') && f.endsWith('.csv'));
  assert.deepEqual(sheets.sort(), ['sipas-Chỉ số.csv', 'sipas-Danh mục biến.csv', 'sipas-Phiếu trả lời.csv']);
  const sheet = fs.readFileSync(path.join(work, 'sipas-Phiếu trả lời.csv'), 'utf8').trim().split('\n');
  // The command line's CSV of the same survey and scope: as many rows, the same header.
  hailong('export', '--survey', 'sipas-2017', '--format', 'csv', '--agency', 'PT', '--out', `${work}/cli.csv`);
  const cli = fs.readFileSync(`${work}/cli.csv`, 'utf8').trim().split('\r\n');
  assert.equal(sheet[0], cli[0], 'the same columns');
  assert.ok(cli.length > 1000, `the demo's SIPAS responses: ${cli.length - 1}`);
  assert.equal(sheet.length, cli.length, 'as many rows in the workbook as in the CSV');
  console.log(`  ${cli.length - 1} responses in the workbook LibreOffice opened`);

  // ---- 7: accessibility ----------------------------------------------------------------------------
  step('axe-core on the dashboard, a counter\'s comments, the report and the alerts page');
  const axeContext = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'vi-VN', bypassCSP: true });
  await axeContext.addCookies(await context.cookies());
  const ap = watch(await axeContext.newPage(), 'axe');
  const serious = [];
  for (const [url, name] of [[`/console/dashboard?survey=${SURVEY}`, 'dashboard'],
    [`/console/dashboard?survey=${SURVEY}&counter=${worstCode}`, 'counter-comments'],
    ['/console/dashboard', 'dashboard-sipas'], [`/console/report?survey=${SURVEY}`, 'report'],
    ['/console/alerts', 'alerts'], ['/console/exports', 'exports']]) {
    await open(ap, url);
    serious.push(...await axeCheck(ap, name));
  }
  await axeContext.close();
  writeAxeReport(axeReports, path.join(artifacts, 'dashboard-axe.json'));
  await part('axe', async () => assert.deepEqual(serious, [], 'no serious or critical accessibility violation'));

  // ---- 8: a phone's width --------------------------------------------------------------------------
  step('the dashboard, report and alerts at 390 px');
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [url, name] of [[`/console/dashboard?survey=${SURVEY}`, 'dashboard-390'],
    [`/console/report?survey=${SURVEY}`, 'report-390'], ['/console/alerts', 'alerts-390']]) {
    await open(page, url);
    await shot(page, name);
    const past = await pastTheEdge(page);
    console.log(`  ${name}${past.other.length ? `: past the edge: ${past.other.join(', ')}` : ': fits'}`);
    await part(`${name} fits`, async () => assert.deepEqual(past.other, [], 'only tables and charts scroll sideways'));
  }
  await context.close();
  await part('no console or CSP errors on the pages', async () => assert.deepEqual(pageProblems, []));
  assert.deepEqual(failed, [], 'the checks reported above');
  console.log(`ok: dashboard in Chromium (overview, worst counter and its comments, drill-down, search without ` +
    `diacritics, topic filter, weekly trend, report and PDF, an alert on ingest, axe on ${axeReports.length} pages, ` +
    `${screenshots.length} screenshots) in ${((Date.now() - began) / 1000).toFixed(1)} s; artifacts in ${artifacts}`);
} catch (e) {
  console.error(`FAILED: ${e.stack ?? e}`);
  if (failed.length) console.error(`also failed:\n  ${failed.join('\n  ')}`);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  await host.stop();
  fs.rmSync(work, { recursive: true, force: true });
}
