// The leader loop on an in-memory store: a pass as soon as it is elected, a pass when a host's
// lease goes, one election (watches, timer) per lease, and each unplaced replica said once.
import { DEPLOY_DEFAULTS } from '../../src/spec/types.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { LeaderLoop } from '../../src/agent/leader.js';
import { LEADER_KEY } from '../../src/cluster/keys.js';
import { type HostInfo, type HostLive, type HostPlacements, type ServiceRecord } from '../../src/cluster/model.js';
import { K } from '../../src/cluster/keys.js';
import type { ServiceSpec } from '../../src/spec/types.js';
import { FakeLease, FakeStore, until } from './fake-store.js';

const log = pino({ level: 'silent' });
const MiB = 1024 * 1024;
/** Long enough that only watches (and being elected) can trigger a pass within a test. */
const NO_TIMER = 3_600_000;
/** The leader's watches: hosts, hostinfo, hostctl, services, observed. */
const LEADER_WATCHES = 5;

function live(name: string): HostLive {
  return {
    name, address: '192.0.2.1', apiPort: 7443, subnet: '10.77.0.0/24', capacity: { memoryBytes: 1024 * MiB, cpus: 2, jails: 10 },
    etcd: 'member', version: 'test', startedAt: '2024-01-01T00:00:00Z',
  };
}

async function addHost(s: FakeStore, name: string, lease: FakeLease): Promise<void> {
  const info: HostInfo = { name, address: '192.0.2.1', apiPort: 7443, subnet: '10.77.0.0/24', joinedAt: '2024-01-01T00:00:00Z' };
  await s.putJson(K.hostInfo(name), info);
  await s.putJson(K.hostLive(name), live(name), lease.id);
}

async function addService(s: FakeStore, replicas: number, memoryBytes = 64 * MiB): Promise<void> {
  const spec: ServiceSpec = {
    name: 'site', image: { name: 'site', tag: 'v1' }, replicas, command: ['/app/run'], env: {}, memoryBytes, pids: 64, rw: [],
    restart: 'always', deploy: { ...DEPLOY_DEFAULTS }, user: { uid: 0, gid: 0 },
  };
  const rec: ServiceRecord = { stack: 'demo', spec, specHash: `h${replicas}` };
  await s.putJson(K.service('demo', 'site'), rec);
}

/** { a: 'demo.site.0', b: '' }-like: every placements/<host> key, its jails. */
function placed(s: FakeStore): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of s.kvs.values()) {
    if (!kv.key.startsWith(K.placements)) continue;
    const p = JSON.parse(kv.value) as HostPlacements;
    out[p.host] = p.assignments.map((a) => a.jail).join(' ');
  }
  return out;
}

test('once elected it runs a pass at once, and says each unplaced replica once', async () => {
  const s = new FakeStore();
  const lease = new FakeLease(s);
  await addHost(s, 'a', lease);
  await addService(s, 2, 768 * MiB); // room for one
  const loop = new LeaderLoop({ store: s.store, name: 'a', log, intervalMs: NO_TIMER });
  try {
    loop.follow(lease.lease);
    await until(() => placed(s).a === 'demo.site.0', 2000, 'the first placement');
    assert.equal(loop.isLeader, true);
    const notPlaced = loop.decisions.filter((d) => d.includes('not placed'));
    assert.equal(notPlaced.length, 1, loop.decisions.join('\n'));
    assert.match(notPlaced[0]!, /^demo\/site#1: not placed: /);
  } finally {
    await loop.stop();
  }
  assert.equal(s.openWatches, 0);
  assert.equal(s.kvs.has(LEADER_KEY), false, 'stop() resigns');
});

test("a host whose lease goes triggers a pass at once: its replica moves", async () => {
  const s = new FakeStore();
  const la = new FakeLease(s);
  const lb = new FakeLease(s);
  await addHost(s, 'a', la);
  await addHost(s, 'b', lb);
  await addService(s, 2);
  const loop = new LeaderLoop({ store: s.store, name: 'a', log, intervalMs: NO_TIMER });
  try {
    loop.follow(la.lease);
    await until(() => placed(s).a === 'demo.site.0' && placed(s).b === 'demo.site.1', 2000, 'one replica on each host');
    lb.lose(); // etcd deletes hosts/b
    await until(() => placed(s).a === 'demo.site.0 demo.site.1', 2000, 'the replica of b moved to a');
    assert.equal(placed(s).b, '');
  } finally {
    await loop.stop();
  }
});

test('a new lease after a lost one: the old election ends (its watches go), the new one leads and watches', async () => {
  const s = new FakeStore();
  const l1 = new FakeLease(s);
  await addHost(s, 'a', l1);
  await addService(s, 1);
  const loop = new LeaderLoop({ store: s.store, name: 'a', log, intervalMs: NO_TIMER });
  try {
    loop.follow(l1.lease);
    await until(() => loop.isLeader && s.openWatches === LEADER_WATCHES + 1, 2000, 'leading on the first lease');
    await until(() => placed(s).a === 'demo.site.0', 2000, 'the first placement');

    l1.lose();
    assert.equal(loop.isLeader, false);
    // the term's watches end with its lease; only the old election's own watch is left
    await until(() => s.openWatches === 1, 2000, 'the first term to end');

    const l2 = new FakeLease(s);
    await addHost(s, 'a', l2);
    loop.follow(l2.lease);
    await until(() => loop.isLeader && s.kvs.get(LEADER_KEY)?.lease === l2.id, 2000, 'leading on the second lease');
    await until(() => s.openWatches === LEADER_WATCHES + 1, 2000, 'the second term to watch (and nothing of the first)');
    // the new term's watches trigger passes
    await addService(s, 2);
    await until(() => placed(s).a === 'demo.site.0 demo.site.1', 2000, 'a pass on the service change');
  } finally {
    await loop.stop();
  }
  assert.equal(s.openWatches, 0);
});

test('a new lease while the old one still leads: the old term resigns and the new one takes over', async () => {
  const s = new FakeStore();
  const l1 = new FakeLease(s);
  await addHost(s, 'a', l1);
  await addService(s, 1);
  const loop = new LeaderLoop({ store: s.store, name: 'a', log, intervalMs: NO_TIMER });
  try {
    loop.follow(l1.lease);
    await until(() => s.kvs.get(LEADER_KEY)?.lease === l1.id && s.openWatches === LEADER_WATCHES + 1, 2000, 'leading on the first lease');
    const l2 = new FakeLease(s);
    loop.follow(l2.lease);
    await until(() => loop.isLeader && s.kvs.get(LEADER_KEY)?.lease === l2.id, 2000, 'leading on the second lease');
    await until(() => s.openWatches === LEADER_WATCHES + 1, 2000, 'only the second term watching');
    await addService(s, 2);
    await until(() => placed(s).a === 'demo.site.0 demo.site.1', 2000, 'a pass on the service change');
  } finally {
    await loop.stop();
  }
  assert.equal(s.openWatches, 0);
  assert.equal(s.kvs.has(LEADER_KEY), false);
});
