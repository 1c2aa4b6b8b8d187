import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SerialPass } from '../../src/sys/serial.js';

test('kicks during a pass make exactly one more pass; never two at once; a failure is handed over and the loop goes on', async () => {
  let running = 0;
  let most = 0;
  let passes = 0;
  const errors: unknown[] = [];
  let release: () => void = () => undefined;
  const p = new SerialPass(async () => {
    running++;
    most = Math.max(most, running);
    passes++;
    if (passes === 1) await new Promise<void>((r) => { release = r; });
    running--;
    if (passes === 2) throw new Error('second pass failed');
  }, (e) => errors.push(e), () => false);
  p.kick();
  assert.equal(p.busy, true);
  p.kick();
  p.kick();
  p.kick();
  release();
  await p.idle();
  assert.equal(passes, 2, 'one pass, then one more for the three kicks during it');
  assert.equal(most, 1);
  assert.equal(errors.length, 1);
  assert.equal(p.busy, false);
  p.kick();
  await p.idle();
  assert.equal(passes, 3, 'a kick after a failed pass runs again');
});

test('no pass once stopped', async () => {
  let passes = 0;
  const p = new SerialPass(async () => { passes++; }, () => undefined, () => true);
  p.kick();
  await p.idle();
  assert.equal(passes, 0);
});
