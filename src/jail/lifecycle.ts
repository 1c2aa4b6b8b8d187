/**
 * Starting and stopping one jail: network, conmon (which runs `runc create`), `runc start`;
 * and the reverse. Each step is idempotent, so a pass after a crash at any point converges.
 */
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { Exec } from '../sys/exec.js';
import { whichTool } from '../sys/exec.js';
import { ExecError, UserError } from '../sys/errors.js';
import { conmonArgv, superviseLayout, type SuperviseLayout } from './conmon.js';
import { jailNames } from './naming.js';
import type { NetworkRuntime } from './network-runtime.js';
import { parseRuncLogErrors } from './runc.js';
import type { RuncRuntime } from './runtime.js';
import { bundleDirOf, jailDir, type JailRecord } from './record.js';
import { timed, type OnStep } from './timing.js';

export interface LifecycleDeps {
  exec: Exec;
  dataDir: string;
  runc: RuncRuntime;
  net: NetworkRuntime;
  /** Told how long each step of a start took (benchmarks). */
  onStep?: OnStep;
}

const CREATE_WAIT_MS = 15_000;

export function layoutOf(dataDir: string, name: string): SuperviseLayout {
  return superviseLayout(jailDir(dataDir, name), name);
}

async function readInt(path: string): Promise<number | null> {
  try {
    const n = parseInt((await readFile(path, 'utf8')).trim(), 10);
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

/** The exit code conmon recorded for the last run, and whether it was OOM-killed. */
export async function lastExit(dataDir: string, name: string): Promise<{ exitCode: number | null; oomKilled: boolean }> {
  const l = layoutOf(dataDir, name);
  const exitCode = await readInt(l.exitFile);
  // conmon's marker alone over-reports on cgroup v1 (the memory cgroup's eventfd also fires
  // when the cgroup goes away); an OOM kill is a SIGKILL, so the run must also have ended with 137
  const marker = await readFile(l.oomFile).then(() => true, () => false);
  return { exitCode, oomKilled: marker && (exitCode === 137 || exitCode === null) };
}

function pidAlive(pid: number | null): boolean {
  if (!pid) return false;
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; } // ESRCH: gone; EPERM: alive, not ours
}

/**
 * Starts the jail's process; resolves with its init PID once runc has started it.
 * `fresh`: the jail was just created, so there is no earlier run to clean up after.
 */
export async function startJail(d: LifecycleDeps, rec: JailRecord, opts: { fresh?: boolean } = {}): Promise<number> {
  const names = jailNames(rec.spec.instance, rec.name);
  const l = layoutOf(d.dataDir, rec.name);
  if (!opts.fresh) {
    const state = await d.runc.state(names.containerId);
    if (state?.status === 'running') return state.pid;
    // leftovers of the previous run: a stopped container, its network, its exit files
    await d.runc.delete(names.containerId);
    await d.net.teardownJailNetwork(names);
  }
  const t = d.onStep;
  await timed(t, 'run dir', async () => {
    await rm(l.dir, { recursive: true, force: true });
    for (const dir of [l.exitDir, l.persistDir, l.socketDir]) await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(l.runcLog, '', { mode: 0o600 });
  });

  await timed(t, 'bridge', () => d.net.ensureBridge());
  await timed(t, 'network', () => d.net.setupJailNetwork(names, rec.ip));
  try {
    const runcPath = (await whichTool('runc')) ?? 'runc';
    const conmonT0 = t ? performance.now() : 0;
    // conmon forks into the background and keeps its stdio: give it /dev/null, not a pipe that would never close
    const devnull = await open('/dev/null', 'w');
    try {
      // cwd: conmon also drops its "oom" marker into its working directory
      await d.exec(conmonArgv({ id: names.containerId, bundle: bundleDirOf(d.dataDir, rec.name), runcPath, runcRoot: d.runc.global.root, layout: l }), { outputFd: devnull.fd, timeoutMs: CREATE_WAIT_MS, cwd: l.dir });
    } finally {
      await devnull.close();
    }
    t?.('conmon', performance.now() - conmonT0);
    await timed(t, 'runc create (wait)', () => waitCreated(d, rec.name, l));
    await timed(t, 'runc start', () => d.runc.start(names.containerId));
    const pid = await readInt(l.initPid);
    if (!pid) throw new UserError(`jail ${rec.name} started but runc wrote no PID`, `see ${l.runcLog}`);
    return pid;
  } catch (e) {
    const left: string[] = [];
    await d.runc.delete(names.containerId).catch((ce: unknown) => { left.push(`container: ${(ce as Error).message}`); });
    await d.net.teardownJailNetwork(names).catch((ce: unknown) => { left.push(`network: ${(ce as Error).message}`); });
    // no logger here: what could not be undone goes with the error (the next start or remove retries both)
    if (left.length && e instanceof Error) e.message += ` (and could not undo: ${left.join('; ')})`;
    throw e;
  }
}

/** conmon writes the container PID file once `runc create` succeeded, the exit file if it failed. */
async function waitCreated(d: LifecycleDeps, name: string, l: SuperviseLayout): Promise<void> {
  const deadline = Date.now() + CREATE_WAIT_MS;
  for (let i = 0; ; i++) {
    if ((await readInt(l.initPid)) !== null) return;
    const conmonPid = await readInt(l.conmonPid);
    const exited = await readInt(l.exitFile);
    if (exited !== null || (conmonPid !== null && !pidAlive(conmonPid)) || Date.now() > deadline) {
      const st = await d.runc.state(name);
      if (st?.status === 'created' || st?.status === 'running') return;
      // no runc.log: the ExecError below says how it failed without runc's reasons
      const reasons = parseRuncLogErrors(await readFile(l.runcLog, 'utf8').catch(() => ''));
      throw new ExecError(['runc', 'create', name], exited, reasons.slice(-3).join('\n') || (Date.now() > deadline ? 'timed out waiting for the container to be created' : 'conmon exited before the container was created'));
    }
    await new Promise((r) => setTimeout(r, i < 100 ? 2 : 20));
  }
}

/** SIGTERM, then SIGKILL after timeoutSeconds; removes the container and its network. */
export async function stopJail(d: LifecycleDeps, rec: JailRecord, timeoutSeconds = 10): Promise<void> {
  const names = jailNames(rec.spec.instance, rec.name);
  if (await d.runc.kill(names.containerId, 'TERM', { all: true })) {
    const deadline = Date.now() + timeoutSeconds * 1000;
    while (Date.now() < deadline && (await d.runc.state(names.containerId))?.status === 'running') {
      await new Promise((r) => setTimeout(r, 50));
    }
    if ((await d.runc.state(names.containerId))?.status === 'running') await d.runc.kill(names.containerId, 'KILL', { all: true });
  }
  await waitExitRecorded(layoutOf(d.dataDir, rec.name));
  await d.runc.delete(names.containerId);
  await d.net.teardownJailNetwork(names);
}

/**
 * conmon writes the exit file within milliseconds of the container's end (then lingers about a
 * second draining and closing; it exits by itself). Wait for the file, so the exit code is kept.
 */
async function waitExitRecorded(l: SuperviseLayout): Promise<void> {
  const conmon = await readInt(l.conmonPid);
  const deadline = Date.now() + 5000;
  while ((await readInt(l.exitFile)) === null && pidAlive(conmon) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
}

