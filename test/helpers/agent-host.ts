/**
 * One test "host" on this machine: a temporary data dir with a btrfs loop pool, its own jail
 * subnet and bridge, and a real `cellblock agent` process. teardown() removes everything the
 * host made, whatever state the test left it in: the agent, every runc container (conmon exits
 * with them), the jails' network namespaces and veths, the bridge, cgroups, mounts, loop
 * devices and the data dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../../src/sys/exec.js';
import { cleanupDataDir } from './loop-pools.js';
import { instanceFor, bridgeFor } from '../../src/jail/host-config.js';
import { removeCgroupParents } from '../../src/jail/cgroups.js';
import { parseRuncList } from '../../src/jail/runc.js';

const BIN = new URL('../../../bin/cellblock', import.meta.url).pathname;

export interface CliResult { code: number; stdout: string; stderr: string }

export class TestHost {
  agent: ChildProcess | undefined;
  agentLog = '';
  readonly instance: string;
  readonly bridge: string;

  private constructor(readonly dataDir: string, readonly subnet: string) {
    this.instance = instanceFor(dataDir);
    this.bridge = bridgeFor(this.instance);
  }

  /** A host with a subnet of its own (10.<200-249>.<random>.0/24 unless given). */
  static async create(opts: { subnet?: string; poolSize?: string } = {}): Promise<TestHost> {
    const dir = await mkdtemp(join(tmpdir(), 'cb-host-'));
    const subnet = opts.subnet ?? `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 250)}.0/24`;
    const h = new TestHost(dir, subnet);
    const r = await h.cli(['pool', 'create', '--size', opts.poolSize ?? '1G']);
    if (r.code !== 0) throw new Error(`pool create failed: ${r.stderr}`);
    return h;
  }

  /** Runs the real CLI against this host's data dir. */
  cli(args: string[], input?: string): Promise<CliResult> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [BIN, '--data-dir', this.dataDir, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (b) => (stdout += b));
      child.stderr.on('data', (b) => (stderr += b));
      child.stdin.end(input ?? '');
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  }

  async json<T>(args: string[]): Promise<T> {
    const r = await this.cli(['--json', ...args]);
    if (r.code !== 0) throw new Error(`cellblock ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }

  /** Starts `cellblock agent` and waits until it answers. */
  async startAgent(): Promise<ChildProcess> {
    const child = spawn(process.execPath, [BIN, '--data-dir', this.dataDir, 'agent', '--subnet', this.subnet], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (b) => (this.agentLog += b));
    child.stderr!.on('data', (b) => (this.agentLog += b));
    this.agent = child;
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

  async teardown(): Promise<void> {
    await this.stopAgent('SIGKILL').catch(() => {});
    const root = join(this.dataDir, 'runc');
    if (await stat(root).then(() => true, () => false)) {
      const list = await exec(['runc', '--root', root, 'list', '--format', 'json']).catch(() => ({ stdout: '[]' }));
      for (const c of parseRuncList(list.stdout || '[]')) await exec(['runc', '--root', root, 'delete', '--force', c.id]).catch(() => {});
    }
    for (const ns of await this.netnsOfMine()) await exec(['ip', 'netns', 'del', ns]).catch(() => {});
    await exec(['ip', 'link', 'del', 'dev', this.bridge]).catch(() => {});
    await removeCgroupParents(this.instance).catch(() => {});
    await cleanupDataDir(this.dataDir);
  }
}
