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
