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
import { rolloutStartWrites, type RolloutRecord } from '../../src/cluster/rollout.js';
import type { ObservedReplica } from '../../src/cluster/model.js';
import type { LbHostState } from '../../src/lb/model.js';

const log = pino({ level: 'silent' });
const MiB = 1024 * 1024;
/** Long enough that only watches (and being elected) can trigger a pass within a test. */
const NO_TIMER = 3_600_000;
/** The leader's watches: hosts, hostinfo, hostctl, services, observed, lbstate, rollouts. */
const LEADER_WATCHES = 7;

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

// ---- rollouts ----

function siteRecord(tag: string, o: { published?: boolean } = {}): ServiceRecord {
  const spec: ServiceSpec = {
    name: 'site', image: { name: 'site', tag }, replicas: 2, command: ['/app/run'], env: {}, memoryBytes: 64 * MiB, pids: 64, rw: [],
    restart: 'always', deploy: { ...DEPLOY_DEFAULTS, deadlineMs: 60_000, drainMs: 10_000 }, user: { uid: 0, gid: 0 }, port: 8080,
    ...(o.published ? { publish: { http: ['site.example.com'] } } : {}),
  };
  return { stack: 'demo', spec, specHash: `${tag}hash0000000000`.slice(0, 16) };
}

/** What `apply` writes for a changed spec: the service and its rollout record, in one batch. */
async function applySite(s: FakeStore, next: ServiceRecord): Promise<void> {
  const cur = await s.getJson<ServiceRecord>(K.service('demo', 'site'));
  const old = await s.getJson<RolloutRecord>(K.rollout('demo', 'site'));
  await s.batch([{ put: K.service('demo', 'site'), value: JSON.stringify(next) }, ...rolloutStartWrites(cur ? [cur] : [], [next], new Map(old ? [['site', old]] : []), new Date().toISOString())]);
}

/** The hosts' part: every placed replica observed running and healthy on its assigned spec (unless `except`). */
async function hostsRun(s: FakeStore, leases: Map<string, FakeLease>, except: string[] = []): Promise<void> {
  for (const kv of [...s.kvs.values()]) {
    if (!kv.key.startsWith(K.placements)) continue;
    const p = JSON.parse(kv.value) as HostPlacements;
    for (const a of p.assignments) {
      const o: ObservedReplica = {
        host: p.host, jail: a.jail, stack: a.stack, service: a.service, replica: a.replica, specHash: a.specHash, phase: 'running',
        healthy: !except.includes(a.jail), ip: '10.77.0.2', message: null, at: 'x',
      };
      const have = s.kvs.get(K.observed(p.host, a.jail));
      if (have?.value !== JSON.stringify(o)) await s.putJson(K.observed(p.host, a.jail), o, leases.get(p.host)!.id);
    }
  }
}

/** Each host's HAProxy: every placed replica in rotation (unless drained or in `out`), with `sessions` each. */
async function lbStates(s: FakeStore, leases: Map<string, FakeLease>, out: string[], at: string, sessions = 0): Promise<void> {
  const all = new Map<string, boolean>();
  for (const kv of s.kvs.values()) {
    if (!kv.key.startsWith(K.placements)) continue;
    for (const a of (JSON.parse(kv.value) as HostPlacements).assignments) all.set(a.jail, a.drain === true);
  }
  for (const [h, l] of leases) {
    const st: LbHostState = {
      host: h, haproxy: 'running', message: null, vipHeld: false, at,
      backends: [{ stack: 'demo', service: 'site', backend: 'demo.site', servers: [...all].map(([j, drained]) => ({ jail: j, addr: 'x', status: drained ? 'DRAIN' : 'UP', inRotation: !out.includes(j) && !drained, sessions, requests: 0, errors: 0 })) }],
    };
    await s.putJson(K.lbState(h), st, l.id);
  }
}

const rollout = (s: FakeStore) => JSON.parse(s.kvs.get(K.rollout('demo', 'site'))?.value ?? 'null') as RolloutRecord | null;
const specs = (s: FakeStore) => Object.values(placedSpecs(s)).join(' ');

function placedSpecs(s: FakeStore): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of s.kvs.values()) {
    if (!kv.key.startsWith(K.placements)) continue;
    const p = JSON.parse(kv.value) as HostPlacements;
    out[p.host] = p.assignments.map((a) => `${a.jail}@${a.spec.image.tag}${a.drain ? '~' : ''}`).join(' ');
  }
  return out;
}

test('a rollout on the store: surge first, then each old replica, then the surge goes; the record says complete', async () => {
  const s = new FakeStore();
  const leases = new Map([['a', new FakeLease(s)], ['b', new FakeLease(s)]]);
  for (const [h, l] of leases) await addHost(s, h, l);
  await s.putJson(K.service('demo', 'site'), siteRecord('v1'));
  const loop = new LeaderLoop({ store: s.store, name: 'a', log, intervalMs: NO_TIMER });
  try {
    loop.follow(leases.get('a')!.lease);
    await until(() => placed(s).a === 'demo.site.0' && placed(s).b === 'demo.site.1', 2000, 'v1 placed');
    await hostsRun(s, leases);
    await applySite(s, siteRecord('v2'));
    await until(() => specs(s).includes('demo.site.2@v2'), 2000, 'the surge replica on v2');
    assert.ok(!specs(s).includes('demo.site.0@v2') && !specs(s).includes('demo.site.1@v2'), 'no old replica replaced before the surge is healthy');
    // the hosts keep converging: the leader moves the rollout on at each report
    for (let i = 0; i < 100 && rollout(s)?.state !== 'complete'; i++) { await hostsRun(s, leases); await new Promise((r) => setTimeout(r, 10)); }
    assert.equal(rollout(s)?.state, 'complete', JSON.stringify(rollout(s)?.events));
    assert.deepEqual(placedSpecs(s), { a: 'demo.site.0@v2', b: 'demo.site.1@v2' });
    assert.ok(loop.decisions.includes('demo/site: complete: 2 replicas on spec v2hash00 (site:v2)'), loop.decisions.join('\n'));
    // the service deleted: its replicas stop and its rollout record goes
    await s.delete(K.service('demo', 'site'));
    await until(() => rollout(s) === null && specs(s).trim() === '', 2000, 'the record removed with the service');
  } finally {
    await loop.stop();
  }
  assert.equal(s.openWatches, 0);
});

test('a rollout whose new replica never gets in rotation: rolled back by the leader when its deadline ends', async () => {
  const s = new FakeStore();
  const leases = new Map([['a', new FakeLease(s)], ['b', new FakeLease(s)]]);
  for (const [h, l] of leases) await addHost(s, h, l);
  const v1 = siteRecord('v1', { published: true });
  await s.putJson(K.service('demo', 'site'), v1);
  let clock = Date.now();
  const loop = new LeaderLoop({ store: s.store, name: 'a', log, intervalMs: NO_TIMER, now: () => clock });
  const lbReport = (out: string[]) => lbStates(s, leases, out, String(clock));
  try {
    loop.follow(leases.get('a')!.lease);
    await until(() => placed(s).a === 'demo.site.0' && placed(s).b === 'demo.site.1', 2000, 'v1 placed');
    await hostsRun(s, leases);
    await lbReport([]);
    await applySite(s, siteRecord('v3', { published: true }));
    await until(() => specs(s).includes('demo.site.2@v3'), 2000, 'the surge replica on v3');
    await hostsRun(s, leases);
    await lbReport(['demo.site.2']);
    await until(() => (rollout(s)?.replicas.length ?? 0) === 3, 2000, 'the record to show the surge');
    clock += 61_000;
    await lbReport(['demo.site.2']); // any event: the leader looks at the clock
    await until(() => rollout(s)?.state === 'rolled-back', 2000, 'the rollback');
    assert.equal(rollout(s)?.reason, 'site: rolled back to spec v1hash00: replica site#2 not in rotation on a b within 60s');
    assert.equal((await s.getJson<ServiceRecord>(K.service('demo', 'site')))?.specHash, v1.specHash, 'the service is back on v1');
    await until(() => specs(s) === 'demo.site.0@v1 demo.site.1@v1', 2000, 'the surge removed, the old replicas untouched');
  } finally {
    await loop.stop();
  }
});

test('a drain that ends with sessions still open: the leader replaces the replica by its own timer, with no event', async () => {
  const s = new FakeStore();
  const leases = new Map([['a', new FakeLease(s)], ['b', new FakeLease(s)]]);
  for (const [h, l] of leases) await addHost(s, h, l);
  const site = (tag: string) => { const r = siteRecord(tag, { published: true }); r.spec.deploy = { ...r.spec.deploy, drainMs: 300 }; return r; };
  await s.putJson(K.service('demo', 'site'), site('v1'));
  const loop = new LeaderLoop({ store: s.store, name: 'a', log, intervalMs: NO_TIMER });
  try {
    loop.follow(leases.get('a')!.lease);
    await until(() => placed(s).a === 'demo.site.0' && placed(s).b === 'demo.site.1', 2000, 'v1 placed');
    await hostsRun(s, leases);
    await applySite(s, site('v2'));
    await until(() => specs(s).includes('demo.site.2@v2'), 2000, 'the surge replica on v2');
    await hostsRun(s, leases);
    await lbStates(s, leases, [], 'x', 1);
    await until(() => specs(s).includes('~'), 2000, 'an old replica drained');
    const drained = specs(s);
    await lbStates(s, leases, [], 'y', 1); // HAProxy shows it draining, with a session still open
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(specs(s), drained, 'still draining before drainMs');
    // nothing else happens: only the leader's timer can end the drain
    await until(() => /demo\.site\.[01]@v2~/.test(specs(s)), 2000, 'replaced once drainMs is over');
  } finally {
    await loop.stop();
  }
});
