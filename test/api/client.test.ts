// ApiClient against a fake service: typed results, and errors back as the classes thrown in
// the agent, so the CLI prints the same thing as in-process.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../../src/api/client.js';
import { AgentBugError } from '../../src/api/errors.js';
import { formatError } from '../../src/cli/main.js';
import { ExecError, ExistsError, NotFoundError, NotSupportedError, UserError } from '../../src/sys/errors.js';
import { startHarness, waitFor, type Harness } from '../helpers/api-harness.js';

describe('ApiClient', () => {
  let h: Harness;
  let api: ApiClient;
  before(async () => {
    h = await startHarness('cellblock-client-');
    api = h.client();
  });
  after(async () => { await h?.close(); });

  test('one method per route, typed results', async () => {
    assert.equal((await api.health()).ok, true);
    const v = await api.create({ name: 'web', image: 'site:v1', command: ['/bin/true'] });
    assert.equal(v.state, 'created');
    assert.equal((await api.start('web')).state, 'running');
    assert.equal((await api.stop('web', { timeoutSeconds: 3 })).state, 'stopped');
    assert.equal((await api.restart('web')).pid, 4343);
    assert.deepEqual((await api.list()).map((j) => j.name), ['web']);
    assert.equal((await api.inspect('web')).hostInterface, 'cbv0123456789ab');
    assert.deepEqual(await api.exec('web', { command: ['/bin/true'] }), h.fake.execResult);
    const logs = await api.logs('web', { tail: 5 });
    let text = '';
    for await (const c of logs) text += String(c);
    assert.match(text, /stdout hello\n.*stderr world\n$/);
    await api.remove('web', { force: true });
    assert.deepEqual(h.fake.calls.map((c) => c.method), ['create', 'start', 'stop', 'restart', 'list', 'inspect', 'exec', 'logs', 'remove']);
    assert.deepEqual(h.fake.calls.find((c) => c.method === 'stop')!.args, ['web', { timeoutSeconds: 3 }]);
    assert.deepEqual(h.fake.calls.find((c) => c.method === 'remove')!.args, ['web', { force: true }]);
  });

  test('errors come back as the same classes with the same message and fix', async () => {
    const sent: Error[] = [
      new UserError('--cpus: "lots" is not a number', 'write --cpus 0.5'),
      new NotFoundError('no such jail "x"', 'run: cellblock jail ls'),
      new ExistsError('jail x already exists', 'remove it first'),
      new ExecError(['runc', '--root', '/d/runc', 'kill', 'x', 'KILL'], 1, 'container "x" does not exist\n'),
      new NotSupportedError('cpu limits', 'this kernel has no cpu controller'),
    ];
    for (const err of sent) {
      h.fake.fail('list', err);
      const got = await api.list().then(() => assert.fail('should throw'), (e: Error) => e);
      assert.equal(got.constructor, err.constructor, err.name);
      assert.equal(got.message, err.message);
      assert.deepEqual(formatError(got), formatError(err), `the CLI prints the same for ${err.name}`);
    }
    h.fake.fail('list', new RangeError('oops'));
    const bug = await api.list().then(() => assert.fail('should throw'), (e: Error) => e);
    assert.ok(bug instanceof AgentBugError);
    assert.match(formatError(bug).text, /^internal error .*\n.*the agent hit an internal error: RangeError: oops/);
    assert.equal(formatError(bug).code, 70);
    h.fake.fail('logs', new NotFoundError('no such jail "y"'));
    await assert.rejects(api.logs('y'), NotFoundError);
  });

  test('aborting a followed log stream hangs up and stops the service stream', async () => {
    await api.create({ name: 'f', image: 'site:v1', command: ['/bin/true'] });
    const ac = new AbortController();
    const s = await api.logs('f', { follow: true, signal: ac.signal });
    s.on('error', () => {});
    const session = h.fake.logSessions.at(-1)!;
    ac.abort();
    await waitFor(() => session.aborted, 2000, 'the server to abort the stream');
  });

  test('shutdown ends a followed log stream cleanly', async () => {
    const h2 = await startHarness('cellblock-client-shutdown-');
    try {
      await h2.fake.create({ name: 'f', image: 'site:v1', command: ['/bin/true'] });
      const s = await h2.client().logs('f', { follow: true });
      const ended = new Promise<void>((resolve, reject) => { s.on('end', resolve); s.on('error', reject); s.resume(); });
      await h2.server.shutdown(5000);
      await ended;
      assert.equal(h2.fake.logSessions[0]!.aborted, true);
    } finally {
      await h2.close();
    }
  });

  test('no agent: a user error saying how to start it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cellblock-noagent-'));
    try {
      const err = await ApiClient.forDataDir(dir).list().then(() => assert.fail('should throw'), (e: UserError) => e);
      assert.ok(err instanceof UserError);
      assert.equal(err.message, `the cellblock agent is not running for ${dir}`);
      assert.equal(err.fix, `start it: cellblock agent --data-dir ${dir} (or enable the systemd unit)`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
