// keepalived.conf of a host against the golden files test/fixtures/lb/keepalived*.conf, and the
// pieces that decide who holds the VIP. Regenerate the golden files after a deliberate change:
//   CELLBLOCK_UPDATE_GOLDEN=1 node scripts/run-tests.mjs test/lb/keepalived-config
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  keepalivedArgv, keepalivedConfig, keepalivedPaths, keepalivedTestArgv, trackValue, virtualRouterId, vipSettings, vrrpPriority, type VipSettings,
} from '../../src/lb/keepalived-config.js';
import type { LbRecord } from '../../src/lb/model.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../../test/fixtures/lb/${name}`, import.meta.url));

function golden(name: string, text: string): void {
  if (process.env.CELLBLOCK_UPDATE_GOLDEN) writeFileSync(fixture(name), text);
  assert.equal(text, readFileSync(fixture(name), 'utf8'));
}

const paths = keepalivedPaths('/var/lib/cellblock');
const hosts = [{ name: 'h0', address: '10.131.0.1' }, { name: 'h1', address: '10.131.0.2' }, { name: 'h2', address: '10.131.0.3' }];
const lb = (vip?: string): LbRecord => ({ spec: { ...(vip ? { vip } : {}), http: 80, https: 443 }, stack: 'site', at: '2026-12-07T20:00:00.000Z' });
const self = (name: string, address: string) => ({ name, address, network: '10.131.0.0/24', interface: 'eth0' });

function settingsOf(r: ReturnType<typeof vipSettings>): VipSettings {
  assert.ok('settings' in r, JSON.stringify(r));
  return r.settings;
}

test('keepalived.conf of h1 in a 3-host cluster matches the golden file', () => {
  golden('keepalived.conf', keepalivedConfig(settingsOf(vipSettings(lb('10.131.0.100'), self('h1', '10.131.0.2'), hosts, paths.trackFile))));
});

test('a lone host adverts by multicast (keepalived refuses unicast without a peer)', () => {
  golden('keepalived-single.conf', keepalivedConfig(settingsOf(vipSettings(lb('10.131.0.100'), self('h0', '10.131.0.1'), hosts.slice(0, 1), paths.trackFile))));
});

test('the configuration: VRRPv3, 0.1 s adverts, BACKUP + nopreempt, unicast to the others, the VIP with the network\'s prefix, track file weight 0', () => {
  const text = keepalivedConfig(settingsOf(vipSettings(lb('10.131.0.100'), self('h2', '10.131.0.3'), hosts, paths.trackFile)));
  for (const line of ['version 3', 'advert_int 0.1', 'state BACKUP', 'nopreempt', 'garp_master_delay 0', 'unicast_src_ip 10.131.0.3', '10.131.0.100/24 dev eth0', 'weight 0', `file "${paths.trackFile}"`]) {
    assert.ok(text.includes(`  ${line}`) || text.includes(` ${line}`), `missing: ${line}\n${text}`);
  }
  const peers = /unicast_peer \{\n([^}]*)\}/.exec(text)![1]!.trim().split(/\s+/);
  assert.deepEqual(peers, ['10.131.0.1', '10.131.0.2']);
});

test('priorities follow the order of the names, distinct, at least 1', () => {
  assert.deepEqual(['h0', 'h1', 'h2'].map((h) => vrrpPriority(h, ['h2', 'h0', 'h1'])), [200, 199, 198]);
  const many = Array.from({ length: 300 }, (_, i) => `n${String(i).padStart(3, '0')}`);
  assert.equal(vrrpPriority('n299', many), 1);
});

test('virtual_router_id: from the VIP, stable, 1..255', () => {
  assert.equal(virtualRouterId('10.131.0.100'), virtualRouterId('10.131.0.100'));
  for (const v of ['10.0.0.1', '10.131.0.100', '192.168.1.10', '172.16.5.5']) {
    const id = virtualRouterId(v);
    assert.ok(Number.isInteger(id) && id >= 1 && id <= 255, `${v}: ${id}`);
  }
});

test('the track file: 0 only while HAProxy runs and the lease is held', () => {
  assert.equal(trackValue({ haproxyRunning: true, leaseHeld: true }), 0);
  assert.equal(trackValue({ haproxyRunning: false, leaseHeld: true }), 1);
  assert.equal(trackValue({ haproxyRunning: true, leaseHeld: false }), 1);
  assert.equal(trackValue({ haproxyRunning: false, leaseHeld: false }), 1);
});

test('no keepalived without lb.vip, without a known interface, or with a VIP outside this host\'s network', () => {
  assert.deepEqual(vipSettings(undefined, self('h0', '10.131.0.1'), hosts, paths.trackFile), { none: 'no lb.vip is set' });
  assert.deepEqual(vipSettings(lb(), self('h0', '10.131.0.1'), hosts, paths.trackFile), { none: 'no lb.vip is set' });
  assert.deepEqual(vipSettings(lb('10.131.0.100'), { name: 'h0', address: '10.131.0.1' }, hosts, paths.trackFile), { none: 'no interface of this host carries its address 10.131.0.1' });
  assert.deepEqual(vipSettings(lb('10.132.0.100'), self('h0', '10.131.0.1'), hosts, paths.trackFile), { none: 'lb.vip 10.132.0.100 is outside this host\'s network 10.131.0.0/24' });
});

test('argv: foreground, VRRP only, its own pid files and configuration under DATA_DIR/lb', () => {
  assert.deepEqual(keepalivedArgv(paths), [
    'keepalived', '--dont-fork', '--vrrp', '--log-console', '--log-detail', '--no-syslog',
    '--use-file', '/var/lib/cellblock/lb/keepalived.conf',
    '--pid', '/var/lib/cellblock/lb/keepalived.pid', '--vrrp_pid', '/var/lib/cellblock/lb/keepalived-vrrp.pid', '--checkers_pid', '/var/lib/cellblock/lb/keepalived-checkers.pid',
  ]);
  assert.deepEqual(keepalivedTestArgv('/x/k.conf'), ['keepalived', '--config-test', '--use-file', '/x/k.conf']);
});
