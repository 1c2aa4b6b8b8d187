/**
 * EmbeddedEtcd: the one-member etcd a single host runs under its data dir, so a first run
 * needs no cluster. Like a jail's conmon it is its own session with its log as stdio, so it
 * keeps running while the agent is killed and restarted; the restarted agent adopts it by its
 * PID file (checked against /proc/PID/cmdline, never a reused PID) and its /health.
 */
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { spawnDetached as realSpawnDetached } from '../sys/exec.js';
import { UserError } from '../sys/errors.js';
import { exists, readJson, writeJsonAtomic } from '../sys/fsutil.js';
import { checkName } from '../sys/names.js';
import { checkMember, clientUrl, etcdArgv, etcdLayout, isEtcdFor, parseHealth, type EtcdLayout, type EtcdMember } from './etcd.js';

export interface EmbeddedEtcdOptions {
  dataDir: string;
  /** Member name on first use (later runs keep the recorded one). Default 'default'. */
  name?: string;
  /** Path of the etcd binary; default `etcd` on PATH. */
  binary?: string;
  spawnDetached?: typeof realSpawnDetached;
  /** How long ensureRunning waits for a started etcd to report healthy. */
  startTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A process that exists and is not a zombie (an adopted etcd's parent may never reap it). */
async function pidAlive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => ''); // no such process: not alive
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== '' && state !== 'Z' && state !== 'X';
}

/** Two distinct free TCP ports on 127.0.0.1, found by binding to port 0 (both held at once). */
export async function freePortPair(): Promise<[number, number]> {
  const listen = () => new Promise<Server>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
  const a = await listen();
  const b = await listen().catch(async (e) => { await close(a); throw e; });
  const ports: [number, number] = [(a.address() as AddressInfo).port, (b.address() as AddressInfo).port];
  await Promise.all([close(a), close(b)]);
  return ports;
}

function close(s: Server): Promise<void> {
  return new Promise((r) => s.close(() => r()));
}

export class EmbeddedEtcd {
  readonly layout: EtcdLayout;
  private member: EtcdMember | undefined;
  private readonly spawn: typeof realSpawnDetached;

  constructor(private readonly opts: EmbeddedEtcdOptions) {
    this.layout = etcdLayout(opts.dataDir);
    this.spawn = opts.spawnDetached ?? realSpawnDetached;
  }

  /** http://127.0.0.1:PORT, once the member record exists (after ensureRunning or load). */
  get endpoint(): string {
    if (!this.member) throw new Error('EmbeddedEtcd.endpoint read before ensureRunning()');
    return clientUrl(this.member);
  }

  /** The recorded member (name, ports), creating DATA_DIR/etcd.json with free ports on first use. */
  async load(): Promise<EtcdMember> {
    if (this.member) return this.member;
    const rec = await readJson<unknown>(this.layout.config);
    if (rec !== undefined) {
      this.member = checkMember(rec, this.layout.config);
    } else {
      const [clientPort, peerPort] = await freePortPair();
      this.member = { name: checkName('host', this.opts.name ?? 'default'), clientPort, peerPort };
      await writeJsonAtomic(this.layout.config, this.member);
    }
    return this.member;
  }

  /** PID of our etcd if the PID file names a live etcd on our data dir, else undefined. */
  async pid(): Promise<number | undefined> {
    const n = parseInt((await readFile(this.layout.pidFile, 'utf8').catch(() => '')).trim(), 10); // no pid file: not running
    if (!Number.isInteger(n) || n <= 0 || !(await pidAlive(n))) return undefined;
    const cmdline = await readFile(`/proc/${n}/cmdline`, 'utf8').catch(() => ''); // gone since: not ours
    return isEtcdFor(cmdline, this.layout.dataDir) ? n : undefined;
  }

  /**
   * Replaces the member record (cluster init/join/leave). Only while etcd is stopped: the
   * record decides the argv of the next start.
   */
  async configure(member: EtcdMember): Promise<void> {
    if ((await this.pid()) !== undefined) throw new Error('EmbeddedEtcd.configure() while etcd runs; stop() it first');
    this.member = checkMember(member, this.layout.config);
    await writeJsonAtomic(this.layout.config, this.member);
  }

  /** Removes etcd's data (a member leaving, or a single host joining a cluster). etcd must be stopped. */
  async wipe(): Promise<void> {
    if ((await this.pid()) !== undefined) throw new Error('EmbeddedEtcd.wipe() while etcd runs; stop() it first');
    await rm(this.layout.dataDir, { recursive: true, force: true });
  }

  /** GET /health answered {"health":"true"} within timeoutMs (over TLS with the host's certificate in a cluster). */
  async health(timeoutMs = 2000): Promise<boolean> {
    const member = await this.load();
    try {
      if (!member.cluster) {
        const res = await fetch(`${clientUrl(member)}/health`, { signal: AbortSignal.timeout(timeoutMs) });
        return res.ok && parseHealth(await res.text());
      }
      const t = member.cluster.tls;
      const [ca, cert, key] = await Promise.all([readFile(t.caFile), readFile(t.certFile), readFile(t.keyFile)]);
      const body = await new Promise<string>((resolve, reject) => {
        const req = httpsRequest(`${clientUrl(member)}/health`, { ca, cert, key, timeout: timeoutMs, agent: false }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`status ${res.statusCode}`))));
          res.on('error', reject);
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', reject);
        req.end();
      });
      return parseHealth(body);
    } catch {
      return false;
    }
  }

  /**
   * Adopts the running etcd of this data dir, or starts one; resolves with its PID once it is
   * healthy. Idempotent: calling it again (or from a restarted agent) changes nothing.
   */
  async ensureRunning(): Promise<{ pid: number; adopted: boolean }> {
    const member = await this.load();
    const running = await this.pid();
    if (running !== undefined) {
      await this.waitHealthy(running);
      return { pid: running, adopted: true };
    }
    const l = this.layout;
    await mkdir(l.dir, { recursive: true, mode: 0o700 });
    await mkdir(l.dataDir, { recursive: true, mode: 0o700 });
    await mkdir(l.pidFile.slice(0, l.pidFile.lastIndexOf('/')), { recursive: true, mode: 0o700 });
    const state = (await exists(`${l.dataDir}/member`)) ? 'existing' : 'new';
    const argv = etcdArgv({ member, layout: l, state, ...(this.opts.binary ? { binary: this.opts.binary } : {}) });
    const log = await open(l.log, 'a', 0o600);
    let pid: number;
    try {
      pid = this.spawn(argv, { cwd: l.dir, stdout: log.fd, stderr: log.fd });
    } finally {
      await log.close();
    }
    await writeFile(l.pidFile, `${pid}\n`, { mode: 0o600 });
    try {
      await this.waitHealthy(pid);
    } catch (e) {
      await this.kill(pid);
      await rm(l.pidFile, { force: true });
      throw e;
    }
    return { pid, adopted: false };
  }

  private async waitHealthy(pid: number): Promise<void> {
    const deadline = Date.now() + (this.opts.startTimeoutMs ?? 20_000);
    for (;;) {
      if (await this.health(1000)) return;
      if (!(await pidAlive(pid))) throw new UserError(`etcd exited while starting: ${await this.logTail()}`, `see ${this.layout.log}`);
      if (Date.now() > deadline) throw new UserError(`etcd (pid ${pid}) did not report healthy at ${this.endpoint}/health: ${await this.logTail()}`, `see ${this.layout.log}`);
      await sleep(100);
    }
  }

  /** The last error-ish log lines, for error messages. */
  private async logTail(): Promise<string> {
    const lines = (await readFile(this.layout.log, 'utf8').catch(() => '')).trim().split('\n'); // no log yet: nothing to add
    const bad = lines.filter((s) => /"level":"(error|fatal|panic)"/.test(s));
    return (bad.length ? bad : lines).slice(-3).join('\n') || '(empty log)';
  }

  /** SIGTERM, then SIGKILL after timeoutMs; removes the PID file. No-op when not running. */
  async stop(timeoutMs = 10_000): Promise<void> {
    const pid = await this.pid();
    if (pid !== undefined) await this.kill(pid, timeoutMs);
    await rm(this.layout.pidFile, { force: true });
  }

  private async kill(pid: number, timeoutMs = 10_000): Promise<void> {
    try { process.kill(pid, 'SIGTERM'); } catch { return; }
    const deadline = Date.now() + timeoutMs;
    while ((await pidAlive(pid)) && Date.now() < deadline) await sleep(25);
    if (await pidAlive(pid)) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* exited on its own meanwhile: nothing to kill */ }
      const hard = Date.now() + 5000;
      while ((await pidAlive(pid)) && Date.now() < hard) await sleep(10);
    }
  }
}
