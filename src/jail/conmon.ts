/**
 * conmon (Debian package `conmon`, the container monitor of podman and CRI-O) is each jail's
 * supervisor process: it runs `runc create`, holds the container's stdout and stderr, writes
 * them to a size-capped log (k8s-file format), and writes the exit code to a file when the
 * container ends. It is a small C daemon of its own session, so the jail and its log keep
 * going while the agent is killed and restarted; the agent reads the exit file and applies
 * the restart policy. (`runc run -d` alone would leave nobody to collect the exit code.)
 */
import { join } from 'node:path';
import type { Argv } from './net.js';

/** Files of one jail's supervision, under DATA_DIR/jails/NAME/. */
export interface SuperviseLayout {
  dir: string;
  /** conmon writes `<id>` here, holding the exit code, when the container ends. */
  exitDir: string;
  exitFile: string;
  /** conmon writes `oom` here when the container was OOM-killed. */
  persistDir: string;
  oomFile: string;
  conmonPid: string;
  /** The container's init PID. */
  initPid: string;
  /** stdout+stderr of the jail, k8s-file format, at most LOG_SIZE_MAX bytes. */
  log: string;
  /** conmon's attach socket dir (must exist, even unused). */
  socketDir: string;
  runcLog: string;
}

export const LOG_SIZE_MAX = 8 * 1024 * 1024;

export function superviseLayout(jailDir: string, id: string): SuperviseLayout {
  const run = join(jailDir, 'run');
  return {
    dir: run,
    exitDir: join(run, 'exit'),
    exitFile: join(run, 'exit', id),
    persistDir: join(run, 'persist'),
    oomFile: join(run, 'persist', 'oom'),
    conmonPid: join(run, 'conmon.pid'),
    initPid: join(run, 'init.pid'),
    log: join(jailDir, 'console.log'),
    socketDir: join(run, 'sock'),
    runcLog: join(run, 'runc.log'),
  };
}

export interface ConmonOptions {
  id: string;
  bundle: string;
  runcPath: string;
  runcRoot: string;
  layout: SuperviseLayout;
  logSizeMax?: number;
}

/** argv of `conmon` creating container `id` (it is then started with `runc start`). */
export function conmonArgv(o: ConmonOptions): Argv {
  const l = o.layout;
  return [
    'conmon',
    '--api-version', '1',
    '--cid', o.id,
    '--cuuid', o.id,
    '--name', o.id,
    '--runtime', o.runcPath,
    '--bundle', o.bundle,
    '--container-pidfile', l.initPid,
    '--conmon-pidfile', l.conmonPid,
    '--log-path', `k8s-file:${l.log}`,
    '--log-size-max', String(o.logSizeMax ?? LOG_SIZE_MAX),
    '--exit-dir', l.exitDir,
    '--persist-dir', l.persistDir,
    '--socket-dir-path', l.socketDir,
    '--runtime-arg', '--root',
    '--runtime-arg', o.runcRoot,
    '--runtime-arg', '--log',
    '--runtime-arg', l.runcLog,
    '--runtime-arg', '--log-format',
    '--runtime-arg', 'json',
  ];
}
