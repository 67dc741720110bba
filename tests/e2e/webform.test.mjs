// Browser test of the web form channel (plugin "webform"), in Debian's headless Chromium driven by
// playwright-core. It starts hailong itself (SQLite in a temporary folder, a free loopback port),
// creates an agency, a procedure and dossiers over the API, then:
//   1. fills the whole SIPAS 2017 questionnaire of a dossier's signed link with the keyboard only
//      (Tab between questions, arrow keys and Space within them, Enter to send), with a comment
//      in Vietnamese, reviews and sends it; the response is read back from the API with every
//      answer and the dossier, and counted in the agency's SIPAS index;
//   2. (on the way) presses "next" with a question unanswered: error summary, field error, 422;
//   3. saves a form half-way and finishes it from the resume link in a new browser (no cookies);
//   4. fills and sends a form with JavaScript disabled;
//   5. checks that a dossier is rated once: its link again, a replayed POST and a second draft
//      opened before the first was sent add nothing;
//   6. runs axe-core (WCAG 2.0/2.1 A and AA) on the form, an error state, the review, the
//      thank-you and other pages: any serious or critical violation fails (webform-axe.json);
//   7. measures the bytes a form page transfers (HTML, CSS, JS) against 50 kB;
//   8. takes screenshots at 360×740 and 1280×800 and checks nothing overflows at 320 px.
//
//   node tests/e2e/webform.test.mjs --hailong build/bin/hailong --artifacts build/e2e-artifacts
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { axeCheck as axeCheckIn, writeAxeReport } from './axe.mjs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { Hailong, options } from './hailong.mjs';

const args = options();
const artifacts = args.artifacts ?? 'build/e2e-artifacts';
const chromiumPath = args.chromium ?? '/usr/bin/chromium';
fs.mkdirSync(artifacts, { recursive: true });
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hailong-webform-'));
const began = Date.now();
const step = (what) => console.log(`- ${what}`);
const shot = (name) => path.join(artifacts, `webform-${name}.png`);

const host = await Hailong.create({
  binary: args.hailong ?? 'build/bin/hailong', work, log: path.join(artifacts, 'webform-server.log'),
  settings: { 'plugins.enabled': 'webform' },
});
const base = host.base;
const api = (...a) => host.api(...a);

const AGENCY = 'E2E';
const SURVEY = 'sipas-2017';
// The pages of sipas-2017 for a dossier's link: one per SIPAS element; the comment ends the last.
const PAGES = [
  ['access_seats', 'access_equipment_sufficient', 'access_equipment_modern', 'access_equipment_easy'],
  ['procedure_posted_full', 'procedure_posted_accurate', 'procedure_dossier', 'procedure_fees', 'procedure_time'],
  ['officer_polite', 'officer_listens', 'officer_explains', 'officer_guides', 'officer_guidance_clear', 'officer_rules'],
  ['result_as_prescribed', 'result_complete', 'result_accurate'],
  ['feedback_channel', 'feedback_easy', 'feedback_handled', 'feedback_notified'],
];
const RATINGS = PAGES.flat();
const COMMENT = 'Cán bộ hướng dẫn tận tình, chu đáo; phòng chờ hơi chật — đề nghị thêm ghế ngồi.';
// Every level of the scale is used, in a different order on each page.
const keyboardValues = Object.fromEntries(RATINGS.map((q, i) => [q, String(((i * 3) % 5) + 1)]));

async function responsesOf(dossier) {
  const { items } = await api('GET', `/api/v1/responses?survey=${SURVEY}&limit=500`);
  return items.filter((r) => r.dossier === dossier);
}
// The agency's group in the SIPAS index by agency: its responses and the SIPAS node.
async function sipasOfAgency() {
  const report = await api('GET', `/api/v1/indices?survey=${SURVEY}&by=agency`);
  const group = report.groups.find((g) => g.key === AGENCY);
  const sipas = group?.indices.find((i) => i.id === 'sipas');
  return { responses: group?.responses ?? 0, n: sipas?.n ?? 0, value: sipas?.value ?? null, sipas };
}
const linkOf = (dossier) => api('GET', `/api/v1/dossiers/${dossier}/survey-link`);

// A form filled over plain HTTP (no browser) up to its review step: another tab of the same
// citizen. Returns what sends it.
async function draftOverHttp(url, value) {
  let r = await fetch(url, { redirect: 'manual' });
  assert.equal(r.status, 200, `GET ${url}`);
  const cookie = r.headers.get('set-cookie').split(';')[0];
  let html = await r.text();
  const post = async (action, html) => {
    const fields = new URLSearchParams();
    for (const [, n, v] of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) fields.append(n, v);
    for (const q of new Set([...html.matchAll(/name="q\.([^"]+)"/g)].map((m) => m[1])))
      fields.append(`q.${q}`, q === 'comment' ? 'Một phiếu thứ hai' : value);
    fields.append('website', '');
    fields.append('action', action);
    const target = base + html.match(/<form method="post" action="([^"]+)"/)[1];
    return fetch(target, { method: 'POST', body: fields, headers: { cookie }, redirect: 'manual' });
  };
  for (let page = 0; page < PAGES.length; ++page) {
    r = await post('next', html);
    assert.equal(r.status, 303, `second draft, page ${page + 1}`);
    html = await (await fetch(base + r.headers.get('location'), { headers: { cookie } })).text();
  }
  assert.match(html, /value="submit"/, 'the second draft reached its review');
  return () => post('submit', html);
}

// Checks that do not stop the walk through the form: a failure is reported here and at the end.
const failed = [];
async function soft(what, check) {
  try {
    await check();
  } catch (e) {
    if (!(e instanceof assert.AssertionError)) throw e;
    failed.push(`${what}: ${e.message.split('\n')[0]}`);
    console.log(`  FAILED (going on): ${what}: ${e.message.split('\n').slice(0, 3).join(' ')}`);
  }
}

// Problems found that are the page's own (console errors, CSP refusals, script errors).
const pageProblems = [];
function watch(page, label) {
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    // A 422 page is logged by Chromium as a failed load: that is the expected answer.
    if (/Failed to load resource: the server responded with a status of 422/.test(m.text())) return;
    pageProblems.push(`${label}: console: ${m.text()}`);
  });
  page.on('pageerror', (e) => pageProblems.push(`${label}: script error: ${e.message}`));
  return page;
}
// Resolves when the page has loaded a new document (after a navigation, a POST, a redirect).
const loaded = (page) => page.waitForEvent('load', { timeout: 15000 });
async function navigating(page, action) {
  const done = loaded(page);
  await action();
  await done;
}
async function checkNoOverflow(page, name) {
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 320, `${name}: nothing overflows at 320 px (scrollWidth ${width})`);
}
// Screenshots of the current page at the phone and desktop sizes, and the overflow check at 320.
async function screenshots(page, name) {
  const before = page.viewportSize();
  await page.setViewportSize({ width: 320, height: 640 });
  await checkNoOverflow(page, name);
  if (name === 'form') await page.screenshot({ path: shot('form-320'), fullPage: true });
  await page.setViewportSize({ width: 360, height: 740 });
  await page.screenshot({ path: shot(`${name}-360`), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.screenshot({ path: shot(`${name}-1280`), fullPage: true });
  await page.setViewportSize(before);
}
const checked = (page, qs) => page.evaluate((ids) => Object.fromEntries(ids.map((q) => [q,
  document.querySelector(`input[name="q.${q}"]:checked`)?.value ?? null])), qs);
const honeypotEmpty = async (page) =>
  assert.equal(await page.$eval('input#website', (i) => i.value), '', 'the honeypot field stays empty');

// --- keyboard helpers: only page.keyboard ---------------------------------------------------
const focused = (page) => page.evaluate(() => {
  const e = document.activeElement;
  return e ? { tag: e.tagName.toLowerCase(), id: e.id, name: e.getAttribute('name'), type: e.type,
    value: e.value, checked: e.checked, text: e.textContent.trim(),
    outline: getComputedStyle(e).outlineStyle, visible: e.matches(':focus-visible') } : null;
});
// Tab until the focus is in question `q` (its radio group or its text box). Questions before it
// have been answered already (or are `passing`), so each is one stop; no other field is on the way.
async function tabTo(page, q, passing = null, maxStops = 12) {
  for (let i = 0; i < maxStops; ++i) {
    await page.keyboard.press('Tab');
    const f = await focused(page);
    if (f?.name === `q.${q}`) {
      assert.ok(f.visible && f.outline !== 'none', `the focus on ${q} is visible`);
      return f;
    }
    assert.ok(!f?.name?.startsWith('q.') || f.name === `q.${passing}`, `Tab stopped on ${f?.name} before reaching ${q}`);
  }
  throw new Error(`question ${q} not reached with ${maxStops} Tab presses`);
}
// In a radio group with the focus on its first option (nothing chosen yet): Space chooses it,
// arrow keys move the choice; one question goes past the value and comes back.
async function chooseWithKeys(page, q, value, index) {
  const v = Number(value);
  await page.keyboard.press('Space');
  const forward = index % 2 ? 'ArrowDown' : 'ArrowRight';
  const overshoot = index % 4 === 1 && v < 5;
  for (let i = 1; i < v + (overshoot ? 1 : 0); ++i) await page.keyboard.press(forward);
  if (overshoot) await page.keyboard.press(index % 8 === 1 ? 'ArrowLeft' : 'ArrowUp');
  const f = await focused(page);
  assert.deepEqual([f.id, f.checked], [`q-${q}-${value}`, true], `keyboard choice of ${q}`);
}
async function tabToButton(page, label, maxStops = 12) {
  for (let i = 0; i < maxStops; ++i) {
    await page.keyboard.press('Tab');
    const f = await focused(page);
    if (f?.tag === 'button' && f.text === label) {
      assert.ok(f.visible && f.outline !== 'none', `the focus on “${label}” is visible`);
      return f;
    }
  }
  throw new Error(`button “${label}” not reached with ${maxStops} Tab presses`);
}

// --- axe-core -----------------------------------------------------------------------------------
const axeReports = [];
const axeCheck = (page, name) => axeCheckIn(page, name, axeReports);

let browser = null;
try {
  step('start hailong with the webform plugin; an agency, a procedure and five dossiers');
  await host.start();
  await api('POST', '/api/v1/agencies', { code: AGENCY, name: 'UBND phường Phú Thượng', kind: 'commune' });
  await api('POST', '/api/v1/procedures', { code: '1.001193', name: 'Đăng ký khai sinh', processing_days: 1 });
  for (let i = 1; i <= 5; ++i)
    await api('POST', '/api/v1/dossiers', { code: `E2E-${i}`, agency: AGENCY, procedure: '1.001193',
      received_at: Date.now() - 2 * 86400000, status: 'returned' });
  const links = {};
  for (let i = 1; i <= 5; ++i) links[i] = await linkOf(`E2E-${i}`);
  assert.equal(links[1].survey, SURVEY);
  assert.equal(links[1].answered, false);
  assert.ok(links[1].url.startsWith(`${base}/s/t/`), `the link is served by this host: ${links[1].url}`);
  assert.match(links[1].qr_svg, /^<svg[\s>]/);
  const svg = await fetch(`${base}/api/v1/dossiers/E2E-1/survey-link?format=svg`,
    { headers: { Authorization: `Bearer ${host.token}` } });
  assert.match(svg.headers.get('content-type'), /image\/svg\+xml/);
  assert.match(await svg.text(), /^<svg[\s>]/);
  const alias = await fetch(`${base}/c/webform/t/${links[1].token}`);
  assert.equal(alias.status, 200, 'the form is also under /c/webform');
  const indexBefore = await sipasOfAgency();

  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });

  // ---- 1 and 2: the keyboard only ----------------------------------------------------------------
  step('keyboard only: open dossier E2E-1’s link');
  const kbContext = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'vi-VN' });
  const kb = watch(await kbContext.newPage(), 'keyboard');
  const documents = [];  // the form pages' HTML as transferred
  kb.on('requestfinished', async (req) => {
    if (req.resourceType() !== 'document') return;
    try {
      const res = await req.response();
      if (res && res.status() !== 303) documents.push({ url: req.url(), bytes: (await req.sizes()).responseBodySize });
    } catch { /* the context closed meanwhile */ }
  });
  await kb.goto(links[1].url);
  assert.match(await kb.title(), /^Trang 1\/5 – /);
  assert.match(await kb.textContent('p.dossier'), /E2E-1.*Đăng ký khai sinh.*UBND phường Phú Thượng/);
  assert.equal(await kb.$('#q-dossier'), null, 'the dossier-code question is left out for a dossier link');
  assert.deepEqual(await kb.$$eval('fieldset.question.scale', (fs) => fs.map((f) => f.id)), PAGES[0].map((q) => `q-${q}`));
  assert.equal(await kb.$eval('form', (f) => f.querySelector('button[type=submit]').value), 'next',
    'the first button of the form is “next”');
  await screenshots(kb, 'form');

  const answerPageWithKeys = async (p, skip = null) => {
    for (const [i, q] of PAGES[p].entries()) {
      if (q === skip) continue;
      await tabTo(kb, q, skip);
      await chooseWithKeys(kb, q, keyboardValues[q], i + p);
    }
  };
  step('page 1 by keyboard; sent with Enter from the last choice (the form’s implicit submission)');
  await answerPageWithKeys(0);
  await kb.screenshot({ path: shot('keyboard-focus-1280') });
  await honeypotEmpty(kb);
  await navigating(kb, () => kb.keyboard.press('Enter'));
  assert.match(await kb.title(), /^Trang 2\/5 – /);
  assert.match(kb.url(), /\/s\/r\/[0-9a-f]{32}\?page=1$/, 'after a page the form is at its resume address, page by page');
  const formId = kb.url().match(/\/s\/r\/([0-9a-f]{32})/)[1];

  step('the browser’s Back shows page 1 with its answers; opening the link again comes back to this form');
  await kb.goBack();
  assert.match(await kb.title(), /^Trang 1\/5 – /);
  const keptOnBack = await checked(kb, PAGES[0]);
  for (const q of PAGES[0]) assert.equal(keptOnBack[q], keyboardValues[q], `answer of ${q} shown after Back`);
  await kb.goForward();
  assert.match(await kb.title(), /^Trang 2\/5 – /);
  const again = await kbContext.newPage();
  await again.goto(links[1].url);
  assert.match(await again.title(), /^Trang 1\/5 – /);
  assert.ok((await again.content()).includes(`/s/f/${formId}`), 'the same browser opening the link again finds its form');
  assert.match(await again.textContent('p.notice'), /vẫn còn/);
  await again.close();

  step('page 2 with question 7 unanswered: “Tiếp tục” shows the error summary and the field’s error');
  await answerPageWithKeys(1, 'procedure_dossier');
  await tabToButton(kb, 'Tiếp tục');
  const refused = kb.waitForResponse((r) => r.request().method() === 'POST');
  await navigating(kb, () => kb.keyboard.press('Enter'));
  assert.equal((await refused).status(), 422, 'a page with errors is a 422');
  assert.match(await kb.title(), /^Có lỗi: Trang 2\/5 – /);
  const summary = await kb.$eval('#error-summary', (e) => ({ role: e.getAttribute('role'),
    links: [...e.querySelectorAll('a')].map((a) => [a.getAttribute('href'), a.textContent]),
    focused: document.activeElement === e }));
  assert.equal(summary.role, 'alert');
  assert.equal(summary.focused, true, 'the error summary has the focus (webform.js)');
  assert.deepEqual(summary.links.map(([href]) => href), ['#q-procedure_dossier'],
    'the summary links to the one unanswered question');
  assert.match(summary.links[0][1], /^Câu 7: /);
  assert.match(await kb.textContent('#q-procedure_dossier-error'), /Vui lòng chọn một câu trả lời/);
  assert.equal(await kb.getAttribute('#q-procedure_dossier', 'aria-describedby'), 'q-procedure_dossier-error');
  assert.equal(await kb.$$eval('.error', (es) => es.length), 1, 'only the unanswered question has an error');
  const keptAfterError = await checked(kb, PAGES[1]);
  for (const q of PAGES[1])
    assert.equal(keptAfterError[q], q === 'procedure_dossier' ? null : keyboardValues[q], `answer of ${q} kept`);
  await screenshots(kb, 'errors');

  step('from the summary’s link to the question by keyboard; answer it and continue');
  await kb.keyboard.press('Tab');
  assert.equal((await focused(kb)).text, summary.links[0][1], 'Tab from the summary reaches its link');
  await kb.keyboard.press('Enter');
  await kb.waitForFunction(() => location.hash === '#q-procedure_dossier');
  await kb.keyboard.press('Tab');
  let f = await focused(kb);
  assert.equal(f.id, 'q-procedure_dossier-1', 'Tab after the summary link lands in the question');
  await chooseWithKeys(kb, 'procedure_dossier', keyboardValues.procedure_dossier, 2);
  await tabToButton(kb, 'Tiếp tục');
  await navigating(kb, () => kb.keyboard.press('Enter'));
  assert.match(await kb.title(), /^Trang 3\/5 – /);

  step('page 3 sent with Space on “Tiếp tục”; page 4 with Enter from a choice');
  await answerPageWithKeys(2);
  await tabToButton(kb, 'Tiếp tục');
  await navigating(kb, () => kb.keyboard.press('Space'));
  assert.match(await kb.title(), /^Trang 4\/5 – /);
  await answerPageWithKeys(3);
  await navigating(kb, () => kb.keyboard.press('Enter'));
  assert.match(await kb.title(), /^Trang 5\/5 – /);

  step('page 5: ratings and a comment typed in Vietnamese; “Xem lại trước khi gửi”');
  await answerPageWithKeys(4);
  await kb.keyboard.press('Tab');
  f = await focused(kb);
  assert.equal(f.id, 'q-comment-input', 'after the last rating Tab reaches the comment');
  await kb.keyboard.type(COMMENT);
  assert.equal(await kb.inputValue('#q-comment-input'), COMMENT);
  await tabToButton(kb, 'Xem lại trước khi gửi');
  await navigating(kb, () => kb.keyboard.press('Enter'));

  step('the review lists every answer with “Sửa trang N” links; sent with Enter on “Gửi phiếu”');
  assert.equal(await kb.textContent('h1'), 'Xem lại câu trả lời');
  const review = await kb.$$eval('section.review', (ss) => ss.map((s) => ({
    edit: s.querySelector('a').textContent, href: s.querySelector('a').getAttribute('href'),
    answers: [...s.querySelectorAll('dd')].map((d) => d.textContent.trim()) })));
  assert.deepEqual(review.map((s) => s.edit), [1, 2, 3, 4, 5].map((n) => `Sửa trang ${n}`));
  assert.deepEqual(review.map((s) => s.answers.length), [4, 5, 6, 3, 5]);
  assert.ok(review[0].href.startsWith(`/s/r/${formId}?page=0`));
  const levels = ['Rất không hài lòng', 'Không hài lòng', 'Bình thường', 'Hài lòng', 'Rất hài lòng'];
  PAGES.forEach((qs, p) => qs.forEach((q, i) =>
    assert.equal(review[p].answers[i], `${keyboardValues[q]} – ${levels[keyboardValues[q] - 1]}`, `review of ${q}`)));
  assert.equal(review[4].answers[4], COMMENT);
  await screenshots(kb, 'review');
  const reviewCsrf = await kb.$eval('input[name=csrf]', (i) => i.value);

  // Another tab of the same dossier's link, filled before this one is sent (used in step 5).
  const sendSecondDraft = await draftOverHttp(links[1].url, '1');

  await honeypotEmpty(kb);
  await tabToButton(kb, 'Gửi phiếu');
  const posts = [];
  const countPosts = (req) => { if (req.method() === 'POST') posts.push(req.url()); };
  kb.on('request', countPosts);
  await navigating(kb, async () => {
    await kb.keyboard.press('Enter');
    await kb.keyboard.press('Enter');  // an impatient second press is not sent again
  });
  await kb.waitForLoadState('load');
  kb.off('request', countPosts);
  assert.equal(posts.length, 1, `“Gửi phiếu” pressed twice sends once (${posts.length} POSTs)`);

  step('the thank-you page shows the receipt code');
  assert.equal(await kb.textContent('h1'), 'Cảm ơn Ông/Bà!');
  const receipt = (await kb.textContent('p.receipt')).match(/^Mã phiếu: (\S+)$/)?.[1];
  assert.ok(receipt, 'a receipt code is shown');
  await screenshots(kb, 'thanks');

  step(`the API has response ${receipt}: every answer, bound to dossier E2E-1`);
  const stored = await api('GET', `/api/v1/responses/${receipt}`);
  assert.equal(stored.dossier, 'E2E-1');
  assert.equal(stored.agency, AGENCY);
  assert.equal(stored.procedure, '1.001193');
  assert.equal(stored.channel, 'web');
  assert.equal(stored.survey, SURVEY);
  assert.equal(stored.language, 'vi');
  const expected = Object.fromEntries([...RATINGS.map((q) => [q, [keyboardValues[q]]]), ['comment', [COMMENT]]]);
  assert.deepEqual(stored.answers, expected, 'the 22 ratings as chosen and the comment, nothing else');

  step('the response is counted in the agency’s SIPAS index');
  const indexAfter = await sipasOfAgency();
  assert.equal(indexAfter.responses, indexBefore.responses + 1, 'one more response for the agency');
  assert.equal(indexAfter.n, indexBefore.n + 1, 'SIPAS n grew by one');
  assert.equal(typeof indexAfter.value, 'number', 'the agency has a SIPAS value');
  const top2 = RATINGS.filter((q) => Number(keyboardValues[q]) >= 4);
  const elements = indexAfter.sipas.children.map((e) =>
    100 * e.children.filter((c) => top2.includes(c.id)).length / e.children.length);
  assert.ok(Math.abs(indexAfter.value - elements.reduce((a, b) => a + b) / elements.length) < 1e-6,
    `SIPAS of the one response is the mean of its elements’ top-2 shares (${indexAfter.value.toFixed(2)})`);
  const pageBytes = Math.max(...documents.filter((d) => /\/s\/(t|r)\//.test(d.url)).map((d) => d.bytes));

  // ---- 5: a dossier is rated once -----------------------------------------------------------------
  step('the same link again: “Hồ sơ này đã được đánh giá”, no form');
  await navigating(kb, () => kb.goto(links[1].url));
  assert.equal(await kb.textContent('h1'), 'Hồ sơ này đã được đánh giá');
  assert.match(await kb.textContent('main'), new RegExp(receipt));
  assert.equal(await kb.$('form'), null);
  await kb.screenshot({ path: shot('answered-360'), fullPage: true });
  assert.equal((await linkOf('E2E-1')).answered, true, 'the link API says answered');

  step('the old form POSTed again, and a second tab’s draft sent after it, store nothing');
  const replay = await kbContext.request.post(`${base}/s/f/${formId}`, {
    form: { csrf: reviewCsrf, page: '5', lang: 'vi', survey: SURVEY, token: links[1].token, website: '', action: 'submit' },
    maxRedirects: 0,
  });
  assert.equal(replay.status(), 303, 'a sent form answers with its thank-you address');
  assert.match(replay.headers().location, new RegExp(`^/s/r/${formId}(\\?|$)`));
  const second = await sendSecondDraft();
  assert.equal(second.status, 200);
  assert.match(await second.text(), /<h1>Hồ sơ này đã được đánh giá<\/h1>/, 'the second tab is told the dossier was rated');
  const ofDossier1 = await responsesOf('E2E-1');
  assert.equal(ofDossier1.length, 1, `dossier E2E-1 has exactly one response (${ofDossier1.length})`);
  assert.equal(ofDossier1[0].receipt, receipt);
  await kbContext.close();

  // ---- 3: save and resume ------------------------------------------------------------------------
  step('save half-way (page 1 and part of page 2) with “Lưu để làm tiếp sau”');
  const resumeValues = Object.fromEntries(RATINGS.map((q, i) => [q, String(5 - (i % 5))]));
  const first = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: 'vi-VN' });
  let page = watch(await first.newPage(), 'resume-1');
  await page.goto(links[2].url);
  const checkAll = async (pg, qs, values) => { for (const q of qs) await pg.check(`#q-${q}-${values[q]}`); };
  await checkAll(page, PAGES[0], resumeValues);
  await navigating(page, () => page.click('button[value=next]'));
  assert.match(await page.title(), /^Trang 2\/5 – /);
  const partial = PAGES[1].slice(0, 2);
  await checkAll(page, partial, resumeValues);
  await navigating(page, () => page.click('button[value=save]'));
  assert.equal(await page.textContent('h1'), 'Đã lưu phiếu');
  const resumeUrl = new URL(await page.getAttribute('a#resume-link', 'href'), page.url()).href;
  assert.match(resumeUrl, /\/s\/r\/[0-9a-f]{32}$/);
  await page.screenshot({ path: shot('saved-360'), fullPage: true });
  await first.close();

  step('open the resume link in a new browser context (no cookies): page 2 with its answers');
  const other = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'vi-VN' });
  page = watch(await other.newPage(), 'resume-2');
  await page.goto(resumeUrl);
  assert.match(await page.title(), /^Trang 2\/5 – /);
  assert.deepEqual(await checked(page, PAGES[1]),
    Object.fromEntries(PAGES[1].map((q) => [q, partial.includes(q) ? resumeValues[q] : null])));
  await navigating(page, () => page.click('button[value=back]'));
  assert.match(await page.title(), /^Trang 1\/5 – /);
  assert.deepEqual(await checked(page, PAGES[0]), Object.fromEntries(PAGES[0].map((q) => [q, resumeValues[q]])));
  await navigating(page, () => page.click('button[value=next]'));
  assert.deepEqual(await checked(page, partial), Object.fromEntries(partial.map((q) => [q, resumeValues[q]])),
    'page 2 still has the saved answers after going back and forth');

  step('switch to English with the header’s link and finish there');
  await navigating(page, () => page.click('a.lang'));
  assert.match(await page.title(), /^Page 2 of 5 – /);
  assert.equal(await page.textContent('button[value=next]'), 'Continue');
  assert.deepEqual(await checked(page, partial), Object.fromEntries(partial.map((q) => [q, resumeValues[q]])));
  await checkAll(page, PAGES[1].slice(2), resumeValues);
  for (let p = 2; p < PAGES.length; ++p) {
    await navigating(page, () => page.click('button[value=next]'));
    assert.match(await page.title(), new RegExp(`^Page ${p + 1} of 5 – `));
    await checkAll(page, PAGES[p], resumeValues);
  }
  await navigating(page, () => page.click('button[value=next]'));
  assert.equal(await page.textContent('h1'), 'Review your answers');
  step('“Edit page 1” from the review: change one answer, walk on to the review again');
  await navigating(page, () => page.click('a[href*="page=0"]'));
  assert.match(await page.title(), /^Page 1 of 5 – /);
  assert.equal((await checked(page, ['access_seats'])).access_seats, resumeValues.access_seats);
  resumeValues.access_seats = '2';
  await page.check('#q-access_seats-2');
  for (let p = 1; p <= PAGES.length; ++p) await navigating(page, () => page.click('button[value=next]'));
  assert.equal(await page.textContent('h1'), 'Review your answers');
  assert.match(await page.textContent('section.review dd'), /^2 – Dissatisfied/);
  await honeypotEmpty(page);
  await navigating(page, () => page.click('button[value=submit]'));
  assert.equal(await page.textContent('h1'), 'Thank you!');
  const resumedReceipt = (await page.textContent('p.receipt')).match(/^Receipt code: (\S+)$/)[1];
  const resumed = await api('GET', `/api/v1/responses/${resumedReceipt}`);
  assert.equal(resumed.dossier, 'E2E-2');
  assert.equal(resumed.language, 'en');
  assert.deepEqual(resumed.answers, Object.fromEntries(RATINGS.map((q) => [q, [resumeValues[q]]])));
  await other.close();

  // ---- 4: JavaScript disabled --------------------------------------------------------------------
  step('JavaScript disabled: errors, then the whole form of dossier E2E-3, sent');
  const noJs = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: 'vi-VN', javaScriptEnabled: false });
  page = watch(await noJs.newPage(), 'no-js');
  await page.goto(links[3].url);
  await navigating(page, () => page.click('button[value=next]'));
  assert.equal(await page.$$eval('#error-summary li', (l) => l.length), 4, 'four errors without JavaScript too');
  await soft('the title of a page with four errors', async () =>
    assert.match(await page.title(), /^Có lỗi: Trang 1\/5 – /, 'the title says “Có lỗi:” once, however many errors'));
  await page.screenshot({ path: shot('nojs-errors-360'), fullPage: true });
  const noJsValues = Object.fromEntries(RATINGS.map((q, i) => [q, String((i % 3) + 3)]));
  for (let p = 0; p < PAGES.length; ++p) {
    if (p > 0) assert.match(await page.title(), new RegExp(`^Trang ${p + 1}/5 – `));
    await checkAll(page, PAGES[p], noJsValues);
    if (p === PAGES.length - 1) await page.fill('#q-comment-input', 'Không dùng JavaScript vẫn gửi được.');
    await honeypotEmpty(page);
    await navigating(page, () => page.click('button[value=next]'));
  }
  assert.equal(await page.textContent('h1'), 'Xem lại câu trả lời');
  await navigating(page, () => page.click('button[value=submit]'));
  assert.equal(await page.textContent('h1'), 'Cảm ơn Ông/Bà!');
  const noJsReceipt = (await page.textContent('p.receipt')).match(/^Mã phiếu: (\S+)$/)[1];
  const noJsStored = await api('GET', `/api/v1/responses/${noJsReceipt}`);
  assert.equal(noJsStored.dossier, 'E2E-3');
  assert.equal(noJsStored.answers.comment[0], 'Không dùng JavaScript vẫn gửi được.');
  assert.equal(Object.keys(noJsStored.answers).length, 23);
  await noJs.close();

  step('a complaint on /s/phan-anh: its thank-you page follows the case, shows the answer and takes the verdict');
  const caseContext = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'vi-VN', bypassCSP: true });
  page = watch(await caseContext.newPage(), 'case');
  await page.goto(`${base}/s/phan-anh`);
  await page.fill('#q-dossier-input', 'E2E-5');
  await page.fill('#q-complaint-input', 'Hồ sơ trả chậm hai ngày mà không được báo; đề nghị nhắn tin khi trễ hẹn.');
  await navigating(page, () => page.click('button[value=next]'));
  await navigating(page, () => page.click('button[value=submit]'));
  assert.equal(await page.textContent('h1'), 'Cảm ơn Ông/Bà!');
  const caseText = await page.textContent('#case p');
  const caseCode = caseText.match(/mã (PA-[0-9A-Z]+)/)[1];
  assert.match(caseText, /trả lời trước ngày \d\d\/\d\d\/\d{4}/);
  assert.equal(await page.textContent('#case-status'), 'Đã tiếp nhận');
  const followUrl = page.url();
  const caseSerious = [...await axeCheck(page, 'thanks-case')];
  await page.screenshot({ path: shot('case-waiting-390'), fullPage: true });
  const opened = await api('GET', `/api/v1/cases/${caseCode}`);
  assert.equal(opened.dossier, 'E2E-5');
  assert.equal(opened.kind, 'complaint');
  await api('POST', `/api/v1/cases/${caseCode}/answer`, { answer: 'Xin lỗi Ông/Bà. Từ tuần sau bộ phận một cửa nhắn tin khi hồ sơ trễ hẹn.' });
  // The same address later, in another browser (no cookies): the answer and the question.
  const later = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'vi-VN', bypassCSP: true });
  page = watch(await later.newPage(), 'case-later');
  await page.goto(followUrl);
  assert.equal(await page.textContent('#case-status'), 'Đã trả lời');
  assert.match(await page.textContent('#case-answer'), /nhắn tin khi hồ sơ trễ hẹn/);
  caseSerious.push(...await axeCheck(page, 'thanks-case-answered'));
  await page.screenshot({ path: shot('case-answered-390'), fullPage: true });
  await navigating(page, () => page.getByRole('button', { name: 'Hài lòng', exact: true }).click());
  assert.match(await page.textContent('#case-verdict'), /hài lòng với câu trả lời/);
  assert.equal(await page.locator('button[name=verdict]').count(), 0, 'rated once');
  assert.equal((await api('GET', `/api/v1/cases/${caseCode}`)).verdict, 'satisfied');
  assert.deepEqual(caseSerious, [], 'no serious accessibility violation on the case pages');
  await later.close();
  await caseContext.close();

  // ---- 6: accessibility --------------------------------------------------------------------------
  step('axe-core (wcag2a, wcag2aa, wcag21a, wcag21aa) on the form, an error state, the review, the thank-you…');
  const axeContext = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'vi-VN', bypassCSP: true });
  page = watch(await axeContext.newPage(), 'axe');
  const serious = [];
  await page.goto(links[4].url);
  serious.push(...await axeCheck(page, 'form'));
  await navigating(page, () => page.click('button[value=next]'));
  serious.push(...await axeCheck(page, 'errors'));
  const axeValues = Object.fromEntries(RATINGS.map((q) => [q, '4']));
  await checkAll(page, PAGES[0], axeValues);
  await navigating(page, () => page.click('button[value=next]'));
  await navigating(page, () => page.click('button[value=save]'));
  serious.push(...await axeCheck(page, 'saved'));
  await navigating(page, () => page.click('a#resume-link'));
  for (let p = 1; p < PAGES.length; ++p) {
    await checkAll(page, PAGES[p], axeValues);
    await navigating(page, () => page.click('button[value=next]'));
  }
  serious.push(...await axeCheck(page, 'review'));
  await navigating(page, () => page.click('button[value=submit]'));
  assert.equal(await page.textContent('h1'), 'Cảm ơn Ông/Bà!');
  serious.push(...await axeCheck(page, 'thanks'));
  await page.goto(links[1].url);
  serious.push(...await axeCheck(page, 'answered'));
  await page.goto(`${links[5].url}?lang=en`);
  serious.push(...await axeCheck(page, 'form-en'));
  await axeContext.close();
  writeAxeReport(axeReports, path.join(artifacts, 'webform-axe.json'));
  assert.deepEqual(serious, [], 'no serious or critical accessibility violation');

  // ---- 7: page weight ---------------------------------------------------------------------------
  step('page weight of a form page (HTML + CSS + JS as transferred, fresh cache)');
  const weightContext = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: 'vi-VN' });
  page = watch(await weightContext.newPage(), 'weight');
  const transfers = [];
  page.on('requestfinished', async (req) => {
    try {
      const sizes = await req.sizes();
      transfers.push({ type: req.resourceType(), url: req.url(), bytes: sizes.responseHeadersSize + sizes.responseBodySize });
    } catch { /* the context closed meanwhile */ }
  });
  await page.goto(links[5].url, { waitUntil: 'networkidle' });
  const counted = transfers.filter((t) => ['document', 'stylesheet', 'script'].includes(t.type));
  const kinds = Object.fromEntries(['document', 'stylesheet', 'script'].map((k) =>
    [k, counted.filter((t) => t.type === k).reduce((a, t) => a + t.bytes, 0)]));
  const weight = kinds.document + kinds.stylesheet + kinds.script;
  const kB = (b) => `${(b / 1024).toFixed(1)} kB`;
  const heaviest = pageBytes + kinds.stylesheet + kinds.script;
  console.log(`  page 1: ${kB(weight)} (HTML ${kB(kinds.document)}, CSS ${kB(kinds.stylesheet)}, JS ${kB(kinds.script)}; ` +
    `${transfers.length - counted.length} other request(s)); heaviest page of the form ${kB(heaviest)}`);
  assert.equal(counted.filter((t) => t.type !== 'document').length, 2, 'one stylesheet and one script');
  assert.ok(weight < 50 * 1024, `a form page transfers under 50 kB (${kB(weight)})`);
  assert.ok(heaviest < 50 * 1024, `every form page transfers under 50 kB (${kB(heaviest)})`);
  await weightContext.close();

  step('nothing held for review (the honeypot stayed empty); no console or CSP errors on the pages');
  assert.equal((await api('GET', '/api/v1/held')).items.length, 0);
  const all = await api('GET', `/api/v1/responses?survey=${SURVEY}&channel=web&limit=500`);
  assert.deepEqual(all.items.map((r) => r.dossier).sort(), ['E2E-1', 'E2E-2', 'E2E-3', 'E2E-4']);
  assert.equal((await sipasOfAgency()).responses, indexBefore.responses + 4);
  assert.deepEqual(pageProblems, []);
  assert.deepEqual(failed, [], 'the checks reported above');
  console.log(`ok: web form in Chromium (keyboard, errors, resume, no JavaScript, once per dossier, axe, ` +
    `${kB(weight)} page) in ${((Date.now() - began) / 1000).toFixed(1)} s; screenshots in ${artifacts}`);
} catch (e) {
  console.error(`FAILED: ${e.stack ?? e}`);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  await host.stop();
  fs.rmSync(work, { recursive: true, force: true });
}
