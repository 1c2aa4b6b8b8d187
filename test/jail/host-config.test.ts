import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bridgeFor, instanceFor, loadHostConfig, readHostConfig, withSubnet, writeHostSubnet } from '../../src/jail/host-config.js';
import { parseSubnet } from '../../src/jail/ipam.js';

test('withSubnet changes only the subnet, and gives a new data dir its defaults', () => {
  const s = parseSubnet('subnet', '10.9.0.0/16');
  assert.deepEqual(withSubnet('/d', { instance: 'hx', subnet: '10.77.0.0/24', bridge: 'cbbrx' }, s), { instance: 'hx', subnet: '10.9.0.0/16', bridge: 'cbbrx' });
  const inst = instanceFor('/d');
  assert.deepEqual(withSubnet('/d', undefined, s), { instance: inst, subnet: '10.9.0.0/16', bridge: bridgeFor(inst) });
});

test('writeHostSubnet rewrites host.json; loadHostConfig then reads the new subnet', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cbhostcfg-'));
  try {
    assert.equal(await readHostConfig(dir), undefined);
    const first = await loadHostConfig(dir);
    assert.equal(first.config.subnet, '10.77.0.0/24');
    const next = await writeHostSubnet(dir, parseSubnet('subnet', '10.78.0.0/24'));
    assert.deepEqual(next, { ...first.config, subnet: '10.78.0.0/24' });
    assert.deepEqual(await readHostConfig(dir), next);
    assert.equal((await loadHostConfig(dir, { subnet: '10.78.0.0/24' })).subnet.cidr, '10.78.0.0/24');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
