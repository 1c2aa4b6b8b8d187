/**
 * `lab down`: removes everything a lab made, whatever state it is in (up, half made by a
 * killed `lab up`, a host killed, its record lost): for each host, every process (SIGKILL,
 * found by pid files, cgroups, command lines and the host's namespace) and then what the host
 * left (host-teardown.ts: containers, jail namespaces, pools, mounts, loop devices, data dir);
 * then the namespaces (which take the veths and bridges with them) and ROOT/NAME. Safe to run
 * twice: the second finds nothing and says so.
 */
import { readdir, rm } from 'node:fs/promises';
import type { LabDeps } from './lab.js';
import { killHost, removeHostState, type Stopped } from './host-teardown.js';
import { exists } from '../sys/fsutil.js';
import { UserError } from '../sys/errors.js';
import { checkLabName, netnsDel, planLab } from './plan.js';
import { labNamespaces, readState } from './state.js';

export interface DownResult {
  name: string;
  /** False when there was nothing of the lab to remove. */
  found: boolean;
  killed: Stopped[];
  removed: string[];
}

/** How many hosts lab name has: from its record, else from its data dirs and namespaces. */
async function hostCount(root: string, name: string, nsNames: readonly string[]): Promise<number> {
  const s = await readState(root, name).catch(() => undefined); // a damaged record: the dirs and namespaces tell
  const dirs = (await readdir(planLab(name, 1, root).dir).catch(() => [] as string[])).map((d) => /^h(\d+)$/.exec(d)?.[1]);
  const ns = nsNames.map((n) => /-h(\d+)$/.exec(n)?.[1]);
  const idx = [...dirs, ...ns].filter((x): x is string => x !== undefined).map(Number);
  return Math.max(s?.hosts ?? 0, idx.length ? Math.max(...idx) + 1 : 0, 1);
}

export async function downLab(root: string, name: string, deps: LabDeps): Promise<DownResult> {
  checkLabName(name, 'NAME');
  const nsNames = await labNamespaces(name);
  const plan = planLab(name, Math.min(await hostCount(root, name, nsNames), 9), root);
  const result: DownResult = { name, found: nsNames.length > 0 || (await exists(plan.dir)), killed: [], removed: [] };
  if (!result.found) return result;
  const errors: string[] = [];
  // every host's processes first, all of them, so none restarts another's (an agent its etcd)
  for (const h of plan.hosts) {
    const netns = nsNames.includes(h.netns) ? { netns: h.netns } : {};
    result.killed.push(...(await killHost(h.dataDir, deps.exec, netns).catch((e: Error) => { errors.push(`${h.name}: ${e.message}`); return []; })));
  }
  for (const h of plan.hosts) {
    try {
      result.removed.push(...(await removeHostState(h.dataDir, deps.exec)).map((w) => `${h.name}: ${w}`));
    } catch (e) {
      errors.push(`${h.name}: ${(e as Error).message}`);
    }
  }
  // hosts before the switch; a missing one counts as deleted
  for (const ns of [...nsNames].sort((a, b) => (a.endsWith('-sw') ? 1 : b.endsWith('-sw') ? -1 : a < b ? -1 : 1))) {
    const r = await deps.exec(netnsDel(ns), { okCodes: [0, 1] });
    if (r.code === 0) result.removed.push(`network namespace ${ns}`);
    else if (!/No such file/.test(r.stderr)) errors.push(`network namespace ${ns}: ${r.stderr.trim()}`);
  }
  if (errors.length === 0) {
    await rm(plan.dir, { recursive: true, force: true });
    result.removed.push(`lab dir ${plan.dir}`);
  }
  if (errors.length) throw new UserError(`lab down ${name} left something behind: ${errors.join('; ')}`, `stop what still uses it, then run again: cellblock lab down ${name}`);
  return result;
}
