/**
 * Jails on one host, end to end: a one-host lab (src/lab: its own network namespace, data dir
 * and btrfs loop pool), a real agent process, the real CLI, real runc/conmon jails with their
 * own addresses. What issue "jails on one host" asks the tests to show, each a test below.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, stat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Lab, LabHost } from '../../src/lab/lab.js';
import { httpGet } from '../../src/lab/probe.js';
import { exec } from '../../src/sys/exec.js';
import { testLab, testLabDown } from '../helpers/lab.js';
import type { JailView, JailInspect } from '../../src/jail/service.js';
import { until } from '../helpers/until.js';

const root = process.getuid?.() === 0;
const SERVE = ['/usr/bin/python3', '-m', 'http.server', '8080', '--directory', '/app'];
const EXAMPLES = new URL('../../../examples/site', import.meta.url).pathname;

/** What a failing reachability check should show: the jail's network, processes, logs and the agent's log. */
async function diagnose(lab: Lab, h: LabHost, ip: string): Promise<string> {
  const run = async (argv: string[]) => `$ ${argv.join(' ')}\n${await lab.run(0, argv).then((r) => r.stdout, (e: Error) => e.message)}`;
  const jails = await lab.json<JailView[]>(0, ['jail', 'ls']).catch(() => [] as JailView[]);
  const j = jails.find((x) => x.ip === ip);
  const out = [`jails: ${JSON.stringify(jails)}`];
  if (j) {
    const i = await lab.json<JailInspect>(0, ['jail', 'inspect', j.name]).catch(() => undefined);
    if (i) {
      const ns = i.paths.netns.split('/').pop()!;
      out.push(await run(['ip', '-n', ns, '-br', 'addr']), await run(['ip', '-n', ns, 'route']), await run(['ip', '-br', 'link', 'show', 'master', h.bridge]), await run(['ip', '-br', 'link', 'show', i.hostInterface]));
    }
    out.push((await lab.cli(0, ['jail', 'logs', '--tail', '15', j.name])).stdout);
  }
  out.push(await run(['ps', '-eo', 'pid,ppid,stat,args']).then((t) => t.split('\n').filter((l) => /conmon|tini|python3 -m/.test(l)).join('\n')));
  out.push(`agent log:\n${await lab.agentLogTail(0, 30)}`);
  return out.join('\n');
}

describe('jails on one host', { skip: !root && 'needs root (loop pools, runc, network namespaces)', concurrency: false }, () => {
  let lab: Lab;
  let h: LabHost;
  const cli = (args: string[]) => lab.cli(0, args);
  const get = (url: string) => httpGet(lab, 0, url);
  const ls = () => lab.json<JailView[]>(0, ['jail', 'ls']);
  const inspect = (n: string) => lab.json<JailInspect>(0, ['jail', 'inspect', n]);
  const netnsOfMine = async () => (await readdir('/run/netns').catch(() => [] as string[])).filter((n) => n.endsWith(`@${h.instance}`)).sort();
  const serving = async (ip: string) => {
    try {
      await until(`http on ${ip}`, async () => (await get(`http://${ip}:8080/index.html`)).status === 200);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${await diagnose(lab, h, ip)}`);
    }
  };

  before(async () => {
    lab = await testLab({ hosts: 1, cluster: false });
    h = lab.hosts[0]!;
    const b = await cli(['image', 'build', 'site:v1', EXAMPLES]);
    assert.equal(b.code, 0, b.stderr);
  });
  after(async () => { if (lab) await testLabDown(lab); });

  test('a jail serves HTTP on its own IP, reachable from the host and from another jail', async () => {
    for (const n of ['web1', 'web2']) {
      const r = await cli(['jail', 'create', n, '--image', 'site:v1', '--memory', '128M', '--restart', 'always', '--start', '--', ...SERVE]);
      assert.equal(r.code, 0, r.stderr);
    }
    const [w1, w2] = await ls();
    assert.notEqual(w1!.ip, w2!.ip);
    await serving(w1!.ip);
    await serving(w2!.ip);
    assert.match((await get(`http://${w1!.ip}:8080/index.html`)).body, /Hello from a cellblock jail/);
    const py = `import urllib.request; print(urllib.request.urlopen("http://${w2!.ip}:8080/index.html", timeout=3).status)`;
    const r = await cli(['jail', 'exec', 'web1', '--', '/usr/bin/python3', '-c', py]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '200');
  });

  test('/usr is the host\'s own (same inode), read-only inside; writable dirs are separate', async () => {
    const ino = (await stat('/usr/bin/python3')).ino;
    const r = await cli(['jail', 'exec', 'web1', '--', '/usr/bin/stat', '-L', '-c', '%i', '/usr/bin/python3']);
    assert.equal(r.stdout.trim(), String(ino));
    const w = await cli(['jail', 'exec', 'web1', '--', '/usr/bin/touch', '/usr/cellblock-escape']);
    assert.notEqual(w.code, 0);
    assert.match(w.stderr, /Read-only file system/);
    assert.equal(await stat('/usr/cellblock-escape').then(() => true, () => false), false);
    assert.equal((await cli(['jail', 'exec', 'web1', '--', '/usr/bin/touch', '/tmp/only-web1'])).code, 0);
    assert.notEqual((await cli(['jail', 'exec', 'web2', '--', '/usr/bin/test', '-e', '/tmp/only-web1'])).code, 0);
    const i = await inspect('web1');
    assert.ok(i.usage.diskExclusiveBytes !== null && i.usage.diskExclusiveBytes < 1024 * 1024, `a jail costs ${i.usage.diskExclusiveBytes} bytes of pool`);
    assert.equal(i.usage.memory.limitBytes, 128 * 1024 * 1024);
    assert.ok((i.usage.memory.usageBytes ?? 0) > 0);
  });

  test('a jail past its memory limit is OOM-killed and restarted by its policy', async () => {
    const hog = ['/usr/bin/python3', '-c', 'import time\nx = bytearray(200 * 1024 * 1024)\ntime.sleep(60)'];
    const r = await cli(['jail', 'create', 'hog', '--image', 'site:v1', '--memory', '64M', '--restart', 'on-failure', '--start', '--', ...hog]);
    assert.equal(r.code, 0, r.stderr);
    const v = await until('hog restarted', async () => {
      const j = (await ls()).find((x) => x.name === 'hog');
      return j && j.restarts >= 1 ? j : undefined;
    });
    assert.ok(v.lastExitReason === 'oom-killed' || v.lastExitCode === 137, JSON.stringify(v));
    assert.equal((await cli(['jail', 'rm', '--force', 'hog'])).code, 0);
  });

  test('SIGKILL of the agent: the jails keep serving with the same PIDs and are managed again', async () => {
    const before = await ls();
    const agentLog = await lab.agentLogTail(0, 25);
    await lab.stopAgent(0, 'SIGKILL');
    try {
      for (const j of before) await serving(j.ip); // nobody noticed
    } catch (e) {
      const ps = await exec(['ps', '-eo', 'pid,ppid,sid,stat,args']);
      throw new Error(`${(e as Error).message}\njails before: ${JSON.stringify(before)}\nprocesses:\n${ps.stdout.split('\n').filter((l) => /conmon|tini|python3/.test(l)).join('\n')}\nagent log:\n${agentLog}`);
    }
    await lab.startAgent(0);
    const afterList = await ls();
    assert.deepEqual(afterList.map((j) => [j.name, j.pid, j.state]), before.map((j) => [j.name, j.pid, 'running']));
    // managed again: a crash is restarted by the new agent
    process.kill(afterList[0]!.pid!, 'SIGKILL');
    const back = await until('web1 restarted by the new agent', async () => {
      const j = (await ls()).find((x) => x.name === afterList[0]!.name);
      return j && j.state === 'running' && j.pid !== afterList[0]!.pid ? j : undefined;
    });
    await serving(back.ip);
  });

  test('bad input is refused with the field named, and nothing is created', async () => {
    // the bytes a jail's dataset uses are left out: btrfs accounts a running jail's writes a moment later
    const jailsNow = async () => (await ls()).map((j) => ({ ...j, disk: j.disk ? { ...j.disk, usedBytes: null } : j.disk }));
    const snapshot = async () => JSON.stringify({ jails: await jailsNow(), netns: await netnsOfMine(), leases: await readFile(join(h.dataDir, 'ipam', 'leases.json'), 'utf8'), ds: await lab.json<unknown>(0, ['dataset', 'ls']) });
    const before = await snapshot();
    const taken = (await ls())[0]!.ip;
    const cases: [string[], RegExp][] = [
      [['jail', 'create', 'Bad_Name', '--image', 'site:v1', '--', '/bin/true'], /invalid jail name/],
      [['jail', 'create', 'web1', '--image', 'site:v1', '--', '/bin/true'], /already exists/],
      [['jail', 'create', 'x1', '--image', 'nope:v9', '--', '/bin/true'], /image nope:v9 does not exist/],
      [['jail', 'create', 'x2', '--image', 'site:v1', '--memory', 'lots', '--', '/bin/true'], /--memory/],
      [['jail', 'create', 'x3', '--image', 'site:v1', '--cpus', '-1', '--', '/bin/true'], /--cpus/],
      [['jail', 'create', 'x4', '--image', 'site:v1', '--pids', '0', '--', '/bin/true'], /--pids/],
      [['jail', 'create', 'x5', '--image', 'site:v1', '--ip', '192.0.2.10', '--', '/bin/true'], /--ip/],
      [['jail', 'create', 'x6', '--image', 'site:v1', '--ip', taken, '--', '/bin/true'], /--ip/],
      [['jail', 'create', 'x7', '--image', 'site:v1', '--rw', '/usr/lib', '--', '/bin/true'], /--rw/],
      [['jail', 'create', 'x8', '--image', 'site:v1', '--env', '1BAD=x', '--', '/bin/true'], /--env/],
    ];
    for (const [args, re] of cases) {
      const r = await cli(args);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, re, args.join(' '));
      assert.match(r.stderr, /fix: /, args.join(' '));
    }
    assert.equal(await snapshot(), before);
    // a runc failure at start (no such command) undoes everything create made
    const r = await cli(['jail', 'create', 'x9', '--image', 'site:v1', '--start', '--', '/nonexistent/server']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /nonexistent\/server|no such file/i);
    assert.equal(await snapshot(), before);
  });

  test('rm removes the jail\'s netns, veth, cgroup, dataset and lease, and nothing else', async () => {
    const web2 = await inspect('web2');
    const web1 = await inspect('web1');
    const r = await cli(['jail', 'rm', '--force', 'web2']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await netnsOfMine(), [web1.paths.netns.split('/').pop()]);
    assert.notEqual((await cli(['jail', 'inspect', 'web2'])).code, 0);
    const ipLink = await lab.run(0, ['ip', '-br', 'link']); // the host's side of the veths lives in the host's namespace
    assert.ok(!ipLink.stdout.includes(web2.hostInterface), 'veth removed');
    assert.ok(ipLink.stdout.includes(web1.hostInterface), 'the other jail keeps its veth');
    assert.equal(await stat(web2.paths.writable).then(() => true, () => false), false);
    assert.equal(await stat(`/sys/fs/cgroup/memory/cellblock/${h.instance}/web2`).then(() => true, () => false), false);
    const leases = JSON.parse(await readFile(join(h.dataDir, 'ipam', 'leases.json'), 'utf8')) as { leases: Record<string, string> };
    assert.deepEqual(Object.keys(leases.leases), ['web1']);
    await serving(web1.ip);
  });
});
