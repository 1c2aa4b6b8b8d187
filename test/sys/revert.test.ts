import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Revert } from '../../src/sys/revert.js';

test('fail() runs undos newest first', async () => {
  const order: string[] = [];
  const r = new Revert();
  r.add('first', () => { order.push('first'); });
  r.add('second', async () => { order.push('second'); });
  r.add('third', () => { order.push('third'); });
  await r.fail();
  assert.deepEqual(order, ['third', 'second', 'first']);
  assert.deepEqual(r.failures, []);
});

test('fail() runs each undo once', async () => {
  let n = 0;
  const r = new Revert();
  r.add('count', () => { n++; });
  await r.fail();
  await r.fail();
  assert.equal(n, 1);
});

test('success() drops the undos', async () => {
  let ran = false;
  const r = new Revert();
  r.add('undo', () => { ran = true; });
  r.success();
  await r.fail();
  assert.equal(ran, false);
});

test('an undo that fails is recorded and the others still run', async () => {
  const order: string[] = [];
  const r = new Revert();
  r.add('a', () => { order.push('a'); });
  r.add('b', () => { throw new Error('b broke'); });
  r.add('c', () => { order.push('c'); });
  await r.fail();
  assert.deepEqual(order, ['c', 'a']);
  assert.equal(r.failures.length, 1);
  assert.equal(r.failures[0]!.what, 'b');
  assert.match(String(r.failures[0]!.error), /b broke/);
});

test('Revert.run returns the value and runs no undo on success', async () => {
  let undone = false;
  const v = await Revert.run(async (r) => {
    r.add('undo', () => { undone = true; });
    return 42;
  });
  assert.equal(v, 42);
  assert.equal(undone, false);
});

test('Revert.run undoes newest first and rethrows the original error', async () => {
  const order: string[] = [];
  const original = new Error('step 3 failed');
  await assert.rejects(
    Revert.run(async (r) => {
      r.add('step 1', () => { order.push('1'); });
      r.add('step 2', () => { order.push('2'); });
      throw original;
    }),
    (e: unknown) => e === original && (e as Error).message === 'step 3 failed',
  );
  assert.deepEqual(order, ['2', '1']);
});

test('Revert.run: an undo failure does not hide the original error', async () => {
  const original = new Error('mount failed');
  await assert.rejects(
    Revert.run(async (r) => {
      r.add('remove loop device', () => { throw new Error('device busy'); });
      throw original;
    }),
    (e: unknown) => {
      assert.equal(e, original);
      assert.match((e as Error).message, /^mount failed\n\(cleanup after the failure also failed: remove loop device: device busy\)$/);
      return true;
    },
  );
});

test('Revert.run rethrows non-Error values unchanged', async () => {
  await assert.rejects(
    Revert.run(async (r) => {
      r.add('undo', () => { throw new Error('also broken'); });
      throw 'plain string';
    }),
    (e: unknown) => e === 'plain string',
  );
});
