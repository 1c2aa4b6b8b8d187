import { test } from 'node:test';
import assert from 'node:assert/strict';
import { schedule, SchedulerInputError, type Host, type Placement, type SchedulerInput, type SchedulerResult, type ServiceDemand } from '../../src/cluster/scheduler.js';
import { at, cordoned, counts, down, draining, frozen, host, hosts, hostsOf, layout, perHost, svc } from './scheduler-builders.js';
import { violations } from './scheduler-check.js';

/** Runs the scheduler, and checks every guarantee and idempotence on the way. */
function sched(hs: Host[], ss: ServiceDemand[], current: Placement[] = []): SchedulerResult {
  const input: SchedulerInput = { hosts: hs, services: ss, current };
  const r = schedule(input);
  assert.deepEqual(violations(input, r), []);
  const again = schedule({ ...input, current: r.placements });
  assert.equal(counts(again), `place 0, move 0, stop 0, keep ${r.placements.length}, unplaced ${r.unplaced.length}`);
  assert.deepEqual(again.placements, r.placements);
  return r;
}

test('fresh: 3 replicas on 3 hosts, one each', () => {
  const r = sched(hosts('a b c'), [svc('site', 3)]);
  assert.equal(counts(r), 'place 3, move 0, stop 0, keep 0, unplaced 0');
  assert.equal(hostsOf(r, 'site'), 'a b c');
  assert.deepEqual(r.decisions, [
    'site#0: placed on a (most free ready host without site)',
    'site#1: placed on b (most free ready host without site)',
    'site#2: placed on c (most free ready host without site)',
  ]);
});

test('fresh: the most free memory wins, then cpus, then jail slots, then the name', () => {
  assert.equal(hostsOf(sched([host('a', { mem: '4G' }), host('b', { mem: '8G' })], [svc('s', 1)]), 's'), 'b');
  assert.equal(hostsOf(sched([host('a', { cpus: 2 }), host('b', { cpus: 4 })], [svc('s', 1)]), 's'), 'b');
  assert.equal(hostsOf(sched([host('a', { jails: 5 }), host('b', { jails: 10 })], [svc('s', 1)]), 's'), 'b');
  assert.equal(hostsOf(sched([host('b'), host('a')], [svc('s', 1)]), 's'), 'a');
  // memory first: more cpus do not beat more memory
  assert.equal(hostsOf(sched([host('a', { mem: '8G', cpus: 64 }), host('b', { mem: '9G', cpus: 1 })], [svc('s', 1)]), 's'), 'b');
});

test('fresh: several services spread evenly over the hosts', () => {
  const r = sched(hosts('a b c'), [svc('web', 3), svc('api', 3), svc('db', 3, { mem: '1G' })]);
  assert.deepEqual(perHost(r), { a: 3, b: 3, c: 3 });
  for (const s of ['web', 'api', 'db']) assert.deepEqual(Object.values(perHost(r, s)), [1, 1, 1]);
});

test('idempotent: running on its own output changes nothing and says nothing', () => {
  const hs = [...hosts('a b c d'), cordoned('e')];
  const first = sched(hs, [svc('web', 5), svc('api', 2, { mem: '4G' })]);
  const again = schedule({ hosts: hs, services: [svc('web', 5), svc('api', 2, { mem: '4G' })], current: first.placements });
  assert.equal(counts(again), 'place 0, move 0, stop 0, keep 7, unplaced 0');
  assert.deepEqual(again.decisions, []);
});

test('host down: its replica moves to a ready host without one', () => {
  const r = sched([host('a'), down('b'), host('c'), host('d')], [svc('site', 3)], layout('site', 'a b c'));
  assert.equal(counts(r), 'place 0, move 1, stop 0, keep 2, unplaced 0');
  assert.equal(hostsOf(r, 'site'), 'a d c');
  assert.deepEqual(r.plan.move, [{ service: 'site', replica: 1, from: 'b', to: 'd', reason: 'host-down' }]);
  assert.deepEqual(r.decisions, ['site#1: host b is down; moved to d (most free ready host without site)']);
});

test('host back: nothing moves back while the spread holds', () => {
  const r = sched(hosts('a b c d'), [svc('site', 3)], layout('site', 'a d c'));
  assert.equal(counts(r), 'place 0, move 0, stop 0, keep 3, unplaced 0');
  assert.equal(hostsOf(r, 'site'), 'a d c');
});

test('host down with no spare host: doubles up and says so; back: one move restores the spread', () => {
  const lost = sched([host('a'), host('b'), down('c')], [svc('site', 3)], layout('site', 'a b c'));
  assert.equal(counts(lost), 'place 0, move 1, stop 0, keep 2, unplaced 0');
  assert.equal(hostsOf(lost, 'site'), 'a b a');
  assert.deepEqual(lost.decisions, [
    'site#2: host c is down; moved to a (doubled up with 1 other replica of site: only 2 ready hosts for 3 replicas)',
  ]);
  const back = sched(hosts('a b c'), [svc('site', 3)], lost.placements);
  assert.equal(counts(back), 'place 0, move 1, stop 0, keep 2, unplaced 0');
  assert.equal(hostsOf(back, 'site'), 'a b c');
  assert.deepEqual(back.decisions, ['site#2: it shares host a with site#0; moved to c (most free ready host without site)']);
});

test('cordoned: keeps its replicas, takes no new ones', () => {
  const hs = [host('a'), cordoned('b'), host('c'), host('d')];
  const r = sched(hs, [svc('site', 3)], layout('site', 'a b c'));
  assert.equal(counts(r), 'place 0, move 0, stop 0, keep 3, unplaced 0');
  const up = sched(hs, [svc('site', 5)], layout('site', 'a b c'));
  assert.equal(counts(up), 'place 2, move 0, stop 0, keep 3, unplaced 0');
  assert.equal(hostsOf(up, 'site'), 'a b c d a');
  assert.equal(up.decisions[1], 'site#4: placed on a (doubled up with 1 other replica of site: only 3 ready hosts for 5 replicas)');
});

test('cordoned hosts only: nothing new is placed', () => {
  const r = sched([cordoned('a'), cordoned('b')], [svc('site', 2)], [at('site', 0, 'a')]);
  assert.equal(counts(r), 'place 0, move 0, stop 0, keep 1, unplaced 1');
  assert.deepEqual(r.unplaced, [{ service: 'site', replica: 1, code: 'no-ready-hosts', reason: 'no host is ready' }]);
});

test('draining: everything on it moves', () => {
  const r = sched([draining('a'), draining('b'), host('c'), host('d')], [svc('site', 2), svc('api', 1)], [
    ...layout('site', 'a b'), at('api', 0, 'a'),
  ]);
  assert.equal(counts(r), 'place 0, move 3, stop 0, keep 0, unplaced 0');
  // replica 0 of every service first: api#0 to c, then site#0 to d (more free), site#1 to c
  assert.equal(hostsOf(r, 'api'), 'c');
  assert.equal(hostsOf(r, 'site'), 'd c');
  assert.ok(r.plan.move.every((m) => m.reason === 'host-draining'));
  assert.match(r.decisions.join('\n'), /site#1: host b is draining; moved to c/);
});

test('host down and no room anywhere: stopped, reported unplaced with the reason', () => {
  const r = sched([host('a', { jails: 1 }), down('b')], [svc('site', 2)], layout('site', 'a b'));
  assert.equal(counts(r), 'place 0, move 0, stop 1, keep 1, unplaced 1');
  assert.deepEqual(r.plan.stop, [{ service: 'site', replica: 1, host: 'b', reason: 'host-down' }]);
  assert.equal(r.unplaced[0]!.code, 'no-capacity');
  assert.deepEqual(r.decisions, [
    'site#1: host b is down; stopped, not placed: no ready host has room for 256M memory, 0.25 cpus and a jail slot; '
      + 'most free is a with 15.8G memory, 7.75 cpus, 0 jail slots free, short of jail slots',
  ]);
});

test('scale up: new replicas go to hosts without one', () => {
  const r = sched(hosts('a b c d e'), [svc('site', 5)], layout('site', 'a b c'));
  assert.equal(counts(r), 'place 2, move 0, stop 0, keep 3, unplaced 0');
  assert.equal(hostsOf(r, 'site'), 'a b c d e');
});

test('scale down: the highest replicas stop', () => {
  const r = sched(hosts('a b c d e'), [svc('site', 3)], layout('site', 'a b c d e'));
  assert.equal(counts(r), 'place 0, move 0, stop 2, keep 3, unplaced 0');
  assert.deepEqual(r.plan.stop.map((s) => [s.replica, s.host, s.reason]), [[3, 'd', 'scaled-down'], [4, 'e', 'scaled-down']]);
  assert.equal(r.decisions[0], 'site#3: site was scaled down to 3 replicas; stopped on d');
  const none = sched(hosts('a b'), [svc('site', 0)], layout('site', 'a b'));
  assert.equal(counts(none), 'place 0, move 0, stop 2, keep 0, unplaced 0');
});

test('service removed: all its replicas stop; others stay', () => {
  const r = sched(hosts('a b'), [svc('api', 1)], [...layout('site', 'a b'), at('api', 0, 'b')]);
  assert.equal(counts(r), 'place 0, move 0, stop 2, keep 1, unplaced 0');
  assert.ok(r.plan.stop.every((s) => s.service === 'site' && s.reason === 'service-removed'));
  assert.equal(r.decisions[0], 'site#0: service site was removed; stopped on a');
});

test('capacity: memory, cpus and jail slots are never exceeded', () => {
  const mem = sched([host('a', { mem: '1G' })], [svc('s', 3, { mem: '512M' })]);
  assert.equal(counts(mem), 'place 2, move 0, stop 0, keep 0, unplaced 1');
  assert.match(mem.unplaced[0]!.reason, /short of memory$/);
  // a tenth of a cpu ten times fills one cpu exactly (no floating-point drift)
  const cpu = sched([host('a', { cpus: 1 })], [svc('s', 12, { cpus: 0.1 })]);
  assert.equal(counts(cpu), 'place 10, move 0, stop 0, keep 0, unplaced 2');
  assert.match(cpu.unplaced[0]!.reason, /short of cpus$/);
  const jails = sched([host('a', { jails: 2 })], [svc('s', 3)]);
  assert.equal(counts(jails), 'place 2, move 0, stop 0, keep 0, unplaced 1');
  const big = sched(hosts('a b'), [svc('s', 1, { mem: '32G' })]);
  assert.deepEqual(big.unplaced.map((u) => u.code), ['no-capacity']);
  assert.deepEqual(big.decisions, [
    's#0: not placed: no ready host has room for 32.0G memory, 0.25 cpus and a jail slot; most free is a with 16.0G memory, 8 cpus, 100 jail slots free, short of memory',
  ]);
});

test('disk: each replica\'s limit counts against the host\'s pool; never exceeded', () => {
  const r = sched([host('a', { disk: '10G' }), host('b', { disk: '4G' })], [svc('db', 3, { disk: '4G' })]);
  assert.equal(counts(r), 'place 3, move 0, stop 0, keep 0, unplaced 0');
  assert.deepEqual(perHost(r), { a: 2, b: 1 });
  // more free disk wins when memory, cpus and jail slots tie
  assert.equal(hostsOf(sched([host('a', { disk: '4G' }), host('b', { disk: '8G' })], [svc('s', 1, { disk: '1G' })]), 's'), 'b');
  // a host that does not say its disk (an older agent) is not limited by it
  assert.equal(counts(sched([host('a')], [svc('s', 2, { disk: '1T' })])), 'place 2, move 0, stop 0, keep 0, unplaced 0');
  // a service without disk counts none
  assert.equal(counts(sched([host('a', { disk: 0 })], [svc('s', 2)])), 'place 2, move 0, stop 0, keep 0, unplaced 0');
});

test('disk: replicas larger than every host\'s pool are unplaced with the shortfall named; nothing else moves', () => {
  const hs = [host('a', { disk: '2G' }), host('b', { disk: '3G' })];
  const first = sched(hs, [svc('web', 2, { disk: '1G' })]);
  assert.equal(hostsOf(first, 'web'), 'b a');
  const r = sched(hs, [svc('web', 2, { disk: '1G' }), svc('big', 2, { disk: '5G' })], first.placements);
  assert.equal(counts(r), 'place 0, move 0, stop 0, keep 2, unplaced 2');
  assert.deepEqual(r.unplaced.map((u) => [u.service, u.replica, u.code]), [['big', 0, 'no-capacity'], ['big', 1, 'no-capacity']]);
  assert.equal(r.unplaced[0]!.reason, 'no ready host has 5.00G of disk free; most is 2.00G on b');
  assert.deepEqual(r.decisions, [
    'big#0: not placed: no ready host has 5.00G of disk free; most is 2.00G on b',
    'big#1: not placed: no ready host has 5.00G of disk free; most is 2.00G on b',
  ]);
  // one that fits goes where the disk is; the rest of it is unplaced
  const some = sched(hs, [svc('web', 2, { disk: '1G' }), svc('mid', 2, { disk: '2G' })], first.placements);
  assert.equal(counts(some), 'place 1, move 0, stop 0, keep 2, unplaced 1');
  assert.equal(hostsOf(some, 'mid'), 'b -');
  assert.equal(some.unplaced[0]!.reason, 'no ready host has 2.00G of disk free; most is 1.00G on a');
  // the demand and the room name disk only when counted
  const mem = sched([host('a', { disk: '8G' })], [svc('s', 1, { mem: '32G', disk: '1G' })]);
  assert.equal(mem.unplaced[0]!.reason, 'no ready host has room for 32.0G memory, 0.25 cpus, 1.00G disk and a jail slot; most free is a with 16.0G memory, 8 cpus, 100 jail slots, 8.00G disk free, short of memory');
});

test('no ready host: every replica unplaced with that reason', () => {
  const r = sched([down('a'), draining('b')], [svc('s', 2)]);
  assert.deepEqual(r.unplaced.map((u) => u.code), ['no-ready-hosts', 'no-ready-hosts']);
  assert.deepEqual(sched([], [svc('s', 1)]).unplaced[0]!.reason, 'no host is ready');
});

test('under shortage every service gets its first replica first', () => {
  const r = sched([host('a', { jails: 2 })], [svc('x', 2), svc('y', 2)]);
  assert.deepEqual(r.placements, [at('x', 0, 'a'), at('y', 0, 'a')]);
  assert.deepEqual(r.unplaced.map((u) => `${u.service}#${u.replica}`), ['x#1', 'y#1']);
});

test('fewer hosts than replicas: doubles up as evenly as possible, and says so', () => {
  const r = sched(hosts('a b'), [svc('site', 5)]);
  assert.equal(counts(r), 'place 5, move 0, stop 0, keep 0, unplaced 0');
  assert.deepEqual(perHost(r, 'site'), { a: 3, b: 2 });
  assert.equal(r.decisions[4], 'site#4: placed on a (doubled up with 2 other replicas of site: only 2 ready hosts for 5 replicas)');
});

test('hosts full of others: doubles up rather than leave a replica unplaced', () => {
  const r = sched([host('a'), host('b', { jails: 1 })], [svc('other', 1), svc('site', 2)], [at('other', 0, 'b')]);
  assert.equal(hostsOf(r, 'site'), 'a a');
  assert.match(r.decisions.at(-1)!, /site#1: placed on a \(doubled up with 1 other replica of site: no ready host without site has room\)/);
});

test('labels: replicas only go to hosts with every required label', () => {
  const ssd = { disk: 'ssd' };
  const hs = [host('a', { labels: ssd }), host('b', { labels: { disk: 'hdd' } }), host('c', { labels: { ...ssd, zone: '1' } })];
  assert.equal(hostsOf(sched(hs, [svc('db', 2, { labels: ssd })]), 'db'), 'a c');
  const three = sched(hs, [svc('db', 3, { labels: ssd })]);
  assert.equal(hostsOf(three, 'db'), 'a c a');
  assert.match(three.decisions[2]!, /only 2 ready hosts with disk=ssd for 3 replicas/);
  const none = sched(hs, [svc('db', 1, { labels: { disk: 'nvme' } })]);
  assert.deepEqual(none.unplaced[0], { service: 'db', replica: 0, code: 'no-matching-hosts', reason: 'no ready host has the labels disk=nvme' });
});

test('labels: a host that loses a required label gives up its replica', () => {
  const ssd = { disk: 'ssd' };
  const hs = [host('a', { labels: { disk: 'hdd' } }), host('b', { labels: ssd }), host('c', { labels: ssd })];
  const r = sched(hs, [svc('db', 2, { labels: ssd })], layout('db', 'a b'));
  assert.equal(counts(r), 'place 0, move 1, stop 0, keep 1, unplaced 0');
  assert.deepEqual(r.decisions, ['db#0: host a lacks the label disk=ssd; moved to c (most free ready host without db)']);
});

test('over capacity (a host shrank): lowest replicas stay, the rest move', () => {
  const r = sched([host('a', { mem: '512M' }), host('b')], [svc('x', 1), svc('y', 2), svc('z', 1)], [
    at('x', 0, 'a'), at('y', 1, 'a'), at('z', 0, 'a'), at('y', 0, 'b'),
  ]);
  assert.equal(counts(r), 'place 0, move 1, stop 0, keep 3, unplaced 0');
  assert.deepEqual(r.plan.move, [{ service: 'y', replica: 1, from: 'a', to: 'b', reason: 'over-capacity' }]);
  assert.match(r.decisions[0]!, /^y#1: host a is over capacity \(short of memory\); moved to b \(doubled up/);
});

test('a replica recorded on two hosts keeps one copy, on a host it may stay on', () => {
  const r = sched([down('a'), host('b'), host('c')], [svc('site', 2)], [at('site', 0, 'a'), at('site', 0, 'b')]);
  assert.equal(counts(r), 'place 1, move 0, stop 1, keep 1, unplaced 0');
  assert.deepEqual(r.plan.stop, [{ service: 'site', replica: 0, host: 'a', reason: 'duplicate' }]);
  assert.equal(r.decisions[0], 'site#0: also recorded on a; stopped there (the copy on b counts)');
  assert.equal(hostsOf(r, 'site'), 'b c');
});

test('a host no longer in the cluster: its replicas are placed elsewhere', () => {
  const r = sched(hosts('a b'), [svc('site', 1)], [at('site', 0, 'gone')]);
  assert.deepEqual(r.plan.move, [{ service: 'site', replica: 0, from: 'gone', to: 'a', reason: 'host-unknown' }]);
  assert.equal(r.decisions[0], 'site#0: host gone is not in the cluster; moved to a (most free ready host without site)');
});

test('spread: two replicas on one host move apart when a host without one has room, and only then', () => {
  const r = sched(hosts('a b'), [svc('site', 2)], layout('site', 'a a'));
  assert.deepEqual(r.plan.move, [{ service: 'site', replica: 1, from: 'a', to: 'b', reason: 'spread' }]);
  const full = sched([host('a'), host('b', { jails: 1 })], [svc('site', 2), svc('other', 1)], [...layout('site', 'a a'), at('other', 0, 'b')]);
  assert.equal(counts(full), 'place 0, move 0, stop 0, keep 3, unplaced 0');
  const onCordoned = sched([cordoned('a'), host('b')], [svc('site', 2)], layout('site', 'a a'));
  assert.equal(hostsOf(onCordoned, 'site'), 'a b');
});

test('spread: a move that frees room lets an unplaced replica in', () => {
  // site doubled up on a (memory full); b has room for site but too few cpus for big
  const hs = [host('a', { mem: '1G' }), host('b', { cpus: 0.25, jails: 1 })];
  const r = sched(hs, [svc('big', 1, { mem: '512M', cpus: 1 }), svc('site', 2, { mem: '512M' })], layout('site', 'a a'));
  assert.equal(counts(r), 'place 1, move 1, stop 0, keep 1, unplaced 0');
  assert.deepEqual(r.placements, [at('big', 0, 'a'), at('site', 0, 'a'), at('site', 1, 'b')]);
});

test('spread: repairs repeat until none is left (one move makes room for another)', () => {
  // a fits neither on y (full of b) nor on z (too few cpus); moving b#1 to z makes room on y
  const hs = [host('x', { mem: '2G' }), host('y', { mem: '2G' }), host('z', { cpus: 0.5 })];
  const ss = [svc('a', 2, { mem: '1G', cpus: 1 }), svc('b', 2, { mem: '1G' })];
  const r = sched(hs, ss, [...layout('a', 'x x'), ...layout('b', 'y y')]);
  assert.equal(counts(r), 'place 0, move 2, stop 0, keep 2, unplaced 0');
  assert.deepEqual([hostsOf(r, 'a'), hostsOf(r, 'b')], ['x y', 'y z']);
});

test('spread: a replica that is moving anyway moves again before a kept one does', () => {
  // a#0 leaves down w and can only double up on x; once b#1 makes room on y, a#0 goes
  // there, not a#1 (which stays where it runs): two moves, not three
  const hs = [down('w'), host('x', { mem: '2G' }), host('y', { mem: '2G' }), host('z', { cpus: 0.5 })];
  const ss = [svc('a', 2, { mem: '1G', cpus: 1 }), svc('b', 2, { mem: '1G' })];
  const r = sched(hs, ss, [...layout('a', 'w x'), ...layout('b', 'y y')]);
  assert.equal(counts(r), 'place 0, move 2, stop 0, keep 2, unplaced 0');
  assert.deepEqual(r.plan.move, [
    { service: 'a', replica: 0, from: 'w', to: 'y', reason: 'host-down' },
    { service: 'b', replica: 1, from: 'y', to: 'z', reason: 'spread' },
  ]);
});

test('deterministic: the order of hosts, services and current placements does not matter', () => {
  const hs = [host('a', { mem: '4G' }), host('b', { mem: '4G', labels: { disk: 'ssd' } }), down('c'), host('d', { jails: 3 }), cordoned('e')];
  const ss = [svc('web', 4), svc('db', 2, { mem: '2G', labels: { disk: 'ssd' } }), svc('api', 3, { cpus: 1 })];
  const cur = [...layout('web', 'a c e'), ...layout('api', 'c c d'), at('old', 0, 'a'), at('db', 0, 'a')];
  const base = schedule({ hosts: hs, services: ss, current: cur });
  assert.deepEqual(violations({ hosts: hs, services: ss, current: cur }, base), []);
  for (const [h, s, c] of [[hs.slice().reverse(), ss.slice().reverse(), cur.slice().reverse()], [[...hs.slice(2), ...hs.slice(0, 2)], ss, [...cur, ...cur]]] as const) {
    assert.deepEqual(schedule({ hosts: h, services: s, current: c }), base);
  }
});

test('pure: the input is not changed', () => {
  const input = frozen({ hosts: [host('a'), down('b')], services: [svc('site', 2)], current: layout('site', 'a b') });
  const r = schedule(input);
  assert.equal(counts(r), 'place 0, move 1, stop 0, keep 1, unplaced 0');
});

test('empty input: empty result', () => {
  assert.deepEqual(schedule({ hosts: [], services: [], current: [] }), {
    placements: [], plan: { place: [], move: [], stop: [], keep: [] }, unplaced: [], decisions: [],
  });
});

test('malformed input is refused with the field named', () => {
  const bad = (input: unknown, message: RegExp): void => {
    assert.throws(() => schedule(input as SchedulerInput), (e: unknown) => e instanceof SchedulerInputError && message.test(e.message));
  };
  bad({ hosts: [host('a'), host('a')], services: [], current: [] }, /hosts: "a" is listed twice/);
  bad({ hosts: [], services: [svc('s', 1), svc('s', 2)], current: [] }, /services: "s" is listed twice/);
  bad({ hosts: [{ ...host('a'), state: 'gone' }], services: [], current: [] }, /hosts\[0\]\.state: expected one of ready, cordoned, draining, down, got "gone"/);
  bad({ hosts: [], services: [svc('s', -1)], current: [] }, /services\[0\]\.replicas: expected a whole number from 0 to 1000000, got -1/);
  bad({ hosts: [], services: [svc('s', 1, { cpus: Number.NaN })], current: [] }, /services\[0\]\.resources\.cpus/);
  bad({ hosts: [], services: [], current: [{ service: 's', replica: 0.5, host: 'a' }] }, /current\[0\]\.replica/);
  bad({ hosts: [{ ...host('a'), capacity: undefined }], services: [], current: [] }, /hosts\[0\]\.capacity: expected an object/);
  bad({ hosts: [], services: [] }, /current: expected a list/);
});
