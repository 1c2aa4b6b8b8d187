/**
 * A real one-member etcd for a test file: EmbeddedEtcd in a fresh temporary data dir.
 * cleanup() stops it by its PID (SIGTERM, then SIGKILL) and removes the dir, whatever state
 * the test left; call it from after().
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedEtcd } from '../../src/cluster/embedded-etcd.js';

export interface TestEtcd {
  dir: string;
  etcd: EmbeddedEtcd;
  /** Every PID an etcd of this dir had, for cleanup. */
  pids: Set<number>;
  cleanup(): Promise<void>;
}

export async function testEtcd(): Promise<TestEtcd> {
  const dir = await mkdtemp(join(tmpdir(), 'cellblock-etcd-'));
  const etcd = new EmbeddedEtcd({ dataDir: dir, name: 'h1' });
  const pids = new Set<number>();
  return {
    dir,
    etcd,
    pids,
    async cleanup() {
      const pid = await etcd.pid().catch(() => undefined);
      if (pid !== undefined) pids.add(pid);
      await etcd.stop().catch(() => {});
      for (const p of pids) {
        try { process.kill(p, 'SIGKILL'); } catch { /* already gone */ }
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Rejects if p does not settle within ms. */
export function within<T>(ms: number, p: Promise<T>, what = 'operation'): Promise<T> {
  let t: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => { t = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms); });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
