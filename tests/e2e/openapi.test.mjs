// The OpenAPI document (web/openapi.json) is a valid OpenAPI 3 document: @apidevtools/swagger-parser
// validates it in full (the OpenAPI 3.0 JSON schema, every $ref resolved, path parameters declared,
// operation ids unique). With --hailong, a host started with links.base_url serves the same document
// at /api/v1/openapi.json, with `servers` pointing at that base URL, and that copy validates too.
// Whether the document lists exactly the router's routes is tests/app/test_openapi.cpp's job.
// Exit code 0 on success, 1 with the validator's message otherwise.
//
//   node tests/e2e/openapi.test.mjs [--hailong build/test/bin/hailong]
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hailong, options } from './hailong.mjs';

// Installed by `npm ci --prefix tests/e2e` (scripts/deps.sh test), pinned by package-lock.json.
const SwaggerParser = await import('@apidevtools/swagger-parser').then((m) => m.default, () => {
  console.error('FAILED: @apidevtools/swagger-parser is not installed: run npm ci --prefix tests/e2e');
  process.exit(1);
});

const args = options();
const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web/openapi.json');
const started = Date.now();
const step = (what) => console.log(`- [${((Date.now() - started) / 1000).toFixed(1)} s] ${what}`);

// The validator dereferences the object it is given: each call gets its own copy.
async function validate(what, document) {
  try {
    const api = await SwaggerParser.validate(structuredClone(document));
    const operations = Object.values(api.paths)
      .flatMap((item) => Object.keys(item).filter((k) => k !== 'parameters')).length;
    step(`${what}: valid OpenAPI ${api.openapi}, ${Object.keys(api.paths).length} paths, ${operations} operations`);
  } catch (e) {
    console.error(`FAILED: ${what} is not a valid OpenAPI document:\n${e.message}`);
    process.exit(1);
  }
}

let host;
try {
  const document = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.match(document.openapi, /^3\./, 'the "openapi" member names version 3');
  await validate('web/openapi.json', document);

  if (args.hailong) {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hailong-openapi-'));
    const base = 'https://hailong.example.gov.vn';
    host = await Hailong.create({
      binary: path.resolve(args.hailong), work, log: path.join(work, 'hailong.log'),
      settings: { 'links.base_url': `${base}/` },
    });
    await host.start();
    const r = await fetch(`${host.base}/api/v1/openapi.json`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    const served = await r.json();
    assert.deepEqual(served.servers.map((s) => s.url), [base], 'servers name the host\'s links.base_url');
    assert.deepEqual({ ...served, servers: document.servers }, document,
      'the served document is the file, but for its servers');
    await validate('the served /api/v1/openapi.json', served);
    await host.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
  console.log('PASSED');
} catch (e) {
  console.error(`FAILED: ${e.stack ?? e}`);
  await host?.stop();
  process.exit(1);
}
