/**
 * The agent's unix socket, DATA_DIR/run/agent.sock: only root may connect. The directory is
 * 0700 root, the socket 0600 root; the agent checks both after listening, and the client
 * checks them before talking (a socket planted by someone else would see every request).
 */
import { connect } from 'node:net';
import type { Server } from 'node:http';
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UserError } from '../sys/errors.js';

export const ROOT_UID = 0;

export function runDir(dataDir: string): string {
  return join(dataDir, 'run');
}

export function socketPath(dataDir: string): string {
  return join(runDir(dataDir), 'agent.sock');
}

export function pidFilePath(dataDir: string): string {
  return join(runDir(dataDir), 'agent.pid');
}

export function agentNotRunning(path: string): UserError {
  const dataDir = dirname(dirname(path));
  return new UserError(
    `the cellblock agent is not running for ${dataDir}`,
    `start it: cellblock agent --data-dir ${dataDir} (or enable the systemd unit)`,
  );
}

export function onlyRoot(): UserError {
  return new UserError('only root may talk to the agent', 'run with sudo');
}

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

/** Makes DATA_DIR/run, 0700 and owned by root; refuses one that is anything else. */
export async function ensureRunDir(dataDir: string, uid = ROOT_UID): Promise<string> {
  const dir = runDir(dataDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await lstat(dir);
  if (!st.isDirectory()) throw new UserError(`${dir} is not a directory`, `remove it; the agent makes ${dir} itself`);
  if (st.uid !== uid) throw new UserError(`${dir} is owned by uid ${st.uid}, not root`, `remove it (rm -r ${dir}) and start the agent as root`);
  if ((st.mode & 0o777) !== 0o700) await chmod(dir, 0o700);
  return dir;
}

/** Whether something accepts connections on the unix socket `path`. */
export function probeSocket(path: string, timeoutMs = 2000): Promise<'answers' | 'refused' | 'missing'> {
  return new Promise((resolve, reject) => {
    const sock = connect({ path });
    const timer = setTimeout(() => { sock.destroy(); resolve('answers'); }, timeoutMs);
    sock.once('connect', () => { clearTimeout(timer); sock.destroy(); resolve('answers'); });
    sock.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ECONNREFUSED') resolve('refused');
      else if (err.code === 'ENOENT') resolve('missing');
      else reject(err);
    });
  });
}

/**
 * Refuses to go on when an agent answers on `path`; removes a socket file nobody answers on
 * (left by an agent that was killed). Anything at `path` that is not a socket is refused.
 */
export async function clearStaleSocket(path: string): Promise<void> {
  const st = await lstatOrUndefined(path);
  if (!st) return;
  if (!st.isSocket()) throw new UserError(`${path} exists and is not a socket`, `remove it (rm ${path}); the agent makes its socket itself`);
  const state = await probeSocket(path);
  if (state === 'answers') {
    throw new UserError(`an agent is already running for this data dir (it answers on ${path})`, 'stop it first (systemctl stop cellblock-agent, or kill the PID in agent.pid next to the socket), or use another --data-dir');
  }
  if (state === 'refused') await unlink(path).catch((e: NodeJS.ErrnoException) => { if (e.code !== 'ENOENT') throw e; });
}

/**
 * Listens on DATA_DIR/run/agent.sock with `server`: run dir made and checked, stale socket cleared, then
 * mode 0600 and owner root verified (or the server is closed and the start refused).
 */
export async function listenOnSocket(server: Server, dataDir: string, uid = ROOT_UID): Promise<string> {
  const path = socketPath(dataDir);
  await ensureRunDir(dataDir, uid);
  await clearStaleSocket(path);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') reject(new UserError(`an agent is already running for this data dir (${path} is in use)`, 'stop it first, or use another --data-dir'));
      else reject(err);
    };
    const onListening = () => { server.off('error', onError); resolve(); };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(path);
  });
  try {
    await chmod(path, 0o600);
    const st = await lstat(path);
    if (!st.isSocket() || st.uid !== uid || (st.mode & 0o777) !== 0o600) {
      throw new UserError(`the agent socket ${path} is not safe: owner uid ${st.uid}, mode ${octal(st.mode)}`, 'start the agent as root on a local filesystem that supports unix socket permissions');
    }
  } catch (e) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await unlink(path).catch(() => {}); // best effort: the socket may be gone already; the error below is what matters
    throw e;
  }
  return path;
}

/**
 * The client's check before connecting: the socket must exist, be a socket, be owned by root
 * and allow no group or other access; its directory must be root's and not writable by
 * others. Otherwise someone else may have put it there.
 */
export async function checkSocketSafe(path: string, uid = ROOT_UID): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw agentNotRunning(path);
    if (code === 'EACCES' || code === 'EPERM') throw onlyRoot();
    throw e;
  }
  const plant = 'remove it and restart the agent as root: whoever made it could read and answer every request';
  if (!st.isSocket()) throw new UserError(`refusing to use ${path}: it is not a socket`, plant);
  if (st.uid !== uid) throw new UserError(`refusing to use ${path}: it is owned by uid ${st.uid}, not root`, plant);
  if ((st.mode & 0o077) !== 0) throw new UserError(`refusing to use ${path}: its mode ${octal(st.mode)} lets group or others use it`, plant);
  const dir = await lstat(dirname(path));
  if (!dir.isDirectory() || dir.uid !== uid || (dir.mode & 0o022) !== 0) {
    throw new UserError(`refusing to use ${path}: its directory ${dirname(path)} is not root's alone (owner uid ${dir.uid}, mode ${octal(dir.mode)})`, plant);
  }
}

async function lstatOrUndefined(path: string) {
  try {
    return await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}
