// A hailong host for the end-to-end tests: `hailong serve` on a free loopback port with an
// SQLite database in a temporary folder, the API token given, and the plugins and settings a
// test asks for. The server can be stopped and started again on the same port and database.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from './kannel.mjs';

export { freePort };

// Arguments of the form --name value, as an object.
export function options(argv = process.argv.slice(2)) {
  return Object.fromEntries(
    argv.reduce((pairs, a, i, all) => (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []));
}

export class Hailong {
  /// binary: the hailong executable; work: a folder for the database; log: the log file;
  /// settings: { 'plugins.enabled': 'counter', ... } passed as --set key=value.
  constructor({ binary, work, log, port, token = 'e2e-token', settings = {} }) {
    Object.assign(this, { binary, work, log, port, token, settings, process: null });
    this.base = `http://127.0.0.1:${port}`;
  }

  static async create(options) {
    return new Hailong({ ...options, port: options.port ?? (await freePort()) });
  }

  async start() {
    const log = fs.openSync(this.log, 'a');
    const sets = Object.entries({ 'api.token': this.token, 'paths.data': this.work, ...this.settings })
      .flatMap(([k, v]) => ['--set', `${k}=${v}`]);
    this.process = spawn(this.binary, ['serve', '--db', `sqlite:${this.work}/hl.db`, '--host', '127.0.0.1',
      '--port', String(this.port), ...sets], { stdio: ['ignore', log, log] });
    const exited = new Promise((resolve) => this.process.once('exit', () => resolve('exited')));
    for (let i = 0; i < 150; ++i) {
      const done = await Promise.race([exited, new Promise((r) => setTimeout(r, 100))]);
      if (done === 'exited') throw new Error(`hailong exited at start; see ${this.log}`);
      try {
        if ((await fetch(`${this.base}/api/v1/health`)).ok) return;
      } catch { /* not listening yet */ }
    }
    throw new Error(`hailong did not answer within 15 s; see ${this.log}`);
  }

  async stop() {
    if (!this.process || this.process.exitCode !== null) return;
    const exited = new Promise((resolve) => this.process.once('exit', resolve));
    this.process.kill('SIGTERM');
    await exited;
  }

  /// A call of the official API with the token; the parsed JSON answer (throws on an error).
  async api(method, url, body) {
    const r = await fetch(this.base + url, {
      method,
      headers: { Authorization: `Bearer ${this.token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${url}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }
}

export function artifactsDir(root, name) {
  const dir = path.join(root ?? 'build/e2e-artifacts', name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}
