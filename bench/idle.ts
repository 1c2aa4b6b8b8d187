/**
 * Idle benchmark (issue 8, "event-driven where it polls"): what the agents of an idle 3-host
 * cluster cost in CPU. A lab of three hosts (src/lab), site:v1 built on h0, a stack of one
 * service with 3 replicas and an HTTP health check (default timing), 3/3 healthy; then
 * nothing happens for --seconds=N (default 60; --quick 20) while the CPU time of every agent
 * (with the commands it ran: runc, ip) and every etcd member (utime + stime + cutime + cstime
 * of /proc/PID/stat) is read at both ends.
 *
 * --baseline-bin=PATH runs the same measurement first with another checkout's bin/cellblock
 * (e.g. the commit before the agent became event-driven) and prints both side by side, with
 * the ratio. Agents older than cluster-assigned subnets get the lab's fixed --subnet each.
 * Root only; everything is removed with lab down, also on failure.
 */
import { readFile } from 'node:fs/promises';
import { ApiClient } from '../src/api/client.js';
import { exec } from '../src/sys/exec.js';
import { upLab } from '../src/lab/lab-up.js';
import { downLab } from '../src/lab/lab-down.js';
import type { Lab } from '../src/lab/lab.js';
import { labName, labReport } from '../test/helpers/lab.js';
import { until } from '../test/helpers/until.js';
import { round, table } from './lib.js';

const SITE = new URL('../../examples/site', import.meta.url).pathname;
const STACK = `services:
  site:
    image: site:v1
    replicas: 3
    command: ["/usr/bin/python3", "-m", "http.server", "8080", "--directory", "/app"]
    health:
      http: { port: 8080, path: /index.html }
`;
const TICKS_PER_S = 100; // USER_HZ on Linux

export interface IdleOptions { seconds?: number; baselineBin?: string }

export interface IdleRun {
  bin: string;
  seconds: number;
  /** % of one core, per host. */
  agents: { host: string; pid: number; cpuPercent: number }[];
  etcd: { host: string; pid: number; cpuPercent: number }[];
  agentTotal: number;
  etcdTotal: number;
}

export interface IdleResult { runs: IdleRun[]; ratio: number | null }

/**
 * utime + stime of a process and of its children it waited for (cutime + cstime: the runc,
 * ip and sysctl processes an agent runs are its cost too), in clock ticks.
 */
export async function cpuTicks(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // fields after the command name (which may hold spaces) start after the last ')': field 14 is index 11
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
}

async function etcdPid(dataDir: string): Promise<number> {
  return Number((await readFile(`${dataDir}/run/etcd.pid`, 'utf8')).trim());
}

async function settle(lab: Lab): Promise<void> {
  await lab.ok(0, ['image', 'build', 'site:v1', SITE]);
  await lab.ok(0, ['image', 'push', 'site:v1']);
  const file = `${lab.plan.dir}/idle.yml`;
  const { writeFile } = await import('node:fs/promises');
  await writeFile(file, STACK);
  await lab.ok(0, ['apply', '-f', file, '--timeout', '120']);
  const api = ApiClient.forDataDir(lab.hosts[0]!.dataDir);
  await until('3 healthy replicas, one per host', async () => {
    const s = (await api.call('status', { query: { stack: 'idle' } }))[0];
    return s && s.ready === 3 && new Set(s.instances.map((x) => x.host)).size === 3 ? s : undefined;
  }, 120_000, () => labReport(lab), 500);
}

async function measure(bin: string | undefined, seconds: number, fixedSubnets: boolean): Promise<IdleRun> {
  const name = labName();
  const say = (s: string) => process.stderr.write(`  [idle] ${s}\n`);
  const lab = await upLab({ name, hosts: 3, poolSize: '1G' }, { exec, progress: say, ...(bin ? { bin } : {}), fixedSubnets });
  try {
    await settle(lab);
    say(`3/3 healthy with ${lab.bin}; letting it settle 10 s, then measuring ${seconds} s of idling`);
    await new Promise((r) => setTimeout(r, 10_000));
    const agents = lab.hosts.map((h) => {
      const pid = lab.state.agents[h.name];
      if (!pid) throw new Error(`${h.name}: no agent PID recorded`);
      return { host: h.name, pid };
    });
    const etcds = await Promise.all(lab.hosts.map(async (h) => ({ host: h.name, pid: await etcdPid(h.dataDir) })));
    const before = await Promise.all([...agents, ...etcds].map((p) => cpuTicks(p.pid)));
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const after = await Promise.all([...agents, ...etcds].map((p) => cpuTicks(p.pid)));
    const wall = (performance.now() - t0) / 1000;
    const pct = (i: number) => round(((after[i]! - before[i]!) / TICKS_PER_S / wall) * 100, 2);
    const a = agents.map((x, i) => ({ ...x, cpuPercent: pct(i) }));
    const e = etcds.map((x, i) => ({ ...x, cpuPercent: pct(agents.length + i) }));
    return {
      bin: lab.bin, seconds: round(wall, 1), agents: a, etcd: e,
      agentTotal: round(a.reduce((s, x) => s + x.cpuPercent, 0), 2), etcdTotal: round(e.reduce((s, x) => s + x.cpuPercent, 0), 2),
    };
  } finally {
    await downLab(lab.plan.root, lab.plan.name, { exec });
  }
}

export async function benchIdle(o: IdleOptions = {}): Promise<IdleResult> {
  const seconds = o.seconds ?? 60;
  const runs: IdleRun[] = [];
  if (o.baselineBin) runs.push(await measure(o.baselineBin, seconds, true));
  runs.push(await measure(undefined, seconds, false));
  const ratio = runs.length === 2 && runs[0]!.agentTotal > 0 ? round(runs[1]!.agentTotal / runs[0]!.agentTotal, 2) : null;
  return { runs, ratio };
}

export function idleOptions(args: readonly string[], quick: boolean): IdleOptions {
  const sec = args.find((a) => a.startsWith('--seconds='));
  const base = args.find((a) => a.startsWith('--baseline-bin='));
  const seconds = sec ? Number(sec.slice('--seconds='.length)) : quick ? 20 : 60;
  if (!Number.isInteger(seconds) || seconds < 5 || seconds > 600) throw new Error(`--seconds=${sec?.slice(10)}: give a whole number of seconds from 5 to 600`);
  return { seconds, ...(base ? { baselineBin: base.slice('--baseline-bin='.length) } : {}) };
}

export function printIdleBench(r: IdleResult): void {
  const rows = r.runs.flatMap((run) => run.agents.map((a, i) => [run.bin, a.host, `${a.cpuPercent} %`, `${run.etcd[i]!.cpuPercent} %`]));
  console.log(table(['bin', 'host', 'agent CPU (% of a core)', 'etcd CPU'], rows));
  for (const run of r.runs) console.log(`${run.bin}: agents ${run.agentTotal} % of a core in all (etcd ${run.etcdTotal} %), over ${run.seconds} s idle`);
  if (r.ratio !== null) console.log(`agents now use ${r.ratio}x the CPU of the baseline (goal: < 1)`);
}
