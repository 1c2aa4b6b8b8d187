/** lb/claims.ts and lb/apply.ts: claims against the cluster, the VIP's network, the ports to ask about, the writes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterClaimProblems, effectiveLb, publishedPorts } from '../../src/lb/claims.js';
import { inCidr } from '../../src/jail/ipam.js';
import { lbDeletes, lbWrites, portProblems, portsToProbe } from '../../src/lb/apply.js';
import type { HostLive, ServiceRecord } from '../../src/cluster/model.js';
import type { LbRecord, CertRecord } from '../../src/lb/model.js';
import { DEPLOY_DEFAULTS, type PublishSpec, type ServiceSpec, type Stack } from '../../src/spec/types.js';

const svc = (name: string, publish?: PublishSpec): ServiceSpec => ({
  name, image: { name: 'site', tag: 'v1' }, replicas: 1, command: ['/x'], env: {}, pids: 1, rw: [], restart: 'always',
  user: { uid: 0, gid: 0 }, deploy: DEPLOY_DEFAULTS, port: 8080, ...(publish ? { publish } : {}),
});
const rec = (stack: string, s: ServiceSpec): ServiceRecord => ({ stack, spec: s, specHash: 'h' });
const stackOf = (services: ServiceSpec[], lb?: Stack['lb']): Stack => ({ services: Object.fromEntries(services.map((s) => [s.name, s])), ...(lb ? { lb } : {}) });
const host = (name: string, network?: string) => ({ name, ...(network ? { network } : {}) }) as HostLive;
const lbRec = (stack: string, spec: LbRecord['spec']): LbRecord => ({ stack, spec, at: '2026-12-07T00:00:00Z' });
const fmt = (ps: { path: PropertyKey[]; message: string }[]) => ps.map((p) => `${p.path.join('.')}: ${p.message}`);

test('another stack\'s host name or TCP port, named by stack and service', () => {
  const others = [rec('shop', svc('web', { http: ['shop.example.com'] })), rec('shop', svc('api', { tcp: 9000 }))];
  const s = stackOf([svc('site', { http: ['site.example.com', 'shop.example.com'] }), svc('rpc', { tcp: 9000 })]);
  assert.deepEqual(fmt(clusterClaimProblems(s, { stack: 'blog', others, hosts: [] })), [
    'services.site.publish.http.1: shop.example.com is already published by stack shop, service web',
    'services.rpc.publish.tcp: port 9000 is already published by stack shop, service api',
  ]);
  assert.deepEqual(clusterClaimProblems(s, { stack: 'blog', others: [], hosts: [] }), []);
});

test('the cluster\'s lb: another stack\'s differs (refused, naming it), the same or none is fine; its ports are not TCP ports', () => {
  const set = lbRec('shop', { http: 80, https: 443, vip: '10.0.0.100' });
  const s = (lb?: Stack['lb'], tcp?: number) => stackOf([svc('site', tcp ? { tcp } : { http: ['a.example.com'] })], lb);
  const p = clusterClaimProblems(s({ http: 8080, https: 443 }), { stack: 'blog', others: [], lb: set, hosts: [] });
  assert.deepEqual(fmt(p), ['lb: differs from the cluster\'s lb (vip 10.0.0.100, http 80, https 443), set by stack shop']);
  assert.equal(p[0]!.fix, 'write the same lb: as stack shop, or remove lb: from this file (the cluster\'s applies to every stack); to change it, change it in stack shop');
  assert.deepEqual(clusterClaimProblems(s({ http: 80, https: 443, vip: '10.0.0.100' }), { stack: 'blog', others: [], lb: set, hosts: [] }), []);
  assert.deepEqual(clusterClaimProblems(s(), { stack: 'blog', others: [], lb: set, hosts: [] }), []);
  // the stack that set it may change it
  assert.deepEqual(clusterClaimProblems(s({ http: 8080, https: 443 }), { stack: 'shop', others: [], lb: set, hosts: [] }), []);
  assert.deepEqual(fmt(clusterClaimProblems(s(undefined, 80), { stack: 'blog', others: [], lb: set, hosts: [] })), ['services.site.publish.tcp: port 80 is the load balancer\'s http port (lb.http, set by stack shop)']);
  // a first lb: whose port is another stack's TCP port
  assert.deepEqual(fmt(clusterClaimProblems(s({ http: 9000, https: 443 }), { stack: 'blog', others: [rec('shop', svc('api', { tcp: 9000 }))], hosts: [] })), ['lb.http: port 9000 is already published as a TCP port by stack shop, service api']);
  assert.deepEqual(effectiveLb('blog', s({ http: 8080, https: 8443 }), set), set.spec);
  assert.deepEqual(effectiveLb('shop', s({ http: 8080, https: 8443 }), set), { http: 8080, https: 8443 });
  assert.deepEqual(effectiveLb('shop', s(), set), { http: 80, https: 443 });
});

test('the VIP must be in some live host\'s network; hosts that say none are skipped', () => {
  const s = stackOf([svc('site')], { vip: '10.9.0.100', http: 80, https: 443 });
  const p = clusterClaimProblems(s, { stack: 'blog', others: [], hosts: [host('h1', '10.231.0.0/24'), host('h2', '10.231.0.0/24'), host('h3')] });
  assert.deepEqual(fmt(p), ['lb.vip: 10.9.0.100 is outside every host\'s network (10.231.0.0/24)']);
  assert.equal(p[0]!.fix, 'choose a free address in the hosts\' network, for example 10.231.0.200');
  assert.deepEqual(clusterClaimProblems(s, { stack: 'blog', others: [], hosts: [host('h1', '10.9.0.0/16')] }), []);
  assert.deepEqual(clusterClaimProblems(s, { stack: 'blog', others: [], hosts: [host('h1')] }), [], 'no host says its network: not checked');
  const own = stackOf([svc('site')], { vip: '10.231.0.2', http: 80, https: 443 });
  assert.deepEqual(fmt(clusterClaimProblems(own, { stack: 'blog', others: [], hosts: [{ ...host('h1', '10.231.0.0/24'), address: '10.231.0.2' }] })), ['lb.vip: 10.231.0.2 is the address of host h1']);
  assert.ok(inCidr('10.231.0.0/24', '10.231.0.100'));
  assert.ok(!inCidr('10.231.0.0/24', '10.231.1.100'));
  assert.ok(inCidr('0.0.0.0/0', '192.168.7.9'));
  assert.ok(!inCidr('nonsense', '10.0.0.1'));
});

test('ports to ask about: only those the load balancer does not hold yet', () => {
  const lb = { http: 80, https: 443 };
  const web = svc('web', { http: ['a.example.com'] });
  const tls = svc('tls', { http: ['b.example.com'], tls: { cert: 'c', key: 'k' } });
  const tcp = svc('tcp', { tcp: 9000 });
  assert.deepEqual(publishedPorts([web, tls, tcp, svc('none')], lb), [80, 443, 9000]);
  assert.deepEqual(portsToProbe({ services: [], lb }, { services: [web, tcp], lb }), [80, 9000]);
  assert.deepEqual(portsToProbe({ services: [web], lb }, { services: [web, tls], lb }), [443]);
  assert.deepEqual(portsToProbe({ services: [web, tcp], lb }, { services: [web, tcp], lb: { http: 8080, https: 443 } }), [8080]);
});

test('a port in use is reported at the field that publishes it, with the hosts and programs', () => {
  const s = stackOf([svc('site', { http: ['a.example.com'], tls: { cert: 'c', key: 'k' } }), svc('api', { tcp: 9000 })]);
  const lb = { http: 80, https: 443 };
  const p = portProblems(s, lb, [{ host: 'h1', port: 9000, process: 'redis-server' }, { host: 'h2', port: 9000 }, { host: 'h1', port: 80, process: 'nginx' }, { host: 'h3', port: 443 }]);
  assert.deepEqual(fmt(p), [
    'services.site.publish.http: port 80 is already in use on h1 (nginx)',
    'services.site.publish.tls: port 443 is already in use on h3',
    'services.api.publish.tcp: port 9000 is already in use on h1 (redis-server), h2',
  ]);
  assert.equal(p[0]!.fix, 'stop that program or move it to another port, or choose another port for lb.http (add lb: { http: 8080, https: 8443 } to the file that sets the cluster\'s lb)');
  assert.equal(p[2]!.fix, 'stop that program or move it to another port, or choose another port for services.api.publish.tcp');
  const withLb = { ...s, lb: { http: 8080, https: 8443 } };
  assert.deepEqual(fmt(portProblems(withLb, withLb.lb, [{ host: 'h1', port: 8080 }])), ['lb.http: port 8080 is already in use on h1']);
});

test('writes: the first lb: sets the record, its owner changes or drops it, others leave it; certs put and deleted', () => {
  const cert = { certFile: 'c', keyFile: 'k', certPem: 'C', keyPem: 'K', names: ['a.example.com'], notAfter: 'x', fingerprint: 'f' } satisfies CertRecord;
  const lb = { http: 80, https: 443 };
  const at = '2026-12-07T00:00:00Z';
  const s = stackOf([svc('site', { http: ['a.example.com'], tls: { cert: 'c', key: 'k' } })], lb);
  assert.deepEqual(lbWrites('blog', s, undefined, new Map([['site', cert]]), [], at), [
    { put: 'lb', value: JSON.stringify({ spec: lb, stack: 'blog', at }) },
    { put: 'certs/blog/site', value: JSON.stringify(cert) },
  ]);
  const mine = lbRec('blog', lb);
  assert.deepEqual(lbWrites('blog', s, mine, new Map(), [], at), [], 'the same lb: is not written again');
  assert.deepEqual(lbWrites('blog', stackOf([svc('site')]), mine, new Map(), [rec('blog', s.services.site!)], at), [{ delete: 'lb' }, { delete: 'certs/blog/site' }]);
  assert.deepEqual(lbWrites('shop', stackOf([svc('x')], { http: 80, https: 443 }), mine, new Map(), [], at), [], 'another stack\'s same lb: writes nothing');
  assert.deepEqual(lbDeletes('blog', mine, [rec('blog', s.services.site!), rec('blog', svc('plain'))]), [{ delete: 'lb' }, { delete: 'certs/blog/site' }]);
  assert.deepEqual(lbDeletes('shop', mine, []), []);
});
