/**
 * The port check across a cluster: two lab hosts, a program listening in the second host's
 * network namespace; `apply` on the first asks the second (POST /v1/lb/ports over mTLS) and
 * refuses the port, naming that host and program; once it stops, the same file applies.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lab } from '../../src/lab/lab.js';
import { exec, spawnStream, type SpawnedProcess } from '../../src/sys/exec.js';
import { parseProcNetTcp } from '../../src/lb/ports.js';
import { testLab, testLabDown } from '../helpers/lab.js';
import { until } from '../helpers/until.js';

const root = process.getuid?.() === 0;
const SITE = new URL('../../../examples/site', import.meta.url).pathname;
const PORT = 19502;

describe('ports in use on another host of the cluster', { skip: !root && 'needs root (lab)', concurrency: false }, () => {
  let lab: Lab;
  let work = '';
  let listener: SpawnedProcess | undefined;
  const stopListener = async () => {
    if (!listener) return;
    listener.kill('SIGKILL');
    await listener.done.catch(() => undefined); // killed on purpose: its exit is an error by design
    listener = undefined;
  };

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'cb-lb-ports-'));
    lab = await testLab({ hosts: 2, cluster: true, name: `spec${randomBytes(2).toString('hex')}` });
    const r = await lab.cli(0, ['image', 'build', 'site:v1', SITE]);
    assert.equal(r.code, 0, r.stderr);
  });

  after(async () => {
    await stopListener();
    if (lab) await testLabDown(lab);
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('apply on h0 refuses a TCP port a program listens on in h1, then applies once it is free', async () => {
    const h1 = lab.hosts[1]!;
    listener = spawnStream(['nsenter', `--net=/run/netns/${h1.netns}`, 'python3', '-m', 'http.server', String(PORT), '--bind', '0.0.0.0']);
    await until(`python3 listening on ${PORT} in ${h1.name}`, async () => {
      const tcp = await exec(['nsenter', `--net=/run/netns/${h1.netns}`, 'cat', '/proc/net/tcp'], { timeoutMs: 10_000 });
      return parseProcNetTcp(tcp.stdout).some((l) => l.port === PORT);
    });
    const file = join(work, 'ports.yml');
    await writeFile(file, [
      'services:',
      '  api:',
      '    image: site:v1',
      '    command: ["/usr/bin/python3", "-m", "http.server", "9000", "--directory", "/app"]',
      '    port: 9000',
      `    publish: { tcp: ${PORT} }`,
      '',
    ].join('\n'));
    const refused = await lab.cli(0, ['apply', '-f', file, '--no-wait']);
    assert.equal(refused.code, 1, refused.stdout + refused.stderr);
    assert.match(refused.stderr, new RegExp(`${file}:6:21 services.api.publish.tcp: port ${PORT} is already in use on ${h1.name} \\(python3\\); stop that program`));
    assert.equal((await lab.cli(0, ['status', '--stack', 'ports', '--json'])).stdout.trim(), '[]', 'nothing applied');
    await stopListener();
    const applied = await lab.cli(0, ['apply', '-f', file, '--no-wait']);
    assert.equal(applied.code, 0, applied.stderr + (await lab.agentLogTail(0, 20)));
    assert.match(applied.stdout, /\+ ports\/api: add/);
  });
});
