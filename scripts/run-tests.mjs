#!/usr/bin/env node
// Runs the compiled test files with Node's test runner.
//   node scripts/run-tests.mjs            every test (unit, integration, e2e)
//   node scripts/run-tests.mjs --unit     only unit tests (no root needed)
//   node scripts/run-tests.mjs FILTER...  only test files whose path contains a FILTER
// Unit tests are test/**/*.test.ts; integration tests (real tools, root) are *.int.test.ts;
// e2e tests live under test/e2e/.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const testDir = join(root, 'dist', 'test');
const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const filters = args.filter((a) => !a.startsWith('--'));

function walk(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.test.js') ? [p] : [];
  });
}

let files = walk(testDir).sort();
if (unitOnly) files = files.filter((f) => !f.endsWith('.int.test.js') && !f.includes('/e2e/'));
if (filters.length) files = files.filter((f) => filters.some((s) => relative(root, f).includes(s)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', '--test-concurrency=2', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
