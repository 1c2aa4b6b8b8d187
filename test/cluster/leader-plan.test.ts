import { DEPLOY_DEFAULTS, type DeploySpec } from '../../src/spec/types.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planPlacements, type LeaderPlan } from '../../src/cluster/leader-plan.js';
import type { Assignment, ObservedReplica, ServiceRecord } from '../../src/cluster/model.js';
import type { RolloutRecord } from '../../src/cluster/rollout.js';
import type { Host } from '../../src/cluster/scheduler-types.js';
import type { ServiceSpec } from '../../src/spec/types.js';
import { down, hosts } from './scheduler-builders.js';

// ---- builders ----

function spec(name: string, replicas: number, tag = 'v1', deploy: Partial<DeploySpec> = {}): ServiceSpec {
  return {
    name, image: { name, tag }, replicas, command: ['/app/run'], env: {}, memoryBytes: 256 * 1024 * 1024, cpus: 0.25,
    pids: 1024, rw: [], restart: 'always', deploy: { ...DEPLOY_DEFAULTS, ...deploy }, user: { uid: 0, gid: 0 },
  };
}

/**
 * No surge, one replica out at a time: the rolling replace from before surges (what these
 * tests were written for; the surge, drain and rollback paths are test/cluster/rollout-plan.test.ts).
 */
const ONE_AT_A_TIME: Partial<DeploySpec> = { maxSurge: 0, maxUnavailable: 1 };

/** `rec('demo', 'site', 3, 'h1')`: the spec's tag is the hash, so a new hash is a new image. */
function rec(stack: string, name: string, replicas: number, hash: string, deploy: Partial<DeploySpec> = ONE_AT_A_TIME): ServiceRecord {
  return { stack, spec: spec(name, replicas, hash, deploy), specHash: hash };
}

/** Observed healthy, on what each host is assigned in `byHost`. */
function healthy(byHost: Map<string, Assignment[]>, except: string[] = []): ObservedReplica[] {
  const out: ObservedReplica[] = [];
  for (const [host, as] of byHost) {
    for (const a of as) {
      if (except.includes(a.jail)) continue;
      out.push({
        host, jail: a.jail, stack: a.stack, service: a.service, replica: a.replica, specHash: a.specHash,
        phase: 'running', healthy: true, ip: '10.0.0.2', message: null, at: '2024-01-01T00:00:00Z',
      });
    }
  }
  return out;
}

function plan(hs: Host[], services: ServiceRecord[], current = new Map<string, Assignment[]>(), observed: ObservedReplica[] = [], rollouts: RolloutRecord[] = []): LeaderPlan {
  return planPlacements({ hosts: hs, services, current, observed, rollouts, now: 1_000_000 });
}

/** { a: 'demo.site.0@h1', b: '' }: each host's jails with their spec hash. */
function layout(p: LeaderPlan): Record<string, string> {
  return Object.fromEntries([...p.byHost].map(([h, as]) => [h, as.map((a) => `${a.jail}@${a.specHash}`).join(' ')]));
}

// ---- tests ----

test('3 replicas spread over 3 hosts, one each, sorted; an idle host gets []', () => {
  const p = plan(hosts('a b c d'), [rec('demo', 'site', 3, 'h1')]);
  assert.deepEqual(layout(p), { a: 'demo.site.0@h1', b: 'demo.site.1@h1', c: 'demo.site.2@h1', d: '' });
  assert.deepEqual(p.rolling, []);
  assert.deepEqual(p.result.decisions, [
    'demo/site#0: placed on a (most free ready host without demo/site)',
    'demo/site#1: placed on b (most free ready host without demo/site)',
    'demo/site#2: placed on c (most free ready host without demo/site)',
  ]);
  const a = p.byHost.get('a')![0]!;
  assert.deepEqual(a, { stack: 'demo', service: 'site', replica: 0, jail: 'demo.site.0', spec: spec('site', 3, 'h1', ONE_AT_A_TIME), specHash: 'h1' });

  // the same input again changes nothing
  const again = plan(hosts('a b c d'), [rec('demo', 'site', 3, 'h1')], p.byHost, healthy(p.byHost));
  assert.deepEqual(again.byHost, p.byHost);
  assert.deepEqual(again.result.decisions, []);
});

test('assignments per host are sorted by jail name', () => {
  const p = plan(hosts('a'), [rec('s', 'web', 1, 'h'), rec('s', 'api', 2, 'h')]);
  assert.deepEqual(layout(p), { a: 's.api.0@h s.api.1@h s.web.0@h' });
});

test('a host that goes down: its replica moves to a free host, with the current spec', () => {
  const first = plan(hosts('a b c d'), [rec('demo', 'site', 3, 'h1')]);
  const hs = [...hosts('a c d'), down('b')];
  const p = plan(hs, [rec('demo', 'site', 3, 'h1')], first.byHost, healthy(first.byHost));
  assert.deepEqual(layout(p), { a: 'demo.site.0@h1', b: '', c: 'demo.site.2@h1', d: 'demo.site.1@h1' });
  assert.equal(p.result.plan.move.length, 1);
  assert.match(p.result.decisions[0]!, /^demo\/site#1: host b is down; moved to d/);
});

test('a moved replica gets the new spec at once, and holds the rollout of the others', () => {
  const first = plan(hosts('a b c d'), [rec('demo', 'site', 3, 'h1')]);
  const hs = [...hosts('a c d'), down('b')];
  const p = plan(hs, [rec('demo', 'site', 3, 'h2')], first.byHost, healthy(first.byHost));
  assert.deepEqual(layout(p), { a: 'demo.site.0@h1', b: '', c: 'demo.site.2@h1', d: 'demo.site.1@h2' });
  assert.deepEqual(p.rolling, ['demo/site: 2 of 3 replicas still on spec h1; waiting for site#1 to be healthy', 'demo/site#1 placed on d with spec h2']);
});

test('rolling update: one replica at a time, each after the others are observed healthy', () => {
  const hs = hosts('a b c');
  const v1 = plan(hs, [rec('demo', 'site', 3, 'aaaaaaaa1111')]);
  const v2 = [rec('demo', 'site', 3, 'bbbbbbbb2222')];

  // pass 1: all healthy on the old spec: replica 0 switches, the others hold
  const p1 = plan(hs, v2, v1.byHost, healthy(v1.byHost));
  assert.deepEqual(layout(p1), { a: 'demo.site.0@bbbbbbbb2222', b: 'demo.site.1@aaaaaaaa1111', c: 'demo.site.2@aaaaaaaa1111' });
  // (the switch is said as the rollout record's event; it used to list the healthy others)
  assert.deepEqual(p1.rolling, ['demo/site#0 on a: replacing with spec bbbbbbbb (site:bbbbbbbb2222)']);
  // the held ones keep their old assignment unchanged
  assert.deepEqual(p1.byHost.get('b'), v1.byHost.get('b'));

  // pass 2: replica 0 is still on the old spec (the agent is replacing it): nothing switches
  const p2 = plan(hs, v2, p1.byHost, healthy(v1.byHost));
  assert.deepEqual(layout(p2), layout(p1));
  // (these passes get no rollout record, so the switch's event is said again: the leader passes the record it wrote)
  assert.deepEqual(p2.rolling, ['demo/site: 2 of 3 replicas still on spec aaaaaaaa; waiting for site#0 to be healthy', 'demo/site#0 on a: replacing with spec bbbbbbbb (site:bbbbbbbb2222)']);
  assert.deepEqual(plan(hs, v2, p1.byHost, healthy(v1.byHost), p1.rollouts).rolling, ['demo/site: 2 of 3 replicas still on spec aaaaaaaa; waiting for site#0 to be healthy']);

  // pass 3: replica 0 runs the new spec but is not healthy yet
  const notYet = healthy(p1.byHost).map((o) => (o.replica === 0 ? { ...o, healthy: false } : o));
  assert.deepEqual(layout(plan(hs, v2, p1.byHost, notYet)), layout(p1));

  // pass 4: replica 0 healthy on the new spec: replica 1 switches
  const p4 = plan(hs, v2, p1.byHost, healthy(p1.byHost), p1.rollouts);
  assert.deepEqual(layout(p4), { a: 'demo.site.0@bbbbbbbb2222', b: 'demo.site.1@bbbbbbbb2222', c: 'demo.site.2@aaaaaaaa1111' });
  assert.deepEqual(p4.rolling, ['demo/site#0 healthy on a', 'demo/site#1 on b: replacing with spec bbbbbbbb (site:bbbbbbbb2222)']);

  // pass 5: replica 1 healthy: the last one switches
  const p5 = plan(hs, v2, p4.byHost, healthy(p4.byHost), p4.rollouts);
  assert.deepEqual(layout(p5), { a: 'demo.site.0@bbbbbbbb2222', b: 'demo.site.1@bbbbbbbb2222', c: 'demo.site.2@bbbbbbbb2222' });
  assert.deepEqual(p5.rolling, ['demo/site#1 healthy on b', 'demo/site#2 on c: replacing with spec bbbbbbbb (site:bbbbbbbb2222)']);

  // done: nothing more to say
  const p6 = plan(hs, v2, p5.byHost, healthy(p5.byHost), p5.rollouts);
  assert.deepEqual(p6.byHost, p5.byHost);
  assert.deepEqual(p6.rolling, ['demo/site#2 healthy on c', 'demo/site: complete: 3 replicas on spec bbbbbbbb (site:bbbbbbbb2222)']);
  assert.equal(p6.rollouts[0]!.state, 'complete');
  const p7 = plan(hs, v2, p6.byHost, healthy(p6.byHost), p6.rollouts);
  assert.deepEqual(p7.rolling, []);
  assert.deepEqual(p7.rollouts, [], 'nothing more to write');
  // the scheduler saw no change at any step
  for (const p of [p1, p2, p4, p5, p6, p7]) assert.deepEqual(p.result.decisions, []);
});

test('rolling update: a replica that is not healthy anyway switches at once, and holds the rest', () => {
  const hs = hosts('a b c');
  const v1 = plan(hs, [rec('demo', 'site', 3, 'h1')]);
  const p = plan(hs, [rec('demo', 'site', 3, 'h2')], v1.byHost, healthy(v1.byHost, ['demo.site.2']));
  assert.deepEqual(layout(p), { a: 'demo.site.0@h1', b: 'demo.site.1@h1', c: 'demo.site.2@h2' });
  assert.deepEqual(p.rolling, [
    'demo/site#2: rolling to spec h2 now (its replica on spec h1 is not healthy)',
    'demo/site: 2 of 3 replicas still on spec h1; waiting for site#2 to be healthy',
  ]);
  // observed on another spec counts as not healthy
  const stale = healthy(v1.byHost).map((o) => (o.replica === 1 ? { ...o, specHash: 'h0' } : o));
  const q = plan(hs, [rec('demo', 'site', 3, 'h2')], v1.byHost, stale);
  assert.deepEqual(layout(q), { a: 'demo.site.0@h1', b: 'demo.site.1@h2', c: 'demo.site.2@h1' });
});

test('rolling update: a single replica switches when it is healthy; new replicas get the new spec', () => {
  const hs = hosts('a b');
  const v1 = plan(hs, [rec('demo', 'db', 1, 'h1')]);
  const p = plan(hs, [rec('demo', 'db', 2, 'h2')], v1.byHost, healthy(v1.byHost));
  // replica 1 is new (h2, not healthy yet): replica 0 waits for it
  assert.deepEqual(layout(p), { a: 'demo.db.0@h1', b: 'demo.db.1@h2' });
  assert.deepEqual(p.rolling, ['demo/db: 1 of 2 replicas still on spec h1; waiting for db#1 to be healthy', 'demo/db#1 placed on b with spec h2']);
  const one = plan(hs, [rec('demo', 'db', 1, 'h2')], v1.byHost, healthy(v1.byHost));
  assert.deepEqual(layout(one), { a: 'demo.db.0@h2', b: '' });
  assert.deepEqual(one.rolling, ['demo/db#0 on a: replacing with spec h2 (db:h2)']);
});

test('rolling update: an unplaced replica holds the rollout', () => {
  const hs = hosts('a b', { jails: 1 });
  const v1 = plan(hs, [rec('demo', 'site', 3, 'h1')]);
  assert.equal(v1.result.unplaced.length, 1);
  const p = plan(hs, [rec('demo', 'site', 3, 'h2')], v1.byHost, healthy(v1.byHost));
  assert.deepEqual(layout(p), { a: 'demo.site.0@h1', b: 'demo.site.1@h1' });
  assert.deepEqual(p.rolling, ['demo/site: 2 of 3 replicas still on spec h1; waiting for site#2 to be healthy']);
});

test('scale down removes the highest index', () => {
  const hs = hosts('a b c');
  const v1 = plan(hs, [rec('demo', 'site', 3, 'h1')]);
  const p = plan(hs, [rec('demo', 'site', 2, 'h1')], v1.byHost, healthy(v1.byHost));
  assert.deepEqual(layout(p), { a: 'demo.site.0@h1', b: 'demo.site.1@h1', c: '' });
  assert.deepEqual(p.result.plan.stop.map((s) => `${s.service}#${s.replica}@${s.host}:${s.reason}`), ['demo/site#2@c:scaled-down']);
  // a removed service is stopped everywhere
  const gone = plan(hs, [], v1.byHost, healthy(v1.byHost));
  assert.deepEqual(layout(gone), { a: '', b: '', c: '' });
});

test('two stacks with a service of the same name do not collide', () => {
  const hs = hosts('a b');
  const p = plan(hs, [rec('one', 'web', 2, 'h1'), rec('two', 'web', 2, 'h9')]);
  // distinct services to the scheduler: it balances them (one.web first, by name)
  assert.deepEqual(layout(p), { a: 'one.web.0@h1 two.web.1@h9', b: 'one.web.1@h1 two.web.0@h9' });
  // rolling one stack leaves the other alone
  const q = plan(hs, [rec('one', 'web', 2, 'h2'), rec('two', 'web', 2, 'h9')], p.byHost, healthy(p.byHost));
  assert.deepEqual(layout(q), { a: 'one.web.0@h2 two.web.1@h9', b: 'one.web.1@h1 two.web.0@h9' });
  assert.deepEqual(q.rolling, ['one/web#0 on a: replacing with spec h2 (web:h2)']);
});

test('the order of the input does not matter', () => {
  const hs = hosts('a b c');
  const svcs = [rec('x', 'web', 2, 'h1'), rec('y', 'api', 3, 'h1'), rec('x', 'api', 1, 'h1')];
  const p = plan(hs, svcs);
  const q = plan([...hs].reverse(), [...svcs].reverse());
  assert.deepEqual(layout(q), layout(p));
});

test('assignments on hosts no longer in the cluster are placed again', () => {
  const current = new Map([['gone', [{ stack: 'demo', service: 'site', replica: 0, jail: 'demo.site.0', spec: spec('site', 1, 'h1', ONE_AT_A_TIME), specHash: 'h1' }]]]);
  const p = plan(hosts('a'), [rec('demo', 'site', 1, 'h1')], current);
  assert.deepEqual(layout(p), { a: 'demo.site.0@h1' });
  assert.equal(p.byHost.has('gone'), false);
});

test('disk: each replica counts its service\'s disk, else the cluster\'s default, else 1G; assignments carry it, the spec hash does not change', () => {
  const G = 1024 ** 3;
  const hs = hosts('a b').map((h) => ({ ...h, capacity: { ...h.capacity, diskBytes: 2 * G } }));
  // the default 1G: two replicas per 2G host
  assert.equal(plan(hs, [rec('demo', 'site', 4, 'h1')]).result.unplaced.length, 0);
  assert.equal(plan(hs, [rec('demo', 'site', 5, 'h1')]).result.unplaced.length, 1);
  // the cluster's default: 512M each
  const small = planPlacements({ hosts: hs, services: [rec('demo', 'site', 8, 'h1')], current: new Map(), observed: [], defaultDiskBytes: G / 2 });
  assert.equal(small.result.unplaced.length, 0);
  const a = small.byHost.get('a')![0]!;
  assert.equal(a.spec.diskBytes, G / 2, 'the assignment carries the disk the scheduler counted');
  assert.equal(a.specHash, 'h1');
  // the service's own disk wins over the default
  const own = rec('demo', 'db', 1, 'h2');
  own.spec = { ...own.spec, diskBytes: 3 * G };
  const big = planPlacements({ hosts: hs, services: [own], current: new Map(), observed: [], defaultDiskBytes: G / 2 });
  assert.deepEqual(big.result.unplaced.map((u) => u.reason), ['no ready host has 3.00G of disk free; most is 2.00G on a']);
});
