import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkEtcSpec, etcViewOf, readHostEtc } from '../../src/jail/etc-view.js';
import { parseJailSpec } from '../../src/jail/model.js';
import { UserError } from '../../src/sys/errors.js';

async function fixture(): Promise<{ dir: string; etc: string; image: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'cb-etcview-'));
  const etc = join(dir, 'etc');
  const image = join(dir, 'image');
  await mkdir(join(etc, 'nginx'), { recursive: true });
  await writeFile(join(etc, 'nginx', 'nginx.conf'), 'host\n', { mode: 0o644 });
  await writeFile(join(etc, 'shadow'), 'root:x\n', { mode: 0o640 });
  await writeFile(join(etc, 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\n', { mode: 0o644 });
  await writeFile(join(etc, 'group'), 'root:x:0:\nwww-data:x:33:\n', { mode: 0o644 });
  await mkdir(join(image, 'etc', 'conf.d'), { recursive: true });
  await writeFile(join(image, 'etc', 'nginx.conf'), 'image\n');
  await symlink('/etc/shadow', join(image, 'etc', 'sneaky.conf'));
  return { dir, etc, image };
}

const specWith = (image: string, etc: string[]) => parseJailSpec({ name: 'web', image: 'web:v1', imagePath: image, writablePath: '/w', etc, command: ['/usr/bin/true'] }, { instance: 'h1', hostCpus: 2 });
const refused = (re: RegExp) => (e: unknown) => e instanceof UserError && re.test(e.message) && !!e.fix;

test('etc entries are checked against the host and the image', async () => {
  const { dir, etc, image } = await fixture();
  try {
    const host = await readHostEtc(etc);
    await checkEtcSpec(specWith(image, ['nginx/nginx.conf=/app/etc/nginx.conf', 'shadow=host']), host);
    await assert.rejects(checkEtcSpec(specWith(image, ['nginx/missing.conf=/app/etc/nginx.conf']), host), refused(/\/etc\/nginx\/missing.conf does not exist on this host/));
    await assert.rejects(checkEtcSpec(specWith(image, ['nginx/nginx.conf=/app/etc/none.conf']), host), refused(/\/app\/etc\/none.conf is not in image web:v1/));
    await assert.rejects(checkEtcSpec(specWith(image, ['nginx/nginx.conf=/app/etc/sneaky.conf']), host), refused(/symbolic link/), 'a bind source is resolved on the host: a link could reach its /etc/shadow');
    await assert.rejects(checkEtcSpec(specWith(image, ['nginx/nginx.conf=/app/etc/conf.d']), host), refused(/is a file on this host but \/app\/etc\/conf.d is a dir/));
    await assert.rejects(checkEtcSpec(specWith(image, ['nginx=/app/etc/nginx.conf']), host), refused(/is a dir on this host but/));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the view masks what the host hides, except what the spec names and the jail\'s own files', async () => {
  const { dir, etc, image } = await fixture();
  try {
    const host = await readHostEtc(etc);
    assert.deepEqual(host.listing.map((e) => e.path), ['group', 'nginx', 'nginx/nginx.conf', 'passwd', 'shadow']);
    assert.match(host.accounts.passwd, /^www-data:/m);
    assert.deepEqual(etcViewOf(specWith(image, []), host, ['hosts']), { hostEtc: etc, own: ['hosts'], masked: [{ path: '/etc/shadow', dir: false }] });
    assert.deepEqual(etcViewOf(specWith(image, ['shadow=host']), host, ['hosts']).masked, []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
