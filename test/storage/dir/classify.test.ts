import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExecError } from '../../../src/sys/errors.js';
import { classify } from '../../../src/storage/dir/classify.js';

// stderr as GNU tar 1.34 prints it (exit code 2)
test('tar refusing its input is classified as bad-input; other failures stay failed', () => {
  const kind = (argv: string[], stderr: string) => classify(new ExecError(argv, 2, stderr)).kind;
  assert.equal(kind(['tar', '--extract'], 'tar: This does not look like a tar archive\ntar: Exiting with failure status due to previous errors\n'), 'bad-input');
  assert.equal(kind(['tar', '--extract'], 'tar: Unexpected EOF in archive\ntar: Error is not recoverable: exiting now\n'), 'bad-input');
  assert.equal(kind(['tar', '--extract'], 'tar: Skipping to next header\n'), 'bad-input');
  assert.equal(kind(['tar', '--extract'], 'tar: ./x: Cannot open: Permission denied\n'), 'failed');
  assert.equal(kind(['cp', '-a'], 'Unexpected EOF in archive'), 'failed', 'only tar');
});
