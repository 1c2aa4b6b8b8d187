/**
 * The LB reconciler end to end on one host: an in-memory cluster state, a real HAProxy in a
 * network namespace this test makes and deletes, python http servers as replicas. It follows
 * the records (publish, replicas coming and going, drain), writes lbstate, is adopted by the
 * next reconciler (an agent restart) and stops HAProxy when nothing is published.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { K } from '../../src/cluster/keys.js';
import type { HostLease } from '../../src/cluster/lease.js';
import { MemoryStore } from '../../src/cluster/memory-store.js';
import { exec, spawnStream, type Exec, type SpawnedProcess } from '../../src/sys/exec.js';
import { lbPaths } from '../../src/lb/haproxy-config.js';
import { HaproxyProcess } from '../../src/lb/haproxy-process.js';
import type { LbHostState } from '../../src/lb/model.js';
import { LbReconciler } from '../../src/lb/reconciler.js';
import { observed, placements, service } from './fixtures.js';

const NS = `cbt-lbr-${process.pid}`;
const nsArgv = (argv: readonly string[]) => ['nsenter', `--net=/run/netns/${NS}`, ...argv];
const nsExec: Exec = (argv, opts) => exec(nsArgv(argv), opts);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('LB reconciler with real HAProxy', { timeout: 120_000 }, () => {
  let dir: string;
  const store = new MemoryStore();
  const procs: SpawnedProcess[] = [];
  let lease: HostLease;
  let rec: LbReconciler;
  const log = pino({ level: process.env.CELLBLOCK_TEST_LOG ? 'debug' : 'silent' });
  const make = () => new LbReconciler({ store, host: 'h0', dataDir: dir, exec: nsExec, log, intervalMs: 1000, pollMs: 200 });
  const lbstate = () => store.getJson<LbHostState>(K.lbState('h0'));
  const until = async (what: string, cond: (s: LbHostState | undefined) => boolean, ms = 10_000) => {
    const t0 = Date.now();
    while (Date.now() - t0 < ms) {
      if (cond(await lbstate())) return;
      await sleep(100);
    }
    assert.fail(`${what}: lbstate ${JSON.stringify(await lbstate())}`);
  };
  const servers = (s: LbHostState | undefined) => s?.backends.find((b) => b.backend === 'shop.web')?.servers ?? [];
  const get = async () => (await nsExec(['curl', '-s', '-m', '5', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Host: Shop.Test:18080', 'http://127.0.0.1:18080/'], { okCodes: [0, 7, 28] })).stdout;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cb-lbr-'));
    await exec(['ip', 'netns', 'add', NS]);
    await exec(['ip', '-n', NS, 'link', 'set', 'lo', 'up']);
    for (const ip of ['127.0.0.2', '127.0.0.3']) {
      const p = spawnStream(nsArgv(['python3', '-m', 'http.server', '8080', '--bind', ip, '--directory', dir]), { timeoutMs: 0 });
      p.done.catch(() => undefined); // killed at the end
      procs.push(p);
    }
    lease = { id: await store.grantLease(0), alive: true } as unknown as HostLease;
    await store.putJson(K.lb, { spec: { http: 18080, https: 18443 }, stack: 'shop', at: '' });
    await store.putJson(K.service('shop', 'web'), service('shop', 'web', { http: ['shop.test'] }));
    const placed = placements([['h0', 'shop', 'web', 1], ['h1', 'shop', 'web', 2]]);
    for (const [h, p] of placed) await store.putJson(K.placement(h), p);
    await store.putJson(K.observed('h0', 'shop.web.1'), observed('h0', 'shop.web.1', '127.0.0.2'));
    await store.putJson(K.observed('h1', 'shop.web.2'), observed('h1', 'shop.web.2', '127.0.0.3'));
  });

  after(async () => {
    await rec?.stop().catch(() => undefined); // best effort: stopped by the test already
    await new HaproxyProcess({ paths: lbPaths(dir), exec: nsExec }).stop(1000).catch(() => undefined); // best effort: the namespace goes below
    for (const p of procs) p.kill('SIGKILL');
    await exec(['ip', 'netns', 'del', NS], { okCodes: [0, 1] });
    await rm(dir, { recursive: true, force: true });
    await store.close();
  });

  it('starts HAProxy for the published service, both replicas in rotation, lbstate written', async () => {
    rec = make();
    await rec.start();
    rec.useLease(lease);
    await until('both in rotation', (s) => s?.haproxy === 'running' && servers(s).filter((x) => x.inRotation).length === 2);
    assert.ok(rec.haproxyRunning());
    assert.equal(await get(), '200');
  });

  it('a replica that stops is removed; drain follows the assignment', async () => {
    await store.putJson(K.observed('h1', 'shop.web.2'), observed('h1', 'shop.web.2', '127.0.0.3', 'stopped'));
    await until('shop.web.2 removed', (s) => servers(s).map((x) => x.jail).join() === 'shop.web.1');
    await store.putJson(K.placement('h0'), placements([['h0', 'shop', 'web', 1, true]]).get('h0'));
    await until('shop.web.1 drained', (s) => servers(s)[0]?.status === 'DRAIN');
    await store.putJson(K.placement('h0'), placements([['h0', 'shop', 'web', 1]]).get('h0'));
    await store.putJson(K.observed('h1', 'shop.web.2'), observed('h1', 'shop.web.2', '127.0.0.3'));
    await until('both back', (s) => servers(s).filter((x) => x.inRotation).length === 2);
  });

  it('an agent restart adopts the running HAProxy (same pid, no reload)', async () => {
    const proc = new HaproxyProcess({ paths: lbPaths(dir), exec: nsExec });
    const pid = await proc.pid();
    await rec.stop();
    rec = make();
    await rec.start();
    rec.useLease(lease);
    assert.ok(rec.haproxyRunning());
    await sleep(1500);
    assert.equal(await proc.pid(), pid);
    assert.equal(await get(), '200');
  });

  it('HAProxy is stopped when nothing is published any more', async () => {
    await store.putJson(K.service('shop', 'web'), service('shop', 'web', undefined));
    await until('stopped', (s) => s?.haproxy === 'stopped');
    assert.equal(rec.haproxyRunning(), false);
    assert.equal(await new HaproxyProcess({ paths: lbPaths(dir), exec: nsExec }).pid(), undefined);
  });
});
