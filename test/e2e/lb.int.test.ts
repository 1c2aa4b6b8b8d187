/**
 * The load balancer end to end on a 3-host lab (lab name `lbe`): a stack with 3 replicas
 * published on a host name; every host's HAProxy routes by the Host header to the replicas on
 * all hosts (curl from inside another host's namespace); a replica SIGKILLed under a bounded
 * loop of GETs costs no failed GET; lbstate (cellblock lb status) shows the rotation.
 * after() takes the lab down and checks nothing is left (HAProxy included).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lab } from '../../src/lab/lab.js';
import type { LbStatus, ServiceStatus } from '../../src/api/contract.js';
import type { JailView } from '../../src/jail/service.js';
import { labDownClean, labReport, testLab } from '../helpers/lab.js';
import { until } from '../helpers/until.js';

const root = process.getuid?.() === 0;
const SITE = new URL('../../../examples/site', import.meta.url).pathname;

const stackYaml = `services:
  site:
    image: site:v1
    replicas: 3
    port: 8080
    publish: { http: [site.test] }
    command: ["/usr/bin/python3", "-m", "http.server", "8080", "--directory", "/app"]
    health:
      http: { port: 8080, path: /index.html }
      interval: 1s
      timeout: 500ms
      threshold: 2
`;

/** A bounded GET loop from inside a host's namespace (node:http: fetch may not set Host): prints {ok, failed, statuses}. */
const loopScript = (host: string, count: number, gapMs: number) => `
import http from 'node:http';
const out = { ok: 0, failed: 0, statuses: {}, errors: [] };
const one = () => new Promise((resolve) => {
  const req = http.get({ host: '${host}', port: 80, path: '/index.html', headers: { host: 'site.test' }, agent: false, timeout: 15000 }, (res) => {
    res.resume();
    res.on('end', () => { out.statuses[res.statusCode] = (out.statuses[res.statusCode] || 0) + 1; if (res.statusCode === 200) out.ok++; else out.failed++; resolve(); });
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (e) => { out.errors.push(Date.now() + ' ' + e.message); out.failed++; out.statuses.error = (out.statuses.error || 0) + 1; resolve(); });
});
for (let i = 0; i < ${count}; i++) { await one(); await new Promise((r) => setTimeout(r, ${gapMs})); }
console.log(JSON.stringify(out));
`;

describe('the load balancer on three hosts', { skip: !root && 'needs root (network namespaces, loop pools, etcd, runc, haproxy)', concurrency: false }, () => {
  let lab: Lab | undefined;
  let work = '';
  const addr = (i: number) => lab!.hosts[i]!.address;
  const everything = () => labReport(lab!, 3);
  const lbStatus = (i: number) => lab!.json<LbStatus>(i, ['lb', 'status']);
  const curl = async (from: number, to: number) => (await lab!.run(from, ['curl', '-s', '-m', '5', '-H', 'Host: site.test', `http://${addr(to)}/index.html`])).stdout;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'cb-lbe-'));
    lab = await testLab({ name: 'lbe', hosts: 3, poolSize: '2G' });
    const r = await lab.cli(0, ['image', 'build', 'site:v1', SITE]);
    assert.equal(r.code, 0, r.stderr);
    await writeFile(join(work, 'lbe.yml'), stackYaml);
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
    if (!lab) return;
    await labDownClean(lab);
  });

  test('3 replicas published on a host name: every host routes to replicas on all hosts', async () => {
    await lab!.ok(0, ['apply', '-f', join(work, 'lbe.yml'), '--timeout', '180']);
    await until('3 replicas ready', async () => {
      const s = (await lab!.json<ServiceStatus[]>(0, ['status', '--stack', 'lbe']))[0];
      return s && s.ready === 3 ? s : undefined;
    }, 120_000, everything);
    const st = await until('3 servers in rotation on every host', async () => {
      const v = await lbStatus(0);
      const ok = v.hosts.length === 3 && v.hosts.every((h) => h.haproxy === 'running' && h.backends[0]?.servers.filter((s) => s.inRotation).length === 3);
      return ok ? v : undefined;
    }, 60_000, everything);
    assert.deepEqual(st.hosts.map((h) => h.host), ['h0', 'h1', 'h2']);
    for (const [from, to] of [[1, 0], [2, 1], [0, 2]] as const) assert.match(await curl(from, to), /<html|<!DOCTYPE|<title/i, `h${from} -> h${to}`);
    // an unknown host name gets HAProxy's 404
    const unknown = await lab!.run(1, ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Host: nope.test', `http://${addr(0)}/`]);
    assert.equal(unknown.stdout, '404');
    // cellblock status shows the figures
    assert.match(await lab!.ok(0, ['status', '--stack', 'lbe']), /lb: in rotation 3\/3 on h0 h1 h2/);
  });

  test('a replica SIGKILLed under a bounded loop of GETs: no failed GET, and lbstate shows it out', async () => {
    const jails = await lab!.json<JailView[]>(1, ['jail', 'ls']);
    const victim = jails.find((j) => j.name.startsWith('lbe.site.') && j.pid);
    assert.ok(victim, JSON.stringify(jails));
    const loop = lab!.run(2, [process.execPath, '--input-type=module', '-e', loopScript(addr(0), 150, 20)], { timeoutMs: 120_000 });
    await new Promise((r) => setTimeout(r, 700));
    const killedAt = Date.now();
    await lab!.run(1, ['kill', '-KILL', String(victim.pid)]);
    await until(`${victim.name} out of rotation on h0`, async () => {
      const v = await lbStatus(0);
      const s = v.hosts.find((h) => h.host === 'h0')?.backends[0]?.servers.find((x) => x.jail === victim.name);
      return s && !s.inRotation ? s : undefined;
    }, 10_000, everything);
    const r = JSON.parse((await loop).stdout) as { ok: number; failed: number; statuses: Record<string, number>; errors: string[] };
    assert.equal(r.failed, 0, `${JSON.stringify(r)} (kill around ${killedAt}); h0's agent log:\n${await lab!.agentLogTail(0, 40)}`);
    assert.equal(r.ok, 150);
  });
});
