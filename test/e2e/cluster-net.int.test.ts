/**
 * The lab library's network, end to end with real agents but no cluster: two hosts, each a
 * network namespace on one switch running an agent with a jail subnet of its own. What the
 * cluster relies on: a jail of one host reaches a jail of another by its jail IP once each
 * host routes the other's jail subnet via the other's address; cutting a host's link
 * partitions it; and lab down leaves nothing of the run.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { exec } from '../../src/sys/exec.js';
import type { Lab } from '../../src/lab/lab.js';
import { httpGet, probe, reaches } from '../../src/lab/probe.js';
import type { JailView } from '../../src/jail/service.js';
import { until } from '../helpers/until.js';
import { labLeftovers, testLab, testLabDown } from '../helpers/lab.js';

const root = process.getuid?.() === 0;
const SERVE = ['/usr/bin/python3', '-m', 'http.server', '8080', '--directory', '/app'];
const EXAMPLES = new URL('../../../examples/site', import.meta.url).pathname;

/** A python3 one-liner for `jail exec`: prints the HTTP status of url. */
const pyGet = (url: string) => `import urllib.request; print(urllib.request.urlopen("${url}", timeout=3).status)`;

describe('a lab of two hosts without a cluster', { skip: !root && 'needs root (network namespaces, loop pools, runc)', concurrency: false }, () => {
  let lab: Lab | undefined;
  const jailIp: string[] = [];
  const addr = (i: number) => lab!.hosts[i]!.address;
  const url = (i: number) => `http://${jailIp[i]}:8080/index.html`;
  /** The routing table, neighbours and links of each host, for a failing reachability check. */
  const diagnose = async () => {
    const out: string[] = [];
    for (const h of lab!.hosts) {
      for (const argv of [['ip', '-br', 'addr'], ['ip', 'route'], ['ip', 'neigh'], ['sysctl', 'net.ipv4.ip_forward', 'net.ipv4.conf.all.rp_filter']]) {
        out.push(`[${h.netns}] $ ${argv.join(' ')}\n${await lab!.run(h.index, argv).then((r) => r.stdout, (e: Error) => e.message)}`);
      }
      out.push(`agent ${h.name} log:\n${await lab!.agentLogTail(h.index, 15)}`);
    }
    out.push(`[switch] ${await exec(['ip', '-n', lab!.plan.switchNs, '-br', 'link']).then((r) => r.stdout, (e: Error) => e.message)}`);
    return out.join('\n');
  };
  const explain = async <T>(p: Promise<T>): Promise<T> => {
    try { return await p; } catch (e) { throw new Error(`${(e as Error).message}\n${await diagnose()}`); }
  };

  before(async () => {
    lab = await testLab({ hosts: 2, cluster: false, forwarding: true });
    for (let i = 0; i < 2; i++) {
      await lab.ok(i, ['image', 'build', 'site:v1', EXAMPLES]);
      await lab.ok(i, ['jail', 'create', 'web', '--image', 'site:v1', '--memory', '128M', '--start', '--', ...SERVE]);
      const [j] = await lab.json<JailView[]>(i, ['jail', 'ls']);
      assert.ok(j?.ip, JSON.stringify(j));
      jailIp.push(j.ip);
    }
  });

  after(async () => {
    if (!lab) return;
    const instances = lab.hosts.map((h) => h.instance);
    const bridges = lab.hosts.map((h) => h.bridge);
    const r = await testLabDown(lab);
    assert.ok(r.found);
    assert.deepEqual(await labLeftovers(lab.plan.root, lab.name, instances), [], 'nothing of the run is left');
    const links = (await exec(['ip', '-br', 'link'])).stdout;
    for (const b of bridges) assert.ok(!links.includes(b), `bridge ${b} in the root namespace`);
  });

  test('the jail on host 0 answers HTTP from inside host 0', async () => {
    const r = await explain(until('http from host 0', async () => {
      const g = await httpGet(lab!, 0, url(0));
      return g.status === 200 ? g : undefined;
    }));
    assert.match(r.body, /Hello from a cellblock jail/);
  });

  test('the agent and the CLI work inside the host namespace; the bridge is there, not in the root one', async () => {
    assert.equal((await lab!.json<JailView[]>(0, ['jail', 'ls']))[0]?.ip, jailIp[0]);
    assert.equal((await lab!.run(0, ['ip', '-br', 'link', 'show', 'dev', lab!.hosts[0]!.bridge])).code, 0);
  });

  test('host 1 reaches host 0\'s address', async () => {
    assert.equal(await reaches(lab!, 1, addr(0)), true, await diagnose());
    assert.equal(await reaches(lab!, 0, addr(1)), true, await diagnose());
  });

  test('with routes between the hosts, host 1 and its jail reach the jail on host 0 by its jail IP', async () => {
    // no route yet: host 1 has no way to host 0's jail subnet
    assert.equal(await probe(lab!, 1, jailIp[0]!, 8080), 'unreachable');
    await lab!.run(1, ['ip', 'route', 'replace', lab!.hosts[0]!.subnet, 'via', addr(0)]);
    await lab!.run(0, ['ip', 'route', 'replace', lab!.hosts[1]!.subnet, 'via', addr(1)]);
    const g = await explain(httpGet(lab!, 1, url(0)));
    assert.equal(g.status, 200);
    for (const [from, to] of [[1, 0], [0, 1]] as const) {
      const r = await lab!.cli(from, ['jail', 'exec', 'web', '--', '/usr/bin/python3', '-c', pyGet(url(to))]);
      assert.equal(r.code, 0, `jail on host ${from} -> jail on host ${to}: ${r.stderr}\n${await diagnose()}`);
      assert.equal(r.stdout.trim(), '200');
    }
  });

  test('cut(0) partitions host 0; heal(0) brings it back', async () => {
    await lab!.cut(0);
    assert.equal(await reaches(lab!, 1, addr(0)), false);
    assert.equal(await reaches(lab!, 1, jailIp[0]!, 8080), false);
    const r = await lab!.cli(1, ['jail', 'exec', 'web', '--', '/usr/bin/python3', '-c', pyGet(url(0)).replace('timeout=3', 'timeout=1')]);
    assert.notEqual(r.code, 0, 'the jail on host 1 still reached host 0');
    // host 0 itself saw nothing: its link is up and its own jail still serves it
    assert.match((await lab!.run(0, ['ip', '-br', 'link', 'show', 'dev', 'eth0'])).stdout, /\bUP\b/);
    assert.equal((await httpGet(lab!, 0, url(0))).status, 200);
    await lab!.heal(0);
    await explain(until('host 0 back', () => reaches(lab!, 1, addr(0)), 10_000));
    assert.equal((await explain(httpGet(lab!, 1, url(0)))).status, 200);
  });

  test('kill(1) SIGKILLs every process of host 1 at once; host 0 runs on', async () => {
    const pid = (await lab!.json<JailView[]>(1, ['jail', 'ls']))[0]!.pid!;
    const killed = await lab!.kill(1);
    const kinds = new Set(killed.map((k) => k.kind));
    for (const k of ['agent', 'etcd', 'conmon', 'jail'] as const) assert.ok(kinds.has(k), `${k} killed: ${JSON.stringify(killed)}`);
    assert.ok(killed.some((k) => k.pid === pid), 'the jail\'s process');
    assert.equal(await lab!.agentPid(1), undefined);
    assert.equal((await exec(['ip', 'netns', 'pids', lab!.hosts[1]!.netns])).stdout.trim(), '', 'nothing runs in host 1 any more');
    assert.notEqual((await lab!.cli(1, ['jail', 'ls'])).code, 0, 'its agent does not answer');
    assert.equal((await httpGet(lab!, 0, url(0))).status, 200);
  });
});
