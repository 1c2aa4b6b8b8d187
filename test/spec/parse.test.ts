import { DEPLOY_DEFAULTS } from '../../src/spec/types.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStack } from '../../src/spec/parse.js';
import type { Stack } from '../../src/spec/types.js';

const SMALLEST = [
  'services:',
  '  site:',
  '    image: site:v1',
  '    replicas: 3',
  '    command: ["/usr/bin/python3", "-m", "http.server", "8080", "--directory", "/app"]',
  '    health:',
  '      http: { port: 8080, path: /index.html }',
  '',
].join('\n');

test('the smallest stack file parses to the normalized stack, every default filled in', () => {
  const expected: Stack = {
    services: {
      site: {
        name: 'site',
        image: { name: 'site', tag: 'v1' },
        replicas: 3,
        command: ['/usr/bin/python3', '-m', 'http.server', '8080', '--directory', '/app'],
        env: {},
        pids: 1024,
        rw: [],
        restart: 'always', deploy: { ...DEPLOY_DEFAULTS },
        user: { uid: 0, gid: 0 },
        health: { kind: 'http', port: 8080, path: '/index.html', expectStatus: 200, intervalMs: 5000, timeoutMs: 2000, threshold: 3 },
      },
    },
  };
  assert.deepEqual(parseStack(SMALLEST, 'stack.yml'), expected);
});

test('a service without health or optional fields: one replica, restart always, no limits', () => {
  const stack = parseStack('services:\n  w:\n    image: w:v1\n    command: [/app/w]\n', 'stack.yml');
  assert.deepEqual(stack.services.w, {
    name: 'w', image: { name: 'w', tag: 'v1' }, replicas: 1, command: ['/app/w'], env: {}, pids: 1024, rw: [],
    restart: 'always', deploy: { ...DEPLOY_DEFAULTS }, user: { uid: 0, gid: 0 },
  });
});

test('every field: sizes in bytes, durations in ms, env values as text, rw sorted and deduplicated', () => {
  const stack = parseStack([
    'services:',
    '  api:',
    '    image: api:v7',
    '    replicas: 2',
    '    command: [/app/api]',
    '    env: { LOG_LEVEL: info, WORKERS: 4, DEBUG: false, RATIO: 0.5, EMPTY: "" }',
    '    memory: 512M',
    '    cpus: 1.5',
    '    pids: 256',
    '    disk: 2G',
    '    rw: [/srv/b, /srv/a, /srv/b]',
    '    restart: on-failure',
    '    user: "1000:100"',
    '    port: 9000',
    '    health:',
    '      command: [/app/check, --quick]',
    '      interval: 1m30s',
    '      timeout: 500ms',
    '      threshold: 2',
  ].join('\n'), 'stack.yml');
  assert.deepEqual(stack.services.api, {
    name: 'api', image: { name: 'api', tag: 'v7' }, replicas: 2, command: ['/app/api'],
    env: { LOG_LEVEL: 'info', WORKERS: '4', DEBUG: 'false', RATIO: '0.5', EMPTY: '' },
    memoryBytes: 512 * 1024 * 1024, cpus: 1.5, pids: 256, diskBytes: 2 * 1024 ** 3, rw: ['/srv/a', '/srv/b'], restart: 'on-failure',
    user: { uid: 1000, gid: 100 }, port: 9000, deploy: { ...DEPLOY_DEFAULTS },
    health: { kind: 'command', command: ['/app/check', '--quick'], intervalMs: 90_000, timeoutMs: 500, threshold: 2 },
  });
});

test('user as a bare number; memory as bytes; http expect', () => {
  const s = parseStack([
    'services:',
    '  a:',
    '    image: a:v1',
    '    command: [/a]',
    '    user: 1000',
    '    memory: 10485760',
    '    health: { http: { port: 80, path: /ok, expect: 204 }, interval: 10s }',
  ].join('\n'), 'stack.yml').services.a!;
  assert.deepEqual(s.user, { uid: 1000, gid: 1000 });
  assert.equal(s.etc, undefined, 'no etc: no key, so specs written before it hash the same');
  assert.equal(s.memoryBytes, 10485760);
  assert.deepEqual(s.health, { kind: 'http', port: 80, path: '/ok', expectStatus: 204, intervalMs: 10_000, timeoutMs: 2000, threshold: 3 });
});

test('user by name stays a name, resolved on the host; etc entries normalized and sorted', () => {
  const svc = (lines: string[]) => parseStack(['services:', '  a:', '    image: a:v1', '    command: [/a]', ...lines.map((l) => `    ${l}`)].join('\n'), 'stack.yml').services.a!;
  assert.deepEqual(svc(['user: www-data']).user, { uid: 'www-data', gid: '' }, '"www-data:" to the jail: its login group');
  assert.deepEqual(svc(['user: "postgres:postgres"']).user, { uid: 'postgres', gid: 'postgres' });
  assert.deepEqual(svc(['user: "33:"']).user, { uid: 33, gid: '' });
  assert.deepEqual(svc(['user: "1000:staff"']).user, { uid: 1000, gid: 'staff' });
  assert.deepEqual(svc(['etc: { ssl/private: host, /etc/nginx/nginx.conf: /app/etc/nginx.conf }']).etc,
    { 'nginx/nginx.conf': '/app/etc/nginx.conf', 'ssl/private': 'host' });
  assert.equal(svc(['etc: {}']).etc, undefined);
});

test('services keep the order of the file; anchors, aliases and merge keys work', () => {
  const stack = parseStack([
    'services:',
    '  web: &web',
    '    image: shop:v2',
    '    command: &cmd [/app/shop]',
    '    memory: 256M',
    '  admin:',
    '    <<: *web',
    '    replicas: 1',
    '  cron:',
    '    image: shop:v2',
    '    command: *cmd',
  ].join('\n'), 'stack.yml');
  assert.deepEqual(Object.keys(stack.services), ['web', 'admin', 'cron']);
  assert.equal(stack.services.admin!.memoryBytes, 256 * 1024 * 1024);
  assert.deepEqual(stack.services.admin!.image, { name: 'shop', tag: 'v2' });
  assert.deepEqual(stack.services.cron!.command, ['/app/shop']);
});

test('the result is plain JSON data (what stack validate --json prints)', () => {
  const stack = parseStack(SMALLEST, 'stack.yml');
  assert.deepEqual(JSON.parse(JSON.stringify(stack)), stack);
});
