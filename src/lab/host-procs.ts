/**
 * Every process cellblock runs for one data dir (one host), found without asking its agent
 * (which may be dead): the agent's and etcd's pid files, the processes of the jails' cgroups
 * (/cellblock/<instance>/<jail>), every process whose command line names the data dir (the
 * agent, etcd, conmon, haproxy), and, for a lab host, every process in the host's network namespace.
 * Classifying a command line is pure; the rest reads /proc and /sys.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { cgroupDirs } from '../jail/cgroups.js';
import { instanceFor } from '../jail/host-config.js';
import type { Exec } from '../sys/exec.js';
import { netnsPids } from './plan.js';
import { alive, parsePid, signalAll, waitGone } from '../sys/proc.js';

export { alive, parsePid, signalAll, waitGone };

export type ProcKind = 'agent' | 'etcd' | 'conmon' | 'keepalived' | 'haproxy' | 'jail' | 'other';

export interface HostProcess {
  pid: number;
  kind: ProcKind;
  /** The command line, for the report. */
  command: string;
  /** For a jail's process: the jail's name. */
  jail?: string;
}

/** The files that hold PIDs of a data dir's daemons. */
export function pidFiles(dataDir: string): { agent: string; etcd: string } {
  return { agent: join(dataDir, 'run', 'agent.pid'), etcd: join(dataDir, 'run', 'etcd.pid') };
}

/** True when an argument of argv is dataDir or a path under it. */
export function namesDataDir(argv: readonly string[], dataDir: string): boolean {
  const d = dataDir.replace(/\/+$/, '');
  return argv.some((a) => a === d || a.startsWith(`${d}/`) || a.endsWith(`=${d}`) || a.includes(`=${d}/`) || a.includes(`:${d}/`));
}

/** What a process of a host is, from its command line (pure). */
export function processKind(argv: readonly string[]): ProcKind {
  const exe = basename(argv[0] ?? '');
  if (exe === 'etcd') return 'etcd';
  if (exe === 'conmon') return 'conmon';
  if (exe === 'keepalived') return 'keepalived';
  if (exe === 'haproxy') return 'haproxy'; // the LB (lb/haproxy-process.ts): its -f names DATA_DIR/lb/
  if (argv.includes('agent') && argv.some((a) => a.endsWith('bin/cellblock') || a.endsWith('cli/main.js') || basename(a) === 'cellblock')) return 'agent';
  return 'other';
}

/** PIDs listed by `ip netns pids` (pure). */
export function parsePidLines(text: string): number[] {
  return text.split('\n').map((l) => parsePid(l)).filter((p): p is number => p !== undefined);
}

async function argvOf(pid: number): Promise<string[] | undefined> {
  const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined); // gone meanwhile
  return raw === undefined ? undefined : raw.split('\0').filter((a, i, all) => a !== '' || i < all.length - 1);
}

/** This process and its ancestors: never ours to kill (a `host stop` run inside the host). */
async function selfAndAncestors(): Promise<Set<number>> {
  const out = new Set<number>();
  for (let pid = process.pid; pid > 1 && !out.has(pid);) {
    out.add(pid);
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => ''); // gone: the chain ends
    pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  }
  return out;
}

async function readPidFile(path: string): Promise<number | undefined> {
  const pid = parsePid(await readFile(path, 'utf8').catch(() => '')); // no pid file: not running
  return pid !== undefined && (await alive(pid)) ? pid : undefined;
}

/** PIDs in the cgroups of the instance's jails, by jail (any one hierarchy lists them all). */
async function jailCgroupPids(instance: string): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (const dir of Object.values(await cgroupDirs(`/cellblock/${instance}`))) {
    const jails = await readdir(dir, { withFileTypes: true }).catch(() => []); // no cgroup of this instance in that hierarchy
    for (const j of jails) {
      if (!j.isDirectory()) continue;
      const procs = await readFile(join(dir, j.name, 'cgroup.procs'), 'utf8').catch(() => ''); // removed meanwhile
      for (const pid of parsePidLines(procs)) out.set(pid, j.name);
    }
  }
  return out;
}

export interface FindOptions {
  /** Also every process in this network namespace (a lab host). */
  netns?: string;
  exec?: Exec;
}

/** Every live process of the host of dataDir, this process and its ancestors excepted. */
export async function hostProcesses(dataDir: string, opts: FindOptions = {}): Promise<HostProcess[]> {
  const skip = await selfAndAncestors();
  const found = new Map<number, HostProcess>();
  const add = async (pid: number, kind?: ProcKind, jail?: string) => {
    if (skip.has(pid) || found.has(pid) || !(await alive(pid))) return;
    const argv = (await argvOf(pid)) ?? [];
    found.set(pid, { pid, kind: kind ?? processKind(argv), command: argv.join(' '), ...(jail ? { jail } : {}) });
  };
  const files = pidFiles(dataDir);
  const agent = await readPidFile(files.agent);
  if (agent !== undefined) await add(agent, 'agent');
  const etcd = await readPidFile(files.etcd);
  if (etcd !== undefined) await add(etcd, 'etcd');
  for (const [pid, jail] of await jailCgroupPids(instanceFor(dataDir))) await add(pid, 'jail', jail);
  for (const name of await readdir('/proc').catch(() => [] as string[])) {
    const pid = parsePid(name);
    if (pid === undefined || found.has(pid) || skip.has(pid)) continue;
    const argv = await argvOf(pid);
    if (argv && namesDataDir(argv, dataDir)) await add(pid);
  }
  if (opts.netns !== undefined && opts.exec) {
    const r = await opts.exec(netnsPids(opts.netns), { okCodes: [0, 1] });
    for (const pid of parsePidLines(r.stdout)) await add(pid);
  }
  return [...found.values()].sort((a, b) => a.pid - b.pid);
}
