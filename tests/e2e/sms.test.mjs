// End-to-end test of the SMS channel through the real Kannel gateway: hailong on a free loopback
// port, bearerbox and smsbox with a generated configuration whose sms-service calls hailong, and
// fakesmsc playing the operator (tests/e2e/kannel.mjs). Citizens text in plain and in UCS-2
// Vietnamese; the replies are read back from fakesmsc and the stored responses from the API.
//
//   node tests/e2e/sms.test.mjs --hailong build/bin/hailong --artifacts build/e2e-artifacts
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Hailong, artifactsDir, freePort, options } from './hailong.mjs';
import { startKannel } from './kannel.mjs';

const args = options();
const artifacts = artifactsDir(args.artifacts, 'sms');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hailong-sms-'));
const secret = 'e2e-sms-secret';
const step = (what) => console.log(`- ${what}`);

const port = await freePort();
let host = null;
let kannel = null;
const api = (...a) => host.api(...a);

async function smsResponses() {
  return (await api('GET', '/api/v1/responses?channel=sms&limit=100')).items;
}
const responseOf = async (dossier) => (await smsResponses()).find((r) => r.dossier === dossier);

// A citizen texts; the reply fakesmsc receives for that phone.
async function exchange(phone, text, options = {}) {
  await kannel.send(phone, '8088', text, options);
  return (await kannel.waitForMessage({ to: phone }, 15000)).text;
}

try {
  step('start Kannel with its sms-service pointing at hailong, then hailong with the sms plugin');
  kannel = await startKannel({
    workDir: work,
    logDir: artifacts,
    omitEmpty: true,
    smsServiceUrl: `http://127.0.0.1:${port}/c/sms/kannel?secret=${secret}&from=%p&to=%P&text=%a&coding=%c&charset=%C&smsc=%i&id=%I`,
  });
  host = new Hailong({
    binary: args.hailong ?? 'build/bin/hailong', work, port, log: path.join(artifacts, 'hailong.log'),
    settings: {
      'plugins.enabled': 'sms', 'plugin.sms.secret': secret, 'outbox.poll_ms': 200,
      // Invitations through this Kannel's sendsms, at any hour (no quiet hours in a test).
      'plugin.sms.sendsms_url': kannel.sendsmsUrl, 'plugin.sms.sendsms_user': kannel.username,
      'plugin.sms.sendsms_password': kannel.password, 'plugin.sms.sender': '8088', 'plugin.sms.quiet_hours': '',
    },
  });
  await host.start();
  await api('POST', '/api/v1/agencies', { code: 'XA', name: 'UBND xã Phú Thượng', kind: 'commune' });
  const dossiers = [['XA-01', '0912000001'], ['XA-02', '0912000002'], ['XA-03', '0912000003']];
  for (const [code, phone] of dossiers)
    await api('POST', '/api/v1/dossiers', { code, agency: 'XA', phone, status: 'returned', received_at: Date.now() - 86400000 });

  step('a plain-text rating by dossier code is stored and thanked');
  let reply = await exchange('0912000001', 'DG XA-01 5');
  assert.match(reply, /Cam on Ong\/Ba da danh gia ho so XA-01/);
  assert.deepEqual((await responseOf('XA-01')).answers.rating, ['5']);

  step('"Rất hài lòng" sent as UCS-2 is stored as 5 with its comment intact');
  reply = await exchange('0912000002', 'DG XA-02 Rất hài lòng, cán bộ nhiệt tình', { ucs2: true });
  assert.match(reply, /Cam on/);
  const ucs2 = await responseOf('XA-02');
  assert.deepEqual(ucs2.answers.rating, ['5']);
  assert.deepEqual(ucs2.answers.comment, ['cán bộ nhiệt tình']);

  step('a low rating gets the follow-up question, and its answer is kept');
  reply = await exchange('0912000003', 'dg XA-03 ko hai long');
  assert.match(reply, /Vi sao Ong\/Ba chua hai long/);
  reply = await exchange('0912000003', '2');
  assert.match(reply, /Cam on/);
  const low = await responseOf('XA-03');
  assert.deepEqual(low.answers.rating, ['2']);
  assert.deepEqual(low.answers.reason, ['waiting']);

  step('a second rating of a dossier is refused politely and not stored');
  reply = await exchange('0912000001', 'DG XA-01 1');
  assert.match(reply, /da duoc danh gia/);
  assert.equal((await smsResponses()).filter((r) => r.dossier === 'XA-01').length, 1);

  step('an unreadable reply gets the help text; HD asks for it; TU CHOI opts out');
  assert.match(await exchange('0933000009', 'xin chao'), /DG <ma ho so> <diem 1-5>/);
  assert.match(await exchange('0933000008', 'HD'), /DG <ma ho so> <diem 1-5>/);
  assert.match(await exchange('0912000002', 'TU CHOI'), /khong nhan tin nhan khao sat nua/);
  assert.equal((await smsResponses()).length, 3);

  step('a dossier marked returned gets one invitation; the reply without a code rates it');
  await api('POST', '/api/v1/dossiers', { code: 'XA-04', agency: 'XA', phone: '0912000004', status: 'received', received_at: Date.now() - 86400000 });
  await api('PATCH', '/api/v1/dossiers/XA-04', { status: 'returned', returned_at: Date.now() });
  // To the number in international form, accent-free: one GSM-7 segment.
  const invitation = await kannel.waitForMessage({ to: '+84912000004' }, 20000);
  assert.equal(invitation.type, 'text');
  assert.match(invitation.text, /^UBND xa Phu Thuong: Ho so XA-04 da co ket qua/);
  reply = await exchange('0912000004', '4');
  assert.match(reply, /Cam on Ong\/Ba da danh gia ho so XA-04/);
  assert.deepEqual((await responseOf('XA-04')).answers.rating, ['4']);
  // Saved again (another field changes): still one invitation.
  await api('PATCH', '/api/v1/dossiers/XA-04', { due_at: Date.now() + 86400000 });

  step('no invitation goes to a phone that opted out');
  const quietSince = Date.now();
  await api('POST', '/api/v1/dossiers', { code: 'XA-05', agency: 'XA', phone: '0912000002', status: 'returned', returned_at: Date.now(), received_at: Date.now() - 86400000 });
  await new Promise((r) => setTimeout(r, 4000));
  const late = (await kannel.received({ timeoutMs: 500 }))
    .filter((m) => m.at > quietSince && (m.to.endsWith('912000002') || m.to.endsWith('912000004')));
  assert.deepEqual(late.map((m) => m.text), [], 'no message after the opt-out, no second invitation');
  step('a negative rating with words opens a case; the answer reaches the phone; the reply rates it');
  const today = new Date(Date.now() + 7 * 3600000).toISOString().slice(0, 10);
  const d766 = async () => (await api('GET', `/api/v1/indices/d766?from=2020-01-01&to=${today}`))
    .agencies.find((a) => a.key === 'XA');
  await api('POST', '/api/v1/dossiers', { code: 'XA-06', agency: 'XA', phone: '0912000006', status: 'returned', received_at: Date.now() - 86400000 });
  assert.match(await exchange('0912000006', 'DG XA-06 1'), /Vi sao Ong\/Ba chua hai long/);
  reply = await exchange('0912000006', 'Cán bộ không hướng dẫn, phải đi lại ba lần', { ucs2: true });
  const opened = reply.match(/ma (PA-[0-9A-Z]+), tra loi truoc (\d\d\/\d\d\/\d{4})/);
  assert.ok(opened, `the reply names the case: ${reply}`);
  const code = opened[1];
  let c = await api('GET', `/api/v1/cases/${code}`);
  assert.equal(c.dossier, 'XA-06');
  assert.equal(c.status, 'new');
  assert.equal(c.answer_by_sms, true);
  assert.match(c.sources[0].words, /Cán bộ không hướng dẫn, phải đi lại ba lần/);
  // XA-03's reason opened a case as well: two cases, none answered yet.
  let ratios = await d766();
  assert.equal(ratios.feedback, 2);
  assert.equal(ratios.feedback_on_time, 0);
  assert.equal(ratios.feedback_satisfied, 100);

  const answer = 'UBND xã xin lỗi Ông/Bà; cán bộ đã được nhắc nhở, hồ sơ được hướng dẫn lại tại quầy số 2.';
  c = await api('POST', `/api/v1/cases/${code}/answer`, { answer });
  assert.equal(c.status, 'answered');
  const delivered = await kannel.waitForMessage({ to: '+84912000006' }, 20000);
  assert.match(delivered.text, new RegExp(`tra loi phan anh ${code}`));
  assert.ok(delivered.text.includes(answer), `the answer arrives whole: ${delivered.text}`);
  reply = await exchange('0912000006', '1');
  assert.match(reply, new RegExp(`cau tra loi ${code}`));
  c = await api('GET', `/api/v1/cases/${code}`);
  assert.equal(c.verdict, 'satisfied');
  // One of the two cases answered on time, none rated unsatisfied or overdue.
  ratios = await d766();
  assert.equal(ratios.feedback_on_time, 50);
  assert.equal(ratios.feedback_satisfied, 100);

  step('PA <code> <words> opens a complaint; the same dossier\'s open case gathers a second one');
  reply = await exchange('0912000001', 'PA XA-01 cán bộ thu thêm phí ngoài quy định', { ucs2: true });
  const complaint = reply.match(/ma (PA-[0-9A-Z]+)/);
  assert.ok(complaint, reply);
  assert.equal((await api('GET', `/api/v1/cases/${complaint[1]}`)).kind, 'complaint');
  reply = await exchange('0912000001', 'PA XA-01 chưa được hoàn phí', { ucs2: true });
  assert.ok(reply.includes(complaint[1]), `joined the open case: ${reply}`);
  assert.equal((await api('GET', `/api/v1/cases/${complaint[1]}`)).sources.length, 2);
  assert.match(await exchange('0912000001', 'PA XA-99 sai'), /Khong tim thay ho so XA-99/);

  console.log(`ok: SMS through Kannel; logs in ${artifacts}`);
} catch (e) {
  console.error(`FAILED: ${e.stack ?? e}\nlogs in ${artifacts}`);
  process.exitCode = 1;
} finally {
  if (kannel) await kannel.stop();
  if (host) await host.stop();
  fs.rmSync(work, { recursive: true, force: true });
}
