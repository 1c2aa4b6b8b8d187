/** lb/ports.ts: /proc/net/tcp parsed (captured text), and a real listener of this test found with its program. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { parseProcNetTcp, portsInUse, type ProcFs } from '../../src/lb/ports.js';

// captured on Debian 12 (kernel 6.1): two listeners (2024 on 0.0.0.0, 8080 on 127.0.0.1), one established connection
const TCP = [
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode                                                     ',
  '   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 235 1 000000001ef55be0 100 0 0 10 0                       ',
  '   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1703989 1 00000000b7252399 100 0 0 10 0                   ',
  '   2: 0100007F:1F90 0100007F:D6A2 01 00000000:00000000 00:00000000 00000000     0        0 1703990 1 00000000b7252399 20 4 30 10 -1                  ',
  '',
].join('\n');
// an IPv6 listener on :: port 80
const TCP6 = [
  '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
  '   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0',
  '',
].join('\n');

test('parseProcNetTcp: listening sockets only, IPv4 and IPv6', () => {
  assert.deepEqual(parseProcNetTcp(TCP), [{ port: 2024, inode: '235' }, { port: 8080, inode: '1703989' }]);
  assert.deepEqual(parseProcNetTcp(TCP6), [{ port: 80, inode: '4242' }]);
  assert.deepEqual(parseProcNetTcp(''), []);
});

test('portsInUse: owners found through /proc/PID/fd; HAProxy\'s own left out; no tcp6 is no error', async () => {
  const fake = (tcp6: string | undefined): ProcFs => ({
    readFile: async (p) => {
      const files: Record<string, string> = { '/proc/net/tcp': TCP, '/proc/10/comm': 'nginx\n', '/proc/11/comm': 'haproxy\n' };
      if (tcp6 !== undefined) files['/proc/net/tcp6'] = tcp6;
      if (files[p] === undefined) throw Object.assign(new Error(`ENOENT ${p}`), { code: 'ENOENT' });
      return files[p]!;
    },
    readdir: async (p) => ({ '/proc': ['10', '11', 'self', '12'], '/proc/10/fd': ['0', '3'], '/proc/11/fd': ['4'] } as Record<string, string[]>)[p] ?? Promise.reject(Object.assign(new Error('gone'), { code: 'ENOENT' })),
    readlink: async (p) => ({ '/proc/10/fd/3': 'socket:[235]', '/proc/10/fd/0': '/dev/null', '/proc/11/fd/4': 'socket:[4242]' } as Record<string, string>)[p] ?? '',
  });
  assert.deepEqual(await portsInUse([80, 2024, 8080, 9000], fake(TCP6)), [{ port: 2024, process: 'nginx' }, { port: 8080 }]);
  assert.deepEqual(await portsInUse([80, 9000], fake(undefined)), []);
});

test('portsInUse on this host: a port this test listens on is found, with its program', async () => {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  try {
    const port = (server.address() as { port: number }).port;
    const found = await portsInUse([port]);
    assert.equal(found.length, 1);
    assert.equal(found[0]!.port, port);
    assert.match(found[0]!.process ?? '', /node/);
  } finally {
    await new Promise((ok) => server.close(ok));
  }
});
