import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkRwPath, DEFAULT_DISK, DEFAULT_PIDS, parseCpus, parseEnv, parseJailSpec, parsePids, parseUser, type JailInput,
} from '../../src/jail/model.js';
import { UserError } from '../../src/sys/errors.js';

const ctx = { instance: 'h1', hostCpus: 4 };
const base: JailInput = {
  name: 'web',
  image: 'site:v1',
  imagePath: '/pool/images/site/v1',
  writablePath: '/pool/jails/web',
  command: ['/usr/bin/python3', '-m', 'http.server', '8080'],
};
/** A UserError whose message starts with the field and which carries a fix. */
const refused = (field: string, re: RegExp = /./) => (e: unknown) =>
  e instanceof UserError && e.message.startsWith(field) && re.test(e.message) && Boolean(e.fix);

test('parseJailSpec with only the required input fills safe defaults', () => {
  assert.deepEqual(parseJailSpec(base, ctx), {
    name: 'web',
    instance: 'h1',
    image: { name: 'site', tag: 'v1' },
    imagePath: '/pool/images/site/v1',
    writablePath: '/pool/jails/web',
    pids: DEFAULT_PIDS,
    diskBytes: DEFAULT_DISK,
    env: {},
    user: { uid: 0, gid: 0 },
    rw: [],
    restart: 'no',
    command: ['/usr/bin/python3', '-m', 'http.server', '8080'],
    netnsPath: '/run/netns/cb-web@h1',
    hostname: 'web',
  });
});

test('parseJailSpec with every option', () => {
  const s = parseJailSpec({
    ...base, ip: '10.77.0.5', memory: '256M', cpus: '0.5', pids: '256', env: ['A=1', 'B=x=y', 'EMPTY='],
    user: '1000:100', rw: ['/var/lib/app', '/srv/data', '/var/lib/app'], restart: 'always',
  }, ctx);
  assert.equal(s.ip, '10.77.0.5');
  assert.equal(s.memoryBytes, 256 * 1024 * 1024);
  assert.equal(s.cpus, 0.5);
  assert.equal(s.pids, 256);
  assert.deepEqual(s.env, { A: '1', B: 'x=y', EMPTY: '' });
  assert.deepEqual(s.user, { uid: 1000, gid: 100 });
  assert.deepEqual(s.rw, ['/srv/data', '/var/lib/app'], 'sorted, deduplicated');
  assert.equal(s.restart, 'always');
});

test('names and image refs are checked with the shared rules', () => {
  assert.throws(() => parseJailSpec({ ...base, name: 'Web' }, ctx), refused('invalid jail name'));
  assert.throws(() => parseJailSpec({ ...base, name: '' }, ctx), refused('jail name is missing'));
  assert.throws(() => parseJailSpec({ ...base, name: '../x' }, ctx), UserError);
  assert.throws(() => parseJailSpec({ ...base, image: 'site' }, ctx), refused('invalid --image'));
  assert.throws(() => parseJailSpec({ ...base, image: 'site:V1' }, ctx), refused('--image'));
  assert.throws(() => parseJailSpec(base, { ...ctx, instance: 'Bad' }), UserError);
});

test('--ip is syntax-checked here (subnet checks are IPAM\'s)', () => {
  assert.throws(() => parseJailSpec({ ...base, ip: '10.77.0' }, ctx), refused('--ip', /"10\.77\.0"/));
  assert.throws(() => parseJailSpec({ ...base, ip: '10.77.0.300' }, ctx), refused('--ip'));
});

test('--memory uses sizes with units and a floor', () => {
  assert.equal(parseJailSpec({ ...base, memory: '1G' }, ctx).memoryBytes, 1024 ** 3);
  assert.equal(parseJailSpec({ ...base, memory: 64 * 1024 * 1024 }, ctx).memoryBytes, 64 * 1024 * 1024);
  assert.throws(() => parseJailSpec({ ...base, memory: 'lots' }, ctx), refused('--memory', /invalid size "lots"/));
  assert.throws(() => parseJailSpec({ ...base, memory: '1M' }, ctx), refused('--memory', /too small/));
});

test('--disk: a size from 16M up to the pool\'s size; the default from the context, else 1G', () => {
  assert.equal(parseJailSpec({ ...base, disk: '2G' }, ctx).diskBytes, 2 * 1024 ** 3);
  assert.equal(parseJailSpec({ ...base, disk: 64 * 1024 * 1024 }, ctx).diskBytes, 64 * 1024 * 1024);
  assert.equal(parseJailSpec(base, { ...ctx, defaultDisk: 512 * 1024 ** 2 }).diskBytes, 512 * 1024 ** 2);
  assert.equal(DEFAULT_DISK, 1024 ** 3);
  assert.throws(() => parseJailSpec({ ...base, disk: 'big' }, ctx), refused('--disk', /invalid size "big"/));
  assert.throws(() => parseJailSpec({ ...base, disk: '1M' }, ctx), refused('--disk', /too small/));
  assert.throws(() => parseJailSpec({ ...base, disk: '5G' }, { ...ctx, poolBytes: 1024 ** 3 }), (e: unknown) =>
    refused('--disk', /5\.00G is more than the pool's size \(1\.00G\)/)(e) && /at most 1\.00G/.test((e as UserError).fix ?? ''));
  assert.equal(parseJailSpec({ ...base, disk: '1G' }, { ...ctx, poolBytes: 1024 ** 3 }).diskBytes, 1024 ** 3);
});

test('--cpus must be a number > 0, >= 0.01 and <= the host\'s CPUs', () => {
  assert.equal(parseCpus('0.5', 4), 0.5);
  assert.equal(parseCpus('.25', 4), 0.25);
  assert.equal(parseCpus(2, 4), 2);
  assert.equal(parseCpus('4', 4), 4);
  for (const bad of ['0', '-1', 'abc', '', '1e2', 'NaN', 'Infinity', '0x2', '1,5', '0.']) {
    assert.throws(() => parseCpus(bad, 4), refused('--cpus'), bad);
  }
  assert.throws(() => parseCpus('0.001', 4), refused('--cpus', /too small/));
  assert.throws(() => parseCpus('4.5', 4), (e: unknown) => e instanceof UserError && /more than this host's 4 CPUs/.test(e.message) && e.fix === 'use at most 4');
});

test('--pids must be a whole number >= 1', () => {
  assert.equal(parsePids('1'), 1);
  assert.equal(parsePids(256), 256);
  for (const bad of ['0', '-5', '1.5', 'many', '', '99999999']) assert.throws(() => parsePids(bad), refused('--pids'), bad);
});

test('--env wants KEY=VALUE with a valid key, each once', () => {
  assert.deepEqual(parseEnv(['_X=1', 'a1=', 'URL=http://x/?a=b']), { _X: '1', a1: '', URL: 'http://x/?a=b' });
  for (const bad of ['NOEQUALS', '=v', '1A=x', 'A-B=x', 'A B=x', 'É=x']) assert.throws(() => parseEnv([bad]), refused('--env', /invalid variable/), bad);
  assert.throws(() => parseEnv(['A=1', 'A=2']), refused('--env', /A is given twice/));
  assert.throws(() => parseEnv(['A=a\0b']), refused('--env', /NUL/));
});

test('--user as numbers needs no passwd: UID[:GID], GID defaults to UID', () => {
  assert.deepEqual(parseUser('0'), { uid: 0, gid: 0 });
  assert.deepEqual(parseUser('1000'), { uid: 1000, gid: 1000 });
  assert.deepEqual(parseUser('1000:0'), { uid: 1000, gid: 0 });
  assert.deepEqual(parseUser('4294967294:4294967294'), { uid: 4294967294, gid: 4294967294 });
  for (const bad of [':1000', '1000:1000:1', '-1', '4294967295', '1000:4294967295', '1.5', '', 'a b', 'x:y:z']) {
    assert.throws(() => parseUser(bad), refused('--user'), bad);
  }
  assert.throws(() => parseUser('root'), /^Error: bug: --user "root" has a name/, 'a caller that resolves names must pass the accounts');
});

test('--user by name resolves against the passwd and group given', () => {
  const accounts = { passwd: [{ name: 'root', uid: 0, gid: 0 }, { name: 'nobody', uid: 65534, gid: 65534 }, { name: 'postgres', uid: 104, gid: 110 }], group: [{ name: 'root', gid: 0 }, { name: 'nogroup', gid: 65534 }, { name: 'postgres', gid: 110 }, { name: 'ssl-cert', gid: 111 }] };
  assert.deepEqual(parseUser('postgres', accounts), { uid: 104, gid: 110 }, 'the primary group from passwd');
  assert.deepEqual(parseUser('postgres:ssl-cert', accounts), { uid: 104, gid: 111 });
  assert.deepEqual(parseUser('nobody:0', accounts), { uid: 65534, gid: 0 });
  assert.deepEqual(parseUser('1000:postgres', accounts), { uid: 1000, gid: 110 });
  assert.deepEqual(parseUser('postgres:', accounts), { uid: 104, gid: 110 }, 'USER: is the login group, as with chown');
  assert.throws(() => parseUser('www-data', accounts), refused('--user', /no user "www-data" in the host's \/etc\/passwd/));
  assert.throws(() => parseUser('postgres:www-data', accounts), refused('--user', /no group "www-data" in the host's \/etc\/group/));
});

test('--rw takes absolute normalized paths outside the read-only OS', () => {
  for (const ok of ['/var/lib/app', '/srv', '/srv/data', '/data', '/tmp/cache', '/var', '/run/app', '/opt/x_y.z@1+2-3', '/usrdata', '/application']) {
    assert.equal(checkRwPath(ok), ok);
  }
  const cases: [string, RegExp][] = [
    ['/', /root directory/], ['var/lib', /not an absolute path/], ['', /not an absolute path/],
    ['/var/lib/', /not a normalized path/], ['/var//lib', /not a normalized path/], ['/var/./lib', /not a normalized path/],
    ['/var/../etc', /not a normalized path/], ['/srv/a b', /unusual path segment "a b"/], ['/srv/x:y', /unusual/],
    ['/usr', /under \/usr/], ['/usr/local/data', /under \/usr/], ['/etc/app', /under \/etc/], ['/proc/x', /under \/proc/],
    ['/sys', /under \/sys/], ['/dev/shm', /under \/dev/], ['/app', /under \/app/], ['/app/uploads', /under \/app/],
    ['/bin', /under \/bin/], ['/lib64/x', /under \/lib64/], [`/${'a'.repeat(300)}`, /too long/],
  ];
  for (const [bad, re] of cases) assert.throws(() => checkRwPath(bad), refused('--rw', re), bad);
  assert.throws(() => checkRwPath('/var/lib/'), (e: unknown) => e instanceof UserError && e.fix === 'write it as "/var/lib"');
});

test('--restart is one of always, on-failure, no', () => {
  for (const p of ['always', 'on-failure', 'no']) assert.equal(parseJailSpec({ ...base, restart: p }, ctx).restart, p);
  assert.throws(() => parseJailSpec({ ...base, restart: 'sometimes' }, ctx), (e: unknown) => e instanceof UserError && /--restart: invalid policy "sometimes"/.test(e.message) && /always, on-failure, no/.test(e.fix ?? ''));
});

test('the command is required and copied', () => {
  assert.throws(() => parseJailSpec({ ...base, command: [] }, ctx), refused('command: missing'));
  assert.throws(() => parseJailSpec({ ...base, command: [''] }, ctx), refused('command: missing'));
  assert.throws(() => parseJailSpec({ ...base, command: ['/bin/x', 'a\0b'] }, ctx), refused('command'));
  const argv = ['/usr/bin/env'];
  const s = parseJailSpec({ ...base, command: argv }, ctx);
  argv.push('changed');
  assert.deepEqual(s.command, ['/usr/bin/env']);
});

test('resolved paths from the caller must be absolute and normalized (a bug otherwise)', () => {
  assert.throws(() => parseJailSpec({ ...base, imagePath: 'relative' }, ctx), (e: unknown) => !(e instanceof UserError) && /bug: image path/.test((e as Error).message));
  assert.throws(() => parseJailSpec({ ...base, writablePath: '/a/../b' }, ctx), /bug: writable path/);
});
