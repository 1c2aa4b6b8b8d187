// The real `cellblock image` commands (root only), on a btrfs loop pool and on a dir pool:
// build as children, export full and incremental, import into a second data dir with the
// same files, rm. Every refusal exits 1 with a fix and changes nothing: files, mounts, loop
// devices, `image ls --json`, `btrfs subvolume list -a`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../../src/sys/exec.js';
import { cleanupDataDir } from '../helpers/loop-pools.js';
import { cliArgv, cliFor, imageState, imageStateOrAbsent, piped, refused, treeDigest, withCutInput, type LsEntry } from '../helpers/image-cli.js';
import { encodeHeader, type StreamHeader } from '../../src/storage/images/stream.js';

const skip = process.getuid?.() !== 0 && 'needs root';
const BIG = 8 * 1024 ** 2;
const KINDS = ['btrfs', 'dir'] as const;

for (const kind of KINDS) {
  const other = kind === 'btrfs' ? 'dir' : 'btrfs';
  const poolArgs = (k: string) => (k === 'btrfs' ? ['--size', '512M'] : ['--driver', 'dir']);

  describe(`cellblock image on a ${kind} pool`, { skip }, () => {
    let root: string;
    let src: string;
    let streams: string;
    let a: string; // the building host's data dir, pool p
    let b: string; // the receiving host's data dir, pools q (same driver) and x (the other one)
    const A = (...args: string[]) => cliFor(a)(...args);
    const B = (...args: string[]) => cliFor(b)(...args);
    const snap = (dataDir: string, pool: string, name: string, tag: string) => join(dataDir, 'pools', pool, '.snapshots', 'images', name, `${tag}@image`);
    const digests = new Map<string, string[]>();

    async function ok(r: Promise<{ code: number; stdout: string; stderr: string }>, what: string) {
      const got = await r;
      assert.equal(got.code, 0, `${what}: ${got.stderr}`);
      return got;
    }
    const ls = async (cli: typeof A) => JSON.parse((await ok(cli('--json', 'image', 'ls'), 'image ls')).stdout) as LsEntry[];
    const entry = async (cli: typeof A, image: string) => (await ls(cli)).find((e) => e.image === image);
    const mountsOf = (dataDir: string, pools: [string, string][]) => pools.filter(([, k]) => k === 'btrfs').map(([p]) => join(dataDir, 'pools', p));
    const stateA = () => imageState(a, mountsOf(a, [['p', kind]]));
    const stateB = () => imageState(b, mountsOf(b, [['q', kind], ['x', other]]));

    before(async () => {
      root = await mkdtemp(join(tmpdir(), `cellblock-cli-image-${kind}-`));
      [src, streams, a, b] = ['src', 'streams', 'a', 'b'].map((d) => join(root, d)) as [string, string, string, string];
      await Promise.all([streams, a, b].map((d) => mkdir(d)));
      await mkdir(join(src, 'conf'), { recursive: true });
      await mkdir(join(src, 'data', 'empty'), { recursive: true });
      await writeFile(join(src, 'big.bin'), randomBytes(BIG));
      await writeFile(join(src, 'conf', 'app.conf'), 'version = 1\n');
      await writeFile(join(src, 'run.sh'), '#!/bin/sh\nexec true\n');
      await chmod(join(src, 'run.sh'), 0o755);
      await symlink('conf/app.conf', join(src, 'current.conf'));
      await ok(A('pool', 'create', 'p', ...poolArgs(kind)), 'pool create p');
      await ok(B('pool', 'create', 'q', ...poolArgs(kind)), 'pool create q');
      await ok(B('pool', 'create', 'x', ...poolArgs(other)), 'pool create x');
    });

    after(async () => {
      try {
        for (const [cli, pool] of [[A, 'p'], [B, 'q'], [B, 'x']] as const) await cli('pool', 'destroy', pool, '--yes');
      } finally {
        await exec(['chattr', '-R', '-i', root], { okCodes: [0, 1] }).catch(() => {}); // dir snapshots are immutable
        await cleanupDataDir(root);
      }
    });

    test('build v1 from a directory; v2 after changing one file is its child', async () => {
      assert.equal((await ok(A('image', 'build', 'site:v1', src, '--pool', 'p'), 'build v1')).stdout, 'built image site:v1 in pool p\n');
      digests.set('v1', await treeDigest(src));
      assert.deepEqual(await treeDigest(snap(a, 'p', 'site', 'v1')), digests.get('v1'));
      await writeFile(join(src, 'conf', 'app.conf'), 'version = 2\n');
      digests.set('v2', await treeDigest(src));
      assert.equal((await ok(A('image', 'build', 'site:v2', src, '--pool', 'p'), 'build v2')).stdout, 'built image site:v2 in pool p (child of site:v1)\n');
      assert.deepEqual(await treeDigest(snap(a, 'p', 'site', 'v2')), digests.get('v2'));
      const [v1, v2] = await ls(A);
      assert.deepEqual([v1?.image, v1?.parent, v1?.origin], ['site:v1', null, 'build']);
      assert.deepEqual([v2?.image, v2?.parent, v2?.origin, v2?.pool], ['site:v2', { name: 'site', tag: 'v1' }, 'build', 'p']);
      if (kind === 'btrfs') {
        assert.ok(v2!.sharedBytes >= BIG, `v2 shares the unchanged big file with v1: ${v2!.sharedBytes}`);
        assert.ok(v2!.exclusiveBytes < 1024 ** 2, `v2 holds little of its own: ${v2!.exclusiveBytes}`);
      } else {
        assert.equal(v2!.sharedBytes, 0, 'dir: full copies share nothing');
        assert.ok(v2!.exclusiveBytes >= BIG);
      }
      const table = (await ok(A('image', 'ls'), 'image ls')).stdout;
      assert.match(table, /^IMAGE\s+PARENT\s+POOL\s+CREATED\s+EXCLUSIVE\s+SHARED\s+ORIGIN\nsite:v1\s+-\s+p\s+\S+Z\s+\S+\s+\S+\s+build\nsite:v2\s+site:v1\s+p\s/);
    });

    test('--from picks the parent; --no-parent shares nothing', async () => {
      assert.match((await ok(A('image', 'build', 'site:v3', src, '--from', 'site:v1', '--pool', 'p'), 'build --from')).stdout, /\(child of site:v1\)\n$/);
      assert.equal((await ok(A('image', 'build', 'site:v4', src, '--no-parent', '--pool', 'p'), 'build --no-parent')).stdout, 'built image site:v4 in pool p\n');
      assert.deepEqual(await treeDigest(snap(a, 'p', 'site', 'v3')), digests.get('v2'));
      assert.deepEqual(await treeDigest(snap(a, 'p', 'site', 'v4')), digests.get('v2'));
      // A build deletes its writable head; until btrfs's cleaner has freed it, its blocks count as shared.
      // `filesystem sync` commits now (else up to 30 s), `subvolume sync` waits for the cleaner.
      if (kind === 'btrfs') for (const w of ['filesystem', 'subvolume']) await exec(['btrfs', w, 'sync', join(a, 'pools', 'p')]);
      const v3 = await entry(A, 'site:v3');
      const v4 = await entry(A, 'site:v4');
      assert.deepEqual(v3?.parent, { name: 'site', tag: 'v1' });
      assert.equal(v4?.parent, null);
      assert.ok(v4!.exclusiveBytes >= BIG, `site:v4 holds its own copy: ${v4!.exclusiveBytes}`);
    });

    test('export full and --since; import into another data dir gives the same files', async () => {
      const full = join(streams, 'v1.cbi');
      const inc = join(streams, 'v2.cbi');
      assert.match((await ok(A('image', 'export', 'site:v1', '-o', full), 'export v1')).stdout, new RegExp(`^exported site:v1 \\(full\\) to ${full}: \\S+ ${kind === 'btrfs' ? 'btrfs-send' : 'tar'}\\n$`));
      const e2 = await ok(A('image', 'export', 'site:v2', '--since', 'site:v1', '-o', inc), 'export v2 --since v1');
      const [fullSize, incSize] = [(await stat(full)).size, (await stat(inc)).size];
      assert.ok(fullSize > BIG, `full stream ${fullSize}`);
      if (kind === 'btrfs') {
        assert.match(e2.stdout, /\(incremental since site:v1\)/);
        assert.ok(incSize * 100 < fullSize, `incremental ${incSize} much smaller than full ${fullSize}`);
        // the receiver does not have site:v1 yet
        await refused(stateB, () => B('image', 'import', inc, '--pool', 'q'), /the stream is incremental against site:v1, which is not in pool q/, 'import of an increment without its parent');
      } else {
        assert.match(e2.stderr, /^note: pool p uses the dir driver, which cannot send increments: this is a full stream$/m);
        assert.ok(incSize > BIG, 'dir: --since still sends everything');
      }
      assert.equal((await ok(B('image', 'import', full, '--pool', 'q'), 'import v1')).stdout, 'imported image site:v1 into pool q\n');
      assert.equal((await ok(B('image', 'import', inc, '--pool', 'q'), 'import v2')).stdout, 'imported image site:v2 into pool q\n');
      assert.deepEqual(await treeDigest(snap(b, 'q', 'site', 'v1')), digests.get('v1'));
      assert.deepEqual(await treeDigest(snap(b, 'q', 'site', 'v2')), digests.get('v2'));
      const [srcV2, gotV2] = [await entry(A, 'site:v2'), await entry(B, 'site:v2')];
      assert.deepEqual([gotV2?.parent, gotV2?.origin, gotV2?.pool, gotV2?.createdAt], [{ name: 'site', tag: 'v1' }, 'import', 'q', srcV2?.createdAt]);
    });

    test('export -o - | import - between two processes', async () => {
      const r = await piped(cliArgv(a, ['image', 'export', 'site:v3', '--since', 'site:v1', '-o', '-']), cliArgv(b, ['image', 'import', '-', '--pool', 'q']));
      assert.equal(r.producer.code, 0, r.producer.stderr);
      assert.equal(r.consumer.code, 0, r.consumer.stderr);
      assert.match(r.producer.stderr, /^exported site:v3( since site:v1)?: /m);
      assert.equal(r.consumer.stdout, 'imported image site:v3 into pool q\n');
      assert.deepEqual(await treeDigest(snap(b, 'q', 'site', 'v3')), digests.get('v2'));
      const cut = await piped(cliArgv(a, ['image', 'export', 'site:v1', '-o', '-']), ['head', '-c', '100']);
      assert.equal(cut.producer.code, 1, 'a reader that stops early fails the export');
      assert.match(cut.producer.stderr, /^error: standard output was closed before the whole stream was written.*\n {2}fix: \S/m);
    });

    test('refused builds change nothing', async () => {
      const build = (...args: string[]) => () => A('image', 'build', ...args, '--pool', 'p');
      await refused(stateA, build('Site:v9', src), /invalid image name "Site"/, 'bad image name');
      await refused(stateA, build('site', src), /invalid image "site": expected NAME:TAG/, 'missing tag');
      await refused(stateA, build('site:v1', src), /image site:v1 already exists/, 'duplicate image');
      await refused(stateA, build('site:v9', join(src, 'run.sh')), /run\.sh is not a directory/, 'DIR is a file');
      await refused(stateA, build('site:v9', join(src, 'nope')), /nope is not a directory/, 'DIR is missing');
      await refused(stateA, build('site:v9', src, '--from', 'nope:v1'), /image nope:v1 does not exist/, '--from a missing image');
      await refused(stateA, build('site:v9', src, '--from', 'site:v1', '--no-parent'), /--from and --no-parent cannot be used together/, '--from with --no-parent');
      await refused(stateA, () => A('image', 'export', 'nope:v1', '-o', join(streams, 'nope.cbi')), /image nope:v1 does not exist/, 'export of a missing image');
      await refused(stateA, () => A('image', 'export', 'site:v1', '-o', join(streams, 'no', 'dir.cbi')), /cannot write .*dir\.cbi\.partial: ENOENT/, 'export into a missing directory');
      await refused(stateA, () => A('image', 'export', 'site:v1', '-o', streams), /is a directory/, 'export onto a directory');
    });

    test('refused imports change nothing', async () => {
      const s = (n: string) => join(streams, n);
      await ok(A('image', 'export', 'site:v4', '-o', s('v4.cbi')), 'export v4');
      const good = await readFile(s('v4.cbi'));
      const flipped = Buffer.from(good);
      flipped[Math.floor(good.length / 2)]! ^= 0xff;
      await writeFile(s('half.cbi'), good.subarray(0, good.length >> 1));
      await writeFile(s('early.cbi'), good.subarray(0, Math.max(600, good.length >> 4)));
      await writeFile(s('flipped.cbi'), flipped);
      await writeFile(s('no-trailer.cbi'), good.subarray(0, good.length - 48));
      await writeFile(s('garbage.cbi'), randomBytes(1024 ** 2));
      const imp = (file: string, pool = 'q') => () => B('image', 'import', file, '--pool', pool);
      await refused(stateB, imp(s('half.cbi')), /the image stream is truncated/, 'a truncated stream');
      // short enough to be read whole before the pool's driver listens: its verdict must not crash the CLI
      await refused(stateB, imp(s('early.cbi')), /the image stream is truncated/, 'a stream cut early');
      await refused(stateB, imp(s('flipped.cbi')), /corrupted/, 'a stream with one byte flipped');
      await refused(stateB, imp(s('no-trailer.cbi')), /the image stream is truncated: it ends before its trailer/, 'a stream without its trailer');
      await refused(stateB, imp(s('garbage.cbi')), /this is not a cellblock image stream \(bad magic bytes\)/, 'random bytes');
      await refused(stateB, imp(s('missing.cbi')), /missing\.cbi is not a file/, 'a missing file');
      await refused(stateB, imp(s('v1.cbi')), /image site:v1 already exists here/, 'an image that exists');
      const fmt = kind === 'btrfs' ? ['btrfs-send', 'tar'] : ['tar', 'btrfs-send'];
      await refused(stateB, imp(s('v4.cbi'), 'x'), new RegExp(`the stream was exported from a ${fmt[0]} pool; pool x \\(${other}\\) reads ${fmt[1]} streams`), 'a stream of another driver');
      await refused(stateB, () => withCutInput(cliArgv(b, ['image', 'import', '-', '--pool', 'q']), good.subarray(0, good.length >> 1), 500), /truncated/, 'an import whose sender stops half-way');
      assert.equal((await ok(B('image', 'import', s('v4.cbi'), '--pool', 'q'), 'the good stream after all that')).stdout, 'imported image site:v4 into pool q\n');
      assert.deepEqual(await treeDigest(snap(b, 'q', 'site', 'v4')), digests.get('v2'));
    });

    test('image rm removes the snapshot and the record; a parent can go, its children stay', async () => {
      assert.equal((await ok(A('image', 'rm', 'site:v3'), 'rm v3')).stdout, 'removed image site:v3\n');
      assert.equal(await entry(A, 'site:v3'), undefined);
      await assert.rejects(stat(snap(a, 'p', 'site', 'v3')), { code: 'ENOENT' });
      await refused(stateA, () => A('image', 'rm', 'site:v3'), /image site:v3 does not exist/, 'rm of a missing image');
      await refused(stateA, () => A('image', 'rm', 'site'), /expected NAME:TAG/, 'rm without a tag');
      assert.equal((await ok(A('image', 'rm', 'site:v1'), 'rm the parent v1')).stdout, 'removed image site:v1\n');
      assert.deepEqual(await treeDigest(snap(a, 'p', 'site', 'v2')), digests.get('v2'));
      assert.deepEqual((await ls(A)).map((e) => e.image), ['site:v2', 'site:v4']);
    });
  });
}

describe('cellblock image in a fresh data dir', { skip }, () => {
  let root: string;
  let data: string;
  const C = (...args: string[]) => cliFor(data)(...args);
  const nothing = () => imageStateOrAbsent(data);

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'cellblock-cli-image-fresh-'));
    data = join(root, 'data');
  });
  after(() => cleanupDataDir(root));

  test('a refused build or import does not create the default pool first', async () => {
    const header = (h: Partial<StreamHeader>) => encodeHeader({ version: 1, kind: 'image', format: 'btrfs-send', image: { name: 'site', tag: 'v1' }, parent: null, lineage: null, checksum: 'sha256-trailer', createdAt: new Date(0).toISOString(), ...h });
    const file = (n: string) => join(root, n);
    await writeFile(file('garbage.cbi'), randomBytes(4096));
    await writeFile(file('inc.cbi'), Buffer.concat([header({ parent: { name: 'site', tag: 'v0' } }), randomBytes(4096)]));
    await writeFile(file('tar.cbi'), Buffer.concat([header({ format: 'tar' }), randomBytes(4096)]));
    await refused(nothing, () => C('image', 'build', 'site:v1', file('nope')), /nope is not a directory/, 'build from a missing directory');
    await refused(nothing, () => C('image', 'build', 'site:v1', root, '--from', 'nope:v1'), /image nope:v1 does not exist/, 'build --from a missing image');
    await refused(nothing, () => C('image', 'import', file('garbage.cbi')), /not a cellblock image stream/, 'import of random bytes');
    await refused(nothing, () => C('image', 'import', file('inc.cbi')), /incremental against site:v0, which is not in pool default/, 'import of an increment');
    await refused(nothing, () => C('image', 'import', file('tar.cbi')), /exported from a tar pool; pool default \(btrfs\) reads btrfs-send streams/, 'import of a dir pool\'s stream');
    await assert.rejects(stat(data), { code: 'ENOENT' }, 'the data dir was not even created');
  });
});
