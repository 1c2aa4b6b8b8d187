/** How `rollout status`, `rollout history` and `apply` show a rollout (pure: tested in test/cli/rollout.test.ts). */
import type { RolloutView } from '../../../api/contract.js';

const short = (h: string) => h.slice(0, 8);
const spec = (r: { specHash: string; image: string } | null) => (r ? `${short(r.specHash)} (${r.image})` : 'unknown');

/** `42s`, `3m05s`. */
export function elapsedText(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** The head line: `web/site: progressing from 1a2b3c4d (site:v1) to 5e6f7a8b (site:v2), 42s elapsed, deadline 2m00s per replica`. */
export function headText(v: RolloutView): string {
  const at = Date.parse(v.now);
  const took = elapsedText((v.endedAt ? Date.parse(v.endedAt) : at) - Date.parse(v.startedAt));
  const tail = v.state === 'progressing'
    ? `, ${took} elapsed${v.current ? `, deadline ${elapsedText(v.current.deadlineMs)} per new replica` : ''}`
    : `, after ${took}`;
  return `${v.stack}/${v.service}: ${v.state} from ${spec(v.from)} to ${spec(v.to)}${tail}`;
}

/** One row per replica: replica, host, spec, in rotation, draining. */
export function replicaRows(v: RolloutView): string[][] {
  const at = Date.parse(v.now);
  return v.replicas.map((r) => [
    `${v.service}#${r.replica}${r.surge ? ' (surge)' : ''}`,
    r.host ?? '-',
    `${short(r.specHash)} ${r.specHash === v.to.specHash ? '(new)' : '(old)'}`,
    r.inRotation ? 'yes' : r.notIn.length ? `no (not on ${r.notIn.join(' ')})` : 'no',
    r.draining ? (r.drainingSince ? `yes, ${elapsedText(at - Date.parse(r.drainingSince))}` : 'yes') : 'no',
  ]);
}

/** `rollout status` without --json: head, reason, replicas, the last events. */
export function statusLines(v: RolloutView, events = 8): string[] {
  const out = [headText(v)];
  if (v.reason) out.push(`reason: ${v.reason}`);
  const rows = replicaRows(v);
  if (rows.length) {
    const cells = [['REPLICA', 'HOST', 'SPEC', 'IN ROTATION', 'DRAINING'], ...rows];
    const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
    for (const r of cells) out.push(`  ${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}`.trimEnd());
  }
  const last = v.events.slice(-events);
  if (last.length) {
    out.push('events:');
    for (const e of last) out.push(`  ${e.at.slice(11, 19)} ${e.text}`);
  }
  return out;
}

/** `rollout history` rows, newest first: the rollout in progress on top. */
export function historyRows(v: RolloutView): string[][] {
  const rows = v.history.map((h) => [h.startedAt.slice(0, 19).replace('T', ' '), spec(h.from), spec(h.to), h.outcome, h.reason ?? '']);
  if (v.state === 'progressing') rows.unshift([v.startedAt.slice(0, 19).replace('T', ' '), spec(v.from), spec(v.to), 'progressing', '']);
  return rows;
}
