/**
 * Failover benchmark (issue "host failure"): how long from a host's death to its replica
 * running and healthy elsewhere, with default settings. Goal: under 10 s in total.
 *
 * Setup (failover-setup.ts): a lab of three hosts (src/lab, as `cellblock lab up --hosts 3`:
 * each a network namespace on one switch with its own data dir, btrfs loop pool, jail subnet
 * and real agent (etcd, runc); `cluster init` on h0, h1 and h2 join); site:v1 built from
 * examples/site on h0; a stack of one service with 3 replicas and an HTTP health check with
 * DEFAULT timing (nothing overridden); then 3/3 healthy, one per host.
 *
 * Each round (default 3: --rounds=N or CB_FAILOVER_ROUNDS=N; --quick: 1):
 *  - the cut host, by --cut=KIND (every host holds a replica):
 *      non-leader        (default) a host that is not the cellblock leader (`cluster status`
 *                        -> leader), taking turns between the candidates;
 *      etcd-leader       the etcd raft leader (etcdctl endpoint status inside the namespace);
 *      cellblock-leader  the agent holding the `leader` key;
 *    a leader cut may also be the other kind of leader: the table says what the cut host was;
 *  - t0: its switch port leaves the bridge (`lab cut`: a partition; the host itself runs on);
 *  - every 100 ms, from the cellblock leader's host (the first other host when that one is
 *    cut): the hosts (`host ls`) and the stack's status (`status --stack fo`). Phases, in
 *    seconds since t0, each the first poll that saw it:
 *      detection  the cut host is 'down' (its etcd lease expired)
 *      placement  the replica is placed on another host
 *      pull       phase 'pulling' on the new host, until it left it (or: image already present)
 *      creating   phase 'creating' on the new host (may be too short for a poll to see)
 *      running    phase 'running'
 *      healthy    its first passing health check (the total)
 *    The agents' own logs (ms timestamps) give the moment the leader wrote the new placement
 *    and the moment the new host started acting, as a cross-check; the other hosts' logs give
 *    when a new cellblock leader was elected ("elected leader") and any host lease they lost
 *    ("host lease lost"), and their etcd logs when a new raft leader was elected. Another
 *    host seen down, or another replica seen not healthy, is reported too (collateral).
 *  - the link is restored and the cluster converges to one healthy replica per host again
 *    (timed too) before the next round.
 *
 * The polls go to the leader agent's API over its unix socket (GET /v1/hosts, GET
 * /v1/status?stack=fo: exactly what `cellblock --json host ls` / `status --stack` send), from
 * this process: a CLI process per poll costs about half a second of CPU on a small machine,
 * which would both coarsen the timeline and slow the failover it measures. --poll=cli polls
 * with the real CLI instead (two `cellblock --json` processes per poll).
 *
 * Everything is torn down (`lab down`) in `finally` and on SIGINT/SIGTERM/SIGHUP: agents,
 * etcd, runc containers, namespaces, mounts, loop devices, data dirs; leftovers are checked
 * and reported. Files: failover-types.ts (results), failover-setup.ts (the lab and the stack),
 * failover-round.ts (one round), failover-logs.ts (the logs' cross-check), failover-print.ts.
 * CB_FAILOVER_LOGS=DIR (an existing dir) keeps every host's agent and etcd log there as
 * hN.agent.log and hN.etcd.log.
 * Root only. Run alone: node dist/bench/failover.js [--rounds=N] [--cut=KIND] [--poll=cli] [--json]
 */
import { constants, loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { DEFAULT_TTL_SECONDS } from '../src/agent/cluster-runtime.js';
import { HEALTH_DEFAULTS } from '../src/spec/types.js';
import { STARTUP_INTERVAL_MS } from '../src/cluster/health.js';
import { median, round } from './lib.js';
import { otherAgents } from './failover-logs.js';
import { benchWhere, progress, setUp, tearDown, tearDownPartial, type BenchCluster } from './failover-setup.js';
import { runRound } from './failover-round.js';
import { printFailoverBench } from './failover-print.js';
import { CUT_KINDS, GOAL_S, POLL_MS, type CutKind, type FailoverOptions, type FailoverResult, type RoundResult } from './failover-types.js';

export { CUT_KINDS, printFailoverBench };
export type { CutKind, FailoverOptions, FailoverResult, RoundResult };

/**
 * A signal tears the lab down before exiting (a second signal exits at once). Returns the
 * function that gives the signals back.
 */
function onSignalTearDown(teardown: () => Promise<string[]>): () => void {
  const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const onSignal = (sig: NodeJS.Signals) => {
    const code = 128 + (constants.signals[sig] ?? 0);
    process.stderr.write(`\n${sig}: tearing the failover cluster down (again to exit at once)\n`);
    for (const s of SIGNALS) { process.removeAllListeners(s); process.once(s, () => process.exit(code)); }
    void teardown().then((left) => { if (left.length) process.stderr.write(`left behind: ${left.join('; ')}\n`); }).finally(() => process.exit(code));
  };
  for (const s of SIGNALS) { process.removeAllListeners(s); process.once(s, onSignal); }
  return () => { for (const s of SIGNALS) process.removeListener(s, onSignal); };
}

function summarise(results: readonly RoundResult[]): Record<string, number | null> {
  const done = results.filter((r) => r.healthy !== null);
  const med = (f: (r: RoundResult) => number | null) => {
    const xs = done.map(f).filter((x): x is number => x !== null);
    return xs.length ? round(median(xs)) : null;
  };
  return {
    raftElected: med((r) => r.logs.raftElected?.at ?? null), leaderElected: med((r) => r.logs.leaderElected?.at ?? null),
    detection: med((r) => r.detection), placement: med((r) => r.placement), running: med((r) => r.running), healthy: med((r) => r.healthy),
    minHealthy: done.length ? Math.min(...done.map((r) => r.healthy!)) : null, maxHealthy: done.length ? Math.max(...done.map((r) => r.healthy!)) : null,
  };
}

export async function benchFailover(opts: FailoverOptions = {}): Promise<FailoverResult> {
  const rounds = opts.rounds ?? 3;
  const pollMode = opts.poll ?? 'api';
  const cutKind = opts.cut ?? 'non-leader';
  if (process.getuid?.() !== 0) throw new Error('the failover benchmark needs root (network namespaces, loop pools, etcd, runc)');
  const where = await benchWhere();
  let cluster: BenchCluster | undefined;
  let tornDown: Promise<string[]> | undefined;
  const linksCut = new Set<number>();
  /** Removes everything; returns what is left (empty when clean). Runs once. */
  const teardown = () => (tornDown ??= (async () => {
    if (!cluster) return tearDownPartial(where);
    for (const i of linksCut) await cluster.lab.heal(i).catch(() => {}); // best effort: lab down removes the switch anyway
    return tearDown(cluster);
  })());
  const releaseSignals = onSignalTearDown(teardown);
  const load = { before: loadavg().map((x) => round(x)), after: [] as number[], otherAgents: 0 };
  const results: RoundResult[] = [];
  let setup = { seconds: 0, initialPulls: [] as { host: string; seconds: number; bytes: number }[] };
  let cliCallSeconds: number | null = null;
  let leftovers: string[] = [];
  try {
    const s = await setUp(where, (c) => { cluster = c; });
    setup = { seconds: s.seconds, initialPulls: s.initialPulls };
    cliCallSeconds = s.cliCallSeconds;
    load.otherAgents = await otherAgents(s.c.lab.hosts.map((h) => h.dataDir));
    const memberNames = new Map<string, string>();
    for (let k = 0; k < rounds; k++) await runRound(s.c, { k, rounds, cut: cutKind, poll: pollMode, memberNames }, results, linksCut);
  } finally {
    load.after = loadavg().map((x) => round(x));
    progress('tearing down');
    leftovers = await teardown();
    releaseSignals();
    // also when a step failed (its error is what propagates)
    progress(leftovers.length ? `LEFT BEHIND: ${leftovers.join('; ')}` : 'torn down: no namespace, agent, etcd, container, mount, loop device or data dir left');
  }
  if (leftovers.length) throw new Error(`failover benchmark left behind: ${leftovers.join('; ')}`);
  return {
    cut: cutKind, rounds: results, leaseTtlSeconds: DEFAULT_TTL_SECONDS,
    health: { intervalMs: HEALTH_DEFAULTS.intervalMs, timeoutMs: HEALTH_DEFAULTS.timeoutMs, threshold: HEALTH_DEFAULTS.threshold, startupIntervalMs: STARTUP_INTERVAL_MS },
    poll: pollMode, pollIntervalMs: POLL_MS, cliCallSeconds, setup, summary: summarise(results), goalSeconds: GOAL_S,
    met: results.length > 0 && results.every((r) => r.met), load, leftovers,
  };
}

/** --rounds=N (or CB_FAILOVER_ROUNDS), --poll=cli|api, --cut=non-leader|etcd-leader|cellblock-leader. */
export function failoverOptions(args: readonly string[], quick = false): FailoverOptions {
  const arg = (k: string) => args.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3);
  const raw = arg('rounds') ?? process.env['CB_FAILOVER_ROUNDS'];
  const rounds = raw === undefined ? (quick ? 1 : 3) : Number(raw);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds: expected a whole number >= 1, got ${JSON.stringify(raw)}`);
  const poll = arg('poll') ?? 'api';
  if (poll !== 'api' && poll !== 'cli') throw new Error(`--poll: expected api or cli, got ${JSON.stringify(poll)}`);
  const cut = arg('cut') ?? 'non-leader';
  if (!(CUT_KINDS as readonly string[]).includes(cut)) throw new Error(`--cut: expected ${CUT_KINDS.join(', ')}, got ${JSON.stringify(cut)}`);
  return { rounds, poll, cut: cut as CutKind };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const r = await benchFailover(failoverOptions(args, args.includes('--quick')));
  if (args.includes('--json')) console.log(JSON.stringify(r, null, 2));
  else printFailoverBench(r);
}
