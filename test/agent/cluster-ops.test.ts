import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import type { NetworkInterfaceInfo } from 'node:os';
import { checkEtcdPorts, defaultAdvertise } from '../../src/agent/cluster-ops.js';

const v4 = (address: string, internal = false) => ({ address, family: 'IPv4', internal, netmask: '255.255.255.0', mac: '00:00:00:00:00:00', cidr: `${address}/24` }) as NetworkInterfaceInfo;

test('the default --advertise is the one address outside loopback and the jail subnet', () => {
  assert.equal(defaultAdvertise('10.77.3.0/24', { lo: [v4('127.0.0.1', true)], eth0: [v4('192.0.2.10')], cbbr1: [v4('10.77.3.1')] }), '192.0.2.10');
});

test('no address, or several, asks for --advertise', () => {
  assert.throws(() => defaultAdvertise('10.77.3.0/24', { lo: [v4('127.0.0.1', true)], cbbr1: [v4('10.77.3.1')] }), /no IPv4 address besides loopback/);
  assert.throws(() => defaultAdvertise('10.77.3.0/24', { eth0: [v4('192.0.2.10')], eth1: [v4('198.51.100.7')] }), (e: Error & { fix?: string }) => /several addresses \(192\.0\.2\.10, 198\.51\.100\.7\)/.test(e.message) && e.fix === 'pass --advertise ADDR');
});

test('etcd ports already taken are refused with the fix for Debian\'s own etcd', async (t) => {
  const srv: Server = createServer();
  await new Promise<void>((r, j) => { srv.once('error', j); srv.listen(2379, '127.0.0.1', () => r()); }).catch(() => t.skip('port 2379 is in use here already'));
  if (!srv.listening) return;
  try {
    await assert.rejects(checkEtcdPorts('127.0.0.2'), (e: Error & { fix?: string }) => /127\.0\.0\.1:2379 .*another program listens there/.test(e.message) && /systemctl disable --now etcd/.test(e.fix ?? ''));
  } finally {
    await new Promise<void>((r) => srv.close(() => r()));
  }
});
