// The network runtime's sequencing, revert and idempotency with a recording exec that
// answers like iproute2 6.1 (messages from real runs). The real thing: runtime.int.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetworkRuntime } from '../../src/jail/network-runtime.js';
import { parseSubnet } from '../../src/jail/ipam.js';
import { jailNames } from '../../src/jail/naming.js';
import { ExecError, UserError } from '../../src/sys/errors.js';
import type { Exec } from '../../src/sys/exec.js';

type Answer = string | { code: number; stderr: string };

/** Records every argv; `answer` returns stdout, or a failure that is thrown as ExecError. */
function recorder(answer: (argv: string[]) => Answer | undefined = () => '') {
  const calls: string[] = [];
  const exec: Exec = async (argv, opts) => {
    const input = typeof opts?.input === 'string' ? ` <<< ${opts.input.trim().split('\n').join(' | ')}` : '';
    calls.push(argv.join(' ') + input);
    const a = answer([...argv, ...(typeof opts?.input === 'string' ? opts.input.split(/\s+/) : [])]) ?? '';
    if (typeof a === 'string') return { stdout: a, stderr: '', code: 0 };
    throw new ExecError(argv, a.code, a.stderr);
  };
  return { exec, calls };
}

const subnet = parseSubnet('s', '10.77.0.0/24');
const n = jailNames('h1', 'web');
const V = n.vethHost;
const NO_DEVICE = (d: string) => ({ code: 1, stderr: `Device "${d}" does not exist.\n` });
const BRIDGE_ADDR_JSON = '[{"ifname":"cb0","flags":["BROADCAST","MULTICAST","UP"],"linkinfo":{"info_kind":"bridge"},"addr_info":[{"family":"inet","local":"10.77.0.1","prefixlen":24}]}]';

test('ensureBridge creates a missing bridge with the gateway address and brings it up', async () => {
  const r = recorder((a) => (a.includes('show') ? NO_DEVICE('cb0') : ''));
  await new NetworkRuntime(r.exec, 'cb0', subnet).ensureBridge();
  assert.deepEqual(r.calls, [
    'ip -j -d addr show dev cb0',
    'ip link add name cb0 type bridge',
    'ip addr add 10.77.0.1/24 dev cb0',
    'ip link set dev cb0 up',
  ]);
});

test('ensureBridge on a configured bridge that is up only checks, in one process', async () => {
  const r = recorder((a) => (a.includes('show') ? BRIDGE_ADDR_JSON : ''));
  await new NetworkRuntime(r.exec, 'cb0', subnet).ensureBridge();
  assert.deepEqual(r.calls, ['ip -j -d addr show dev cb0']);
});

test('ensureBridge adds only what a bridge lacks: the gateway address, up', async () => {
  const down = '[{"ifname":"cb0","flags":["BROADCAST","MULTICAST"],"linkinfo":{"info_kind":"bridge"},"addr_info":[{"family":"inet6","local":"fe80::1","prefixlen":64}]}]';
  const r = recorder((a) => (a.includes('show') ? down : ''));
  await new NetworkRuntime(r.exec, 'cb0', subnet).ensureBridge();
  assert.deepEqual(r.calls, ['ip -j -d addr show dev cb0', 'ip addr add 10.77.0.1/24 dev cb0', 'ip link set dev cb0 up']);
});

test('ensureBridge refuses a device of that name that is not a bridge', async () => {
  const r = recorder(() => '[{"ifname":"cb0","flags":[],"linkinfo":{"info_kind":"veth"}}]');
  await assert.rejects(new NetworkRuntime(r.exec, 'cb0', subnet).ensureBridge(), (e: unknown) => e instanceof UserError && /cb0 exists and is a veth/.test(e.message));
});

test('ensureBridge removes a bridge it just created when the address cannot be set', async () => {
  const r = recorder((a) => (a.includes('show') ? NO_DEVICE('cb0') : a.includes('addr') && a.includes('add') ? { code: 2, stderr: 'Error: boom.\n' } : ''));
  await assert.rejects(new NetworkRuntime(r.exec, 'cb0', subnet).ensureBridge(), ExecError);
  assert.equal(r.calls.at(-1), 'ip link del dev cb0');
});

test('the bridge name is checked up front', () => {
  assert.throws(() => new NetworkRuntime(recorder().exec, 'a-very-long-bridge-name', subnet), UserError);
});

test('setupJailNetwork runs the plan in three processes: netns add, then one ip -batch per namespace', async () => {
  const r = recorder();
  await new NetworkRuntime(r.exec, 'cb0', subnet).setupJailNetwork(n, '10.77.0.5');
  assert.deepEqual(r.calls, [
    'ip netns add cb-web@h1',
    `ip -batch - <<< link add ${V} type veth peer name eth0 address 02:cb:0a:4d:00:05 netns cb-web@h1 | link set dev ${V} master cb0 | link set dev ${V} up`,
    'ip -n cb-web@h1 -batch - <<< link set dev lo up | addr add 10.77.0.5/24 dev eth0 | link set dev eth0 up | route add default via 10.77.0.1',
  ]);
});

test('setupJailNetwork failing part-way tears down what it made and keeps the cause', async () => {
  const r = recorder((a) => (a.includes('route') ? { code: 2, stderr: 'Error: Nexthop has invalid gateway.\nCommand failed -:4\n' } : ''));
  await assert.rejects(new NetworkRuntime(r.exec, 'cb0', subnet).setupJailNetwork(n, '10.77.0.5'),
    (e: unknown) => e instanceof ExecError && /Nexthop has invalid gateway/.test(e.message));
  assert.deepEqual(r.calls.slice(-2), [`ip link del dev ${V}`, 'ip netns del cb-web@h1']);
});

test('setupJailNetwork failing at the veth: the teardown finds no veth and removes the namespace', async () => {
  const r = recorder((a) => (a.includes('veth') ? { code: 2, stderr: 'RTNETLINK answers: File exists\n' } : a.includes('del') && a.includes('link') ? NO_DEVICE(V) : ''));
  await assert.rejects(new NetworkRuntime(r.exec, 'cb0', subnet).setupJailNetwork(n, '10.77.0.5'), (e: unknown) => e instanceof ExecError && e.kind === 'exists');
  assert.deepEqual(r.calls.slice(-2), [`ip link del dev ${V}`, 'ip netns del cb-web@h1']);
});

test('teardownJailNetwork is idempotent: missing devices and namespaces are fine', async () => {
  const r = recorder((a) => (a.includes('link') ? { code: 1, stderr: `Cannot find device "${V}"\n` }
    : { code: 1, stderr: 'Cannot remove namespace file "/run/netns/cb-web@h1": No such file or directory\n' }));
  const net = new NetworkRuntime(r.exec, 'cb0', subnet);
  await net.teardownJailNetwork(n);
  assert.deepEqual(r.calls, [`ip link del dev ${V}`, 'ip netns del cb-web@h1']);
});

test('teardownJailNetwork passes on other failures', async () => {
  const r = recorder(() => ({ code: 2, stderr: 'RTNETLINK answers: Operation not permitted\n' }));
  await assert.rejects(new NetworkRuntime(r.exec, 'cb0', subnet).teardownJailNetwork(n), (e: unknown) => e instanceof ExecError && e.kind === 'failed');
});

test('linkExists and listNetns', async () => {
  const r = recorder((a) => (a.includes('netns') ? '[{"name":"cb-web@h1","id":0}]' : a.includes('cb0') ? BRIDGE_ADDR_JSON : NO_DEVICE(a.at(-1)!)));
  const net = new NetworkRuntime(r.exec, 'cb0', subnet);
  assert.equal(await net.linkExists('cb0'), true);
  assert.equal(await net.linkExists('nope'), false);
  assert.deepEqual(await net.listNetns(), ['cb-web@h1']);
});
