// Test harness: a real Kannel (bearerbox + smsbox, Debian's kannel 1.4.5) on loopback, with the fake
// SMS centre (`smsc = fake`) played by one long-running `fakesmsc` from kannel-extras.
//
//   const kannel = await startKannel({ workDir, logDir,
//     smsServiceUrl: 'http://127.0.0.1:PORT/c/sms/kannel?secret=S&from=%p&to=%P&text=%a&coding=%c&charset=%C&smsc=%i&id=%I' });
//   await kannel.send('0912345678', '8077', 'Rat hai long');            // a phone sends an SMS (MO)
//   await kannel.send('0912345678', '8077', 'Rất hài lòng', { ucs2: true });
//   const reply = await kannel.waitForMessage((m) => m.to === '0912345678', 15000);  // what reaches the phone (MT)
//   await kannel.stop();
//
// How the fake SMS centre works (Kannel 1.4.5, read from gw/smsc/smsc_fake.c and test/fakesmsc.c and
// checked on this machine):
// - bearerbox's fake SMSC listens on one port and serves ONE client at a time: a second fakesmsc
//   connects (the kernel's backlog accepts it) but is not read until the first one disconnects. So
//   a single fakesmsc both injects (MO) and receives (MT): it runs in "interactive mode" (no message
//   arguments) and sends every line written to its stdin, `<from> <to> <type> <data>`.
// - It logs `fakesmsc: sent message N` after writing line N to bearerbox and
//   `Got message N: <from to type data>` for every line bearerbox writes to it (on stderr).
//   MT types: `text <utf-8 text>`, `data <url-encoded 8-bit>`, `ucs-2 <url-encoded UTF-16BE>`,
//   `udh <url-encoded UDH> data <url-encoded payload>` (a part of a concatenated SMS; the coding is
//   not printed for these, see decodeUdhPayload).
// - Its loop waits on stdin only, with a 1 s timeout, and reads bearerbox after each stdin line or
//   timeout: MT lines show up with up to 1 s delay. An empty line on stdin wakes it at once (it is
//   skipped, not sent), so the harness "pokes" it while someone waits for a message.
// - It reads stdin with stdio's fgets into a 256-byte buffer: lines longer than 255 bytes are sent
//   in pieces (bearerbox joins them, it reads up to the newline; a last piece that is the bare
//   newline would be skipped, so such a line ends in CR LF instead), and a line already in stdio's
//   buffer is not seen by select(): the harness writes one message at a time and nudges with an
//   empty line until fakesmsc logs that it sent every piece.
// - Kannel's side: an sms-service answer with `Content-Type: text/plain` becomes a 7-bit `text` SMS
//   (letters outside GSM 03.38 turn into `?`), one without it an 8-bit `data` SMS, one with
//   `X-Kannel-Coding: 2` a `ucs-2` SMS; an empty answer becomes "<Empty reply from service provider>"
//   unless omit-empty; an unreachable service "Could not fetch content, sorry.".
// - Closing its stdin makes it abort ("double free" in its exit path); it is stopped with SIGTERM.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const KANNEL_BINARIES = {
  bearerbox: '/usr/sbin/bearerbox',
  smsbox: '/usr/sbin/smsbox',
  fakesmsc: '/usr/lib/kannel/test/fakesmsc',
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// A delay that does not keep node alive (for races against a process's exit).
const idle = (ms) => new Promise((r) => setTimeout(r, ms).unref());

/** A free TCP port on 127.0.0.1 (bind port 0, read it, close). */
// Ports handed out by this process: the kernel may give a closed port again at once, and two
// servers told the same port would collide (seen: hailong on fakesmsc's port).
const portsGiven = new Set();

function anyFreePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** A free loopback port, never one this process handed out before. */
export async function freePort() {
  for (;;) {
    const port = await anyFreePort();
    if (portsGiven.has(port)) continue;
    portsGiven.add(port);
    return port;
  }
}

/** Percent-decoding to bytes, `+` as space (Kannel's octstr_url_decode and its URLs). */
export function urlDecodeBytes(s) {
  const src = Buffer.from(s, 'latin1');
  const out = Buffer.alloc(src.length);
  let n = 0;
  for (let i = 0; i < src.length; ++i) {
    const c = src[i];
    if (c === 0x2b) out[n++] = 0x20;
    else if (c === 0x25 && i + 2 < src.length && /^[0-9a-fA-F]{2}$/.test(src.toString('latin1', i + 1, i + 3))) {
      out[n++] = parseInt(src.toString('latin1', i + 1, i + 3), 16);
      i += 2;
    } else out[n++] = c;
  }
  return out.subarray(0, n);
}

/**
 * The raw query of a URL (with or without `?` and the path before it) as name -> Buffer of bytes.
 * Use it in an sms-service stub: Kannel puts raw UTF-16BE bytes into `text` for UCS-2 messages, which
 * URLSearchParams would mangle (it decodes as UTF-8).
 */
export function parseQueryBytes(urlOrQuery) {
  const q = urlOrQuery.includes('?') ? urlOrQuery.slice(urlOrQuery.indexOf('?') + 1) : urlOrQuery;
  const out = {};
  for (const pair of q.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const name = urlDecodeBytes(eq < 0 ? pair : pair.slice(0, eq)).toString('utf8');
    out[name] = urlDecodeBytes(eq < 0 ? '' : pair.slice(eq + 1));
  }
  return out;
}

/** Bytes in a charset Kannel names (`%C`: UTF-16BE for UCS-2, UTF-8 otherwise, maybe ISO-8859-1). */
export function decodeCharset(bytes, charset = 'UTF-8') {
  const cs = String(charset || 'UTF-8').trim().toUpperCase().replace(/_/g, '-');
  if (cs === 'UTF-16BE' || cs === 'UCS-2' || cs === 'UCS-2BE' || cs === 'UTF-16') return decodeUtf16be(bytes);
  if (cs === 'ISO-8859-1' || cs === 'LATIN1' || cs === 'WINDOWS-1252') return Buffer.from(bytes).toString('latin1');
  return new TextDecoder(cs.toLowerCase()).decode(bytes);
}

export function decodeUtf16be(bytes) {
  const b = Buffer.from(bytes);
  const even = b.length - (b.length % 2);
  const swapped = Buffer.from(b.subarray(0, even));
  swapped.swap16();
  return swapped.toString('utf16le');
}

export function encodeUtf16be(text) {
  const b = Buffer.from(text, 'utf16le');
  b.swap16();
  return b;
}

/**
 * UCS-2 text in the form fakesmsc's `ucs2` type expects: UTF-16BE bytes, URL-encoded (smsc_fake
 * url-decodes them). ASCII letters and digits stay literal to keep the line short; the rest is %XX.
 */
export function encodeUcs2ForFakesmsc(text) {
  let out = '';
  for (const byte of encodeUtf16be(text)) {
    out += /[A-Za-z0-9]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Whether a concatenated part's payload (printed as `data` whatever its coding) is UCS-2: even length
 * and every UTF-16 unit's high byte under 0x20 other than TAB, LF, CR (Vietnamese letters are U+00xx,
 * U+01xx, U+03xx, U+1Exx), or 0x20 (General Punctuation: dashes, quotes, the ellipsis) with at least
 * one unit under 0x20; a 7-bit text part, printed in UTF-8, never has control bytes at every even
 * offset. A heuristic: fakesmsc does not print the coding of a part.
 */
export function looksLikeUcs2(bytes) {
  if (bytes.length === 0 || bytes.length % 2) return false;
  let below = false;
  for (let i = 0; i < bytes.length; i += 2) {
    if (bytes[i] > 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d) return false;
    below ||= bytes[i] < 0x20;
  }
  return below;
}

function decodeUdhPayload(bytes) {
  if (looksLikeUcs2(bytes)) return { type: 'ucs2', text: decodeUtf16be(bytes) };
  const utf8 = bytes.toString('utf8');
  return { type: 'text', text: utf8.includes('\uFFFD') ? bytes.toString('latin1') : utf8 };
}

/** The concatenation information element of a UDH (IEI 0x00, 8-bit ref; IEI 0x08, 16-bit ref), or null. */
export function parseConcatUdh(udh) {
  let i = 1;
  while (i + 1 < udh.length && i <= udh[0]) {
    const iei = udh[i];
    const len = udh[i + 1];
    const d = udh.subarray(i + 2, i + 2 + len);
    if (iei === 0x00 && len === 3) return { ref: d[0], total: d[1], seq: d[2] };
    if (iei === 0x08 && len === 4) return { ref: (d[0] << 8) | d[1], total: d[2], seq: d[3] };
    i += 2 + len;
  }
  return null;
}

/**
 * One `Got message N: <...>` payload (`from to type data`) -> { from, to, type, text, bytes?, udh? }.
 * type: 'text' | 'data' | 'ucs2' | 'udh'. For 'udh', `udh` and `bytes` are Buffers, text is undefined.
 */
export function parseFakesmscLine(line) {
  const m = /^(\S+) (\S+) (\S+) ?(.*)$/s.exec(line);
  if (!m) return null;
  const [, from, to, kind, rest] = m;
  if (kind === 'text') return { from, to, type: 'text', text: rest };
  if (kind === 'data') {
    // 8-bit (binary) SMS: what Kannel makes of a service reply without `Content-Type: text/plain`.
    const bytes = urlDecodeBytes(rest);
    const utf8 = bytes.toString('utf8');
    return { from, to, type: 'data', text: utf8.includes('\uFFFD') ? bytes.toString('latin1') : utf8, bytes };
  }
  if (kind === 'ucs-2' || kind === 'ucs2') {
    const bytes = urlDecodeBytes(rest);
    return { from, to, type: 'ucs2', text: decodeUtf16be(bytes), bytes };
  }
  if (kind === 'udh') {
    const u = /^(\S*) data (.*)$/s.exec(rest);
    if (!u) return null;
    return { from, to, type: 'udh', udh: urlDecodeBytes(u[1]), bytes: urlDecodeBytes(u[2]) };
  }
  return null;
}

function tail(file, lines = 40) {
  try {
    const all = fs.readFileSync(file, 'utf8').split('\n');
    return all.slice(-lines - 1).join('\n');
  } catch (e) {
    return `(cannot read ${file}: ${e.message})`;
  }
}

// ---- processes -------------------------------------------------------------------------------------

// Every process group started by this module and not yet seen exiting; killed when node exits or on
// SIGINT/SIGTERM/SIGHUP, so no box outlives the test even when it forgets stop().
const live = new Set();
let hooksInstalled = false;

function killAllNow() {
  for (const p of live) {
    try { process.kill(-p.pid, 'SIGKILL'); } catch { /* gone */ }
  }
  live.clear();
}

function onSignal(sig) {
  killAllNow();
  // Only decide to exit when nobody else listens for that signal.
  if (process.listenerCount(sig) <= 1) process.exit(128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 }[sig] ?? 0));
}

const signalHandlers = Object.fromEntries(['SIGINT', 'SIGTERM', 'SIGHUP'].map((s) => [s, () => onSignal(s)]));

function installHooks() {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllNow);
  for (const [s, h] of Object.entries(signalHandlers)) process.on(s, h);
}

function removeHooksIfIdle() {
  if (!hooksInstalled || live.size) return;
  hooksInstalled = false;
  process.off('exit', killAllNow);
  for (const [s, h] of Object.entries(signalHandlers)) process.off(s, h);
}

// A guardian per Kannel: a shell that reads process group ids on its stdin and, when that pipe closes
// because node died without stop() (SIGKILL, crash), terminates those groups. stop() kills it first.
const GUARDIAN = 'pgs=""; while read -r pg; do pgs="$pgs -$pg"; done; '
  + 'if [ -n "$pgs" ]; then /bin/kill -s TERM -- $pgs 2>/dev/null; sleep 2; /bin/kill -s KILL -- $pgs 2>/dev/null; fi';

function startGuardian() {
  const child = spawn('/bin/sh', ['-c', GUARDIAN], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  child.stdin.on('error', () => {});
  const g = { name: 'guardian', child, pid: child.pid, exitCode: null, signal: null };
  g.exited = new Promise((resolve) => child.once('exit', (code, signal) => {
    g.exitCode = code;
    g.signal = signal;
    live.delete(g);
    resolve();
  }));
  child.once('error', () => {});
  if (child.pid) live.add(g);
  installHooks();
  return g;
}

async function stopGuardian(g) {
  if (!g || !running(g)) return;
  try { process.kill(g.pid, 'SIGKILL'); } catch { /* gone */ }
  await Promise.race([g.exited, idle(3000)]);
}

/**
 * Spawns `timeout -k 5 <lifetime> <bin> args...`: timeout makes itself a process group leader, forwards
 * SIGTERM to the box, and bounds its life whatever happens to node. Output goes to logFile.
 */
function startProcess(name, bin, args, { logFile, lifetimeSec, stdin = 'ignore', onOutput, guardian }) {
  const fd = fs.openSync(logFile, 'w');
  const piped = Boolean(onOutput);
  const child = spawn('/usr/bin/timeout', ['-k', '5', String(lifetimeSec), bin, ...args], {
    stdio: [stdin, piped ? 'pipe' : fd, piped ? 'pipe' : fd],
  });
  const p = { name, bin, child, pid: child.pid, logFile, exitCode: null, signal: null, stopping: false };
  p.exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      p.exitCode = code;
      p.signal = signal;
      live.delete(p);
      resolve({ code, signal });
    });
  });
  child.once('error', (e) => fs.writeSync(fd, `\n[harness] spawn ${bin} failed: ${e.message}\n`));
  if (piped) {
    for (const stream of [child.stdout, child.stderr]) {
      stream.on('data', (chunk) => {
        fs.writeSync(fd, chunk);
        onOutput(chunk);
      });
    }
  }
  p.exited.then(() => fs.closeSync(fd)).catch(() => {});
  if (child.pid) {
    live.add(p);
    if (guardian && running(guardian)) guardian.child.stdin.write(`${child.pid}\n`);
  }
  installHooks();
  return p;
}

function running(p) {
  return p && p.exitCode === null && p.signal === null;
}

async function stopProcess(p, graceMs = 8000) {
  if (!p || !running(p)) return;
  p.stopping = true;
  try { process.kill(p.pid, 'SIGTERM'); } catch { /* gone */ }
  const t = await Promise.race([p.exited.then(() => 'exited'), idle(graceMs).then(() => 'timeout')]);
  if (t === 'timeout') {
    try { process.kill(-p.pid, 'SIGKILL'); } catch { /* gone */ }
    await Promise.race([p.exited, idle(3000)]);
  }
}

function exitedError(p, what) {
  return new Error(`${p.name} exited ${what} (code ${p.exitCode}, signal ${p.signal}); last lines of ${p.logFile}:\n${tail(p.logFile)}`);
}

// ---- the fake SMSC client --------------------------------------------------------------------------

class FakeSmsc {
  constructor() {
    this.proc = null;
    this.pending = Buffer.alloc(0);
    this.sentCount = 0; // from `fakesmsc: sent message N`
    this.chunksWritten = 0; // stdin lines (pieces) we expect it to count
    this.lines = []; // every raw MT line, in order
    this.messages = []; // complete MT messages (concatenated parts joined)
    this.claimed = new Set(); // messages already returned by waitForMessage
    this.partsByKey = new Map();
    this.listeners = new Set();
    this.writeChain = Promise.resolve();
    this.writing = false;
  }

  onOutput(chunk) {
    this.pending = Buffer.concat([this.pending, chunk]);
    let nl;
    while ((nl = this.pending.indexOf(0x0a)) >= 0) {
      const line = this.pending.subarray(0, nl).toString('utf8').replace(/\r$/, '');
      this.pending = this.pending.subarray(nl + 1);
      this.onLine(line);
    }
    for (const l of this.listeners) l();
  }

  onLine(line) {
    let m = /fakesmsc: sent message (\d+)\s*$/.exec(line);
    if (m) {
      this.sentCount = Math.max(this.sentCount, Number(m[1]));
      return;
    }
    m = /Got message (\d+): <(.*)>$/s.exec(line);
    if (!m) return;
    const n = Number(m[1]);
    const payload = m[2];
    this.lines.push({ n, line: payload, at: Date.now() });
    const parsed = parseFakesmscLine(payload);
    if (!parsed) {
      // A 7-bit MT text holding a newline reaches fakesmsc as two lines: join it to the previous message.
      const prev = this.messages[this.messages.length - 1];
      if (prev && prev.type === 'text' && prev.parts === 1 && Date.now() - prev.at < 2000) {
        prev.text += `\n${payload}`;
        prev.raw.push(payload);
        prev.at = Date.now();
      } else {
        this.messages.push({ n, from: '', to: '', type: 'unknown', text: payload, parts: 1, raw: [payload], at: Date.now() });
      }
      return;
    }
    if (parsed.type !== 'udh') {
      this.messages.push({ n, ...parsed, parts: 1, raw: [payload], at: Date.now() });
      return;
    }
    const concat = parseConcatUdh(parsed.udh);
    if (!concat || concat.total <= 1) {
      this.messages.push({ n, from: parsed.from, to: parsed.to, ...decodeUdhPayload(parsed.bytes), udh: parsed.udh,
        bytes: parsed.bytes, parts: 1, raw: [payload], at: Date.now() });
      return;
    }
    const key = `${parsed.from}\u0000${parsed.to}\u0000${concat.ref}\u0000${concat.total}`;
    let entry = this.partsByKey.get(key);
    if (!entry) {
      entry = { parts: new Array(concat.total), raw: [] };
      this.partsByKey.set(key, entry);
    }
    entry.parts[concat.seq - 1] = parsed.bytes;
    entry.raw.push(payload);
    if (entry.parts.filter(Boolean).length === concat.total) {
      this.partsByKey.delete(key);
      const bytes = Buffer.concat(entry.parts);
      this.messages.push({ n, from: parsed.from, to: parsed.to, ...decodeUdhPayload(bytes), bytes, parts: concat.total,
        raw: entry.raw, at: Date.now() });
    }
  }

  // Resolves when cond() is true, re-checked after every output chunk and every `everyMs`; every()
  // runs on each tick (used to poke fakesmsc).
  until(cond, timeoutMs, { everyMs = 150, every, describe, procs = [] } = {}) {
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (err, value) => {
        if (done) return;
        done = true;
        clearInterval(timer);
        clearTimeout(deadline);
        this.listeners.delete(check);
        if (err) reject(err);
        else resolve(value);
      };
      const check = () => {
        try {
          const v = cond();
          if (v) return finish(null, v);
        } catch (e) {
          return finish(e);
        }
        for (const p of procs) {
          if (!running(p) && !p.stopping) return finish(exitedError(p, `while waiting for ${describe?.() ?? 'a condition'}`));
        }
      };
      const timer = setInterval(() => {
        check();
        if (!done && every) every();
      }, everyMs);
      const deadline = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${describe?.() ?? 'a condition'}`)), timeoutMs);
      this.listeners.add(check);
      check();
    });
  }

  poke() {
    if (this.writing || !running(this.proc)) return;
    try { this.proc.child.stdin.write('\n'); } catch { /* closed */ }
  }

  // One MO line: written alone, then nudged with empty lines until fakesmsc says it sent every piece.
  write(line, { timeoutMs = 10000, procs = [] } = {}) {
    const job = this.writeChain.then(async () => {
      this.writing = true;
      try {
        // fgets hands fakesmsc pieces of at most 255 bytes and it skips a piece shorter than 2 bytes:
        // when the last piece would be the bare "\n", end the line with "\r\n" (bearerbox drops the CR).
        const eol = (Buffer.byteLength(line, 'utf8') + 1) % 255 === 1 ? '\r\n' : '\n';
        const pieces = Math.ceil((Buffer.byteLength(line, 'utf8') + eol.length) / 255);
        const expect = this.chunksWritten + pieces;
        this.chunksWritten = expect;
        this.proc.child.stdin.write(`${line}${eol}`);
        await this.until(() => this.sentCount >= expect, timeoutMs, {
          everyMs: 120,
          every: () => { try { this.proc.child.stdin.write('\n'); } catch { /* closed */ } },
          describe: () => `fakesmsc to send MO line #${expect} (sent ${this.sentCount}): ${line}\n--- ${this.proc.logFile}:\n${tail(this.proc.logFile, 15)}`,
          procs,
        });
        return { n: expect, line };
      } finally {
        this.writing = false;
      }
    });
    this.writeChain = job.catch(() => {});
    return job;
  }
}

function matcher(predicate) {
  if (typeof predicate === 'function') return predicate;
  if (predicate instanceof RegExp) return (m) => predicate.test(m.text);
  if (typeof predicate === 'string') return (m) => m.text === predicate;
  if (predicate && typeof predicate === 'object') {
    return (m) => Object.entries(predicate).every(([k, v]) => (v instanceof RegExp ? v.test(m[k]) : m[k] === v));
  }
  return () => true;
}

function describePredicate(p) {
  if (typeof p === 'function') return p.toString().slice(0, 200);
  if (p instanceof RegExp) return `text ${p}`;
  return JSON.stringify(p, (k, v) => (v instanceof RegExp ? String(v) : v));
}

function confString(s) {
  if (/["\n\r]/.test(s)) throw new Error(`value not allowed in kannel.conf: ${s}`);
  return `"${s}"`;
}

// ---- Kannel ----------------------------------------------------------------------------------------

/**
 * Starts bearerbox, smsbox and a fakesmsc on free loopback ports.
 *
 * @param {object} o
 * @param {string} o.workDir        kannel.conf goes here (created if missing)
 * @param {string} o.smsServiceUrl  get-url of the default sms-service, with Kannel escapes (%p %P %a %c %C %i %I ...)
 * @param {string} [o.logDir]       bearerbox.log, smsbox.log, fakesmsc.log, kannel-access.log (default workDir)
 * @param {number} [o.logLevel=0]   -v of the boxes (0 debug .. 4 panic)
 * @param {boolean} [o.omitEmpty=false] sms-service `omit-empty`: with false an empty HTTP answer
 *                                   becomes an SMS "<Empty reply from service provider>"
 * @param {string[]} [o.serviceExtra] more `key = value` lines for the sms-service group
 * @param {number} [o.startTimeoutMs=20000]
 * @param {number} [o.lifetimeSec=900] hard limit on every process's life (GNU timeout)
 * @param {object} [o.binaries]      override paths { bearerbox, smsbox, fakesmsc }
 * @returns the handle described in the return statement below (sendsmsUrl, username, password,
 *          smscPort, send, waitForMessage, received, messages, stop, ...)
 */
export async function startKannel({ workDir, smsServiceUrl, logDir, logLevel = 0, omitEmpty = false, serviceExtra = [],
  startTimeoutMs = 20000, lifetimeSec = 900, binaries = {} } = {}) {
  if (!workDir) throw new Error('startKannel: workDir is required');
  if (!smsServiceUrl) throw new Error('startKannel: smsServiceUrl is required');
  logDir = logDir ?? workDir;
  fs.mkdirSync(workDir, { recursive: true });
  fs.mkdirSync(logDir, { recursive: true });
  const bins = { ...KANNEL_BINARIES, ...binaries };
  for (const b of Object.values(bins)) {
    if (!fs.existsSync(b)) throw new Error(`${b} not found (apt-get install kannel kannel-extras)`);
  }
  let lastError = null;
  for (let attempt = 1; attempt <= 3; ++attempt) {
    try {
      return await startOnce({ workDir, smsServiceUrl, logDir, logLevel, omitEmpty, serviceExtra, startTimeoutMs, lifetimeSec, bins });
    } catch (e) {
      lastError = e;
      // A port taken between freePort() and bind: pick new ports and try again.
      if (!/Address already in use|could not create listening socket|bind failed/i.test(e.message)) throw e;
    }
  }
  throw lastError;
}

async function startOnce({ workDir, smsServiceUrl, logDir, logLevel, omitEmpty, serviceExtra, startTimeoutMs, lifetimeSec, bins }) {
  const ports = {};
  const used = new Set();
  for (const k of ['admin', 'smsbox', 'sendsms', 'smsc']) {
    let p;
    do p = await freePort(); while (used.has(p));
    used.add(p);
    ports[k] = p;
  }
  const adminPassword = crypto.randomBytes(9).toString('hex');
  const username = `hl${crypto.randomBytes(4).toString('hex')}`;
  const password = crypto.randomBytes(12).toString('hex');
  const smscId = 'FAKE';
  const confPath = path.join(workDir, 'kannel.conf');
  const logs = {
    bearerbox: path.join(logDir, 'bearerbox.log'),
    smsbox: path.join(logDir, 'smsbox.log'),
    fakesmsc: path.join(logDir, 'fakesmsc.log'),
    access: path.join(logDir, 'kannel-access.log'),
  };
  // Groups MUST be separated by blank lines (else the boxes start and do nothing).
  const groups = [
    ['group = core',
      `admin-port = ${ports.admin}`,
      'admin-interface = 127.0.0.1',
      `admin-password = ${confString(adminPassword)}`,
      'admin-deny-ip = "*.*.*.*"',
      'admin-allow-ip = "127.0.0.1"',
      `smsbox-port = ${ports.smsbox}`,
      'smsbox-interface = 127.0.0.1',
      'box-deny-ip = "*.*.*.*"',
      'box-allow-ip = "127.0.0.1"',
      `access-log = ${confString(logs.access)}`,
      'dlr-storage = internal'],
    ['group = smsc',
      'smsc = fake',
      `smsc-id = ${smscId}`,
      `port = ${ports.smsc}`,
      'our-host = 127.0.0.1',
      'connect-allow-ip = "127.0.0.1"'],
    ['group = smsbox',
      'bearerbox-host = 127.0.0.1',
      `bearerbox-port = ${ports.smsbox}`,
      `sendsms-port = ${ports.sendsms}`,
      'sendsms-interface = 127.0.0.1'],
    ['group = sendsms-user',
      `username = ${confString(username)}`,
      `password = ${confString(password)}`,
      'user-deny-ip = "*.*.*.*"',
      'user-allow-ip = "127.0.0.1"',
      'max-messages = 5',
      'concatenation = true'],
    ['group = sms-service',
      'keyword = default',
      `get-url = ${confString(smsServiceUrl)}`,
      'accept-x-kannel-headers = true',
      'max-messages = 3',
      'concatenation = true',
      'catch-all = true',
      `omit-empty = ${omitEmpty ? 'true' : 'false'}`,
      ...serviceExtra],
  ];
  fs.writeFileSync(confPath, `${groups.map((g) => g.join('\n')).join('\n\n')}\n`);

  const adminBase = `http://127.0.0.1:${ports.admin}`;
  const status = async () => {
    const r = await fetch(`${adminBase}/status.txt?password=${adminPassword}`, { signal: AbortSignal.timeout(2000) });
    return r.text();
  };
  const procs = [];
  const fake = new FakeSmsc();
  const guardian = startGuardian();
  const deadline = Date.now() + startTimeoutMs;

  async function waitFor(what, p, test) {
    let last = '';
    while (Date.now() < deadline) {
      for (const q of procs) if (!running(q)) throw exitedError(q, `during start-up (waiting for ${what})`);
      // A box that cannot bind a port may keep running (bearerbox without its admin port does): fail fast.
      for (const q of procs) {
        let log = '';
        try { log = fs.readFileSync(q.logFile, 'utf8'); } catch { /* not yet */ }
        if (/Address already in use|PANIC:/.test(log)) {
          throw new Error(`${q.name} failed during start-up (waiting for ${what}); last lines of ${q.logFile}:\n${tail(q.logFile)}`);
        }
      }
      try {
        if (await test()) return;
      } catch (e) { last = e.message; }
      await sleep(100);
    }
    throw new Error(`Kannel start-up: timed out waiting for ${what}${last ? ` (${last})` : ''}; last lines of ${p.logFile}:\n${tail(p.logFile)}`);
  }

  const v = ['-v', String(logLevel)];
  try {
    const bearerbox = startProcess('bearerbox', bins.bearerbox, [...v, confPath], { logFile: logs.bearerbox, lifetimeSec, guardian });
    procs.push(bearerbox);
    await waitFor('bearerbox admin /status', bearerbox, async () => /Status: running/.test(await status()));

    const smsbox = startProcess('smsbox', bins.smsbox, [...v, confPath], { logFile: logs.smsbox, lifetimeSec, guardian });
    procs.push(smsbox);
    await waitFor('smsbox to connect to bearerbox', smsbox, async () => /smsbox:.*\(on-line/.test(await status()));
    await waitFor('smsbox sendsms port', smsbox, async () => {
      const r = await fetch(`http://127.0.0.1:${ports.sendsms}/cgi-bin/sendsms`, { signal: AbortSignal.timeout(2000) });
      await r.text();
      return true;
    });

    fake.proc = startProcess('fakesmsc', bins.fakesmsc, ['-v', '0', '-H', '127.0.0.1', '-r', String(ports.smsc), '-i', '0'],
      { logFile: logs.fakesmsc, lifetimeSec, stdin: 'pipe', onOutput: (c) => fake.onOutput(c), guardian });
    fake.proc.child.stdin.on('error', () => {});
    procs.push(fake.proc);
    await waitFor('fakesmsc to connect to the fake SMSC', fake.proc, async () => new RegExp(`FAKE:${ports.smsc} \\(online`).test(await status()));
  } catch (e) {
    for (const p of [...procs].reverse()) await stopProcess(p, 5000);
    await stopGuardian(guardian);
    removeHooksIfIdle();
    throw e;
  }

  const [bearerbox, smsbox] = procs;
  const sendsmsUrl = `http://127.0.0.1:${ports.sendsms}/cgi-bin/sendsms`;
  let stopped = false;

  const kannel = {
    sendsmsUrl,
    username,
    password,
    smscPort: ports.smsc,
    smscId,
    ports,
    adminUrl: adminBase,
    adminPassword,
    confPath,
    logs,
    /** Ids of the processes started (the `timeout` wrappers and the guardian), each also its process group's id. */
    get pids() { return [...procs.map((p) => p.pid), guardian.pid]; },
    /** Complete MT messages seen by the fake SMSC so far (concatenated parts joined), oldest first. */
    get messages() { return fake.messages.slice(); },
    /** Every raw `Got message` payload, for debugging. */
    get rawLines() { return fake.lines.slice(); },
    /** Bearerbox's status page as text. */
    status,

    /**
     * A phone sends one SMS (MO). text: type `text` (the line's bytes as they are; use ASCII / GSM
     * characters); ucs2: UTF-16BE, URL-encoded, arriving at the service with coding=2, charset=UTF-16BE.
     * Resolves once fakesmsc has written it to bearerbox: { n, line }.
     */
    async send(from, to, text, { ucs2 = false, timeoutMs = 10000 } = {}) {
      if (stopped) throw new Error('kannel.send after stop()');
      for (const [k, val] of Object.entries({ from, to })) {
        if (!/^\S+$/.test(String(val))) throw new Error(`kannel.send: ${k} must be one word, got ${JSON.stringify(val)}`);
      }
      if (/[\r\n]/.test(text) && !ucs2) throw new Error('kannel.send: a text message cannot hold a newline (use ucs2)');
      const line = ucs2 ? `${from} ${to} ucs2 ${encodeUcs2ForFakesmsc(text)}` : `${from} ${to} text ${text}`;
      return fake.write(line, { timeoutMs, procs });
    },

    /**
     * The first MT message, not yet returned by an earlier waitForMessage, that satisfies predicate
     * (a function of the message, a RegExp or string for its text, or an object of fields to match).
     * A message: { n, from, to, type: 'text'|'ucs2'|'data', text, bytes?, parts, raw: [lines], at }.
     */
    async waitForMessage(predicate, timeoutMs = 15000) {
      const test = matcher(predicate);
      // The newest text message stays unmatched for 50 ms: its continuation line may still come.
      const settled = (m) => m.type !== 'text' || m !== fake.messages[fake.messages.length - 1] || Date.now() - m.at >= 50;
      const found = await fake.until(() => fake.messages.find((m) => !fake.claimed.has(m) && settled(m) && test(m)), timeoutMs, {
        everyMs: 150,
        every: () => fake.poke(),
        describe: () => `an MT message matching ${describePredicate(predicate)}; seen so far: ${JSON.stringify(fake.messages.map((m) => ({ from: m.from, to: m.to, type: m.type, text: m.text })))}`,
        procs,
      });
      fake.claimed.add(found);
      return found;
    },

    /**
     * Lets traffic settle for timeoutMs (poking fakesmsc so it reads what bearerbox has written) and
     * returns all complete MT messages so far, or only those after index `since`.
     */
    async received({ timeoutMs = 1500, since = 0 } = {}) {
      await fake.until(() => false, timeoutMs, { everyMs: 150, every: () => fake.poke() }).catch(() => {});
      return fake.messages.slice(since);
    },

    /** Marks every message received so far as used: later waitForMessage calls see only newer ones. */
    clear() {
      for (const m of fake.messages) fake.claimed.add(m);
    },

    /** GET sendsms with this harness's user: params { to, from, text, coding, charset, ... } -> { status, body }. */
    async sendsms(params) {
      const q = new URLSearchParams({ username, password, ...params });
      const r = await fetch(`${sendsmsUrl}?${q}`, { signal: AbortSignal.timeout(10000) });
      return { status: r.status, body: await r.text() };
    },

    /** Stops fakesmsc, smsbox and bearerbox (SIGTERM, SIGKILL after 8 s) and waits until they exited. */
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopProcess(fake.proc);
      await stopProcess(smsbox);
      await stopProcess(bearerbox);
      await stopGuardian(guardian);
      removeHooksIfIdle();
    },
  };
  return kannel;
}
