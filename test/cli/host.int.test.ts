// Runs the real `cellblock host` commands on this machine (read-only: bootstrap only as --dry-run).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { exec } from '../../src/sys/exec.js';
import type { CheckResult } from '../../src/sys/host-checks.js';
import type { BootstrapReport } from '../../src/sys/bootstrap.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function cellblock(...args: string[]) {
  return exec([process.execPath, `${ROOT}bin/cellblock`, ...args], { cwd: ROOT, timeoutMs: 60_000, okCodes: Array.from({ length: 256 }, (_, i) => i) });
}

test('host check --json describes this machine', async () => {
  const r = await cellblock('host', 'check', '--json');
  const doc = JSON.parse(r.stdout) as { ok: boolean; kernelRelease: string; missingRequired: string[]; checks: CheckResult[] };
  const runc = doc.checks.find((c) => c.name === 'runc');
  assert.ok(runc);
  assert.equal(runc.status, 'present', 'runc is installed on this machine');
  assert.match(runc.detail, /runc/);
  assert.equal(runc.required, true);
  for (const c of doc.checks) {
    assert.ok(['tool', 'kernel', 'os'].includes(c.kind), c.name);
    assert.ok(c.kind === 'os' ? ['present', 'warning'].includes(c.status) : ['present', 'missing'].includes(c.status), c.name);
    assert.equal(c.fix === '', c.status === 'present', `${c.name}: a fix exactly when missing or a warning`);
  }
  assert.deepEqual(doc.checks.filter((c) => c.kind === 'os').map((c) => c.name), ['etc-masked', 'etc-links', 'etc-own-files', 'nsswitch'], 'how the host\'s OS serves jails');
  assert.equal(doc.ok, doc.missingRequired.length === 0);
  assert.equal(r.code, doc.ok ? 0 : 1, 'exit 1 exactly when something required is missing');
  if (!doc.ok) assert.match(r.stderr, /cellblock host bootstrap|fix:/);
});

test('host check prints a table with a summary', async () => {
  const r = await cellblock('host', 'check');
  const [header, ...rows] = r.stdout.split('\n');
  assert.match(header!, /^NAME\s+KIND\s+STATUS\s+DETAIL\s+FIX$/);
  assert.ok(rows.some((l) => /^runc\s+tool\s+present\s+\//.test(l)));
  assert.match(r.stdout, /core \(storage \+ jails\): (ready|INCOMPLETE)/);
});

test('host bootstrap --dry-run prints the apt-get command and changes nothing', async () => {
  const before = await cellblock('host', 'check', '--json');
  const r = await cellblock('host', 'bootstrap', '--dry-run');
  assert.equal(r.code, 0, r.stderr);
  const missingPkgs = [...new Set((JSON.parse(before.stdout) as { checks: CheckResult[] }).checks.filter((c) => c.kind === 'tool' && c.status === 'missing').map((c) => c.pkg))];
  if (missingPkgs.length === 0) {
    assert.match(r.stdout, /nothing to install/);
  } else {
    assert.match(r.stdout, new RegExp(`DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missingPkgs.join(' ')}\\n`));
    assert.match(r.stdout, /^ {2}apt-get update$/m);
  }
  const after = await cellblock('host', 'check', '--json');
  assert.deepEqual(JSON.parse(after.stdout).missingRequired, JSON.parse(before.stdout).missingRequired);
});

test('host bootstrap --dry-run --json reports the plan', async () => {
  const r = await cellblock('host', 'bootstrap', '--dry-run', '--json');
  assert.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(r.stdout) as BootstrapReport;
  assert.equal(rep.dryRun, true);
  assert.deepEqual(rep.installed, []);
  if (rep.packages.length) assert.deepEqual(rep.commands[1], ['apt-get', 'install', '-y', '--no-install-recommends', ...rep.packages]);
  else assert.deepEqual(rep.commands, []);
});

test('host check exits 1 and points at bootstrap when required tools are missing (empty PATH)', async () => {
  // With PATH unusable only /usr/sbin and /sbin are searched: btrfs, rsync, tar (in /usr/bin) go missing.
  const r = await exec([process.execPath, `${ROOT}bin/cellblock`, 'host', 'check', '--json'], {
    cwd: ROOT, timeoutMs: 60_000, env: { PATH: '/nonexistent' }, okCodes: [0, 1],
  });
  assert.equal(r.code, 1);
  const doc = JSON.parse(r.stdout) as { ok: boolean; missingRequired: string[] };
  assert.equal(doc.ok, false);
  assert.ok(doc.missingRequired.includes('rsync'), doc.missingRequired.join(','));
  assert.match(r.stderr, /^error: this host lacks what storage and jails need: .*rsync/m);
  assert.match(r.stderr, /fix: run `cellblock host bootstrap`/);
});
