import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostsOf, offered, type ClusterSnapshot } from '../../src/cluster/snapshot.js';
import { parseOvercommit } from '../../src/cluster/subnets.js';
import type { HostLive } from '../../src/cluster/model.js';
import { UserError } from '../../src/sys/errors.js';

const G = 1024 ** 3;
const live = (name: string, diskBytes?: number): HostLive => ({
  name, address: '10.9.0.1', apiPort: 7480, subnet: '10.77.0.0/24', etcd: 'member', version: 'dev', startedAt: 'x',
  capacity: { memoryBytes: 8 * G, cpus: 2, jails: 250, ...(diskBytes !== undefined ? { diskBytes } : {}) },
});
const snap = (settings?: ClusterSnapshot['settings']): ClusterSnapshot => ({
  live: new Map([['a', live('a', 10 * G)], ['b', live('b')]]), info: new Map(), ctl: new Map(), services: [], placements: new Map(), observed: [], rollouts: [], lbStates: [],
  ...(settings ? { settings } : {}),
});

test('hostsOf offers each host\'s pool times the overcommit ratio (1 when unset); a host without a pool size is not counted', () => {
  assert.deepEqual(hostsOf(snap()).map((h) => [h.name, h.capacity.diskBytes]), [['a', 10 * G], ['b', undefined]]);
  assert.deepEqual(hostsOf(snap({ jailRange: '10.77.0.0/16', overcommit: 1.5 })).map((h) => [h.name, h.capacity.diskBytes]), [['a', 15 * G], ['b', undefined]]);
  assert.deepEqual(offered({ memoryBytes: 1, cpus: 1, jails: 1, diskBytes: 3 }, 1.5), { memoryBytes: 1, cpus: 1, jails: 1, diskBytes: 4 });
});

test('--overcommit: a ratio from 1 to 100', () => {
  assert.equal(parseOvercommit('--overcommit', '1'), 1);
  assert.equal(parseOvercommit('--overcommit', '1.5'), 1.5);
  assert.equal(parseOvercommit('--overcommit', 100), 100);
  for (const bad of ['0.5', '0', '-1', 'two', '', '101', '1e2']) {
    assert.throws(() => parseOvercommit('--overcommit', bad), (e: unknown) => e instanceof UserError && e.message.startsWith('--overcommit: invalid ratio') && /from 1 \(no overcommit\) to 100/.test(e.fix ?? ''), bad);
  }
});

test('defaultDiskOf: the cluster\'s --default-disk for the leader\'s plan, when set', async () => {
  const { defaultDiskOf } = await import('../../src/cluster/snapshot.js');
  assert.deepEqual(defaultDiskOf({}), {});
  assert.deepEqual(defaultDiskOf({ settings: { jailRange: '10.77.0.0/16' } }), {});
  assert.deepEqual(defaultDiskOf({ settings: { jailRange: '10.77.0.0/16', defaultDisk: 2 * G } }), { defaultDiskBytes: 2 * G });
});
