import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSize, formatSize } from '../../src/sys/size.js';

test('parseSize understands units', () => {
  assert.equal(parseSize('s', '512M'), 512 * 1024 ** 2);
  assert.equal(parseSize('s', '20G'), 20 * 1024 ** 3);
  assert.equal(parseSize('s', '20g'), 20 * 1024 ** 3);
  assert.equal(parseSize('s', '1.5G'), 1.5 * 1024 ** 3);
  assert.equal(parseSize('s', '100K'), 102400);
  assert.equal(parseSize('s', '1T'), 1024 ** 4);
  assert.equal(parseSize('s', '4096'), 4096);
  assert.equal(parseSize('s', '256MiB'), 256 * 1024 ** 2);
  assert.equal(parseSize('s', '256MB'), 256 * 1024 ** 2);
});

test('parseSize rejects nonsense, naming the field', () => {
  for (const v of ['', 'abc', '-1G', '1X', '1.2.3G', 'G', '1 G G', 'Infinity', '0x10']) {
    assert.throws(() => parseSize('--size', v), /--size: invalid size/, v);
  }
  assert.throws(() => parseSize('--size', '0'), /too small/);
  assert.throws(() => parseSize('--size', '1M', { min: 256 * 1024 ** 2 }), /too small.*\n?/);
  assert.throws(() => parseSize('--memory', '2T', { max: 1024 ** 4 }), /too large/);
});

test('formatSize is short', () => {
  assert.equal(formatSize(512), '512B');
  assert.equal(formatSize(1024), '1.00K');
  assert.equal(formatSize(20 * 1024 ** 3), '20.0G');
  assert.equal(formatSize(512 * 1024 ** 2), '512M');
});
