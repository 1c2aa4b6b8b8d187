/**
 * The on-disk lease table of one host's jail subnet: DATA_DIR/ipam/leases.json, written
 * atomically (write to a temporary file, rename).
 *
 * Lock-free: acquire() and release() read, decide with the pure functions of ipam.ts and
 * write back, so two concurrent callers could both pick the same free address. Callers must
 * serialize (the agent runs one jail operation at a time per host; the CLI goes through the
 * agent). Crash safety comes from the atomic rename: the file is always the old or the new table.
 */
import { join } from 'node:path';
import { readJson, writeJsonAtomic } from '../sys/fsutil.js';
import { UserError } from '../sys/errors.js';
import { checkName } from '../sys/names.js';
import { assignIp, withoutKey, type Leases, type Subnet } from './ipam.js';

export interface LeaseFile {
  subnet: string;
  /** Jail name -> IPv4 address. */
  leases: Record<string, string>;
}

export function leaseFilePath(dataDir: string): string {
  return join(dataDir, 'ipam', 'leases.json');
}

export class LeaseStore {
  constructor(readonly path: string, readonly subnet: Subnet) {}

  static forDataDir(dataDir: string, subnet: Subnet): LeaseStore {
    return new LeaseStore(leaseFilePath(dataDir), subnet);
  }

  /** The current leases (empty when there is no file yet). */
  async read(): Promise<Leases> {
    const f = await readJson<LeaseFile>(this.path);
    if (!f) return {};
    const count = Object.keys(f.leases ?? {}).length;
    if (f.subnet !== this.subnet.cidr && count > 0) {
      throw new UserError(
        `the jail subnet is configured as ${this.subnet.cidr}, but ${count} jail(s) hold addresses in ${f.subnet} (${this.path})`,
        `set the jail subnet back to ${f.subnet}, or remove those jails first`,
      );
    }
    return f.leases ?? {};
  }

  /** Gives `jail` an address (its current one, the requested one, or the lowest free) and records it. */
  async acquire(jail: string, requested?: string): Promise<string> {
    checkName('jail', jail);
    const leases = await this.read();
    const { ip, leases: next } = assignIp(this.subnet, leases, jail, requested);
    if (leases[jail] !== ip) await this.write(next);
    return ip;
  }

  /** Forgets the lease of `jail`; nothing happens when it has none. */
  async release(jail: string): Promise<void> {
    const leases = await this.read();
    if (!(jail in leases)) return;
    await this.write(withoutKey(leases, jail));
  }

  private async write(leases: Record<string, string>): Promise<void> {
    const sorted = Object.fromEntries(Object.entries(leases).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const f: LeaseFile = { subnet: this.subnet.cidr, leases: sorted };
    await writeJsonAtomic(this.path, f, 0o644);
  }
}
