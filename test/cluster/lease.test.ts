import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { HostLease } from '../../src/cluster/lease.js';
import type { LeaseSource } from '../../src/cluster/lease.js';

/**
 * The arithmetic of "surely alive" against a scripted etcd3 Lease (events only): the real
 * lease and etcd are exercised in store.int.test.ts.
 */
class ScriptedLease extends EventEmitter {
  revoked = 0;
  puts: string[] = [];
  grant() { return Promise.resolve('42'); }
  put(key: string) { return { value: (v: string) => ({ exec: async () => { this.puts.push(`${key}=${v}`); } }) }; }
  revoke() { this.revoked++; return Promise.resolve(); }
  release() {}
  /** Renewals on a fresh stream (the watchdog's); answers with `onceTtl`. */
  onceCalls = 0;
  onceTtl = '3';
  keepaliveOnce() { this.onceCalls++; return Promise.resolve({ TTL: this.onceTtl }); }
}

async function scripted(ttlSeconds = 3) {
  let clock = 1000;
  const lease = new ScriptedLease();
  const store: LeaseSource = { leaseHandle: () => lease as never };
  const held = await HostLease.acquire(store, { name: 'h1', ttlSeconds, value: { a: 1 }, now: () => clock });
  return { held, lease, set: (t: number) => { clock = t; } };
}

test('acquire puts the host key on the lease', async () => {
  const { held, lease } = await scripted();
  assert.equal(held.id, '42');
  assert.equal(held.key, 'hosts/h1');
  assert.deepEqual(lease.puts, ['hosts/h1={"a":1}']);
  assert.equal(held.validUntil, 1000 + 3000);
  held.release();
});

test('a keepalive answer extends from the time it was sent, not received', async () => {
  const { held, lease, set } = await scripted();
  set(2000); lease.emit('keepaliveFired');
  set(2900); lease.emit('keepaliveSucceeded', { TTL: '3' });
  assert.equal(held.validUntil, 5000);
  // an answer with no recorded send (stream re-established in between) extends nothing
  lease.emit('keepaliveEstablished');
  set(3000); lease.emit('keepaliveSucceeded', { TTL: '3' });
  assert.equal(held.validUntil, 5000);
  // answers pair with sends in order
  set(3100); lease.emit('keepaliveFired');
  set(3200); lease.emit('keepaliveFired');
  lease.emit('keepaliveSucceeded', { TTL: '3' });
  assert.equal(held.validUntil, 6100);
  held.release();
});

test('past validUntil the lease is lost at once: handlers run once, the lease is revoked', async () => {
  const { held, lease, set } = await scripted();
  const why: string[] = [];
  held.onLost((r) => why.push(r));
  set(3999);
  assert.equal(held.alive, true);
  set(4000);
  assert.equal(held.alive, false);
  assert.equal(held.state, 'lost');
  assert.deepEqual(why, ['no keepalive answered within the TTL']);
  assert.equal(lease.revoked, 1);
  lease.emit('lost', new Error('late'));
  assert.equal(why.length, 1);
});

test('etcd3 reporting the lease lost ends it; release and revoke are not losses', async () => {
  const a = await scripted();
  const why: string[] = [];
  a.held.onLost((r) => why.push(r));
  a.lease.emit('lost', new Error('lease expired'));
  assert.deepEqual(why, ['etcd reports the lease lost: lease expired']);
  const b = await scripted();
  b.held.onLost(() => assert.fail('release is not a loss'));
  b.held.release();
  assert.equal(b.held.state, 'released');
  b.set(1e9);
  assert.equal(b.held.state, 'released');
  const c = await scripted();
  c.held.onLost(() => assert.fail('revoke is not a loss'));
  await c.held.revoke();
  assert.equal(c.held.state, 'revoked');
  assert.equal(c.lease.revoked, 1);
});

test('a keepalive stuck on its stream: the watchdog renews on a fresh one, so the lease stays alive', async () => {
  const { held, lease, set } = await scripted();
  set(2000); lease.emit('keepaliveFired'); // never answered: the stream is stuck behind it
  set(2600);
  await new Promise((r) => setTimeout(r, 650)); // one watchdog tick (every 500 ms, real time)
  assert.ok(lease.onceCalls >= 1, 'renewed on a fresh stream');
  assert.equal(held.validUntil, 2600 + 3000, 'extended from the fresh renewal\'s send time');
  set(4500);
  assert.equal(held.alive, true, 'alive past the stuck keepalive\'s deadline (2000 + 3000 would be 5000; 4000 without the probe)');
  held.release();
  const n = lease.onceCalls;
  await new Promise((r) => setTimeout(r, 650));
  assert.equal(lease.onceCalls, n, 'no renewals after release');
});


test('a holder that listens after the lease was lost (lost during acquire) is told at once', async () => {
  const { held, lease } = await scripted();
  lease.emit('lost', new Error('etcdserver: requested lease not found'));
  assert.equal(held.state, 'lost');
  const why = await new Promise<string>((resolve) => held.onLost(resolve));
  assert.match(why, /requested lease not found/);
});
