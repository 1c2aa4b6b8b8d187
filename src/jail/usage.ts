/** Current resource usage of a running jail, read from its cgroup (v1 controllers or v2). */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cgroupDirs } from './cgroups.js';

async function num(path: string): Promise<number | null> {
  try {
    const t = (await readFile(path, 'utf8')).trim();
    if (t === 'max') return null;
    const n = Number(t.split(/\s+/)[0]);
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

async function keyed(path: string, key: string): Promise<number | null> {
  try {
    const line = (await readFile(path, 'utf8')).split('\n').find((l) => l.startsWith(`${key} `));
    return line ? Number(line.split(' ')[1]) : null;
  } catch {
    return null;
  }
}

export interface CgroupUsage {
  memoryBytes: number | null;
  oomKills: number | null;
  cpuSeconds: number | null;
  pids: number | null;
}

export async function cgroupUsage(cgroupsPath: string): Promise<CgroupUsage> {
  const dirs = await cgroupDirs(cgroupsPath);
  if (dirs.memory || dirs.cpuacct || dirs.pids) {
    const cpuNs = dirs.cpuacct ? await num(join(dirs.cpuacct, 'cpuacct.usage')) : null;
    return {
      memoryBytes: dirs.memory ? await num(join(dirs.memory, 'memory.usage_in_bytes')) : null,
      oomKills: dirs.memory ? await keyed(join(dirs.memory, 'memory.oom_control'), 'oom_kill') : null,
      cpuSeconds: cpuNs === null ? null : cpuNs / 1e9,
      pids: dirs.pids ? await num(join(dirs.pids, 'pids.current')) : null,
    };
  }
  const unified = dirs[''] ?? dirs.unified;
  if (!unified) return { memoryBytes: null, oomKills: null, cpuSeconds: null, pids: null };
  const usec = await keyed(join(unified, 'cpu.stat'), 'usage_usec');
  return {
    memoryBytes: await num(join(unified, 'memory.current')),
    oomKills: await keyed(join(unified, 'memory.events'), 'oom_kill'),
    cpuSeconds: usec === null ? null : usec / 1e6,
    pids: await num(join(unified, 'pids.current')),
  };
}
