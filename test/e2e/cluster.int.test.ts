/**
 * The cluster end to end on a lab (src/lab): three hosts, each a network namespace on one
 * switch with its own data dir, btrfs pool, jail subnet and real agent (etcd, runc), and a
 * fourth namespace whose pool and agent are made later. In order: init + join
 * (three etcd members), mutual-TLS refusals, a 3-replica service spread one per host and
 * answering from every host, an incremental image push, a rolling change of the image tag,
 * a host whose link is cut and its replica healthy again elsewhere, the host's return and
 * convergence, a scale-down, delete. after() takes the lab down (every namespace, mount, loop
 * device and process of the run), also when a step failed, and checks nothing is left.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lab } from '../../src/lab/lab.js';
import { setUpHost } from '../../src/lab/lab-up.js';
import { httpGet } from '../../src/lab/probe.js';
import { labDownClean, labReport, testLab } from '../helpers/lab.js';
import type { ClusterStatus as ClusterStatusView, ServiceStatus } from '../../src/api/contract.js';
import type { JailView } from '../../src/jail/service.js';
import { until } from '../helpers/until.js';
import { ApiClient } from '../../src/api/client.js';

const root = process.getuid?.() === 0;
const SITE = new URL('../../../examples/site', import.meta.url).pathname;

const stackYaml = (image: string, replicas: number) => `services:
  site:
    image: ${image}
    replicas: ${replicas}
    command: ["/usr/bin/python3", "-m", "http.server", "8080", "--directory", "/app"]
    health:
      http: { port: 8080, path: /index.html }
      interval: 1s
      timeout: 500ms
      threshold: 2
`;

describe('a cluster of three hosts', { skip: !root && 'needs root (network namespaces, loop pools, etcd, runc)', concurrency: false }, () => {
  let lab: Lab | undefined;
  let agents = 3;
  let work = '';
  const name = (i: number) => `h${i}`;
  const addr = (i: number) => lab!.hosts[i]!.address;
  const stackFile = () => join(work, 'web.yml');
  const usedTokens: string[] = [];

  const cli = (i: number, args: string[]) => lab!.ok(i, args);
  const json = <T>(i: number, args: string[]) => lab!.json<T>(i, args);
  const status = (i: number) => json<ServiceStatus[]>(i, ['status', '--stack', 'web']);
  const everything = () => labReport(lab!, agents);
  /** Every replica healthy on the current spec; returns the instances. */
  const ready = async (i: number, want: number) => {
    const s = (await status(i))[0];
    return s && s.replicas === want && s.ready === want ? s.instances : undefined;
  };

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'cb-cluster-'));
    // four namespaces, three with a pool and an agent, no cluster yet; the agents turn forwarding on themselves
    lab = await testLab({ hosts: 4, agents: 3, cluster: false, poolSize: '2G' });
    const r = await lab.cli(0, ['image', 'build', 'site:v1', SITE]);
    assert.equal(r.code, 0, r.stderr);
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
    if (!lab) return;
    await labDownClean(lab);
  });

  test('init and two joins make three etcd members', async () => {
    await cli(0, ['cluster', 'init', '--advertise', addr(0), '--name', name(0)]);
    for (const i of [1, 2]) {
      const token = (await cli(0, ['cluster', 'token'])).trim();
      assert.match(token, /^cbj1\./);
      usedTokens.push(token);
      await cli(i, ['cluster', 'join', addr(0), '--token', token, '--advertise', addr(i), '--name', name(i)]);
    }
    const s = await until('three members and three ready hosts', async () => {
      const v = await json<ClusterStatusView>(2, ['cluster', 'status']);
      return v.members.filter((m) => m.name).length === 3 && v.hosts.filter((h) => h.state === 'ready').length === 3 ? v : undefined;
    }, 30_000, everything);
    assert.deepEqual(s.members.map((m) => m.name), ['h0', 'h1', 'h2']);
    assert.deepEqual(s.hosts.map((h) => [h.name, h.etcd]), [['h0', 'member'], ['h1', 'member'], ['h2', 'member']]);
    assert.ok(s.leader && ['h0', 'h1', 'h2'].includes(s.leader));
  });

  test('a used token, a made-up one and a joining host with a taken name are refused', async () => {
    const ca = join(lab!.hosts[1]!.dataDir, 'cluster', 'tls', 'ca.crt');
    const join1 = async (token: string, host: string, subnet: string) => {
      const body = JSON.stringify({ token, name: host, address: '10.1.2.3', subnet, csr: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n' });
      const code = `const https = require('https');
        const req = https.request({ host: '${addr(0)}', port: 7481, path: '/v1/join', method: 'POST', ca: require('fs').readFileSync('${ca}'), headers: { 'content-type': 'application/json' } },
          (res) => { let t = ''; res.on('data', (c) => (t += c)); res.on('end', () => console.log(res.statusCode + ' ' + t)); });
        req.on('error', (e) => console.log('error ' + e.message)); req.end(${JSON.stringify(body)});`;
      return (await lab!.run(1, [process.execPath, '-e', code])).stdout.trim();
    };
    assert.match(await join1(usedTokens[0]!, 'h9', '10.9.9.0/24'), /^400 .*unknown, already used or expired/);
    const fresh = (await cli(0, ['cluster', 'token'])).trim();
    const bogus = fresh.replace(/^(cbj1\.[0-9a-f]+\.)([0-9a-f])/, (_m, p: string, c: string) => p + (c === '0' ? '1' : '0'));
    assert.notEqual(bogus, fresh);
    assert.match(await join1(bogus, 'h9', '10.9.9.0/24'), /^400 .*unknown, already used or expired/);
    // the bogus try did not use up the real token; a taken name is refused with it
    assert.match(await join1(fresh, 'h1', '10.9.9.0/24'), /^400 .*already in the cluster/);
    const s = await json<ClusterStatusView>(0, ['cluster', 'status']);
    assert.equal(s.members.length, 3, 'nothing was added');
    // and a client that does not trust the cluster CA does not get to talk to the listener at all
    const probe = `fetch('https://${addr(0)}:7481/v1/join', { method: 'POST' }).then(() => console.log('answered'), (e) => console.log('refused', String(e.cause?.code ?? e)))`;
    assert.match((await lab!.run(1, [process.execPath, '-e', probe])).stdout, /refused/);
  });

  test('the agent API on TCP takes only certificates of this cluster', async () => {
    const tls = join(lab!.hosts[1]!.dataDir, 'cluster', 'tls');
    const other = await mkdtemp(join(work, 'ca-'));
    // a certificate of another CA, and a self-signed one, made with openssl
    const { exec } = await import('../../src/sys/exec.js');
    await exec(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(other, 'self.key'), '-out', join(other, 'self.crt'), '-subj', '/CN=h1', '-days', '1']);
    const script = (cert: string | null, key: string | null) => `
      const https = require('https'); const fs = require('fs');
      const o = { host: '${addr(0)}', port: 7480, path: '/v1/health', ca: fs.readFileSync('${join(tls, 'ca.crt')}') };
      ${cert ? `o.cert = fs.readFileSync('${cert}'); o.key = fs.readFileSync('${key}');` : ''}
      const req = https.get(o, (res) => { console.log('status ' + res.statusCode); res.resume(); });
      req.on('error', (e) => console.log('refused ' + (e.code || e.message)));
      req.setTimeout(5000, () => req.destroy(new Error('timeout')));`;
    const run = async (cert: string | null, key: string | null) => (await lab!.run(1, [process.execPath, '-e', script(cert, key)])).stdout.trim();
    assert.equal(await run(join(tls, 'host.crt'), join(tls, 'host.key')), 'status 200');
    assert.match(await run(null, null), /^refused/);
    assert.match(await run(join(other, 'self.crt'), join(other, 'self.key')), /^refused/);
    const log = await lab!.agentLog(0);
    assert.match(log, /refused a TLS client/);
    void readFile;
  });

  test('a 3-replica service spreads one per host and answers from every host', async () => {
    await writeFile(stackFile(), stackYaml('site:v1', 3));
    await cli(0, ['apply', '-f', stackFile(), '--timeout', '120']);
    const inst = await until('3 healthy replicas', () => ready(1, 3), 30_000, everything);
    assert.deepEqual(inst.map((x) => x.host).sort(), ['h0', 'h1', 'h2'], 'one replica per host');
    for (let from = 0; from < 3; from++) {
      for (const x of inst) {
        const r = await httpGet(lab!, from, `http://${x.ip}:8080/index.html`);
        assert.equal(r.status, 200, `h${from} -> replica ${x.replica} on ${x.host} (${x.ip})`);
      }
    }
    // a jail reaches a jail on another host by its IP (the agents route each other's subnets)
    const on = (h: string) => inst.find((x) => x.host === h)!;
    const py = (url: string) => `import urllib.request; print(urllib.request.urlopen("${url}", timeout=3).status)`;
    for (const [from, to] of [['h0', 'h1'], ['h1', 'h2'], ['h2', 'h0']] as const) {
      const i = Number(from.slice(1));
      const out = await cli(i, ['jail', 'exec', `web.site.${on(from).replica}`, '--', '/usr/bin/python3', '-c', py(`http://${on(to).ip}:8080/index.html`)]);
      assert.equal(out.trim(), '200', `jail on ${from} -> jail on ${to}`);
    }
    // --host: the CLI of h0 asks h1's agent over mutual TLS
    const remote = await lab!.cli(0, ['--host', addr(1), '--json', 'jail', 'ls']);
    assert.equal(remote.code, 0, remote.stderr);
    assert.deepEqual((JSON.parse(remote.stdout) as JailView[]).map((j) => j.name), (await json<JailView[]>(1, ['jail', 'ls'])).map((j) => j.name));
    // apply is idempotent: the same file again changes nothing
    const again = await cli(0, ['apply', '-f', stackFile(), '--timeout', '60']);
    assert.match(again, /= web\/site: unchanged/);
  });

  test('an image push sends only the difference to hosts that hold its parent', async () => {
    const v2 = await mkdtemp(join(work, 'site-v2-'));
    await cli(0, ['image', 'export', 'site:v1', '-o', join(work, 'v1.cbi')]); // the full stream, for size
    const fullBytes = (await readFile(join(work, 'v1.cbi'))).length;
    const { cp } = await import('node:fs/promises');
    await cp(SITE, v2, { recursive: true });
    const { randomBytes } = await import('node:crypto');
    await writeFile(join(v2, 'blob.bin'), randomBytes(3 * 1024 * 1024));
    await writeFile(join(v2, 'index.html'), '<h1>version 2</h1>\n');
    await cli(0, ['image', 'build', 'site:v2', v2]);
    const pushed = await json<{ hosts: { host: string; since: string | null; bytes: number; error: string | null }[] }>(0, ['image', 'push', 'site:v2']);
    assert.deepEqual(pushed.hosts.map((h) => h.host), ['h1', 'h2']);
    for (const h of pushed.hosts) {
      assert.equal(h.error, null);
      assert.equal(h.since, 'site:v1', `${h.host} got an incremental stream`);
      assert.ok(h.bytes >= 3 * 1024 * 1024 && h.bytes < 3 * 1024 * 1024 + 512 * 1024, `${h.host}: ${h.bytes} bytes on the wire for a 3 MiB change (a full v1 stream is ${fullBytes})`);
    }
    // without --json: a line per host as its pull ends
    const again = await cli(0, ['image', 'push', 'site:v2']);
    assert.match(again, /^pushing site:v2 to h1, h2\n/);
    assert.match(again, /  h1: had it already\n/);
    assert.match(again, /  h2: had it already\n/);
  });

  test('a rolling change of the image tag replaces every replica, one at a time', async () => {
    await writeFile(stackFile(), stackYaml('site:v2', 3));
    const diff = await cli(0, ['diff', '-f', stackFile()]);
    assert.match(diff, /~ web\/site: update \(image site:v1 -> site:v2\)/);
    await cli(0, ['apply', '-f', stackFile(), '--no-wait']);
    // while it rolls, at most one replica is ever down (the others keep serving)
    let worst = 0;
    const inst = await until('3 healthy replicas on site:v2', async () => {
      const s = (await ApiClient.forDataDir(lab!.hosts[0]!.dataDir).call('status', { query: { stack: 'web' } }))[0]!; // ~10 ms, unlike the CLI
      worst = Math.max(worst, s.instances.filter((x) => !x.healthy && !(x.phase === 'running' && !x.current)).length);
      return s.ready === 3 ? s.instances : undefined;
    }, 60_000, everything, 50);
    assert.equal(worst, 1, 'one replica at a time (and the polls saw the roll)');
    assert.deepEqual(inst.map((x) => x.host).sort(), ['h0', 'h1', 'h2']);
    for (const x of inst) assert.match((await httpGet(lab!, 0, `http://${x.ip}:8080/index.html`)).body, /version 2/);
  });

  test('an agent killed with SIGKILL and started again adopts its jails and converges without moving anything', async () => {
    const before = (await ready(0, 3))!;
    const jailsBefore = await json<JailView[]>(1, ['jail', 'ls']);
    await lab!.stopAgent(1, 'SIGKILL');
    await lab!.startAgent(1);
    const after = await until('3 healthy replicas after the restart', () => ready(0, 3), 30_000, everything);
    assert.deepEqual(after.map((x) => [x.replica, x.host]), before.map((x) => [x.replica, x.host]), 'no replica moved');
    const jailsAfter = await json<JailView[]>(1, ['jail', 'ls']);
    assert.deepEqual(jailsAfter.map((j) => [j.name, j.pid]), jailsBefore.map((j) => [j.name, j.pid]), 'the same processes run: nothing was restarted');
  });

  test('a host whose link is cut has its replica running and healthy on the others', async () => {
    const before = (await ready(0, 3))!;
    const lost = before.find((x) => x.host === 'h2')!;
    const t0 = Date.now();
    await lab!.cut(2);
    const inst = await until('the replica of h2 healthy elsewhere', async () => {
      const i = await ready(0, 3).catch(() => undefined);
      return i && i.every((x) => x.host !== 'h2') ? i : undefined;
    }, 45_000, everything);
    const seconds = (Date.now() - t0) / 1000;
    const moved = inst.find((x) => x.replica === lost.replica)!;
    assert.notEqual(moved.host, 'h2');
    assert.equal((await httpGet(lab!, 1, `http://${moved.ip}:8080/index.html`)).status, 200);
    const hostsNow = await json<{ name: string; state: string }[]>(0, ['host', 'ls']);
    assert.equal(hostsNow.find((h) => h.name === 'h2')!.state, 'down');
    console.log(`# failover: replica ${lost.replica} healthy on ${moved.host} ${seconds.toFixed(1)} s after the link of h2 was cut`);
  });

  test('the host returns and the cluster converges, one replica per host again', async () => {
    await lab!.heal(2);
    const inst = await until('one healthy replica per host', async () => {
      const i = await ready(0, 3).catch(() => undefined);
      return i && new Set(i.map((x) => x.host)).size === 3 ? i : undefined;
    }, 60_000, everything);
    assert.deepEqual(inst.map((x) => x.host).sort(), ['h0', 'h1', 'h2']);
    // every host runs exactly the replicas placed on it, nothing left from before the cut
    await until('jails match placements on every host', async () => {
      for (let i = 0; i < 3; i++) {
        const jails = (await json<JailView[]>(i, ['jail', 'ls'])).map((j) => j.name).sort();
        const mine = inst.filter((x) => x.host === `h${i}`).map((x) => `web.site.${x.replica}`).sort();
        if (JSON.stringify(jails) !== JSON.stringify(mine)) return false;
      }
      return true;
    }, 30_000, everything);
  });

  test('drain moves a host\'s replicas away; uncordon lets the spread bring one back; cordon keeps what runs', async () => {
    await cli(0, ['host', 'drain', 'h1']);
    const drained = await until('no replica on h1', async () => {
      const i = await ready(0, 3).catch(() => undefined);
      return i && i.every((x) => x.host !== 'h1') ? i : undefined;
    }, 30_000, everything);
    assert.equal(drained.length, 3);
    assert.equal((await json<{ name: string; state: string }[]>(0, ['host', 'ls'])).find((h) => h.name === 'h1')!.state, 'draining');
    await until('h1 runs no jail', async () => (await json<JailView[]>(1, ['jail', 'ls'])).length === 0, 20_000, everything);
    await cli(0, ['host', 'uncordon', 'h1']);
    await until('one replica per host again', async () => {
      const i = await ready(0, 3).catch(() => undefined);
      return i && new Set(i.map((x) => x.host)).size === 3 ? i : undefined;
    }, 30_000, everything);
    await cli(0, ['host', 'cordon', 'h2']);
    const kept = (await ready(0, 3))!;
    assert.ok(kept.some((x) => x.host === 'h2'), 'a cordoned host keeps its replica');
    assert.equal((await json<{ name: string; state: string }[]>(0, ['host', 'ls'])).find((h) => h.name === 'h2')!.state, 'cordoned');
    await cli(0, ['host', 'uncordon', 'h2']);
    const bad = await lab!.cli(0, ['host', 'drain', 'nosuchhost']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /no host named nosuchhost/);
  });

  test('scaling down removes the highest replica; delete removes the rest', async () => {
    await writeFile(stackFile(), stackYaml('site:v2', 2));
    await cli(0, ['apply', '-f', stackFile(), '--timeout', '60']);
    const inst = (await until('2 replicas', () => ready(0, 2), 30_000, everything));
    assert.deepEqual(inst.map((x) => x.replica), [0, 1]);
    await cli(0, ['delete', '-f', stackFile()]);
    await until('no jails on any host', async () => {
      for (let i = 0; i < 3; i++) if ((await json<JailView[]>(i, ['jail', 'ls'])).length) return false;
      return true;
    }, 30_000, everything);
  });

  test('a fourth host joins as an etcd client; leave and remove shrink the cluster cleanly', async () => {
    await setUpHost(lab!, 3, { poolSize: '1G' });
    agents = 4;
    const token = (await cli(0, ['cluster', 'token'])).trim();
    await cli(3, ['cluster', 'join', addr(1), '--token', token, '--advertise', addr(3), '--name', 'h3']); // through a member that did not init
    const s = await until('h3 ready as a client', async () => {
      const v = await json<ClusterStatusView>(3, ['cluster', 'status']);
      return v.hosts.find((h) => h.name === 'h3')?.state === 'ready' ? v : undefined;
    }, 30_000, everything);
    assert.equal(s.role, 'client');
    assert.equal(s.members.length, 3, 'a fourth host does not become an etcd member');
    assert.equal(s.hosts.find((h) => h.name === 'h3')!.etcd, 'client');
    // h3 leaves: a single host again; the cluster forgets it
    const left = await json<{ role: string }>(3, ['cluster', 'leave']);
    assert.equal(left.role, 'single');
    await until('h3 gone from the host list', async () => !(await json<{ name: string }[]>(0, ['host', 'ls'])).some((h) => h.name === 'h3'));
    // h2's agent dies for good; another host removes it and its etcd member
    await lab!.stopAgent(2, 'SIGKILL');
    await until('h2 down', async () => (await json<{ name: string; state: string }[]>(0, ['host', 'ls'])).find((h) => h.name === 'h2')?.state === 'down', 20_000);
    const removed = await json<{ removed: string; wasMember: boolean }>(0, ['cluster', 'remove', 'h2']);
    assert.deepEqual(removed, { removed: 'h2', wasMember: true });
    const after2 = await json<ClusterStatusView>(1, ['cluster', 'status']);
    assert.deepEqual(after2.members.map((m) => m.name), ['h0', 'h1']);
    assert.deepEqual(after2.hosts.map((h) => h.name), ['h0', 'h1']);
    const r = await lab!.cli(0, ['cluster', 'remove', 'h1']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /host h1 is alive/);
    // the removed host does not come back by itself; leave --force makes it a single host again
    await assert.rejects(lab!.startAgent(2), /was removed from cluster/);
    assert.match(await lab!.agentLog(2), /cluster leave --force/);
    const reset = await lab!.cli(2, ['cluster', 'leave', '--force']);
    assert.equal(reset.code, 0, reset.stderr);
    await lab!.startAgent(2);
    assert.equal((await json<ClusterStatusView>(2, ['cluster', 'status'])).role, 'single');
    assert.deepEqual((await json<ClusterStatusView>(0, ['cluster', 'status'])).hosts.map((h) => h.name), ['h0', 'h1']);
  });
});

