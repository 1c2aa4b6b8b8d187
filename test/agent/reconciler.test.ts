// The reconciler loop on an in-memory store and a fake jail service: failed actions back off
// (and are retried by the backstop pass when their time comes), an unhealthy replica's
// observed message says why, phases of jails gone are dropped, stop() ends health checks first.
import { DEPLOY_DEFAULTS } from '../../src/spec/types.js';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Reconciler } from '../../src/agent/reconciler.js';
import { type Assignment, type HostPlacements, type ObservedReplica } from '../../src/cluster/model.js';
import { K } from '../../src/cluster/keys.js';
import type { HealthSpec, ServiceSpec } from '../../src/spec/types.js';
import type { JailService, JailView } from '../../src/jail/service.js';
import { specHash } from '../../src/cluster/stacks.js';
import { FakeJailService } from '../helpers/fake-jail-service.js';
import { FakeLease, FakeStore, until } from './fake-store.js';

const log = pino({ level: 'silent' });
const HOST = 'h';
let base: string;
let n = 0;

before(async () => { base = await mkdtemp(join(tmpdir(), 'cellblock-reconciler-')); });
after(async () => { await rm(base, { recursive: true, force: true }); });

function assignment(jail: string, health?: HealthSpec): Assignment {
  const [stack, service, replica] = jail.split('.') as [string, string, string];
  const spec: ServiceSpec = {
    name: service, image: { name: service, tag: 'v1' }, replicas: 1, command: ['/app/run'], env: {}, pids: 64, rw: [],
    restart: 'always', deploy: { ...DEPLOY_DEFAULTS }, user: { uid: 0, gid: 0 }, ...(health ? { health } : {}),
  };
  return { stack, service, replica: Number(replica), jail, spec, specHash: 'h1' };
}

function view(name: string, state: JailView['state']): JailView {
  return {
    name, image: 'site:v1', ip: '10.77.0.2', state, pid: state === 'running' ? 42 : null, restart: 'always', restarts: 0,
    lastExitCode: null, lastExitReason: null, command: ['/app/run'], createdAt: '2024-01-01T00:00:00Z', startedAt: null,
  };
}

interface Rig {
  store: FakeStore;
  jails: FakeJailService;
  r: Reconciler;
  clock: { now: number };
  /** What pull() was called with, in order. */
  pulls: string[];
  setPull(fn: (image: string) => Promise<void>): void;
  assign(...as: Assignment[]): Promise<void>;
  observed(jail: string): ObservedReplica | undefined;
}

/** A reconciler with a backstop pass every 10 ms and a clock the test moves. `running`: jails present, their spec hash recorded. */
async function rig(running: JailView[] = [], intervalMs = 10, hash: (jail: string) => string = () => 'h1'): Promise<Rig> {
  const dataDir = join(base, `d${n++}`);
  await mkdir(join(dataDir, 'cluster'), { recursive: true });
  await writeFile(join(dataDir, 'cluster', 'replicas.json'), JSON.stringify(Object.fromEntries(running.map((j) => [j.name, hash(j.name)]))));
  const store = new FakeStore();
  const jails = new FakeJailService();
  for (const v of running) jails.jails.set(v.name, { view: v, req: { name: v.name, image: v.image, command: v.command } });
  const clock = { now: 0 };
  const pulls: string[] = [];
  let pull = async (_image: string): Promise<void> => { throw new Error('no peer holds it'); };
  const r = new Reconciler({
    store: store.store, host: HOST, dataDir, jails, log, intervalMs, now: () => clock.now,
    pull: (image) => { pulls.push(image); return pull(image); },
  });
  const rg: Rig = {
    store, jails, r, clock, pulls,
    setPull(fn) { pull = fn; },
    async assign(...as) {
      const p: HostPlacements = { host: HOST, assignments: as, by: 'test', at: '2024-01-01T00:00:00Z' };
      await store.putJson(K.placement(HOST), p);
    },
    observed(jail) {
      const kv = store.kvs.get(K.observed(HOST, jail));
      return kv ? (JSON.parse(kv.value) as ObservedReplica) : undefined;
    },
  };
  return rg;
}

async function start(rg: Rig): Promise<void> {
  await rg.r.start();
  rg.r.useLease(new FakeLease(rg.store).lease);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const calls = (j: FakeJailService, method: string) => j.calls.filter((c) => c.method === method).length;

test('a failing pull is retried only after its backoff (1 s, then 2 s), by the backstop pass', async () => {
  const rg = await rig();
  await rg.assign(assignment('demo.site.0'));
  await start(rg);
  try {
    await until(() => rg.observed('demo.site.0')?.phase === 'failed', 2000, 'the pull to fail');
    assert.deepEqual(rg.pulls, ['site:v1']);
    assert.equal(rg.observed('demo.site.0')?.message, 'pulling site:v1: no peer holds it');
    await sleep(150); // ~15 backstop passes, and the kick of the failure: no retry yet
    assert.equal(rg.pulls.length, 1);

    rg.clock.now = 999;
    await sleep(50);
    assert.equal(rg.pulls.length, 1);
    rg.clock.now = 1000; // its time has come
    await until(() => rg.pulls.length === 2, 2000, 'the first retry');

    rg.clock.now = 2999; // failed again at ~1000: 2 s now
    await sleep(100);
    assert.equal(rg.pulls.length, 2);
    rg.clock.now = 3000;
    await until(() => rg.pulls.length === 3, 2000, 'the second retry');
  } finally {
    await rg.r.stop();
  }
});

test('a retry wait that ended, for an action no longer wanted, wakes nothing (no busy loop between backstop passes)', async () => {
  const rg = await rig([], 60_000); // the backstop never comes during the test
  await rg.assign(assignment('demo.site.0'));
  await start(rg);
  try {
    await until(() => rg.observed('demo.site.0')?.phase === 'failed', 2000, 'the pull to fail');
    await rg.assign(); // the replica went elsewhere: the pull is no longer wanted
    await until(() => rg.observed('demo.site.0') === undefined, 2000, 'the replica to be forgotten');
    rg.clock.now = 5000; // its wait has ended; its failure count is kept a while longer
    rg.r.kick();
    await sleep(50);
    const passes = calls(rg.jails, 'list');
    await sleep(300);
    assert.ok(calls(rg.jails, 'list') - passes <= 1, `passes in 300 ms without a change: ${calls(rg.jails, 'list') - passes}`);
    assert.equal(rg.pulls.length, 1);
  } finally {
    await rg.r.stop();
  }
});

test('a larger disk, and nothing else, is applied to the running jail in place: no remove, no create', async () => {
  const G = 1024 ** 3;
  const old = assignment('demo.site.0');
  old.spec = { ...old.spec, diskBytes: G };
  const running: JailView = { ...view('demo.site.0', 'running'), disk: { limitBytes: G, usedBytes: 0, enforced: true } };
  const rg = await rig([running], 10, () => specHash(old.spec));
  const resized: [string, string][] = [];
  (rg.jails as JailService).setDisk = async (name, disk) => {
    resized.push([name, disk]);
    const j = rg.jails.jails.get(name)!;
    j.view.disk = { limitBytes: Number(disk), usedBytes: 0, enforced: true };
    return j.view;
  };
  const bigger = { ...old.spec, diskBytes: 3 * G };
  await rg.assign({ ...old, spec: bigger, specHash: specHash(bigger) });
  await start(rg);
  try {
    await until(() => rg.observed('demo.site.0')?.specHash === specHash(bigger), 2000, 'the replica to be on the new spec');
    assert.deepEqual(resized, [['demo.site.0', String(3 * G)]]);
    assert.equal(calls(rg.jails, 'remove') + calls(rg.jails, 'create'), 0, 'the jail was neither removed nor made again');
    assert.equal(rg.jails.jails.get('demo.site.0')!.view.pid, 42, 'the same process runs');
  } finally {
    await rg.r.stop();
  }
});

test('a success resets the backoff', async () => {
  const rg = await rig([view('demo.site.0', 'stopped')]);
  rg.jails.fail('start', new Error('cgroup busy'));
  await rg.assign(assignment('demo.site.0'));
  await start(rg);
  try {
    await until(() => calls(rg.jails, 'start') === 1, 2000, 'the first start');
    await sleep(100);
    assert.equal(calls(rg.jails, 'start'), 1, 'no retry before 1 s');
    rg.clock.now = 1000;
    await until(() => rg.observed('demo.site.0')?.phase === 'running', 2000, 'the retried start to succeed');
    assert.equal(calls(rg.jails, 'start'), 2);
    // it stops again: started at once, no backoff left over
    rg.jails.jails.get('demo.site.0')!.view.state = 'stopped';
    await until(() => calls(rg.jails, 'start') === 3, 2000, 'a start without waiting');
  } finally {
    await rg.r.stop();
  }
});

test("an unhealthy replica's observed message is its check's last failure, from the first one on", async () => {
  const health: HealthSpec = { kind: 'command', command: ['/bin/check'], intervalMs: 20, timeoutMs: 10, threshold: 1 };
  const rg = await rig([view('demo.site.0', 'running')]);
  rg.jails.execResult = { exitCode: 1, stdout: '', stderr: 'not ready yet\n' };
  await rg.assign(assignment('demo.site.0', health));
  await start(rg);
  try {
    await until(() => rg.observed('demo.site.0')?.message === 'exit 1: not ready yet', 2000, 'the failure message');
    const o = rg.observed('demo.site.0')!;
    assert.equal(o.phase, 'running');
    assert.equal(o.healthy, false);
    rg.jails.execResult = { exitCode: 0, stdout: '', stderr: '' };
    await until(() => rg.observed('demo.site.0')?.healthy === true, 2000, 'healthy');
    assert.equal(rg.observed('demo.site.0')!.message, null);
  } finally {
    await rg.r.stop();
  }
});

test('the phase of a jail no longer assigned (and not present) is dropped', async () => {
  const rg = await rig();
  let release!: () => void;
  rg.setPull(() => new Promise<void>((resolve) => { release = resolve; }));
  await rg.assign(assignment('demo.site.0'));
  await start(rg);
  const phases = (rg.r as unknown as { phases: Map<string, unknown> }).phases;
  try {
    await until(() => rg.observed('demo.site.0')?.phase === 'pulling', 2000, 'pulling');
    await rg.assign();
    await until(() => !phases.has('demo.site.0'), 2000, 'the phase to go');
    await until(() => rg.observed('demo.site.0') === undefined, 2000, 'the observed key to go');
  } finally {
    release();
    await rg.r.stop();
  }
});

test('stop() ends the health checks before it waits for actions in flight', async () => {
  const health: HealthSpec = { kind: 'command', command: ['/bin/check'], intervalMs: 10, timeoutMs: 5, threshold: 1 };
  const rg = await rig([view('demo.site.0', 'running')]);
  let release!: () => void;
  rg.setPull(() => new Promise<void>((resolve) => { release = resolve; }));
  await rg.assign(assignment('demo.site.0', health), assignment('demo.api.0'));
  await start(rg);
  await until(() => rg.pulls.length === 1 && calls(rg.jails, 'exec') >= 2, 2000, 'a pull in flight and checks running');
  const stopped = rg.r.stop();
  const checks = calls(rg.jails, 'exec');
  await sleep(100);
  assert.equal(calls(rg.jails, 'exec'), checks, 'no checks while stop() waits for the pull');
  release();
  await stopped;
});
