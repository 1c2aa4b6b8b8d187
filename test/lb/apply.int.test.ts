/**
 * `cellblock apply` with publish.tls and publish.tcp on a real single-host agent (a one-host
 * lab, no cluster): the certificate and the lb record land in the agent's etcd with the stack;
 * a key that does not match is refused at its line and nothing changes; a TCP port that a
 * program of the host (its network namespace) listens on is refused, naming the program.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lab } from '../../src/lab/lab.js';
import { exec, spawnStream, type SpawnedProcess } from '../../src/sys/exec.js';
import { testLab, testLabDown } from '../helpers/lab.js';
import { makeCert } from '../helpers/certs.js';
import { until } from '../helpers/until.js';
import { parseProcNetTcp } from '../../src/lb/ports.js';

const root = process.getuid?.() === 0;
const SITE = new URL('../../../examples/site', import.meta.url).pathname;

describe('apply with tls and tcp on a single host', { skip: !root && 'needs root (loop pools, etcd, runc)', concurrency: false }, () => {
  let lab: Lab;
  let work = '';
  let listener: SpawnedProcess | undefined;
  const ok = async (args: string[]) => {
    const r = await lab.cli(0, args);
    assert.equal(r.code, 0, `cellblock ${args.join(' ')}: ${r.stderr}\n${await lab.agentLogTail(0, 20)}`);
    return r.stdout;
  };
  /** The agent's etcd, read with etcdctl inside the host's network namespace: key -> value under /cellblock/. */
  const etcd = async (): Promise<Map<string, string>> => {
    const h = lab.hosts[0]!;
    const { clientPort } = JSON.parse(await readFile(join(h.dataDir, 'etcd.json'), 'utf8')) as { clientPort: number };
    const r = await exec(['nsenter', `--net=/run/netns/${h.netns}`, 'etcdctl', `--endpoints=http://127.0.0.1:${clientPort}`, 'get', '--prefix', '/cellblock/', '-w', 'json'], { timeoutMs: 20_000 });
    const kvs = (JSON.parse(r.stdout) as { kvs?: { key: string; value: string }[] }).kvs ?? [];
    return new Map(kvs.map((kv) => [Buffer.from(kv.key, 'base64').toString(), Buffer.from(kv.value, 'base64').toString()]));
  };
  const desired = (m: Map<string, string>) => [...m].filter(([k]) => /^\/cellblock\/(stacks|services|certs)\/|^\/cellblock\/lb$/.test(k)).map(([k, v]) => `${k}=${v.replace(/"(appliedAt|at)":"[^"]*"/g, '')}`).sort();

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'cb-lb-apply-'));
    await mkdir(join(work, 'certs'));
    lab = await testLab({ hosts: 1, cluster: false, name: `spec${randomBytes(2).toString('hex')}` });
    await ok(['image', 'build', 'site:v1', SITE]);
  });

  after(async () => {
    if (listener) { listener.kill('SIGKILL'); await listener.done.catch(() => undefined); }
    if (lab) await testLabDown(lab);
    if (work) await rm(work, { recursive: true, force: true });
  });

  const stack = (key: string, tcp = 19000) => [
    'lb: { http: 18080, https: 18443 }',
    'services:',
    '  site:',
    '    image: site:v1',
    '    command: ["/usr/bin/python3", "-m", "http.server", "8080", "--directory", "/app"]',
    '    port: 8080',
    '    publish:',
    '      http: [site.example.com]',
    `      tls: { cert: certs/site.crt, key: ${key} }`,
    '  api:',
    '    image: site:v1',
    '    command: ["/usr/bin/python3", "-m", "http.server", "9000", "--directory", "/app"]',
    '    port: 9000',
    `    publish: { tcp: ${tcp} }`,
    '',
  ].join('\n');

  test('the cert record and the lb record are stored with the stack; a mismatched key changes nothing', async () => {
    const good = await makeCert(join(work, 'certs'), 'site', ['site.example.com']);
    await makeCert(join(work, 'certs'), 'other', ['site.example.com']);
    const file = join(work, 'stack.yml');
    await writeFile(file, stack('certs/site.key'));
    await ok(['apply', '-f', file, '--no-wait']);
    const kv = await etcd();
    const cert = JSON.parse(kv.get('/cellblock/certs/stack/site') ?? '{}') as { keyPem?: string; certPem?: string; names?: string[]; certFile?: string };
    assert.equal(cert.certPem, good.certPem);
    assert.equal(cert.keyPem, good.keyPem);
    assert.deepEqual(cert.names, ['site.example.com']);
    assert.deepEqual(JSON.parse(kv.get('/cellblock/lb') ?? '{}').spec, { http: 18080, https: 18443 });
    const before = desired(kv);

    await writeFile(file, stack('certs/other.key'));
    const r = await lab.cli(0, ['apply', '-f', file, '--no-wait']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`${file}:9:41 services.site.publish.tls.key: certs/other.key does not match the certificate certs/site.crt; `));
    assert.ok(!r.stderr.includes(good.keyPem.split('\n')[1]!), 'no key material printed');
    assert.deepEqual(desired(await etcd()), before, 'nothing changed');
  });

  test('a TCP port a program of the host listens on is refused, naming the host and program; nothing changes', async () => {
    const h = lab.hosts[0]!;
    listener = spawnStream(['nsenter', `--net=/run/netns/${h.netns}`, 'python3', '-m', 'http.server', '19500', '--bind', '127.0.0.1']);
    const file = join(work, 'stack.yml');
    await writeFile(file, stack('certs/site.key', 19500));
    const before = desired(await etcd());
    await until('python3 listening on 19500 in the host', async () => {
      const tcp = await exec(['nsenter', `--net=/run/netns/${h.netns}`, 'cat', '/proc/net/tcp'], { timeoutMs: 10_000 });
      return parseProcNetTcp(tcp.stdout).some((l) => l.port === 19500);
    });
    const r = await lab.cli(0, ['apply', '-f', file, '--no-wait']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`${file}:14:21 services.api.publish.tcp: port 19500 is already in use on \\S+ \\(python3\\); stop that program`));
    assert.deepEqual(desired(await etcd()), before, 'nothing changed');
  });
});
