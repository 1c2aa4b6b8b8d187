/**
 * The load balancer end to end, as a user of the site sees it: three lab hosts with real
 * HAProxy and keepalived, a stack published on host names, TLS and a TCP port, and the VIP.
 * Traffic comes from the lab's client position (the switch namespace), through the VIP, as
 * a user's would: a bounded request loop (examples/app/load.py) that prints what it
 * sent and what failed. In order: the page through the VIP on http, https and a TCP port; a
 * replica SIGKILLed and one frozen (SIGSTOP) under GETs: 0 failed; POSTs under a replica
 * kill: none executed twice; a rolling deploy v1 -> v2 under load: 0 failed and the answers
 * switch; a bad v3 rolled back by itself, 0 failed; the VIP holder cut off: the VIP moves
 * (failures during the move printed), then 0 failed; refusals that change nothing.
 * after() takes the lab down and checks nothing is left.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lab } from '../../src/lab/lab.js';
import { exec } from '../../src/sys/exec.js';
import { labDownClean, labReport, testLab } from '../helpers/lab.js';
import type { ServiceStatus } from '../../src/api/contract.js';
import { until } from '../helpers/until.js';
import { ApiClient } from '../../src/api/client.js';

const root = process.getuid?.() === 0;
const APP = new URL('../../../examples/app', import.meta.url).pathname;
const LOAD = join(APP, 'load.py');

interface LoadResult { sent: number; failed: number; kinds: Record<string, number>; answers: Record<string, number>; ok_ids?: string[]; failed_ids?: string[] }

describe('the load balancer and the floating address on three hosts', { skip: !root && 'needs root (network namespaces, loop pools, etcd, runc, haproxy, keepalived)', concurrency: false }, () => {
  let lab: Lab | undefined;
  let work = '';
  let vip = '';
  const stackFile = () => join(work, 'shop.yml');
  const everything = () => labReport(lab!, 3);
  const cli = (i: number, args: string[]) => lab!.ok(i, args);
  const json = <T>(i: number, args: string[]) => lab!.json<T>(i, args);
  /** A command at the lab's client position (the switch namespace: outside every host). */
  const client = (argv: string[], timeoutMs = 120_000) => lab!.client(argv, { timeoutMs });
  const load = async (url: string, o: { host?: string; seconds?: number; post?: boolean; untilFile?: string; concurrency?: number; timeout?: number } = {}): Promise<LoadResult> => {
    const argv = ['python3', LOAD, url, '--seconds', String(o.seconds ?? 5), '--concurrency', String(o.concurrency ?? 4), '--timeout', String(o.timeout ?? 15)];
    if (o.host) argv.push('--host', o.host);
    if (o.post) argv.push('--post');
    if (o.untilFile) argv.push('--until-file', o.untilFile);
    const r = await client(argv, ((o.seconds ?? 5) + (o.timeout ?? 15) + 60) * 1000);
    return JSON.parse(r.stdout) as LoadResult;
  };
  const say = (what: string, r: LoadResult) => console.log(`# ${what}: ${r.sent} requests sent, ${r.failed} failed${r.failed ? ` ${JSON.stringify(r.kinds)}` : ''}; answers ${JSON.stringify(r.answers)}`);
  const status = async (svc: string) => (await json<ServiceStatus[]>(0, ['status', '--stack', 'shop'])).find((s) => s.service === svc)!;
  const ready = async (svc: string, n: number) => {
    const s = await status(svc).catch(() => undefined);
    return s && s.ready === n ? s.instances : undefined;
  };
  /**
   * The pid of a replica's application process: the jail's PID 1 is tini (jail inspect's pid),
   * the application its child.
   */
  const pidOf = async (host: string, jail: string) => {
    const init = (await json<{ pid: number }>(Number(host.slice(1)), ['jail', 'inspect', jail])).pid;
    const children = (await readFile(`/proc/${init}/task/${init}/children`, 'utf8')).trim().split(/\s+/).map(Number);
    assert.ok(children.length === 1 && children[0]! > 0, `${jail}: one application process under tini (${init}), got ${JSON.stringify(children)}`);
    return children[0]!;
  };
  /** The name of a host that has the VIP on its interface (h0 ...), or undefined. */
  const vipHolder = async (except?: string): Promise<string | undefined> => {
    for (const h of lab!.hosts) {
      if (h.name === except) continue;
      const r = await lab!.run(h.name, ['ip', '-o', '-4', 'addr', 'show']);
      if (r.stdout.includes(` ${vip}/`)) return h.name;
    }
    return undefined;
  };

  const stackYaml = (o: { version: string; healthy?: boolean; deadline?: string }) => `lb:
  vip: ${vip}
  http: 80
  https: 443
services:
  site:
    image: app:v1
    replicas: 3
    command: ["/usr/bin/python3", "/app/server.py", "8080"]
    env: { APP_VERSION: ${o.version}, APP_HEALTHY: "${o.healthy === false ? 0 : 1}", APP_LOG: /data/orders.log }
    rw: [/data]
    port: 8080
    publish:
      http: [site.test, www.site.test]
      tls: { cert: site.crt, key: site.key }
      timeout: 8s
    health:
      http: { port: 8080, path: /health }
      interval: 1s
      timeout: 500ms
      threshold: 2
    deploy: { max_surge: 1, max_unavailable: 0, deadline: ${o.deadline ?? '60s'}, drain: 2s }
  other:
    image: app:v1
    replicas: 2
    command: ["/usr/bin/python3", "/app/server.py", "8080"]
    env: { APP_VERSION: other }
    port: 8080
    publish: { http: [other.test] }
  tcp:
    image: app:v1
    replicas: 2
    command: ["/usr/bin/python3", "/app/server.py", "9000"]
    env: { APP_VERSION: tcp }
    port: 9000
    publish: { tcp: 9000 }
`;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'cb-lb-'));
    const app = join(work, 'app');
    await mkdir(app);
    await copyFile(join(APP, 'server.py'), join(app, 'server.py'));
    await exec(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(work, 'site.key'), '-out', join(work, 'site.crt'),
      '-subj', '/CN=site.test', '-addext', 'subjectAltName=DNS:site.test,DNS:www.site.test', '-days', '2']);
    lab = await testLab({ hosts: 3 });
    vip = lab.plan.vip;
    await cli(0, ['image', 'build', 'app:v1', app]);
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
    if (!lab) return;
    await labDownClean(lab);
  });

  test('the page through the VIP: two services by host name, https with the stored certificate, a TCP port', async () => {
    await writeFile(stackFile(), stackYaml({ version: 'v1' }));
    await cli(0, ['apply', '-f', stackFile(), '--timeout', '180']);
    await until('every replica healthy', async () => (await ready('site', 3)) && (await ready('other', 2)) && (await ready('tcp', 2)), 90_000, everything);
    await until('the VIP on a host', () => vipHolder(), 20_000, everything);
    const get = async (argv: string[]) => (await client(['curl', '-sS', '--max-time', '5', ...argv])).stdout;
    await until('the site through the VIP', async () => (await get(['-H', 'Host: site.test', `http://${vip}/`]).catch(() => '')).startsWith('v1 '), 20_000, everything);
    assert.match(await get(['-H', 'Host: www.site.test', `http://${vip}/`]), /^v1 /);
    assert.match(await get(['-H', 'Host: other.test', `http://${vip}/`]), /^other /);
    assert.match(await get(['--resolve', `site.test:443:${vip}`, '--cacert', join(work, 'site.crt'), 'https://site.test/']), /^v1 /);
    assert.match(await get([`http://${vip}:9000/`]), /^tcp /);
    const unknown = await client(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Host: nobody.test', `http://${vip}/`]);
    assert.match(unknown.stdout, /^(404|503)$/);
    // every replica of site answers through every host (backends hold replicas of all hosts)
    const seen = new Set<string>();
    for (let n = 0; n < 30; n++) seen.add((await get(['-H', 'Host: site.test', `http://${vip}/`])).split(' ')[1]!.trim());
    assert.equal(seen.size, 3, `answers from ${[...seen].join(', ')}`);
  });

  test('a replica\'s process SIGKILLed, then one frozen with SIGSTOP, under GETs: 0 failed', async () => {
    const inst = (await ready('site', 3))!;
    const victim = inst[0]!;
    const running = load(`http://${vip}/`, { host: 'site.test', seconds: 6 });
    await new Promise((r) => setTimeout(r, 1500));
    process.kill(await pidOf(victim.host!, `shop.site.${victim.replica}`), 'SIGKILL');
    const killed = await running;
    say('GETs through the VIP while a replica is SIGKILLed', killed);
    assert.equal(killed.failed, 0);
    await until('3 healthy again', () => ready('site', 3), 30_000, everything);

    const frozen = (await ready('site', 3))![1]!;
    const pid = await pidOf(frozen.host!, `shop.site.${frozen.replica}`);
    // a request already sent to the frozen replica waits for the service's publish.timeout (8 s:
    // HAProxy's timeout server) and is then retried on another one: slow, not failed; so this
    // client waits longer than that
    const running2 = load(`http://${vip}/`, { host: 'site.test', seconds: 6, timeout: 25 });
    await new Promise((r) => setTimeout(r, 1500));
    process.kill(pid, 'SIGSTOP');
    const jail = `shop.site.${frozen.replica}`;
    try {
      // out of rotation on every host quickly (its checks time out), read from lbstate through the API
      const t0 = Date.now();
      await until(`${jail} out of rotation on every host`, async () => {
        const st = await ApiClient.forDataDir(lab!.hosts[0]!.dataDir).call('lbStatus');
        const rows = st.hosts.flatMap((h) => h.backends.flatMap((b) => b.servers.filter((x) => x.jail === jail)));
        return rows.length === 3 && rows.every((x) => !x.inRotation);
      }, 10_000, everything, 50);
      console.log(`# the frozen replica ${jail} was out of rotation on every host ${Date.now() - t0} ms after SIGSTOP`);
      const stopped = await running2;
      say('GETs through the VIP while a replica is frozen (SIGSTOP)', stopped);
      assert.equal(stopped.failed, 0);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await until('3 healthy again', () => ready('site', 3), 30_000, everything);
  });

  test('POSTs while a replica is killed: none is executed twice', async () => {
    const inst = (await ready('site', 3))!;
    const running = load(`http://${vip}/order`, { host: 'site.test', seconds: 6, post: true });
    await new Promise((r) => setTimeout(r, 1500));
    const victim = inst[2]!;
    process.kill(await pidOf(victim.host!, `shop.site.${victim.replica}`), 'SIGKILL');
    const r = await running;
    say('POSTs through the VIP while a replica is SIGKILLed', r);
    await until('3 healthy again', () => ready('site', 3), 30_000, everything);
    const executed: string[] = [];
    for (const x of (await ready('site', 3))!) {
      const out = await cli(Number(x.host!.slice(1)), ['jail', 'exec', `shop.site.${x.replica}`, '--', '/usr/bin/cat', '/data/orders.log']).catch(() => '');
      executed.push(...out.split('\n').filter(Boolean));
    }
    const counts = new Map<string, number>();
    for (const id of executed) counts.set(id, (counts.get(id) ?? 0) + 1);
    const twice = [...counts].filter(([, n]) => n > 1);
    assert.deepEqual(twice, [], 'a POST executed more than once');
    for (const id of r.ok_ids!) assert.equal(counts.get(id), 1, `acknowledged POST ${id} executed once`);
  });

  test('a rolling deploy v1 -> v2 under load: 0 failed, the answers switch to v2', async () => {
    const stop = join(work, 'stop-v2');
    const running = load(`http://${vip}/`, { host: 'site.test', seconds: 240, untilFile: stop });
    await writeFile(stackFile(), stackYaml({ version: 'v2' }));
    try {
      await cli(0, ['apply', '-f', stackFile(), '--timeout', '180']);
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      await writeFile(stop, '');
    }
    const r = await running;
    say('GETs through the VIP during the rollout v1 -> v2', r);
    assert.equal(r.failed, 0);
    assert.ok(r.answers.v1 && r.answers.v2, 'answers from v1 and then v2');
    const after = await load(`http://${vip}/`, { host: 'site.test', seconds: 2 });
    assert.deepEqual(Object.keys(after.answers), ['v2']);
  });

  test('a bad v3 that fails its health check is rolled back by itself: 0 failed', async () => {
    const stop = join(work, 'stop-v3');
    const running = load(`http://${vip}/`, { host: 'site.test', seconds: 240, untilFile: stop });
    await writeFile(stackFile(), stackYaml({ version: 'v3', healthy: false, deadline: '15s' }));
    let applied;
    try {
      applied = await lab!.cli(0, ['apply', '-f', stackFile(), '--timeout', '180']);
    } finally {
      await writeFile(stop, '');
    }
    const r = await running;
    say('GETs through the VIP while a bad v3 rolls out and back', r);
    assert.notEqual(applied.code, 0, 'apply says the rollout was rolled back');
    assert.match(applied.stdout + applied.stderr, /rolled back/);
    assert.equal(r.failed, 0);
    assert.deepEqual(Object.keys(r.answers), ['v2'], 'v3 never got a request');
    const hist = await cli(0, ['rollout', 'history', 'site']);
    assert.match(hist, /rolled.back/);
  });

  test('the link of the VIP holder cut: the VIP moves, then 0 failed', async () => {
    const holder = await until('the VIP on a host', () => vipHolder(), 20_000, everything);
    const running = load(`http://${vip}/`, { host: 'site.test', seconds: 8, concurrency: 4 });
    await new Promise((r) => setTimeout(r, 1500));
    const t0 = Date.now();
    await lab!.cut(holder);
    const next = await until('the VIP on another host', () => vipHolder(holder), 10_000, everything, 50);
    console.log(`# the VIP moved from ${holder} to ${next}: on its interface ${Date.now() - t0} ms after the cut`);
    const during = await running;
    say(`GETs through the VIP while its holder ${holder} is cut off`, during);
    // the cut host gives its copy up once its cluster lease is lost (no second copy)
    await until(`${holder} without the VIP`, async () => !(await lab!.run(holder, ['ip', '-o', '-4', 'addr', 'show'])).stdout.includes(` ${vip}/`), 15_000, everything);
    const afterMove = await load(`http://${vip}/`, { host: 'site.test', seconds: 4 });
    say('GETs through the VIP after the move', afterMove);
    assert.equal(afterMove.failed, 0);
    await lab!.heal(holder);
    await until('3 healthy after the heal', () => ready('site', 3), 60_000, everything);
  });

  test('refusals: another lb:, a port another program holds; nothing changes', async () => {
    const before = await status('site');
    const other = join(work, 'other.yml');
    await writeFile(other, `lb: { http: 8080 }\nservices:\n  x:\n    image: app:v1\n    command: ["/usr/bin/python3", "/app/server.py", "8081"]\n    port: 8081\n    publish: { http: [x.test] }\n`);
    const r1 = await lab!.cli(0, ['apply', '-f', other]);
    assert.notEqual(r1.code, 0);
    assert.match(r1.stderr, /shop/, 'names the stack that set lb:');
    // a TCP port that a program on h1 already listens on
    const squat = spawn('nsenter', [`--net=${lab!.hosts[1]!.nsPath}`, '--', 'python3', '-m', 'http.server', '9100', '--bind', '0.0.0.0'], { stdio: 'ignore' });
    try {
      await until('the squatter listening on h1', async () => (await lab!.run(0, ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', `http://${lab!.hosts[1]!.address}:9100/`]).catch(() => ({ stdout: '' }))).stdout === '200', 10_000);
      await writeFile(other, `services:\n  y:\n    image: app:v1\n    command: ["/usr/bin/python3", "/app/server.py", "9100"]\n    port: 9100\n    publish: { tcp: 9100 }\n`);
      const r2 = await lab!.cli(0, ['apply', '-f', other]);
      assert.notEqual(r2.code, 0);
      assert.match(r2.stderr, /9100/);
      assert.match(r2.stderr, /h1/);
    } finally {
      squat.kill('SIGKILL');
    }
    const after = await status('site');
    assert.equal(after.specHash, before.specHash);
    const stacks = await json<ServiceStatus[]>(0, ['status']);
    assert.deepEqual([...new Set(stacks.map((s) => s.stack))], ['shop'], 'nothing of the refused stacks was applied');
  });
});
