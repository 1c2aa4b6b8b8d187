import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostPathOf } from '../../src/jail/paths.js';
import type { JailSpec } from '../../src/jail/model.js';
import type { HostInfo } from '../../src/jail/oci.js';

const spec = {
  name: 'web', instance: 'h1', image: { name: 'site', tag: 'v1' }, imagePath: '/pool/.snapshots/images/site/v1@image',
  writablePath: '/pool/jails/web', pids: 64, env: {}, user: { uid: 0, gid: 0 }, rw: ['/srv/data'], restart: 'no',
  command: ['/app/run'], netnsPath: '/run/netns/x', hostname: 'web',
} as JailSpec;
const merged: HostInfo = { arch: 'x86_64', usrMerged: true, hostRootDirs: ['bin', 'lib', 'lib64', 'sbin'], cgroupVersion: 1, cgroupNamespace: true, swapAccounting: false };

test('jail paths map through the bind mounts to the host', () => {
  const at = (p: string, h = merged) => hostPathOf(spec, h, '/d/jails/web/bundle', p);
  assert.equal(at('/usr/bin/python3'), '/usr/bin/python3');
  assert.equal(at('/bin/sh'), '/usr/bin/sh', 'merged /usr: /bin is a symlink to usr/bin');
  assert.equal(at('/app/run'), '/pool/.snapshots/images/site/v1@image/run');
  assert.equal(at('/app'), '/pool/.snapshots/images/site/v1@image');
  assert.equal(at('/tmp/x'), '/pool/jails/web/tmp/x');
  assert.equal(at('/srv/data/db'), '/pool/jails/web/srv/data/db');
  assert.equal(at('/etc/hosts'), '/d/jails/web/bundle/etc/hosts');
  assert.equal(at('/application'), undefined, 'a prefix of a name is not its parent');
  assert.equal(at('/opt/thing'), undefined);
  assert.equal(at('/app/../usr/bin/env'), '/usr/bin/env');
  assert.equal(at('/bin/sh', { ...merged, usrMerged: false }), '/bin/sh', 'split /usr: /bin is bound from the host');
});
