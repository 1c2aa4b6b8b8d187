/**
 * A JailManager as the agent uses it, for integration tests: a network namespace of the
 * test's own (every `ip` command the manager runs is entered into it with nsenter), a pool in
 * a temporary data dir and an image `app:v1` with one file. teardown() removes the jails, the
 * bridge, the pool (unmount, loop device), the namespace and the data dir, each step even when
 * an earlier one failed; it works on a half-made fixture.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { exec, type Exec } from '../../src/sys/exec.js';
import { parseImageRef } from '../../src/sys/names.js';
import { createPool, destroyPool, openPool } from '../../src/storage/pools.js';
import { buildImage } from '../../src/storage/images/build.js';
import { JailManager } from '../../src/jail/manager.js';
import { cleanupDataDir } from './loop-pools.js';

export interface NsManager {
  ns: string;
  /** `ip` inside the namespace; every other tool as it is. */
  inNs: Exec;
  dataDir: string;
  m: JailManager;
  teardown(): Promise<void>;
}

export async function nsManager(o: { prefix: string; subnet: string; pool: { driver: 'btrfs'; size: number } | { driver: 'dir' } }): Promise<NsManager> {
  const ns = `${o.prefix}-${randomBytes(3).toString('hex')}`;
  const inNs: Exec = (argv, opts) => (argv[0] === 'ip' ? exec(['nsenter', `--net=/run/netns/${ns}`, ...argv], opts) : exec(argv, opts));
  let nsMade = false;
  let dataDir: string | undefined;
  let m: JailManager | undefined;
  const teardown = async () => {
    const step = async (what: string, fn: () => Promise<unknown>) => {
      try { await fn(); } catch (e) { console.error(`teardown: ${what} failed:`, e); }
    };
    if (m) {
      for (const j of await m.list().catch(() => [])) await step(`remove jail ${j.name}`, () => m!.remove(j.name, { force: true }));
      await step('close the manager (removes the bridge)', () => m!.close());
    }
    if (dataDir) {
      await step('destroy the pool', () => destroyPool({ exec: inNs, dataDir: dataDir! }));
      await step('unmount and detach what is left, remove the data dir', () => cleanupDataDir(dataDir!));
    }
    if (nsMade) await step(`delete namespace ${ns}`, () => exec(['ip', 'netns', 'del', ns]));
  };
  try {
    await exec(['ip', 'netns', 'add', ns]);
    nsMade = true;
    dataDir = await mkdtemp(join(tmpdir(), `${o.prefix}-`));
    const ctx = { exec: inNs, dataDir };
    await createPool(ctx, o.pool);
    const app = join(dataDir, 'app');
    await mkdir(app);
    await writeFile(join(app, 'hello.txt'), 'hello\n');
    await buildImage({ exec: inNs, dataDir, driver: await openPool(ctx), ref: parseImageRef('app:v1', 'image'), dir: app });
    m = new JailManager({ exec: inNs, dataDir, subnet: o.subnet, intervalMs: 60_000 });
  } catch (e) {
    await teardown();
    throw e;
  }
  return { ns, inNs, dataDir, m, teardown };
}
