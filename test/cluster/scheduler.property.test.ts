/**
 * Property tests: hundreds of random clusters from a seeded PRNG, each checked against the
 * scheduler's guarantees (scheduler-check.ts). A failure names its seed; rerun one with
 * SEED=123 node --test dist/test/cluster/scheduler.property.test.js.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { schedule, summarize, type Host, type HostState, type Placement, type SchedulerInput, type ServiceDemand } from '../../src/cluster/scheduler.js';
import { violations } from './scheduler-check.js';

const RUNS = 300;
const SEEDS = process.env['SEED'] ? [Number(process.env['SEED'])] : Array.from({ length: RUNS }, (_, i) => i + 1);
const M = 1024 ** 2;

/** mulberry32: a tiny seeded PRNG, uniform in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rng {
  private readonly f: () => number;
  constructor(seed: number) { this.f = mulberry32(seed); }
  /** Whole number in [lo, hi]. */
  int(lo: number, hi: number): number { return lo + Math.floor(this.f() * (hi - lo + 1)); }
  chance(p: number): boolean { return this.f() < p; }
  pick<T>(xs: readonly T[]): T { return xs[this.int(0, xs.length - 1)]!; }
  shuffle<T>(xs: readonly T[]): T[] {
    const a = [...xs];
    for (let i = a.length - 1; i > 0; i--) { const j = this.int(0, i); [a[i], a[j]] = [a[j]!, a[i]!]; }
    return a;
  }
}

const STATES: HostState[] = ['ready', 'ready', 'ready', 'ready', 'ready', 'cordoned', 'draining', 'down'];

function randomHosts(rng: Rng, n: number, state: () => HostState): Host[] {
  return Array.from({ length: n }, (_, i) => {
    const labels: Record<string, string> = {};
    if (rng.chance(0.5)) labels['disk'] = rng.pick(['ssd', 'hdd']);
    if (rng.chance(0.5)) labels['zone'] = rng.pick(['1', '2']);
    const h: Host = {
      name: `h${i}`, state: state(), labels,
      capacity: { memoryBytes: rng.int(1, 32) * 512 * M, cpus: rng.int(500, 16000) / 1000, jails: rng.int(0, 12) },
    };
    if (rng.chance(0.7)) h.capacity.diskBytes = rng.int(0, 40) * 512 * M; // else: a host that publishes no pool size
    return h;
  });
}

function randomServices(rng: Rng, n: number, maxReplicas: number): ServiceDemand[] {
  return Array.from({ length: n }, (_, i) => {
    const s: ServiceDemand = {
      name: `s${i}`, replicas: rng.int(0, maxReplicas),
      resources: { memoryBytes: rng.int(0, 16) * 128 * M + rng.int(0, 1000), cpus: rng.int(0, 2000) / 1000 },
    };
    if (rng.chance(0.2)) s.hostLabels = rng.pick<Record<string, string>>([{ disk: 'ssd' }, { zone: '1' }, { disk: 'ssd', zone: '2' }]);
    if (rng.chance(0.6)) s.resources.diskBytes = rng.int(0, 16) * 256 * M + rng.int(0, 1000);
    return s;
  });
}

/** A random cluster whose current placements are empty, a previous run's output, or junk. */
function randomCluster(seed: number): SchedulerInput {
  const rng = new Rng(seed);
  const hosts = randomHosts(rng, rng.int(0, 12), () => rng.pick(STATES));
  const services = randomServices(rng, rng.int(0, 8), 8);
  let current: Placement[] = [];
  const mode = rng.int(0, 2);
  if (mode === 1) {
    // what a previous run placed, when every host was ready and demand was different
    const before = services.map((s) => ({ ...s, replicas: rng.int(0, 8) })).concat(randomServices(rng, 1, 4).map((s) => ({ ...s, name: 'gone' })));
    current = schedule({ hosts: hosts.map((h) => ({ ...h, state: 'ready' })), services: before, current: [] }).placements;
  } else if (mode === 2) {
    const svcNames = [...services.map((s) => s.name), 'gone'];
    const hostNames = [...hosts.map((h) => h.name), 'ghost'];
    current = Array.from({ length: rng.int(0, 30) }, () => ({ service: rng.pick(svcNames), replica: rng.int(0, 9), host: rng.pick(hostNames) }));
  }
  return { hosts, services, current };
}

function forEachSeed(check: (seed: number) => void): void {
  for (const seed of SEEDS) {
    try {
      check(seed);
    } catch (e) {
      throw new Error(`seed ${seed}: ${(e as Error).message}`, { cause: e });
    }
  }
}

test(`${RUNS} random clusters: every guarantee holds`, () => {
  let placed = 0;
  let unplaced = 0;
  let moved = 0;
  forEachSeed((seed) => {
    const input = randomCluster(seed);
    const r = schedule(input);
    assert.deepEqual(violations(input, r), []);
    placed += r.placements.length;
    unplaced += r.unplaced.length;
    moved += r.plan.move.length;
  });
  // the generator is not degenerate: it exercises placing, failing to place and moving
  if (SEEDS.length === RUNS) assert.ok(placed > 1000 && unplaced > 50 && moved > 50, `placed ${placed}, unplaced ${unplaced}, moved ${moved}`);
});

test(`${RUNS} random clusters: idempotent (its own output changes nothing)`, () => {
  forEachSeed((seed) => {
    const input = randomCluster(seed);
    const r = schedule(input);
    const again = schedule({ ...input, current: r.placements });
    assert.equal(summarize(again), `place 0, move 0, stop 0, keep ${r.placements.length}, unplaced ${r.unplaced.length}`);
    assert.deepEqual(again.placements, r.placements);
    assert.deepEqual(again.unplaced, r.unplaced);
    assert.deepEqual(again.decisions, r.unplaced.map((u) => `${u.service}#${u.replica}: not placed: ${u.reason}`));
  });
});

test(`${RUNS} random clusters: deterministic whatever the order of the input`, () => {
  forEachSeed((seed) => {
    const input = randomCluster(seed);
    const rng = new Rng(seed * 7919);
    const shuffled = { hosts: rng.shuffle(input.hosts), services: rng.shuffle(input.services), current: rng.shuffle([...input.current, ...input.current.slice(0, 3)]) };
    assert.deepEqual(schedule(shuffled), schedule(input));
  });
});

test(`${RUNS} random clusters: one host's loss moves only its replicas; its return moves only to restore the spread`, () => {
  forEachSeed((seed) => {
    const rng = new Rng(seed);
    const hosts = randomHosts(rng, rng.int(1, 12), () => 'ready');
    const services = randomServices(rng, rng.int(1, 8), 8);
    const steady = schedule({ hosts, services, current: [] });
    const lost = rng.pick(hosts).name;
    const onLost = steady.placements.filter((p) => p.host === lost).length;
    const downHosts = hosts.map((h) => (h.name === lost ? { ...h, state: 'down' as const } : h));
    const after = schedule({ hosts: downHosts, services, current: steady.placements });
    assert.deepEqual(violations({ hosts: downHosts, services, current: steady.placements }, after), []);
    assert.equal(after.plan.keep.length, steady.placements.length - onLost);
    assert.equal(after.plan.move.length + after.plan.stop.length, onLost);
    for (const m of after.plan.move) assert.deepEqual([m.from, m.reason], [lost, 'host-down']);
    for (const s of after.plan.stop) assert.deepEqual([s.host, s.reason], [lost, 'host-down']);
    assert.equal(after.plan.place.length, 0); // what did not fit before fits nowhere with one host fewer

    const back = schedule({ hosts, services, current: after.placements });
    assert.deepEqual(violations({ hosts, services, current: after.placements }, back), []);
    for (const m of back.plan.move) assert.equal(m.reason, 'spread');
    assert.equal(back.plan.stop.length, 0);
  });
});

test(`${RUNS} random clusters with room to spare: replicas spread as evenly as the hosts allow`, () => {
  forEachSeed((seed) => {
    const rng = new Rng(seed);
    const hosts = randomHosts(rng, rng.int(1, 8), () => rng.pick(STATES)).map((h) => ({ ...h, capacity: { memoryBytes: 2 ** 50, cpus: 1e6, jails: 10_000 } }));
    const services = randomServices(rng, rng.int(1, 6), 20);
    const r = schedule({ hosts, services, current: [] });
    for (const s of services) {
      const eligible = hosts.filter((h) => h.state === 'ready' && Object.entries(s.hostLabels ?? {}).every(([k, v]) => h.labels?.[k] === v));
      const n = eligible.map((h) => r.placements.filter((p) => p.service === s.name && p.host === h.name).length);
      if (eligible.length === 0) { assert.equal(r.unplaced.filter((u) => u.service === s.name).length, s.replicas); continue; }
      assert.ok(Math.max(...n) - Math.min(...n) <= 1, `${s.name}: ${n.join(' ')} over ${eligible.length} hosts`);
      assert.equal(n.reduce((a, b) => a + b, 0), s.replicas);
    }
  });
});
