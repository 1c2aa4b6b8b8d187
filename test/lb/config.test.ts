// Golden haproxy.cfg files; after an intended change, regenerate them with
//   CELLBLOCK_UPDATE_GOLDEN=1 node scripts/run-tests.mjs test/lb/config
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { desiredLb, type DesiredInput } from '../../src/lb/desired.js';
import { buildConfig, lbPaths } from '../../src/lb/haproxy-config.js';
import type { CertRecord } from '../../src/lb/model.js';
import { observed, placements, service } from './fixtures.js';

const paths = lbPaths('/var/lib/cellblock');
const golden = (name: string, text: string) => {
  const file = fileURLToPath(new URL(`../../../test/fixtures/lb/${name}`, import.meta.url));
  if (process.env.CELLBLOCK_UPDATE_GOLDEN) writeFileSync(file, text);
  assert.equal(text, readFileSync(file, 'utf8'));
};
const cert: CertRecord = { certFile: 'a.crt', keyFile: 'a.key', certPem: 'CERT', keyPem: 'KEY', names: ['shop.test'], notAfter: '2030-01-01T00:00:00Z', fingerprint: 'ab' };
const base = (over: Partial<DesiredInput>): DesiredInput => ({
  lb: undefined, services: [], placements: new Map(), observed: [], certs: new Map(), certDir: paths.certs, ...over,
});
const web = service('shop', 'web', { http: ['shop.test', 'www.shop.test'] }, { health: { kind: 'http', port: 8080, path: '/healthz', expectStatus: 200, intervalMs: 5000, timeoutMs: 2000, threshold: 3 } });
const webPlaced = placements([['h0', 'shop', 'web', 1], ['h1', 'shop', 'web', 2], ['h2', 'shop', 'web', 3, true]]);
const webSeen = [observed('h0', 'shop.web.1', '10.77.0.2'), observed('h1', 'shop.web.2', '10.77.1.2'), observed('h2', 'shop.web.3', '10.77.2.2')];

test('http only: one backend, servers in rotation written enabled, the rest disabled (the gate)', () => {
  const d = desiredLb(base({ services: [web], placements: webPlaced, observed: webSeen }));
  golden('http.cfg', buildConfig(d, paths, { enabled: new Set(['shop.web/shop.web.1', 'shop.web/shop.web.3']) }));
});

test('https with certificates', () => {
  const api = service('shop', 'api', { http: ['api.shop.test'], tls: { cert: 'a.crt', key: 'a.key' } });
  const d = desiredLb(base({
    services: [web, api], lb: { spec: { http: 8080, https: 8443 }, stack: 'shop', at: '' },
    certs: new Map([['shop/api', cert]]), placements: placements([['h0', 'shop', 'api', 1]]), observed: [observed('h0', 'shop.api.1', '10.77.0.5')],
  }));
  golden('https.cfg', buildConfig(d, paths));
});

test('tcp and several services', () => {
  const db = service('shop', 'db', { tcp: 5432 }, { port: 5432 });
  const blog = service('blog', 'web', { http: ['blog.test'] }, { port: 3000 });
  const d = desiredLb(base({
    services: [web, db, blog], placements: placements([['h0', 'shop', 'db', 1], ['h1', 'blog', 'web', 1]]),
    observed: [observed('h0', 'shop.db.1', '10.77.0.9'), observed('h1', 'blog.web.1', '10.77.1.9')],
  }));
  golden('tcp-several.cfg', buildConfig(d, paths, { shutdownOnDown: true }));
});

test('publish.timeout becomes the backend\'s timeout server (and is part of the shape: a change reloads)', async () => {
  const { desiredLb, shapeOf } = await import('../../src/lb/desired.js');
  void desiredLb;
  const { buildConfig: build, lbPaths: paths } = await import('../../src/lb/haproxy-config.js');
  const backend = { stack: 'shop', service: 'web', backend: 'shop.web', mode: 'http' as const, hosts: ['shop.example'], check: { kind: 'tcp' as const }, servers: [] };
  const base = { http: 80, https: 443, backends: [backend], certs: [] };
  const withTimeout = { ...base, backends: [{ ...backend, timeoutMs: 5000 }] };
  assert.match(build(withTimeout as never, paths('/d')), /^backend shop\.web\n(?:    .*\n)*    timeout server 5000ms\n/m);
  assert.doesNotMatch(build(base as never, paths('/d')), /^    timeout server 5000ms/m);
  assert.notEqual(shapeOf(withTimeout as never), shapeOf(base as never));
});

test('http servers carry the idle-connection pool (add server defaults it to none: no keep-alive to the replicas), tcp ones do not', async () => {
  const { serverParams, IDLE_POOL } = await import('../../src/lb/haproxy-config.js');
  const s = { addr: '10.77.0.2', port: 8080 };
  const http = serverParams({ mode: 'http', check: { kind: 'tcp' } }, s).join(' ');
  assert.ok(http.includes(` ${IDLE_POOL.join(' ')}`), http);
  assert.match(http, /pool-max-conn -1 pool-purge-delay 5s/);
  assert.doesNotMatch(serverParams({ mode: 'tcp', check: { kind: 'tcp' } }, s).join(' '), /pool-/);
});
