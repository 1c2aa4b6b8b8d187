/**
 * A lab's record, ROOT/NAME/lab.json, so that `lab ls`, `exec`, `cut`, `kill` and `down` work
 * from another process and after a crash. It is written before anything of the lab exists
 * (with phase 'creating') and again as agents start; everything else is derived from
 * (name, hosts, root) by plan.ts, and `lab down` also finds what a lost record would have
 * named (namespaces cbl-NAME-*, data dirs ROOT/NAME/h*).
 */
import { mkdir, readdir } from 'node:fs/promises';
import { ExistsError } from '../sys/errors.js';
import { readJson, writeJsonAtomic } from '../sys/fsutil.js';
import { NETNS_DIR, labNsPrefix, planLab, type LabPlan } from './plan.js';

export interface LabState {
  version: 1;
  name: string;
  root: string;
  hosts: number;
  /** creating: `lab up` has not finished (or died); up: every host made (and joined, with cluster). */
  phase: 'creating' | 'up';
  /** Whether the hosts were made one cluster (init + joins). */
  cluster: boolean;
  createdAt: string;
  /** The PID of each host's agent as last started by the lab (null: not started or killed). */
  agents: Record<string, number | null>;
}

export function statePath(root: string, name: string): string {
  return planLab(name, 1, root).stateFile;
}

export async function readState(root: string, name: string): Promise<LabState | undefined> {
  return readJson<LabState>(statePath(root, name));
}

export async function writeState(s: LabState): Promise<void> {
  await writeJsonAtomic(statePath(s.root, s.name), s, 0o644);
}

/** Network namespaces of lab `name` that exist now. */
export async function labNamespaces(name: string): Promise<string[]> {
  const prefix = labNsPrefix(name);
  return (await readdir(NETNS_DIR).catch(() => [] as string[])).filter((n) => n.startsWith(prefix)).sort();
}

/**
 * Claims lab `name` under root: refuses a name in use (its dir or any of its namespaces
 * exists), makes ROOT/NAME (exclusively: two `lab up` of one name cannot both pass) and
 * writes the record.
 */
export async function claimLab(plan: LabPlan, cluster: boolean): Promise<LabState> {
  const fix = `choose another --name, or remove that lab first: cellblock lab down ${plan.name}`;
  const ns = await labNamespaces(plan.name);
  if (ns.length) throw new ExistsError(`lab ${plan.name} is in use: network namespaces ${ns.join(', ')} exist`, fix);
  await mkdir(plan.root, { recursive: true, mode: 0o755 });
  try {
    await mkdir(plan.dir, { mode: 0o755 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new ExistsError(`lab ${plan.name} is in use: ${plan.dir} exists`, fix);
    throw e;
  }
  const s: LabState = {
    version: 1, name: plan.name, root: plan.root, hosts: plan.hosts.length, phase: 'creating', cluster,
    createdAt: new Date().toISOString(), agents: Object.fromEntries(plan.hosts.map((h) => [h.name, null])),
  };
  await writeState(s);
  return s;
}

/** Names of the labs under root (those with a dir), and of labs whose namespaces outlived their dir. */
export async function listLabNames(root: string): Promise<string[]> {
  const names = new Set<string>();
  for (const d of await readdir(root, { withFileTypes: true }).catch(() => [])) if (d.isDirectory()) names.add(d.name);
  for (const n of await readdir(NETNS_DIR).catch(() => [] as string[])) {
    const m = /^cbl-([a-z][a-z0-9]*)-(sw|h\d+)$/.exec(n);
    if (m) names.add(m[1]!);
  }
  return [...names].sort();
}
