import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExecError } from '../../../src/sys/errors.js';
import { classify } from '../../../src/storage/zfs/classify.js';

// stderr as OpenZFS 2.1 prints it
const CASES: [string[], string, string][] = [
  [['zfs', 'list', 'tank/cb/x'], "cannot open 'tank/cb/x': dataset does not exist\n", 'not-found'],
  [['zfs', 'destroy', 'tank/cb/x@s'], 'could not find any snapshots to destroy; check snapshot names.\n', 'not-found'],
  [['zfs', 'list', 'nope'], "cannot open 'nope': no such pool\n", 'not-found'],
  [['zfs', 'create', 'tank/cb/x'], "cannot create 'tank/cb/x': dataset already exists\n", 'exists'],
  [['zfs', 'snapshot', 'tank/cb/x@s'], "cannot create snapshot 'tank/cb/x@s': dataset already exists\n", 'exists'],
  [['zfs', 'receive', 'tank/cb/x@s'], "cannot receive new filesystem stream: destination 'tank/cb/x' exists\nmust specify -F to overwrite it\n", 'exists'],
  [['zfs', 'destroy', 'tank/cb/x'], "cannot destroy 'tank/cb/x': dataset is busy\n", 'busy'],
  [['zfs', 'destroy', 'tank/cb/x@s'], "cannot destroy 'tank/cb/x@s': snapshot has dependent clones\nuse '-R' to destroy the following datasets:\ntank/cb/y\n", 'busy'],
  [['zfs', 'receive', 'tank/cb/y@s'], 'cannot receive incremental stream: local origin for clone tank/cb/y@s does not exist\n', 'not-found'],
  [['zfs', 'receive', 'tank/cb/x@s2'], 'cannot receive incremental stream: most recent snapshot of tank/cb/x does not\nmatch incremental source\n', 'failed'],
  [['zfs', 'receive', 'tank/cb/x@s'], 'cannot receive: failed to read from stream\n', 'failed'],
  [['zfs', 'rollback', 'tank/cb/x@s1'], "cannot rollback to 'tank/cb/x@s1': more recent snapshots or bookmarks exist\nuse '-r' to force deletion of the following snapshots and bookmarks:\ntank/cb/x@s2\n", 'failed'],
];

test('zfs failures are classified by stderr (exit code 1)', () => {
  for (const [argv, stderr, kind] of CASES) {
    const e = classify(new ExecError(argv, 1, stderr)) as ExecError;
    assert.equal(e.kind, kind, stderr);
  }
});

test('other tools, other exit codes and other kinds are left alone', () => {
  assert.equal((classify(new ExecError(['tar', 'x'], 1, 'dataset does not exist')) as ExecError).kind, 'failed');
  assert.equal((classify(new ExecError(['zfs', 'list'], 2, 'dataset does not exist')) as ExecError).kind, 'failed');
  assert.equal((classify(new ExecError(['zfs', 'list'], null, '', 'missing-tool')) as ExecError).kind, 'missing-tool');
  const plain = new Error('x');
  assert.equal(classify(plain), plain);
});
