/**
 * The failover benchmark's cross-check from the agents' and etcd's own logs (ms timestamps):
 * when a new raft leader and a new cellblock leader were elected, host leases lost, the
 * placement written and the target host's first action and pull.
 */
import { readdir, readFile } from 'node:fs/promises';
import { etcdLayout } from '../src/cluster/etcd.js';
import { round } from './lib.js';
import { IMAGE, STACK, type RoundResult } from './failover-types.js';
import type { BenchCluster } from './failover-setup.js';

export interface LogLine { t: number; msg: string; rec: Record<string, unknown> }

/** Lines of an agent log (pino JSON) at or after t0 (ms), parsed. */
export function logSince(log: string, t0: number): LogLine[] {
  const out: LogLine[] = [];
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
export function etcdLogSince(log: string, t0: number): { t: number; msg: string }[] {
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
export async function otherAgents(mine: string[]): Promise<number> {
  let n = 0;
  for (const name of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue;
    const argv = (await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (argv.some((a) => a.endsWith('bin/cellblock')) && argv.includes('agent') && !mine.some((d) => argv.includes(d))) n++;
  }
  return n;
}

/** The other hosts' logs until healthy (or now): leader elections, leases lost, placements. */
async function othersLogs(c: BenchCluster, r: RoundResult, others: number[], t0: number, memberNames: Map<string, string>): Promise<void> {
  const tEnd = r.healthy === null ? Infinity : t0 + r.healthy * 1000 + 1000;
  const sec = (t: number) => round((t - t0) / 1000);
  for (const i of others) {
    for (const l of logSince(await c.lab.agentLog(i), t0)) {
      if (l.t > tEnd) break;
      if (l.msg.startsWith('elected leader') && (!r.logs.leaderElected || sec(l.t) < r.logs.leaderElected.at)) r.logs.leaderElected = { at: sec(l.t), host: c.name(i) };
      if (l.msg.startsWith('host lease lost')) r.logs.leasesLost.push({ at: sec(l.t), host: c.name(i), reason: String(l.rec['reason'] ?? '') });
      if (l.msg === 'placement') r.logs.placements.push({ at: sec(l.t), host: c.name(i), decision: String(l.rec['decision'] ?? '') });
    }
    const elog = await readFile(etcdLayout(c.lab.hosts[i]!.dataDir).log, 'utf8').catch(() => '');
    for (const l of etcdLogSince(elog, t0)) {
      const m = /elected leader (\w+) at term/.exec(l.msg);
      if (!m || l.t > tEnd) continue;
      if (!r.logs.raftElected || l.t - t0 < r.logs.raftElected.at * 1000) r.logs.raftElected = { at: sec(l.t), leader: memberNames.get(m[1]!) ?? m[1]! };
      break;
    }
  }
  r.logs.placements.sort((a, b) => a.at - b.at);
  r.logs.leasesLost.sort((a, b) => a.at - b.at);
  r.logs.placementWritten = r.logs.placements.find((p) => p.decision.startsWith(`${STACK}/site#${r.replica}:`))?.at ?? null;
}

/** The target host's first action on the moved replica's jail (not another replica moved meanwhile) and its pull. */
async function targetLogs(c: BenchCluster, r: RoundResult, t0: number): Promise<void> {
  if (!r.to) return;
  const targetLog = logSince(await c.lab.agentLog(c.index(r.to)), t0);
  const jailRe = new RegExp(`\\b${STACK}\\.site\\.${r.replica}\\b`);
  const act = targetLog.find((l) => l.msg === 'reconcile' && jailRe.test(String(l.rec['decision'] ?? '')));
  r.logs.targetActs = act ? round((act.t - t0) / 1000) : null;
  r.logs.targetDecision = act ? String(act.rec['decision']) : null;
  const pulled = targetLog.find((l) => l.msg.startsWith(`pulled image ${IMAGE}`));
  r.logs.pulled = pulled ? { seconds: Number(pulled.rec['seconds']), bytes: Number(pulled.rec['bytes']) } : null;
  r.image = r.pullStart !== null || pulled ? 'pulled' : 'present';
}

/** Fills r.logs (and r.image) from every log, with the agents' own clocks. */
export async function crossCheck(c: BenchCluster, r: RoundResult, others: number[], t0: number, memberNames: Map<string, string>): Promise<void> {
  await othersLogs(c, r, others, t0, memberNames);
  await targetLogs(c, r, t0);
}
