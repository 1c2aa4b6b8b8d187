/** The human view of `jail inspect`: one "key  value" line each, usage shown against limits. */
import type { JailInspect } from '../../../jail/service.js';
import { formatSize } from '../../../sys/size.js';

const size = (n: number | null) => (n === null ? '?' : formatSize(n));

export function inspectLines(j: JailInspect): [string, string][] {
  const u = j.usage;
  const lines: [string, string][] = [
    ['name', j.name],
    ['state', j.state + (j.pid !== null ? ` (pid ${j.pid})` : '') + (j.startedAt && j.state === 'running' ? ` since ${j.startedAt}` : '')],
    ['image', j.image],
    ['ip', `${j.ip} (host interface ${j.hostInterface})`],
    ['command', j.command.map(quote).join(' ')],
    ['user', `${j.spec.user.uid}:${j.spec.user.gid}`],
    ['restart', `${j.restart}, ${j.restarts} restart${j.restarts === 1 ? '' : 's'} since last started by hand`],
    ['last exit', lastExit(j)],
    ['memory', `${size(u.memory.usageBytes)} / ${j.spec.memoryBytes === null ? 'unlimited' : formatSize(j.spec.memoryBytes)}${u.memory.oomKills ? ` (${u.memory.oomKills} OOM kill${u.memory.oomKills === 1 ? '' : 's'})` : ''}`],
    ['cpu', `${u.cpu.usageSeconds === null ? '?' : `${round(u.cpu.usageSeconds)}s used`}, limit ${j.spec.cpus === null ? 'none' : `${j.spec.cpus} CPU${j.spec.cpus === 1 ? '' : 's'}`}`],
    ['pids', `${u.pids.current ?? '?'} / ${j.spec.pids}`],
    ['disk', diskText(j)],
    ['env', Object.entries(j.spec.env).map(([k, v]) => `${k}=${v}`).join(' ') || '-'],
    ['rw', j.spec.rw.join(' ') || '-'],
    ['created', j.createdAt],
    ['bundle', j.paths.bundle],
    ['writable', j.paths.writable],
    ['log', j.paths.log],
    ['netns', j.paths.netns],
  ];
  return lines;
}

export function formatInspect(j: JailInspect): string {
  const lines = inspectLines(j);
  const w = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}

function lastExit(j: JailInspect): string {
  if (j.lastExitReason === null && j.lastExitCode === null) return '-';
  return [j.lastExitReason, j.lastExitCode !== null ? `code ${j.lastExitCode}` : null].filter(Boolean).join(', ');
}

function round(n: number): string {
  return n >= 100 ? n.toFixed(0) : n.toFixed(1);
}

/** Quotes an argument for display only; nothing is ever run through a shell. */
function quote(a: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** "12.3M / 1.00G", with what the limit is and whether the pool enforces it. */
export function diskText(j: { disk?: { limitBytes: number | null; usedBytes: number | null; enforced: boolean } }): string {
  const d = j.disk;
  if (!d) return '?';
  if (d.limitBytes === null) return `${size(d.usedBytes)} / no limit`;
  return `${size(d.usedBytes)} / ${formatSize(d.limitBytes)}${d.enforced ? '' : ' (not enforced by this pool\'s driver)'}`;
}
