/**
 * The floating address for real on a 3-host lab (lab `vip`): a stack (examples/site, 3
 * replicas, `lb: { vip }`, published on site.test) is applied, so every host runs HAProxy (the
 * LB reconciler) and keepalived, whose track file follows the reconciler's haproxyRunning().
 * In order: HostLive.network/interface; one holder, answering the lab's client through HAProxy
 * (HTTP 200 with the Host header) and its ARP; the holder's link cut: the VIP moves (time
 * printed), the cut host gives it up once its lease is lost; heal: nothing moves back
 * (nopreempt); keepalived SIGKILLed on the holder: the VIP moves and the agent starts keepalived
 * again, which drops the stale copy; HAProxy's master SIGKILLed on the holder: the VIP moves and
 * the reconciler starts HAProxy again; `lab kill` of the holder: the VIP moves and the dead host
 * keeps no copy; the stack deleted (nothing published, no lb record): keepalived stops
 * everywhere and nobody holds the VIP. after() takes the lab down and checks nothing is left.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CELLBLOCK_BIN, type Lab } from '../../src/lab/lab.js';
import { exec } from '../../src/sys/exec.js';
import { K } from '../../src/cluster/keys.js';
import type { HostLive } from '../../src/cluster/model.js';
import type { LbStatus } from '../../src/api/contract.js';
import { addressesIn, ipAddrShowArgv } from '../../src/lb/host-network.js';
import { keepalivedPaths } from '../../src/lb/keepalived-config.js';
import { lbPaths } from '../../src/lb/haproxy-config.js';
import { labLeftovers, labReport, testLab, testLabDown } from '../helpers/lab.js';
import { until } from '../helpers/until.js';

const root = process.getuid?.() === 0;
const STORE_CLI = fileURLToPath(new URL('./keepalived-store-cli.js', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/lb/', import.meta.url));
const SITE = new URL('../../../examples/site', import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stackYaml = (vip: string) => `lb:
  vip: ${vip}
services:
  site:
    image: site:v1
    replicas: 3
    port: 8080
    command: ["/usr/bin/python3", "-m", "http.server", "8080", "--directory", "/app"]
    publish:
      http: [site.test]
    health:
      http: { port: 8080, path: /index.html }
      interval: 1s
      timeout: 500ms
      threshold: 2
`;

describe('keepalived moves the VIP between three lab hosts', { skip: !root && 'needs root (network namespaces, etcd, keepalived)', concurrency: false }, () => {
  let lab: Lab;
  let vip: string;
  let instances: string[] = [];
  let work = '';

  const store = async (i: number, args: string[]): Promise<string> => (await lab.run(i, [process.execPath, STORE_CLI, lab.host(i).dataDir, ...args], { timeoutMs: 30_000 })).stdout;
  /** Which hosts have the VIP on eth0 (one ip call per host, all at once). */
  const holders = async (hosts = [0, 1, 2]): Promise<number[]> => {
    const has = await Promise.all(hosts.map(async (i) => addressesIn((await lab.run(i, ipAddrShowArgv('eth0'))).stdout).includes(vip)));
    return hosts.filter((_, k) => has[k]);
  };
  const mac = async (i: number): Promise<string> => (JSON.parse((await lab.run(i, ['ip', '-j', 'link', 'show', 'dev', 'eth0'])).stdout) as { address: string }[])[0]!.address;
  /** The VIP answers the client through HAProxy (HTTP 200 for site.test), and the client's ARP entry for it names host i's MAC. */
  const clientReaches = async (i: number): Promise<boolean> => {
    const r = await lab.client(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '-m', '1', '-H', 'Host: site.test', `http://${vip}/index.html`], { okCodes: Array.from({ length: 256 }, (_, k) => k) });
    if (r.stdout.trim() !== '200') return false;
    const neigh = JSON.parse((await lab.client(['ip', '-j', 'neigh', 'show', vip])).stdout) as { lladdr?: string }[];
    return neigh.some((n) => n.lladdr === (macs[i] ?? ''));
  };
  const kpid = async (i: number, which: 'pid' | 'vrrpPid' = 'pid'): Promise<number | undefined> => {
    const n = Number((await readFile(keepalivedPaths(lab.host(i).dataDir)[which], 'utf8').catch(() => '')).trim()); // none: not running
    return n > 1 && (await readFile(`/proc/${n}/stat`, 'utf8').then(() => true, () => false)) ? n : undefined;
  };
  /** HAProxy's master on host i, from its pid file, when alive. */
  const hpid = async (i: number): Promise<number | undefined> => {
    const n = Number((await readFile(lbPaths(lab.host(i).dataDir).pid, 'utf8').catch(() => '')).split('\n')[0]!.trim()); // none: not running
    return n > 1 && (await readFile(`/proc/${n}/stat`, 'utf8').then(() => true, () => false)) ? n : undefined;
  };
  const lbStatus = (i: number) => lab.json<LbStatus>(i, ['lb', 'status']);
  const report = async () => `holders: ${JSON.stringify(await holders().catch(() => []))}\n${await labReport(lab)}\n${(await Promise.all([0, 1, 2].map(async (i) => `--- h${i} keepalived.log:\n${(await readFile(keepalivedPaths(lab.host(i).dataDir).log, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n')}`))).join('\n')}`; // no log yet: empty
  const macs: string[] = [];

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'cb-vip-'));
    lab = await testLab({ name: 'vip', hosts: 3, poolSize: '2G' });
    vip = lab.plan.vip;
    instances = lab.hosts.map((h) => h.instance);
    for (const i of [0, 1, 2]) macs[i] = await mac(i);
    await lab.ok(0, ['image', 'build', 'site:v1', SITE]);
    await writeFile(join(work, 'vip.yml'), stackYaml(vip));
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
    if (!lab) return;
    for (const i of [0, 1, 2]) await lab.heal(i).catch(() => {}); // best effort: down removes the switch anyway
    await testLabDown(lab);
    assert.deepEqual(await labLeftovers(lab.plan.root, lab.name, instances), []);
  });

  test('the golden configurations pass keepalived -t (2.2.7)', () => {
    for (const f of ['keepalived.conf', 'keepalived-single.conf']) execFileSync('keepalived', ['--config-test', '--use-file', `${FIXTURES}${f}`], { stdio: 'pipe' });
  });

  test('the client position: lab exec client runs on the switch (address 10.X.0.250); lab ls shows it and the suggested VIP', async () => {
    const cli = (args: string[]) => exec([process.execPath, CELLBLOCK_BIN, 'lab', '--root', lab.plan.root, ...args], { timeoutMs: 60_000 });
    const addr = (await cli(['exec', '--lab', lab.name, 'client', '--', 'ip', '-j', '-4', 'addr', 'show', 'dev', 'br0'])).stdout;
    assert.deepEqual(addressesIn(addr), [lab.plan.client.address]);
    const ls = (await cli(['ls'])).stdout;
    assert.match(ls, new RegExp(`client ${lab.plan.client.address.replace(/\./g, '\\.')}  suggested VIP ${vip.replace(/\./g, '\\.')}`));
  });

  test('every host publishes the network and interface of its address (HostLive)', async () => {
    const live = JSON.parse(await store(0, ['get', K.hostsLive])) as { value: HostLive }[];
    assert.deepEqual(live.map((e) => [e.value.name, e.value.network, e.value.interface]).sort(), [['h0', lab.plan.lan, 'eth0'], ['h1', lab.plan.lan, 'eth0'], ['h2', lab.plan.lan, 'eth0']]);
  });

  let holder = -1;

  test('a stack with lb.vip and a published service: HAProxy and keepalived on every host, exactly one holds the VIP, reachable from the client', async () => {
    await lab.ok(0, ['apply', '-f', join(work, 'vip.yml'), '--timeout', '180']);
    await until('3 servers in rotation on every host', async () => {
      const v = await lbStatus(0);
      return v.hosts.length === 3 && v.hosts.every((h) => h.haproxy === 'running' && h.backends[0]?.servers.filter((x) => x.inRotation).length === 3);
    }, 90_000, report);
    await until('keepalived on every host', async () => (await Promise.all([0, 1, 2].map((i) => kpid(i)))).every((p) => p !== undefined), 20_000, report);
    const [h] = await until('one holder of the VIP', async () => { const x = await holders(); return x.length === 1 ? x : undefined; }, 20_000, report);
    holder = h!;
    await until(`the client reaching the VIP on h${holder}`, () => clientReaches(holder), 10_000, report);
    await sleep(1000);
    assert.deepEqual(await holders(), [holder], 'still one holder a second later');
    await until(`lb status showing the VIP on h${holder} only`, async () => {
      const v = await lbStatus(0);
      return JSON.stringify(v.hosts.filter((h) => h.vipHeld).map((h) => h.host)) === JSON.stringify([`h${holder}`]);
    }, 10_000, report);
  });

  let cutHost = -1;

  test('the holder\'s link cut: another host takes the VIP within about a second; the cut host gives it up once its lease is lost', async () => {
    cutHost = holder;
    const others = [0, 1, 2].filter((i) => i !== cutHost);
    const t0 = Date.now();
    await lab.cut(cutHost);
    const [next] = await until('another holder', async () => { const x = await holders(others); return x.length === 1 ? x : undefined; }, 10_000, report, 20);
    const moved = Date.now() - t0;
    await until(`the client reaching the VIP on h${next}`, () => clientReaches(next!), 5_000, report, 20);
    const answered = Date.now() - t0;
    const dropped = await until('the cut host giving the VIP up', async () => ((await holders([cutHost])).length === 0 ? Date.now() - t0 : undefined), 15_000, report, 50);
    process.stderr.write(`  VIP move after cutting h${cutHost}: on h${next} after ${moved} ms, answering the client after ${answered} ms; h${cutHost} gave it up after ${dropped} ms (lease TTL 3 s)\n`);
    assert.ok(moved < 3000, `the VIP moved after ${moved} ms`);
    assert.ok(dropped < 8000, `the cut host kept the VIP ${dropped} ms`);
    holder = next!;
  });

  test('heal: the healed host takes its lease again and the VIP stays where it is (nopreempt)', async () => {
    await lab.heal(cutHost);
    await until(`h${cutHost} back in the cluster`, async () => (JSON.parse(await store(cutHost, ['get', K.hostLive(`h${cutHost}`)])) as unknown[]).length === 1, 30_000, report, 250);
    await sleep(3000);
    assert.deepEqual(await holders(), [holder]);
    assert.ok(await clientReaches(holder));
  });

  test('keepalived SIGKILLed on the holder: the VIP moves; the agent starts keepalived again, which drops the stale copy', async () => {
    const [pid, vrrp] = [await kpid(holder), await kpid(holder, 'vrrpPid')];
    assert.ok(pid && vrrp);
    const old = holder;
    const t0 = Date.now();
    process.kill(vrrp, 'SIGKILL');
    process.kill(pid, 'SIGKILL');
    const others = [0, 1, 2].filter((i) => i !== old);
    const [next] = await until('another holder', async () => { const x = await holders(others); return x.length === 1 ? x : undefined; }, 10_000, report, 20);
    const moved = Date.now() - t0;
    await until(`the client reaching the VIP on h${next}`, () => clientReaches(next!), 5_000, report, 20);
    process.stderr.write(`  VIP move after SIGKILL of keepalived on h${old}: on h${next} after ${moved} ms\n`);
    assert.ok(moved < 3000, `the VIP moved after ${moved} ms`);
    await until(`keepalived again on h${old}`, async () => { const p = await kpid(old); return p !== undefined && p !== pid; }, 10_000, report);
    await until('one holder again', async () => { const x = await holders(); return x.length === 1 && x[0] === next; }, 10_000, report);
    holder = next!;
  });

  test('HAProxy\'s master SIGKILLed on the holder: the VIP moves; the reconciler starts HAProxy again', async () => {
    const old = holder;
    const pid = await hpid(old);
    assert.ok(pid, 'HAProxy\'s pid file on the holder');
    const t0 = Date.now();
    process.kill(pid, 'SIGKILL');
    const [next] = await until('another holder', async () => { const x = await holders(); return x.length === 1 && x[0] !== old ? x : undefined; }, 15_000, report, 20);
    const moved = Date.now() - t0;
    await until(`the client reaching the VIP on h${next}`, () => clientReaches(next!), 5_000, report, 20);
    const back = await until(`HAProxy running again on h${old}`, async () => { const p = await hpid(old); return p !== undefined && p !== pid ? Date.now() - t0 : undefined; }, 20_000, report, 50);
    process.stderr.write(`  VIP move after SIGKILL of HAProxy's master on h${old}: on h${next} after ${moved} ms; HAProxy running again on h${old} after ${back} ms\n`);
    await until(`h${old}'s HAProxy with 3 servers in rotation`, async () => {
      const st = (await lbStatus(0)).hosts.find((h) => h.host === `h${old}`);
      return st?.haproxy === 'running' && st.backends[0]?.servers.filter((x) => x.inRotation).length === 3;
    }, 30_000, report);
    await sleep(1000);
    assert.deepEqual(await holders(), [next], 'the VIP stays where it went (nopreempt)');
    holder = next!;
  });

  let killed = -1;

  test('lab kill of the holder (a power cut): the VIP moves, and the dead host keeps no copy', async () => {
    killed = holder;
    const t0 = Date.now();
    await lab.kill(killed);
    const others = [0, 1, 2].filter((i) => i !== killed);
    const [next] = await until('another holder', async () => { const x = await holders(others); return x.length === 1 ? x : undefined; }, 10_000, report, 20);
    process.stderr.write(`  VIP move after lab kill of h${killed}: on h${next} after ${Date.now() - t0} ms\n`);
    await until(`the client reaching the VIP on h${next}`, () => clientReaches(next!), 5_000, report, 20);
    assert.deepEqual(await holders(), [next]);
    holder = next!;
  });

  test('the stack deleted (nothing published, no lb record): keepalived and HAProxy stop on every host and nobody holds the VIP', async () => {
    await lab.ok(holder, ['delete', '--name', 'vip']);
    await until('keepalived stopped everywhere', async () => (await Promise.all([0, 1, 2].map((i) => kpid(i)))).every((p) => p === undefined), 30_000, report);
    assert.deepEqual(await holders(), []);
    assert.deepEqual((JSON.parse(await store(holder, ['get', K.lb])) as { key: string }[]).filter((e) => e.key.endsWith(K.lb)), [], 'no lb record (lbstate/ shares the prefix)');
    await until('HAProxy stopped everywhere', async () => (await Promise.all([0, 1, 2].map((i) => hpid(i)))).every((p) => p === undefined), 30_000, report);
  });
});
