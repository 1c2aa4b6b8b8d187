import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHostOption } from '../../src/cli/agent-client.js';
import { main } from '../../src/cli/main.js';

test('--host takes ADDR, ADDR:PORT and [V6]:PORT', () => {
  assert.deepEqual(parseHostOption('192.0.2.12'), { address: '192.0.2.12', port: 7480 });
  assert.deepEqual(parseHostOption('192.0.2.12:9000'), { address: '192.0.2.12', port: 9000 });
  assert.deepEqual(parseHostOption('[2001:db8::1]:9000'), { address: '2001:db8::1', port: 9000 });
  assert.deepEqual(parseHostOption('2001:db8::1'), { address: '2001:db8::1', port: 7480 });
  for (const bad of ['web2', '192.0.2.12:0', '192.0.2.12:99999', '', '1.2.3.4:80:90']) {
    assert.throws(() => parseHostOption(bad), /--host .*expected ADDR or ADDR:PORT/, bad);
  }
});

test('--host is refused by commands that work on this host only, before they do anything', async () => {
  const errors: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => { errors.push(String(chunk)); return true; }) as typeof process.stderr.write;
  try {
    const code = await main(['--data-dir', '/nonexistent/cellblock-test', '--host', '192.0.2.12', 'pool', 'ls']);
    assert.equal(code, 1);
  } finally {
    process.stderr.write = write;
  }
  assert.match(errors.join(''), /--host does not apply to cellblock pool ls/);
});

/** Runs the CLI in-process and returns its exit code and what it wrote to stderr. */
async function run(args: string[]): Promise<{ code: number; stderr: string }> {
  const errors: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => { errors.push(String(chunk)); return true; }) as typeof process.stderr.write;
  try {
    const code = await main(['--data-dir', '/nonexistent/cellblock-test', ...args]);
    return { code, stderr: errors.join('') };
  } finally {
    process.stderr.write = write;
  }
}

test('the commands that opt in to --host are the fix\'s list: agent commands, not local ones', async () => {
  const r = await run(['--host', '192.0.2.12', 'cluster', 'init']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--host does not apply to cellblock cluster init: it works on this host only/);
  const list = /--host works with: (.*)/.exec(r.stderr)?.[1]?.split(', ') ?? [];
  for (const c of ['jail ls', 'jail logs', 'jail exec', 'cluster status', 'cluster token', 'cluster remove', 'host ls', 'host drain', 'apply', 'diff', 'status', 'delete', 'image push']) assert.ok(list.includes(c), c);
  for (const c of ['cluster init', 'cluster join', 'cluster leave', 'pool ls', 'image build', 'stack validate', 'agent']) assert.ok(!list.includes(c), c);
});

test('--host is refused after the command too, and accepted (before or after) by one that opted in', async () => {
  assert.match((await run(['pool', 'ls', '--host', '192.0.2.12'])).stderr, /--host does not apply to cellblock pool ls/);
  for (const args of [['--host', '192.0.2.12', 'jail', 'ls'], ['jail', 'ls', '--host', '192.0.2.12']]) {
    const r = await run(args);
    assert.equal(r.code, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /does not apply/);
    // it went for this host's certificate, to talk to the other host over mutual TLS
    assert.match(r.stderr, /\/nonexistent\/cellblock-test/);
  }
});
