/**
 * One test "host" on this machine: a temporary data dir with a btrfs loop pool, its own jail
 * subnet and bridge, and a real `cellblock agent` process. teardown() removes everything the
 * host made, whatever state the test left it in: the agent, every runc container (conmon exits
 * with them), any process still naming the data dir (the agent's etcd), the jails' network
 * namespaces and veths, the bridge, cgroups, mounts, loop devices and the data dir.
 *
 * With `netns` (a host of a ClusterNet, see cluster-net.ts) the agent runs inside that network
 * namespace (`nsenter --net=<nsPath>`, never `ip netns exec`, which remounts /sys and hides the
 * cgroups from runc), so its bridge and its jails' veths live there. cli() still runs in the
 * root namespace (it reaches the agent over the unix socket under the data dir); cliIn() runs
 * the CLI inside the host's namespace.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../../src/sys/exec.js';
import { cleanupDataDir } from './loop-pools.js';
import { instanceFor, bridgeFor } from '../../src/jail/host-config.js';
import { removeCgroupParents } from '../../src/jail/cgroups.js';
import { parseRuncList } from '../../src/jail/runc.js';

const BIN = new URL('../../../bin/cellblock', import.meta.url).pathname;

export interface CliResult { code: number; stdout: string; stderr: string }

export interface TestHostOptions {
  /** The jail subnet; 10.<200-249>.<random>.0/24 unless given. */
  subnet?: string;
  poolSize?: string;
  /** Run the agent (and cliIn()) inside this network namespace. */
  netns?: { nsPath: string };
  /** Appended to `agent --subnet S`. */
  agentArgs?: string[];
  /** Added to the agent's environment. */
  env?: NodeJS.ProcessEnv;
}

/** Agents of this process still running; SIGKILLed at exit so a crashed test leaves none behind. */
const liveAgents = new Set<ChildProcess>();
process.on('exit', () => {
  for (const a of liveAgents) {
    try { a.kill('SIGKILL'); } catch { /* gone */ }
  }
});

export class TestHost {
  agent: ChildProcess | undefined;
  agentLog = '';
  readonly instance: string;
  readonly bridge: string;

  private constructor(readonly dataDir: string, readonly subnet: string, private readonly opts: TestHostOptions) {
    this.instance = instanceFor(dataDir);
    this.bridge = bridgeFor(this.instance);
  }

  /** The network namespace the agent runs in (undefined: the root namespace). */
  get nsPath(): string | undefined {
    return this.opts.netns?.nsPath;
  }

  /** A host with a subnet of its own (10.<200-249>.<random>.0/24 unless given). */
  static async create(opts: TestHostOptions = {}): Promise<TestHost> {
    const dir = await mkdtemp(join(tmpdir(), 'cb-host-'));
    const subnet = opts.subnet ?? `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 250)}.0/24`;
    const h = new TestHost(dir, subnet, opts);
    const r = await h.cli(['pool', 'create', '--size', opts.poolSize ?? '1G']);
    if (r.code !== 0) {
      await h.teardown().catch(() => {}); // the caller never gets h: remove what pool create made
      throw new Error(`pool create failed: ${r.stderr}`);
    }
    return h;
  }

  /** argv, prefixed with `nsenter --net=<nsPath> --` when the host has a namespace. */
  private inNetns(argv: string[]): string[] {
    return this.nsPath === undefined ? argv : ['nsenter', `--net=${this.nsPath}`, '--', ...argv];
  }

  /** Runs the real CLI against this host's data dir (in the root network namespace). */
  cli(args: string[], input?: string): Promise<CliResult> {
    return this.runCli([process.execPath, BIN, '--data-dir', this.dataDir, ...args], input);
  }

  /** Runs the real CLI against this host's data dir inside the host's network namespace (as cli() without one). */
  cliIn(args: string[], input?: string): Promise<CliResult> {
    return this.runCli(this.inNetns([process.execPath, BIN, '--data-dir', this.dataDir, ...args]), input);
  }

  private runCli(argv: string[], input?: string): Promise<CliResult> {
    return new Promise((resolve) => {
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (b) => (stdout += b));
      child.stderr.on('data', (b) => (stderr += b));
      child.stdin.end(input ?? '');
      child.on('error', (e) => (stderr += String(e)));
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  }

  async json<T>(args: string[]): Promise<T> {
    const r = await this.cli(['--json', ...args]);
    if (r.code !== 0) throw new Error(`cellblock ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }

  /**
   * Starts `cellblock agent` (inside the host's namespace if it has one) and waits until it
   * answers. nsenter execs the agent in its own process, so the child's PID is the agent's.
   */
  async startAgent(): Promise<ChildProcess> {
    const argv = this.inNetns([process.execPath, BIN, '--data-dir', this.dataDir, 'agent', '--subnet', this.subnet, ...(this.opts.agentArgs ?? [])]);
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...this.opts.env } });
    child.stdout!.on('data', (b) => (this.agentLog += b));
    child.stderr!.on('data', (b) => (this.agentLog += b));
    this.agent = child;
    liveAgents.add(child);
    child.once('exit', () => liveAgents.delete(child));
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`agent exited with ${child.exitCode}: ${this.agentLog}`);
      const r = await this.cli(['jail', 'ls']);
      if (r.code === 0) return child;
      if (Date.now() > deadline) throw new Error(`agent did not answer: ${r.stderr}\n${this.agentLog}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  }

  /** Kills the agent with `signal` and waits for it to be gone. */
  async stopAgent(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const a = this.agent;
    if (!a || a.exitCode !== null || a.signalCode !== null) return;
    const gone = new Promise((r) => a.once('exit', r));
    a.kill(signal);
    await gone;
  }

  async netnsOfMine(): Promise<string[]> {
    const names = await readdir('/run/netns').catch(() => [] as string[]);
    return names.filter((n) => n.endsWith(`@${this.instance}`)).sort();
  }

  /**
   * PIDs of the processes whose command line names this host's data dir: what the agent
   * started for it and left behind when killed (etcd, conmon), never anything else.
   */
  async processesOfMine(): Promise<number[]> {
    const pids: number[] = [];
    for (const name of await readdir('/proc').catch(() => [] as string[])) {
      const pid = Number(name);
      if (!Number.isInteger(pid) || pid === process.pid) continue;
      const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
      if (argv.some((a) => a === this.dataDir || a.includes(`${this.dataDir}/`))) pids.push(pid);
    }
    return pids;
  }

  async teardown(): Promise<void> {
    await this.stopAgent('SIGKILL').catch(() => {});
    const root = join(this.dataDir, 'runc');
    if (await stat(root).then(() => true, () => false)) {
      const list = await exec(['runc', '--root', root, 'list', '--format', 'json']).catch(() => ({ stdout: '[]' }));
      for (const c of parseRuncList(list.stdout || '[]')) await exec(['runc', '--root', root, 'delete', '--force', c.id]).catch(() => {});
    }
    for (let round = 0; round < 50; round++) {
      const left = await this.processesOfMine();
      if (left.length === 0) break;
      for (const pid of left) {
        try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const ns of await this.netnsOfMine()) await exec(['ip', 'netns', 'del', ns]).catch(() => {});
    // the bridge lives in the host's namespace (gone anyway when the ClusterNet deletes it)
    await exec(this.inNetns(['ip', 'link', 'del', 'dev', this.bridge])).catch(() => {});
    await removeCgroupParents(this.instance).catch(() => {});
    await cleanupDataDir(this.dataDir);
  }
}
