import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etcMasks as masks, hiddenOnHost, type EtcEntry } from '../../src/jail/etc-mask.js';

const etcMasks = (listing: readonly EtcEntry[], unmask?: string[]) => masks(listing, unmask).map((m) => m.path);

const f = (path: string, mode: number): EtcEntry => ({ path, kind: 'file', mode });
const d = (path: string, mode: number): EtcEntry => ({ path, kind: 'dir', mode });
const l = (path: string): EtcEntry => ({ path, kind: 'symlink', mode: 0o777 });

/** A Debian 12 /etc in small, as `find /etc -printf` shows it (modes of a real host). */
const DEBIAN: EtcEntry[] = [
  f('passwd', 0o644), f('shadow', 0o640), f('shadow-', 0o640), f('gshadow', 0o640), f('group', 0o644), f('.pwd.lock', 0o600),
  d('ssl', 0o755), d('ssl/certs', 0o755), l('ssl/certs/ca-certificates.crt'), f('ssl/certs/ca-certificates.crt.real', 0o644),
  d('ssl/private', 0o710), f('ssl/private/ssl-cert-snakeoil.key', 0o640),
  d('ssh', 0o755), f('ssh/ssh_host_ed25519_key', 0o600), f('ssh/ssh_host_ed25519_key.pub', 0o644),
  f('sudoers', 0o440), d('sudoers.d', 0o750), f('sudoers.d/README', 0o440),
  d('polkit-1', 0o755), d('polkit-1/rules.d', 0o700),
  d('postgresql', 0o755), d('postgresql/15', 0o755), d('postgresql/15/main', 0o755), f('postgresql/15/main/pg_hba.conf', 0o640), f('postgresql/15/main/postgresql.conf', 0o644),
  d('alternatives', 0o755), l('alternatives/awk'), l('localtime'), l('mtab'),
  d('cellblock', 0o755), f('cellblock/agent.key', 0o600), f('cellblock/agent.crt', 0o644),
  d('odd', 0o754), f('odd/inside', 0o644), // readable, not searchable: hides its contents
  { path: 'initctl', kind: 'other', mode: 0o600 },
];

test('hiddenOnHost: not world-readable, or a directory not world-searchable; links never', () => {
  assert.equal(hiddenOnHost(f('a', 0o644)), false);
  assert.equal(hiddenOnHost(f('a', 0o640)), true);
  assert.equal(hiddenOnHost(f('a', 0o604)), false, 'other may read; owner bits do not matter');
  assert.equal(hiddenOnHost(d('a', 0o755)), false);
  assert.equal(hiddenOnHost(d('a', 0o754)), true, 'listable but not searchable: its files cannot be opened');
  assert.equal(hiddenOnHost(d('a', 0o711)), true, 'searchable but not listable: names could be guessed, so it is hidden');
  assert.equal(hiddenOnHost(l('a')), false);
});

test('every hidden entry is masked, a hidden directory once, nothing readable', () => {
  assert.deepEqual(etcMasks(DEBIAN), [
    '/etc/.pwd.lock', '/etc/cellblock/agent.key', '/etc/gshadow', '/etc/initctl', '/etc/odd', '/etc/polkit-1/rules.d',
    '/etc/postgresql/15/main/pg_hba.conf', '/etc/shadow', '/etc/shadow-', '/etc/ssh/ssh_host_ed25519_key',
    '/etc/ssl/private', '/etc/sudoers', '/etc/sudoers.d',
  ]);
});

test('a directory gets a directory mask (tmpfs), anything else a file mask', () => {
  const m = Object.fromEntries(masks(DEBIAN).map((x) => [x.path, x.dir]));
  assert.equal(m['/etc/ssl/private'], true);
  assert.equal(m['/etc/odd'], true);
  assert.equal(m['/etc/shadow'], false);
  assert.equal(m['/etc/initctl'], false, 'a fifo is covered by a file');
});

test('the listing order does not matter, and an empty listing masks nothing', () => {
  assert.deepEqual(etcMasks([...DEBIAN].reverse()), etcMasks(DEBIAN));
  assert.deepEqual(etcMasks([]), []);
});

test('a path asked for is shown with everything under it', () => {
  const m = etcMasks(DEBIAN, ['ssl/private', 'shadow', 'postgresql']);
  assert.ok(!m.includes('/etc/ssl/private') && !m.includes('/etc/shadow') && !m.includes('/etc/postgresql/15/main/pg_hba.conf'));
  assert.ok(m.includes('/etc/shadow-') && m.includes('/etc/gshadow'), 'only what was asked for');
});

test('a path inside a hidden directory opens that directory only along the way', () => {
  const listing = [d('secret', 0o700), d('secret/a', 0o700), f('secret/a/want.key', 0o600), f('secret/a/other.key', 0o600), f('secret/readable', 0o644), l('secret/link'), d('secret/b', 0o755)];
  assert.deepEqual(etcMasks(listing, ['secret/a/want.key']), ['/etc/secret/a/other.key', '/etc/secret/b', '/etc/secret/readable'],
    'its siblings stay hidden even when their own mode is open: the host hides them by the directory');
  assert.deepEqual(etcMasks(listing), ['/etc/secret']);
});

test('symbolic links are not masked nor followed; a link to a masked path leads to the mask', () => {
  const listing = [l('key'), d('private', 0o700), f('private/k', 0o600), l('out')];
  assert.deepEqual(etcMasks(listing), ['/etc/private']);
});

test('an entry whose parent is missing from the listing is left out (it is under a mask or gone)', () => {
  assert.deepEqual(etcMasks([f('gone/x', 0o600)]), []);
});

test('a long listing is fast: 20,000 entries in well under a second', () => {
  const big: EtcEntry[] = [];
  for (let i = 0; i < 200; i++) {
    big.push(d(`d${i}`, 0o755));
    for (let j = 0; j < 100; j++) big.push(f(`d${i}/f${j}`, j % 10 === 0 ? 0o600 : 0o644));
  }
  const t0 = performance.now();
  const m = etcMasks(big);
  assert.equal(m.length, 2000);
  assert.ok(performance.now() - t0 < 1000);
});
