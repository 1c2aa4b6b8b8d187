/**
 * Integration: what a real jail sees of the host's OS. Its /etc is the host's, read-only:
 * alternatives-managed tools, the time zone, the CA bundle and the other files of a full /etc
 * work as on the host; every path the host keeps from other users (listed here with `find`,
 * independently of cellblock's own scan) is unreadable even to the jail's root; nothing under
 * /etc can be written; a path asked for by name (`etc: { shadow: host }`) is shown.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, readlink } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { exec } from '../../src/sys/exec.js';
import { UserError } from '../../src/sys/errors.js';
import { JailLab, jailSkipReason, type RunningJail } from '../helpers/jail-harness.js';
import { ENOENT, inJail } from '../helpers/jail-probes.js';

const skip = await jailSkipReason();
const SLEEP = ['/usr/bin/sleep', 'infinity'];
let lab: JailLab | undefined;
let root: RunningJail;

before(async () => {
  if (skip) return;
  lab = await JailLab.open('cbosview-');
  root = await lab.start({ name: 'root', command: SLEEP, files: { 'words': 'pear\napple\nfig\n' } });
});

after(async () => {
  await lab?.teardown();
});

/** Every path under the host's /etc that other users cannot read: a file not o+r, a directory not o+r or not o+x, and all below such a directory. */
async function hiddenOnHost(): Promise<string[]> {
  const r = await exec(['find', '/etc', '(', '-type', 'd', '(', '!', '-perm', '-o=r', '-o', '!', '-perm', '-o=x', ')', ')', '-o', '(', '!', '-type', 'l', '!', '-type', 'd', '!', '-perm', '-o=r', ')']);
  const direct = r.stdout.split('\n').filter(Boolean);
  const below = direct.length ? (await exec(['find', ...direct, '-mindepth', '1'], { okCodes: [0, 1] })).stdout.split('\n').filter(Boolean) : [];
  return [...new Set([...direct, ...below])].sort();
}

test('a root jail reads none of the paths the host keeps from other users (listed on the host now)', { skip }, async (t) => {
  const hidden = await hiddenOnHost();
  t.diagnostic(`${hidden.length} non-world-readable paths under the host's /etc: ${hidden.join(' ')}`);
  assert.ok(hidden.includes('/etc/shadow') && hidden.includes('/etc/gshadow'), 'a Debian host has at least these');
  assert.ok((await readFile('/etc/shadow', 'utf8')).includes('root:'), 'control: the host\'s root reads it');
  const res = await inJail(root, [
    'for p in sys.argv[1:]:',
    '    try:',
    '        out[p] = {"entries": len(os.listdir(p))} if os.path.isdir(p) else {"bytes": len(open(p, "rb").read())}',
    '    except OSError as e:',
    '        out[p] = {"errno": e.errno}',
  ], hidden);
  const leaks = hidden.filter((p) => {
    const got = res[p] as { entries?: number; bytes?: number; errno?: number };
    return !(got.errno === ENOENT || got.entries === 0 || got.bytes === 0);
  });
  assert.deepEqual(leaks.map((p) => `${p}: ${JSON.stringify(res[p])}`), [], 'each is empty (masked) or absent (under a masked directory)');
});

test('writing anywhere under /etc fails: every directory, every file, masks included; the host\'s /etc is unchanged', { skip }, async (t) => {
  const before = (await readdir('/etc')).sort();
  const res = await inJail(root, [
    'bad = {}; n = 0',
    'for d, dirs, files in os.walk("/etc"):',
    '    n += 1',
    '    e = os_errno(lambda: os.close(os.open(os.path.join(d, ".cb-write-probe"), os.O_CREAT | os.O_WRONLY, 0o644)))',
    '    if e != errno.EROFS: bad[d + "/.cb-write-probe"] = e',
    '    for f in files:',
    '        p = os.path.join(d, f)',
    '        if os.path.islink(p): continue',
    '        n += 1',
    '        e = os_errno(lambda: os.close(os.open(p, os.O_WRONLY | os.O_NONBLOCK)))',
    '        if e not in (errno.EROFS, errno.ENXIO): bad[p] = e',
    '        e = os_errno(os.unlink, p)',
    '        if e not in (errno.EROFS, errno.EBUSY): bad[p + " (unlink)"] = e',
    'out["checked"] = n',
    'out["bad"] = bad',
  ]);
  t.diagnostic(`${String(res.checked)} paths under /etc tried`);
  assert.ok((res.checked as number) > 100);
  assert.deepEqual(res.bad, {}, 'every write is refused with EROFS (EBUSY to unlink a mount point)');
  assert.deepEqual((await readdir('/etc')).sort(), before, 'nothing reached the host');
});

test('alternatives-managed tools work (awk, sed, sort, ...), as on the host', { skip }, async (t) => {
  assert.equal((await root.exec(['awk', 'BEGIN { print 6 * 7 }'])).stdout, '42\n');
  assert.equal((await root.exec(['sed', '-n', 's/^/host: /p', '/etc/hostname'])).stdout, 'host: root\n');
  assert.equal((await root.exec(['sort', '/app/words'])).stdout, 'apple\nfig\npear\n');
  // every tool of /usr/bin and /usr/sbin that goes through /etc/alternatives resolves in the jail as on the host
  const viaAlternatives: string[] = [];
  for (const dir of ['/usr/bin', '/usr/sbin']) {
    for (const name of await readdir(dir)) {
      const target = await readlink(`${dir}/${name}`).catch(() => '');
      if (target.startsWith('/etc/alternatives/')) viaAlternatives.push(`${dir}/${name}`);
    }
  }
  t.diagnostic(`${viaAlternatives.length} tools through /etc/alternatives: ${viaAlternatives.join(' ')}`);
  assert.ok(viaAlternatives.includes('/usr/bin/awk'));
  const onHost = Object.fromEntries(await Promise.all(viaAlternatives.map(async (p) => [p, (await exec(['realpath', '-e', p], { okCodes: [0, 1] })).stdout.trim()] as const)));
  const inside = await inJail(root, ['for p in sys.argv[1:]: out[p] = os.path.realpath(p) if os.access(p, os.X_OK) else ""'], viaAlternatives);
  assert.deepEqual(inside, onHost);
});

test('date shows the host\'s time zone; /etc/localtime and /etc/timezone are the host\'s', { skip }, async () => {
  const fmt = ['date', '+%Z %z'];
  assert.equal((await root.exec(fmt)).stdout, (await exec(fmt)).stdout);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const res = await inJail(root, [
    'import hashlib',
    'out["localtime"] = hashlib.sha256(open("/etc/localtime", "rb").read()).hexdigest()',
    'out["timezone"] = open("/etc/timezone").read() if os.path.exists("/etc/timezone") else None',
  ]);
  assert.equal(res.localtime, sha(await readFile('/etc/localtime')));
  assert.equal(res.timezone, await readFile('/etc/timezone', 'utf8').catch(() => null));
});

test('CA certificates, services, protocols and mime.types are the host\'s', { skip }, async () => {
  const files = ['/etc/ssl/certs/ca-certificates.crt', '/etc/services', '/etc/protocols', '/etc/passwd', '/etc/os-release', '/etc/mime.types'];
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const expected: Record<string, string | null> = {};
  for (const f of files) expected[f] = await readFile(f).then(sha, () => null);
  const res = await inJail(root, [
    'import hashlib',
    'for p in sys.argv[1:]:',
    '    try: out[p] = hashlib.sha256(open(p, "rb").read()).hexdigest()',
    '    except OSError: out[p] = None',
  ], files);
  assert.deepEqual(res, expected);
  assert.equal((await root.exec(['getent', 'services', 'https'])).stdout.split(/\s+/)[1], '443/tcp');
});

test('a path asked for by name is shown: etc shadow=host lets that jail read the host\'s /etc/shadow', { skip }, async () => {
  const j = await lab!.start({ name: 'shadow', command: SLEEP, etc: ['shadow=host'] });
  const host = createHash('sha256').update(await readFile('/etc/shadow')).digest('hex');
  const res = await inJail(j, ['import hashlib', 'out["shadow"] = hashlib.sha256(open("/etc/shadow", "rb").read()).hexdigest()', 'out["gshadow"] = len(open("/etc/gshadow", "rb").read())']);
  assert.deepEqual(res, { shadow: host, gshadow: 0 }, 'only what was asked for');
  await j.teardown();
});

test('an etc entry for a path the host lacks is refused before the jail runs', { skip }, async () => {
  await assert.rejects(lab!.start({ name: 'missing', command: SLEEP, etc: ['cellblock-no-such-dir/app.conf=/app/app.conf'], files: { 'app.conf': 'x\n' } }),
    (e: unknown) => e instanceof UserError && /\/etc\/cellblock-no-such-dir\/app.conf does not exist on this host/.test(e.message));
});

test('a user name the host lacks is refused with the field and the fix, before the jail runs', { skip }, async () => {
  await assert.rejects(lab!.start({ name: 'nouser', command: SLEEP, user: 'cellblock-no-such-user' }),
    (e: unknown) => e instanceof UserError && /^--user: "cellblock-no-such-user": there is no user "cellblock-no-such-user" in the host's \/etc\/passwd/.test(e.message) && /adduser --system/.test(e.fix ?? ''));
});
