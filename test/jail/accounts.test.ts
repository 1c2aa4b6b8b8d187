import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatUserRef, hasNames, parseAccounts, parseGroup, parsePasswd, parseUserRef, resolveUser } from '../../src/jail/accounts.js';
import { UserError } from '../../src/sys/errors.js';

const PASSWD = [
  'root:x:0:0:root:/root:/bin/bash',
  'www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin',
  'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
  'postgres:x:104:110:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash',
  'Debian-exim:x:105:112::/var/spool/exim4:/usr/sbin/nologin',
  '+nis', 'broken:x:abc:1:::', '# comment', '',
].join('\n');
const GROUP = ['root:x:0:', 'www-data:x:33:', 'nogroup:x:65534:', 'postgres:x:110:', 'ssl-cert:x:111:postgres', 'bad:x::', ''].join('\n');
const accounts = parseAccounts({ passwd: PASSWD, group: GROUP });

test('passwd and group parsers keep well-formed local entries only', () => {
  assert.deepEqual(parsePasswd(PASSWD).map((e) => e.name), ['root', 'www-data', 'nobody', 'postgres', 'Debian-exim']);
  assert.deepEqual(parsePasswd(PASSWD)[3], { name: 'postgres', uid: 104, gid: 110 });
  assert.deepEqual(parseGroup(GROUP).map((e) => [e.name, e.gid]), [['root', 0], ['www-data', 33], ['nogroup', 65534], ['postgres', 110], ['ssl-cert', 111]]);
});

test('USER[:GROUP] syntax: names and numbers on either side', () => {
  assert.deepEqual(parseUserRef('www-data'), { user: { name: 'www-data' } });
  assert.deepEqual(parseUserRef(' postgres:postgres '), { user: { name: 'postgres' }, group: { name: 'postgres' } });
  assert.deepEqual(parseUserRef('33:www-data'), { user: { id: 33 }, group: { name: 'www-data' } });
  assert.equal(formatUserRef(parseUserRef('postgres:111')), 'postgres:111');
  assert.deepEqual(parseUserRef('www-data:'), { user: { name: 'www-data' }, loginGroup: true }, 'chown\'s USER: = the login group');
  assert.equal(formatUserRef(parseUserRef('33:')), '33:');
  assert.equal(hasNames(parseUserRef('1000:1000')), false);
  assert.equal(hasNames(parseUserRef('1000:staff')), true);
  for (const bad of ['', ':', ':a', 'a::', 'a:b:c', 'has space', '-x', 'é', 'x'.repeat(40), '4294967295']) {
    assert.throws(() => parseUserRef(bad, 'user'), (e: unknown) => e instanceof UserError && e.message.startsWith('user: '), bad);
  }
});

test('resolveUser: primary group from passwd, numbers as they are, unknown names refused with the fix', () => {
  assert.deepEqual(resolveUser(parseUserRef('www-data'), accounts), { uid: 33, gid: 33 });
  assert.deepEqual(resolveUser(parseUserRef('nobody'), accounts), { uid: 65534, gid: 65534 });
  assert.deepEqual(resolveUser(parseUserRef('postgres'), accounts), { uid: 104, gid: 110 });
  assert.deepEqual(resolveUser(parseUserRef('postgres:ssl-cert'), accounts), { uid: 104, gid: 111 });
  assert.deepEqual(resolveUser(parseUserRef('Debian-exim'), accounts), { uid: 105, gid: 112 });
  assert.deepEqual(resolveUser(parseUserRef('1234'), accounts), { uid: 1234, gid: 1234 }, 'as before names: gid = uid');
  assert.deepEqual(resolveUser(parseUserRef('www-data:'), accounts), { uid: 33, gid: 33 });
  assert.deepEqual(resolveUser(parseUserRef('104:'), accounts), { uid: 104, gid: 110 }, 'the login group of that uid');
  assert.deepEqual(resolveUser(parseUserRef('1234:'), accounts), { uid: 1234, gid: 1234 }, 'a uid the host lacks: gid = uid');
  assert.throws(() => resolveUser(parseUserRef('nginx'), accounts), (e: unknown) => e instanceof UserError
    && /^--user: "nginx": there is no user "nginx" in the host's \/etc\/passwd/.test(e.message) && /adduser --system nginx/.test(e.fix ?? ''));
  assert.throws(() => resolveUser(parseUserRef('root:wheel'), accounts), (e: unknown) => e instanceof UserError && /no group "wheel"/.test(e.message));
});
