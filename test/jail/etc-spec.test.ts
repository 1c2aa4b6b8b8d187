import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkEtcMap, imageOverlays, parseEtcEntries, unmaskedPaths } from '../../src/jail/etc-spec.js';
import { UserError } from '../../src/sys/errors.js';

const refused = (re: RegExp) => (e: unknown) => e instanceof UserError && re.test(e.message) && !!e.fix;

test('--etc PATH=SOURCE: sorted, /etc/ prefix accepted, image paths and "host"', () => {
  const etc = parseEtcEntries(['ssl/private=host', '/etc/nginx/nginx.conf=/app/etc/nginx.conf', 'nginx/conf.d=/app/etc/conf.d']);
  assert.deepEqual(etc, { 'nginx/conf.d': '/app/etc/conf.d', 'nginx/nginx.conf': '/app/etc/nginx.conf', 'ssl/private': 'host' });
  assert.deepEqual(Object.keys(etc), ['nginx/conf.d', 'nginx/nginx.conf', 'ssl/private']);
  assert.deepEqual(unmaskedPaths(etc), ['ssl/private']);
  assert.deepEqual(imageOverlays(etc), [['nginx/conf.d', '/app/etc/conf.d'], ['nginx/nginx.conf', '/app/etc/nginx.conf']]);
  assert.deepEqual(unmaskedPaths(undefined), []);
});

test('bad --etc entries are refused with the field and a fix', () => {
  const cases: [string, RegExp][] = [
    ['nginx.conf', /--etc: invalid entry "nginx.conf"/],
    ['=/app/x', /invalid entry/],
    ['/usr/x=/app/x', /"\/usr\/x" is not under \/etc/],
    ['../shadow=/app/x', /not a normalized path|unusual segment/],
    ['nginx//x=/app/x', /not a normalized path/],
    ['hosts=/app/hosts', /\/etc\/hosts is written by cellblock/],
    ['resolv.conf=host', /\/etc\/resolv.conf is written by cellblock/],
    ['nginx/nginx.conf=/srv/nginx.conf', /neither a path under \/app nor "host"/],
    ['nginx/nginx.conf=/app/../etc/shadow', /not a normalized path/],
    ['nginx/nginx.conf=relative', /neither a path under \/app/],
    ['nginx/nginx.conf=', /neither a path under \/app/],
  ];
  for (const [item, re] of cases) assert.throws(() => parseEtcEntries([item]), refused(re), item);
  assert.throws(() => parseEtcEntries(['a=host', '/etc/a=host']), refused(/\/etc\/a is given twice/));
  assert.throws(() => checkEtcMap([['nginx', '/app/nginx'], ['nginx/nginx.conf', '/app/x']]), refused(/\/etc\/nginx\/nginx.conf is inside \/etc\/nginx/));
});
