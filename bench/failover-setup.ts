/**
 * The failover benchmark's cluster: a lab of three hosts (src/lab: network namespaces on one
 * switch, each with its own data dir, 2G btrfs loop pool, jail subnet and agent; init on h0,
 * h1 and h2 join), site:v1 built on h0 and a stack of one service with 3 replicas and an
 * HTTP health check with default timing, 3/3 healthy one per host. Torn down with lab down.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../src/api/client.js';
import { etcdLayout } from '../src/cluster/etcd.js';
import { exec } from '../src/sys/exec.js';
import type { JailView } from '../src/jail/service.js';
import type { Lab } from '../src/lab/lab.js';
import { upLab } from '../src/lab/lab-up.js';
import { downLab } from '../src/lab/lab-down.js';
import { labLeftovers, labName, labReport } from '../test/helpers/lab.js';
import { until as untilEvery } from '../test/helpers/until.js';
import { median, round } from './lib.js';
import { CONVERGE_LIMIT_MS, IMAGE, STACK, stackYaml, type ServiceStatus } from './failover-types.js';
import { logSince } from './failover-logs.js';

const SITE = new URL('../../examples/site', import.meta.url).pathname;

export const until = <T>(what: string, fn: () => Promise<T | undefined | false>, ms: number, detail?: () => Promise<string>) => untilEvery(what, fn, ms, detail, 250);
export const progress = (s: string) => process.stderr.write(`  [failover] ${s}\n`);

export interface BenchCluster {
  lab: Lab;
  work: string;
  api: ApiClient[];
  name: (i: number) => string;
  index: (host: string) => number;
  cli: (i: number, args: string[]) => Promise<string>;
  status: (i: number) => Promise<ServiceStatus | undefined>;
  /** One healthy replica per host and every host's jails exactly its placements. */
  converged: (from: number) => Promise<ServiceStatus | undefined>;
  /** Every host's status and agent log tail, for a timed-out wait. */
  everything: () => Promise<string>;
}

function benchCluster(lab: Lab, work: string): BenchCluster {
  const api = lab.hosts.map((h) => ApiClient.forDataDir(h.dataDir));
  const name = (i: number) => `h${i}`;
  const status = async (i: number) => (await api[i]!.call('status', { query: { stack: STACK } }))[0];
  return {
    lab, work, api, name, status,
    index: (host) => Number(host.slice(1)),
    cli: (i, args) => lab.ok(i, args),
    everything: () => labReport(lab),
    converged: async (from) => {
      const s = await status(from);
      if (!s || s.ready !== 3 || s.replicas !== 3 || new Set(s.instances.map((x) => x.host)).size !== 3) return undefined;
      for (let i = 0; i < 3; i++) {
        const jails = (await api[i]!.list()).map((j: JailView) => j.name).sort();
        const mine = s.instances.filter((x) => x.host === name(i)).map((x) => `${STACK}.site.${x.replica}`).sort();
        if (JSON.stringify(jails) !== JSON.stringify(mine)) return undefined;
      }
      return s;
    },
  };
}

/** Where the benchmark's lab lives: a new temporary work dir and a lab name (nothing else made yet). */
export async function benchWhere(): Promise<{ work: string; root: string; name: string }> {
  const work = await mkdtemp(join(tmpdir(), 'cb-bench-failover-'));
  return { work, root: join(work, 'lab'), name: labName() };
}

/** Removes whatever a setUp that did not finish made (a signal during lab up). */
export async function tearDownPartial(w: { work: string; root: string; name: string }): Promise<string[]> {
  const left: string[] = [];
  await downLab(w.root, w.name, { exec }).catch((e: Error) => left.push(e.message));
  left.push(...(await labLeftovers(w.root, w.name)));
  if (left.length === 0) await rm(w.work, { recursive: true, force: true });
  return left;
}

/** Makes the lab and the stack; calls made(c) as soon as the lab exists (for teardown on a signal). */
export async function setUp(w: { work: string; root: string; name: string }, made: (c: BenchCluster) => void): Promise<{ c: BenchCluster; seconds: number; initialPulls: { host: string; seconds: number; bytes: number }[]; cliCallSeconds: number }> {
  const tSetup = Date.now();
  const work = w.work;
  progress('lab up: 3 hosts, cluster init + 2 joins');
  const lab = await upLab({ name: w.name, hosts: 3, root: w.root, poolSize: '2G' }, { exec, progress });
  const c = benchCluster(lab, work);
  made(c);
  progress(`hosts: ${lab.hosts.map((h) => `${h.name} ${h.dataDir} (netns ${h.netns}, agent ${lab.state.agents[h.name]})`).join(', ')}; switch ${lab.plan.switchNs}`);
  progress(`image build ${IMAGE}; apply ${STACK} (3 replicas, default health timing)`);
  await c.cli(0, ['image', 'build', IMAGE, SITE]);
  const tApply = Date.now();
  const file = join(work, `${STACK}.yml`);
  await writeFile(file, stackYaml);
  await c.cli(0, ['apply', '-f', file, '--timeout', '180']);
  await until('3/3 healthy, one per host', () => c.converged(0), CONVERGE_LIMIT_MS, c.everything);
  const initialPulls: { host: string; seconds: number; bytes: number }[] = [];
  for (let i = 0; i < 3; i++) {
    for (const l of logSince(await lab.agentLog(i), tApply)) {
      if (l.msg.startsWith(`pulled image ${IMAGE}`)) initialPulls.push({ host: c.name(i), seconds: Number(l.rec['seconds']), bytes: Number(l.rec['bytes']) });
    }
  }
  const seconds = round((Date.now() - tSetup) / 1000, 1);
  progress(`ready in ${seconds} s; initial pulls: ${initialPulls.map((p) => `${p.host} ${p.seconds} s`).join(', ') || 'none seen'}`);
  // what one CLI call costs here (the reason polls go to the API directly)
  const cliTimes: number[] = [];
  for (let k = 0; k < 3; k++) {
    const t = Date.now();
    await c.cli(0, ['--json', 'host', 'ls']);
    cliTimes.push((Date.now() - t) / 1000);
  }
  return { c, seconds, initialPulls, cliCallSeconds: round(median(cliTimes)) };
}

/**
 * Removes the lab and the work dir; returns what is left (empty when clean). With
 * CB_FAILOVER_LOGS=DIR, keeps every host's agent and etcd log there first.
 */
export async function tearDown(c: BenchCluster): Promise<string[]> {
  const left: string[] = [];
  const keep = process.env['CB_FAILOVER_LOGS'];
  if (keep) {
    for (const h of c.lab.hosts) {
      await writeFile(join(keep, `${h.name}.agent.log`), await c.lab.agentLog(h.index)).catch(() => {}); // best effort: only a copy of the logs
      await writeFile(join(keep, `${h.name}.etcd.log`), await readFile(etcdLayout(h.dataDir).log, 'utf8').catch(() => '')).catch(() => {}); // best effort, as above
    }
  }
  const instances = c.lab.hosts.map((h) => h.instance);
  await downLab(c.lab.plan.root, c.lab.name, { exec }).catch((e: Error) => left.push(e.message));
  left.push(...(await labLeftovers(c.lab.plan.root, c.lab.name, instances)));
  if (left.length === 0) await rm(c.work, { recursive: true, force: true });
  return left;
}
