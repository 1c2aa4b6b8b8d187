/**
 * Real HAProxy 2.6 in a network namespace this test makes and deletes, in front of small node
 * HTTP servers (each records the requests it gets, with their ids): the built config, the
 * runtime API (add, gate, drain, remove), the checks and retries, measured with real requests.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat as fileStat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, spawnStream, type Exec, type SpawnedProcess } from '../../src/sys/exec.js';
import type { DesiredBackend, DesiredLb } from '../../src/lb/desired.js';
import { buildConfig, lbPaths, type LbPaths } from '../../src/lb/haproxy-config.js';
import { HaproxyProcess } from '../../src/lb/haproxy-process.js';
import { api, parseShowStat, run, send, serverRows, type StatRow } from '../../src/lb/haproxy-api.js';
import { enabledServers, planLb } from '../../src/lb/plan.js';

const NS = `cbt-lbh-${process.pid}`;
const nsArgv = (argv: readonly string[]) => ['nsenter', `--net=/run/netns/${NS}`, ...argv];
const nsExec: Exec = (argv, opts) => exec(nsArgv(argv), opts);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const HTTP = 18080;

const SERVER_JS = `
import http from 'node:http';
import { appendFileSync } from 'node:fs';
const [port, name, log] = process.argv.slice(2);
http.createServer((req, res) => {
  if (req.url === '/health') { res.end('ok'); return; }
  appendFileSync(log, req.method + ' ' + req.url + ' ' + (req.headers['x-req-id'] || '-') + ' ' + name + '\\n');
  req.resume();
  req.on('end', () => {
    if (req.url === '/crash') { req.socket.destroy(); return; }
    res.setHeader('x-server', name);
    res.end(name + '\\n');
  });
}).listen(Number(port), '127.0.0.1');
`;

/** A bounded request loop inside the namespace: prints {ok, failed, statuses, servers}. */
const CLIENT_JS = `
import http from 'node:http';
const [port, host, count, gapMs, method, path, prefix] = process.argv.slice(2);
const out = { ok: 0, failed: 0, statuses: {}, servers: {} };
const agent = new http.Agent({ keepAlive: false });
const one = (i) => new Promise((resolve) => {
  const req = http.request({ host: '127.0.0.1', port: Number(port), method, path, agent, headers: { host, 'x-req-id': prefix + i } }, (res) => {
    res.resume();
    res.on('end', () => {
      out.statuses[res.statusCode] = (out.statuses[res.statusCode] || 0) + 1;
      if (res.statusCode === 200) { out.ok++; const s = res.headers['x-server']; out.servers[s] = (out.servers[s] || 0) + 1; } else out.failed++;
      resolve();
    });
  });
  req.on('error', () => { out.failed++; out.statuses.error = (out.statuses.error || 0) + 1; resolve(); });
  req.setTimeout(45000, () => req.destroy());
  req.end(method === 'POST' ? 'payload' : undefined);
});
for (let i = 0; i < Number(count); i++) { await one(i); await new Promise((r) => setTimeout(r, Number(gapMs))); }
console.log(JSON.stringify(out));
`;

interface LoopResult { ok: number; failed: number; statuses: Record<string, number>; servers: Record<string, number> }

describe('HAProxy with its runtime API (real haproxy in a namespace)', { timeout: 240_000 }, () => {
  let dir: string;
  let paths: LbPaths;
  let proc: HaproxyProcess;
  const servers = new Map<string, SpawnedProcess>();
  let log: string;

  const startServer = (name: string, port: number) => {
    const p = spawnStream(nsArgv(['node', join(dir, 'server.mjs'), String(port), name, log]), { timeoutMs: 0 });
    p.done.catch(() => undefined); // killed by the test on purpose
    servers.set(name, p);
  };
  const loop = async (count: number, gapMs: number, method = 'GET', path = '/', prefix = 'r'): Promise<LoopResult> => {
    const r = await nsExec(['node', join(dir, 'client.mjs'), String(HTTP), 'web.test', String(count), String(gapMs), method, path, prefix], { timeoutMs: 120_000 });
    return JSON.parse(r.stdout) as LoopResult;
  };
  const stat = async (): Promise<StatRow[]> => serverRows(parseShowStat(await send(paths.admin, api.showStat().text)));
  const statusOf = async (server: string) => (await stat()).find((r) => r.server === server)?.status;
  const waitStatus = async (server: string, want: (s: string | undefined) => boolean, ms: number): Promise<number> => {
    const t0 = Date.now();
    while (Date.now() - t0 < ms) {
      if (want(await statusOf(server))) return Date.now() - t0;
      await sleep(50);
    }
    assert.fail(`${server}: status ${await statusOf(server)} after ${ms} ms`);
  };
  const backend = (ports: Record<string, number>, drain: string[] = []): DesiredBackend => ({
    stack: 't', service: 'web', backend: 't.web', mode: 'http', hosts: ['web.test'],
    check: { kind: 'http', path: '/health', expectStatus: 200 },
    servers: Object.entries(ports).map(([name, port]) => ({ name, addr: '127.0.0.1', port, drain: drain.includes(name) })),
  });
  // no check port: each server is checked on its own (the test's servers listen on different ports)
  const desired = (ports: Record<string, number>, drain: string[] = [], tcp = false): DesiredLb => {
    const b = backend(ports, drain);
    const out: DesiredLb = { http: HTTP, https: 18443, backends: [b], certs: [] };
    if (tcp) out.backends.push({ ...b, backend: 't.raw', service: 'raw', mode: 'tcp', hosts: [], tcp: 18090, check: { kind: 'tcp' }, servers: [] });
    return out;
  };
  /** One reconcile step as the reconciler does it: plan, then the commands. */
  const step = async (d: DesiredLb) => {
    const rows = parseShowStat(await send(paths.admin, api.showStat().text));
    const plan = planLb(d, serverRows(rows), new Set(rows.filter((r) => r.type === 1).map((r) => r.proxy)));
    for (const a of plan.actions) for (const c of a.commands) await run(paths.admin, c);
    return plan.sentence;
  };
  /** Steps until nothing is left to do and every server that is not drained is UP (or ms passed). */
  const converge = async (d: DesiredLb, ms: number) => {
    const t0 = Date.now();
    while (Date.now() - t0 < ms) {
      const idle = (await step(d)) === 'nothing to do';
      const rows = await stat();
      const up = d.backends.every((b) => b.servers.every((s) => s.drain || rows.find((r) => r.proxy === b.backend && r.server === s.name)?.status === 'UP'));
      if (idle && up) return;
      await sleep(100);
    }
  };
  const recorded = async () => (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cb-lbh-'));
    log = join(dir, 'requests.log');
    await writeFile(join(dir, 'server.mjs'), SERVER_JS);
    await writeFile(join(dir, 'client.mjs'), CLIENT_JS);
    await exec(['ip', 'netns', 'add', NS]);
    await exec(['ip', '-n', NS, 'link', 'set', 'lo', 'up']);
    paths = lbPaths(dir);
    proc = new HaproxyProcess({ paths, exec: nsExec });
  });

  after(async () => {
    for (const p of servers.values()) { try { if (p.pid) process.kill(p.pid, 'SIGCONT'); p.kill('SIGKILL'); } catch { /* gone already */ } }
    await proc?.stop(1000).catch(() => undefined); // best effort: the namespace goes below anyway
    await exec(['ip', 'netns', 'del', NS], { okCodes: [0, 1] });
    await rm(dir, { recursive: true, force: true });
  });

  it('starts with the built config, adds servers through the gate, balances over them', async () => {
    startServer('t.web.1', 18101);
    startServer('t.web.2', 18102);
    await sleep(300);
    const d = desired({ 't.web.1': 18101, 't.web.2': 18102 });
    await proc.start(buildConfig(d, paths));
    assert.ok(await proc.running());
    // the file lists both, disabled: they go through the gate like added ones
    await converge(d, 5000);
    assert.equal(await statusOf('t.web.1'), 'UP');
    assert.equal(await statusOf('t.web.2'), 'UP');
    const r = await loop(20, 0);
    assert.equal(r.failed, 0, JSON.stringify(r));
    assert.deepEqual(Object.keys(r.servers).sort(), ['t.web.1', 't.web.2']);
    // an unknown host name gets a clear 404
    const u = await nsExec(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Host: nope.test', `http://127.0.0.1:${HTTP}/`]);
    assert.equal(u.stdout, '404');
  });

  it('a new server gets no request before its first check passes', async () => {
    const d = desired({ 't.web.1': 18101, 't.web.2': 18102, 't.web.3': 18103 });
    await step(d); // added in drain; nothing listens on 18103 yet
    const during = loop(30, 30);
    await sleep(500);
    assert.notEqual(await statusOf('t.web.3'), 'UP');
    startServer('t.web.3', 18103);
    const r = await during;
    assert.equal(r.failed, 0, JSON.stringify(r));
    assert.equal(r.servers['t.web.3'] ?? 0, 0, 'no request to t.web.3 while it was at the gate');
    await converge(d, 5000);
    await waitStatus('t.web.3', (s) => s === 'UP', 3000);
    const after3 = await loop(9, 0);
    assert.ok((after3.servers['t.web.3'] ?? 0) > 0, JSON.stringify(after3));
  });

  it('a killed server is out of rotation within about a second, with no failed GET', async () => {
    const during = loop(60, 25);
    await sleep(300);
    servers.get('t.web.1')!.kill('SIGKILL');
    const t = await waitStatus('t.web.1', (s) => s?.startsWith('DOWN') === true, 3000);
    const r = await during;
    assert.equal(r.failed, 0, JSON.stringify(r));
    assert.ok(t < 1800, `marked down after ${t} ms`);
  });

  it('a POST whose server dies with it is not sent twice; a GET is retried', async () => {
    await rm(log, { force: true });
    const post = await loop(1, 0, 'POST', '/crash', 'post-');
    assert.equal(post.ok, 0);
    const posts = (await recorded()).filter((l) => l.startsWith('POST /crash post-0 '));
    assert.equal(posts.length, 1, posts.join('\n'));
    // the servers went down from it (passive check) or not: bring them back before the next test
    await rm(log, { force: true });
    const get = await loop(1, 0, 'GET', '/crash', 'get-');
    assert.equal(get.ok, 0);
    assert.ok((await recorded()).filter((l) => l.startsWith('GET /crash get-0 ')).length > 1, 'the GET was retried');
  });

  it('drain, reload with a new frontend: servers and their state survive; remove', async () => {
    const ports = { 't.web.1': 18101, 't.web.2': 18102, 't.web.3': 18103 };
    await converge(desired(ports), 6000);
    await waitStatus('t.web.2', (s) => s === 'UP', 5000);
    await waitStatus('t.web.3', (s) => s === 'UP', 5000);
    await converge(desired(ports, ['t.web.2']), 3000);
    assert.equal(await statusOf('t.web.2'), 'DRAIN');
    const before = new Map((await stat()).map((r) => [r.server, r.status]));
    const d = desired(ports, ['t.web.2'], true);
    await proc.reload(buildConfig(d, paths, { enabled: enabledServers(await stat()) }));
    const rows = await stat();
    assert.ok(rows.some((r) => r.proxy === 't.raw' || r.proxy === 't.web'));
    for (const [name, st] of before) assert.equal(rows.find((r) => r.server === name)?.status, st, `${name} after the reload`);
    const r = await loop(10, 0);
    assert.equal(r.failed, 0, JSON.stringify(r));
    assert.equal(r.servers['t.web.2'] ?? 0, 0, 'a drained server gets no new request');
    await converge(desired({ 't.web.3': 18103 }, [], true), 3000);
    assert.deepEqual((await stat()).filter((x) => x.proxy === 't.web').map((x) => x.server), ['t.web.3']);
  });

  it('SIGSTOP of a server under GETs: the stuck request is retried elsewhere after timeout server; no failed GET', async () => {
    startServer('t.web.4', 18104);
    const ports = { 't.web.3': 18103, 't.web.4': 18104 };
    await converge(desired(ports, [], true), 5000);
    await waitStatus('t.web.4', (s) => s === 'UP', 5000);
    const during = loop(60, 25);
    await sleep(300);
    const p = servers.get('t.web.4')!;
    process.kill(p.pid!, 'SIGSTOP');
    await waitStatus('t.web.4', (s) => s?.startsWith('DOWN') === true, 4000);
    const r = await during;
    process.kill(p.pid!, 'SIGCONT');
    assert.equal(r.failed, 0, JSON.stringify(r));
  });

  it('https: TLS ends in HAProxy with the stored certificate, routed by Host like http; the key file is 0600', async () => {
    const key = join(dir, 'k.pem');
    const crt = join(dir, 'c.pem');
    await exec(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', crt, '-subj', '/CN=web.test', '-days', '1']);
    const pem = (await readFile(crt, 'utf8')) + (await readFile(key, 'utf8'));
    const certFile = join(paths.certs, 't.web.pem');
    const d = desired({ 't.web.3': 18103, 't.web.4': 18104 }, [], true);
    d.backends[0] = { ...d.backends[0]!, certFile };
    d.certs = [{ file: certFile, pem, fingerprint: 'x' }];
    await proc.writeCerts(d.certs);
    await proc.reload(buildConfig(d, paths, { enabled: enabledServers(await stat()) }));
    const r = await nsExec(['curl', '-s', '-m', '5', '--cacert', crt, '--resolve', `web.test:18443:127.0.0.1`, '-o', '/dev/null', '-w', '%{http_code}', 'https://web.test:18443/']);
    assert.equal(r.stdout, '200');
    assert.equal((await fileStat(certFile)).mode & 0o777, 0o600);
  });

  it('a bad config is refused by haproxy -c (command, exit code, stderr) and the running HAProxy keeps its own', async () => {
    const before = await readFile(paths.config, 'utf8');
    await assert.rejects(proc.reload(`${before}\nbackend broken\n    balance nonsense\n`), (err: Error & { argv?: string[]; exitCode?: number; stderr?: string }) => {
      assert.deepEqual(err.argv?.slice(-3), ['-c', '-f', `${paths.config}.new`]);
      assert.notEqual(err.exitCode, 0);
      assert.match(err.stderr ?? '', /balance only supports/);
      return true;
    });
    assert.equal(await readFile(paths.config, 'utf8'), before);
    assert.ok(await proc.running());
  });
});
