/**
 * The serving side of a join (agent/join.ts) on the in-memory store, with real openssl for the
 * certificates (no root needed): token checks and single use, name and subnet refusals that
 * use no token, members as learners up to three, clients after that.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { handleJoin, issueToken } from '../../src/agent/join.js';
import { K } from '../../src/cluster/keys.js';
import { MemoryStore } from '../../src/cluster/memory-store.js';
import { createCa, createKeyAndCsr, readTls, tlsPaths } from '../../src/cluster/pki.js';
import { readFile } from 'node:fs/promises';
import { exec } from '../../src/sys/exec.js';

const log = pino({ level: 'silent' });

async function fixture() {
  const dataDir = await mkdtemp(join(tmpdir(), 'cb-join-'));
  const dir = join(dataDir, 'cluster', 'tls');
  await createCa(exec, dir, 'c0ffee000001');
  const store = new MemoryStore();
  store.addMember('h0', '10.9.0.1');
  const ca = await readFile(tlsPaths(dir).ca);
  const csrDir = join(dataDir, 'joiner');
  const csr = await createKeyAndCsr(exec, csrDir, 'h1');
  const o = { store, dataDir, exec, log, clusterId: 'c0ffee000001' };
  return { dataDir, store, ca, csr, o, done: () => rm(dataDir, { recursive: true, force: true }) };
}

test('a join: the token is used once; the host becomes a learner member with a signed certificate', async () => {
  const f = await fixture();
  try {
    const { token } = await issueToken(f.store, f.ca, 60);
    const req = { token, name: 'h1', address: '10.9.0.2', subnet: '10.77.1.0/24', csr: f.csr };
    const r = await handleJoin(f.o, req);
    assert.equal(r.role, 'member');
    assert.equal(r.clusterId, 'c0ffee000001');
    assert.match(r.cert, /BEGIN CERTIFICATE/);
    assert.ok(r.caKey?.includes('PRIVATE KEY'));
    assert.equal(r.initialCluster, 'h0=https://10.9.0.1:2380,h1=https://10.9.0.2:2380');
    assert.deepEqual(r.endpoints, ['https://10.9.0.1:2379', 'https://10.9.0.2:2379']);
    const members = await f.store.members();
    assert.deepEqual(members.map((m) => [m.name, m.learner]), [['h0', false], ['', true]]);
    assert.equal(members[1]!.id, r.memberId);
    // used: the same token again is refused, and nothing more is added
    await assert.rejects(handleJoin(f.o, { ...req, name: 'h9' }), /join token is unknown, already used or expired/);
    assert.equal((await f.store.members()).length, 2);
  } finally {
    await f.done();
  }
});

test('a taken name or subnet is refused without using the token up', async () => {
  const f = await fixture();
  try {
    await f.store.putJson(K.hostInfo('h1'), { name: 'h1', address: '10.9.0.5', apiPort: 7480, subnet: '10.77.5.0/24', joinedAt: 'x' });
    await f.store.put(K.subnet('10.77.7.0'), 'h7');
    const { token } = await issueToken(f.store, f.ca, 60);
    const req = { token, name: 'h1', address: '10.9.0.2', subnet: '10.77.1.0/24', csr: f.csr };
    await assert.rejects(handleJoin(f.o, req), (e: Error & { fix?: string }) => /a host named h1 is already in the cluster \(at 10\.9\.0\.5\)/.test(e.message) && /cluster remove h1/.test(e.fix ?? ''));
    await assert.rejects(handleJoin(f.o, { ...req, name: 'h2', subnet: '10.77.7.0/24' }), /jail subnet 10\.77\.7\.0\/24 is already used by host h7/);
    assert.ok(await f.store.get(`tokens/${token.split('.')[1]}`), 'the token is still there');
    const r = await handleJoin(f.o, { ...req, name: 'h2' });
    assert.equal(r.role, 'member');
  } finally {
    await f.done();
  }
});

test('a forged or expired token, a bad address and a bad body are refused', async () => {
  const f = await fixture();
  try {
    const { token } = await issueToken(f.store, f.ca, 60);
    const parts = token.split('.');
    const forged = [parts[0], parts[1], 'f'.repeat(32), parts[3]].join('.');
    const req = { token: forged, name: 'h1', address: '10.9.0.2', subnet: '10.77.1.0/24', csr: f.csr };
    await assert.rejects(handleJoin(f.o, req), /join token is unknown/);
    await assert.rejects(handleJoin(f.o, { ...req, token, address: 'nowhere' }), /--advertise "nowhere" is not an IP address/);
    await assert.rejects(handleJoin(f.o, { ...req, token, extra: 1 }), /join request is invalid/);
    // the token's lease ends: etcd deletes it
    const kv = await f.store.get(`tokens/${parts[1]}`);
    f.store.expire(kv!.lease);
    await assert.rejects(handleJoin(f.o, { ...req, token }), /join token is unknown/);
  } finally {
    await f.done();
  }
});

test('with three members, the next host joins as a client of theirs', async () => {
  const f = await fixture();
  try {
    f.store.addMember('h1', '10.9.0.2');
    f.store.addMember('h2', '10.9.0.3');
    const { token } = await issueToken(f.store, f.ca, 60);
    const r = await handleJoin(f.o, { token, name: 'h3', address: '10.9.0.4', subnet: '10.77.3.0/24', csr: f.csr });
    assert.equal(r.role, 'client');
    assert.equal(r.caKey, null);
    assert.equal(r.memberId, null);
    assert.equal(r.endpoints.length, 3);
    assert.equal((await f.store.members()).length, 3);
    assert.equal((await readTls(join(f.dataDir, 'cluster', 'tls')).catch(() => undefined)), undefined, 'the serving host has no host certificate in this fixture');
  } finally {
    await f.done();
  }
});

test('a host that asks for no subnet gets the lowest free /24 of the cluster range, reserved with the token', async () => {
  const f = await fixture();
  try {
    await f.store.putJson(K.settings, { jailRange: '10.80.0.0/22' });
    await f.store.putJson(K.hostInfo('h0'), { name: 'h0', address: '10.9.0.1', apiPort: 7480, subnet: '10.80.0.0/24', joinedAt: 'x' });
    await f.store.put(K.subnet('10.80.1.0'), 'h5');
    const join1 = await handleJoin(f.o, { token: (await issueToken(f.store, f.ca, 60)).token, name: 'h1', address: '10.9.0.2', csr: f.csr });
    assert.equal(join1.subnet, '10.80.2.0/24');
    assert.equal(await f.store.getString(K.subnet('10.80.2.0')), 'h1');
    f.store.memberList.at(-1)!.name = 'h1'; // its etcd started
    const join2 = await handleJoin(f.o, { token: (await issueToken(f.store, f.ca, 60)).token, name: 'h2', address: '10.9.0.3', csr: f.csr });
    assert.equal(join2.subnet, '10.80.3.0/24');
    f.store.memberList.at(-1)!.name = 'h2';
    const t3 = (await issueToken(f.store, f.ca, 60)).token;
    await assert.rejects(handleJoin(f.o, { token: t3, name: 'h3', address: '10.9.0.4', csr: f.csr }), /every \/24 of the cluster range 10\.80\.0\.0\/22 is taken/);
    // asking for one that overlaps a host's is refused, naming that host; the token stays usable
    await assert.rejects(handleJoin(f.o, { token: t3, name: 'h3', address: '10.9.0.4', subnet: '10.80.0.0/16', csr: f.csr }), /already used by host h0 \(10\.80\.0\.0\/24\)/);
    const join3 = await handleJoin(f.o, { token: t3, name: 'h3', address: '10.9.0.4', subnet: '10.90.0.0/24', csr: f.csr });
    assert.equal(join3.subnet, '10.90.0.0/24');
  } finally {
    await f.done();
  }
});

test('a join that fails after its token was used gives back the subnet it reserved', async () => {
  const f = await fixture();
  try {
    const { token } = await issueToken(f.store, f.ca, 60);
    await assert.rejects(handleJoin(f.o, { token, name: 'h1', address: '10.9.0.2', csr: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n' }));
    assert.deepEqual((await f.store.getPrefix(K.subnets)).kvs, [], 'no subnet left reserved');
    assert.equal((await f.store.members()).length, 1, 'no learner added');
  } finally {
    await f.done();
  }
});
