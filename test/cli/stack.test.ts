import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec } from '../../src/sys/exec.js';
import { printDiff } from '../../src/cli/commands/stack/diff.js';
import { makeCert } from '../helpers/certs.js';
import { mkdirSync } from 'node:fs';

// dist/test/cli/stack.test.js -> the repository root
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = `${ROOT}bin/cellblock`;
let dir = '';

function cellblock(...args: string[]) {
  return exec([process.execPath, BIN, ...args], { cwd: ROOT, timeoutMs: 30_000, okCodes: Array.from({ length: 256 }, (_, i) => i) });
}

before(() => { dir = mkdtempSync(join(tmpdir(), 'cellblock-stack-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

test('stack validate: the example file is ok, exit 0', async () => {
  const r = await cellblock('stack', 'validate', '-f', 'examples/stack.yml');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'examples/stack.yml: ok, 1 service\n');
  assert.equal(r.stderr, '');
  const full = await cellblock('stack', 'validate', '-f', 'examples/stack-full.yml');
  assert.equal(full.stdout, 'examples/stack-full.yml: ok, 2 services\n');
});

test('stack validate --json prints the normalized stack', async () => {
  const r = await cellblock('stack', 'validate', '-f', 'examples/stack.yml', '--json');
  assert.equal(r.code, 0, r.stderr);
  const stack = JSON.parse(r.stdout);
  assert.deepEqual(stack.services.site.image, { name: 'site', tag: 'v1' });
  assert.equal(stack.services.site.replicas, 3);
  assert.equal(stack.services.site.health.intervalMs, 5000);
});

test('stack validate: a bad file exits 1 with every located error and how to check again', async () => {
  const file = join(dir, 'bad.yml');
  writeFileSync(file, 'services:\n  web:\n    image: web:v1\n    command: [/w]\n    replicas: three\n    colour: red\n');
  const r = await cellblock('stack', 'validate', '-f', file);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, [
    `error: ${file} is not a valid stack file (2 errors):`,
    `  ${file}:5:15 services.web.replicas: expected a whole number >= 1, got "three"; write a whole number, for example 3`,
    `  ${file}:6:5 services.web.colour: unknown field; allowed fields: image, replicas, command, env, memory, cpus, pids, disk, rw, etc, restart, user, port, publish, health, deploy`,
    `  fix: correct them, then check the file again with: cellblock stack validate -f ${file}`,
    '',
  ].join('\n'));
  assert.doesNotMatch(r.stderr, /\bat /, 'no stack trace');
});

test('stack validate: a missing file and a missing -f are user errors', async () => {
  const r = await cellblock('stack', 'validate', '-f', join(dir, 'none.yml'));
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `error: ${join(dir, 'none.yml')}: no such file\n  fix: give the path of a stack file, for example -f stack.yml\n`);
  const d = await cellblock('stack', 'validate', '-f', dir);
  assert.equal(d.code, 1);
  assert.match(d.stderr, /is a directory/);
  const noF = await cellblock('stack', 'validate');
  assert.equal(noF.code, 1);
  assert.match(noF.stderr, /required option '-f, --file <file>' not specified/);
});

test('stack validate reads publish.tls files relative to the stack file and checks them', async () => {
  const app = join(dir, 'app');
  mkdirSync(join(app, 'certs'), { recursive: true });
  const good = await makeCert(join(app, 'certs'), 'site', ['site.example.com']);
  await makeCert(join(app, 'certs'), 'other', ['site.example.com']);
  const file = join(app, 'stack.yml');
  const write = (key: string) => writeFileSync(file, [
    'services:', '  site:', '    image: site:v1', '    command: [/app/site]', '    port: 8080', '    publish:',
    '      http: [site.example.com]', `      tls: { cert: certs/site.crt, key: ${key} }`, '',
  ].join('\n'));
  write('certs/site.key');
  const ok = await cellblock('stack', 'validate', '-f', file, '--json');
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout).services.site.publish.tls, { cert: 'certs/site.crt', key: 'certs/site.key' });
  assert.ok(!ok.stdout.includes(good.keyPem.split('\n')[1]!), 'the key is not printed');
  write('certs/other.key');
  const bad = await cellblock('stack', 'validate', '-f', file);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr.split('\n')[1], `  ${file}:8:41 services.site.publish.tls.key: certs/other.key does not match the certificate certs/site.crt; give the key the certificate was made with (compare openssl x509 -noout -pubkey -in certs/site.crt with openssl pkey -pubout -in certs/other.key)`);
  write('certs/none.key');
  const missing = await cellblock('stack', 'validate', '-f', file);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr.split('\n')[1]!, new RegExp(`^  ${file}:8:41 services.site.publish.tls.key: cannot read certs/none.key: no such file \\(${join(app, 'certs/none.key')}\\); give the path of the private key \\(PEM\\), relative to the stack file's directory; to make a self-signed pair: openssl req -x509 `));
});

test('diff output: a config change says that nothing rolls out', () => {
  let out = '';
  printDiff({ write: (s: string) => { out += s; return true; } } as unknown as NodeJS.WritableStream, 'shop', [
    { service: 'site', change: 'config', details: ['publish changed'] },
    { service: 'api', change: 'update', details: ['image api:v1 -> api:v2'] },
  ]);
  assert.equal(out, '~ shop/site: config (no rollout) (publish changed)\n~ shop/api: update (image api:v1 -> api:v2)\n');
});
