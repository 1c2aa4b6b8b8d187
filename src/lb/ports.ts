/**
 * Which TCP ports a program of this host already listens on, so that `apply` refuses to
 * publish a port the load balancer could not bind. Read from /proc/net/tcp and /proc/net/tcp6,
 * which show the sockets of the reader's network namespace (a lab host's agent sees its
 * host's). The parser is pure; `portsInUse` reads /proc through the given functions.
 *
 * HAProxy's own sockets are left out (a process named `haproxy`): the ports the cluster's load
 * balancer already holds are no conflict.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';

/** A listening socket: its local port and the inode that names it in /proc/PID/fd. */
export interface Listener { port: number; inode: string }

/** TCP state 0A is LISTEN (include/net/tcp_states.h). */
const LISTEN = '0A';

/** The listening sockets of one /proc/net/tcp or /proc/net/tcp6 text (header line skipped). */
export function parseProcNetTcp(text: string): Listener[] {
  const out: Listener[] = [];
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 10 || cols[3] !== LISTEN) continue;
    const local = cols[1]!;
    const port = parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
    if (Number.isInteger(port) && port > 0) out.push({ port, inode: cols[9]! });
  }
  return out;
}

export interface ProcFs {
  readFile(path: string): Promise<string>;
  readdir(path: string): Promise<string[]>;
  readlink(path: string): Promise<string>;
}

export const realProc: ProcFs = {
  readFile: (p) => readFile(p, 'utf8'),
  readdir: (p) => readdir(p),
  readlink: (p) => readlink(p),
};

const NOT_THERE = new Set(['ENOENT', 'ESRCH', 'EACCES', 'ENOTDIR']);
/** A process may end while it is read, and /proc/net/tcp6 is absent without IPv6: such reads count as empty. */
async function tolerant<T>(read: () => Promise<T>, empty: T): Promise<T> {
  try {
    return await read();
  } catch (e) {
    if (NOT_THERE.has((e as NodeJS.ErrnoException).code ?? '')) return empty;
    throw e;
  }
}

/** Of `ports`, those a program other than HAProxy listens on here, with that program's name when it can be found. */
export async function portsInUse(ports: readonly number[], proc: ProcFs = realProc): Promise<{ port: number; process?: string }[]> {
  const wanted = new Set(ports);
  const listeners = [
    ...parseProcNetTcp(await proc.readFile('/proc/net/tcp')),
    ...parseProcNetTcp(await tolerant(() => proc.readFile('/proc/net/tcp6'), '')),
  ].filter((l) => wanted.has(l.port));
  if (listeners.length === 0) return [];
  const owners = await socketOwners(new Set(listeners.map((l) => l.inode)), proc);
  const byPort = new Map<number, string | undefined>();
  for (const l of listeners) {
    const owner = owners.get(l.inode);
    if (owner === 'haproxy') continue;
    if (!byPort.has(l.port) || byPort.get(l.port) === undefined) byPort.set(l.port, owner);
  }
  return [...byPort].sort((a, b) => a[0] - b[0]).map(([port, process]) => (process !== undefined ? { port, process } : { port }));
}

/** inode -> the name (comm) of a process that holds the socket; scans /proc/PID/fd. */
async function socketOwners(inodes: ReadonlySet<string>, proc: ProcFs): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const pids = (await proc.readdir('/proc')).filter((d) => /^\d+$/.test(d));
  for (const pid of pids) {
    if (out.size === inodes.size) break;
    const fds = await tolerant(() => proc.readdir(`/proc/${pid}/fd`), [] as string[]);
    for (const fd of fds) {
      const link = await tolerant(() => proc.readlink(`/proc/${pid}/fd/${fd}`), '');
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (!m || !inodes.has(m[1]!) || out.has(m[1]!)) continue;
      const name = (await tolerant(() => proc.readFile(`/proc/${pid}/comm`), '')).trim();
      if (name) out.set(m[1]!, name);
    }
  }
  return out;
}
