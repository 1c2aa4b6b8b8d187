import { test } from 'node:test';
import assert from 'node:assert/strict';
import { namesDataDir, parsePid, parsePidLines, processKind } from '../../src/lab/host-procs.js';
import { describeStopped, removalSteps, sweepSteps } from '../../src/lab/host-teardown.js';

test('processKind: agent, etcd, conmon from a command line', () => {
  assert.equal(processKind(['/usr/bin/node', '/repo/bin/cellblock', '--data-dir', '/d', 'agent', '--subnet', '10.1.1.0/24']), 'agent');
  assert.equal(processKind(['/usr/bin/cellblock', 'agent']), 'agent');
  assert.equal(processKind(['etcd', '--config-file', '/d/etcd/etcd.conf']), 'etcd');
  assert.equal(processKind(['/usr/bin/conmon', '--api-version', '1']), 'conmon');
  assert.equal(processKind(['keepalived', '--dont-fork', '--vrrp', '--use-file', '/d/lb/keepalived.conf']), 'keepalived');
  assert.equal(processKind(['/usr/sbin/haproxy', '-W', '-D', '-S', '/lab/t/h1/lb/master.sock,mode,600', '-p', '/lab/t/h1/lb/haproxy.pid', '-f', '/lab/t/h1/lb/haproxy.cfg']), 'haproxy');
  assert.equal(processKind(['/usr/bin/node', '/repo/bin/cellblock', '--data-dir', '/d', 'jail', 'ls']), 'other');
});

test('namesDataDir: the dir, a path under it, --flag=path; never a sibling with a longer name', () => {
  assert.ok(namesDataDir(['x', '--data-dir', '/lab/t/h1'], '/lab/t/h1'));
  assert.ok(namesDataDir(['etcd', '--data-dir=/lab/t/h1/etcd/data'], '/lab/t/h1'));
  assert.ok(namesDataDir(['conmon', '--log-path', 'k8s-file:/lab/t/h1/jails/web/console.log'], '/lab/t/h1/'));
  assert.ok(!namesDataDir(['x', '--data-dir', '/lab/t/h10'], '/lab/t/h1'));
  assert.ok(!namesDataDir(['x', '/lab/t/h10/etcd'], '/lab/t/h1'));
});

test('parsePid and parsePidLines', () => {
  assert.equal(parsePid('1234\n'), 1234);
  assert.equal(parsePid(''), undefined);
  assert.equal(parsePid('1'), undefined);
  assert.equal(parsePid('12ab'), undefined);
  assert.deepEqual(parsePidLines('10\n20\n\nx\n'), [10, 20]);
});

test('removalSteps: containers, only this instance\'s jail namespaces, bridge, pools, cgroups, in order', () => {
  const steps = removalSteps({
    dataDir: '/d', instance: 'h1234abcd', containers: ['web', 'db'], bridge: 'cbbr00ff00ff', pools: ['default'],
    netns: ['cb-web@h1234abcd', 'cb-web@h99999999', 'cbl-t-h0', 'cb-db@h1234abcd'],
  });
  assert.deepEqual(steps.map((s) => s.what), [
    'jail container web', 'jail container db', 'network namespace cb-db@h1234abcd', 'network namespace cb-web@h1234abcd',
    'bridge cbbr00ff00ff', 'pool default', 'cgroups /cellblock/h1234abcd',
  ]);
  assert.deepEqual(steps[0], { kind: 'exec', what: 'jail container web', argv: ['runc', '--root', '/d/runc', 'delete', '--force', 'web'] });
  assert.deepEqual(steps[2], { kind: 'exec', what: 'network namespace cb-db@h1234abcd', argv: ['ip', 'netns', 'del', 'cb-db@h1234abcd'] });
  assert.deepEqual(steps[4], { kind: 'exec', what: 'bridge cbbr00ff00ff', argv: ['ip', 'link', 'del', 'dev', 'cbbr00ff00ff'], okCodes: [0, 1] });
});

test('removalSteps: without a bridge (a lab host: it goes with the namespace) and with nothing found', () => {
  assert.deepEqual(removalSteps({ dataDir: '/d', instance: 'h1', containers: [], netns: [], pools: [] }).map((s) => s.kind), ['cgroups']);
});

test('sweepSteps: deepest mount first, then loop devices, then the dir', () => {
  const steps = sweepSteps('/d', ['/d/pools/default', '/d/pools/default/x/y', '/d/a'], [{ device: '/dev/loop7', backFile: '/d/pools/default.img' }]);
  assert.deepEqual(steps.map((s) => (s.kind === 'exec' ? s.argv.join(' ') : `${s.kind} ${s.what}`)), [
    'umount /d/pools/default/x/y', 'umount /d/pools/default', 'umount /d/a', 'losetup -d /dev/loop7', 'rm data dir /d',
  ]);
  assert.equal(sweepSteps('/d', [], [], true).at(-1)!.what, 'the contents of /d');
});

test('describeStopped: what host stop prints', () => {
  assert.equal(describeStopped([
    { kind: 'agent', pid: 10, how: 'stopped' }, { kind: 'jail', jail: 'web', pid: 12, how: 'stopped' }, { kind: 'etcd', pid: 11, how: 'killed' },
  ]), 'agent (pid 10), jail web (pid 12), etcd (pid 11, killed)');
  assert.equal(describeStopped([]), '');
});
