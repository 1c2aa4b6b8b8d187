/** What an agent claims in the cluster when its runtime starts (hostinfo and its subnet). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { claim } from '../../src/agent/cluster-runtime.js';
import { K } from '../../src/cluster/keys.js';
import { MemoryStore } from '../../src/cluster/memory-store.js';
import type { HostInfo } from '../../src/cluster/model.js';

const info = (name: string, subnet: string): HostInfo => ({ name, address: '10.9.0.1', apiPort: 7480, subnet, joinedAt: 'x' });
const cfg = { clusterId: 'c0ffee000001', name: 'h1', address: '10.9.0.2', apiPort: 7480, joinPort: 7481, role: 'member' as const, endpoints: [], joinedAt: 'x' };

test('claim writes hostinfo and the subnet key; a subnet another host holds or overlaps is refused', async () => {
  const s = new MemoryStore();
  await claim(s, info('h0', '10.77.0.0/24'), cfg);
  assert.equal(await s.getString(K.subnet('10.77.0.0')), 'h0');
  await assert.rejects(claim(s, info('h1', '10.77.0.0/24'), cfg), /already used by host h0/);
  await assert.rejects(claim(s, info('h1', '10.76.0.0/15'), cfg), /overlaps host h0's 10\.77\.0\.0\/24/);
  await s.putJson(K.removed('h1'), { at: 'x' });
  await assert.rejects(claim(s, info('h1', '10.77.1.0/24'), cfg), /taken out of cluster c0ffee000001 with cellblock cluster remove/);
});

test('a host that comes back with another subnet gives its old one back', async () => {
  const s = new MemoryStore();
  await claim(s, info('h0', '10.77.0.0/24'), cfg);
  await claim(s, info('h0', '10.77.9.0/24'), cfg);
  assert.equal(await s.get(K.subnet('10.77.0.0')), undefined);
  assert.equal(await s.getString(K.subnet('10.77.9.0')), 'h0');
  assert.equal((await s.getJson<HostInfo>(K.hostInfo('h0')))?.subnet, '10.77.9.0/24');
});
