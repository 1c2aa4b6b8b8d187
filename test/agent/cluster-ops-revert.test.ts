/**
 * Cluster operations (agent/cluster-ops.ts) against the in-memory store and recorded etcd,
 * runtime and certificate steps: what a join, init, leave and remove change, and that a join
 * failing part-way removes its learner and puts the host back to a single host.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ClusterOps, type EtcdControl, type OpsDeps, type RuntimeControl } from '../../src/agent/cluster-ops.js';
import type { ClusterRuntime } from '../../src/agent/cluster-runtime.js';
import { HostService } from '../../src/agent/services/hosts.js';
import { readClusterConfig, clusterConfigPath } from '../../src/cluster/config.js';
import type { EtcdMember } from '../../src/cluster/etcd.js';
import { K } from '../../src/cluster/keys.js';
import { MemoryStore } from '../../src/cluster/memory-store.js';
import { tlsDir } from '../../src/cluster/pki.js';
import type { JoinResponse } from '../../src/agent/join.js';

const log = pino({ level: 'silent' });
const exists = (p: string) => stat(p).then(() => true, () => false);

class Rig {
  readonly events: string[] = [];
  store = new MemoryStore();
  /** The other members' etcd, as the joining host reaches it. */
  readonly members = new MemoryStore();
  rt: ClusterRuntime | undefined;
  failEtcdStart: Error | undefined;
  failRuntimeStartWithConfig: Error | undefined;
  joinReply: Partial<JoinResponse> = {};
  subnet = '10.77.0.0/24';
  subnetFixed = false;
  jails = 0;
  /** The join bodies sent. */
  readonly posted: Record<string, unknown>[] = [];

  constructor(readonly dataDir: string, readonly name = 'h1') {}

  readonly runtime: RuntimeControl = {
    current: () => { if (!this.rt) throw new Error('no runtime'); return this.rt; },
    peek: () => this.rt,
    start: async () => {
      const config = await readClusterConfig(this.dataDir);
      this.events.push(`runtime start ${config ? config.role : 'single'}`);
      if (config && this.failRuntimeStartWithConfig) throw this.failRuntimeStartWithConfig;
      this.store = config ? this.store : new MemoryStore();
      this.rt = { name: config?.name ?? this.name, config, tls: config ? { ca: Buffer.from('CA'), cert: Buffer.from(''), key: Buffer.from('') } : undefined, store: this.store, hosts: new HostService(this.store) } as unknown as ClusterRuntime;
      return this.rt;
    },
    stop: async (o) => { this.events.push(`runtime stop${o.revoke ? ' revoke' : ''}${o.stopEtcd ? ' +etcd' : ''}`); this.rt = undefined; },
  };

  readonly etcd: EtcdControl = {
    wipe: async () => { this.events.push('etcd wipe'); },
    configure: async (m: EtcdMember) => { this.events.push(`etcd configure ${m.name} ${m.cluster ? m.cluster.initialState : 'single'}`); },
    ensureRunning: async () => { this.events.push('etcd start'); if (this.failEtcdStart) throw this.failEtcdStart; },
    stop: async () => { this.events.push('etcd stop'); },
  };

  deps(): OpsDeps {
    return {
      dataDir: this.dataDir, exec: async () => { throw new Error('no commands in this test'); }, log, runtime: this.runtime,
      subnet: async () => this.subnet,
      subnetFixed: this.subnetFixed,
      hasJails: async () => this.jails > 0,
      setSubnet: async (cidr) => { this.events.push(`subnet ${cidr}`); this.subnet = cidr; },
      etcd: () => this.etcd,
      connect: () => this.members,
      checkPorts: async () => { this.events.push('ports checked'); },
      advertise: () => '10.9.0.2',
      pki: {
        createCa: async () => { this.events.push('ca made'); return { caPem: 'CA', fingerprint: 'ff' }; },
        issueHostCert: async () => { this.events.push('host cert issued'); return 'CERT'; },
        createKeyAndCsr: async () => 'CSR',
        writeHostCert: async () => { this.events.push('host cert written'); },
        readTls: async () => ({ ca: Buffer.from('CA'), cert: Buffer.from('C'), key: Buffer.from('K') }),
      },
      fetchPeerCa: async () => 'CA',
      postJoin: async (_a, _p, _ca, body) => {
        const b = body as { name: string; subnet?: string };
        this.events.push(`join posted as ${b.name}`);
        this.posted.push(b);
        const subnet = b.subnet ?? '10.77.1.0/24';
        await this.members.put(K.subnet(subnet.split('/')[0]!), b.name);
        const memberId = await this.members.addLearner('https://10.9.0.2:2380');
        return { clusterId: 'c0ffee000001', ca: 'CA', cert: 'CERT', caKey: null, role: 'member', initialCluster: 'h0=https://10.9.0.1:2380,h1=https://10.9.0.2:2380', memberId, subnet, endpoints: ['https://10.9.0.1:2379', 'https://10.9.0.2:2379'], ...this.joinReply };
      },
      clearRoutes: async () => { this.events.push('routes cleared'); },
      freePorts: async () => [40001, 40002],
    };
  }
}

async function rig(): Promise<{ r: Rig; ops: ClusterOps; done: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'cb-ops-'));
  const r = new Rig(dir);
  r.members.addMember('h0', '10.9.0.1');
  await r.runtime.start();
  r.events.length = 0;
  return { r, ops: new ClusterOps(r.deps()), done: () => rm(dir, { recursive: true, force: true }) };
}

const token = 'cbj1.0123abcd.' + 'a'.repeat(32) + '.' + 'b'.repeat(16);

test('a join whose etcd member does not start removes its learner and goes back to a single host', async () => {
  const { r, ops, done } = await rig();
  try {
    r.failEtcdStart = new Error('etcd exited: bind: address already in use');
    await assert.rejects(ops.join({ address: '10.9.0.1', token }), /etcd exited: bind/);
    // the learner it was added as is gone; the one member stays; the subnet it got is free again
    assert.deepEqual((await r.members.members()).map((m) => m.name), ['h0']);
    assert.equal(await r.members.get(K.subnet('10.77.1.0')), undefined);
    assert.equal(r.subnet, '10.77.0.0/24', 'its own subnet back');
    assert.deepEqual(r.events, [
      'ports checked', 'join posted as h1', 'host cert written',
      // the subnet the cluster handed out once the runtime has stopped; the etcd ports again,
      // once the runtime has let go of them
      'runtime stop revoke +etcd', 'subnet 10.77.1.0/24', 'etcd stop', 'etcd wipe', 'ports checked', 'etcd configure h1 existing', 'etcd start',
      // undone newest first: the subnet back, then a single host again (which starts with its
      // own subnet), then the learner is removed and the reserved subnet given back
      'subnet 10.77.0.0/24',
      'runtime stop +etcd', 'routes cleared', 'etcd stop', 'etcd wipe', 'etcd configure h1 single', 'runtime start single',
    ]);
    assert.equal(await exists(clusterConfigPath(r.dataDir)), false);
    assert.equal(await exists(tlsDir(r.dataDir)), false);
    assert.equal(ops.summary().role, 'single');
  } finally {
    await done();
  }
});

test('a join whose runtime fails to start in the cluster is undone the same way', async () => {
  const { r, ops, done } = await rig();
  try {
    r.failRuntimeStartWithConfig = new Error('cannot listen for the agent API');
    await assert.rejects(ops.join({ address: '10.9.0.1', token }), /cannot listen/);
    assert.deepEqual((await r.members.members()).map((m) => m.name), ['h0']);
    assert.equal(r.events.at(-1), 'runtime start single');
    assert.ok(r.events.includes('runtime start member'));
    // promoted, then failed: its member was removed before this host's etcd stopped
    assert.ok(r.events.indexOf('subnet 10.77.0.0/24') > r.events.indexOf('runtime start member'));
    assert.equal(await exists(clusterConfigPath(r.dataDir)), false);
  } finally {
    await done();
  }
});

test('a join that succeeds promotes its learner and starts in the cluster', async () => {
  const { r, ops, done } = await rig();
  try {
    const s = await ops.join({ address: '10.9.0.1', token, name: 'h1' });
    assert.equal(s.role, 'member');
    assert.equal(s.members, 2);
    const learner = (await r.members.members()).find((m) => m.peerURLs[0] === 'https://10.9.0.2:2380');
    assert.equal(learner?.learner, false, 'promoted');
    assert.equal((await readClusterConfig(r.dataDir))?.clusterId, 'c0ffee000001');
    assert.equal(r.events.at(-1), 'runtime start member');
    // and now it is in a cluster: a second join or init is refused, changing nothing
    await assert.rejects(ops.init({}), /already in cluster c0ffee000001 as h1/);
  } finally {
    await done();
  }
});

test('a host without jails takes the subnet the cluster hands out; one with jails, or started with --subnet, keeps its own', async () => {
  const { r, ops, done } = await rig();
  try {
    await ops.join({ address: '10.9.0.1', token });
    assert.equal(r.posted[0]!.subnet, undefined, 'asks for none');
    assert.equal(r.subnet, '10.77.1.0/24');
  } finally {
    await done();
  }
  for (const setup of [(x: Rig) => { x.jails = 2; }, (x: Rig) => { x.subnetFixed = true; }]) {
    const t = await rig();
    try {
      setup(t.r);
      t.r.subnet = '10.77.9.0/24';
      await new ClusterOps(t.r.deps()).join({ address: '10.9.0.1', token });
      assert.equal(t.r.posted[0]!.subnet, '10.77.9.0/24');
      assert.equal(t.r.events.some((e) => e.startsWith('subnet ')), false, 'no subnet change');
    } finally {
      await t.done();
    }
  }
  const t = await rig();
  try {
    t.r.jails = 1;
    await assert.rejects(t.ops.join({ address: '10.9.0.1', token, subnet: '10.77.5.0/24' }), /--subnet 10\.77\.5\.0\/24: this host's jails use 10\.77\.0\.0\/24/);
    await assert.rejects(t.ops.join({ address: '10.9.0.1', token, subnet: '10.77.5.1/24' }), /host bits set/);
    assert.deepEqual(t.r.events, []);
  } finally {
    await t.done();
  }
});

test('init keeps the cluster range for the joins to come; a bad range changes nothing', async () => {
  const { r, ops, done } = await rig();
  try {
    await assert.rejects(ops.init({ advertise: '10.9.0.2', range: '10.77.0.0/25' }), /smaller than one host's \/24/);
    await assert.rejects(ops.init({ advertise: '10.9.0.2', range: 'ten' }), /--range/);
    assert.deepEqual(r.events, []);
    await ops.init({ advertise: '10.9.0.2', range: '10.80.0.0/20' });
    assert.deepEqual(await r.store.getJson(K.settings), { jailRange: '10.80.0.0/20' });
  } finally {
    await done();
  }
});

test('init keeps the disk overcommit ratio and default disk; bad ones change nothing', async () => {
  const { r, ops, done } = await rig();
  try {
    await assert.rejects(ops.init({ advertise: '10.9.0.2', overcommit: '0.5' }), /--overcommit: invalid ratio "0.5"/);
    await assert.rejects(ops.init({ advertise: '10.9.0.2', defaultDisk: '1M' }), /--default-disk: "1M" is too small/);
    assert.deepEqual(r.events, []);
    await ops.init({ advertise: '10.9.0.2', overcommit: '1.5', defaultDisk: '2G' });
    assert.deepEqual(await r.store.getJson(K.settings), { jailRange: '10.77.0.0/16', overcommit: 1.5, defaultDisk: 2 * 1024 ** 3 });
  } finally {
    await done();
  }
});

test('init and join refuse a host with stacks, before anything changes', async () => {
  const { r, ops, done } = await rig();
  try {
    await r.store.putJson(K.stack('web'), { name: 'web', file: 'web.yml', services: [] });
    await assert.rejects(ops.init({ advertise: '10.9.0.2' }), /has stacks applied \(web\)/);
    await assert.rejects(ops.join({ address: '10.9.0.1', token }), /has stacks applied \(web\)/);
    await assert.rejects(ops.join({ address: 'x', token }), /ADDR "x" is not an IP address/);
    assert.deepEqual(r.events, []);
  } finally {
    await done();
  }
});

test('init makes the CA and certificate, then starts as the first member', async () => {
  const { r, ops, done } = await rig();
  try {
    const s = await ops.init({ advertise: '10.9.0.2', name: 'first' });
    assert.deepEqual([s.role, s.name, s.address, s.apiPort], ['member', 'first', '10.9.0.2', 7480]);
    assert.deepEqual(r.events, ['ports checked', 'ca made', 'host cert issued', 'runtime stop revoke +etcd', 'etcd stop', 'etcd wipe', 'etcd configure first new', 'runtime start member']);
    await assert.rejects(ops.token(5), /--ttl 5 is out of range/);
  } finally {
    await done();
  }
});

test('remove forgets a dead host, marks it removed and takes it out of etcd; a live one needs --force', async () => {
  const { r, ops, done } = await rig();
  try {
    await ops.init({ advertise: '10.9.0.2', name: 'h1' });
    const s = r.store;
    s.addMember('h1', '10.9.0.2');
    const h2 = s.addMember('h2', '10.9.0.3');
    await s.putJson(K.hostInfo('h2'), { name: 'h2', address: '10.9.0.3', apiPort: 7480, subnet: '10.77.2.0/24', joinedAt: 'x' });
    await s.put(K.subnet('10.77.2.0'), 'h2');
    await s.putJson(K.observed('h2', 'web.site.1'), { host: 'h2' });
    const lease = await s.grantLease(0);
    await s.putJson(K.hostLive('h2'), { name: 'h2' }, lease);
    await assert.rejects(ops.remove('h2'), (e: Error & { fix?: string }) => /host h2 is alive/.test(e.message) && /--force/.test(e.fix ?? ''));
    await assert.rejects(ops.remove('h1'), /this is the host you are on/);
    await assert.rejects(ops.remove('nope'), /no host named nope/);
    s.expire(lease);
    assert.deepEqual(await ops.remove('h2'), { removed: 'h2', wasMember: true });
    assert.equal(await s.get(K.hostInfo('h2')), undefined);
    assert.equal(await s.get(K.subnet('10.77.2.0')), undefined);
    assert.equal((await s.getPrefix(K.observedOf('h2'))).kvs.length, 0);
    assert.ok(await s.get(K.removed('h2')));
    assert.equal((await s.members()).some((m) => m.id === h2.id), false);
  } finally {
    await done();
  }
});

test('leave takes this host out of etcd and the host list, then it is a single host', async () => {
  const { r, ops, done } = await rig();
  try {
    await ops.init({ advertise: '10.9.0.2', name: 'h1' });
    const s = r.store;
    s.addMember('h0', '10.9.0.1');
    s.addMember('h1', '10.9.0.2');
    await s.putJson(K.hostInfo('h1'), { name: 'h1', address: '10.9.0.2', apiPort: 7480, subnet: '10.77.0.0/24', joinedAt: 'x' });
    r.events.length = 0;
    const out = await ops.leave();
    assert.equal(out.role, 'single');
    assert.deepEqual((await s.members()).map((m) => m.name), ['h0']);
    assert.equal(await s.get(K.hostInfo('h1')), undefined);
    assert.deepEqual(r.events, ['runtime stop +etcd', 'routes cleared', 'etcd stop', 'etcd wipe', 'etcd configure h1 single', 'runtime start single']);
    await assert.rejects(ops.leave(), /not in a cluster/);
  } finally {
    await done();
  }
});

test('one cluster operation at a time', async () => {
  const { r, ops, done } = await rig();
  try {
    let release!: () => void;
    r.deps().checkPorts = async () => undefined;
    const gate = new Promise<void>((res) => { release = res; });
    const slow = new ClusterOps({ ...r.deps(), checkPorts: async () => { await gate; } });
    const first = slow.init({ advertise: '10.9.0.2' });
    await assert.rejects(slow.join({ address: '10.9.0.1', token }), /cluster init is running on this host/);
    release();
    await first;
    assert.equal(ops.summary().role, 'member');
  } finally {
    await done();
  }
});

test('an agent started with --subnet refuses a join with another --subnet, changing nothing', async () => {
  const { r, ops, done } = await rig();
  try {
    r.subnetFixed = true;
    await assert.rejects(new ClusterOps(r.deps()).join({ address: '10.9.0.1', token, subnet: '10.77.5.0/24' }), (e: Error & { fix?: string }) => /agent was started with --subnet 10\.77\.0\.0\/24/.test(e.message) && /start the agent without --subnet/.test(e.fix ?? ''));
    assert.deepEqual(r.events, []);
    void ops;
  } finally {
    await done();
  }
});
