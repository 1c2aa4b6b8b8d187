/**
 * Stopping and removing everything cellblock made for one data dir (one host), with or without
 * its agent: `cellblock host stop`, `cellblock host reset` and `lab down` (for each lab host)
 * run this code.
 *
 * - stopHost: the agent first (SIGTERM, so it does not restart what follows), then HAProxy
 *   (SIGTERM to its master: the load balancer outlives the agent, not the host), then the jails
 *   (runc kill TERM, then KILL to every process of the container), then etcd, then whatever
 *   else still names the data dir (conmon exits with its jail). SIGKILL after a grace period.
 * - killHost: SIGKILL to every process of the host at once, as a power cut (`lab kill`).
 * - removeHostState: what is left on disk and in the kernel: runc containers, the jails'
 *   network namespaces, the bridge, the pools, cgroup parents, every mount and loop device
 *   under the data dir, and the data dir itself. What to remove is decided by removalSteps
 *   and sweepSteps (pure) from what was found.
 */
import { readdir, readFile, realpath, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { removeCgroupParents } from '../jail/cgroups.js';
import { bridgeFor, instanceFor } from '../jail/host-config.js';
import { parseRuncList, runcDelete, runcKill, runcList, runcRoot } from '../jail/runc.js';
import { parseLosetupJson, parseMounts } from '../storage/btrfs/parse.js';
import { destroyPool, listPoolRecords } from '../storage/pools.js';
import { UserError } from '../sys/errors.js';
import type { Exec } from '../sys/exec.js';
import { exists } from '../sys/fsutil.js';
import { hostProcesses, signalAll, waitGone, type HostProcess } from './host-procs.js';
import { ANY_CODE, NETNS_DIR, netnsDel } from './plan.js';

export interface Stopped { kind: HostProcess['kind']; pid: number; jail?: string; how: 'stopped' | 'killed' }

/** "agent (pid 10), jail web (pid 12), etcd (pid 11, killed)" (pure). */
export function describeStopped(list: readonly Stopped[]): string {
  return list.map((s) => `${s.kind === 'jail' ? `jail ${s.jail ?? '?'}` : s.kind} (pid ${s.pid}${s.how === 'killed' ? ', killed' : ''})`).join(', ');
}

async function runcContainers(exec: Exec, dataDir: string): Promise<{ id: string; status: string }[]> {
  const root = runcRoot(dataDir);
  if (!(await exists(root))) return [];
  const r = await exec(runcList({ root }), { okCodes: ANY_CODE });
  return r.code === 0 ? parseRuncList(r.stdout).map((c) => ({ id: c.id, status: c.status })) : [];
}

async function stopGroup(procs: readonly HostProcess[], signal: NodeJS.Signals, graceMs: number): Promise<Stopped[]> {
  if (procs.length === 0) return [];
  signalAll(procs.map((p) => p.pid), signal);
  const left = new Set(await waitGone(procs.map((p) => p.pid), graceMs));
  if (left.size) {
    signalAll([...left], 'SIGKILL');
    await waitGone([...left], 5_000);
  }
  return procs.map((p) => ({ kind: p.kind, pid: p.pid, ...(p.jail ? { jail: p.jail } : {}), how: left.has(p.pid) || signal === 'SIGKILL' ? 'killed' : 'stopped' }));
}

/** Stops every process of the host of dataDir, the agent first; says what it stopped. */
export async function stopHost(dataDir: string, exec: Exec, opts: { graceMs?: number; netns?: string } = {}): Promise<Stopped[]> {
  const grace = opts.graceMs ?? 10_000;
  const find = () => hostProcesses(dataDir, { exec, ...(opts.netns ? { netns: opts.netns } : {}) });
  const out: Stopped[] = [];
  out.push(...(await stopGroup((await find()).filter((p) => p.kind === 'agent'), 'SIGTERM', grace)));
  // keepalived (lb.vip) next: on SIGTERM it sends priority 0, so another host takes the VIP now,
  // before this host's jails and HAProxy go (its VRRP child exits with it)
  out.push(...(await stopGroup((await find()).filter((p) => p.kind === 'keepalived'), 'SIGTERM', grace)));
  // HAProxy (master and workers: TERM to each; its soft stop would wait for open connections)
  out.push(...(await stopGroup((await find()).filter((p) => p.kind === 'haproxy'), 'SIGTERM', 3_000)));
  // the jails: TERM to each container's init, then KILL to all of its processes
  const root = runcRoot(dataDir);
  const running = (await runcContainers(exec, dataDir)).filter((c) => c.status === 'running' || c.status === 'paused' || c.status === 'created');
  const jails = (await find()).filter((p) => p.kind === 'jail');
  for (const c of running) await exec(runcKill({ root }, c.id, 'TERM'), { okCodes: ANY_CODE });
  const left = new Set(await waitGone(jails.map((p) => p.pid), Math.min(grace, 5_000)));
  if (left.size) for (const c of running) await exec(runcKill({ root }, c.id, 'KILL', { all: true }), { okCodes: ANY_CODE });
  signalAll([...left], 'SIGKILL'); // processes runc no longer knows of
  await waitGone([...left], 5_000);
  out.push(...jails.map((p) => ({ kind: p.kind, pid: p.pid, ...(p.jail ? { jail: p.jail } : {}), how: left.has(p.pid) ? 'killed' as const : 'stopped' as const })));
  out.push(...(await stopGroup((await find()).filter((p) => p.kind === 'etcd'), 'SIGTERM', grace)));
  out.push(...(await stopGroup(await find(), 'SIGTERM', 3_000)));
  return out;
}

/** SIGKILL to every process of the host at once (a power cut); waits until they are gone. */
export async function killHost(dataDir: string, exec: Exec, opts: { netns?: string } = {}): Promise<Stopped[]> {
  const out: Stopped[] = [];
  for (let round = 0; round < 20; round++) {
    const procs = await hostProcesses(dataDir, { exec, ...(opts.netns ? { netns: opts.netns } : {}) });
    if (procs.length === 0) break;
    signalAll(procs.map((p) => p.pid), 'SIGKILL');
    await waitGone(procs.map((p) => p.pid), 2_000);
    for (const p of procs) if (!out.some((o) => o.pid === p.pid)) out.push({ kind: p.kind, pid: p.pid, ...(p.jail ? { jail: p.jail } : {}), how: 'killed' });
  }
  return out;
}

// ---- what is left: decided by pure functions from what was found ----

export interface HostFacts {
  dataDir: string;
  instance: string;
  /** runc container ids under DATA_DIR/runc. */
  containers: string[];
  /** Every name under /run/netns (the jails' are `cb-JAIL@INSTANCE`). */
  netns: string[];
  /** The host's bridge, when it is to be deleted here (not inside a namespace about to go). */
  bridge?: string;
  pools: string[];
}

export type Step =
  | { kind: 'exec'; what: string; argv: string[]; okCodes?: readonly number[] }
  | { kind: 'pool'; what: string; name: string }
  | { kind: 'cgroups'; what: string; instance: string }
  | { kind: 'rm'; what: string; path: string };

/** What to remove before the sweep, in order: containers, jail namespaces, bridge, pools, cgroups. */
export function removalSteps(f: HostFacts): Step[] {
  const root = runcRoot(f.dataDir);
  return [
    ...f.containers.map((id): Step => ({ kind: 'exec', what: `jail container ${id}`, argv: runcDelete({ root }, id, { force: true }) })),
    ...f.netns.filter((n) => n.endsWith(`@${f.instance}`)).sort().map((n): Step => ({ kind: 'exec', what: `network namespace ${n}`, argv: netnsDel(n) })),
    ...(f.bridge ? [{ kind: 'exec', what: `bridge ${f.bridge}`, argv: ['ip', 'link', 'del', 'dev', f.bridge], okCodes: [0, 1] } as Step] : []),
    ...f.pools.map((name): Step => ({ kind: 'pool', what: `pool ${name}`, name })),
    { kind: 'cgroups', what: `cgroups /cellblock/${f.instance}`, instance: f.instance },
  ];
}

/** Unmounts (deepest first), loop devices to detach, then the data dir (or only its contents). */
export function sweepSteps(dataDir: string, mounts: readonly string[], loops: readonly { device: string; backFile: string }[], keepDir = false): Step[] {
  return [
    ...[...mounts].sort((a, b) => b.length - a.length || (a < b ? -1 : 1)).map((m): Step => ({ kind: 'exec', what: `mount ${m}`, argv: ['umount', m] })),
    ...loops.map((l): Step => ({ kind: 'exec', what: `loop device ${l.device} (${l.backFile})`, argv: ['losetup', '-d', l.device] })),
    { kind: 'rm', what: keepDir ? `the contents of ${dataDir}` : `data dir ${dataDir}`, path: dataDir },
  ];
}

async function real(dir: string): Promise<string> {
  return realpath(dir).catch(() => dir);
}

export async function mountsUnder(dir: string): Promise<string[]> {
  const d = await real(dir);
  return parseMounts(await readFile('/proc/self/mounts', 'utf8')).map((m) => m.target).filter((t) => t === d || t.startsWith(d + '/'));
}

export async function loopDevicesUnder(exec: Exec, dir: string): Promise<{ device: string; backFile: string }[]> {
  const d = await real(dir);
  const { stdout } = await exec(['losetup', '--list', '--json']);
  return parseLosetupJson(stdout).filter((l) => l.backFile.startsWith(d + '/'));
}

export interface RemoveOptions {
  /** Delete the host's bridge in this process's network namespace (host reset; a lab's goes with its namespace). */
  bridge?: boolean;
  /** Keep the data dir itself, remove what is in it. */
  keepDir?: boolean;
}

/**
 * Removes what the host of dataDir left (its processes must be stopped): returns what it
 * removed; throws a UserError listing what it could not remove.
 */
export async function removeHostState(dataDir: string, exec: Exec, opts: RemoveOptions = {}): Promise<string[]> {
  const removed: string[] = [];
  const failed: string[] = [];
  if (!(await exists(dataDir))) return removed;
  const instance = instanceFor(dataDir);
  const facts: HostFacts = {
    dataDir, instance,
    containers: (await runcContainers(exec, dataDir)).map((c) => c.id),
    netns: await readdir(NETNS_DIR).catch(() => [] as string[]),
    ...(opts.bridge ? { bridge: bridgeFor(instance) } : {}),
    // a damaged pool record: the sweep below still unmounts and detaches everything under the dir
    pools: (await listPoolRecords(dataDir).catch(() => [])).map((p) => p.name),
  };
  const run = async (s: Step) => {
    try {
      if (s.kind === 'exec') {
        const r = await exec(s.argv, { okCodes: s.okCodes ?? [0] });
        if (r.code === 0) removed.push(s.what);
      } else if (s.kind === 'pool') {
        await destroyPool({ exec, dataDir }, s.name);
        removed.push(s.what);
      } else if (s.kind === 'cgroups') {
        await removeCgroupParents(s.instance);
      } else {
        if (opts.keepDir) for (const n of await readdir(s.path)) await rm(join(s.path, n), { recursive: true, force: true });
        else await rm(s.path, { recursive: true, force: true });
        removed.push(s.what);
      }
    } catch (e) {
      failed.push(`${s.what}: ${(e as Error).message}`);
    }
  };
  for (const s of removalSteps(facts)) await run(s);
  const mounts = await mountsUnder(dataDir);
  const loops = await loopDevicesUnder(exec, dataDir);
  for (const s of sweepSteps(dataDir, mounts, loops, opts.keepDir)) {
    if (s.kind === 'rm' && (await mountsUnder(dataDir)).length) { failed.push(`${s.what}: still mounted`); continue; }
    await run(s);
  }
  const left = [...(await mountsUnder(dataDir)).map((m) => `mount ${m}`), ...(await loopDevicesUnder(exec, dataDir)).map((l) => `loop device ${l.device}`)];
  if (left.length || (failed.length && !opts.keepDir && (await exists(dataDir)))) {
    throw new UserError(`could not remove everything of ${dataDir}: ${[...failed, ...left].join('; ')}`, 'stop what still uses it (see: fuser -vm DIR), then run the same command again');
  }
  return removed;
}
