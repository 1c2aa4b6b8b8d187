/** The failover benchmark's table and notes (see failover.ts). */
import { table, verdict } from './lib.js';
import { GOAL_S, IMAGE, type CutKind, type FailoverResult, type RoundResult } from './failover-types.js';

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
