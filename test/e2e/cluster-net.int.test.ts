/**
 * The multi-host harness, end to end with today's single-host agent: two hosts, each a
 * network namespace on one switch (test/helpers/cluster-net.ts) running a real agent with a
 * jail subnet of its own. What the cluster relies on: a jail of one host reaches a jail of
 * another by its jail IP once each host routes the other's jail subnet via the other's
 * address; cutting a host's link partitions it; and teardown leaves nothing of the run.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { ClusterNet } from '../helpers/cluster-net.js';
import { TestHost } from '../helpers/agent-host.js';
import { loopDevicesUnder, mountsUnder } from '../helpers/loop-pools.js';
import { exec } from '../../src/sys/exec.js';
import type { JailView } from '../../src/jail/service.js';
import { until } from '../helpers/until.js';

const root = process.getuid?.() === 0;
const SERVE = ['/usr/bin/python3', '-m', 'http.server', '8080', '--directory', '/app'];
const EXAMPLES = new URL('../../../examples/site', import.meta.url).pathname;

/** A python3 one-liner for `jail exec`: prints the HTTP status of url. */
const pyGet = (url: string) => `import urllib.request; print(urllib.request.urlopen("${url}", timeout=3).status)`;

describe('a cluster network of two hosts', { skip: !root && 'needs root (network namespaces, loop pools, runc)', concurrency: false }, () => {
  let net: ClusterNet | undefined;
  const hosts: TestHost[] = [];
  const jailIp: string[] = [];
  const y = 200 + Math.floor(Math.random() * 50);
  const subnet = (i: number) => `10.${y}.${i + 1}.0/24`;
  const addr = (i: number) => net!.hosts[i]!.address;
  const url = (i: number) => `http://${jailIp[i]}:8080/index.html`;
  /** Runs the routing table, neighbours and links of each host, for a failing reachability check. */
  const diagnose = async () => {
    const out: string[] = [];
    for (const [i, h] of net!.hosts.entries()) {
      for (const argv of [['ip', '-br', 'addr'], ['ip', 'route'], ['ip', 'neigh'], ['sysctl', 'net.ipv4.ip_forward', 'net.ipv4.conf.all.rp_filter']]) {
        out.push(`[${h.name}] $ ${argv.join(' ')}\n${await net!.run(i, argv).then((r) => r.stdout, (e: Error) => e.message)}`);
      }
    }
    out.push(`[switch] ${await exec(['ip', '-n', net!.switchName, '-br', 'link']).then((r) => r.stdout, (e: Error) => e.message)}`);
    for (const h of hosts) out.push(`agent ${h.instance} log:\n${h.agentLog.split('\n').slice(-15).join('\n')}`);
    return out.join('\n');
  };
  const explain = async <T>(p: Promise<T>): Promise<T> => {
    try { return await p; } catch (e) { throw new Error(`${(e as Error).message}\n${await diagnose()}`); }
  };

  before(async () => {
    net = await ClusterNet.create(2);
    for (let i = 0; i < 2; i++) {
      const h = await TestHost.create({ netns: net.hosts[i]!, subnet: subnet(i) });
      hosts.push(h);
      const b = await h.cli(['image', 'build', 'site:v1', EXAMPLES]);
      assert.equal(b.code, 0, b.stderr);
      await h.startAgent();
      const r = await h.cli(['jail', 'create', 'web', '--image', 'site:v1', '--memory', '128M', '--start', '--', ...SERVE]);
      assert.equal(r.code, 0, r.stderr);
      const [j] = await h.json<JailView[]>(['jail', 'ls']);
      assert.ok(j?.ip, JSON.stringify(j));
      jailIp.push(j.ip);
    }
  });

  after(async () => {
    const dataDirs = hosts.map((h) => h.dataDir);
    const instances = hosts.map((h) => h.instance);
    const names = net?.names ?? [];
    const errors: string[] = [];
    for (const h of hosts) await h.teardown().catch((e: Error) => errors.push(e.message));
    await net?.teardown().catch((e: Error) => errors.push(e.message));
    assert.deepEqual(errors, []);
    // nothing of the run is left
    const netns = (await exec(['ip', 'netns', 'list'])).stdout.split('\n').map((l) => l.split(' ')[0]!).filter(Boolean);
    assert.deepEqual(netns.filter((n) => names.includes(n) || instances.some((i) => n.endsWith(`@${i}`))), []);
    for (const d of dataDirs) {
      assert.deepEqual(await loopDevicesUnder(d), [], `loop devices of ${d}`);
      assert.deepEqual(await mountsUnder(d), [], `mounts under ${d}`);
    }
    const links = (await exec(['ip', '-br', 'link'])).stdout;
    for (const h of hosts) assert.ok(!links.includes(h.bridge), `bridge ${h.bridge} in the root namespace`);
    const procs: string[] = [];
    for (const pid of await readdir('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (dataDirs.some((d) => cmd.includes(d)) || names.some((n) => cmd.includes(n))) procs.push(`${pid} ${cmd.replace(/\0/g, ' ')}`);
    }
    assert.deepEqual(procs, [], 'processes of the run');
  });

  test('the jail on host 0 answers HTTP from inside host 0', async () => {
    const r = await explain(until('http from host 0', async () => {
      const g = await net!.httpGet(0, url(0));
      return g.status === 200 ? g : undefined;
    }));
    assert.match(r.body, /Hello from a cellblock jail/);
  });

  test('the agent and the CLI work inside the host namespace too', async () => {
    const r = await hosts[0]!.cliIn(['--json', 'jail', 'ls']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as JailView[])[0]?.ip, jailIp[0]);
    // the host's bridge is inside its namespace, not in the root one
    assert.equal((await net!.run(0, ['ip', '-br', 'link', 'show', 'dev', hosts[0]!.bridge])).code, 0);
  });

  test('host 1 reaches host 0\'s address', async () => {
    assert.equal(await net!.reaches(1, addr(0)), true, await diagnose());
    assert.equal(await net!.reaches(0, addr(1)), true, await diagnose());
  });

  test('with routes between the hosts, host 1 and its jail reach the jail on host 0 by its jail IP', async () => {
    // no route yet: host 1 has no way to host 0's jail subnet
    assert.equal(await net!.probe(1, jailIp[0]!, 8080), 'unreachable');
    await net!.route(1, subnet(0), addr(0));
    await net!.route(0, subnet(1), addr(1));
    const g = await explain(net!.httpGet(1, url(0)));
    assert.equal(g.status, 200);
    for (const [from, to] of [[1, 0], [0, 1]] as const) {
      const r = await hosts[from]!.cli(['jail', 'exec', 'web', '--', '/usr/bin/python3', '-c', pyGet(url(to))]);
      assert.equal(r.code, 0, `jail on host ${from} -> jail on host ${to}: ${r.stderr}\n${await diagnose()}`);
      assert.equal(r.stdout.trim(), '200');
    }
  });

  test('cutLink(0) partitions host 0; restoreLink(0) brings it back', async () => {
    await net!.cutLink(0);
    assert.equal(await net!.reaches(1, addr(0)), false);
    assert.equal(await net!.reaches(1, jailIp[0]!, 8080), false);
    const r = await hosts[1]!.cli(['jail', 'exec', 'web', '--', '/usr/bin/python3', '-c', pyGet(url(0)).replace('timeout=3', 'timeout=1')]);
    assert.notEqual(r.code, 0, 'the jail on host 1 still reached host 0');
    // host 0 itself saw nothing: its link is up and its own jail still serves it
    assert.match((await net!.run(0, ['ip', '-br', 'link', 'show', 'dev', 'eth0'])).stdout, /\bUP\b/);
    assert.equal((await net!.httpGet(0, url(0))).status, 200);
    await net!.restoreLink(0);
    await explain(until('host 0 back', () => net!.reaches(1, addr(0)), 10_000));
    assert.equal((await explain(net!.httpGet(1, url(0)))).status, 200);
  });
});
