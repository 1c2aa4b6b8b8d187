// Rollouts in the leader's pure plan: a small world (placements, what each host's HAProxy
// reports, the clock) stepped pass by pass, as the leader and the hosts would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planPlacements, type LeaderPlan } from '../../src/cluster/leader-plan.js';
import type { Assignment, ObservedReplica, ServiceRecord } from '../../src/cluster/model.js';
import type { Host } from '../../src/cluster/scheduler-types.js';
import { DEPLOY_DEFAULTS, type DeploySpec, type ServiceSpec } from '../../src/spec/types.js';
import type { LbHostState, LbServerState } from '../../src/lb/model.js';
import { rolloutStartWrites, startRollout, undoWrites, type RolloutRecord } from '../../src/cluster/rollout.js';
import { down, hosts } from './scheduler-builders.js';
import { UserError } from '../../src/sys/errors.js';

const V1 = 'v1aaaaaaaaaaaaaa';
const V2 = 'v2bbbbbbbbbbbbbb';
const V3 = 'v3cccccccccccccc';

function rec(hash: string, o: { replicas?: number; deploy?: Partial<DeploySpec>; published?: boolean } = {}): ServiceRecord {
  const spec: ServiceSpec = {
    name: 'site', image: { name: 'site', tag: hash.slice(0, 2) }, replicas: o.replicas ?? 3, command: ['/app/run'], env: {}, memoryBytes: 64 * 1024 * 1024,
    pids: 64, rw: [], restart: 'always', user: { uid: 0, gid: 0 }, port: 8080,
    deploy: { ...DEPLOY_DEFAULTS, deadlineMs: 60_000, drainMs: 10_000, ...o.deploy },
    ...(o.published === false ? {} : { publish: { http: ['site.example.com'] } }),
  };
  return { stack: 'demo', spec, specHash: hash };
}

/** What the hosts report this pass: everything assigned runs, healthy and in rotation, unless said. */
interface Report {
  unhealthy?: string[];
  /** jail -> hosts whose HAProxy does not have it in rotation */
  notIn?: Record<string, string[]>;
  sessions?: Record<string, number>;
  figures?: Record<string, { requests: number; errors: number }>;
}

class World {
  byHost = new Map<string, Assignment[]>();
  rollouts: RolloutRecord[] = [];
  now = Date.parse('2026-01-01T00:00:00Z');
  last!: LeaderPlan;
  said: string[] = [];

  constructor(public hosts: Host[], public service: ServiceRecord) {}

  step(r: Report = {}, advanceMs = 1000): LeaderPlan {
    this.now += advanceMs;
    const observed: ObservedReplica[] = [];
    const servers: LbServerState[] = [];
    for (const [host, as] of this.byHost) {
      if (this.hosts.find((h) => h.name === host)?.state === 'down') continue;
      for (const a of as) {
        const healthy = !(r.unhealthy ?? []).includes(a.jail);
        observed.push({ host, jail: a.jail, stack: a.stack, service: a.service, replica: a.replica, specHash: a.specHash, phase: 'running', healthy, ip: '10.0.0.2', message: null, at: '' });
        const f = r.figures?.[a.jail] ?? { requests: 0, errors: 0 };
        servers.push({ jail: a.jail, addr: '10.0.0.2:8080', status: a.drain ? 'DRAIN' : 'UP', inRotation: healthy && !a.drain, sessions: r.sessions?.[a.jail] ?? 0, ...f });
      }
    }
    const lbStates: LbHostState[] = this.hosts.filter((h) => h.state !== 'down').map((h) => ({
      host: h.name, haproxy: 'running', message: null, vipHeld: false, at: '',
      backends: [{ stack: 'demo', service: 'site', backend: 'demo.site', servers: servers.map((s) => ({ ...s, inRotation: s.inRotation && !(r.notIn?.[s.jail] ?? []).includes(h.name) })) }],
    }));
    const p = planPlacements({ hosts: this.hosts, services: [this.service], current: this.byHost, observed, now: this.now, rollouts: this.rollouts, lbStates });
    this.byHost = p.byHost;
    for (const w of p.rollouts) this.rollouts = [...this.rollouts.filter((x) => x.service !== w.service), w];
    for (const s of p.serviceWrites) this.service = s;
    this.said.push(...p.rolling);
    this.last = p;
    return p;
  }

  apply(next: ServiceRecord): void {
    this.rollouts = [startRollout(this.service, next, this.rollouts[0], new Date(this.now).toISOString(), 'started')];
    this.service = next;
  }

  /** 'demo.site.0@v1 demo.site.3@v2' per host; a drained replica is marked '~'. */
  layout(): Record<string, string> {
    return Object.fromEntries([...this.byHost].map(([h, as]) => [h, as.map((a) => `${a.jail}@${a.specHash.slice(0, 2)}${a.drain ? '~' : ''}`).join(' ')]));
  }

  get record(): RolloutRecord { return this.rollouts[0]!; }
}

/** A world with v1 settled on a b c. */
function settled(o: Parameters<typeof rec>[1] = {}, hs = hosts('a b c')): World {
  const w = new World(hs, rec(V1, o));
  w.step();
  w.step();
  return w;
}

test('surge: a new replica with the new spec first; no drain until it is in rotation on every host', () => {
  const w = settled();
  assert.deepEqual(w.layout(), { a: 'demo.site.0@v1', b: 'demo.site.1@v1', c: 'demo.site.2@v1' });
  w.apply(rec(V2));
  w.step();
  assert.deepEqual(w.layout(), { a: 'demo.site.0@v1 demo.site.3@v2', b: 'demo.site.1@v1', c: 'demo.site.2@v1' });
  // running and healthy, but c's HAProxy does not have it in rotation yet: nothing drains
  w.step({ notIn: { 'demo.site.3': ['c'] } });
  assert.deepEqual(w.layout(), { a: 'demo.site.0@v1 demo.site.3@v2', b: 'demo.site.1@v1', c: 'demo.site.2@v1' });
  assert.deepEqual(w.record.replicas.find((r) => r.replica === 3)?.notIn, ['c']);
  // in rotation everywhere: one old replica drains (max_unavailable 0: 4 available, 3 needed)
  w.step();
  assert.deepEqual(w.layout(), { a: 'demo.site.0@v1~ demo.site.3@v2', b: 'demo.site.1@v1', c: 'demo.site.2@v1' });
  assert.ok(w.said.includes('demo/site#3 in rotation on a b c'), w.said.join('\n'));
  assert.ok(w.said.includes('demo/site: draining site#0 on a'), w.said.join('\n'));
  assert.equal(w.last.wakeAt, w.now + 10_000, 'a pass when the drain ends');
});

test('drain: the replica is replaced after drainMs, or as soon as every HAProxy shows 0 sessions on it', () => {
  const w = settled();
  w.apply(rec(V2));
  w.step();
  w.step(); // site.0 draining
  w.step({ sessions: { 'demo.site.0': 2 } }, 5000);
  assert.equal(w.layout().a, 'demo.site.0@v1~ demo.site.3@v2', 'still draining: sessions left, 5 s of 10');
  w.step({ sessions: { 'demo.site.0': 1 } }, 5000);
  assert.equal(w.layout().a, 'demo.site.0@v2~ demo.site.3@v2', 'drainMs over: replaced in place, drained until healthy');
  // healthy on the new spec: back in rotation; the next old one drains only once it is
  w.step();
  assert.deepEqual(w.layout(), { a: 'demo.site.0@v2 demo.site.3@v2', b: 'demo.site.1@v1', c: 'demo.site.2@v1' });
  w.step();
  assert.deepEqual(w.layout(), { a: 'demo.site.0@v2 demo.site.3@v2', b: 'demo.site.1@v1~', c: 'demo.site.2@v1' });
  // 0 sessions everywhere: replaced at the next pass, long before drainMs
  w.step({}, 100);
  assert.equal(w.layout().b, 'demo.site.1@v2~');
  // the record's events: the surge in rotation before the drain it allowed; a drain said once,
  // though the drained replica's spec changed while it stayed drained
  const texts = w.record.events.map((e) => e.text);
  const at = (t: string) => { const i = texts.indexOf(t); assert.ok(i >= 0, `${t} in ${texts.join(' | ')}`); return i; };
  assert.ok(at('site#3 in rotation on a b c') < at('draining site#0 on a'), texts.join(' | '));
  assert.equal(texts.filter((t) => t === 'draining site#0 on a').length, 1, texts.join(' | '));
});

test('a whole rollout: every replica on the new spec, the surge drained and removed, the record complete with history', () => {
  const w = settled();
  w.apply(rec(V2));
  for (let i = 0; i < 30 && w.record.state === 'progressing'; i++) w.step({}, 1000);
  assert.equal(w.record.state, 'complete', w.said.join('\n'));
  assert.deepEqual(w.layout(), { a: 'demo.site.0@v2', b: 'demo.site.1@v2', c: 'demo.site.2@v2' });
  assert.deepEqual(w.record.history.map((h) => `${h.from?.image} -> ${h.to.image}: ${h.outcome}`), ['site:v1 -> site:v2: complete']);
  assert.ok(w.said.includes('demo/site#3 (surge) removed from a'), w.said.join('\n'));
  assert.equal(w.said.at(-1), 'demo/site: complete: 3 replicas on spec v2bbbbbb (site:v2)');
  // settled: nothing more to write or say
  const before = w.said.length;
  const p = w.step();
  assert.deepEqual(p.rollouts, []);
  assert.equal(w.said.length, before);
});

test('never fewer than replicas - max_unavailable in rotation during the whole rollout', () => {
  for (const deploy of [{ maxSurge: 1, maxUnavailable: 0 }, { maxSurge: 2, maxUnavailable: 0 }, { maxSurge: 0, maxUnavailable: 1 }, { maxSurge: 1, maxUnavailable: 1 }]) {
    const w = settled({ deploy });
    w.apply(rec(V2, { deploy }));
    for (let i = 0; i < 40 && w.record.state === 'progressing'; i++) {
      const ran = new Set([...w.byHost].flatMap(([h, as]) => as.map((a) => `${h} ${a.jail} ${a.specHash}`)));
      w.step({}, 3000);
      // serving after this pass: assigned as it ran before (so running and healthy), and not drained
      const serving = [...w.byHost].flatMap(([h, as]) => as.filter((a) => !a.drain && ran.has(`${h} ${a.jail} ${a.specHash}`))).length;
      assert.ok(serving >= 3 - deploy.maxUnavailable, `${JSON.stringify(deploy)} pass ${i}: ${serving} serving\n${JSON.stringify(w.layout())}`);
    }
    assert.equal(w.record.state, 'complete', `${JSON.stringify(deploy)}: ${w.said.join('\n')}`);
  }
});

test('max_unavailable 1 with no surge: an old replica drains at once, none is added', () => {
  const deploy = { maxSurge: 0, maxUnavailable: 1 };
  const w = settled({ deploy });
  w.apply(rec(V2, { deploy }));
  w.step();
  assert.deepEqual(w.layout(), { a: 'demo.site.0@v1~', b: 'demo.site.1@v1', c: 'demo.site.2@v1' });
  w.step({}, 100); // 0 sessions: replaced
  assert.deepEqual(w.layout(), { a: 'demo.site.0@v2~', b: 'demo.site.1@v1', c: 'demo.site.2@v1' });
  w.step({}, 100); // healthy: in rotation; only then the next
  assert.deepEqual(w.layout(), { a: 'demo.site.0@v2', b: 'demo.site.1@v1', c: 'demo.site.2@v1' });
  w.step({}, 100);
  assert.deepEqual(w.layout(), { a: 'demo.site.0@v2', b: 'demo.site.1@v1~', c: 'demo.site.2@v1' });
});

test('deadline: a new replica not in rotation everywhere in time rolls the service back to the previous spec', () => {
  const w = settled();
  w.apply(rec(V2));
  const notIn = { 'demo.site.3': ['b'] };
  w.step({ notIn });
  w.step({ notIn }, 30_000);
  assert.equal(w.record.state, 'progressing');
  assert.ok(w.last.wakeAt !== undefined && w.last.wakeAt <= w.now + 31_000, 'a pass when the deadline ends');
  w.step({ notIn }, 31_000);
  assert.equal(w.record.state, 'rolled-back');
  assert.equal(w.record.reason, 'site: rolled back to spec v1aaaaaa: replica site#3 not in rotation on b within 60s');
  assert.equal(w.service.specHash, V1, 'the service record is back on the previous spec');
  assert.deepEqual(w.last.serviceWrites.map((s) => s.specHash), [V1]);
  assert.equal(w.record.history[0]!.outcome, 'rolled-back');
  // the old replicas were never taken out: nothing drained; the surge goes
  for (let i = 0; i < 10; i++) w.step({ notIn }, 1000);
  assert.deepEqual(w.layout(), { a: 'demo.site.0@v1', b: 'demo.site.1@v1', c: 'demo.site.2@v1' });
  assert.equal(w.record.state, 'rolled-back');
});

test('deadline: a new replica that never gets healthy', () => {
  const w = settled({ published: false });
  w.apply(rec(V2, { published: false }));
  w.step();
  w.step({ unhealthy: ['demo.site.3'] }, 61_000);
  assert.equal(w.record.reason, 'site: rolled back to spec v1aaaaaa: replica site#3 not healthy on a within 60s');
});

test('deadline: a surge replica no host has room for', () => {
  const w = settled({}, hosts('a b c', { jails: 1 }));
  w.apply(rec(V2));
  w.step();
  assert.deepEqual(w.layout(), { a: 'demo.site.0@v1', b: 'demo.site.1@v1', c: 'demo.site.2@v1' }, 'no room: nothing moves');
  w.step({}, 61_000);
  assert.equal(w.record.reason, 'site: rolled back to spec v1aaaaaa: replica site#3 not placed within 60s');
});

test('error rate: more than max_error_rate of at least 20 requests to the new spec rolls back; fewer requests do not', () => {
  const w = settled();
  w.apply(rec(V2));
  w.step({ figures: { 'demo.site.0': { requests: 500, errors: 100 } } }); // placed: its counters from here are its own
  // (figures are per host: each of the three HAProxies reports them)
  w.step({ figures: { 'demo.site.3': { requests: 6, errors: 2 } } });
  assert.equal(w.record.state, 'progressing', 'only 18 requests');
  w.step({ figures: { 'demo.site.3': { requests: 10, errors: 3 } } });
  assert.equal(w.record.state, 'rolled-back');
  assert.equal(w.record.reason, 'site: rolled back to spec v1aaaaaa: 9 of 30 requests to spec v2bbbbbb failed (30%, more than 10%)');
});

test('a second apply during a rollout: the rollout restarts towards it, keeping the last good spec to roll back to', () => {
  const w = settled();
  w.apply(rec(V2));
  for (let i = 0; i < 6; i++) w.step({}, 1000);
  assert.ok(Object.values(w.layout()).join(' ').includes('@v2'));
  w.apply(rec(V3));
  assert.equal(w.record.from?.specHash, V1);
  assert.equal(w.record.history[0]!.outcome, 'superseded');
  for (let i = 0; i < 40 && w.record.state === 'progressing'; i++) w.step({}, 2000);
  assert.equal(w.record.state, 'complete', w.said.join('\n'));
  assert.deepEqual(w.layout(), { a: 'demo.site.0@v3', b: 'demo.site.1@v3', c: 'demo.site.2@v3' });
});

test('a host going down during a rollout: its replica moves with the new spec; the rollout completes on the others', () => {
  const w = settled({}, hosts('a b c d'));
  w.apply(rec(V2));
  w.step();
  w.step();
  w.hosts = [...hosts('a b d'), down('c')];
  for (let i = 0; i < 40 && w.record.state === 'progressing'; i++) w.step({}, 2000);
  assert.equal(w.record.state, 'complete', w.said.join('\n'));
  const all = Object.values(w.layout()).join(' ').split(' ').filter(Boolean).sort();
  assert.deepEqual(all, ['demo.site.0@v2', 'demo.site.1@v2', 'demo.site.2@v2']);
  assert.equal(w.layout().c, '');
});

test('apply starts a rollout only for a changed spec hash; undo goes back, or says why it cannot', () => {
  const at = '2026-01-01T00:00:00.000Z';
  const writes = rolloutStartWrites([rec(V1)], [rec(V2)], new Map(), at);
  assert.equal(writes.length, 1);
  const r = JSON.parse((writes[0] as { value: string }).value) as RolloutRecord;
  assert.deepEqual([r.state, r.from?.specHash, r.to.specHash, r.to.image], ['progressing', V1, V2, 'site:v2']);
  assert.deepEqual(rolloutStartWrites([rec(V1)], [rec(V1, { replicas: 5 })], new Map(), at), [], 'scaling is no rollout');
  assert.deepEqual(rolloutStartWrites([], [rec(V1)], new Map(), at), [], 'a new service is no rollout');

  // undo of a rollout in progress: undone, the service back on v1
  const u = undoWrites(rec(V2), r, at);
  assert.equal(u.record.state, 'undone');
  assert.equal(u.restored.specHash, V1);
  assert.equal(u.record.history[0]!.outcome, 'undone');
  // undo of a finished rollout: a new rollout back to v1
  const done: RolloutRecord = { ...r, state: 'complete' };
  const back = undoWrites(rec(V2), done, at);
  assert.deepEqual([back.record.state, back.record.from?.specHash, back.record.to.specHash], ['progressing', V2, V1]);
  // nothing to go back to
  assert.throws(() => undoWrites(rec(V1), undefined, at), (e: unknown) => e instanceof UserError && /no previous spec/.test(e.message));
  assert.throws(() => undoWrites(rec(V1), { ...done, to: { specHash: V1, image: 'site:v1' }, from: null }, at), UserError);
});

test('undo, as the leader sees it: the restored spec rolls back like a rollback', () => {
  const w = settled();
  w.apply(rec(V2));
  for (let i = 0; i < 5; i++) w.step({}, 1000);
  const u = undoWrites(w.service, w.record, new Date(w.now).toISOString());
  w.service = u.restored;
  w.rollouts = [u.record];
  for (let i = 0; i < 40; i++) w.step({}, 2000);
  assert.deepEqual(w.layout(), { a: 'demo.site.0@v1', b: 'demo.site.1@v1', c: 'demo.site.2@v1' });
  assert.equal(w.record.state, 'undone');
});

test('a service nobody publishes: healthy in observed/ is what counts, and nothing is drained', () => {
  const w = settled({ published: false });
  w.apply(rec(V2, { published: false }));
  w.step();
  w.step();
  assert.deepEqual(w.layout(), { a: 'demo.site.0@v2 demo.site.3@v2', b: 'demo.site.1@v1', c: 'demo.site.2@v1' });
  for (let i = 0; i < 20 && w.record.state === 'progressing'; i++) w.step();
  assert.equal(w.record.state, 'complete');
  assert.ok(!w.said.some((s) => s.includes('draining')));
});

test('random trouble during rollouts (seeded): once it stops, every rollout ends (complete or rolled back) with exactly the replicas asked for, on the service\'s spec, none drained', () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  for (let run = 0; run < 60; run++) {
    const deploy = pick([{ maxSurge: 1, maxUnavailable: 0 }, { maxSurge: 2, maxUnavailable: 1 }, { maxSurge: 0, maxUnavailable: 1 }, { maxSurge: 1, maxUnavailable: 2 }]);
    const published = rnd() < 0.7;
    const w = settled({ deploy, published, replicas: pick([1, 2, 3]) }, hosts('a b c d'));
    const n = w.service.spec.replicas;
    w.apply(rec(V2, { deploy, published, replicas: n }));
    for (let i = 0; i < 15; i++) {
      const jails = [...w.byHost.values()].flat().map((a) => a.jail);
      const some = jails.filter(() => rnd() < 0.2);
      if (i === 7 && rnd() < 0.3) w.apply(rec(V3, { deploy, published, replicas: n }));
      w.step({
        unhealthy: some.filter(() => rnd() < 0.5),
        notIn: Object.fromEntries(some.map((j) => [j, [pick(['a', 'b', 'c', 'd'])]])),
        sessions: Object.fromEntries(jails.filter(() => rnd() < 0.3).map((j) => [j, 1])),
      }, Math.floor(rnd() * 8000));
    }
    for (let i = 0; i < 60 && (w.record.state === 'progressing' || Object.values(w.layout()).join(' ').includes('~')); i++) w.step({}, 3000);
    for (let i = 0; i < 5; i++) w.step({}, 3000);
    const all = [...w.byHost.values()].flat();
    const what = `run ${run} ${JSON.stringify({ deploy, published, n })}: ${JSON.stringify(w.layout())}\n${w.said.join('\n')}`;
    assert.notEqual(w.record.state, 'progressing', what);
    assert.equal(all.length, n, what);
    assert.ok(all.every((a) => a.specHash === w.service.specHash && !a.drain), what);
    assert.deepEqual(all.map((a) => a.replica).sort(), [...Array(n).keys()], what);
  }
});
