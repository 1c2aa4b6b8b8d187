import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  agentArgv, checkHostCount, checkLabName, findHost, hostBatch, hostCli, hostVethAdd, inClient, initArgs, joinArgs, labOctet, planLab, portCut, portUp, switchBatch,
} from '../../src/lab/plan.js';
import { UserError } from '../../src/sys/errors.js';

test('planLab: names, addresses, subnets and paths of every host', () => {
  const p = planLab('demo', 3, '/srv/labs');
  const x = labOctet('demo');
  assert.ok(x >= 100 && x < 150);
  assert.equal(p.dir, '/srv/labs/demo');
  assert.equal(p.stateFile, '/srv/labs/demo/lab.json');
  assert.equal(p.switchNs, 'cbl-demo-sw');
  assert.equal(p.lan, `10.${x}.0.0/24`);
  assert.deepEqual(p.hosts[2], {
    name: 'h2', index: 2, netns: 'cbl-demo-h2', nsPath: '/run/netns/cbl-demo-h2', port: 'p2',
    address: `10.${x}.0.3`, subnet: `10.${x}.3.0/24`, dataDir: '/srv/labs/demo/h2', agentLog: '/srv/labs/demo/h2.agent.log',
  });
  // every jail subnet differs from the LAN and from each other
  assert.equal(new Set([p.lan, ...p.hosts.map((h) => h.subnet)]).size, 4);
});

test('planLab: the octet depends on the name only, and names spread over 100..149', () => {
  assert.equal(planLab('a', 1).lan, planLab('a', 5).lan);
  const seen = new Set(Array.from({ length: 200 }, (_, i) => labOctet(`n${i}`)));
  assert.ok(seen.size > 30, `${seen.size} octets`);
  for (const o of seen) assert.ok(o >= 100 && o <= 149);
});

test('interface names stay short whatever the lab name (only namespace names carry it)', () => {
  const p = planLab('abcdefghijklmnop', 9);
  for (const h of p.hosts) assert.ok(h.port.length <= 15);
  assert.deepEqual(hostVethAdd(p, p.hosts[8]!), ['ip', '-n', 'cbl-abcdefghijklmnop-sw', 'link', 'add', 'name', 'p8', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', 'cbl-abcdefghijklmnop-h8']);
});

test('bad names and host counts are refused with the field and a fix', () => {
  for (const bad of ['', 'Lab', '1lab', 'a-b', 'a_b', 'abcdefghijklmnopq', 'x y', 7]) {
    assert.throws(() => checkLabName(bad), (e: unknown) => e instanceof UserError && /--name: invalid lab name/.test(e.message) && Boolean(e.fix));
  }
  assert.equal(checkLabName('t1a2'), 't1a2');
  for (const bad of ['0', '10', 'three', '2.5', -1, 1.5]) {
    assert.throws(() => checkHostCount(bad), (e: unknown) => e instanceof UserError && /--hosts: expected a whole number from 1 to 9/.test(e.message));
  }
  assert.equal(checkHostCount('3'), 3);
  assert.equal(checkHostCount(9), 9);
});

test('findHost: by name or index; an unknown one names the hosts there are', () => {
  const p = planLab('t', 2);
  assert.equal(findHost(p.hosts, 'h1', 't').index, 1);
  assert.equal(findHost(p.hosts, '0', 't').name, 'h0');
  assert.throws(() => findHost(p.hosts, 'h5', 't'), (e: unknown) => e instanceof UserError && /lab t has no host "h5"/.test(e.message) && e.fix === 'use one of h0, h1');
});

test('argv builders: switch, ports, host side, CLI, agent, cluster', () => {
  const p = planLab('t', 2, '/r');
  const h = p.hosts[1]!;
  assert.equal(switchBatch(), 'link set dev lo up\nlink add name br0 type bridge\nlink set dev br0 up\n');
  assert.equal(hostBatch(h), `link set dev lo up\naddr add ${h.address}/24 dev eth0\nlink set dev eth0 up\n`);
  assert.deepEqual(portCut(p, h), ['ip', '-n', 'cbl-t-sw', 'link', 'set', 'dev', 'p1', 'nomaster']);
  assert.deepEqual(portUp(p, h), ['ip', '-n', 'cbl-t-sw', 'link', 'set', 'dev', 'p1', 'master', 'br0', 'up']);
  assert.deepEqual(hostCli(h, '/usr/bin/node', '/repo/bin/cellblock', ['jail', 'ls']), ['nsenter', '--net=/run/netns/cbl-t-h1', '--', '/usr/bin/node', '/repo/bin/cellblock', '--data-dir', '/r/t/h1', 'jail', 'ls']);
  assert.deepEqual(agentArgv(h, 'node', 'bin', ['--log-level', 'debug']), ['nsenter', '--net=/run/netns/cbl-t-h1', '--', 'node', 'bin', '--data-dir', '/r/t/h1', 'agent', '--subnet', h.subnet, '--log-level', 'debug']);
  // in a cluster lab the cluster hands out the subnets
  assert.deepEqual(agentArgv(h, 'node', 'bin', [], { subnet: false }), ['nsenter', '--net=/run/netns/cbl-t-h1', '--', 'node', 'bin', '--data-dir', '/r/t/h1', 'agent']);
  assert.deepEqual(initArgs(p), ['cluster', 'init', '--advertise', p.hosts[0]!.address, '--name', 'h0']);
  assert.deepEqual(joinArgs(p, h, 'cbj1.x.y'), ['cluster', 'join', p.hosts[0]!.address, '--token', 'cbj1.x.y', '--advertise', h.address, '--name', 'h1']);
});

test('the client position: an address on the switch\'s bridge, outside every host; a suggested VIP on the LAN', () => {
  const p = planLab('vip', 9);
  const x = labOctet('vip');
  assert.deepEqual(p.client, { address: `10.${x}.0.250`, nsPath: '/run/netns/cbl-vip-sw' });
  assert.equal(p.vip, `10.${x}.0.100`);
  const taken = new Set(p.hosts.map((h) => h.address));
  assert.ok(!taken.has(p.client.address) && !taken.has(p.vip));
  assert.equal(switchBatch(p.client.address), `link set dev lo up\nlink add name br0 type bridge\naddr add 10.${x}.0.250/24 dev br0\nlink set dev br0 up\n`);
  assert.deepEqual(inClient(p, ['ping', '-c1', p.vip]), ['nsenter', '--net=/run/netns/cbl-vip-sw', '--', 'ping', '-c1', p.vip]);
});
