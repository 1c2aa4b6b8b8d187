/**
 * HAProxy's process on this host: master-worker, detached (`-D`), so it outlives an agent
 * restart as jails do and the data path keeps going. Its pid file, sockets, config, state file
 * and certificates live under DATA_DIR/lb/ (haproxy-config.ts lbPaths).
 *
 * - adopt: a running one is found by its pid file and an admin socket that answers;
 * - start/reload: the config is written to a new file and checked with `haproxy -c` first; a bad
 *   config throws an ExecError with the command, exit code and stderr, and the running HAProxy
 *   keeps its old one. A reload is hitless: `show servers state` is saved to the state file,
 *   the checked file replaces the old one, SIGUSR2 to the master; the new worker loads the
 *   servers' state from the file;
 * - stop: SIGUSR1 (soft stop: finish what is in flight, up to hard-stop-after), then SIGTERM
 *   and SIGKILL if it lingers.
 */
import { chmod, mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ExecError } from '../sys/errors.js';
import type { Exec } from '../sys/exec.js';
import { api, send } from './haproxy-api.js';
import type { LbPaths } from './haproxy-config.js';
import type { DesiredCert } from './desired.js';
import { pidFromFile, stopPid } from '../sys/proc.js';

export interface HaproxyProcessOptions {
  paths: LbPaths;
  exec: Exec;
  /** The haproxy binary (default: haproxy on PATH). */
  binary?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** argv of the master: master-worker, daemon, its CLI socket (mode 600), the pid file. */
export function haproxyArgv(p: LbPaths, binary = 'haproxy'): string[] {
  return [binary, '-W', '-D', '-S', `${p.master},mode,600`, '-p', p.pid, '-f', p.config];
}

/** argv of the config check. */
export function haproxyCheckArgv(file: string, binary = 'haproxy'): string[] {
  return [binary, '-c', '-f', file]; // not -q: it hides the errors too
}

export class HaproxyProcess {
  constructor(private readonly o: HaproxyProcessOptions) {}

  private get bin(): string {
    return this.o.binary ?? 'haproxy';
  }

  /** The master's pid, when its pid file names a live haproxy process. */
  async pid(): Promise<number | undefined> {
    return pidFromFile(this.o.paths.pid, (argv) => {
      const cmdline = argv.join('\0');
      return cmdline.includes('haproxy') && cmdline.includes(this.o.paths.config);
    });
  }

  /** Running: a live master and an admin socket that answers. */
  async running(): Promise<boolean> {
    if ((await this.pid()) === undefined) return false;
    return this.answers();
  }

  async answers(): Promise<boolean> {
    try {
      return (await send(this.o.paths.admin, 'show info', 1000)).includes('Pid:');
    } catch {
      return false; // not answering is the answer
    }
  }

  private async workerPid(): Promise<string | undefined> {
    const info = await send(this.o.paths.admin, 'show info', 1000).catch(() => ''); // not answering: no worker
    return /^Pid: (\d+)$/m.exec(info)?.[1];
  }

  /** Writes the certificate files (0600) and removes the ones no service uses any more. */
  async writeCerts(certs: readonly DesiredCert[]): Promise<void> {
    await mkdir(this.o.paths.certs, { recursive: true, mode: 0o700 });
    const keep = new Set<string>();
    for (const c of certs) {
      keep.add(c.file);
      const now = await readFile(c.file, 'utf8').catch(() => undefined); // absent: written below
      if (now === c.pem) continue;
      await writeFile(`${c.file}.tmp`, c.pem, { mode: 0o600 });
      await chmod(`${c.file}.tmp`, 0o600);
      await rename(`${c.file}.tmp`, c.file);
    }
    for (const n of await readdir(this.o.paths.certs)) {
      const f = join(this.o.paths.certs, n);
      if (!keep.has(f)) await rm(f, { force: true });
    }
  }

  /** Writes text to DIR/haproxy.cfg.new and checks it; throws the check's ExecError. */
  private async prepare(text: string): Promise<string> {
    await mkdir(this.o.paths.dir, { recursive: true, mode: 0o700 });
    const next = `${this.o.paths.config}.new`;
    await writeFile(next, text, { mode: 0o600 });
    await this.o.exec(haproxyCheckArgv(next, this.bin), { timeoutMs: 30_000 });
    return next;
  }

  /** Checks and starts HAProxy with text as its config; resolves once its admin socket answers. */
  async start(text: string): Promise<void> {
    const next = await this.prepare(text);
    await rename(next, this.o.paths.config);
    await writeFile(this.o.paths.state, '', { flag: 'a', mode: 0o600 }); // HAProxy warns when it is missing
    await rm(this.o.paths.admin, { force: true });
    const logFd = await open(this.o.paths.log, 'a', 0o600);
    const argv = haproxyArgv(this.o.paths, this.bin);
    try {
      await this.o.exec(argv, { outputFd: logFd.fd, timeoutMs: 30_000 });
    } catch (err) {
      const tail = (await readFile(this.o.paths.log, 'utf8').catch(() => '')).split('\n').slice(-10).join('\n'); // its log says why
      throw err instanceof ExecError ? new ExecError(argv, err.exitCode, tail || err.stderr, err.kind, err.signal) : err;
    } finally {
      await logFd.close();
    }
    for (let i = 0; i < 50; i++) {
      if (await this.answers()) return;
      await sleep(100);
    }
    throw new ExecError(argv, 0, `started, but ${this.o.paths.admin} does not answer after 5 s`, 'timeout');
  }

  /** Checks text, saves the servers' state, replaces the config and reloads (SIGUSR2 to the master). */
  async reload(text: string): Promise<void> {
    const pid = await this.pid();
    if (pid === undefined) return this.start(text);
    const next = await this.prepare(text);
    const state = await send(this.o.paths.admin, api.showServersState().text);
    await writeFile(this.o.paths.state, state, { mode: 0o600 });
    const before = await this.workerPid();
    await rename(next, this.o.paths.config);
    process.kill(pid, 'SIGUSR2');
    for (let i = 0; i < 100; i++) {
      await sleep(50);
      const now = await this.workerPid();
      if (now !== undefined && now !== before) return;
    }
    throw new ExecError(['kill', '-USR2', String(pid)], 0, 'HAProxy did not answer with a new worker within 5 s of the reload', 'timeout');
  }

  /** Stops HAProxy (soft stop, then TERM, then KILL) and removes its sockets and pid file. */
  async stop(graceMs = 5000): Promise<void> {
    const pid = await this.pid();
    if (pid !== undefined) await stopPid(pid, [['SIGUSR1', graceMs], ['SIGTERM', 2000], ['SIGKILL', 0]]);
    for (const f of [this.o.paths.pid, this.o.paths.admin, this.o.paths.master, this.o.paths.shape]) await rm(f, { force: true });
  }
}
