// The interface and network of the advertise address, and the addresses of an interface, from
// `ip -j -4 addr show` as iproute2 6.1 (Debian 12) prints it: test/fixtures/lb/ip-addr-show-vip.json
// (eth0 with its address and a VIP as secondary, a jail bridge, lo).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { addressesIn, ipAddrShowArgv, networkOf } from '../../src/lb/host-network.js';
import { inCidr } from '../../src/jail/ipam.js';

const OUT = readFileSync(fileURLToPath(new URL('../../../test/fixtures/lb/ip-addr-show-vip.json', import.meta.url)), 'utf8');

test('networkOf: the interface carrying the address and its network', () => {
  assert.deepEqual(networkOf(OUT, '10.9.0.1'), { network: '10.9.0.0/24', interface: 'eth0', prefix: 24 });
  assert.deepEqual(networkOf(OUT, '10.77.1.1'), { network: '10.77.1.0/24', interface: 'br-x', prefix: 24 });
  assert.deepEqual(networkOf(OUT, '127.0.0.1'), { network: '127.0.0.0/8', interface: 'lo', prefix: 8 });
  assert.equal(networkOf(OUT, '10.9.0.7'), undefined);
  assert.equal(networkOf(OUT, 'nonsense'), undefined);
  assert.equal(networkOf('', '10.9.0.1'), undefined);
});

test('addressesIn: every IPv4 address, secondaries (a VIP) included', () => {
  assert.deepEqual(addressesIn(OUT), ['127.0.0.1', '10.9.0.1', '10.9.0.100', '10.77.1.1']);
  assert.deepEqual(addressesIn(''), []);
});

test('inCidr', () => {
  assert.equal(inCidr('10.9.0.0/24', '10.9.0.100'), true);
  assert.equal(inCidr('10.9.0.0/24', '10.9.1.100'), false);
  assert.equal(inCidr('10.9.0.0/16', '10.9.1.100'), true);
  assert.equal(inCidr('garbage', '10.9.1.100'), false);
});

test('ipAddrShowArgv', () => {
  assert.deepEqual(ipAddrShowArgv(), ['ip', '-j', '-4', 'addr', 'show']);
  assert.deepEqual(ipAddrShowArgv('eth0'), ['ip', '-j', '-4', 'addr', 'show', 'dev', 'eth0']);
});
