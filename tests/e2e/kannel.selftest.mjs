// Self-test of the Kannel harness (tests/e2e/kannel.mjs); needs no hailong. A small node HTTP
// server plays the sms-service: it answers each inbound SMS with `ECHO:<text>`, or, for a text with
// non-ASCII letters, with "Cảm ơn Ông/Bà" as UCS-2 (X-Kannel-Coding: 2). Through a real bearerbox,
// smsbox and fakesmsc it checks: a plain and a UCS-2 Vietnamese MO reach the service decoded, both
// replies come back to the fake SMSC, a burst of MOs is served in full, and sendsms (plain, UCS-2
// Vietnamese, and a long UCS-2 message in two concatenated parts) reaches the fake SMSC. Exit code 0
// on success, 1 otherwise; every process it started is gone when it ends.
//
//   node tests/e2e/kannel.selftest.mjs [--logs DIR]     (logs kept in DIR, or in a temp dir on failure)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { decodeCharset, encodeUtf16be, freePort, parseQueryBytes, startKannel } from './kannel.mjs';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hailong-kannel-'));
const logDir = args.logs ?? path.join(work, 'logs');
const started = Date.now();
const secs = () => ((Date.now() - started) / 1000).toFixed(1);

function step(what) {
  console.log(`- [${secs()} s] ${what}`);
}

// Hard limit: never hang a CI job. process.exit runs the harness's exit hook, which kills the boxes.
const watchdog = setTimeout(() => {
  console.error(`FAILED: the self-test did not finish within 55 s; logs in ${logDir}`);
  process.exit(1);
}, 55000);
watchdog.unref();

// ---- the sms-service stub ----
const SECRET = 'selftest-secret';
const THANKS = 'Cảm ơn Ông/Bà';
const inbound = [];
const stub = http.createServer((req, res) => {
  try {
    const q = parseQueryBytes(req.url);
    const str = (k) => (q[k] === undefined ? undefined : q[k].toString('utf8'));
    const charset = str('charset');
    const msg = {
      path: req.url.split('?')[0], secret: str('secret'), from: str('from'), to: str('to'), coding: str('coding'), charset,
      smsc: str('smsc'), id: str('id'), bytes: q.text, text: decodeCharset(q.text ?? Buffer.alloc(0), charset),
    };
    inbound.push(msg);
    if (/[^\x00-\x7f]/.test(msg.text)) {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Kannel-Coding': '2' });
      res.end(THANKS);
    } else {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(`ECHO:${msg.text}`);
    }
  } catch (e) {
    res.writeHead(500, { 'Content-Type': 'text/plain' });
    res.end(String(e));
  }
});

async function inboundFrom(from, timeoutMs = 10000) {
  for (const end = Date.now() + timeoutMs; Date.now() < end;) {
    const m = inbound.find((x) => x.from === from);
    if (m) return m;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the sms-service got nothing from ${from} within ${timeoutMs} ms; it got ${JSON.stringify(inbound.map((m) => [m.from, m.text]))}`);
}

async function sendsms(kannel, params) {
  const q = new URLSearchParams({ username: kannel.username, password: kannel.password, ...params });
  const r = await fetch(`${kannel.sendsmsUrl}?${q}`);
  const body = await r.text();
  assert.equal(r.status, 202, `sendsms answered ${r.status} ${body}`);
  assert.match(body, /Accepted for delivery/);
  return body;
}

let kannel = null;
let ok = false;
try {
  const stubPort = await freePort();
  await new Promise((resolve, reject) => {
    stub.once('error', reject);
    stub.listen(stubPort, '127.0.0.1', resolve);
  });
  const smsServiceUrl = `http://127.0.0.1:${stubPort}/c/sms/kannel?secret=${SECRET}`
    + '&from=%p&to=%P&text=%a&coding=%c&charset=%C&smsc=%i&id=%I';

  step('start bearerbox, smsbox and fakesmsc on free loopback ports');
  kannel = await startKannel({ workDir: work, smsServiceUrl, logDir });
  step(`up: sendsms ${kannel.sendsmsUrl}, fake SMSC port ${kannel.smscPort}, logs in ${logDir}`);
  const conf = fs.readFileSync(kannel.confPath, 'utf8');
  assert.match(conf, /\ngroup = smsc\n/, 'groups separated by blank lines');
  assert.match(conf, /keyword = default\n/);

  step('a plain-text MO reaches the service and its ECHO reply reaches the phone');
  await kannel.send('0912000001', '8077', 'Hello Kannel 1');
  const plain = await inboundFrom('0912000001');
  assert.equal(plain.path, '/c/sms/kannel');
  assert.equal(plain.secret, SECRET);
  assert.equal(plain.to, '8077');
  assert.equal(plain.text, 'Hello Kannel 1');
  assert.equal(plain.coding, '0');
  assert.equal(plain.charset, 'UTF-8');
  assert.equal(plain.smsc, kannel.smscId);
  assert.match(plain.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  const echo = await kannel.waitForMessage((m) => m.to === '0912000001', 10000);
  assert.deepEqual([echo.from, echo.type, echo.text, echo.parts], ['8077', 'text', 'ECHO:Hello Kannel 1', 1]);

  step('a UCS-2 Vietnamese MO arrives as UTF-16BE; the UCS-2 reply comes back decoded');
  await kannel.send('0912000002', '8077', 'Rất hài lòng', { ucs2: true });
  const viet = await inboundFrom('0912000002');
  assert.equal(viet.coding, '2');
  assert.equal(viet.charset, 'UTF-16BE');
  assert.deepEqual(viet.bytes, encodeUtf16be('Rất hài lòng'), 'raw UTF-16BE bytes in text');
  assert.equal(viet.text, 'Rất hài lòng');
  const thanks = await kannel.waitForMessage({ to: '0912000002' }, 10000);
  assert.deepEqual([thanks.from, thanks.type, thanks.text], ['8077', 'ucs2', THANKS]);
  assert.match(thanks.raw[0], / ucs-2 %00C%1E%A3/);

  step('a burst of three MOs sent at once: all served, all replies back');
  const burst = ['0912000003', '0912000004', '0912000005'];
  await Promise.all(burst.map((from, i) => kannel.send(from, '8077', `burst ${i}`)));
  for (const [i, from] of burst.entries()) {
    assert.equal((await inboundFrom(from)).text, `burst ${i}`);
    assert.equal((await kannel.waitForMessage({ to: from }, 10000)).text, `ECHO:burst ${i}`);
  }

  step('sendsms, plain text');
  await sendsms(kannel, { from: '8077', to: '0912000006', text: 'Xin chao quy khach' });
  const out1 = await kannel.waitForMessage({ to: '0912000006' }, 10000);
  assert.deepEqual([out1.from, out1.type, out1.text], ['8077', 'text', 'Xin chao quy khach']);

  step('sendsms, Vietnamese with coding=2&charset=UTF-8');
  const invite = 'Mời Ông/Bà đánh giá mức độ hài lòng: trả lời 1, 2 hoặc 3.';
  await sendsms(kannel, { from: '8077', to: '0912000007', text: invite, coding: '2', charset: 'UTF-8' });
  const out2 = await kannel.waitForMessage({ to: '0912000007' }, 10000);
  assert.deepEqual([out2.from, out2.type, out2.text, out2.parts], ['8077', 'ucs2', invite, 1]);

  step('sendsms, a long UCS-2 message: two concatenated parts, joined again');
  const long = `${invite} Ý kiến của Ông/Bà giúp chúng tôi phục vụ tốt hơn. Xin trân trọng cảm ơn!`;
  assert.ok(long.length > 70 && long.length <= 134, `test text of ${long.length} chars fits two UCS-2 parts`);
  await sendsms(kannel, { from: '8077', to: '0912000008', text: long, coding: '2', charset: 'UTF-8' });
  const out3 = await kannel.waitForMessage({ to: '0912000008' }, 10000);
  assert.deepEqual([out3.type, out3.parts, out3.text], ['ucs2', 2, long]);
  assert.match(out3.raw[0], / udh %05%00%03/);

  step('nothing unexpected reached the fake SMSC');
  const all = await kannel.received({ timeoutMs: 500 });
  assert.equal(all.length, 8, `8 MT messages, got ${JSON.stringify(all.map((m) => [m.to, m.text]))}`);
  assert.equal(inbound.length, 5, 'five MOs at the service');
  ok = true;
} catch (e) {
  console.error(`FAILED: ${e.stack ?? e}`);
  process.exitCode = 1;
} finally {
  const pids = kannel ? kannel.pids : [];
  if (kannel) {
    const t = Date.now();
    await kannel.stop();
    step(`stopped in ${Date.now() - t} ms`);
  }
  const closed = new Promise((r) => stub.close(r));
  stub.closeAllConnections();
  await closed;
  // Each pid is also a process group id: a group with any process left means a box survived.
  const left = pids.filter((pid) => {
    try { process.kill(-pid, 0); return true; } catch { return false; }
  });
  if (left.length) {
    console.error(`FAILED: processes still running after stop(): ${left.join(' ')}`);
    process.exitCode = 1;
    ok = false;
  }
  clearTimeout(watchdog);
  if (ok) {
    if (!args.logs) fs.rmSync(work, { recursive: true, force: true });
    console.log(`ok: Kannel harness self-test in ${secs()} s`);
  } else {
    console.error(`logs and kannel.conf kept in ${logDir} and ${work}`);
  }
}
