import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Election, leaderTxn, NotLeaderError } from '../../src/cluster/election.js';
import { K, LEADER_KEY } from '../../src/cluster/keys.js';
import { HostLease } from '../../src/cluster/lease.js';
import { nextRevision, type WatchEvent } from '../../src/cluster/store.js';
import { EtcdStore } from '../../src/cluster/etcd-store.js';
import { Etcd3 } from 'etcd3';

/** A plain etcd3 client (no namespace), for what the Store does not expose. */
function raw(endpoint: string): Etcd3 {
  return new Etcd3({ hosts: endpoint });
}
import { sleep, testEtcd, within, type TestEtcd } from '../helpers/etcd.js';

let t: TestEtcd;
const stores: EtcdStore[] = [];
/** A separate client per agent, as on separate hosts. */
const client = () => { const s = EtcdStore.connect(t.etcd.endpoint); stores.push(s); return s; };

before(async () => {
  t = await testEtcd();
  t.pids.add((await t.etcd.ensureRunning()).pid);
});
after(async () => {
  for (const s of stores) await s.close();
  await t.cleanup();
});

test('put, get, JSON, prefix reads, delete', async () => {
  const s = client();
  const rev = await s.put('t1/a', 'one');
  assert.equal((await s.get('t1/a'))?.value, 'one');
  assert.equal((await s.get('t1/a'))?.createRevision, rev);
  await s.putJson('t1/b', { replicas: 3, hosts: ['a', 'b'] });
  assert.deepEqual(await s.getJson('t1/b'), { replicas: 3, hosts: ['a', 'b'] });
  assert.equal(await s.get('t1/missing'), undefined);
  assert.equal(await s.getJson('t1/missing'), undefined);
  const read = await s.getPrefix('t1/');
  assert.deepEqual(read.kvs.map((kv) => [kv.key, kv.value]), [['t1/a', 'one'], ['t1/b', '{"replicas":3,"hosts":["a","b"]}']]);
  assert.equal(await s.delete('t1/a'), true);
  assert.equal(await s.delete('t1/a'), false);
  // keys live under /cellblock/: a client without the namespace sees the full key
  const plain = raw(t.etcd.endpoint);
  assert.equal((await plain.get('/cellblock/t1/b').string()), '{"replicas":3,"hosts":["a","b"]}');
  plain.close();
  assert.equal(await s.deletePrefix('t1/'), 1);
});

test('watchPrefix from a read revision sees every later change, in order', async () => {
  const s = client();
  await s.put('t2/x', '0');
  const read = await s.getPrefix('t2/');
  await s.put('t2/y', '1'); // after the read, before the watch: still seen
  const seen: WatchEvent[] = [];
  const w = await s.watchPrefix('t2/', (e) => seen.push(e), { fromRevision: nextRevision(read.revision) });
  try {
    await s.put('t2/x', '2');
    await s.delete('t2/y');
    await s.put('t3/other', 'not watched');
    for (let i = 0; i < 100 && seen.length < 3; i++) await sleep(20);
    assert.deepEqual(seen.map((e) => `${e.type} ${e.key} ${e.value}`), ['put t2/y 1', 'put t2/x 2', 'delete t2/y ']);
  } finally {
    await w.cancel();
  }
});

test('host lease: kept alive past its TTL; expires after the holder stops, and a watcher sees the delete', async () => {
  const observer = client();
  const a = await HostLease.acquire(client(), { name: 'a', ttlSeconds: 2, value: { cpus: 2 } });
  const b = await HostLease.acquire(client(), { name: 'b', ttlSeconds: 2 });
  let lostB = '';
  b.onLost((why) => { lostB = why; });
  assert.equal(a.key, 'hosts/a');
  assert.deepEqual(await observer.getJson(K.hostLive('a')), { cpus: 2 });
  assert.equal((await observer.get(K.hostLive('a')))?.lease, a.id);
  const deleted: { key: string; at: number }[] = [];
  const w = await observer.watchPrefix('hosts/', (e) => { if (e.type === 'delete') deleted.push({ key: e.key, at: Date.now() }); });
  try {
    const stoppedAt = Date.now();
    a.release(); // a crashed agent: no more keepalives, no revoke
    assert.equal(a.alive, false);
    await within(8000, (async () => { while (!deleted.some((d) => d.key === 'hosts/a')) await sleep(50); })(), 'expiry of hosts/a');
    const after = deleted.find((d) => d.key === 'hosts/a')!.at - stoppedAt;
    assert.ok(after >= 1000 && after < 7000, `hosts/a deleted ${after} ms after keepalives stopped`);
    await sleep(1500); // b's lease has now lived well past its 2 s TTL on keepalives
    assert.equal(b.alive, true, lostB);
    assert.ok(await observer.get(K.hostLive('b')));
    assert.deepEqual(deleted.map((d) => d.key), ['hosts/a']);
    await b.revoke();
    assert.equal(await observer.get(K.hostLive('b')), undefined);
    assert.equal(lostB, '', 'revoke() is not a loss');
  } finally {
    await w.cancel();
  }
});

test('election: one of two wins, the other waits; the winner\'s lease revoked, the other leads', async () => {
  const sa = client();
  const sb = client();
  const la = await HostLease.acquire(sa, { name: 'ea', ttlSeconds: 2 });
  const lb = await HostLease.acquire(sb, { name: 'eb', ttlSeconds: 2 });
  const log: string[] = [];
  const ea = new Election(sa, la, { name: 'ea', onLeadership: (l, why) => log.push(`${l} ${why}`) });
  const eb = new Election(sb, lb, { name: 'eb', onLeadership: (l, why) => log.push(`${l} ${why}`) });
  await within(5000, ea.campaign(), 'ea campaign');
  let bWon = false;
  const bCampaign = eb.campaign().then(() => { bWon = true; });
  await sleep(500);
  assert.equal(ea.isLeader, true);
  assert.equal(bWon, false);
  assert.equal(eb.isLeader, false);
  assert.deepEqual(await eb.leader(), { name: 'ea', createRevision: ea.leaderRevision });
  await ea.putJson('placements/site', { a: 1 });
  await assert.rejects(eb.putJson('placements/site', { b: 1 }), (e: unknown) => e instanceof NotLeaderError && e.reason === 'not-leader');

  await la.revoke();
  assert.equal(ea.isLeader, false, 'a revoked lease ends leadership at once');
  await within(5000, bCampaign, 'eb takes over');
  assert.equal(eb.isLeader, true);
  assert.equal((await sa.get(LEADER_KEY))?.value, 'eb');
  await eb.putJson('placements/site', { b: 1 });
  await assert.rejects(ea.putJson('placements/site', { a: 2 }), NotLeaderError);
  assert.deepEqual(await sa.getJson('placements/site'), { b: 1 });
  assert.match(log[0]!, /^true ea leads since revision \d+: the leader key was free$/);
  assert.match(log.at(-1)!, /^true eb leads since revision \d+/);

  await eb.resign();
  assert.equal(eb.isLeader, false);
  assert.equal(await sa.get(LEADER_KEY), undefined);
  await lb.revoke();
});

test('a stale leader\'s guarded write is refused', async () => {
  const sa = client();
  const sb = client();
  const la = await HostLease.acquire(sa, { name: 'sa', ttlSeconds: 2 });
  const lb = await HostLease.acquire(sb, { name: 'sb', ttlSeconds: 2 });
  const ea = new Election(sa, la, { name: 'sa' });
  const eb = new Election(sb, lb, { name: 'sb' });
  await within(5000, ea.campaign());
  const staleRev = ea.leaderRevision!;
  const bCampaign = eb.campaign();
  // a's lease ends without a knowing (expired while it was cut off): revoked behind its back
  const plain = raw(t.etcd.endpoint);
  await plain.leaseClient.leaseRevoke({ ID: la.id });
  plain.close();
  await within(5000, bCampaign, 'sb takes over');
  // the write a stale leader would send: refused by etcd, nothing written
  const res = await leaderTxn(sa, staleRev, [{ put: 'placements/db', value: 'stale' }]);
  assert.equal(res.succeeded, false);
  assert.equal(await sa.get('placements/db'), undefined);
  await assert.rejects(ea.putJson('placements/db', 'stale'), NotLeaderError);
  assert.equal(ea.isLeader, false);
  assert.equal(await sa.get('placements/db'), undefined);
  // the new leader's writes go through, and a guard of its own can fail without ending leadership
  await eb.putJson('placements/db', 'fresh');
  const cas = await eb.write([{ put: 'placements/db', value: '"x"' }], [{ key: 'placements/db', target: 'Value', op: '==', value: '"other"' }]);
  assert.equal(cas.succeeded, false);
  assert.equal(eb.isLeader, true);
  assert.equal(await sa.getJson('placements/db'), 'fresh');
  await eb.resign();
  await lb.revoke();
});

test('leadership stops the moment the lease is no longer surely alive', async () => {
  const s = client();
  let clock = 0;
  const lease = await HostLease.acquire(s, { name: 'clocked', ttlSeconds: 2, now: () => clock });
  const changes: string[] = [];
  const e = new Election(s, lease, { name: 'clocked', onLeadership: (l, why) => changes.push(`${l} ${why}`) });
  await within(5000, e.campaign());
  assert.equal(e.isLeader, true);
  clock = lease.validUntil; // no keepalive answered within the TTL (as the holder's clock sees it)
  assert.equal(e.isLeader, false);
  assert.equal(lease.state, 'lost');
  assert.match(changes.at(-1)!, /^false clocked no longer leads: lease lost: no keepalive answered within the TTL$/);
  await assert.rejects(e.putJson('placements/x', 1), (err: unknown) => err instanceof NotLeaderError && err.reason === 'not-leader');
  assert.equal(await s.get('placements/x'), undefined);
  // the lost lease is revoked, so the leader key is free for others at once
  await within(3000, (async () => { while (await s.get(LEADER_KEY)) await sleep(20); })(), 'leader key released');
  await e.resign();
});
