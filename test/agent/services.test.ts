/**
 * The stack and host services (agent/services/) on the in-memory store: what apply, diff,
 * delete, status, host ls, cordon/drain/uncordon and cluster status read and write.
 */
import { test } from 'node:test';
import { diskAllocated } from '../../src/cli/commands/host/ls.js';
import assert from 'node:assert/strict';
import pino from 'pino';
import { StackService, type ImageLookup } from '../../src/agent/services/stacks.js';
import { HostService } from '../../src/agent/services/hosts.js';
import { K, LEADER_KEY } from '../../src/cluster/keys.js';
import { MemoryStore } from '../../src/cluster/memory-store.js';
import type { HostPlacements, ObservedReplica } from '../../src/cluster/model.js';
import { serviceRecords } from '../../src/cluster/stacks.js';
import type { ServiceSpec, Stack } from '../../src/spec/types.js';
import { formatImageRef } from '../../src/sys/names.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatIssue, parseStack, StackError } from '../../src/spec/parse.js';
import { makeCert } from '../helpers/certs.js';

const log = pino({ level: 'silent' });

function spec(name: string, o: Partial<ServiceSpec> = {}): ServiceSpec {
  return { name, image: { name: 'site', tag: 'v1' }, replicas: 2, command: ['/bin/true'], env: {}, restart: 'always', ...o } as ServiceSpec;
}
const stackOf = (...s: ServiceSpec[]): Stack => ({ services: Object.fromEntries(s.map((x) => [x.name, x])) }) as Stack;

function images(local: string[], elsewhere: Record<string, string[]> = {}): ImageLookup & { announced: number } {
  const l = {
    announced: 0,
    announce: async () => { l.announced++; },
    isLocal: async (ref: { name: string; tag: string }) => local.includes(formatImageRef(ref)),
    holders: async (ref: { name: string; tag: string }) => elsewhere[formatImageRef(ref)] ?? [],
  };
  return l;
}

test('apply writes the stack and its services in one revision; diff and a second apply see them', async () => {
  const store = new MemoryStore();
  const img = images(['site:v1']);
  const stacks = new StackService({ store, images: img, log, now: () => new Date('2026-12-07T00:00:00Z') });
  const before = store.revision;
  const r = await stacks.apply('web', 'web.yml', stackOf(spec('site'), spec('api', { replicas: 1 })));
  assert.equal(BigInt(r.revision), BigInt(before) + 1n, 'one transaction');
  assert.deepEqual(r.diff.map((d) => [d.service, d.change]), [['api', 'add'], ['site', 'add']]);
  assert.equal(img.announced, 1, 'holders announced before the image check');
  assert.deepEqual((await store.getJson<{ services: string[] }>(K.stack('web')))?.services.sort(), ['api', 'site']);
  const scaled = await stacks.diff('web', stackOf(spec('site', { replicas: 3 })));
  assert.deepEqual(scaled.map((d) => [d.service, d.change, d.details.join()]), [['api', 'remove', '1 replicas'], ['site', 'scale', 'replicas 2 -> 3']]);
  const again = await stacks.apply('web', 'web.yml', stackOf(spec('site', { replicas: 3 })));
  assert.deepEqual(again.diff.map((d) => d.change), ['remove', 'scale']);
  assert.equal(await store.get(K.service('web', 'api')), undefined);
});

test('apply refuses an image on no host, naming the service and the fix, and writes nothing', async () => {
  const store = new MemoryStore();
  const stacks = new StackService({ store, images: images([], { 'site:v1': ['h2'] }), log });
  await assert.rejects(stacks.apply('web', 'web.yml', stackOf(spec('site'), spec('db', { image: { name: 'pg', tag: '15' } }))),
    (e: Error & { fix?: string }) => /service db: image pg:15 is on no host of the cluster/.test(e.message) && /cellblock image build pg:15 DIR \(nothing was applied\)/.test(e.fix ?? ''));
  assert.equal((await store.getPrefix('')).kvs.length, 0);
  // on another host is enough
  await stacks.apply('web', 'web.yml', stackOf(spec('site')));
  await assert.rejects(stacks.apply('Bad!', 'x.yml', stackOf(spec('site'))), /stack name/);
});

test('delete removes the stack and its services; an unknown stack is a not-found', async () => {
  const store = new MemoryStore();
  const stacks = new StackService({ store, images: images(['site:v1']), log });
  await stacks.apply('web', 'web.yml', stackOf(spec('site'), spec('api')));
  assert.deepEqual(await stacks.remove('web'), { stack: 'web', removed: ['api', 'site'] });
  assert.equal((await store.getPrefix('services/')).kvs.length, 0);
  await assert.rejects(stacks.remove('web'), /no stack named web in this cluster/);
});

test('status joins services, placements and observed replicas (one stack or all)', async () => {
  const store = new MemoryStore();
  const stacks = new StackService({ store, images: images(['site:v1']), log });
  await stacks.apply('web', 'web.yml', stackOf(spec('site', { replicas: 1 })));
  await stacks.apply('other', 'o.yml', stackOf(spec('x', { replicas: 1 })));
  const [rec] = serviceRecords('web', stackOf(spec('site', { replicas: 1 })));
  const p: HostPlacements = { host: 'h0', by: 'h0', at: 'now', assignments: [{ stack: 'web', service: 'site', replica: 0, jail: 'web.site.0', spec: rec!.spec, specHash: rec!.specHash }] };
  await store.putJson(K.placement('h0'), p);
  const o: ObservedReplica = { host: 'h0', jail: 'web.site.0', stack: 'web', service: 'site', replica: 0, specHash: rec!.specHash, phase: 'running', healthy: true, ip: '10.77.0.2', message: null, at: 'now' };
  await store.putJson(K.observed('h0', 'web.site.0'), o);
  const web = await stacks.status('web');
  assert.equal(web.length, 1);
  assert.deepEqual([web[0]!.service, web[0]!.ready, web[0]!.instances[0]!.host, web[0]!.instances[0]!.ip, web[0]!.instances[0]!.phase], ['site', 1, 'h0', '10.77.0.2', 'running']);
  assert.equal((await stacks.status()).length, 2);
});

test('status says why a replica is unplaced: a disk more than any host has left names the shortfall', async () => {
  const store = new MemoryStore();
  const stacks = new StackService({ store, images: images(['site:v1']), log });
  const G = 1024 ** 3;
  await store.putJson(K.hostLive('h0'), {
    name: 'h0', address: '10.9.0.1', apiPort: 7480, subnet: '10.77.0.0/24', capacity: { memoryBytes: 8 * G, cpus: 2, jails: 250, diskBytes: 4 * G },
    etcd: 'member', version: 'dev', startedAt: 'x',
  });
  // 3G of the 4G pool are promised to a replica already placed there
  await stacks.apply('db', 'db.yml', stackOf(spec('pg', { replicas: 1, diskBytes: 3 * G } as Partial<ServiceSpec>)));
  const [pg] = serviceRecords('db', stackOf(spec('pg', { replicas: 1, diskBytes: 3 * G } as Partial<ServiceSpec>)));
  await store.putJson(K.placement('h0'), { host: 'h0', by: 'h0', at: 'x', assignments: [{ stack: 'db', service: 'pg', replica: 0, jail: 'db.pg.0', spec: pg!.spec, specHash: pg!.specHash }] });
  // fits the pool, not what is left of it
  await stacks.apply('web', 'web.yml', stackOf(spec('site', { replicas: 1, diskBytes: 2 * G } as Partial<ServiceSpec>)));
  const [st] = await stacks.status('web');
  assert.deepEqual([st!.instances[0]!.phase, st!.instances[0]!.host], ['unplaced', null]);
  assert.equal(st!.instances[0]!.message, 'unplaced: no ready host has 2.00G of disk free; most is 1.00G on h0');
});

test('host rows: state by the scheduler\'s rule, leader, replicas and their reserved resources', async () => {
  const store = new MemoryStore();
  const hosts = new HostService(store, () => new Date('2026-12-07T00:00:00Z'));
  const cap = { memoryBytes: 8 << 30, cpus: 2, jails: 250 };
  for (const [i, name] of ['h0', 'h1', 'h2'].entries()) {
    await store.putJson(K.hostInfo(name), { name, address: `10.9.0.${i + 1}`, apiPort: 7480, subnet: `10.77.${i}.0/24`, joinedAt: 'x' });
  }
  await store.putJson(K.hostLive('h0'), { name: 'h0', address: '10.9.0.1', apiPort: 7480, subnet: '10.77.0.0/24', capacity: cap, etcd: 'member', version: 'dev', startedAt: 'x' });
  await store.putJson(K.hostLive('h1'), { name: 'h1', address: '10.9.0.2', apiPort: 7480, subnet: '10.77.1.0/24', capacity: cap, etcd: 'member', version: 'dev', startedAt: 'x' });
  await store.put(LEADER_KEY, 'h1');
  const s = spec('site', { memoryBytes: 256 << 20, cpus: 0.5 } as Partial<ServiceSpec>);
  await store.putJson(K.placement('h1'), { host: 'h1', by: 'h1', at: 'x', assignments: [1, 2].map((n) => ({ stack: 'web', service: 'site', replica: n, jail: `web.site.${n}`, spec: s, specHash: 'h' })) });
  assert.deepEqual(await hosts.control('h0', 'cordon'), { host: 'h0', state: 'cordoned' });
  const rows = await hosts.rows();
  assert.deepEqual(rows.map((r) => [r.name, r.state, r.leader, r.replicas, r.etcd]), [
    ['h0', 'cordoned', false, 0, 'member'], ['h1', 'ready', true, 2, 'member'], ['h2', 'down', false, 0, 'unknown'],
  ]);
  assert.deepEqual(rows[1]!.usage, { memoryBytes: 512 << 20, cpus: 1, diskBytes: 2 * 1024 ** 3 }, 'disk: the default limit of each replica');
  assert.deepEqual([rows[1]!.diskFreeBytes, rows[1]!.overcommit], [null, 1]);
  assert.equal(rows[2]!.address, '10.9.0.3', 'a down host keeps its address from hostinfo');
  assert.deepEqual(await hosts.control('h0', 'uncordon'), { host: 'h0', state: 'ready' });
  assert.equal(await store.get(K.hostCtl('h0')), undefined);
  await assert.rejects(hosts.control('h9', 'drain'), /no host named h9/);
  await assert.rejects(hosts.control('h0', 'reboot'), /no host action "reboot"/);
  await assert.rejects(hosts.control('../x', 'drain'), /invalid host name/);
});

test('host rows: the pool\'s size, free space, the replicas\' disk limits and the cluster\'s overcommit ratio', async () => {
  const store = new MemoryStore();
  const hosts = new HostService(store);
  const G = 1024 ** 3;
  await store.putJson(K.settings, { jailRange: '10.77.0.0/16', overcommit: 1.5 });
  await store.putJson(K.hostLive('h0'), {
    name: 'h0', address: '10.9.0.1', apiPort: 7480, subnet: '10.77.0.0/24', capacity: { memoryBytes: 8 << 30, cpus: 2, jails: 250, diskBytes: 10 * G },
    diskFreeBytes: 7 * G, etcd: 'member', version: 'dev', startedAt: 'x',
  });
  const s = spec('db', { diskBytes: 4 * G } as Partial<ServiceSpec>);
  await store.putJson(K.placement('h0'), { host: 'h0', by: 'h0', at: 'x', assignments: [0, 1].map((n) => ({ stack: 'web', service: 'db', replica: n, jail: `web.db.${n}`, spec: s, specHash: 'h' })) });
  const [row] = await hosts.rows();
  assert.deepEqual([row!.capacity?.diskBytes, row!.usage.diskBytes, row!.diskFreeBytes, row!.overcommit], [10 * G, 8 * G, 7 * G, 1.5]);
  assert.equal(diskAllocated(row!), '8.00G/10.0G x1.5');
  assert.equal(diskAllocated({ ...row!, overcommit: 1 }), '8.00G/10.0G');
  assert.equal(diskAllocated({ ...row!, capacity: null }), '8.00G/-');
});

test('cluster status lists etcd members by name, and still shows hosts when etcd cannot list members', async () => {
  const store = new MemoryStore();
  const hosts = new HostService(store);
  store.addMember('h1', '10.9.0.2');
  store.addMember('h0', '10.9.0.1');
  await store.putJson(K.hostInfo('h0'), { name: 'h0', address: '10.9.0.1', apiPort: 7480, subnet: '10.77.0.0/24', joinedAt: 'x' });
  const summary = { clusterId: 'c0ffee000001', name: 'h0', role: 'member' as const, address: '10.9.0.1', apiPort: 7480 };
  const st = await hosts.clusterStatus(summary);
  assert.deepEqual(st.members.map((m) => m.name), ['h0', 'h1']);
  assert.equal(st.hosts.length, 1);
  store.failNext('members', new Error('etcdserver: no leader'));
  const st2 = await hosts.clusterStatus(summary);
  assert.deepEqual(st2.members, []);
  assert.equal(st2.hosts.length, 1);
});

test('apply refuses a replica whose disk is more than any host\'s pool offers, at its line; overcommit counts', async () => {
  const store = new MemoryStore();
  const stacks = new StackService({ store, images: images(['site:v1']), log });
  const cap = (disk: number) => ({ memoryBytes: 8 << 30, cpus: 2, jails: 250, diskBytes: disk });
  await store.putJson(K.hostLive('h0'), { name: 'h0', address: '10.9.0.1', apiPort: 7480, subnet: '10.77.0.0/24', capacity: cap(4 * 1024 ** 3), etcd: 'member', version: 'dev', startedAt: 'x' });
  await store.putJson(K.hostLive('h1'), { name: 'h1', address: '10.9.0.2', apiPort: 7480, subnet: '10.77.1.0/24', capacity: cap(2 * 1024 ** 3), etcd: 'member', version: 'dev', startedAt: 'x' });
  const text = 'services:\n  db:\n    image: site:v1\n    disk: 5G\n    command: ["/bin/true"]\n';
  const big = stackOf(spec('db', { diskBytes: 5 * 1024 ** 3 } as Partial<ServiceSpec>));
  await assert.rejects(stacks.apply('db', 'db.yml', big, text), (e: Error & { fix?: string }) =>
    /db\.yml:4:11 services\.db\.disk: 5\.00G is more than any host's pool offers \(the largest: 4\.00G on h0\)/.test(e.message) && /cellblock stack validate/.test(e.fix ?? ''));
  await assert.rejects(stacks.apply('db', 'db.yml', big), /db\.yml: services\.db\.disk: 5\.00G is more than any host's pool offers/);
  assert.equal((await store.getPrefix('stacks/')).kvs.length, 0, 'nothing applied');
  // 4G fits the largest pool (placed or reported unplaced later, by the scheduler)
  await stacks.apply('db', 'db.yml', stackOf(spec('db', { diskBytes: 4 * 1024 ** 3 } as Partial<ServiceSpec>)), text);
  await store.putJson(K.settings, { jailRange: '10.77.0.0/16', overcommit: 2 });
  await stacks.apply('db', 'db.yml', big, text);
});

// ---- the load balancer's part of apply (issue 9): claims, lb record, certificates, ports ----

const LB_TEXT = (o: { lb?: string[]; site?: string[]; api?: string[] } = {}) => [
  ...(o.lb ? ['lb:', ...o.lb.map((l) => `  ${l}`)] : []),
  'services:',
  '  site:',
  '    image: site:v1',
  '    command: [/app/site]',
  '    port: 8080',
  ...(o.site ?? ['    publish: { http: [site.example.com] }']),
  '  api:',
  '    image: site:v1',
  '    command: [/app/api]',
  '    port: 9000',
  ...(o.api ?? ['    publish: { tcp: 9000 }']),
].join('\n') + '\n';

/** A minute from now: certificates made by the tests are valid then. */
const SOON = new Date(Date.now() + 60_000);
function lbService(store: MemoryStore, inUse: { host: string; port: number; process?: string }[] = [], asked: number[][] = []) {
  return new StackService({
    store, images: images(['site:v1']), log, now: () => SOON,
    ports: { here: async () => ({ host: 'h0', inUse: [] }), inUse: async (ports) => { asked.push(ports); return inUse.filter((u) => ports.includes(u.port)); } },
  });
}
async function applyText(stacks: StackService, name: string, text: string, files?: Record<string, string>) {
  return stacks.apply(name, `${name}.yml`, parseStack(text, `${name}.yml`), text, files);
}
async function refusal(p: Promise<unknown>): Promise<string> {
  return p.then(() => assert.fail('refused'), (e: unknown) => {
    assert.ok(e instanceof StackError, String(e));
    return e.issues.map(formatIssue).join('\n');
  });
}

test('lb: the first stack writes the lb record in the apply transaction; a second stack with another lb: is refused at its line, naming the first', async () => {
  const store = new MemoryStore();
  const stacks = lbService(store);
  const before = store.revision;
  const r = await applyText(stacks, 'shop', LB_TEXT({ lb: ['vip: 10.231.0.100', 'http: 80'] }));
  assert.equal(BigInt(r.revision), BigInt(before) + 1n, 'one transaction');
  assert.deepEqual(await store.getJson(K.lb), { spec: { vip: '10.231.0.100', http: 80, https: 443 }, stack: 'shop', at: SOON.toISOString() });
  const rev = store.revision;
  const other = LB_TEXT({ lb: ['http: 8080'], site: ['    publish: { http: [blog.example.com] }'], api: [] });
  assert.equal(await refusal(applyText(stacks, 'blog', other)), 'blog.yml:2:3 lb: differs from the cluster\'s lb (vip 10.231.0.100, http 80, https 443), set by stack shop; write the same lb: as stack shop, or remove lb: from this file (the cluster\'s applies to every stack); to change it, change it in stack shop');
  assert.equal(store.revision, rev, 'nothing written');
  // without lb: (or with the same) it applies
  await applyText(stacks, 'blog', LB_TEXT({ site: ['    publish: { http: [blog.example.com] }'], api: [] }));
  // the owner drops lb: -> the record goes; deleting the stack too
  await applyText(stacks, 'shop', LB_TEXT());
  assert.equal(await store.get(K.lb), undefined);
  await applyText(stacks, 'shop', LB_TEXT({ lb: ['http: 80'] }));
  assert.ok(await store.get(K.lb));
  await stacks.remove('shop');
  assert.equal(await store.get(K.lb), undefined);
});

test('lb: another stack\'s host name or TCP port, and a VIP outside the hosts\' network, refused at their lines; nothing written', async () => {
  const store = new MemoryStore();
  await store.putJson(K.hostLive('h1'), { name: 'h1', address: '10.231.0.2', apiPort: 7480, subnet: '10.77.1.0/24', network: '10.231.0.0/24', capacity: { memoryBytes: 1, cpus: 1, jails: 1 }, etcd: 'member', version: 'dev', startedAt: 'x' });
  const stacks = lbService(store);
  await applyText(stacks, 'shop', LB_TEXT());
  const rev = store.revision;
  assert.equal(await refusal(applyText(stacks, 'blog', LB_TEXT({ lb: ['vip: 10.9.0.100'] }))), [
    'blog.yml:2:8 lb.vip: 10.9.0.100 is outside every host\'s network (10.231.0.0/24); choose a free address in the hosts\' network, for example 10.231.0.200',
    'blog.yml:8:23 services.site.publish.http[0]: site.example.com is already published by stack shop, service site; publish each host name from one service only: remove it here, or from stack shop first',
    'blog.yml:13:21 services.api.publish.tcp: port 9000 is already published by stack shop, service api; publish the service on another TCP port, or remove it from stack shop first',
  ].join('\n'));
  assert.equal(store.revision, rev);
  // re-applying the same stack claims nothing from itself
  await applyText(stacks, 'shop', LB_TEXT());
});

test('lb: a port a program listens on, on any live host, refused at the field that publishes it; ports the cluster holds are not asked again', async () => {
  const store = new MemoryStore();
  const asked: number[][] = [];
  const stacks = lbService(store, [{ host: 'h2', port: 9000, process: 'redis-server' }, { host: 'h1', port: 80, process: 'nginx' }], asked);
  assert.equal(await refusal(applyText(stacks, 'shop', LB_TEXT())), [
    'shop.yml:6:22 services.site.publish.http: port 80 is already in use on h1 (nginx); stop that program or move it to another port, or choose another port for lb.http (add lb: { http: 8080, https: 8443 } to the file that sets the cluster\'s lb)',
    'shop.yml:11:21 services.api.publish.tcp: port 9000 is already in use on h2 (redis-server); stop that program or move it to another port, or choose another port for services.api.publish.tcp',
  ].join('\n'));
  assert.deepEqual(asked, [[80, 9000]]);
  assert.equal((await store.getPrefix('')).kvs.length, 0, 'nothing written');
  const free = lbService(store, [], asked);
  await applyText(free, 'shop', LB_TEXT({ lb: ['http: 8080', 'https: 8443'] }));
  // applied again: the lb already listens on 8080 and 9000, nothing new to ask
  asked.length = 0;
  await applyText(free, 'shop', LB_TEXT({ lb: ['http: 8080', 'https: 8443'] }));
  assert.deepEqual(asked, []);
});

test('lb: certificates checked at apply and stored under certs/STACK/SERVICE; a bad key changes nothing; a service that loses tls loses its record', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cb-svc-certs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const [good, other] = await Promise.all([makeCert(dir, 'good', ['site.example.com']), makeCert(dir, 'other', ['site.example.com'])]);
  const store = new MemoryStore();
  const stacks = lbService(store);
  const text = LB_TEXT({ site: ['    publish:', '      http: [site.example.com]', '      tls: { cert: certs/site.crt, key: certs/site.key }'] });
  assert.equal(await refusal(applyText(stacks, 'shop', text, { 'certs/site.crt': good.certPem, 'certs/site.key': other.keyPem })),
    'shop.yml:8:41 services.site.publish.tls.key: certs/site.key does not match the certificate certs/site.crt; give the key the certificate was made with (compare openssl x509 -noout -pubkey -in certs/site.crt with openssl pkey -pubout -in certs/site.key)');
  assert.equal((await store.getPrefix('')).kvs.length, 0, 'nothing written');
  assert.match(await refusal(applyText(stacks, 'shop', text)), /^shop.yml:8:20 services.site.publish.tls.cert: certs\/site.crt was not sent with the stack file; /);
  // diff checks them too
  await assert.rejects(stacks.diff('shop', parseStack(text, 'shop.yml'), { file: 'shop.yml', text }), StackError);
  await applyText(stacks, 'shop', text, { 'certs/site.crt': good.certPem, 'certs/site.key': good.keyPem });
  const c = await store.getJson<{ keyPem: string; names: string[] }>(K.cert('shop', 'site'));
  assert.equal(c?.keyPem, good.keyPem);
  assert.deepEqual(c?.names, ['site.example.com']);
  await applyText(stacks, 'shop', LB_TEXT());
  assert.equal(await store.get(K.cert('shop', 'site')), undefined);
});

test('diff: a change of publish or deploy only is "config": no new spec hash, nothing rolls', async () => {
  const store = new MemoryStore();
  const stacks = lbService(store);
  await applyText(stacks, 'shop', LB_TEXT());
  const text = LB_TEXT({ site: ['    publish: { http: [site.example.com, www.example.com] }', '    deploy: { drain: 30s }'] });
  const d = await stacks.diff('shop', parseStack(text, 'shop.yml'), { file: 'shop.yml', text });
  assert.deepEqual(d.map((x) => [x.service, x.change, x.details.join('; ')]), [['api', 'none', ''], ['site', 'config', 'deploy changed; publish changed']]);
});

test('lb: the apply transaction is guarded by the lb record as read: a record set meanwhile refuses it, nothing written', async () => {
  const store = new MemoryStore();
  const stacks = lbService(store);
  // another agent sets the record between this apply's read and its write (the image check awaits in between)
  const slow = new StackService({
    store, log, now: () => SOON,
    images: { announce: async () => { await store.putJson(K.lb, { spec: { http: 81, https: 443 }, stack: 'other', at: 'x' }); }, isLocal: async () => true, holders: async () => [] },
  });
  const rev = store.revision;
  await assert.rejects(applyText(slow, 'shop', LB_TEXT({ lb: ['http: 80'] })), /the cluster's lb: changed while stack shop was being applied/);
  assert.equal(BigInt(store.revision), BigInt(rev) + 1n, 'only the other write');
  assert.equal(await store.get(K.stack('shop')), undefined);
  await assert.rejects(applyText(stacks, 'shop', LB_TEXT({ lb: ['http: 80'] })), StackError, 'and now it differs');
});
