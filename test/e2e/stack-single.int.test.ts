/**
 * The smallest useful stack file (examples/stack.yml, byte for byte the issue's) on a single
 * host with no set-up (a one-host lab, no cluster): the agent's one-member etcd holds the desired state, the three
 * replicas share the host (there is no other), each answers HTTP, apply again changes nothing,
 * a bad file changes nothing, a replica whose disk exceeds the host's pool is refused at its line,
 * one that exceeds what is left stays unplaced with
 * the shortfall named while nothing else moves, and delete removes every replica.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lab } from '../../src/lab/lab.js';
import { httpGet } from '../../src/lab/probe.js';
import { testLab, testLabDown } from '../helpers/lab.js';
import { until } from '../helpers/until.js';
import type { ServiceStatus } from '../../src/cluster/stacks.js';
import type { JailView } from '../../src/jail/service.js';

const root = process.getuid?.() === 0;
const EXAMPLE = new URL('../../../examples/stack.yml', import.meta.url).pathname;
const SITE = new URL('../../../examples/site', import.meta.url).pathname;

describe('a stack file on a single host', { skip: !root && 'needs root (loop pools, etcd, runc)', concurrency: false }, () => {
  let lab: Lab;
  let work = '';
  const h = {
    cli: (args: string[]) => lab.cli(0, args),
    json: <T>(args: string[]) => lab.json<T>(0, args),
  };
  const ok = async (args: string[]) => {
    const r = await h.cli(args);
    assert.equal(r.code, 0, `cellblock ${args.join(' ')}: ${r.stderr}\n${await lab.agentLogTail(0, 20)}`);
    return r.stdout;
  };

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'cb-stack-'));
    lab = await testLab({ hosts: 1, cluster: false });
    await ok(['image', 'build', 'site:v1', SITE]);
  });

  after(async () => {
    if (lab) await testLabDown(lab);
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('examples/stack.yml as written: 3 healthy replicas that answer', async () => {
    const out = await ok(['apply', '-f', EXAMPLE, '--timeout', '120']);
    assert.match(out, /\+ stack\/site: add \(3 replicas of site:v1\)/);
    assert.match(out, /stack stack: site 3\/3 ready/);
    const [s] = await h.json<ServiceStatus[]>(['status']);
    assert.equal(s!.ready, 3);
    for (const i of s!.instances) {
      assert.ok(i.host, 'placed on this host');
      const r = await httpGet(lab, 0, `http://${i.ip}:8080/index.html`);
      assert.equal(r.status, 200);
    }
    assert.match(await ok(['apply', '-f', EXAMPLE, '--no-wait']), /= stack\/site: unchanged/);
  });

  test('a bad stack file is refused with its line and column and changes nothing', async () => {
    const bad = join(work, 'stack.yml');
    await writeFile(bad, 'services:\n  site:\n    image: site:v1\n    replicas: three\n    command: ["/bin/true"]\n');
    const r = await h.cli(['apply', '-f', bad]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /stack\.yml:4:15 services\.site\.replicas: /);
    const [s] = await h.json<ServiceStatus[]>(['status']);
    assert.equal(s!.replicas, 3);
    const missing = join(work, 'other.yml');
    await writeFile(missing, 'services:\n  site:\n    image: nope:v1\n    command: ["/bin/true"]\n');
    const m = await h.cli(['apply', '-f', missing]);
    assert.equal(m.code, 1);
    assert.match(m.stderr, /image nope:v1 is on no host of the cluster/);
    assert.deepEqual((await h.json<ServiceStatus[]>(['status'])).map((x) => x.stack), ['stack'], 'the refused stack was not written');
  });

  test('disk: a replica that does not fit the free disk stays unplaced, says why, and nothing else moves; one larger than the pool is refused at its line; host ls, jail ls and a bad disk: in a file', async () => {
    const before0 = (await h.json<JailView[]>(['jail', 'ls'])).map((j) => [j.name, j.pid, j.disk?.limitBytes]);
    assert.equal(before0.length, 3);
    assert.ok(before0.every(([, , limit]) => limit === 1024 ** 3), `every replica has the default 1G limit: ${JSON.stringify(before0)}`);
    const big = join(work, 'big.yml');
    // larger than the host's pool (4G): it could never be placed, so apply refuses it, at its line
    const huge = join(work, 'huge.yml');
    await writeFile(huge, 'services:\n  db:\n    image: site:v1\n    disk: 5G\n    command: ["/usr/bin/sleep", "infinity"]\n');
    const refused = await h.cli(['apply', '-f', huge]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /huge\.yml:4:11 services\.db\.disk: 5\.00G is more than any host's pool offers \(the largest: 4\.00G on \S+\); give at most 4\.00G/);
    assert.deepEqual((await h.json<ServiceStatus[]>(['status'])).map((x) => x.stack), ['stack'], 'the refused stack was not written');
    // within the pool, but more than the 1G left beside the three 1G replicas: unplaced, with why
    await writeFile(big, 'services:\n  db:\n    image: site:v1\n    disk: 2G\n    command: ["/usr/bin/sleep", "infinity"]\n');
    await ok(['apply', '-f', big, '--no-wait']);
    const st = await until('the db replica to be reported unplaced with its reason', async () => {
      const [x] = await h.json<ServiceStatus[]>(['status', '--stack', 'big']);
      return x?.instances[0]?.message ? x : undefined;
    }, 30_000);
    assert.equal(st.instances[0]!.phase, 'unplaced');
    assert.match(st.instances[0]!.message!, /^unplaced: no ready host has 2\.00G of disk free; most is 1\.00G on \S+$/);
    assert.deepEqual((await h.json<JailView[]>(['jail', 'ls'])).map((j) => [j.name, j.pid, j.disk?.limitBytes]), before0, 'nothing else moved or restarted');
    const [host] = await h.json<{ capacity: { diskBytes?: number }; usage: { diskBytes: number }; diskFreeBytes: number | null; overcommit: number }[]>(['host', 'ls']);
    assert.equal(host!.usage.diskBytes, 3 * 1024 ** 3);
    assert.equal(host!.capacity.diskBytes, 4 * 1024 ** 3);
    assert.equal(host!.overcommit, 1);
    assert.ok(host!.diskFreeBytes !== null && host!.diskFreeBytes > 0);
    assert.match(await ok(['host', 'ls']), /3\.00G\/4\.00G/);
    await ok(['delete', '-f', big]);

    const bad = join(work, 'bad-disk.yml');
    await writeFile(bad, 'services:\n  db:\n    image: site:v1\n    disk: 1M\n    command: ["/bin/true"]\n');
    const r = await h.cli(['apply', '-f', bad]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad-disk\.yml:4:11 services\.db\.disk: "1M" is too small; use at least 16\.0M/);
  });

  test('delete removes every replica', async () => {
    await ok(['delete', '-f', EXAMPLE]);
    await until('no jails', async () => (await h.json<JailView[]>(['jail', 'ls'])).length === 0, 30_000);
    assert.deepEqual(await h.json<ServiceStatus[]>(['status']), []);
  });
});
