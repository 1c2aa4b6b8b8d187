/**
 * `lab up`: makes a lab. Every resource is named by the plan and the record is written before
 * the first one exists, so `lab down` finds everything whatever moment this process died at;
 * a failure here runs `down` itself and rethrows.
 *
 * In order: checks (root, `ip netns`), the claim (ROOT/NAME, lab.json), the switch namespace
 * and bridge, each host's namespace, veth and address, then per host (in parallel) its data
 * dir, btrfs loop pool and agent, then `cluster init` on h0 and a token + `cluster join` for
 * each other host, and a wait until every host is ready.
 */
import { mkdir } from 'node:fs/promises';
import { UserError } from '../sys/errors.js';
import { hasTool } from '../sys/exec.js';
import { Lab, type LabDeps } from './lab.js';
import { downLab } from './lab-down.js';
import { ANY_CODE, DEFAULT_LAB_ROOT, DEFAULT_POOL_SIZE, hostBatch, hostVethAdd, initArgs, ip, joinArgs, netnsAdd, planLab, portUp, switchBatch } from './plan.js';
import { claimLab, writeState } from './state.js';

export interface UpOptions {
  name: string;
  hosts: number;
  root?: string;
  /** Pool size of each host (cellblock pool create --size), default 4G. */
  poolSize?: string;
  /** Make the hosts one cluster (init + joins); default true. */
  cluster?: boolean;
  /** Only the first `agents` hosts get a pool and an agent now (the rest: setUpHost later); default all. */
  agents?: number;
  /** Set net.ipv4.ip_forward=1 in every host (the agents do it themselves once in a cluster); default false. */
  forwarding?: boolean;
  /** Appended to each agent's command line. */
  agentArgs?: string[];
}

/** Refuses where a lab cannot work, before anything is made; `tools: false` (lab down) checks only root and netns support. */
export async function checkLabHost(deps: LabDeps, opts: { tools?: boolean } = {}): Promise<void> {
  if (process.getuid?.() !== 0) throw new UserError('cellblock lab needs root: it makes network namespaces, loop devices, mounts and runs agents', 'run it with sudo');
  const r = await deps.exec(ip('netns', 'list'), { okCodes: ANY_CODE }).catch((e: Error) => ({ code: -1, stdout: '', stderr: e.message }));
  if (r.code !== 0) throw new UserError(`this machine cannot make network namespaces (ip netns list: ${r.stderr.trim() || `exit ${r.code}`})`, 'install iproute2 and run on a kernel with network namespaces (CONFIG_NET_NS), as root outside a restricted container');
  if (opts.tools === false) return;
  for (const tool of ['nsenter', 'runc', 'conmon', 'etcd']) {
    if (!(await hasTool(tool))) throw new UserError(`cellblock lab needs ${tool}, which is not installed`, 'run: cellblock host bootstrap');
  }
}

/** Makes the lab; on failure removes everything it made and rethrows. */
export async function upLab(o: UpOptions, deps: LabDeps): Promise<Lab> {
  const plan = planLab(o.name, o.hosts, o.root ?? DEFAULT_LAB_ROOT);
  const agents = o.agents ?? plan.hosts.length;
  await checkLabHost(deps);
  const state = await claimLab(plan, (o.cluster ?? true) && agents === plan.hosts.length);
  const lab = new Lab(plan, state, deps);
  const say = deps.progress ?? (() => {});
  try {
    await makeNetwork(lab, o.forwarding ?? false);
    say(`network: switch ${plan.switchNs}, hosts ${plan.hosts.map((h) => `${h.name} ${h.address}`).join(', ')}, client ${plan.client.address}`);
    await Promise.all(lab.hosts.slice(0, agents).map(async (h) => {
      await setUpHost(lab, h.index, o);
      say(`${h.name}: pool and agent`);
    }));
    if (lab.state.cluster && plan.hosts.length > 1) await makeCluster(lab);
    lab.state = { ...lab.state, phase: 'up', agents: { ...lab.state.agents } };
    await writeState(lab.state);
    return lab;
  } catch (e) {
    say(`failed: ${(e as Error).message.split('\n')[0]}; removing what was made`);
    await downLab(plan.root, plan.name, deps).catch((e2: Error) => { (e as Error).message += `\n(removing the half-made lab also failed: ${e2.message})`; });
    throw e;
  }
}

async function makeNetwork(lab: Lab, forwarding: boolean): Promise<void> {
  const { exec } = lab.deps;
  const p = lab.plan;
  await exec(netnsAdd(p.switchNs));
  await exec(ip('-n', p.switchNs, '-batch', '-'), { input: switchBatch(p.client.address) });
  for (const h of p.hosts) {
    await exec(netnsAdd(h.netns));
    await exec(hostVethAdd(p, h));
    await exec(portUp(p, h));
    await exec(ip('-n', h.netns, '-batch', '-'), { input: hostBatch(h) });
    if (forwarding) await lab.run(h.index, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  }
}

/** Host i's data dir, pool and agent (lab up does it for the first `agents` hosts). */
export async function setUpHost(lab: Lab, i: number, o: Pick<UpOptions, 'poolSize' | 'agentArgs'> = {}): Promise<void> {
  const h = lab.host(i);
  await mkdir(h.dataDir, { recursive: true, mode: 0o700 });
  await lab.ok(i, ['pool', 'create', '--size', o.poolSize ?? DEFAULT_POOL_SIZE]);
  await lab.startAgent(i, o.agentArgs ?? []);
}

interface ClusterView { members: { name: string }[]; hosts: { name: string; state: string; subnet: string }[]; leader?: string | null }

async function makeCluster(lab: Lab): Promise<void> {
  const say = lab.deps.progress ?? (() => {});
  await lab.ok(0, initArgs(lab.plan));
  for (const h of lab.plan.hosts.slice(1)) {
    const token = (await lab.ok(0, ['cluster', 'token'])).trim();
    await lab.ok(h.index, joinArgs(lab.plan, h, token));
    say(`${h.name} joined`);
  }
  const n = lab.plan.hosts.length;
  const deadline = Date.now() + 90_000;
  for (;;) {
    const v = await lab.json<ClusterView>(n - 1, ['cluster', 'status']).catch(() => undefined); // not answering yet: asked again until the deadline
    if (v && v.hosts.filter((x) => x.state === 'ready').length === n && v.leader) {
      say(`jail subnets: ${v.hosts.map((x) => `${x.name} ${x.subnet}`).join(', ')}`);
      return;
    }
    if (Date.now() > deadline) throw new Error(`the cluster of lab ${lab.name} did not have ${n} ready hosts within 90 s: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
