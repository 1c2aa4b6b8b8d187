// Every route of the contract, served with a fake JailService and fake cluster services:
// each refuses a bad parameter, query or body with a 400 that names the route and the field
// (calling nothing), and an unknown field by name; the cluster routes answer through the typed
// client; a stack with an error comes back exactly as `cellblock stack validate` prints it.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../../src/sys/exec.js';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ROUTES, type RouteName } from '../../src/api/contract.js';
import { clusterRouteHandlers } from '../../src/agent/http/index.js';
import { formatError } from '../../src/cli/main.js';
import { parseStack } from '../../src/spec/parse.js';
import { raw, startHarness, type Harness } from '../helpers/api-harness.js';
import { fakeCluster, HOST, STATUS, type FakeCluster } from '../helpers/fake-cluster-services.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A request that must be refused: path (with query), body, and where the message must point. */
interface Bad { path: string; body?: unknown; at: string; says?: RegExp }

const BAD: Record<RouteName, Bad[]> = {
  health: [{ path: '/v1/health?verbose=1', at: 'query', says: /unknown query parameter "verbose"/ }],
  jailList: [{ path: '/v1/jails?all=1', at: 'query', says: /unknown query parameter "all"/ }],
  jailCreate: [
    { path: '/v1/jails', body: { name: 'web', image: 'site:v1', command: ['x'], volumes: [] }, at: 'body', says: /unknown field "volumes"/ },
    { path: '/v1/jails', body: { name: 7, image: 'site:v1', command: ['x'] }, at: 'body.name', says: /expected a string/ },
  ],
  jailInspect: [{ path: '/v1/jails/Bad!', at: 'params.name', says: /invalid jail name "Bad!"/ }, { path: '/v1/jails/db?x=1', at: 'query' }],
  jailStart: [{ path: '/v1/jails/..%2Fetc/start', body: {}, at: 'params.name' }, { path: '/v1/jails/db/start', body: { now: true }, at: 'body', says: /unknown field "now"/ }],
  jailStop: [{ path: '/v1/jails/db/stop', body: { timeoutSeconds: 'soon' }, at: 'body.timeoutSeconds', says: /expected a number/ }],
  jailDisk: [{ path: '/v1/jails/db/disk', body: { disk: 5 }, at: 'body.disk', says: /expected a string/ }, { path: '/v1/jails/db/disk', body: {}, at: 'body.disk' }],
  jailRestart: [{ path: '/v1/jails/db/restart', body: { hard: true }, at: 'body', says: /unknown field "hard"/ }],
  jailRemove: [{ path: '/v1/jails/db?force=maybe', at: 'query.force', says: /expected 1 or 0/ }, { path: '/v1/jails/Bad!', at: 'params.name' }],
  jailExec: [{ path: '/v1/jails/db/exec', body: { command: 'ls' }, at: 'body.command', says: /expected an array/ }, { path: '/v1/jails/db/exec', body: { command: ['ls'], cwd: '/' }, at: 'body', says: /unknown field "cwd"/ }],
  jailLogs: [{ path: '/v1/jails/db/logs?tail=-1', at: 'query.tail', says: /whole number/ }, { path: '/v1/jails/db/logs?since=1', at: 'query', says: /unknown query parameter "since"/ }],
  clusterStatus: [{ path: '/v1/cluster?full=1', at: 'query' }],
  clusterInit: [{ path: '/v1/cluster/init', body: { apiPort: 0 }, at: 'body.apiPort' }, { path: '/v1/cluster/init', body: { adverise: '192.0.2.1' }, at: 'body', says: /unknown field "adverise"/ }],
  clusterJoin: [{ path: '/v1/cluster/join', body: { address: '192.0.2.1' }, at: 'body.token', says: /missing \(expected a string\)/ }],
  clusterLeave: [{ path: '/v1/cluster/leave', body: { force: true }, at: 'body', says: /unknown field "force"/ }],
  clusterToken: [{ path: '/v1/cluster/token', body: { ttlSeconds: 'soon' }, at: 'body.ttlSeconds' }],
  clusterRemove: [{ path: '/v1/cluster/remove', body: {}, at: 'body.host', says: /missing/ }, { path: '/v1/cluster/remove', body: { host: 'h1', now: 1 }, at: 'body', says: /unknown field "now"/ }],
  hostList: [{ path: '/v1/hosts?state=down', at: 'query' }],
  lbStatus: [{ path: '/v1/lb?host=h0', at: 'query', says: /unknown query parameter "host"/ }],
  hostCordon: [{ path: '/v1/hosts/Bad!/cordon', body: {}, at: 'params.name', says: /invalid host name/ }],
  hostDrain: [{ path: '/v1/hosts/h1/drain', body: { force: true }, at: 'body', says: /unknown field "force"/ }],
  hostUncordon: [{ path: '/v1/hosts/a..b/uncordon', body: {}, at: 'params.name' }],
  stackDiff: [
    { path: '/v1/stacks/a.b/diff', body: { file: 's.yml', text: '' }, at: 'params.name', says: /invalid stack name "a.b"/ },
    { path: '/v1/stacks/s/diff', body: { file: 's.yml', stack: { services: {} } }, at: 'body', says: /unknown field "stack"/ },
  ],
  stackApply: [
    { path: '/v1/stacks/s', body: { file: 's.yml' }, at: 'body.text', says: /missing \(expected a string\)/ }, { path: '/v1/stacks/s', body: { file: 's.yml', text: 7 }, at: 'body.text' },
    { path: '/v1/stacks/s', body: { file: 's.yml', text: '', files: { 'certs/site.crt': 7 } }, at: 'body.files.certs/site.crt', says: /expected a string/ },
    { path: '/v1/stacks/s', body: { file: 's.yml', text: '', files: { 'certs/site.crt': 'x'.repeat(64 * 1024 + 1) } }, at: 'body.files.certs/site.crt' },
  ],
  stackDelete: [{ path: '/v1/stacks/S', at: 'params.name' }],
  lbPorts: [
    { path: '/v1/lb/ports', body: { ports: [0] }, at: 'body.ports[0]', says: /expected number to be >=1|>=1/ },
    { path: '/v1/lb/ports', body: { ports: [] }, at: 'body.ports' },
    { path: '/v1/lb/ports', body: { ports: [80], host: 'h1' }, at: 'body', says: /unknown field "host"/ },
  ],
  status: [{ path: '/v1/status?stak=web', at: 'query', says: /unknown query parameter "stak"/ }, { path: '/v1/status?stack=a.b', at: 'query.stack', says: /invalid stack name "a.b"/ }],
  imageStream: [{ path: '/v1/images/site/v1/stream', body: { have: 'site:v0' }, at: 'body.have', says: /expected an array/ }, { path: '/v1/images/site/v1/stream', body: {}, at: 'body.have' }],
  imagePull: [{ path: '/v1/images/site/V1/pull', body: {}, at: 'params.tag', says: /invalid tag name "V1"/ }],
  rollouts: [{ path: '/v1/rollouts?service=a.b', at: 'query.service', says: /invalid service "a.b"/ }, { path: '/v1/rollouts?svc=x', at: 'query', says: /unknown query parameter "svc"/ }],
  rolloutUndo: [{ path: '/v1/rollouts/undo', body: {}, at: 'body.service' }, { path: '/v1/rollouts/undo', body: { service: 'a/b/c' }, at: 'body.service', says: /invalid service/ }],
  imagePush: [{ path: '/v1/images/Site/v1/push', body: {}, at: 'params.name' }, { path: '/v1/images/site/v1/push', body: { to: ['h1'] }, at: 'body', says: /unknown field "to"/ }],
};

describe('the API contract', () => {
  let h: Harness;
  let fake: FakeCluster;
  before(async () => {
    fake = fakeCluster();
    h = await startHarness('cellblock-contract-', { extra: clusterRouteHandlers(fake) });
  });
  after(async () => { await h?.close(); });
  beforeEach(() => { fake.calls.length = 0; h.fake.calls.length = 0; });

  for (const [name, cases] of Object.entries(BAD) as [RouteName, Bad[]][]) {
    test(`${name}: a bad request is a 400 naming the field, and nothing is called`, async () => {
      const def = ROUTES[name];
      for (const c of cases) {
        const r = await raw(h.socket, def.method, c.path, c.body);
        assert.equal(r.status, 400, `${c.path}: ${r.text}`);
        assert.equal(r.json.error.kind, 'user');
        assert.ok(r.json.error.message.startsWith(`${name} request is invalid at ${c.at}`), `${c.path}: ${r.json.error.message}`);
        if (c.says) assert.match(r.json.error.message, c.says);
        assert.ok(r.json.error.fix, 'there is a fix');
      }
      assert.deepEqual(fake.calls, []);
      assert.deepEqual(h.fake.calls, []);
    });
  }

  test('every route refuses an unknown query parameter, and an unknown body field by name', async () => {
    for (const [name, def] of Object.entries(ROUTES)) {
      const path = def.path.replace(/:[a-z]+/g, 'a1');
      const q = await raw(h.socket, def.method, `${path}?zzz=1`, def.body ? {} : undefined);
      assert.equal(q.status, 400, `${name}: ${q.text}`);
      assert.match(q.json.error.message, new RegExp(`^${name} request is invalid at query: unknown query parameter "zzz"`));
      if (!def.body) continue;
      const b = await raw(h.socket, def.method, path, { zzz: 1 });
      assert.equal(b.status, 400, `${name}: ${b.text}`);
      assert.match(b.json.error.message, new RegExp(`^${name} request is invalid at body: unknown field "zzz"`));
      assert.match(b.json.error.fix, /remove it/);
    }
    assert.deepEqual(fake.calls, []);
    assert.deepEqual(h.fake.calls, []);
  });

  test('every route has validation cases', () => {
    assert.deepEqual(Object.keys(BAD).sort(), Object.keys(ROUTES).sort());
  });

  test('the cluster routes answer through the typed client and call their service', async () => {
    const api = h.client();
    assert.deepEqual((await api.call('clusterStatus')).hosts, [HOST]);
    assert.equal((await api.call('clusterInit', { body: { advertise: '192.0.2.10' } })).clusterId, 'c1');
    assert.equal((await api.call('clusterJoin', { body: { address: '192.0.2.10', token: 'T' } })).members, 3);
    assert.equal((await api.call('clusterLeave')).role, 'single');
    assert.deepEqual(await api.call('clusterToken', { body: { ttlSeconds: 60 } }), { token: 'T', expiresAt: '2030-01-01T00:00:00Z' });
    assert.deepEqual(await api.call('clusterRemove', { body: { host: 'h1' } }), { removed: 'h1', wasMember: false });
    assert.deepEqual(await api.call('hostList'), [HOST]);
    assert.deepEqual(await api.call('hostDrain', { params: { name: 'h1' } }), { host: 'h1', state: 'draining' });
    assert.deepEqual(await api.call('status', { query: { stack: 'stack' } }), [STATUS]);
    assert.deepEqual(await api.call('stackDelete', { params: { name: 'stack' } }), { stack: 'stack', removed: ['site'] });
    assert.equal((await api.call('imagePull', { params: { name: 'site', tag: 'v2' } })).from, 'h1');
    const text = await readFile(`${ROOT}examples/stack.yml`, 'utf8');
    assert.equal((await api.call('stackApply', { params: { name: 'stack' }, body: { file: 'examples/stack.yml', text } })).revision, '7');
    assert.equal((await api.call('stackDiff', { params: { name: 'stack' }, body: { file: 'examples/stack.yml', text } }))[0]!.change, 'add');
    const lines: unknown[] = [];
    for await (const l of createInterface({ input: await api.stream('imagePush', { params: { name: 'site', tag: 'v2' } }) })) lines.push(JSON.parse(l));
    assert.deepEqual(lines.map((l) => Object.keys(l as object).sort().join(',')), ['hosts', 'bytes,error,from,host,image,seconds,since', 'done,image']);
    let image = '';
    for await (const c of await api.stream('imageStream', { params: { name: 'site', tag: 'v2' }, body: { have: ['site:v1'] } })) image += String(c);
    assert.equal(image, 'IMAGE');
    assert.deepEqual(await api.call('lbPorts', { body: { ports: [80, 443] } }), { host: HOST.name, inUse: [{ port: 80, process: 'nginx' }] });
    assert.deepEqual(fake.calls.map((c) => c.method), [
      'cluster.status', 'cluster.init', 'cluster.join', 'cluster.leave', 'cluster.token', 'cluster.remove', 'hosts.rows', 'hosts.control',
      'stacks.status', 'stacks.remove', 'images.pull', 'stacks.apply', 'stacks.diff', 'images.push', 'images.serve', 'stacks.portsHere',
    ]);
    const applied = fake.calls.find((c) => c.method === 'stacks.apply')!;
    assert.deepEqual(applied.args, ['stack', 'examples/stack.yml', parseStack(text, 'examples/stack.yml')], 'the agent parsed the text with src/spec');
    assert.deepEqual(fake.calls.find((c) => c.method === 'cluster.remove')!.args, ['h1', { force: false }]);
  });

  test('a stack with errors: the agent refuses it with the same lines as stack validate, and applies nothing', async () => {
    const text = 'services:\n  web:\n    image: site:v1\n    replicas: three\n    command: ["/bin/true"]\n    colour: blue\n';
    const local = (() => { try { parseStack(text, 'stack.yml'); } catch (e) { return e; } assert.fail('the stack has errors'); })();
    for (const name of ['stackApply', 'stackDiff'] as const) {
      const got = await h.client().call(name, { params: { name: 'stack' }, body: { file: 'stack.yml', text } }).then(() => assert.fail('refused'), (e: unknown) => e);
      assert.equal(formatError(got).text, formatError(local).text);
      assert.match(formatError(got).text, /\n {2}stack\.yml:4:15 services\.web\.replicas: [^\n]+\n {2}stack\.yml:6:5 services\.web\.colour: unknown field; [^\n]*allowed fields: /);
    }
    // and byte for byte what the CLI prints for stack validate on that file
    const dir = await mkdtemp(join(tmpdir(), 'cellblock-contract-stack-'));
    try {
      const file = join(dir, 'stack.yml');
      await writeFile(file, text);
      const v = await exec([process.execPath, `${ROOT}bin/cellblock`, 'stack', 'validate', '-f', file], { cwd: ROOT, timeoutMs: 30_000, okCodes: [1] });
      const got = await h.client().call('stackApply', { params: { name: 'stack' }, body: { file, text } }).then(() => assert.fail('refused'), (e: unknown) => e);
      assert.equal(v.stderr, formatError(got).text + '\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const r = await raw(h.socket, 'PUT', '/v1/stacks/stack', { file: 'stack.yml', text: 'services: [' });
    assert.equal(r.status, 400);
    assert.match(r.json.error.message, /^stack\.yml is not a valid stack file \(1 error\):\n {2}stack\.yml:1:/);
    assert.deepEqual(fake.calls, []);
  });

  test('a reply that does not match the contract is a bug (here, where replies are checked)', async () => {
    const bad = fakeCluster();
    bad.hosts.rows = async () => [{ ...HOST, state: 'lost' as 'down' }];
    const h2 = await startHarness('cellblock-contract-reply-', { extra: clusterRouteHandlers(bad) });
    try {
      const r = await raw(h2.socket, 'GET', '/v1/hosts');
      assert.equal(r.status, 500);
      assert.match(r.json.error.message, /the reply of hostList does not match the contract at 0\.state/);
    } finally {
      await h2.close();
    }
  });

  test('src/api/README.md lists every route of the contract', async () => {
    const readme = await readFile(`${ROOT}src/api/README.md`, 'utf8');
    for (const [name, def] of Object.entries(ROUTES)) {
      assert.ok(readme.includes(`| \`${name}\` | \`${def.method} ${def.path}\` |`), `${name}: ${def.method} ${def.path} is in the README's table`);
    }
  });
});
