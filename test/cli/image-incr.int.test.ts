// `cellblock image build` on a btrfs loop pool (and a dir pool, for the links) writes only the changed blocks of a changed
// file (root only): 1 MB edited inside a 4 MB file travels as about 1 MB in `image export
// --since`; hard links are kept as the source has them (a link broken in the source gives two
// files, a change through both names keeps one group) and never change the parent image;
// files replaced by directories and symlinks and back. Each image equals its source exactly:
// `rsync -n --itemize-changes --checksum` finds nothing, contents and link groups match.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, chown, link, mkdir, mkdtemp, open, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../../src/sys/exec.js';
import { linkGroups } from '../../src/storage/images/links.js';
import { cleanupDataDir } from '../helpers/loop-pools.js';
import { cliFor, treeDigest } from '../helpers/image-cli.js';

const skip = process.getuid?.() !== 0 && 'needs root';
const MB = 1024 ** 2;

for (const kind of ['btrfs', 'dir'] as const) describe(`cellblock image build writes only changed blocks and keeps hard links (${kind})`, { skip }, () => {
  let root: string;
  let src: string;
  let a: string;
  const A = (...args: string[]) => cliFor(a)(...args);
  const snap = (tag: string) => join(a, 'pools', 'p', '.snapshots', 'images', 'site', `${tag}@image`);
  const kept = new Map<string, unknown>();

  async function ok(r: Promise<{ code: number; stdout: string; stderr: string }>, what: string) {
    const got = await r;
    assert.equal(got.code, 0, `${what}: ${got.stderr}`);
    return got;
  }
  /** Contents, modes, link groups of a tree: what must not change in a parent image. */
  const fingerprint = async (dir: string) => ({ digest: await treeDigest(dir), links: await linkGroups(exec, dir) });
  /** The image equals the source: rsync finds nothing to do (content, modes, owners, times, ACLs, xattrs, links). */
  async function assertSame(tag: string) {
    const dry = await exec(['rsync', '-n', '--itemize-changes', '--archive', '--hard-links', '--acls', '--xattrs', '--delete', '--checksum', `${src}/`, `${snap(tag)}/`]);
    assert.equal(dry.stdout, '', `site:${tag} differs from the source:\n${dry.stdout}`);
    assert.deepEqual(await fingerprint(snap(tag)), await fingerprint(src), `site:${tag}: contents and link groups`);
    kept.set(tag, await fingerprint(snap(tag)));
  }
  async function build(tag: string) {
    await ok(A('image', 'build', `site:${tag}`, src, '--pool', 'p'), `build ${tag}`);
    await assertSame(tag);
    for (const [t, f] of kept) assert.deepEqual(await fingerprint(snap(t)), f, `building ${tag} left site:${t} as it was`);
  }

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'cellblock-cli-image-incr-'));
    [src, a] = [join(root, 'src'), join(root, 'a')];
    await mkdir(a);
    await mkdir(join(src, 'dir-to-file'), { recursive: true });
    await writeFile(join(src, 'big.bin'), randomBytes(4 * MB));
    await writeFile(join(src, 'split-a'), 'one file, two names\n');
    await link(join(src, 'split-a'), join(src, 'split-b'));
    await link(join(src, 'split-a'), join(src, 'l'.repeat(250))); // a name near NAME_MAX in the group
    await writeFile(join(src, 'both-a'), 'shared v1\n');
    await link(join(src, 'both-a'), join(src, 'both-b'));
    await writeFile(join(src, 'file-to-dir'), 'a file\n');
    await writeFile(join(src, 'file-to-link'), 'a file\n');
    await writeFile(join(src, 'dir-to-file', 'inner'), 'inner\n');
    await symlink('big.bin', join(src, 'link-to-file'));
    await writeFile(join(src, 'owned'), 'owned\n');
    await chown(join(src, 'owned'), 1234, 5678);
    await chmod(join(src, 'owned'), 0o604);
    await exec(['setfacl', '-m', 'u:4321:r', join(src, 'owned')]);
    await ok(A('pool', 'create', 'p', ...(kind === 'btrfs' ? ['--size', '512M'] : ['--driver', 'dir'])), 'pool create p');
    await build('v1');
  });

  after(async () => {
    try {
      await A('pool', 'destroy', 'p', '--yes');
    } finally {
      await exec(['chattr', '-R', '-i', root], { okCodes: [0, 1] }).catch(() => {}); // dir snapshots are immutable; cleanup says what is left
      await cleanupDataDir(root);
    }
  });

  test('1 MB edited inside a 4 MB file: the increment carries about 1 MB', async () => {
    const f = await open(join(src, 'big.bin'), 'r+');
    try { await f.write(randomBytes(MB), 0, MB, 1.5 * MB); } finally { await f.close(); }
    await build('v2');
    const out = join(root, 'v2.cbi');
    await ok(A('image', 'export', 'site:v2', '--since', 'site:v1', '-o', out), 'export --since');
    const size = (await stat(out)).size;
    if (kind === 'dir') return; // a dir pool's increment is a full tar stream
    const goal = 1.1 * MB + MB;
    console.log(`# 1 MB edited inside a 4 MB file: incremental stream ${(size / MB).toFixed(2)} MB (goal <= ${(goal / MB).toFixed(2)} MB)`);
    assert.ok(size <= goal, `stream ${size} bytes, goal <= ${goal}`);
    assert.ok(size >= MB, `the changed 1 MB is in it: ${size}`);
  });

  test('a link broken in the source gives two files; a change through both names keeps one group', async () => {
    // split-b gets its own file (written aside and renamed, as an editor or a checkout does)
    await writeFile(join(src, 'split-b.new'), 'split-b alone\n');
    await rename(join(src, 'split-b.new'), join(src, 'split-b'));
    // both-a/both-b change through the inode, and a third name joins them
    await writeFile(join(src, 'both-a'), 'shared v3, longer than before\n');
    await link(join(src, 'both-a'), join(src, 'both-c'));
    await build('v3');
    const img = snap('v3');
    const [sa, sb, ba, bb, bc] = await Promise.all(['split-a', 'split-b', 'both-a', 'both-b', 'both-c'].map((n) => stat(join(img, n))));
    assert.notEqual(sa!.ino, sb!.ino, 'split-a and split-b are two files');
    assert.equal(await readFile(join(img, 'split-a'), 'utf8'), 'one file, two names\n');
    assert.equal(await readFile(join(img, 'split-b'), 'utf8'), 'split-b alone\n');
    assert.deepEqual([ba!.ino, bb!.ino], [bc!.ino, bc!.ino], 'both-a, both-b, both-c are one file');
    assert.equal(bc!.nlink, 3);
    assert.equal(await readFile(join(img, 'both-b'), 'utf8'), 'shared v3, longer than before\n');
    assert.equal(await readFile(join(snap('v2'), 'split-a'), 'utf8'), 'one file, two names\n');
    assert.equal(await readFile(join(snap('v2'), 'split-b'), 'utf8'), 'one file, two names\n');
  });

  test('the other way: two files become one link group, then a linked file changes through one name only after a split', async () => {
    await rm(join(src, 'split-b'));
    await link(join(src, 'split-a'), join(src, 'split-b'));
    await build('v4');
    await writeFile(join(src, 'split-a.new'), 'split-a changed alone\n');
    await rename(join(src, 'split-a.new'), join(src, 'split-a'));
    await build('v5');
    assert.equal(await readFile(join(snap('v5'), 'split-b'), 'utf8'), 'one file, two names\n');
  });

  test('files replaced by directories and symlinks, a directory by a file, a symlink by a file', async () => {
    await rm(join(src, 'file-to-dir'));
    await mkdir(join(src, 'file-to-dir'));
    await writeFile(join(src, 'file-to-dir', 'inside'), 'now a directory\n');
    await rm(join(src, 'file-to-link'));
    await symlink('owned', join(src, 'file-to-link'));
    await rm(join(src, 'dir-to-file'), { recursive: true });
    await writeFile(join(src, 'dir-to-file'), 'now a file\n');
    await rm(join(src, 'link-to-file'));
    await writeFile(join(src, 'link-to-file'), 'now a file, not big.bin\n');
    await build('v6');
    assert.equal(await readFile(join(snap('v5'), 'link-to-file')).then((b) => b.length), 4 * MB, 'the parent still has its symlink');
  });
});
