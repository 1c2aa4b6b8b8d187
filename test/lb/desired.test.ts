import { test } from 'node:test';
import assert from 'node:assert/strict';
import { desiredLb, shapeOf, hasPublished, type DesiredInput } from '../../src/lb/desired.js';
import type { CertRecord } from '../../src/lb/model.js';
import { observed, placements, service } from './fixtures.js';

const cert: CertRecord = { certFile: 'shop.crt', keyFile: 'shop.key', certPem: 'CERT', keyPem: 'KEY', names: ['shop.test'], notAfter: '2030-01-01T00:00:00Z', fingerprint: 'ab12' };

const input = (over: Partial<DesiredInput> = {}): DesiredInput => ({
  lb: undefined,
  services: [
    service('shop', 'web', { http: ['shop.test', 'www.shop.test'] }, { health: { kind: 'http', port: 8081, path: '/healthz', expectStatus: 204, intervalMs: 5000, timeoutMs: 2000, threshold: 3 } }),
    service('shop', 'db', { tcp: 5432 }, { port: 5432 }),
    service('shop', 'worker', undefined),
  ],
  placements: placements([['h0', 'shop', 'web', 1], ['h1', 'shop', 'web', 2, true], ['h2', 'shop', 'web', 3], ['h0', 'shop', 'db', 1], ['h1', 'shop', 'worker', 1]]),
  observed: [
    observed('h0', 'shop.web.1', '10.77.0.2'),
    observed('h1', 'shop.web.2', '10.77.1.2'),
    observed('h2', 'shop.web.3', null, 'creating'),
    observed('h0', 'shop.db.1', '10.77.0.3'),
    observed('h1', 'shop.worker.1', '10.77.1.3'),
  ],
  certs: new Map(),
  certDir: '/d/lb/certs',
  ...over,
});

test('every running replica of a published service, on any host, with drain; not-running ones and unpublished services left out', () => {
  const d = desiredLb(input());
  assert.equal(d.http, 80);
  assert.equal(d.https, 443);
  assert.deepEqual(d.backends.map((b) => b.backend), ['shop.db', 'shop.web']);
  const web = d.backends.find((b) => b.backend === 'shop.web')!;
  assert.equal(web.mode, 'http');
  assert.deepEqual(web.hosts, ['shop.test', 'www.shop.test']);
  assert.deepEqual(web.check, { kind: 'http', port: 8081, path: '/healthz', expectStatus: 204 });
  assert.deepEqual(web.servers, [
    { name: 'shop.web.1', addr: '10.77.0.2', port: 8080, drain: false },
    { name: 'shop.web.2', addr: '10.77.1.2', port: 8080, drain: true },
  ]);
  const db = d.backends.find((b) => b.backend === 'shop.db')!;
  assert.equal(db.mode, 'tcp');
  assert.equal(db.tcp, 5432);
  assert.deepEqual(db.check, { kind: 'tcp' });
  assert.deepEqual(db.servers, [{ name: 'shop.db.1', addr: '10.77.0.3', port: 5432, drain: false }]);
});

test('a replica observed on another host than its placement is left out', () => {
  const d = desiredLb(input({ observed: [observed('h2', 'shop.web.1', '10.77.2.9')] }));
  assert.deepEqual(d.backends.find((b) => b.backend === 'shop.web')!.servers, []);
});

test('lb settings from the lb record; tls: the stored certificate as a file', () => {
  const services = [service('shop', 'web', { http: ['shop.test'], tls: { cert: 'shop.crt', key: 'shop.key' } })];
  const d = desiredLb(input({ services, lb: { spec: { http: 8080, https: 8443 }, stack: 'shop', at: '' }, certs: new Map([['shop/web', cert]]) }));
  assert.equal(d.http, 8080);
  assert.equal(d.https, 8443);
  assert.equal(d.backends[0]!.certFile, '/d/lb/certs/shop.web.pem');
  assert.deepEqual(d.certs, [{ file: '/d/lb/certs/shop.web.pem', pem: 'CERT\nKEY\n', fingerprint: 'ab12' }]);
});

test('shape: servers do not change it; a certificate, a port or a backend does', () => {
  const a = desiredLb(input());
  const b = desiredLb(input({ observed: [] }));
  assert.equal(shapeOf(a), shapeOf(b));
  assert.notEqual(shapeOf(a), shapeOf(desiredLb(input({ lb: { spec: { http: 81, https: 443 }, stack: 's', at: '' } }))));
  assert.notEqual(shapeOf(a), shapeOf(desiredLb(input({ services: input().services.slice(0, 1) }))));
  assert.ok(hasPublished(a));
  assert.ok(!hasPublished(desiredLb(input({ services: [] }))));
});
