/**
 * `cellblock host stop` and `host reset` on a real host (a one-host lab, no cluster): stop says
 * what it stopped (agent, jail, etcd) and leaves nothing running, also with the agent already
 * dead; reset refuses without --yes and while cluster.json exists (changing nothing), then
 * removes the jails, the pool (mount, loop device) and the state, leaving the data dir empty.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exec } from '../../src/sys/exec.js';
import type { Lab } from '../../src/lab/lab.js';
import { hostProcesses } from '../../src/lab/host-procs.js';
import { loopDevicesUnder, mountsUnder } from '../../src/lab/host-teardown.js';
import type { JailView } from '../../src/jail/service.js';
import { labLeftovers, testLab, testLabDown } from '../helpers/lab.js';
import { stateOf } from '../helpers/loop-pools.js';

const root = process.getuid?.() === 0;
const SITE = new URL('../../../examples/site', import.meta.url).pathname;
const SERVE = ['--', '/usr/bin/python3', '-m', 'http.server', '8080', '--directory', '/app'];

describe('host stop and host reset', { skip: !root && 'needs root (loop pools, runc, etcd)', concurrency: false }, () => {
  let lab: Lab | undefined;
  const dataDir = () => lab!.hosts[0]!.dataDir;

  before(async () => {
    lab = await testLab({ hosts: 1, cluster: false });
    await lab.ok(0, ['image', 'build', 'site:v1', SITE]);
    await lab.ok(0, ['jail', 'create', 'web', '--image', 'site:v1', '--memory', '64M', '--restart', 'always', '--start', ...SERVE]);
    await lab.ok(0, ['status']); // the agent's etcd runs
  });

  after(async () => {
    if (!lab) return;
    const instance = lab.hosts[0]!.instance;
    await testLabDown(lab);
    assert.deepEqual(await labLeftovers(lab.plan.root, lab.name, [instance]), []);
  });

  test('host stop stops the agent, the jail and etcd, and says so', async () => {
    const jail = (await lab!.json<JailView[]>(0, ['jail', 'ls']))[0]!;
    const before = await hostProcesses(dataDir());
    assert.deepEqual([...new Set(before.map((p) => p.kind))].sort(), ['agent', 'conmon', 'etcd', 'jail']);
    const r = await lab!.json<{ stopped: { kind: string; pid: number; jail?: string }[] }>(0, ['host', 'stop']);
    assert.deepEqual(r.stopped.slice(0, 1).map((s) => s.kind), ['agent'], 'the agent first');
    assert.ok(r.stopped.some((s) => s.kind === 'jail' && s.jail === 'web' && s.pid === jail.pid), JSON.stringify(r));
    assert.ok(r.stopped.some((s) => s.kind === 'etcd'), JSON.stringify(r));
    assert.deepEqual(await hostProcesses(dataDir()), []);
    const again = await lab!.cli(0, ['host', 'stop']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^nothing of .* was running\n$/);
  });

  test('host stop works with the agent already dead (SIGKILL): the jail and etcd are found and stopped', async () => {
    await lab!.startAgent(0);
    await lab!.ok(0, ['jail', 'start', 'web']).catch(() => ''); // restart policy may have done it already
    const jail = (await lab!.json<JailView[]>(0, ['jail', 'ls']))[0]!;
    assert.equal(jail.state, 'running');
    await lab!.ok(0, ['status']);
    await lab!.stopAgent(0, 'SIGKILL');
    const r = await lab!.cli(0, ['host', 'stop']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^stopped .*jail web \(pid \d+/);
    assert.match(r.stdout, /etcd \(pid \d+/);
    assert.doesNotMatch(r.stdout, /agent/);
    assert.deepEqual(await hostProcesses(dataDir()), []);
  });

  test('host reset refuses without --yes and while cluster.json exists, changing nothing', async () => {
    const before = await stateOf(dataDir());
    const noYes = await lab!.cli(0, ['host', 'reset']);
    assert.equal(noYes.code, 1);
    assert.match(noYes.stderr, /refusing to reset .* without --yes/);
    await mkdir(join(dataDir(), 'cluster'), { recursive: true });
    await writeFile(join(dataDir(), 'cluster', 'cluster.json'), '{}');
    const inCluster = await lab!.cli(0, ['host', 'reset', '--yes']);
    assert.equal(inCluster.code, 1);
    assert.match(inCluster.stderr, /this host is in a cluster/);
    assert.match(inCluster.stderr, /fix: leave it first: cellblock cluster leave/);
    await rm(join(dataDir(), 'cluster'), { recursive: true });
    assert.deepEqual(await stateOf(dataDir()), before);
  });

  test('host reset --yes removes the jails, the pool and the state; the data dir stays, empty', async () => {
    await lab!.startAgent(0);
    assert.ok((await mountsUnder(dataDir())).length > 0 && (await loopDevicesUnder(exec, dataDir())).length > 0, 'the pool is mounted');
    const r = await lab!.json<{ stopped: { kind: string }[]; removed: string[] }>(0, ['host', 'reset', '--yes']);
    assert.ok(r.stopped.some((s) => s.kind === 'agent'));
    assert.ok(r.removed.includes('jail container web'), JSON.stringify(r.removed));
    assert.ok(r.removed.includes('pool default'), JSON.stringify(r.removed));
    assert.deepEqual(await readdir(dataDir()), []);
    assert.deepEqual(await mountsUnder(dataDir()), []);
    assert.deepEqual(await loopDevicesUnder(exec, dataDir()), []);
    assert.deepEqual((await readdir('/run/netns')).filter((n) => n.endsWith(`@${lab!.hosts[0]!.instance}`)), []);
    assert.notEqual((await lab!.run(0, ['ip', 'link', 'show', 'dev', lab!.hosts[0]!.bridge], { okCodes: [0, 1] })).code, 0, 'the bridge is gone');
    assert.deepEqual(await hostProcesses(dataDir()), []);
  });
});
