import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkMember, etcdArgv, etcdLayout, isEtcdFor, parseHealth } from '../../src/cluster/etcd.js';
import { absoluteKey, hostOfKey, K, KEY_PREFIX, LEADER_KEY } from '../../src/cluster/keys.js';
import { leaderGuard } from '../../src/cluster/election.js';
import { nextRevision } from '../../src/cluster/store.js';
import { UserError } from '../../src/sys/errors.js';

const member = { name: 'h1', clientPort: 40001, peerPort: 40002 };

test('etcd layout under the data dir', () => {
  assert.deepEqual(etcdLayout('/var/lib/cellblock'), {
    dir: '/var/lib/cellblock/etcd',
    dataDir: '/var/lib/cellblock/etcd/data',
    log: '/var/lib/cellblock/etcd/etcd.log',
    config: '/var/lib/cellblock/etcd.json',
    pidFile: '/var/lib/cellblock/run/etcd.pid',
  });
});

test('etcd argv: one member on 127.0.0.1, zap logs to stderr', () => {
  assert.deepEqual(etcdArgv({ member, layout: etcdLayout('/d'), state: 'new' }), [
    'etcd',
    '--name', 'h1',
    '--data-dir', '/d/etcd/data',
    '--listen-client-urls', 'http://127.0.0.1:40001',
    '--advertise-client-urls', 'http://127.0.0.1:40001',
    '--listen-peer-urls', 'http://127.0.0.1:40002',
    '--initial-advertise-peer-urls', 'http://127.0.0.1:40002',
    '--initial-cluster', 'h1=http://127.0.0.1:40002',
    '--initial-cluster-state', 'new',
    '--initial-cluster-token', 'cellblock-h1',
    '--logger', 'zap',
    '--log-outputs', 'stderr',
    '--auto-compaction-mode', 'periodic',
    '--auto-compaction-retention', '1h',
  ]);
  const again = etcdArgv({ member, layout: etcdLayout('/d'), state: 'existing', binary: '/usr/bin/etcd' });
  assert.equal(again[0], '/usr/bin/etcd');
  assert.equal(again[again.indexOf('--initial-cluster-state') + 1], 'existing');
});

test('member record: checked, with a fix in the message', () => {
  assert.deepEqual(checkMember({ ...member }, '/d/etcd.json'), member);
  assert.throws(() => checkMember({ name: 'h1', clientPort: 0, peerPort: 2 }, '/d/etcd.json'), /\/d\/etcd.json: not an etcd member record.*remove it/);
  assert.throws(() => checkMember(null, '/x'), /not an etcd member record/);
  assert.throws(() => checkMember({ ...member, name: '../x' }, '/x'), UserError);
});

test('a PID file is trusted only for an etcd on our data dir', () => {
  const cmd = (...a: string[]) => a.join('\0') + '\0';
  assert.equal(isEtcdFor(cmd('/usr/bin/etcd', '--name', 'h1', '--data-dir', '/d/etcd/data'), '/d/etcd/data'), true);
  assert.equal(isEtcdFor(cmd('etcd', '--data-dir', '/d/etcd/data'), '/d/etcd/data'), true);
  assert.equal(isEtcdFor(cmd('/usr/bin/etcd', '--data-dir', '/other'), '/d/etcd/data'), false);
  assert.equal(isEtcdFor(cmd('/usr/bin/etcdctl', '--data-dir', '/d/etcd/data'), '/d/etcd/data'), false);
  assert.equal(isEtcdFor(cmd('sleep', '100'), '/d/etcd/data'), false);
  assert.equal(isEtcdFor('', '/d/etcd/data'), false);
});

test('health body of etcd 3.4', () => {
  assert.equal(parseHealth('{"health":"true"}'), true);
  assert.equal(parseHealth('{"health":"true","reason":""}'), true);
  assert.equal(parseHealth('{"health":"false","reason":"RAFT NO LEADER"}'), false);
  assert.equal(parseHealth('not json'), false);
});

test('keys: names are checked before they become keys', () => {
  assert.equal(KEY_PREFIX, '/cellblock/');
  assert.equal(K.hostLive('web-1'), 'hosts/web-1');
  assert.equal(absoluteKey(K.hostLive('web-1')), '/cellblock/hosts/web-1');
  assert.equal(absoluteKey(LEADER_KEY), '/cellblock/leader');
  assert.throws(() => K.hostLive('a/b'), UserError);
  assert.throws(() => K.hostLive(''), UserError);
  assert.equal(hostOfKey('hosts/web-1'), 'web-1');
  assert.equal(hostOfKey('hosts/'), undefined);
  assert.equal(hostOfKey('hosts/a/b'), undefined);
  assert.equal(hostOfKey('leader'), undefined);
});

test('leader guard compares the leader key create revision', () => {
  assert.deepEqual(leaderGuard('17'), { key: 'leader', target: 'Create', op: '==', value: '17' });
  assert.equal(nextRevision('9007199254740993'), '9007199254740994');
});
