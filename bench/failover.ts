/**
 * Failover benchmark (issue "host failure"): how long from a host's death to its replica
 * running and healthy elsewhere, with default settings. Goal: under 10 s in total.
 *
 * Setup as in test/e2e/cluster.int.test.ts: three hosts, each a network namespace on one
 * switch with its own data dir, btrfs loop pool, jail subnet and real agent (etcd, runc);
 * `cluster init` on h0, h1 and h2 join; site:v1 built from examples/site on h0; a stack of one
 * service with 3 replicas and an HTTP health check with DEFAULT timing (nothing overridden);
 * then 3/3 healthy, one per host.
 *
 * Each round (default 3: --rounds=N or CB_FAILOVER_ROUNDS=N; --quick: 1):
 *  - the cut host, by --cut=KIND (every host holds a replica):
 *      non-leader        (default) a host that is not the cellblock leader (`cluster status`
 *                        -> leader), taking turns between the candidates;
 *      etcd-leader       the etcd raft leader (etcdctl endpoint status inside the namespace);
 *      cellblock-leader  the agent holding the `leader` key;
 *    a leader cut may also be the other kind of leader: the table says what the cut host was;
 *  - t0: its switch port leaves the bridge (ClusterNet.cutLink: a partition; the host itself
 *    runs on);
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
 * Everything is torn down in `finally` and on SIGINT/SIGTERM/SIGHUP: agents, etcd, runc
 * containers, namespaces, mounts, loop devices, data dirs; leftovers are checked and reported.
 * CB_FAILOVER_LOGS=DIR (an existing dir) keeps every host's agent and etcd log there as
 * hN.agent.log and hN.etcd.log.
 * Root only. Run alone: node dist/bench/failover.js [--rounds=N] [--cut=KIND] [--poll=cli] [--json]
 */
import { constants, loadavg, tmpdir } from 'node:os';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ClusterNet } from '../test/helpers/cluster-net.js';
import { TestHost } from '../test/helpers/agent-host.js';
import { loopDevicesUnder, mountsUnder } from '../test/helpers/loop-pools.js';
import { ApiClient } from '../src/api/client.js';
import { etcdLayout } from '../src/cluster/etcd.js';
import { DEFAULT_TTL_SECONDS } from '../src/agent/cluster-runtime.js';
import { HEALTH_DEFAULTS } from '../src/spec/types.js';
import { STARTUP_INTERVAL_MS } from '../src/cluster/health.js';
import { listImages } from '../src/storage/images/store.js';
import { formatImageRef } from '../src/sys/names.js';
import type { ClusterStatus, HostRow, JailView, ReplicaStatus, ServiceStatus } from '../src/api/contract.js';
import { median, round, table, verdict } from './lib.js';
import { until as untilEvery } from '../test/helpers/until.js';
import { clusterReport, hostCli } from '../test/helpers/cluster-hosts.js';

const SITE = new URL('../../examples/site', import.meta.url).pathname;
const STACK = 'fo';
const IMAGE = 'site:v1';
const GOAL_S = 10;
const POLL_MS = 100;
/** How long a round may take to reach healthy before it counts as failed. */
const ROUND_LIMIT_MS = 60_000;
const CONVERGE_LIMIT_MS = 120_000;

const stackYaml = `services:
  site:
    image: ${IMAGE}
    replicas: 3
    command: ["/usr/bin/python3", "-m", "http.server", "8080", "--directory", "/app"]
    health:
      http: { port: 8080, path: /index.html }
`;

export const CUT_KINDS = ['non-leader', 'etcd-leader', 'cellblock-leader'] as const;
export type CutKind = (typeof CUT_KINDS)[number];

export interface FailoverOptions {
  rounds?: number;
  poll?: 'api' | 'cli';
  /** Which host each round cuts (default non-leader). */
  cut?: CutKind;
}

export interface RoundResult {
  round: number;
  /** The host whose link was cut, the cellblock leader, the etcd raft leader before the cut. */
  cut: string;
  leader: string;
  etcdLeader: string | null;
  /** The host polled (the cellblock leader's, unless that one was cut). */
  observer: string;
  replica: number | null;
  /** Where the replica went. */
  to: string | null;
  /** Hosts holding the image before the cut. */
  imageHolders: string[];
  /** 'present' (no pull), 'pulled', or null when the replica never got placed. */
  image: 'present' | 'pulled' | null;
  /** Seconds since t0, each as the first poll saw it (null: never seen). */
  detection: number | null;
  placement: number | null;
  pullStart: number | null;
  pullEnd: number | null;
  creating: number | null;
  running: number | null;
  healthy: number | null;
  /** From the agents' logs (ms timestamps), seconds since t0. */
  logs: {
    placementWritten: number | null; targetActs: number | null; targetDecision: string | null; pulled: { seconds: number; bytes: number } | null;
    /** A new etcd raft leader, from the other hosts' etcd logs (the first "elected leader"). */
    raftElected: { at: number; leader: string } | null;
    /** A new cellblock leader among the other hosts ("elected leader: this agent writes placements"). */
    leaderElected: { at: number; host: string } | null;
    /** Host leases the other hosts lost ("host lease lost"). */
    leasesLost: { at: number; host: string; reason: string }[];
    /** Placement decisions the other hosts logged as leader, until healthy. */
    placements: { at: number; host: string; decision: string }[];
  };
  /** Collateral: other hosts a poll saw down, other replicas a poll saw not healthy (first time each). */
  othersDown: { host: string; at: number }[];
  othersUnhealthy: { replica: number; at: number }[];
  /** The fewest replicas a poll saw healthy on the current spec (2 of 3 when only the cut one is missing). */
  minReady: number | null;
  /** The moved replica answered HTTP 200 from the leader host. */
  answers: boolean | null;
  polls: number;
  pollErrors: number;
  /** Mean time of one poll (both requests), ms: the timeline's resolution is about POLL_MS + this. */
  pollMs: number;
  met: boolean;
  /** Seconds from the link's restore to one healthy replica per host again. */
  converged: number | null;
  error?: string;
}

export interface FailoverResult {
  cut: CutKind;
  rounds: RoundResult[];
  leaseTtlSeconds: number;
  health: { intervalMs: number; timeoutMs: number; threshold: number; startupIntervalMs: number };
  poll: 'api' | 'cli';
  pollIntervalMs: number;
  /** Seconds one `cellblock --json host ls` took here (median of 3), for the --poll choice. */
  cliCallSeconds: number | null;
  setup: { seconds: number; initialPulls: { host: string; seconds: number; bytes: number }[] };
  summary: Record<string, number | null>;
  goalSeconds: number;
  met: boolean;
  load: { before: number[]; after: number[]; otherAgents: number };
  leftovers: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = <T>(what: string, fn: () => Promise<T | undefined | false>, ms: number, detail?: () => Promise<string>) => untilEvery(what, fn, ms, detail, 250);
const progress = (s: string) => process.stderr.write(`  [failover] ${s}\n`);

/** Lines of an agent log (pino JSON) at or after t0 (ms), parsed. */
function logSince(log: string, t0: number): { t: number; msg: string; rec: Record<string, unknown> }[] {
  const out: { t: number; msg: string; rec: Record<string, unknown> }[] = [];
  for (const line of log.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const rec = JSON.parse(line) as Record<string, unknown>;
      const t = typeof rec['time'] === 'string' ? Date.parse(rec['time']) : typeof rec['time'] === 'number' ? rec['time'] : NaN;
      if (t >= t0) out.push({ t, msg: String(rec['msg'] ?? ''), rec });
    } catch { /* not a log record */ }
  }
  return out;
}

/** Lines of an etcd log (zap JSON; "ts" ISO 8601 or epoch seconds) at or after t0 (ms). */
function etcdLogSince(log: string, t0: number): { t: number; msg: string }[] {
  const out: { t: number; msg: string }[] = [];
  for (const line of log.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const rec = JSON.parse(line) as Record<string, unknown>;
      const ts = rec['ts'];
      const t = typeof ts === 'number' ? ts * 1000 : typeof ts === 'string' ? Date.parse(ts.replace(/([+-]\d\d)(\d\d)$/, '$1:$2')) : NaN;
      if (t >= t0) out.push({ t, msg: String(rec['msg'] ?? '') });
    } catch { /* not a log record */ }
  }
  return out;
}

/** Processes running `cellblock ... agent` that are not ours (other tests on this machine). */
async function otherAgents(mine: string[]): Promise<number> {
  let n = 0;
  for (const name of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue;
    const argv = (await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (argv.some((a) => a.endsWith('bin/cellblock')) && argv.includes('agent') && !mine.some((d) => argv.includes(d))) n++;
  }
  return n;
}

export async function benchFailover(opts: FailoverOptions = {}): Promise<FailoverResult> {
  const rounds = opts.rounds ?? 3;
  const pollMode = opts.poll ?? 'api';
  const cutKind = opts.cut ?? 'non-leader';
  if (process.getuid?.() !== 0) throw new Error('the failover benchmark needs root (network namespaces, loop pools, etcd, runc)');

  let net: ClusterNet | undefined;
  const hosts: TestHost[] = [];
  let work = '';
  let tornDown: Promise<string[]> | undefined;
  const linksCut = new Set<number>();

  /** Removes everything; returns what is left (empty when clean). Runs once. */
  const teardown = () => (tornDown ??= (async () => {
    const left: string[] = [];
    for (const i of linksCut) await net?.restoreLink(i).catch(() => {});
    const dirs = hosts.map((h) => h.dataDir);
    const keep = process.env['CB_FAILOVER_LOGS'];
    if (keep) {
      for (const [i, h] of hosts.entries()) {
        await writeFile(join(keep, `h${i}.agent.log`), h.agentLog).catch(() => {});
        await writeFile(join(keep, `h${i}.etcd.log`), await readFile(etcdLayout(h.dataDir).log, 'utf8').catch(() => '')).catch(() => {});
      }
    }
    for (const h of hosts) await h.teardown().catch((e: Error) => left.push(`teardown ${h.dataDir}: ${e.message}`));
    await net?.teardown().catch((e: Error) => left.push(e.message));
    if (work) await rm(work, { recursive: true, force: true }).catch(() => {});
    for (const d of dirs) {
      for (const l of await loopDevicesUnder(d).catch(() => [])) left.push(`loop device ${l.device} (${l.backFile})`);
      for (const m of await mountsUnder(d).catch(() => [])) left.push(`mount ${m}`);
    }
    for (const h of hosts) for (const pid of await h.processesOfMine().catch(() => [])) left.push(`process ${pid} of ${h.dataDir}`);
    for (const ns of (await net?.leftovers().catch(() => [])) ?? []) left.push(`network namespace ${ns}`);
    return left;
  })());

  // A signal tears everything down before exiting. ClusterNet installs handlers that exit at
  // once (its 'exit' handler deletes namespaces, agent-host.ts's kills agents, but etcd, runc
  // containers, mounts and loop devices would stay): ours replace them while the bench runs.
  const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const onSignal = (sig: NodeJS.Signals) => {
    const code = 128 + (constants.signals[sig] ?? 0);
    process.stderr.write(`\n${sig}: tearing the failover cluster down (again to exit at once)\n`);
    for (const s of SIGNALS) { process.removeAllListeners(s); process.once(s, () => process.exit(code)); }
    void teardown().then((left) => { if (left.length) process.stderr.write(`left behind: ${left.join('; ')}\n`); }).finally(() => process.exit(code));
  };
  const takeSignals = () => { for (const s of SIGNALS) { process.removeAllListeners(s); process.once(s, onSignal); } };
  const releaseSignals = () => { for (const s of SIGNALS) process.removeListener(s, onSignal); };
  takeSignals();

  const load = { before: loadavg().map((x) => round(x)), after: [] as number[], otherAgents: 0 };
  const results: RoundResult[] = [];
  const setup = { seconds: 0, initialPulls: [] as { host: string; seconds: number; bytes: number }[] };
  let cliCallSeconds: number | null = null;
  let leftovers: string[] = [];
  try {
    const tSetup = Date.now();
    work = await mkdtemp(join(tmpdir(), 'cb-bench-failover-'));
    net = await ClusterNet.create(3, { forwarding: false });
    takeSignals(); // ClusterNet.create installed its own handlers on its first namespace
    const y = 200 + Math.floor(Math.random() * 50);
    for (let i = 0; i < 3; i++) {
      const h = await TestHost.create({ netns: { nsPath: net.hosts[i]!.nsPath }, subnet: `10.${y}.${i + 1}.0/24`, poolSize: '2G' });
      hosts.push(h);
      await h.startAgent();
    }
    progress(`hosts: ${hosts.map((h, i) => `h${i} ${h.dataDir} (netns ${net!.hosts[i]!.name}, agent ${h.agent?.pid})`).join(', ')}; switch ${net.switchName}`);
    load.otherAgents = await otherAgents(hosts.map((h) => h.dataDir));
    const name = (i: number) => `h${i}`;
    const index = (host: string) => Number(host.slice(1));
    const cli = (i: number, args: string[]) => hostCli(hosts, i, args);
    const api = hosts.map((h) => ApiClient.forDataDir(h.dataDir));
    const status = async (i: number) => (await api[i]!.call('status', { query: { stack: STACK } }))[0];
    const everything = () => clusterReport(hosts);
    /** One healthy replica per host and every host's jails exactly its placements. */
    const converged = async (from: number) => {
      const s = await status(from);
      if (!s || s.ready !== 3 || s.replicas !== 3 || new Set(s.instances.map((x) => x.host)).size !== 3) return undefined;
      for (let i = 0; i < 3; i++) {
        const jails = (await api[i]!.list()).map((j: JailView) => j.name).sort();
        const mine = s.instances.filter((x) => x.host === name(i)).map((x) => `${STACK}.site.${x.replica}`).sort();
        if (JSON.stringify(jails) !== JSON.stringify(mine)) return undefined;
      }
      return s;
    };

    progress('cluster init + 2 joins');
    await cli(0, ['cluster', 'init', '--advertise', net.hosts[0]!.address, '--name', name(0)]);
    for (const i of [1, 2]) {
      const token = (await cli(0, ['cluster', 'token'])).trim();
      await cli(i, ['cluster', 'join', net.hosts[0]!.address, '--token', token, '--advertise', net.hosts[i]!.address, '--name', name(i)]);
    }
    await until('three members and three ready hosts', async () => {
      const v = await api[2]!.call('clusterStatus');
      return v.members.filter((m) => m.name).length === 3 && v.hosts.filter((h) => h.state === 'ready').length === 3 && v.leader ? v : undefined;
    }, 60_000, everything);
    progress(`image build ${IMAGE}; apply ${STACK} (3 replicas, default health timing)`);
    await cli(0, ['image', 'build', IMAGE, SITE]);
    const tApply = Date.now();
    const file = join(work, `${STACK}.yml`);
    await writeFile(file, stackYaml);
    await cli(0, ['apply', '-f', file, '--timeout', '180']);
    await until('3/3 healthy, one per host', () => converged(0), CONVERGE_LIMIT_MS, everything);
    for (let i = 0; i < 3; i++) {
      for (const l of logSince(hosts[i]!.agentLog, tApply)) {
        if (l.msg.startsWith(`pulled image ${IMAGE}`)) setup.initialPulls.push({ host: name(i), seconds: Number(l.rec['seconds']), bytes: Number(l.rec['bytes']) });
      }
    }
    setup.seconds = round((Date.now() - tSetup) / 1000, 1);
    progress(`ready in ${setup.seconds} s; initial pulls: ${setup.initialPulls.map((p) => `${p.host} ${p.seconds} s`).join(', ') || 'none seen'}`);

    // what one CLI call costs here (the reason polls go to the API directly)
    const cliTimes: number[] = [];
    for (let k = 0; k < 3; k++) {
      const t = Date.now();
      await cli(0, ['--json', 'host', 'ls']);
      cliTimes.push((Date.now() - t) / 1000);
    }
    cliCallSeconds = round(median(cliTimes));

    /** etcd member IDs (hex, as etcd's own log writes them) to names, filled by etcdLeader(). */
    const memberNames = new Map<string, string>();
    /** The etcd raft leader's member name, asked of host i's member (best effort). */
    const etcdLeader = async (i: number): Promise<string | null> => {
      try {
        const v = await api[i]!.call('clusterStatus');
        const me = v.members.find((m) => m.name === name(i));
        const tls = join(hosts[i]!.dataDir, 'cluster', 'tls');
        const base = ['etcdctl', '--endpoints', me!.clientURLs[0]!, '--cacert', join(tls, 'ca.crt'), '--cert', join(tls, 'host.crt'), '--key', join(tls, 'host.key'), '--command-timeout=3s', '-w', 'json'];
        // member IDs are uint64: quoted before parsing, so no digit is lost to a double
        const parse = (out: string) => JSON.parse(out.replace(/:(\d{16,})/g, ':"$1"')) as unknown;
        const st = parse((await net!.run(i, [...base, 'endpoint', 'status'], { timeoutMs: 10_000 })).stdout) as { Status: { leader: number | string } }[];
        const ml = parse((await net!.run(i, [...base, 'member', 'list'], { timeoutMs: 10_000 })).stdout) as { members: { ID: number | string; name: string }[] };
        for (const m of ml.members) memberNames.set(BigInt(m.ID).toString(16), m.name);
        const id = String(st[0]!.Status.leader);
        return ml.members.find((m) => String(m.ID) === id)?.name ?? null;
      } catch {
        return null;
      }
    };

    interface Sample { t: number; cutState: string | undefined; r: ReplicaStatus | undefined; states?: HostRow[]; all?: ReplicaStatus[]; ready?: number; error?: string }

    for (let k = 0; k < rounds; k++) {
      const before = await until('one healthy replica per host', () => converged(0), CONVERGE_LIMIT_MS, everything);
      const cs = await until('a leader', async () => {
        const v = await api[0]!.call('clusterStatus');
        return v.leader ? v : undefined;
      }, 30_000);
      const leader = cs.leader!;
      const raft = await etcdLeader(index(leader));
      let cutName: string;
      if (cutKind === 'etcd-leader') {
        if (raft === null) throw new Error(`round ${k + 1}: cannot tell the etcd raft leader (etcdctl endpoint status / member list failed)`);
        cutName = raft;
      } else if (cutKind === 'cellblock-leader') {
        cutName = leader;
      } else {
        const candidates = before.instances.filter((x) => x.host && x.host !== leader).map((x) => x.host!).sort();
        cutName = candidates[k % candidates.length]!;
      }
      const cut = index(cutName);
      const others = [0, 1, 2].filter((i) => i !== cut);
      const obs = cut !== index(leader) ? index(leader) : others[0]!;
      const held = before.instances.find((x) => x.host === cutName);
      if (!held) throw new Error(`round ${k + 1}: ${cutName} holds no replica of ${STACK}`);
      const replica = held.replica;
      const imageHolders: string[] = [];
      for (let i = 0; i < 3; i++) if ((await listImages(hosts[i]!.dataDir)).some((r) => formatImageRef(r) === IMAGE)) imageHolders.push(name(i));

      progress(`round ${k + 1}/${rounds}: cutting ${cutName} (${cutKind}; replica ${replica}); cellblock leader ${leader}, etcd raft leader ${raft ?? '?'}; polling ${name(obs)}; ${IMAGE} on ${imageHolders.join(', ')}`);
      const samples: Sample[] = [];
      let pollTotalMs = 0;
      const poll = async (): Promise<{ hosts: HostRow[]; status: ServiceStatus[] }> => {
        if (pollMode === 'cli') {
          const [h, s] = await Promise.all([cli(obs, ['--json', 'host', 'ls']), cli(obs, ['--json', 'status', '--stack', STACK])]);
          return { hosts: JSON.parse(h) as HostRow[], status: JSON.parse(s) as ServiceStatus[] };
        }
        const [h, s] = await Promise.all([api[obs]!.call('hostList'), api[obs]!.call('status', { query: { stack: STACK } })]);
        return { hosts: h, status: s };
      };

      const r: RoundResult = {
        round: k + 1, cut: cutName, leader, etcdLeader: raft, observer: name(obs), replica, to: null, imageHolders, image: null,
        detection: null, placement: null, pullStart: null, pullEnd: null, creating: null, running: null, healthy: null,
        logs: { placementWritten: null, targetActs: null, targetDecision: null, pulled: null, raftElected: null, leaderElected: null, leasesLost: [], placements: [] },
        othersDown: [], othersUnhealthy: [], minReady: null,
        answers: null, polls: 0, pollErrors: 0, pollMs: 0, met: false, converged: null,
      };
      results.push(r);
      linksCut.add(cut);
      await net.cutLink(cut);
      const t0 = Date.now();
      const moved = (s: Sample) => Boolean(s.r?.host && s.r.host !== cutName);
      try {
        while (Date.now() - t0 < ROUND_LIMIT_MS) {
          const sent = Date.now();
          try {
            const p = await poll();
            const s: Sample = { t: (Date.now() - t0) / 1000, cutState: p.hosts.find((h) => h.name === cutName)?.state, r: p.status[0]?.instances.find((x) => x.replica === replica), states: p.hosts, all: p.status[0]?.instances ?? [], ready: p.status[0]?.ready ?? 0 };
            samples.push(s);
            pollTotalMs += Date.now() - sent;
            if (moved(s) && s.r!.healthy && s.r!.current) break;
          } catch (e) {
            samples.push({ t: (Date.now() - t0) / 1000, cutState: undefined, r: undefined, error: (e as Error).message });
            pollTotalMs += Date.now() - sent;
          }
          await sleep(Math.max(0, POLL_MS - (Date.now() - sent)));
        }
        const first = (pred: (s: Sample) => boolean) => { const s = samples.find((x) => !x.error && pred(x)); return s ? round(s.t) : null; };
        r.polls = samples.length;
        r.pollErrors = samples.filter((s) => s.error).length;
        r.pollMs = Math.round(pollTotalMs / Math.max(1, samples.length));
        r.detection = first((s) => s.cutState === 'down');
        r.placement = first(moved);
        r.to = samples.find((s) => !s.error && moved(s))?.r?.host ?? null;
        r.pullStart = first((s) => moved(s) && s.r!.phase === 'pulling');
        r.pullEnd = r.pullStart === null ? null : first((s) => moved(s) && s.t > r.pullStart! && s.r!.phase !== 'pulling');
        r.creating = first((s) => moved(s) && s.r!.phase === 'creating');
        r.running = first((s) => moved(s) && s.r!.phase === 'running');
        r.healthy = first((s) => moved(s) && s.r!.healthy && s.r!.current);
        r.met = r.healthy !== null && r.healthy < GOAL_S;

        const readies = samples.filter((x) => !x.error && x.ready !== undefined).map((x) => x.ready!);
        r.minReady = readies.length ? Math.min(...readies) : null;
        for (const i of others) {
          const s = samples.find((x) => !x.error && x.states?.find((h) => h.name === name(i))?.state === 'down');
          if (s) r.othersDown.push({ host: name(i), at: round(s.t) });
        }
        for (const x of before.instances) {
          if (x.replica === replica) continue;
          const s = samples.find((y) => !y.error && !y.all?.some((z) => z.replica === x.replica && z.healthy && z.current));
          if (s) r.othersUnhealthy.push({ replica: x.replica, at: round(s.t) });
        }

        // cross-check with the agents' own clocks; the other hosts' logs until healthy (or now)
        const tEnd = r.healthy === null ? Infinity : t0 + r.healthy * 1000 + 1000;
        const sec = (t: number) => round((t - t0) / 1000);
        for (const i of others) {
          for (const l of logSince(hosts[i]!.agentLog, t0)) {
            if (l.t > tEnd) break;
            if (l.msg.startsWith('elected leader') && (!r.logs.leaderElected || sec(l.t) < r.logs.leaderElected.at)) r.logs.leaderElected = { at: sec(l.t), host: name(i) };
            if (l.msg.startsWith('host lease lost')) r.logs.leasesLost.push({ at: sec(l.t), host: name(i), reason: String(l.rec['reason'] ?? '') });
            if (l.msg === 'placement') r.logs.placements.push({ at: sec(l.t), host: name(i), decision: String(l.rec['decision'] ?? '') });
          }
          const elog = await readFile(etcdLayout(hosts[i]!.dataDir).log, 'utf8').catch(() => '');
          for (const l of etcdLogSince(elog, t0)) {
            const m = /elected leader (\w+) at term/.exec(l.msg);
            if (!m || l.t > tEnd) continue;
            if (!r.logs.raftElected || l.t - t0 < r.logs.raftElected.at * 1000) r.logs.raftElected = { at: sec(l.t), leader: memberNames.get(m[1]!) ?? m[1]! };
            break;
          }
        }
        r.logs.placements.sort((a, b) => a.at - b.at);
        r.logs.leasesLost.sort((a, b) => a.at - b.at);
        r.logs.placementWritten = r.logs.placements.find((p) => p.decision.startsWith(`${STACK}/site#${replica}:`))?.at ?? null;
        if (r.to) {
          const targetLog = logSince(hosts[index(r.to)]!.agentLog, t0);
          // the target's first action on this replica's jail (not another replica moved meanwhile)
          const jailRe = new RegExp(`\\b${STACK}\\.site\\.${replica}\\b`);
          const act = targetLog.find((l) => l.msg === 'reconcile' && jailRe.test(String(l.rec['decision'] ?? '')));
          r.logs.targetActs = act ? round((act.t - t0) / 1000) : null;
          r.logs.targetDecision = act ? String(act.rec['decision']) : null;
          const pulled = targetLog.find((l) => l.msg.startsWith(`pulled image ${IMAGE}`));
          r.logs.pulled = pulled ? { seconds: Number(pulled.rec['seconds']), bytes: Number(pulled.rec['bytes']) } : null;
          r.image = r.pullStart !== null || pulled ? 'pulled' : 'present';
          const ip = [...samples].reverse().find((s) => !s.error && moved(s))?.r?.ip;
          if (r.healthy !== null && ip) r.answers = await net.httpGet(obs, `http://${ip}:8080/index.html`).then((x) => x.status === 200, () => false);
        }
        if (r.healthy === null) r.error = `replica ${replica} not healthy elsewhere within ${ROUND_LIMIT_MS / 1000} s; last poll: ${JSON.stringify(samples.at(-1))}`;
        progress(`round ${k + 1}: down ${r.detection ?? '-'} s, placed on ${r.to ?? '-'} ${r.placement ?? '-'} s, running ${r.running ?? '-'} s, healthy ${r.healthy ?? '-'} s (${r.polls} polls, ${r.pollErrors} failed)`);
      } finally {
        await net.restoreLink(cut);
        linksCut.delete(cut);
      }
      const tBack = Date.now();
      try {
        await until('convergence after the link is back', () => converged(obs), CONVERGE_LIMIT_MS, everything);
        r.converged = round((Date.now() - tBack) / 1000, 1);
        progress(`round ${k + 1}: link back, converged in ${r.converged} s`);
      } catch (e) {
        r.error = [r.error, (e as Error).message].filter(Boolean).join('; ');
        throw e; // the next round would start from an unknown state
      }
    }
  } finally {
    load.after = loadavg().map((x) => round(x));
    progress('tearing down');
    leftovers = await teardown();
    releaseSignals();
    // also when a step failed (its error is what propagates)
    progress(leftovers.length ? `LEFT BEHIND: ${leftovers.join('; ')}` : 'torn down: no namespace, agent, etcd, container, mount, loop device or data dir left');
  }
  if (leftovers.length) throw new Error(`failover benchmark left behind: ${leftovers.join('; ')}`);

  const done = results.filter((r) => r.healthy !== null);
  const med = (f: (r: RoundResult) => number | null) => {
    const xs = done.map(f).filter((x): x is number => x !== null);
    return xs.length ? round(median(xs)) : null;
  };
  return {
    cut: cutKind,
    rounds: results,
    leaseTtlSeconds: DEFAULT_TTL_SECONDS,
    health: { intervalMs: HEALTH_DEFAULTS.intervalMs, timeoutMs: HEALTH_DEFAULTS.timeoutMs, threshold: HEALTH_DEFAULTS.threshold, startupIntervalMs: STARTUP_INTERVAL_MS },
    poll: pollMode,
    pollIntervalMs: POLL_MS,
    cliCallSeconds,
    setup,
    summary: {
      raftElected: med((r) => r.logs.raftElected?.at ?? null), leaderElected: med((r) => r.logs.leaderElected?.at ?? null),
      detection: med((r) => r.detection), placement: med((r) => r.placement), running: med((r) => r.running), healthy: med((r) => r.healthy),
      minHealthy: done.length ? Math.min(...done.map((r) => r.healthy!)) : null, maxHealthy: done.length ? Math.max(...done.map((r) => r.healthy!)) : null,
    },
    goalSeconds: GOAL_S,
    met: results.length > 0 && results.every((r) => r.met),
    load,
    leftovers,
  };
}

const s = (x: number | null) => (x === null ? '-' : x.toFixed(1));

const CUT_TEXT: Record<CutKind, string> = {
  'non-leader': 'a host that is not the cellblock leader',
  'etcd-leader': 'the etcd raft leader',
  'cellblock-leader': 'the cellblock leader',
};

/** What the cut host was: "etcd leader + cellblock leader", "etcd leader", ..., "no leader". */
function cutWas(x: RoundResult): string {
  const kinds = [x.etcdLeader === null ? 'etcd leader?' : x.etcdLeader === x.cut ? 'etcd leader' : '', x.leader === x.cut ? 'cellblock leader' : ''].filter(Boolean);
  return kinds.length ? kinds.join(' + ') : 'no leader';
}

export function printFailoverBench(r: FailoverResult): void {
  console.log(`failover: 3 hosts (network namespaces), 1 service x 3 replicas, HTTP health check; link of ${CUT_TEXT[r.cut]} cut at t0 (--cut=${r.cut})`);
  console.log(`  defaults: host lease TTL ${r.leaseTtlSeconds} s (DEFAULT_TTL_SECONDS); health interval ${r.health.intervalMs / 1000} s, timeout ${r.health.timeoutMs / 1000} s, threshold ${r.health.threshold} (a new replica: checked every ${r.health.startupIntervalMs / 1000} s, healthy at its first pass)`);
  console.log(`  polled every ${r.pollIntervalMs} ms from the cellblock leader's host (another host when it is the one cut) via ${r.poll === 'api' ? 'its agent API (what the CLI calls)' : 'the CLI'}; one CLI call takes ${r.cliCallSeconds ?? '?'} s here`);
  console.log(`  seconds since the cut, first poll that saw each phase ("-": not seen, e.g. too short for a poll)`);
  console.log(`  "log:" columns from the other hosts' own logs: a new raft leader (etcd log), a new cellblock leader ("elected leader"), the first placement written`);
  console.log(table(
    ['round', 'cut', 'cut was', 'raft leader', 'cb leader', 'to', 'image', 'log: raft', 'down', 'log: cb', 'placed', 'pull', 'creating', 'running', 'healthy', 'goal', 'log: placed', 'log: acts', 'back in'],
    r.rounds.map((x) => [
      x.round, x.cut, cutWas(x), x.etcdLeader ?? '?', x.leader, x.to ?? '-',
      x.image === null ? '-' : x.image === 'present' ? 'present' : `pulled${x.logs.pulled ? ` ${x.logs.pulled.seconds.toFixed(1)} s` : ''}`,
      x.logs.raftElected ? `${s(x.logs.raftElected.at)} ${x.logs.raftElected.leader}` : '-',
      s(x.detection),
      x.logs.leaderElected ? `${s(x.logs.leaderElected.at)} ${x.logs.leaderElected.host}` : '-',
      s(x.placement), x.pullStart === null ? '-' : `${s(x.pullStart)}-${s(x.pullEnd)}`, s(x.creating), s(x.running), s(x.healthy),
      x.healthy === null ? 'FAILED' : `< ${GOAL_S} s ${verdict(x.met)}`, s(x.logs.placementWritten), s(x.logs.targetActs), x.converged === null ? '-' : `${x.converged.toFixed(1)} s`,
    ]),
  ));
  for (const x of r.rounds) {
    const notes = [
      `round ${x.round}: replica ${x.replica} ${x.cut} -> ${x.to ?? '?'}`,
      `image ${x.image === 'present' ? `already on ${x.to} (held by ${x.imageHolders.join(', ')}): no pull` : x.image === 'pulled' ? `pulled by ${x.to}${x.logs.pulled ? ` in ${x.logs.pulled.seconds} s, ${x.logs.pulled.bytes} bytes` : ''}` : '?'}`,
      x.answers === null ? '' : `answers HTTP from the leader host: ${x.answers ? 'yes' : 'NO'}`,
      `${x.polls} polls of ${x.observer} (${x.pollErrors} failed), ${x.pollMs} ms each`,
      `fewest healthy replicas seen: ${x.minReady ?? '?'} of 3`,
      x.logs.leasesLost.length ? `host leases lost by the other hosts: ${x.logs.leasesLost.map((l) => `${l.host} at ${s(l.at)} s (${l.reason})`).join(', ')}` : 'no other host lost its lease',
      x.othersDown.length ? `COLLATERAL: other hosts seen down: ${x.othersDown.map((o) => `${o.host} at ${s(o.at)} s`).join(', ')}` : '',
      x.othersUnhealthy.length ? `COLLATERAL: other replicas seen not healthy: ${x.othersUnhealthy.map((o) => `${o.replica} at ${s(o.at)} s`).join(', ')}` : '',
      x.logs.placements.length > 1 ? `placement decisions: ${x.logs.placements.map((p) => `${s(p.at)} s ${p.host}: ${p.decision}`).join(' | ')}` : '',
      x.logs.targetDecision ? `target: "${x.logs.targetDecision}"` : '',
      x.error ? `ERROR: ${x.error}` : '',
    ].filter(Boolean);
    console.log(`  ${notes.join('; ')}`);
  }
  const m = r.summary;
  console.log(`  median: new raft leader ${s(m['raftElected']!)} s, down ${s(m['detection']!)} s, new cellblock leader ${s(m['leaderElected']!)} s, placed ${s(m['placement']!)} s, running ${s(m['running']!)} s, healthy ${s(m['healthy']!)} s (min ${s(m['minHealthy']!)}, max ${s(m['maxHealthy']!)}); goal < ${r.goalSeconds} s in every round: ${verdict(r.met)}`);
  if (r.setup.initialPulls.length) console.log(`  for scale, the first pulls of ${IMAGE} at setup (full stream, no replica waiting on the cut): ${r.setup.initialPulls.map((p) => `${p.host} ${p.seconds} s (${p.bytes} bytes)`).join(', ')}`);
  console.log(`  load average before ${r.load.before.join(' ')}, after ${r.load.after.join(' ')}; other cellblock agents running meanwhile: ${r.load.otherAgents}`);
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
