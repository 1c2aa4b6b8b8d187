// ip argv builders and plans (deep equality), parsers on output captured from iproute2 6.1
// (Debian 12) in test/fixtures/jail/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  addrAdd, addrShow, linkAddrShow, bridgeAdd, bridgePlan, checkIfName, ip, jailNetworkPlan, jailTeardownPlan, linkDel, linkSetMaster,
  linkSetNetns, linkSetUp, linkShow, netnsAdd, netnsDel, netnsList, parseAddrShow, parseLinkShow, parseNetnsList,
  routeAddDefault, vethAdd,
} from '../../src/jail/net.js';
import { parseSubnet } from '../../src/jail/ipam.js';
import { jailNames, vethName } from '../../src/jail/naming.js';
import { UserError } from '../../src/sys/errors.js';

const FIX = fileURLToPath(new URL('../../../test/fixtures/jail/', import.meta.url));
const fixture = (n: string) => readFileSync(FIX + n, 'utf8');

test('ip() drops an unset namespace, adds -n for a set one', () => {
  assert.deepEqual(ip(undefined, 'link', 'show'), ['ip', 'link', 'show']);
  assert.deepEqual(ip('ns1', 'link', 'show'), ['ip', '-n', 'ns1', 'link', 'show']);
});

test('single commands', () => {
  assert.deepEqual(netnsAdd('cb-web@h1'), ['ip', 'netns', 'add', 'cb-web@h1']);
  assert.deepEqual(netnsDel('cb-web@h1'), ['ip', 'netns', 'del', 'cb-web@h1']);
  assert.deepEqual(netnsList(), ['ip', '-j', 'netns', 'list']);
  assert.deepEqual(bridgeAdd('cb0'), ['ip', 'link', 'add', 'name', 'cb0', 'type', 'bridge']);
  assert.deepEqual(vethAdd('cbvX', 'eth0', 'ns'), ['ip', 'link', 'add', 'cbvX', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', 'ns']);
  assert.deepEqual(vethAdd('cbvX', 'eth0', 'ns', '02:cb:0a:4d:00:05'), ['ip', 'link', 'add', 'cbvX', 'type', 'veth', 'peer', 'name', 'eth0', 'address', '02:cb:0a:4d:00:05', 'netns', 'ns']);
  assert.deepEqual(linkSetNetns('cbvX', 'ns'), ['ip', 'link', 'set', 'dev', 'cbvX', 'netns', 'ns']);
  assert.deepEqual(linkSetMaster('cbvX', 'cb0'), ['ip', 'link', 'set', 'dev', 'cbvX', 'master', 'cb0']);
  assert.deepEqual(linkSetUp('cb0'), ['ip', 'link', 'set', 'dev', 'cb0', 'up']);
  assert.deepEqual(linkSetUp('eth0', 'ns'), ['ip', '-n', 'ns', 'link', 'set', 'dev', 'eth0', 'up']);
  assert.deepEqual(linkDel('cb0'), ['ip', 'link', 'del', 'dev', 'cb0']);
  assert.deepEqual(linkShow('cb0'), ['ip', '-j', '-d', 'link', 'show', 'dev', 'cb0']);
  assert.deepEqual(addrAdd('10.77.0.1/24', 'cb0'), ['ip', 'addr', 'add', '10.77.0.1/24', 'dev', 'cb0']);
  assert.deepEqual(addrShow('cb0'), ['ip', '-j', '-4', 'addr', 'show', 'dev', 'cb0']);
  assert.deepEqual(linkAddrShow('cb0'), ['ip', '-j', '-d', 'addr', 'show', 'dev', 'cb0']);
  assert.deepEqual(routeAddDefault('10.77.0.1', 'ns'), ['ip', '-n', 'ns', 'route', 'add', 'default', 'via', '10.77.0.1']);
});

test('bridgePlan', () => {
  assert.deepEqual(bridgePlan('cb0', parseSubnet('s', '10.77.0.0/24')), [
    { argv: ['ip', 'link', 'add', 'name', 'cb0', 'type', 'bridge'], undo: ['ip', 'link', 'del', 'dev', 'cb0'] },
    { argv: ['ip', 'addr', 'add', '10.77.0.1/24', 'dev', 'cb0'] },
    { argv: ['ip', 'link', 'set', 'dev', 'cb0', 'up'] },
  ]);
});

test('jailNetworkPlan wires the veth into the bridge and the namespace, address and route last', () => {
  const n = jailNames('h1', 'web');
  const v = n.vethHost;
  assert.deepEqual(jailNetworkPlan(n, 'cb0', parseSubnet('s', '10.77.0.0/24'), '10.77.0.5'), [
    { argv: ['ip', 'netns', 'add', 'cb-web@h1'], undo: ['ip', 'netns', 'del', 'cb-web@h1'] },
    { argv: ['ip', 'link', 'add', v, 'type', 'veth', 'peer', 'name', 'eth0', 'address', '02:cb:0a:4d:00:05', 'netns', 'cb-web@h1'], undo: ['ip', 'link', 'del', 'dev', v] },
    { argv: ['ip', 'link', 'set', 'dev', v, 'master', 'cb0'] },
    { argv: ['ip', 'link', 'set', 'dev', v, 'up'] },
    { argv: ['ip', '-n', 'cb-web@h1', 'link', 'set', 'dev', 'lo', 'up'] },
    { argv: ['ip', '-n', 'cb-web@h1', 'addr', 'add', '10.77.0.5/24', 'dev', 'eth0'] },
    { argv: ['ip', '-n', 'cb-web@h1', 'link', 'set', 'dev', 'eth0', 'up'] },
    { argv: ['ip', '-n', 'cb-web@h1', 'route', 'add', 'default', 'via', '10.77.0.1'] },
  ]);
  assert.deepEqual(jailTeardownPlan(n), [['ip', 'link', 'del', 'dev', v], ['ip', 'netns', 'del', 'cb-web@h1']]);
});

test('names: derived only from instance and jail; veth fits in 15 characters', () => {
  const n = jailNames('h1', 'web');
  assert.deepEqual(n, {
    instance: 'h1', jail: 'web', containerId: 'web', netns: 'cb-web@h1', netnsPath: '/run/netns/cb-web@h1',
    vethHost: vethName('h1', 'web'), vethJail: 'eth0', cgroupsPath: '/cellblock/h1/web',
  });
  assert.match(n.vethHost, /^cbv[0-9a-f]{12}$/);
  assert.equal(vethName('h1', 'web'), 'cbv2f0039cd241d', 'stable across releases: sha256("h1/web")');
  assert.notEqual(vethName('h1', 'web'), vethName('h2', 'web'), 'instances differ');
  assert.notEqual(vethName('h1', 'web'), vethName('h1', 'web2'));
  assert.notEqual(vethName('h1-w', 'eb'), vethName('h1', 'w-eb'), 'the separator is not a name character');
  assert.notEqual(jailNames('a-b', 'c').netns, jailNames('a', 'b-c').netns, 'netns names are unambiguous');
  const long = jailNames('h'.repeat(63), 'j'.repeat(63));
  assert.equal(long.vethHost.length, 15);
  assert.throws(() => jailNames('h1', 'Web'), UserError);
  assert.throws(() => jailNames('../x', 'web'), UserError);
});

test('checkIfName', () => {
  for (const ok of ['cb0', 'cbt1a2b', 'br-jails', 'a'.repeat(15)]) assert.equal(checkIfName('bridge', ok), ok);
  for (const bad of ['', 'a'.repeat(16), 'a/b', 'a b', '.', '..', 'ä']) assert.throws(() => checkIfName('bridge', bad), UserError, bad);
});

test('parsers on captured iproute2 output', () => {
  assert.deepEqual(parseAddrShow(fixture('ip-addr-show-bridge.json')), ['10.231.9.1/24']);
  assert.deepEqual(parseAddrShow(fixture('ip-addr-show-empty.json')), []);
  assert.deepEqual(parseAddrShow(''), []);
  assert.deepEqual(parseLinkShow(fixture('ip-link-show-bridge.json')), { name: 'cbtfx0', up: true, kind: 'bridge' });
  assert.deepEqual(parseLinkShow(fixture('ip-link-show-veth.json')), { name: 'cbvfx0', up: false, kind: 'veth', master: 'cbtfx0' });
  assert.equal(parseLinkShow(''), undefined);
  assert.deepEqual(parseNetnsList(fixture('ip-netns-list.json')), ['cbtfx-ns']);
  assert.deepEqual(parseNetnsList(fixture('ip-netns-list-empty.txt')), []);
  assert.deepEqual(parseNetnsList(''), [], 'no /run/netns at all: ip prints nothing');
});

test('batchPlan groups consecutive commands per namespace; netns add runs alone', async () => {
  const { batchPlan } = await import('../../src/jail/net.js');
  assert.deepEqual(batchPlan([
    ['ip', 'netns', 'add', 'x'],
    ['ip', 'link', 'set', 'dev', 'a', 'up'],
    ['ip', 'link', 'set', 'dev', 'b', 'up'],
    ['ip', '-n', 'x', 'addr', 'add', '10.0.0.2/24', 'dev', 'eth0'],
    ['ip', '-j', 'link', 'show'],
    ['ip', '-n', 'x', 'link', 'set', 'dev', 'lo', 'up'],
  ]), [
    { argv: ['ip', 'netns', 'add', 'x'] },
    { argv: ['ip', '-batch', '-'], input: 'link set dev a up\nlink set dev b up\n' },
    { argv: ['ip', '-n', 'x', 'addr', 'add', '10.0.0.2/24', 'dev', 'eth0'] },
    { argv: ['ip', '-j', 'link', 'show'] },
    { argv: ['ip', '-n', 'x', 'link', 'set', 'dev', 'lo', 'up'] },
  ]);
  assert.throws(() => batchPlan([['runc', 'list']]), /not an ip command/);
  assert.deepEqual(batchPlan([['ip', 'link', 'set', 'dev', 'a b', 'up']]), [{ argv: ['ip', 'link', 'set', 'dev', 'a b', 'up'] }], 'an argument a batch line cannot carry runs alone');
});

test("a jail's MAC is derived from its IP, so restarts keep ARP caches right", async () => {
  const { macForIp } = await import('../../src/jail/net.js');
  assert.equal(macForIp('10.77.0.5'), '02:cb:0a:4d:00:05');
  assert.equal(macForIp('10.247.217.254'), '02:cb:0a:f7:d9:fe');
  assert.throws(() => macForIp('10.77.0'), /not an IPv4/);
});
