/** The in-memory Store keeps etcd's semantics where cellblock relies on them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../src/cluster/memory-store.js';
import { K } from '../../src/cluster/keys.js';
import type { WatchEvent } from '../../src/cluster/store.js';
import { UserError } from '../../src/sys/errors.js';

test('revisions: one per write or transaction; create revision kept across puts', async () => {
  const s = new MemoryStore();
  const r1 = await s.put('a', '1');
  const r2 = await s.put('a', '2');
  assert.equal(BigInt(r2), BigInt(r1) + 1n);
  const kv = await s.get('a');
  assert.equal(kv?.createRevision, r1);
  assert.equal(kv?.modRevision, r2);
  const b = await s.batch([{ put: 'b', value: '{"x":1}' }, { put: 'c/d', value: '{"y":2}' }]);
  assert.equal(BigInt(b.revision), BigInt(r2) + 1n);
  assert.deepEqual(await s.listJson('c/'), [{ key: 'c/d', name: 'd', value: { y: 2 } }]);
  assert.deepEqual([...(await s.mapJson('b'))], [['b', { x: 1 }]]);
});

test('guarded transactions run all or nothing', async () => {
  const s = new MemoryStore();
  const first = await s.txn([{ key: 'leader', target: 'Create', op: '==', value: 0 }], [{ put: 'leader', value: 'a' }]);
  assert.equal(first.succeeded, true);
  const second = await s.txn([{ key: 'leader', target: 'Create', op: '==', value: 0 }], [{ put: 'leader', value: 'b' }, { put: 'x', value: '1' }]);
  assert.equal(second.succeeded, false);
  assert.equal(await s.getString('leader'), 'a');
  assert.equal(await s.get('x'), undefined);
  await assert.rejects(s.txn([], []), /at least one guard/);
});

test('a lease that ends takes its keys, and watchers see the deletes after the call returns', async () => {
  const s = new MemoryStore();
  const events: WatchEvent[] = [];
  const w = await s.watchPrefix('hosts/', (e) => events.push(e));
  const lease = await s.grantLease(0);
  await s.putJson(K.hostLive('h1'), { name: 'h1' }, lease);
  await s.put('keep', 'x');
  await new Promise((r) => setImmediate(r));
  const seen = events.length;
  s.expire(lease);
  assert.equal(events.length, seen, 'delivered asynchronously, as etcd does');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(events.map((e) => [e.type, e.key]), [['put', 'hosts/h1'], ['delete', 'hosts/h1']]);
  assert.equal(await s.get('keep').then((k) => k?.value), 'x');
  await w.cancel();
  assert.equal(s.openWatches, 0);
});

test('a lease with a TTL expires by itself', async () => {
  const s = new MemoryStore();
  const lease = await s.grantLease(0.05);
  await s.put('tokens/abc', '{}', lease);
  await new Promise((r) => setTimeout(r, 120));
  assert.equal(await s.get('tokens/abc'), undefined);
});

test('failNext makes the next call of one method fail, as an unreachable etcd would', async () => {
  const s = new MemoryStore();
  s.failNext('getPrefix', new Error('14 UNAVAILABLE: No connection established'));
  await assert.rejects(s.listJson('x/'), /UNAVAILABLE/);
  assert.deepEqual(await s.listJson('x/'), []);
});

test('members: learners are added, promoted and removed', async () => {
  const s = new MemoryStore();
  s.addMember('h0', '10.9.0.1');
  const id = await s.addLearner('https://10.9.0.2:2380');
  assert.deepEqual((await s.members()).map((m) => [m.name, m.learner]), [['h0', false], ['', true]]);
  await s.promoteLearner(id);
  assert.equal((await s.members())[1]!.learner, false);
  await s.removeMember(id);
  await assert.rejects(s.removeMember(id), /member not found/);
});

test('keys: every builder checks its names', () => {
  assert.equal(K.service('web', 'site'), 'services/web/site');
  assert.equal(K.imageHolder('site', 'v1', 'h0'), 'images/site/v1/h0');
  assert.equal(K.observed('h0', 'web.site.1'), 'observed/h0/web.site.1');
  assert.equal(K.subnet('10.77.3.0'), 'subnets/10.77.3.0');
  for (const bad of [() => K.service('web', 'a/b'), () => K.stack('Web'), () => K.imageHolder('site', 'v1/x', 'h0'), () => K.observed('h0', '../x'), () => K.token('a/b'), () => K.subnet('10.77.3.0/24'), () => K.placement('')]) {
    assert.throws(bad, UserError);
  }
});
