import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isReady, progressLines } from '../../src/cli/commands/stack/apply.js';
import { stackName } from '../../src/cli/commands/stack/common.js';
import type { ReplicaStatus, ServiceStatus } from '../../src/cluster/stacks.js';

const svc = (instances: Partial<ReplicaStatus>[]): ServiceStatus => ({
  stack: 'web', service: 'site', image: 'site:v1', replicas: instances.length, specHash: 'h', ready: instances.filter((i) => i.healthy).length,
  instances: instances.map((i, n) => ({ replica: n, host: 'a', current: true, phase: 'running', healthy: false, ip: null, message: null, ...i })),
});

test('apply prints a line per replica only when its host, phase or health changes', () => {
  const seen = new Map<string, string>();
  assert.deepEqual(progressLines(seen, [svc([{ host: null, phase: 'unplaced' }, { phase: 'pulling' }])]), ['web/site#0 not placed', 'web/site#1 on a: pulling']);
  assert.deepEqual(progressLines(seen, [svc([{ host: null, phase: 'unplaced' }, { phase: 'pulling' }])]), []);
  assert.deepEqual(progressLines(seen, [svc([{ host: 'b', phase: 'running', message: 'connection refused' }, { healthy: true }])]), [
    'web/site#0 on b: running - connection refused',
    'web/site#1 on a: healthy',
  ]);
  assert.deepEqual(progressLines(seen, [svc([{ host: 'b', current: false }])]).slice(0, 1), ['web/site#0 on b: running (old spec)']);
  // a new replica is created (or its image pulled) with the new spec: no "old spec" then
  assert.deepEqual(progressLines(new Map(), [svc([{ host: 'c', current: false, phase: 'creating' }, { current: false, phase: 'pulling' }])]), ['web/site#0 on c: creating', 'web/site#1 on a: pulling']);
});

test('ready means every replica of every service healthy on the current spec', () => {
  assert.equal(isReady([svc([{ healthy: true }, { healthy: true }])]), true);
  assert.equal(isReady([svc([{ healthy: true }, { healthy: false }])]), false);
  assert.equal(isReady([]), true);
});

test('the stack is named after its file unless --name says otherwise', () => {
  assert.equal(stackName('deploy/web.yml', undefined), 'web');
  assert.equal(stackName('stack.yaml', undefined), 'stack');
  assert.equal(stackName('x.yml', 'prod'), 'prod');
  assert.throws(() => stackName('my.app.yml', undefined), /would be "my.app".*not a valid stack name/);
  assert.throws(() => stackName(undefined, undefined), /say which stack/);
});
