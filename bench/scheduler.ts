/**
 * Scheduler benchmark (issue "cluster scheduler"): 1,000 hosts and 10,000 replicas.
 *  1. from scratch: every replica placed on an empty cluster. Goal: under 1 s.
 *  2. one host lost: the most loaded host goes down and its replicas are re-placed.
 *     Goal: under 50 ms.
 * Also measured: a steady pass (nothing changed: what the leader pays on every pass) and the
 * lost host's return. Median of 5 runs after one warm-up. Pure CPU work: no root, no I/O.
 * Run alone: node dist/bench/scheduler.js [--json]
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { schedule, summarize, type Host, type Placement, type SchedulerResult, type ServiceDemand } from '../src/cluster/scheduler.js';

const G = 1024 ** 3;
const M = 1024 ** 2;
const RUNS = 5;
const GOAL_SCRATCH_MS = 1000;
const GOAL_LOSS_MS = 50;

/**
 * 1,000 hosts (every fourth twice as big, half labelled disk=ssd) and 10,000 replicas:
 * 950 services of 10 and 5 of 100, in four sizes; every tenth service wants disk=ssd.
 */
export function benchCluster(): { hosts: Host[]; services: ServiceDemand[] } {
  const hosts: Host[] = Array.from({ length: 1000 }, (_, i) => ({
    name: `host-${String(i).padStart(4, '0')}`,
    state: 'ready',
    capacity: i % 4 === 0 ? { memoryBytes: 128 * G, cpus: 64, jails: 200 } : { memoryBytes: 64 * G, cpus: 32, jails: 100 },
    labels: { disk: i % 2 === 0 ? 'ssd' : 'hdd', zone: `z${i % 3}` },
  }));
  const sizes = [{ memoryBytes: 256 * M, cpus: 0.25 }, { memoryBytes: 512 * M, cpus: 0.5 }, { memoryBytes: G, cpus: 1 }, { memoryBytes: 2 * G, cpus: 1.5 }];
  const services: ServiceDemand[] = Array.from({ length: 955 }, (_, i) => {
    const s: ServiceDemand = { name: `svc-${String(i).padStart(4, '0')}`, replicas: i < 950 ? 10 : 100, resources: sizes[i % sizes.length]! };
    if (i % 10 === 0) s.hostLabels = { disk: 'ssd' };
    return s;
  });
  return { hosts, services };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time(f: () => SchedulerResult): { ms: number; result: SchedulerResult } {
  f(); // warm-up
  const ms: number[] = [];
  let result!: SchedulerResult;
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    result = f();
    ms.push(performance.now() - t);
  }
  return { ms: Math.round(median(ms) * 10) / 10, result };
}

function mostLoaded(placements: Placement[]): string {
  const n = new Map<string, number>();
  for (const p of placements) n.set(p.host, (n.get(p.host) ?? 0) + 1);
  return [...n].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]![0];
}

export async function benchScheduler(): Promise<Record<string, unknown>> {
  const { hosts, services } = benchCluster();
  const replicas = services.reduce((a, s) => a + s.replicas, 0);

  const scratch = time(() => schedule({ hosts, services, current: [] }));
  const steadyState = scratch.result.placements;
  const steady = time(() => schedule({ hosts, services, current: steadyState }));

  const lost = mostLoaded(steadyState);
  const withLoss = hosts.map((h) => (h.name === lost ? { ...h, state: 'down' as const } : h));
  const loss = time(() => schedule({ hosts: withLoss, services, current: steadyState }));
  const back = time(() => schedule({ hosts, services, current: loss.result.placements }));

  return {
    hosts: hosts.length,
    services: services.length,
    replicas,
    fromScratch: { ms: scratch.ms, plan: summarize(scratch.result), goalMs: GOAL_SCRATCH_MS, met: scratch.ms < GOAL_SCRATCH_MS },
    hostLoss: { ms: loss.ms, host: lost, plan: summarize(loss.result), goalMs: GOAL_LOSS_MS, met: loss.ms < GOAL_LOSS_MS },
    steadyPass: { ms: steady.ms, plan: summarize(steady.result) },
    hostBack: { ms: back.ms, plan: summarize(back.result) },
    runs: RUNS,
  };
}

interface Timed { ms: number; plan: string; goalMs?: number; met?: boolean; host?: string }

export function printSchedulerBench(r: Record<string, unknown>): void {
  console.log(`scheduler: ${r['hosts']} hosts, ${r['replicas']} replicas in ${r['services']} services (median of ${r['runs']})`);
  const line = (label: string, t: Timed): void => {
    const goal = t.goalMs === undefined ? '' : `goal < ${t.goalMs} ms`;
    const met = t.met === undefined ? '' : t.met ? 'MET' : 'NOT MET';
    console.log(`  ${label.padEnd(26)} ${t.ms.toFixed(1).padStart(8)} ms   ${goal.padEnd(16)} ${met.padEnd(8)} ${t.plan}`);
  };
  line('from scratch', r['fromScratch'] as Timed);
  line(`one host lost (${(r['hostLoss'] as Timed).host})`, r['hostLoss'] as Timed);
  line('steady pass (no change)', r['steadyPass'] as Timed);
  line('lost host back', r['hostBack'] as Timed);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await benchScheduler();
  if (process.argv.includes('--json')) console.log(JSON.stringify(r, null, 2));
  else printSchedulerBench(r);
}
