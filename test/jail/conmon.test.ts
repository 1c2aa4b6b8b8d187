import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conmonArgv, superviseLayout } from '../../src/jail/conmon.js';

test('conmon creates the container with runc, logging and exit files under the jail dir', () => {
  const layout = superviseLayout('/d/jails/web', 'web');
  assert.equal(layout.exitFile, '/d/jails/web/run/exit/web');
  assert.equal(layout.oomFile, '/d/jails/web/run/persist/oom');
  assert.deepEqual(conmonArgv({ id: 'web', bundle: '/d/jails/web/bundle', runcPath: '/usr/sbin/runc', runcRoot: '/d/runc', layout, logSizeMax: 1024 }), [
    'conmon', '--api-version', '1', '--cid', 'web', '--cuuid', 'web', '--name', 'web', '--runtime', '/usr/sbin/runc',
    '--bundle', '/d/jails/web/bundle', '--container-pidfile', '/d/jails/web/run/init.pid', '--conmon-pidfile', '/d/jails/web/run/conmon.pid',
    '--log-path', 'k8s-file:/d/jails/web/console.log', '--log-size-max', '1024', '--exit-dir', '/d/jails/web/run/exit',
    '--persist-dir', '/d/jails/web/run/persist', '--socket-dir-path', '/d/jails/web/run/sock',
    '--runtime-arg', '--root', '--runtime-arg', '/d/runc', '--runtime-arg', '--log', '--runtime-arg', '/d/jails/web/run/runc.log',
    '--runtime-arg', '--log-format', '--runtime-arg', 'json',
  ]);
});
