import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  addressCidr, allocateIp, assignIp, capacity, checkRequestedIp, contains, DEFAULT_JAIL_SUBNET, formatIPv4, gatewayCidr,
  gatewayOf, isJailAddress, parseIPv4, parseSubnet, tryParseIPv4,
} from '../../src/jail/ipam.js';
import { LeaseStore, leaseFilePath } from '../../src/jail/leases.js';
import { UserError } from '../../src/sys/errors.js';

const isUserError = (re: RegExp) => (e: unknown) => e instanceof UserError && re.test(e.message) && Boolean(e.fix);

test('parseIPv4 and formatIPv4 round-trip, including the extremes', () => {
  for (const a of ['0.0.0.0', '10.77.0.1', '192.168.255.254', '255.255.255.255', '1.2.3.4']) assert.equal(formatIPv4(parseIPv4('x', a)), a);
  assert.equal(parseIPv4('x', '255.255.255.255'), 0xffffffff);
  assert.equal(parseIPv4('x', '128.0.0.0'), 0x80000000, 'unsigned, not negative');
});

test('parseIPv4 refuses anything but a plain dotted quad, naming the field', () => {
  for (const bad of ['', '10.0.0', '10.0.0.0.1', '256.0.0.1', '10.0.0.-1', '010.0.0.1', '10.0.0.01', ' 10.0.0.1', '10.0.0.1 ', '10.0.0.1/24', 'a.b.c.d', '1e1.0.0.1', '::1', '10..0.1', '1000.0.0.1']) {
    assert.throws(() => parseIPv4('--ip', bad), isUserError(/^--ip: invalid IPv4 address/), bad);
  }
  assert.equal(tryParseIPv4('300.1.1.1'), undefined);
  assert.equal(tryParseIPv4('10.0.0.9'), parseIPv4('x', '10.0.0.9'));
});

test('parseSubnet computes network, broadcast and gateway', () => {
  const s = parseSubnet('subnet', DEFAULT_JAIL_SUBNET);
  assert.equal(s.cidr, '10.77.0.0/24');
  assert.equal(formatIPv4(s.network), '10.77.0.0');
  assert.equal(formatIPv4(s.broadcast), '10.77.0.255');
  assert.equal(gatewayOf(s), '10.77.0.1');
  assert.equal(gatewayCidr(s), '10.77.0.1/24');
  assert.equal(addressCidr(s, '10.77.0.9'), '10.77.0.9/24');
  assert.equal(capacity(s), 253);
  const small = parseSubnet('subnet', '192.168.5.4/30');
  assert.equal(capacity(small), 1);
  assert.equal(gatewayOf(small), '192.168.5.5');
  assert.equal(formatIPv4(small.broadcast), '192.168.5.7');
  const big = parseSubnet('subnet', '10.0.0.0/8');
  assert.equal(formatIPv4(big.broadcast), '10.255.255.255');
  assert.equal(capacity(big), 2 ** 24 - 3);
  const high = parseSubnet('subnet', '255.255.255.252/30');
  assert.equal(formatIPv4(high.broadcast), '255.255.255.255');
});

test('parseSubnet refuses host bits, odd prefixes and malformed input with a fix', () => {
  assert.throws(() => parseSubnet('jail subnet', '10.77.0.1/24'), (e: unknown) => e instanceof UserError && /host bits/.test(e.message) && /10\.77\.0\.0\/24/.test(e.fix ?? ''));
  for (const bad of ['10.77.0.0/31', '10.77.0.0/32', '10.0.0.0/7', '0.0.0.0/0', '10.77.0.0/33']) {
    assert.throws(() => parseSubnet('jail subnet', bad), isUserError(/out of range/), bad);
  }
  for (const bad of ['10.77.0.0', '10.77.0.0/', '/24', '10.77.0.0/24/1', '10.77.0.0/x', '10.77.0.0/024', 'x/24']) {
    assert.throws(() => parseSubnet('jail subnet', bad), isUserError(/^jail subnet: /), bad);
  }
});

test('contains and isJailAddress draw the subnet edges exactly', () => {
  const s = parseSubnet('s', '10.77.0.0/24');
  const n = (a: string) => parseIPv4('x', a);
  assert.equal(contains(s, n('10.77.0.0')), true);
  assert.equal(contains(s, n('10.77.0.255')), true);
  assert.equal(contains(s, n('10.77.1.0')), false);
  assert.equal(contains(s, n('10.76.255.255')), false);
  assert.equal(isJailAddress(s, n('10.77.0.0')), false);
  assert.equal(isJailAddress(s, n('10.77.0.1')), false);
  assert.equal(isJailAddress(s, n('10.77.0.2')), true);
  assert.equal(isJailAddress(s, n('10.77.0.254')), true);
  assert.equal(isJailAddress(s, n('10.77.0.255')), false);
  assert.equal(isJailAddress(s, undefined), false);
});

test('allocateIp picks the lowest free address after the gateway', () => {
  const s = parseSubnet('s', '10.77.0.0/24');
  assert.equal(allocateIp(s, {}), '10.77.0.2');
  assert.equal(allocateIp(s, { a: '10.77.0.2', b: '10.77.0.3' }), '10.77.0.4');
  assert.equal(allocateIp(s, { a: '10.77.0.3' }), '10.77.0.2', 'fills holes');
  assert.equal(allocateIp(s, { a: '10.77.0.2', junk: 'not-an-ip', other: '10.99.0.3' }), '10.77.0.3', 'ignores junk and foreign leases');
});

test('allocateIp fails with a UserError when the subnet is full', () => {
  const s = parseSubnet('s', '10.77.0.0/29'); // .2 - .6: five jails
  const leases: Record<string, string> = {};
  for (let i = 2; i <= 6; i++) leases[`j${i}`] = `10.77.0.${i}`;
  assert.throws(() => allocateIp(s, leases), isUserError(/no free address left in the jail subnet 10\.77\.0\.0\/29 \(5 jails\)/));
  const tiny = parseSubnet('s', '10.77.0.0/30');
  assert.equal(allocateIp(tiny, {}), '10.77.0.2');
  assert.throws(() => allocateIp(tiny, { a: '10.77.0.2' }), UserError);
});

test('checkRequestedIp refuses network, gateway, broadcast, outside and taken addresses', () => {
  const s = parseSubnet('s', '10.77.0.0/24');
  const leases = { db: '10.77.0.7' };
  assert.equal(checkRequestedIp(s, '10.77.0.5', leases, 'web'), '10.77.0.5');
  assert.equal(checkRequestedIp(s, '10.77.0.254', leases, 'web'), '10.77.0.254');
  assert.equal(checkRequestedIp(s, '10.77.0.7', leases, 'db'), '10.77.0.7', 'a jail may ask for the address it already holds');
  assert.throws(() => checkRequestedIp(s, '10.77.0.0', leases, 'web'), isUserError(/--ip: 10\.77\.0\.0 is the network address/));
  assert.throws(() => checkRequestedIp(s, '10.77.0.1', leases, 'web'), isUserError(/is the gateway/));
  assert.throws(() => checkRequestedIp(s, '10.77.0.255', leases, 'web'), isUserError(/is the broadcast address/));
  assert.throws(() => checkRequestedIp(s, '10.77.1.5', leases, 'web'), (e: unknown) => e instanceof UserError && /outside this host's jail subnet 10\.77\.0\.0\/24/.test(e.message) && /10\.77\.0\.2-10\.77\.0\.254/.test(e.fix ?? ''));
  assert.throws(() => checkRequestedIp(s, '10.77.0.7', leases, 'web'), isUserError(/already used by jail "db"/));
  assert.throws(() => checkRequestedIp(s, '10.77.0.x', leases, 'web'), isUserError(/invalid IPv4/));
});

test('assignIp keeps a jail\'s lease, honours a request, else allocates; never mutates its input', () => {
  const s = parseSubnet('s', '10.77.0.0/24');
  const leases = Object.freeze({ web: '10.77.0.9' });
  assert.deepEqual(assignIp(s, leases, 'web'), { ip: '10.77.0.9', leases: { web: '10.77.0.9' } });
  assert.deepEqual(assignIp(s, leases, 'db'), { ip: '10.77.0.2', leases: { web: '10.77.0.9', db: '10.77.0.2' } });
  assert.deepEqual(assignIp(s, leases, 'web', '10.77.0.20'), { ip: '10.77.0.20', leases: { web: '10.77.0.20' } }, 'a new request moves the jail');
  assert.deepEqual(assignIp(s, { web: '10.99.0.5' }, 'web'), { ip: '10.77.0.2', leases: { web: '10.77.0.2' } }, 'a lease outside the subnet is replaced');
  assert.deepEqual(assignIp(s, { web: '10.77.0.1' }, 'web'), { ip: '10.77.0.2', leases: { web: '10.77.0.2' } }, 'a lease on the gateway is replaced');
  assert.deepEqual(leases, { web: '10.77.0.9' });
});

test('LeaseStore acquires, keeps, releases and survives a reload', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cb-leases-'));
  try {
    const s = parseSubnet('s', '10.77.0.0/24');
    const store = LeaseStore.forDataDir(dir, s);
    assert.deepEqual(await store.read(), {});
    assert.equal(await store.acquire('web'), '10.77.0.2');
    assert.equal(await store.acquire('db', '10.77.0.50'), '10.77.0.50');
    assert.equal(await store.acquire('web'), '10.77.0.2', 'idempotent');
    assert.equal(await store.acquire('api'), '10.77.0.3');
    await assert.rejects(store.acquire('x', '10.77.0.50'), isUserError(/already used by jail "db"/));
    await assert.rejects(store.acquire('Bad Name'), UserError);
    const again = LeaseStore.forDataDir(dir, s);
    assert.deepEqual(await again.read(), { api: '10.77.0.3', db: '10.77.0.50', web: '10.77.0.2' });
    await again.release('web');
    await again.release('web');
    await again.release('never-had-one');
    assert.equal(await again.acquire('new'), '10.77.0.2', 'a released address is reused');
    const file = JSON.parse(await readFile(leaseFilePath(dir), 'utf8'));
    assert.deepEqual(file, { subnet: '10.77.0.0/24', leases: { api: '10.77.0.3', db: '10.77.0.50', new: '10.77.0.2' } });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('LeaseStore refuses a changed subnet while leases exist, adopts it when empty', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cb-leases-'));
  try {
    await LeaseStore.forDataDir(dir, parseSubnet('s', '10.77.0.0/24')).acquire('web');
    const moved = LeaseStore.forDataDir(dir, parseSubnet('s', '10.88.0.0/24'));
    await assert.rejects(moved.read(), (e: unknown) => e instanceof UserError && /configured as 10\.88\.0\.0\/24.*1 jail\(s\) hold addresses in 10\.77\.0\.0\/24/.test(e.message));
    await mkdir(join(dir, 'ipam'), { recursive: true });
    await writeFile(leaseFilePath(dir), JSON.stringify({ subnet: '10.77.0.0/24', leases: {} }));
    assert.equal(await moved.acquire('web'), '10.88.0.2');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
