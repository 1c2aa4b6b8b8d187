/**
 * One round of the failover benchmark: pick the host to cut, cut its link at t0, poll the
 * observer every POLL_MS until the cut host's replica is healthy elsewhere, read the phases
 * off the polls, cross-check with the logs, restore the link and wait for convergence.
 */
import { join } from 'node:path';
import { listImages } from '../src/storage/images/store.js';
import { formatImageRef } from '../src/sys/names.js';
import { httpGet } from '../src/lab/probe.js';
import { round } from './lib.js';
import { crossCheck } from './failover-logs.js';
import { progress, until, type BenchCluster } from './failover-setup.js';
import {
  CONVERGE_LIMIT_MS, GOAL_S, IMAGE, POLL_MS, ROUND_LIMIT_MS, STACK, emptyLogs,
  type ClusterStatusView, type CutKind, type HostRow, type RoundResult, type Sample, type ServiceStatus,
} from './failover-types.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The etcd raft leader's member name, asked of host i's member (best effort); fills memberNames (hex id -> name). */
export async function etcdLeader(c: BenchCluster, i: number, memberNames: Map<string, string>): Promise<string | null> {
  try {
    const v = await c.api[i]!.call('clusterStatus');
    const me = v.members.find((m) => m.name === c.name(i));
    const tls = join(c.lab.hosts[i]!.dataDir, 'cluster', 'tls');
    const base = ['etcdctl', '--endpoints', me!.clientURLs[0]!, '--cacert', join(tls, 'ca.crt'), '--cert', join(tls, 'host.crt'), '--key', join(tls, 'host.key'), '--command-timeout=3s', '-w', 'json'];
    // member IDs are uint64: quoted before parsing, so no digit is lost to a double
    const parse = (out: string) => JSON.parse(out.replace(/:(\d{16,})/g, ':"$1"')) as unknown;
    const st = parse((await c.lab.run(i, [...base, 'endpoint', 'status'], { timeoutMs: 10_000 })).stdout) as { Status: { leader: number | string } }[];
    const ml = parse((await c.lab.run(i, [...base, 'member', 'list'], { timeoutMs: 10_000 })).stdout) as { members: { ID: number | string; name: string }[] };
    for (const m of ml.members) memberNames.set(BigInt(m.ID).toString(16), m.name);
    const id = String(st[0]!.Status.leader);
    return ml.members.find((m) => String(m.ID) === id)?.name ?? null;
  } catch {
    return null; // best effort: the table says "?" and an etcd-leader round refuses to start
  }
}

/** The host to cut in round k (0-based) by kind. */
function chooseCut(kind: CutKind, k: number, before: ServiceStatus, leader: string, raft: string | null): string {
  if (kind === 'etcd-leader') {
    if (raft === null) throw new Error(`round ${k + 1}: cannot tell the etcd raft leader (etcdctl endpoint status / member list failed)`);
    return raft;
  }
  if (kind === 'cellblock-leader') return leader;
  const candidates = before.instances.filter((x) => x.host && x.host !== leader).map((x) => x.host!).sort();
  return candidates[k % candidates.length]!;
}

/** Polls host obs every POLL_MS until the replica is healthy on another host (or ROUND_LIMIT_MS). */
async function pollUntilMoved(c: BenchCluster, obs: number, cutName: string, replica: number, mode: 'api' | 'cli', t0: number): Promise<{ samples: Sample[]; totalMs: number }> {
  const poll = async (): Promise<{ hosts: HostRow[]; status: ServiceStatus[] }> => {
    if (mode === 'cli') {
      const [h, s] = await Promise.all([c.cli(obs, ['--json', 'host', 'ls']), c.cli(obs, ['--json', 'status', '--stack', STACK])]);
      return { hosts: JSON.parse(h) as HostRow[], status: JSON.parse(s) as ServiceStatus[] };
    }
    const [h, s] = await Promise.all([c.api[obs]!.call('hostList'), c.api[obs]!.call('status', { query: { stack: STACK } })]);
    return { hosts: h, status: s };
  };
  const samples: Sample[] = [];
  let totalMs = 0;
  while (Date.now() - t0 < ROUND_LIMIT_MS) {
    const sent = Date.now();
    try {
      const p = await poll();
      const s: Sample = { t: (Date.now() - t0) / 1000, cutState: p.hosts.find((h) => h.name === cutName)?.state, r: p.status[0]?.instances.find((x) => x.replica === replica), states: p.hosts, all: p.status[0]?.instances ?? [], ready: p.status[0]?.ready ?? 0 };
      samples.push(s);
      totalMs += Date.now() - sent;
      if (s.r?.host && s.r.host !== cutName && s.r.healthy && s.r.current) break;
    } catch (e) {
      samples.push({ t: (Date.now() - t0) / 1000, cutState: undefined, r: undefined, error: (e as Error).message });
      totalMs += Date.now() - sent;
    }
    await sleep(Math.max(0, POLL_MS - (Date.now() - sent)));
  }
  return { samples, totalMs };
}

/** The phases, as the first poll that saw each, and the collateral seen on the other hosts and replicas. */
function analyse(r: RoundResult, samples: readonly Sample[], totalMs: number, before: ServiceStatus, others: number[], name: (i: number) => string): void {
  const moved = (s: Sample) => Boolean(s.r?.host && s.r.host !== r.cut);
  const first = (pred: (s: Sample) => boolean) => { const s = samples.find((x) => !x.error && pred(x)); return s ? round(s.t) : null; };
  r.polls = samples.length;
  r.pollErrors = samples.filter((s) => s.error).length;
  r.pollMs = Math.round(totalMs / Math.max(1, samples.length));
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
    if (x.replica === r.replica) continue;
    const s = samples.find((y) => !y.error && !y.all?.some((z) => z.replica === x.replica && z.healthy && z.current));
    if (s) r.othersUnhealthy.push({ replica: x.replica, at: round(s.t) });
  }
}

export interface RoundSetting { k: number; rounds: number; cut: CutKind; poll: 'api' | 'cli'; memberNames: Map<string, string> }

/** Runs round k; pushes its result to results before the cut, so a failure still reports it. */
export async function runRound(c: BenchCluster, o: RoundSetting, results: RoundResult[], linksCut: Set<number>): Promise<void> {
  const before = await until('one healthy replica per host', () => c.converged(0), CONVERGE_LIMIT_MS, c.everything);
  const cs = await until('a leader', async () => {
    const v = await c.api[0]!.call('clusterStatus');
    return v.leader ? v : undefined;
  }, 30_000);
  const leader = cs.leader!;
  const raft = await etcdLeader(c, c.index(leader), o.memberNames);
  const cutName = chooseCut(o.cut, o.k, before, leader, raft);
  const cut = c.index(cutName);
  const others = [0, 1, 2].filter((i) => i !== cut);
  const obs = cut !== c.index(leader) ? c.index(leader) : others[0]!;
  const held = before.instances.find((x) => x.host === cutName);
  if (!held) throw new Error(`round ${o.k + 1}: ${cutName} holds no replica of ${STACK}`);
  const replica = held.replica;
  const imageHolders: string[] = [];
  for (let i = 0; i < 3; i++) if ((await listImages(c.lab.hosts[i]!.dataDir)).some((x) => formatImageRef(x) === IMAGE)) imageHolders.push(c.name(i));

  progress(`round ${o.k + 1}/${o.rounds}: cutting ${cutName} (${o.cut}; replica ${replica}); cellblock leader ${leader}, etcd raft leader ${raft ?? '?'}; polling ${c.name(obs)}; ${IMAGE} on ${imageHolders.join(', ')}`);
  const r: RoundResult = {
    round: o.k + 1, cut: cutName, leader, etcdLeader: raft, observer: c.name(obs), replica, to: null, imageHolders, image: null,
    detection: null, placement: null, pullStart: null, pullEnd: null, creating: null, running: null, healthy: null,
    logs: emptyLogs(), othersDown: [], othersUnhealthy: [], minReady: null,
    answers: null, polls: 0, pollErrors: 0, pollMs: 0, met: false, converged: null,
  };
  results.push(r);
  linksCut.add(cut);
  await c.lab.cut(cut);
  const t0 = Date.now();
  try {
    const { samples, totalMs } = await pollUntilMoved(c, obs, cutName, replica, o.poll, t0);
    analyse(r, samples, totalMs, before, others, c.name);
    await crossCheck(c, r, others, t0, o.memberNames);
    const ip = [...samples].reverse().find((s) => !s.error && s.r?.host && s.r.host !== cutName)?.r?.ip;
    if (r.to && r.healthy !== null && ip) r.answers = await httpGet(c.lab, obs, `http://${ip}:8080/index.html`).then((x) => x.status === 200, () => false);
    if (r.healthy === null) r.error = `replica ${replica} not healthy elsewhere within ${ROUND_LIMIT_MS / 1000} s; last poll: ${JSON.stringify(samples.at(-1))}`;
    progress(`round ${o.k + 1}: down ${r.detection ?? '-'} s, placed on ${r.to ?? '-'} ${r.placement ?? '-'} s, running ${r.running ?? '-'} s, healthy ${r.healthy ?? '-'} s (${r.polls} polls, ${r.pollErrors} failed)`);
  } finally {
    await c.lab.heal(cut);
    linksCut.delete(cut);
  }
  const tBack = Date.now();
  try {
    await until('convergence after the link is back', () => c.converged(obs), CONVERGE_LIMIT_MS, c.everything);
    r.converged = round((Date.now() - tBack) / 1000, 1);
    progress(`round ${o.k + 1}: link back, converged in ${r.converged} s`);
  } catch (e) {
    r.error = [r.error, (e as Error).message].filter(Boolean).join('; ');
    throw e; // the next round would start from an unknown state
  }
}
