import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from '../../src/spec/duration.js';
import { UserError } from '../../src/sys/errors.js';

test('parseDuration: units ms, s, m, h and sums', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('5s'), 5000);
  assert.equal(parseDuration('1m'), 60_000);
  assert.equal(parseDuration('2h'), 7_200_000);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('1.1s'), 1100, 'no floating-point leftovers');
  assert.equal(parseDuration(' 10s '), 10_000);
});

test('parseDuration: refusals say what is wrong and what to write', () => {
  const refused = (v: string | number, message: string, fix: RegExp) => {
    assert.throws(() => parseDuration(v), (e: unknown) => e instanceof UserError && e.message === message && fix.test(e.fix ?? ''));
  };
  refused(5, 'expected a duration with a unit, got 5', /5s or 5ms/);
  refused('5', 'invalid duration "5"', /ms, s, m or h/);
  refused('5 s', 'invalid duration "5 s"', /for example 500ms/);
  refused('fast', 'invalid duration "fast"', /unit/);
  refused('', 'invalid duration ""', /unit/);
  refused('-1s', 'invalid duration "-1s"', /unit/);
  refused('0s', 'duration "0s" is zero', /greater than zero/);
  refused('0.5ms', 'duration "0.5ms" is not a whole number of milliseconds', /whole milliseconds/);
  refused('25h', 'duration "25h" is longer than a day', /24h/);
});

test('formatDuration: the shortest text that reads back the same', () => {
  for (const [ms, text] of [[5000, '5s'], [90_000, '1m30s'], [1500, '1500ms'], [3_600_000, '1h'], [3_661_000, '1h1m1s']] as const) {
    assert.equal(formatDuration(ms), text);
    assert.equal(parseDuration(text), ms);
  }
});
