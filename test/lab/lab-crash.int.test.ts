/**
 * `lab down` after a `lab up` killed with SIGKILL, midway and after it finished: nothing of
 * that lab is left (namespaces, loop devices, mounts, processes, data dirs), and a second
 * `lab down` succeeds and says there was nothing to remove. Also the refusals of `lab up`.
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { exec } from '../../src/sys/exec.js';
import { CELLBLOCK_BIN, ANY_CODE } from '../../src/lab/lab.js';
import { planLab } from '../../src/lab/plan.js';
import { labLeftovers, labName, testLabRoot } from '../helpers/lab.js';
import { until } from '../helpers/until.js';

const root = process.getuid?.() === 0;

const cli = (labRoot: string, args: string[]) => exec([process.execPath, CELLBLOCK_BIN, 'lab', '--root', labRoot, ...args], { okCodes: ANY_CODE, timeoutMs: 300_000 });

/** Starts `lab up --hosts 2` in a child process; resolves with it once `ready` says so, then SIGKILLs it. */
async function upAndKill(labRoot: string, name: string, ready: () => Promise<boolean>, ms = 120_000): Promise<void> {
  const child = spawn(process.execPath, [CELLBLOCK_BIN, 'lab', '--root', labRoot, 'up', '--hosts', '2', '--name', name], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  child.stderr.on('data', (b) => (out += b));
  const exited = new Promise((r) => child.once('exit', r));
  try {
    await until(`lab up of ${name} far enough`, async () => {
      // asked before the exit is looked at: lab up may finish between two polls of a busy machine
      const exitedBefore = child.exitCode;
      if (await ready()) return true;
      if (exitedBefore !== null) throw new Error(`lab up exited with ${exitedBefore} before it got far enough: ${out}`);
      return false;
    }, ms, undefined, 20);
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

async function downTwice(labRoot: string, name: string, instances: string[]): Promise<void> {
  const first = await cli(labRoot, ['down', name]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, new RegExp(`lab ${name} removed`));
  assert.deepEqual(await labLeftovers(labRoot, name, instances), []);
  const second = await cli(labRoot, ['down', name]);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stdout, `lab ${name}: nothing to remove\n`);
}

const exists = (p: string) => stat(p).then(() => true, () => false);

describe('lab down after a lab up killed with SIGKILL', { skip: !root && 'needs root (network namespaces, loop pools, agents)', concurrency: false }, () => {
  const names: string[] = [];
  after(async () => {
    for (const n of names) await cli(testLabRoot(), ['down', n]); // safety net when an assertion failed midway
  });

  test('killed while it made the hosts\' pools and agents', async () => {
    const name = labName();
    names.push(name);
    const labRoot = testLabRoot();
    const plan = planLab(name, 2, labRoot);
    // midway: the namespaces exist, a pool is being made or an agent is starting
    await upAndKill(labRoot, name, async () => exists(`${plan.hosts[0]!.dataDir}/pools`) || exists(`${plan.hosts[1]!.dataDir}/pools`));
    const ns = (await readdir('/run/netns')).filter((n) => n.startsWith(`cbl-${name}-`));
    assert.ok(ns.length >= 3, `namespaces made before the kill: ${ns.join(', ')}`);
    await downTwice(labRoot, name, []);
  });

  test('killed once it was up (agents, etcd, a cluster of two)', async () => {
    const name = labName();
    names.push(name);
    const labRoot = testLabRoot();
    const plan = planLab(name, 2, labRoot);
    await upAndKill(labRoot, name, async () => (await cli(labRoot, ['ls', '--json']).then((r) => r.stdout)).includes('"phase": "up"'), 180_000);
    const ls = JSON.parse((await cli(labRoot, ['ls', '--json'])).stdout) as { name: string; hosts: { agentPid: number | null }[] }[];
    assert.ok(ls.find((l) => l.name === name)!.hosts.every((h) => h.agentPid !== null), 'the agents outlive lab up');
    // a jail too, so down has a container, a jail namespace and a cgroup to remove
    const site = new URL('../../../examples/site', import.meta.url).pathname;
    const run = (args: string[]) => cli(labRoot, ['exec', '--lab', name, 'h1', '--', 'cellblock', ...args]);
    assert.equal((await run(['image', 'build', 'site:v1', site])).code, 0);
    const j = await run(['jail', 'create', 'web', '--image', 'site:v1', '--memory', '64M', '--start', '--', '/usr/bin/python3', '-m', 'http.server', '8080']);
    assert.equal(j.code, 0, j.stderr);
    // the cluster handed the joining host a jail subnet of its own, and its jails live in it
    const hosts = JSON.parse((await run(['--json', 'host', 'ls'])).stdout) as { name: string; subnet: string }[];
    assert.deepEqual(hosts.map((h) => [h.name, h.subnet]), [['h0', '10.77.0.0/24'], ['h1', '10.77.1.0/24']]);
    const jails = JSON.parse((await run(['--json', 'jail', 'ls'])).stdout) as { name: string; ip: string }[];
    assert.match(jails[0]!.ip, /^10\.77\.1\.\d+$/);
    // the other lab commands through the CLI, on the lab a killed lab up left
    const cut = await cli(labRoot, ['cut', '--lab', name, 'h1']);
    assert.equal(cut.stdout, `cut the link of h1 (${plan.hosts[1]!.address}) in lab ${name}\n`, cut.stderr);
    assert.equal((await cli(labRoot, ['heal', '--lab', name, 'h1'])).code, 0);
    const kill = await cli(labRoot, ['kill', '--lab', name, 'h1']);
    assert.match(kill.stdout, /^killed h1: agent \d+, .*etcd \d+.*jail web \d+/, kill.stderr);
    const nohost = await cli(labRoot, ['exec', '--lab', name, 'h7', '--', 'true']);
    assert.equal(nohost.code, 1);
    assert.match(nohost.stderr, new RegExp(`lab ${name} has no host "h7"\\n  fix: use one of h0, h1`));
    const { instanceFor } = await import('../../src/jail/host-config.js');
    await downTwice(labRoot, name, plan.hosts.map((h) => instanceFor(h.dataDir)));
  });

  test('lab up refuses a name in use and a bad name, and changes nothing', async () => {
    const name = labName();
    const labRoot = testLabRoot();
    const plan = planLab(name, 1, labRoot);
    await exec(['mkdir', '-p', plan.dir]);
    try {
      const r = await cli(labRoot, ['up', '--hosts', '1', '--name', name]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`lab ${name} is in use: ${plan.dir} exists`));
      assert.match(r.stderr, new RegExp(`fix: .*cellblock lab down ${name}`));
      assert.deepEqual((await readdir('/run/netns')).filter((n) => n.startsWith(`cbl-${name}-`)), []);
    } finally {
      await exec(['rmdir', plan.dir]);
    }
    const bad = await cli(labRoot, ['up', '--name', 'Bad-Name']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--name: invalid lab name "Bad-Name"/);
    const many = await cli(labRoot, ['up', '--hosts', '12']);
    assert.equal(many.code, 1);
    assert.match(many.stderr, /--hosts: expected a whole number from 1 to 9/);
  });
});
