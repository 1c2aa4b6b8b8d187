// The agent's unix socket: root-only modes, a stale socket replaced, a second agent refused,
// and a client that will not talk to a socket someone else could have planted.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createNetServer } from 'node:net';
import { chmod, chown, link, lstat, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ApiClient } from '../../src/api/client.js';
import { createApiServer } from '../../src/api/server.js';
import { checkSocketSafe, ensureRunDir, listenOnSocket, socketPath } from '../../src/api/socket.js';
import { UserError } from '../../src/sys/errors.js';
import { FakeJailService } from '../helpers/fake-jail-service.js';

const skip = process.getuid?.() !== 0 && 'needs root (sockets owned by root)';
const silent = pino({ level: 'silent' });

describe('agent socket', { skip }, () => {
  let base: string;
  const servers: { close(cb?: () => void): unknown; listening: boolean }[] = [];
  let n = 0;
  const newDataDir = async () => { const d = join(base, `d${n++}`); await mkdir(d); return d; };
  const serve = () => {
    const s = createApiServer(new FakeJailService(), silent);
    servers.push(s);
    return s;
  };

  before(async () => { base = await mkdtemp(join(tmpdir(), 'cellblock-socket-')); });
  after(async () => {
    try {
      await Promise.all(servers.filter((s) => s.listening).map((s) => new Promise<void>((r) => s.close(() => r()))));
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });

  test('the run dir is 0700 root and the socket 0600 root', async () => {
    const d = await newDataDir();
    const path = await listenOnSocket(serve(), d);
    assert.equal(path, socketPath(d));
    const dir = await lstat(join(d, 'run'));
    assert.equal(dir.mode & 0o777, 0o700);
    assert.equal(dir.uid, 0);
    const st = await lstat(path);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(st.uid, 0);
    await checkSocketSafe(path);
    assert.equal((await ApiClient.forDataDir(d).health()).ok, true);
  });

  test('an existing run dir with loose permissions is tightened; one owned by someone else is refused', async () => {
    const d = await newDataDir();
    await mkdir(join(d, 'run'), { mode: 0o777 });
    await chmod(join(d, 'run'), 0o777);
    await ensureRunDir(d);
    assert.equal((await lstat(join(d, 'run'))).mode & 0o777, 0o700);
    await chown(join(d, 'run'), 65534, 65534);
    await assert.rejects(ensureRunDir(d), (e: UserError) => e instanceof UserError && /owned by uid 65534, not root/.test(e.message));
  });

  test('a stale socket (nobody answers) is removed and replaced', async () => {
    const d = await newDataDir();
    await ensureRunDir(d);
    // A socket file left behind: bind elsewhere, hard-link it into place, close (unlinks the original).
    const tmp = join(d, 'run', 'tmp.sock');
    const old = createNetServer();
    await new Promise<void>((r) => old.listen(tmp, r));
    await link(tmp, socketPath(d));
    await new Promise<void>((r) => old.close(() => r()));
    assert.ok((await lstat(socketPath(d))).isSocket(), 'the stale socket is in place');
    await listenOnSocket(serve(), d);
    assert.equal((await ApiClient.forDataDir(d).health()).ok, true);
  });

  test('a second agent on the same data dir is refused and the first keeps serving', async () => {
    const d = await newDataDir();
    await listenOnSocket(serve(), d);
    const second = serve();
    await assert.rejects(listenOnSocket(second, d), (e: UserError) => e instanceof UserError && /an agent is already running for this data dir/.test(e.message));
    assert.equal(second.listening, false);
    assert.equal((await ApiClient.forDataDir(d).health()).ok, true);
  });

  test('something that is not a socket in its place is refused, not removed', async () => {
    const d = await newDataDir();
    await ensureRunDir(d);
    await writeFile(socketPath(d), 'not a socket');
    await assert.rejects(listenOnSocket(serve(), d), /exists and is not a socket/);
    assert.ok((await lstat(socketPath(d))).isFile());
    await assert.rejects(checkSocketSafe(socketPath(d)), /it is not a socket/);
  });

  test('the client refuses a socket others may use (mode 0666) or that root does not own', async () => {
    const d = await newDataDir();
    const path = await listenOnSocket(serve(), d);
    await chmod(path, 0o666);
    await assert.rejects(checkSocketSafe(path), (e: UserError) => e instanceof UserError && /refusing to use .*agent\.sock: its mode 0666 lets group or others use it/.test(e.message) && /remove it/.test(e.fix ?? ''));
    await assert.rejects(ApiClient.forDataDir(d).list(), /its mode 0666/);
    await chmod(path, 0o600);
    await chown(path, 65534, 65534);
    await assert.rejects(ApiClient.forDataDir(d).list(), /owned by uid 65534, not root/);
    await chown(path, 0, 0);
    await chmod(join(d, 'run'), 0o777);
    await assert.rejects(ApiClient.forDataDir(d).list(), /its directory .* is not root's alone/);
    await chmod(join(d, 'run'), 0o700);
    assert.equal((await ApiClient.forDataDir(d).health()).ok, true);
  });

  test('no socket: the agent is not running', async () => {
    const d = await newDataDir();
    await assert.rejects(checkSocketSafe(socketPath(d)), /the cellblock agent is not running for /);
  });
});
