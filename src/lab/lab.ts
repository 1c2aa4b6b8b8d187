/**
 * A lab that exists (made by `up` in lab-up.ts, maybe by another process): run commands and
 * the CLI on its hosts, cut and heal their links, kill a host, stop and start its agent.
 * Every command goes through the exec passed in; agents run detached (they outlive the
 * process that started them) with their output appended to ROOT/NAME/hI.agent.log.
 */
import { openSync, closeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { bridgeFor, instanceFor } from '../jail/host-config.js';
import { NotFoundError } from '../sys/errors.js';
import { spawnDetached, type Exec, type ExecOptions, type ExecResult } from '../sys/exec.js';
import { alive, pidFiles, parsePid, signalAll, waitGone } from './host-procs.js';
import { killHost, type Stopped } from './host-teardown.js';
import { ANY_CODE, agentArgv, findHost, hostCli, inClient, inHost, ip, planLab, portCut, portUp, type LabHostPlan, type LabPlan } from './plan.js';
import { readState, writeState, type LabState } from './state.js';

/** This repository's CLI launcher (dist/src/lab/lab.js -> bin/cellblock). */
export const CELLBLOCK_BIN = new URL('../../../bin/cellblock', import.meta.url).pathname;
export { ANY_CODE };

export interface LabDeps {
  exec: Exec;
  /** node and bin/cellblock used for the hosts' CLI and agents (default: this process's node and this repo's launcher). */
  node?: string;
  bin?: string;
  /** Progress lines (lab up). */
  progress?: (line: string) => void;
  /** Start every agent with the plan's --subnet even in a cluster lab (agents of versions that cannot take one from the cluster). */
  fixedSubnets?: boolean;
}

export interface LabHost extends LabHostPlan {
  /** The data dir's id in machine-wide names (jail netns, cgroups). */
  instance: string;
  /** The jails' bridge, inside the host's namespace. */
  bridge: string;
}

export interface CliResult { code: number; stdout: string; stderr: string }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** True when something accepts connections on the unix socket at path. */
function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export class Lab {
  readonly hosts: LabHost[];
  readonly node: string;
  readonly bin: string;

  constructor(readonly plan: LabPlan, public state: LabState, readonly deps: LabDeps) {
    this.node = deps.node ?? process.execPath;
    this.bin = deps.bin ?? CELLBLOCK_BIN;
    this.hosts = plan.hosts.map((h) => {
      const instance = instanceFor(h.dataDir);
      return { ...h, instance, bridge: bridgeFor(instance) };
    });
  }

  get name(): string { return this.plan.name; }

  /** The lab `name` under root, from its record. */
  static async open(root: string, name: string, deps: LabDeps): Promise<Lab> {
    const s = await readState(root, name);
    if (!s) throw new NotFoundError(`there is no lab ${name} under ${root}`, 'see the labs there are with: cellblock lab ls; make one with: cellblock lab up');
    return new Lab(planLab(s.name, s.hosts, s.root), s, deps);
  }

  /** A host by index, name (h0) or index as text. */
  host(ref: number | string): LabHost {
    return findHost(this.hosts, String(ref), this.name);
  }

  /** Runs argv inside host ref's network namespace (only the network namespace). */
  run(ref: number | string, argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return this.deps.exec(inHost(this.host(ref), argv), opts);
  }

  /**
   * Runs argv at the lab's client position (the switch's namespace, address plan.client on the
   * bridge): outside every host, as a user's traffic to the VIP would be.
   */
  client(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return this.deps.exec(inClient(this.plan, argv), opts);
  }

  /** The real CLI against host ref's data dir, inside its namespace; any exit code is returned. */
  async cli(ref: number | string, args: readonly string[], input?: string): Promise<CliResult> {
    const r = await this.deps.exec(hostCli(this.host(ref), this.node, this.bin, args), { okCodes: ANY_CODE, timeoutMs: 600_000, ...(input !== undefined ? { input } : {}) });
    return { code: r.code, stdout: r.stdout, stderr: r.stderr };
  }

  /** The CLI; a failure throws with its output and the tail of the host's agent log. */
  async ok(ref: number | string, args: readonly string[]): Promise<string> {
    const r = await this.cli(ref, args);
    if (r.code !== 0) {
      const h = this.host(ref);
      throw new Error(`${h.name}: cellblock ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}\n--- agent log (tail) ---\n${await this.agentLogTail(h.index)}`);
    }
    return r.stdout;
  }

  /** `--json` output of the CLI, parsed. */
  async json<T>(ref: number | string, args: readonly string[]): Promise<T> {
    return JSON.parse(await this.ok(ref, ['--json', ...args])) as T;
  }

  /** Partitions host ref: its switch port leaves the bridge. Nothing changes inside the host. */
  async cut(ref: number | string): Promise<void> {
    await this.deps.exec(portCut(this.plan, this.host(ref)));
  }

  /** Undoes cut(ref). */
  async heal(ref: number | string): Promise<void> {
    await this.deps.exec(portUp(this.plan, this.host(ref)));
  }

  /**
   * SIGKILL to every process of host ref at once (agent, etcd, conmon, jails, keepalived), as a
   * power cut. A machine losing power also loses the addresses its daemons had added: the
   * secondary addresses of eth0 (a floating address keepalived held) are flushed, so the dead
   * host's kernel does not go on answering ARP for a VIP another host has taken.
   */
  async kill(ref: number | string): Promise<Stopped[]> {
    const h = this.host(ref);
    const killed = await killHost(h.dataDir, this.deps.exec, { netns: h.netns });
    await this.deps.exec(ip('-n', h.netns, 'addr', 'flush', 'dev', 'eth0', 'secondary'), { okCodes: ANY_CODE });
    await this.setAgent(h, null);
    return killed;
  }

  /** Everything host ref's agent has logged (all its runs). */
  async agentLog(ref: number | string): Promise<string> {
    return readFile(this.host(ref).agentLog, 'utf8').catch(() => ''); // no agent started yet
  }

  /** The last n lines of the agent log that say more than "request". */
  async agentLogTail(ref: number | string, n = 25): Promise<string> {
    return (await this.agentLog(ref)).split('\n').filter((l) => !l.includes('"msg":"request"')).slice(-n).join('\n');
  }

  /** The PID of host ref's agent (its pid file), when it runs. */
  async agentPid(ref: number | string): Promise<number | undefined> {
    const pid = parsePid(await readFile(pidFiles(this.host(ref).dataDir).agent, 'utf8').catch(() => '')); // no pid file: see the record
    const recorded = this.state.agents[this.host(ref).name] ?? undefined;
    for (const p of [pid, recorded]) if (p !== undefined && (await alive(p))) return p;
    return undefined;
  }

  private writes: Promise<void> = Promise.resolve();

  /** Records host h's agent PID: one write at a time, each on the freshest record (another process may have written it). */
  private setAgent(h: LabHost, pid: number | null): Promise<void> {
    const next = this.writes.then(async () => {
      const fresh = (await readState(this.plan.root, this.name)) ?? this.state;
      this.state = { ...fresh, agents: { ...fresh.agents, [h.name]: pid } };
      await writeState(this.state);
    });
    this.writes = next.catch(() => {}); // the caller gets the failure; the queue goes on
    return next;
  }

  /**
   * Starts host ref's agent (detached, inside its namespace, output appended to its log) and
   * waits until its unix socket answers. extra is appended to `agent` (and `--subnet S` in a lab
   * that is not one cluster).
   */
  async startAgent(ref: number | string, extra: readonly string[] = [], timeoutMs = 30_000): Promise<number> {
    const h = this.host(ref);
    const fd = openSync(h.agentLog, 'a');
    let pid: number;
    try {
      pid = spawnDetached(agentArgv(h, this.node, this.bin, extra, { subnet: !this.state.cluster || this.deps.fixedSubnets === true }), { stdout: fd, stderr: fd });
    } finally {
      closeSync(fd);
    }
    await this.setAgent(h, pid);
    const sock = join(h.dataDir, 'run', 'agent.sock');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!(await alive(pid))) throw new Error(`${h.name}: the agent exited while starting:\n${await this.agentLogTail(h.index, 30)}`);
      if (await socketAnswers(sock)) return pid;
      if (Date.now() > deadline) throw new Error(`${h.name}: the agent did not answer on ${sock} within ${timeoutMs / 1000} s:\n${await this.agentLogTail(h.index, 30)}`);
      await sleep(100);
    }
  }

  /** Sends signal to host ref's agent and waits until it is gone (nothing when it does not run). */
  async stopAgent(ref: number | string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const h = this.host(ref);
    const pid = await this.agentPid(h.index);
    if (pid === undefined) return;
    signalAll([pid], signal);
    const left = await waitGone([pid], 30_000);
    if (left.length) throw new Error(`${h.name}: the agent (pid ${pid}) did not exit on ${signal} within 30 s`);
    await this.setAgent(h, null);
  }
}
