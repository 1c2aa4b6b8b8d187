// The real `cellblock` entry point with dir pools (no root needed). Every refused command
// must change nothing: the data dir and the --path directories stay byte for byte the same.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec } from '../../src/sys/exec.js';
import type { PoolRecord } from '../../src/storage/driver.js';
import { openPool } from '../../src/storage/pools.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ANY = Array.from({ length: 256 }, (_, i) => i);
const isRoot = process.getuid?.() === 0;

/** Every path below dir with its type and, for files, contents. */
async function treeState(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const visit = async (rel: string) => {
    let names: string[];
    try { names = await readdir(join(dir, rel)); } catch { return; }
    for (const n of names.sort()) {
      const r = rel ? `${rel}/${n}` : n;
      const st = await lstat(join(dir, r));
      if (st.isDirectory()) { out[r] = 'dir'; await visit(r); } else out[r] = st.isFile() ? await readFile(join(dir, r), 'utf8') : 'other';
    }
  };
  await visit('');
  return out;
}

describe('cellblock pool with the dir driver', () => {
  let tmp: string;
  let dataDir: string;
  const cellblock = (...args: string[]) =>
    exec([process.execPath, `${ROOT}bin/cellblock`, '--data-dir', dataDir, ...args], { cwd: ROOT, timeoutMs: 60_000, okCodes: ANY });

  async function refused(args: string[], message: RegExp, opts: { fix?: boolean } = {}) {
    const before = await treeState(tmp);
    const r = await cellblock(...args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    if (opts.fix !== false) assert.match(r.stderr, /^ {2}fix: /m, `${args.join(' ')} says what to do`);
    assert.deepEqual(await treeState(tmp), before, `${args.join(' ')} changed nothing`);
  }

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'cellblock-cli-dir-'));
    dataDir = join(tmp, 'data');
  });

  after(async () => {
    try {
      await cellblock('pool', 'destroy', 'd', '--yes');
      await cellblock('pool', 'destroy', 'e', '--yes');
    } finally {
      if (isRoot) await exec(['chattr', '-R', '-i', tmp], { okCodes: [0, 1] }).catch(() => {});
      await rm(tmp, { recursive: true, force: true });
    }
  });

  test('pool create --driver dir, with and without --path; pool ls shows them', async () => {
    const r = await cellblock('pool', 'create', 'd', '--driver', 'dir');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `created pool d: dir on ${join(dataDir, 'pools', 'd')}, mounted at ${join(dataDir, 'pools', 'd')}\n`);
    const where = join(tmp, 'srv', 'e');
    const r2 = await cellblock('--json', 'pool', 'create', 'e', '--driver', 'dir', '--path', where);
    assert.equal(r2.code, 0, r2.stderr);
    const rec = JSON.parse(r2.stdout) as PoolRecord;
    assert.deepEqual({ ...rec, createdAt: '' }, { name: 'e', driver: 'dir', mountpoint: where, source: { kind: 'path', path: where }, mountedByUs: false, createdAt: '' });

    const ls = await cellblock('pool', 'ls');
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /^d\s+dir\s+\S+pools\/d\s+\S+pools\/d\s+\S+\s+0B \(not enforced\)\s+\S+\s+\S+\s+plain directories: every snapshot and clone is a full copy$/m);
    const json = JSON.parse((await cellblock('--json', 'pool', 'ls')).stdout) as (PoolRecord & { note: string; size: number | null })[];
    assert.deepEqual(json.map((p) => [p.name, p.driver, p.mountpoint]), [['d', 'dir', join(dataDir, 'pools', 'd')], ['e', 'dir', where]]);
    assert.ok(json.every((p) => typeof p.size === 'number' && p.note.startsWith('plain directories')));
  });

  test('bad input is refused and changes nothing', async () => {
    await refused(['pool', 'create', 'x', '--driver', 'nope'], /argument 'nope' is invalid. Allowed choices are btrfs, dir, zfs/, { fix: false });
    await refused(['pool', 'create', 'x', '--driver', 'zfs'], /the zfs driver needs --path/);
    await refused(['pool', 'create', 'x', '--driver', 'dir', '--path', join(tmp, 'x'), '--size', '1G'], /--size and --path cannot be used together/);
    await refused(['pool', 'create', 'x', '--driver', 'dir', '--size', '1G'], /--size does not apply to the dir driver/);
    await refused(['pool', 'create', 'd', '--driver', 'dir'], /pool d already exists/);
    await refused(['pool', 'create', 'x', '--driver', 'dir', '--path', join(tmp, 'srv', 'e')], /already holds pool e/);
    const full = join(tmp, 'full');
    await mkdir(full);
    await writeFile(join(full, 'notes.txt'), 'mine');
    await refused(['pool', 'create', 'x', '--driver', 'dir', '--path', full], /is not empty/);
    await refused(['pool', 'create', 'X', '--driver', 'dir'], /invalid pool name "X"/);
    await refused(['pool', 'destroy', 'd'], /refusing to destroy pool d without --yes/);
    await refused(['pool', 'destroy', 'nope', '--yes'], /pool nope does not exist/);
    assert.equal(await readFile(join(full, 'notes.txt'), 'utf8'), 'mine');
  });

  test('pool destroy --yes removes datasets, snapshots and the directories the pool made', async () => {
    const d = await openPool({ exec, dataDir }, 'd');
    await d.createDataset('jails/web1');
    await writeFile(join(d.datasetPath('jails/web1'), 'index.html'), 'hello');
    await d.createSnapshot({ dataset: 'jails/web1', snapshot: 's1' });
    const r = await cellblock('pool', 'destroy', 'd', '--yes');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'destroyed pool d\n');
    const r2 = await cellblock('pool', 'destroy', 'e', '--yes');
    assert.equal(r2.code, 0, r2.stderr);
    assert.deepEqual(await readdir(join(dataDir, 'pools')), []);
    assert.equal(await lstat(join(tmp, 'srv')).catch(() => null), null, 'the --path directories pool create made are gone');
    assert.deepEqual(JSON.parse((await cellblock('--json', 'pool', 'ls')).stdout), []);
  });
});
