/**
 * Test helpers over the in-memory Store (src/cluster/memory-store.ts): a HostLease a test
 * loses at will (its keys go, as in etcd), and until().
 */
import type { HostLease } from '../../src/cluster/lease.js';
import type { Store } from '../../src/cluster/store.js';
import { MemoryStore } from '../../src/cluster/memory-store.js';

/** The in-memory Store; `store` is itself (kept so the tests read as before). */
export class FakeStore extends MemoryStore {
  get store(): Store {
    return this;
  }
}

let leases = 0;

/** A HostLease a test ends with lose() (which also expires its keys in the store). */
export class FakeLease {
  readonly id = `9${String(++leases).padStart(4, '0')}`;
  alive = true;
  private readonly handlers: ((why: string) => void)[] = [];

  constructor(private readonly store: FakeStore) {}

  get lease(): HostLease {
    return this as unknown as HostLease;
  }

  onLost(fn: (why: string) => void): void {
    this.handlers.push(fn);
  }

  lose(): void {
    if (!this.alive) return;
    this.alive = false;
    this.store.expire(this.id);
    for (const fn of this.handlers.splice(0)) fn('test: lease lost');
  }
}

/** Resolves once cond() holds; rejects after ms. */
export async function until(cond: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
