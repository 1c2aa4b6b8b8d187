// The agent daemon with an injected fake service: socket and pid file, refusal of a second
// agent before anything starts, and a clean shutdown on SIGTERM that leaves jails alone.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startAgent, type RunningAgent, type ServiceFactory } from '../../src/agent/daemon.js';
import { ApiClient } from '../../src/api/client.js';
import { exec } from '../../src/sys/exec.js';
import { FakeJailService } from '../helpers/fake-jail-service.js';

const skip = process.getuid?.() !== 0 && 'the agent runs as root';
const log = pino({ level: 'silent' });

describe('agent daemon', { skip }, () => {
  let base: string;
  const agents: RunningAgent[] = [];
  let n = 0;
  const newDataDir = async () => { const d = join(base, `d${n++}`); await mkdir(d); return d; };

  before(async () => { base = await mkdtemp(join(tmpdir(), 'cellblock-agent-')); });
  after(async () => {
    try {
      await Promise.allSettled(agents.map((a) => a.stop('test teardown')));
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });

  test('serves the service on the socket, writes a pid file, and on SIGTERM closes without touching jails', async () => {
    const d = await newDataDir();
    const fake = new FakeJailService();
    const signals = new EventEmitter();
    const agent = await startAgent({ dataDir: d, exec, log, createService: async () => fake, signals });
    agents.push(agent);
    assert.equal(await readFile(agent.pidFile, 'utf8'), `${process.pid}\n`);
    const api = ApiClient.forDataDir(d);
    await api.create({ name: 'web', image: 'site:v1', command: ['/bin/true'], start: true });
    signals.emit('SIGTERM', 'SIGTERM');
    await agent.done;
    assert.equal(fake.closed, true);
    assert.deepEqual(fake.calls.map((c) => c.method), ['create'], 'no jail was stopped or removed');
    await assert.rejects(stat(agent.socketPath), { code: 'ENOENT' });
    await assert.rejects(stat(agent.pidFile), { code: 'ENOENT' });
    await assert.rejects(api.list(), /the cellblock agent is not running for /);
    assert.equal(signals.listenerCount('SIGTERM'), 0);
    assert.equal(signals.listenerCount('SIGINT'), 0);
  });

  test('a second agent for the same data dir is refused before it makes its service', async () => {
    const d = await newDataDir();
    const first = await startAgent({ dataDir: d, exec, log, createService: async () => new FakeJailService(), signals: new EventEmitter() });
    agents.push(first);
    let made = 0;
    const factory: ServiceFactory = async () => { made++; return new FakeJailService(); };
    await assert.rejects(startAgent({ dataDir: d, exec, log, createService: factory, signals: new EventEmitter() }), /an agent is already running for this data dir/);
    assert.equal(made, 0);
    assert.equal((await ApiClient.forDataDir(d).health()).ok, true, 'the first agent still serves');
    await first.stop();
    await first.stop(); // idempotent
  });

  test('a service that fails to start leaves no socket behind', async () => {
    const d = await newDataDir();
    await assert.rejects(
      startAgent({ dataDir: d, exec, log, createService: async () => { throw new Error('bridge failed'); }, signals: new EventEmitter() }),
      /bridge failed/,
    );
    await assert.rejects(stat(join(d, 'run', 'agent.sock')), { code: 'ENOENT' });
  });

  test('SIGINT ends a followed log stream and shuts down', async () => {
    const d = await newDataDir();
    const fake = new FakeJailService();
    const signals = new EventEmitter();
    const agent = await startAgent({ dataDir: d, exec, log, createService: async () => fake, signals });
    agents.push(agent);
    await fake.create({ name: 'web', image: 'site:v1', command: ['/bin/true'] });
    const s = await ApiClient.forDataDir(d).logs('web', { follow: true });
    const ended = new Promise<void>((resolve, reject) => { s.on('end', resolve); s.on('error', reject); s.resume(); });
    signals.emit('SIGINT', 'SIGINT');
    await ended;
    await agent.done;
    assert.equal(fake.logSessions[0]!.aborted, true);
  });
});
