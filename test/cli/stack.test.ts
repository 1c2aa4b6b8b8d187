import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec } from '../../src/sys/exec.js';

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
