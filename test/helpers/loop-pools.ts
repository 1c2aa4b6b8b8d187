/**
 * Teardown and state snapshots for tests that make real btrfs loop pools under a temporary
 * data dir. cleanupDataDir works whatever state the test left: it unmounts everything
 * mounted under the dir (deepest first), detaches every loop device whose file is under
 * it, and removes the dir.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { exec } from '../../src/sys/exec.js';
import { loopDevicesUnder as labLoopDevicesUnder, mountsUnder as labMountsUnder } from '../../src/lab/host-teardown.js';

/** Mounts at or below dir (src/lab/host-teardown.ts: what lab down and host reset remove). */
export const mountsUnder = (dir: string): Promise<string[]> => labMountsUnder(dir);

/** Loop devices whose backing file is below dir. */
export const loopDevicesUnder = (dir: string): Promise<{ device: string; backFile: string }[]> => labLoopDevicesUnder(exec, dir);

export async function cleanupDataDir(dir: string): Promise<void> {
  const errors: string[] = [];
  for (let round = 0; round < 4; round++) {
    const targets = (await mountsUnder(dir)).sort((a, b) => b.length - a.length);
    if (targets.length === 0) break;
    for (const t of targets) {
      try { await exec(['umount', t]); } catch (e) {
        if (round >= 2) await exec(['umount', '-l', t]).catch((e2: Error) => errors.push(e2.message));
        else errors.push((e as Error).message);
      }
    }
  }
  for (const l of await loopDevicesUnder(dir)) {
    await exec(['losetup', '-d', l.device]).catch((e: Error) => errors.push(e.message));
  }
  const left = { mounts: await mountsUnder(dir), loops: await loopDevicesUnder(dir) };
  if (left.mounts.length === 0) await rm(dir, { recursive: true, force: true });
  if (left.mounts.length || left.loops.length) throw new Error(`test cleanup left ${JSON.stringify(left)}: ${errors.join('; ')}`);
}

/** Every path under dir (names only), for "changed nothing" checks. Does not enter `skip`. */
export async function treeOf(dir: string, skip: (path: string) => boolean = () => false): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    let names: string[];
    try { names = (await readdir(d)).sort(); } catch { return; }
    for (const n of names) {
      const p = join(d, n);
      out.push(p);
      if (!skip(p)) await walk(p);
    }
  };
  await walk(dir);
  return out;
}

/** `btrfs subvolume list` of a mount as "ID path" lines (generations change without us). */
export async function subvolumesOf(mount: string): Promise<string[]> {
  const { stdout } = await exec(['btrfs', 'subvolume', 'list', mount]);
  return stdout.split('\n').filter(Boolean).map((l) => l.replace(/^ID (\d+) gen \d+ top level \d+ path /, '$1 '));
}

/** What a test must find unchanged after a refused command. */
export async function stateOf(dataDir: string): Promise<{ tree: string[]; mounts: string[]; loops: string[] }> {
  return {
    tree: await treeOf(dataDir),
    mounts: await mountsUnder(dataDir),
    loops: (await loopDevicesUnder(dataDir)).map((l) => `${l.device} ${l.backFile}`),
  };
}
