import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateOsView, resolveInEtc, type OsViewFacts } from '../../src/sys/os-view-checks.js';
import type { EtcEntry } from '../../src/jail/etc-mask.js';

const f = (path: string, mode = 0o644): EtcEntry => ({ path, kind: 'file', mode });
const d = (path: string, mode = 0o755): EtcEntry => ({ path, kind: 'dir', mode });
const l = (path: string, target: string): EtcEntry => ({ path, kind: 'symlink', mode: 0o777, target });

const ETC: EtcEntry[] = [
  f('hostname'), f('hosts'), f('resolv.conf'), f('shadow', 0o640),
  d('alternatives'), l('alternatives/awk', '/usr/bin/mawk'), l('alternatives/secret-tool', '../private/tool'), l('alternatives/chain', 'hop'), l('alternatives/hop', '/etc/private/x'),
  d('private', 0o700), f('private/tool', 0o755),
];
const base: OsViewFacts = { etc: ETC, osLinks: [{ path: '/usr/bin/awk', target: '/etc/alternatives/awk' }, { path: '/usr/bin/python3', target: 'python3.11' }], nsswitch: 'passwd: files systemd\ngroup: files\nhosts: files dns\n' };
const byName = (facts: OsViewFacts) => Object.fromEntries(evaluateOsView(facts).map((r) => [r.name, r]));

test('resolveInEtc follows links inside /etc and stops at the first one out', () => {
  assert.equal(resolveInEtc('/etc/alternatives/awk', '/usr/bin/awk', ETC), '/usr/bin/mawk');
  assert.equal(resolveInEtc('../../etc/alternatives/secret-tool', '/usr/bin/st', ETC), '/etc/private/tool');
  assert.equal(resolveInEtc('/etc/alternatives/chain', '/usr/bin/c', ETC), '/etc/private/x');
  assert.equal(resolveInEtc('python3.11', '/usr/bin/python3', ETC), '/usr/bin/python3.11');
});

test('a healthy host: masked paths listed, no warning', () => {
  const r = byName(base);
  assert.deepEqual(Object.keys(r), ['etc-masked', 'etc-links', 'etc-own-files', 'nsswitch']);
  assert.ok(Object.values(r).every((x) => x.status === 'present' && x.kind === 'os' && !x.required && x.fix === ''));
  assert.match(r['etc-masked']!.detail, /2 path\(s\).*\/etc\/private \/etc\/shadow/);
});

test('a command of the shared OS that leads into a masked part of /etc is a warning with the fix', () => {
  const r = byName({ ...base, osLinks: [...base.osLinks, { path: '/usr/bin/secret-tool', target: '/etc/alternatives/secret-tool' }, { path: '/usr/sbin/c', target: '../../etc/alternatives/chain' }] });
  assert.equal(r['etc-links']!.status, 'warning');
  assert.equal(r['etc-links']!.detail, '/usr/bin/secret-tool -> /etc/alternatives/secret-tool is masked in jails (/etc/private/tool); /usr/sbin/c -> ../../etc/alternatives/chain is masked in jails (/etc/private/x)');
  assert.match(r['etc-links']!.fix, /chmod o\+r/);
});

test('missing hostname, hosts or resolv.conf, and users from LDAP or sss, are warnings', () => {
  const r = byName({ ...base, etc: ETC.filter((e) => e.path !== 'hosts' && e.path !== 'resolv.conf'), nsswitch: 'passwd: files sss\ngroup: files ldap # comment\nnetgroup: nis\n' });
  assert.equal(r['etc-own-files']!.status, 'warning');
  assert.match(r['etc-own-files']!.detail, /missing: \/etc\/hosts, \/etc\/resolv.conf/);
  assert.equal(r['etc-own-files']!.fix, 'create them on the host, empty if need be: touch /etc/hosts /etc/resolv.conf');
  assert.equal(r.nsswitch!.status, 'warning');
  assert.match(r.nsswitch!.detail, /with sss, ldap, which jails cannot reach/);
});
