// The agent API served from a fake JailService on a real unix socket: every route, the status
// of each error kind, strict bodies, limits, streaming logs and hanging up on them.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { ExecError, ExistsError, NotFoundError, NotSupportedError, UserError } from '../../src/sys/errors.js';
import type { JailCreateRequest } from '../../src/jail/service.js';
import { raw, startHarness, waitFor, type Harness } from '../helpers/api-harness.js';

const FULL: JailCreateRequest = {
  name: 'web', image: 'site:v1', ip: '10.77.0.9', memory: '256M', cpus: '0.5', pids: '256',
  env: ['A=1', 'B=two words'], user: '1000:1000', rw: ['/var/lib/app'], restart: 'always',
  command: ['/usr/bin/python3', '-m', 'http.server', '8080'], start: true,
};

describe('agent API server', () => {
  let h: Harness;
  const call = (method: string, path: string, body?: unknown, headers?: Record<string, string | number>) => raw(h.socket, method, path, body, headers);

  before(async () => { h = await startHarness(); });
  after(async () => { await h?.close(); });
  beforeEach(async () => {
    h.fake.calls.length = 0;
    h.fake.jails.clear();
    await h.fake.create({ name: 'db', image: 'pg:16', command: ['/bin/postgres'] });
    h.fake.calls.length = 0;
  });

  test('GET /v1/health', async () => {
    const r = await call('GET', '/v1/health');
    assert.equal(r.status, 200);
    assert.equal(r.json.ok, true);
    assert.equal(r.json.pid, process.pid);
    assert.equal(r.json.version, 'test');
  });

  test('POST /v1/jails passes the request through as given: 201 and the view', async () => {
    const r = await call('POST', '/v1/jails', FULL);
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.name, 'web');
    assert.equal(r.json.state, 'running');
    assert.deepEqual(h.fake.calls, [{ method: 'create', args: [FULL] }]);
  });

  test('POST /v1/jails refuses unknown fields by name and calls nothing', async () => {
    const r = await call('POST', '/v1/jails', { ...FULL, memroy: '1G', volumes: [] });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.kind, 'user');
    assert.match(r.json.error.message, /unknown fields "memroy", "volumes"/);
    assert.match(r.json.error.fix, /the fields of jailCreate are: name, image, ip, memory/);
    assert.deepEqual(h.fake.calls, []);
  });

  test('POST /v1/jails refuses wrong types and missing fields, naming them', async () => {
    const r = await call('POST', '/v1/jails', { name: 'web', image: 'site:v1', cpus: 0.5, env: ['A=1', 2] });
    assert.equal(r.status, 400);
    assert.match(r.json.error.message, /cpus: expected a string/);
    assert.match(r.json.error.message, /env\[1\]: expected a string/);
    assert.match(r.json.error.message, /command: missing/);
    const arr = await call('POST', '/v1/jails', [1, 2]);
    assert.equal(arr.status, 400);
    assert.match(arr.json.error.message, /expected a JSON object/);
    assert.deepEqual(h.fake.calls, []);
  });

  test('GET /v1/jails lists, GET /v1/jails/:name inspects', async () => {
    const ls = await call('GET', '/v1/jails');
    assert.equal(ls.status, 200);
    assert.deepEqual(ls.json.map((j: { name: string }) => j.name), ['db']);
    const one = await call('GET', '/v1/jails/db');
    assert.equal(one.status, 200);
    assert.equal(one.json.usage.pids.current, 3);
    assert.deepEqual(h.fake.calls, [{ method: 'list', args: [] }, { method: 'inspect', args: ['db'] }]);
  });

  test('start, stop (with and without a timeout) and restart', async () => {
    assert.equal((await call('POST', '/v1/jails/db/start')).json.state, 'running');
    assert.equal((await call('POST', '/v1/jails/db/stop', { timeoutSeconds: 5 })).json.state, 'stopped');
    assert.equal((await call('POST', '/v1/jails/db/stop')).status, 200);
    assert.equal((await call('POST', '/v1/jails/db/restart', {})).json.pid, 4343);
    assert.deepEqual(h.fake.calls, [
      { method: 'start', args: ['db'] },
      { method: 'stop', args: ['db', { timeoutSeconds: 5 }] },
      { method: 'stop', args: ['db', {}] },
      { method: 'restart', args: ['db'] },
    ]);
    const bad = await call('POST', '/v1/jails/db/stop', { timeoutSeconds: 'soon' });
    assert.equal(bad.status, 400);
    assert.match(bad.json.error.message, /timeoutSeconds: expected a number/);
    const extra = await call('POST', '/v1/jails/db/start', { now: true });
    assert.equal(extra.status, 400);
    assert.match(extra.json.error.message, /unknown field "now"/);
  });

  test('DELETE /v1/jails/:name with and without force', async () => {
    const r = await call('DELETE', '/v1/jails/db?force=1');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { removed: 'db' });
    await h.fake.create({ name: 'db', image: 'pg:16', command: ['/bin/postgres'] });
    assert.equal((await call('DELETE', '/v1/jails/db')).status, 200);
    assert.deepEqual(h.fake.calls.filter((c) => c.method === 'remove'), [
      { method: 'remove', args: ['db', { force: true }] },
      { method: 'remove', args: ['db', { force: false }] },
    ]);
    assert.equal((await call('DELETE', '/v1/jails/db?force=maybe')).status, 400);
  });

  test('POST /v1/jails/:name/exec', async () => {
    h.fake.execResult = { exitCode: 3, stdout: 'a\n', stderr: 'b\n' };
    const r = await call('POST', '/v1/jails/db/exec', { command: ['/bin/false'], user: '0', env: ['X=1'], timeoutSeconds: 2.5 });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { exitCode: 3, stdout: 'a\n', stderr: 'b\n' });
    assert.deepEqual(h.fake.calls, [{ method: 'exec', args: ['db', { command: ['/bin/false'], user: '0', env: ['X=1'], timeoutSeconds: 2.5 }] }]);
    const bad = await call('POST', '/v1/jails/db/exec', { cmd: ['x'] });
    assert.equal(bad.status, 400);
    assert.match(bad.json.error.message, /unknown field "cmd"/);
  });

  test('each kind of error has its status and body', async () => {
    const cases: [unknown, number, Record<string, unknown>][] = [
      [new UserError('--memory: invalid size "lots"', 'write 256M'), 400, { kind: 'user', message: '--memory: invalid size "lots"', fix: 'write 256M' }],
      [new NotFoundError('no such image site:v9', 'run: cellblock image ls'), 404, { kind: 'not-found', message: 'no such image site:v9', fix: 'run: cellblock image ls' }],
      [new ExistsError('jail web exists', 'remove it'), 409, { kind: 'exists', message: 'jail web exists', fix: 'remove it' }],
      [new NotSupportedError('cpu limits', 'no cpu controller'), 501, { kind: 'not-supported', message: 'cpu limits is not supported: no cpu controller' }],
    ];
    for (const [err, status, body] of cases) {
      h.fake.fail('create', err);
      const r = await call('POST', '/v1/jails', FULL);
      assert.equal(r.status, status, String(err));
      assert.deepEqual(r.json, { error: body });
    }
    h.fake.fail('start', new ExecError(['runc', 'start', 'web'], 1, 'container not found\n'));
    const ex = await call('POST', '/v1/jails/db/start');
    assert.equal(ex.status, 500);
    assert.equal(ex.json.error.kind, 'exec');
    assert.equal(ex.json.error.command, 'runc start web');
    assert.equal(ex.json.error.exitCode, 1);
    assert.equal(ex.json.error.stderr, 'container not found\n');
    assert.equal(ex.json.error.message, 'command failed: runc start web: exited with code 1: container not found');
  });

  test('a bug is a 500 of kind "bug" and its stack is logged', async () => {
    h.fake.fail('list', new TypeError('x is undefined'));
    const r = await call('GET', '/v1/jails');
    assert.equal(r.status, 500);
    assert.deepEqual(r.json, { error: { kind: 'bug', message: 'TypeError: x is undefined' } });
    const line = h.logLines.find((l) => String(l.msg).startsWith('bug:'));
    assert.ok(line, 'the bug is logged');
    assert.match(String((line.err as { stack: string }).stack), /TypeError: x is undefined\n\s+at /);
  });

  test('a body over 1 MiB is refused with 413', async () => {
    const big = JSON.stringify({ ...FULL, command: ['x'.repeat(1024 * 1024 + 10)] });
    const r = await call('POST', '/v1/jails', big, { 'content-type': 'application/json' });
    assert.equal(r.status, 413);
    assert.match(r.json.error.message, /larger than 1048576 bytes/);
    assert.deepEqual(h.fake.calls, []);
  });

  test('a body that is not declared JSON is refused with 415; bad JSON with 400', async () => {
    const r = await call('POST', '/v1/jails', JSON.stringify(FULL), { 'content-type': 'text/plain' });
    assert.equal(r.status, 415);
    assert.match(r.json.error.fix, /Content-Type: application\/json/);
    const none = await call('POST', '/v1/jails', JSON.stringify(FULL));
    assert.equal(none.status, 415);
    const bad = await call('POST', '/v1/jails', '{"name":', { 'content-type': 'application/json' });
    assert.equal(bad.status, 400);
    assert.match(bad.json.error.message, /not valid JSON/);
    assert.deepEqual(h.fake.calls, []);
  });

  test('unknown routes 404, wrong methods 405, bad names and query parameters 400', async () => {
    assert.equal((await call('GET', '/v2/jails')).status, 404);
    assert.equal((await call('GET', '/v1/jails/db/frobnicate')).status, 404);
    const m = await call('PUT', '/v1/jails');
    assert.equal(m.status, 405);
    assert.equal(m.headers.allow, 'GET, POST');
    const n = await call('GET', '/v1/jails/..%2Fetc');
    assert.equal(n.status, 400);
    assert.match(n.json.error.message, /invalid jail name/);
    const q = await call('GET', '/v1/jails?all=1');
    assert.equal(q.status, 400);
    assert.match(q.json.error.message, /unknown query parameter "all"/);
    assert.equal((await call('GET', '/v1/jails/db/logs?tail=-1')).status, 400);
    assert.deepEqual(h.fake.calls, []);
  });

  test('every request is logged as one JSON line with method, path, status and ms', async () => {
    h.logLines.length = 0;
    await call('GET', '/v1/jails/nope');
    await waitFor(() => h.logLines.some((l) => l.msg === 'request'), 2000, 'the request log line');
    const lines = h.logLines.filter((l) => l.msg === 'request');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.method, 'GET');
    assert.equal(lines[0]!.path, '/v1/jails/nope');
    assert.equal(lines[0]!.status, 404);
    assert.equal(typeof lines[0]!.ms, 'number');
  });

  test('GET logs returns the text with tail and follow passed on', async () => {
    const r = await call('GET', '/v1/jails/db/logs?tail=1');
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^text\/plain/);
    assert.equal(r.text, '2024-01-01T00:00:01Z stderr world\n');
    assert.deepEqual(h.fake.calls, [{ method: 'logs', args: ['db', { follow: false, tail: 1 }] }]);
    const missing = await call('GET', '/v1/jails/nope/logs');
    assert.equal(missing.status, 404);
  });

  test('a following log stream is stopped when the client hangs up', async () => {
    const got: string[] = [];
    const req = request({ socketPath: h.socket, path: '/v1/jails/db/logs?follow=1' });
    await new Promise<void>((resolve, reject) => {
      req.on('response', (res) => {
        assert.equal(res.headers['transfer-encoding'], 'chunked');
        res.on('data', (c: Buffer) => { got.push(String(c)); if (got.join('').split('\n').length > 2) resolve(); });
        res.on('error', () => {});
      });
      req.on('error', reject);
      req.end();
    });
    const session = h.fake.logSessions.at(-1)!;
    assert.equal(session.req.follow, true);
    session.stream.write('2024-01-01T00:00:02Z stdout more\n');
    await waitFor(() => got.join('').includes('more'), 2000, 'a followed line');
    assert.equal(session.aborted, false);
    req.destroy();
    await waitFor(() => session.aborted, 2000, 'the service stream to be aborted');
    assert.ok(session.stream.destroyed);
  });
});
