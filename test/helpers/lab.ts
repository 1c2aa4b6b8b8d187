/**
 * Labs for tests: a temporary lab root per test process, a random lab name per lab (tests run
 * concurrently on one machine), and a safety net: a lab not taken down by the test is taken
 * down at exit (SIGINT/SIGTERM/SIGHUP are turned into an exit), with the real CLI.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readdir, readFile } from 'node:fs/promises';
import { exec } from '../../src/sys/exec.js';
import { loopDevicesUnder, mountsUnder } from '../../src/lab/host-teardown.js';
import { planLab } from '../../src/lab/plan.js';
import { CELLBLOCK_BIN, type Lab } from '../../src/lab/lab.js';
import { upLab, type UpOptions } from '../../src/lab/lab-up.js';
import { downLab, type DownResult } from '../../src/lab/lab-down.js';

const live = new Set<string>();
let root: string | undefined;

function labRoot(): string {
  if (root) return root;
  root = mkdtempSync(join(tmpdir(), 'cb-lab-'));
  process.on('exit', () => {
    for (const name of live) spawnSync(process.execPath, [CELLBLOCK_BIN, 'lab', '--root', root!, 'down', name], { stdio: 'ignore' });
    try { rmSync(root!, { recursive: true, force: true }); } catch { /* best effort at exit: a lab that could not be taken down keeps its dir */ }
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, () => process.exit(128 + (constants.signals[sig] ?? 0)));
  return root;
}

/** A fresh lab name: t + 6 random hex digits. */
export const labName = () => `t${randomBytes(3).toString('hex')}`;

/** Makes a lab (lab up) under this process's temporary lab root. */
export async function testLab(o: Omit<UpOptions, 'name' | 'root'> & { name?: string }): Promise<Lab> {
  const name = o.name ?? labName();
  live.add(name);
  return upLab({ ...o, name, root: labRoot() }, { exec, progress: (l) => process.stderr.write(`  [lab ${name}] ${l}\n`) });
}

/** Takes a lab down (lab down). */
export async function testLabDown(lab: Lab): Promise<DownResult> {
  const r = await downLab(lab.plan.root, lab.name, { exec });
  live.delete(lab.name);
  return r;
}

/** Takes a lab down and fails when anything of it is left (its namespaces, loop devices, mounts, processes, dirs). */
export async function labDownClean(lab: Lab): Promise<void> {
  await testLabDown(lab);
  assert.deepEqual(await labLeftovers(lab.plan.root, lab.name, lab.hosts.map((h) => h.instance)), [], 'namespaces, loop devices, mounts, processes or data dirs left');
}

/** Every host's `cellblock status` and agent log tail, for a timed-out wait. */
export async function labReport(lab: Lab, hosts = lab.hosts.length): Promise<string> {
  const out: string[] = [];
  for (let i = 0; i < hosts; i++) {
    out.push(`--- h${i} status: ${await lab.cli(i, ['status']).then((r) => r.stdout + r.stderr)}`);
    out.push(`--- h${i} agent log:\n${await lab.agentLogTail(i, 30)}`);
  }
  return out.join('\n');
}

/** The lab root of this process (made on first use). */
export const testLabRoot = labRoot;

/**
 * What is left of lab `name` under root: its namespaces and its jails' namespaces, loop
 * devices and mounts under its dir, processes naming its dir or its namespaces, its dir.
 */
export async function labLeftovers(root: string, name: string, instances: readonly string[] = []): Promise<string[]> {
  const plan = planLab(name, 1, root);
  const left: string[] = [];
  for (const n of await readdir('/run/netns').catch(() => [] as string[])) {
    if (n.startsWith(`cbl-${name}-`) || instances.some((i) => n.endsWith(`@${i}`))) left.push(`netns ${n}`);
  }
  for (const l of await loopDevicesUnder(exec, plan.dir)) left.push(`loop ${l.device} ${l.backFile}`);
  for (const m of await mountsUnder(plan.dir)) left.push(`mount ${m}`);
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replace(/\0/g, ' ');
    if (cmd.includes(`${plan.dir}/`) || cmd.includes(`${plan.dir} `) || cmd.includes(`cbl-${name}-`)) left.push(`process ${pid} ${cmd}`);
  }
  if (await readdir(plan.dir).then(() => true, () => false)) left.push(`dir ${plan.dir}`);
  return left;
}
