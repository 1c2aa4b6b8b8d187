import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextFreeSubnet, parseRange, DEFAULT_CLUSTER_RANGE } from '../../src/cluster/subnets.js';

test('the next free /24 skips every subnet that overlaps a taken one', () => {
  assert.equal(nextFreeSubnet(DEFAULT_CLUSTER_RANGE, []), '10.77.0.0/24');
  assert.equal(nextFreeSubnet(DEFAULT_CLUSTER_RANGE, ['10.77.0.0/24', '10.77.1.0/24']), '10.77.2.0/24');
  assert.equal(nextFreeSubnet(DEFAULT_CLUSTER_RANGE, ['10.77.0.0/24', '10.77.2.0/24']), '10.77.1.0/24', 'a gap is reused');
  assert.equal(nextFreeSubnet(DEFAULT_CLUSTER_RANGE, ['10.77.0.0/23']), '10.77.2.0/24', 'a wider subnet covers several /24');
  assert.equal(nextFreeSubnet(DEFAULT_CLUSTER_RANGE, ['10.77.5.128/25']), '10.77.0.0/24');
  assert.equal(nextFreeSubnet('10.80.0.0/24', ['10.99.0.0/24']), '10.80.0.0/24', 'subnets outside the range do not matter');
  assert.equal(nextFreeSubnet('10.80.0.0/16', [], ['10.80.0.7', '10.80.1.1']), '10.80.2.0/24', 'never the network the hosts are on');
  assert.throws(() => nextFreeSubnet('10.80.0.0/23', ['10.80.0.0/24', '10.80.1.0/24']), (e: Error & { fix?: string }) => /every \/24 of the cluster range 10\.80\.0\.0\/23 is taken \(2 hosts\)/.test(e.message) && /cluster remove/.test(e.fix ?? ''));
});

test('a range is a network of /8 to /24', () => {
  assert.equal(parseRange('--range', '10.80.0.0/16').cidr, '10.80.0.0/16');
  assert.throws(() => parseRange('--range', '10.80.0.0/25'), /smaller than one host's \/24/);
  assert.throws(() => parseRange('--range', '10.80.0.1/16'), /host bits set/);
  assert.throws(() => parseRange('--range', '10.80.0.0'), /expected A\.B\.C\.D\/PREFIX/);
});
