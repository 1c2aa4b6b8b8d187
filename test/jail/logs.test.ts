import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatLogLine, logStream, parseK8sLog, tailLines } from '../../src/jail/logs.js';

test('k8s-file lines are parsed, partial records joined per stream', () => {
  const text = [
    '2026-11-25T06:37:57.99+00:00 stdout F hello out',
    '2026-11-25T06:37:57.99+00:00 stderr P part one ',
    '2026-11-25T06:37:58.00+00:00 stdout F second',
    '2026-11-25T06:37:58.01+00:00 stderr F and two',
    'garbage line',
    '2026-11-25T06:37:58.02+00:00 stdout F ',
    '2026-11-25T06:37:58.03+00:00 stdout F incompl',
  ].join('\n');
  const { lines, rest } = parseK8sLog(text);
  assert.deepEqual(lines.map((l) => [l.stream, l.text]), [['stdout', 'hello out'], ['stdout', 'second'], ['stderr', 'part one and two'], ['stdout', '']]);
  assert.equal(rest, '2026-11-25T06:37:58.03+00:00 stdout F incompl');
  assert.equal(formatLogLine(lines[0]!), '2026-11-25T06:37:57.99+00:00 stdout hello out\n');
  assert.deepEqual(tailLines(lines, 1).map((l) => l.text), ['']);
  assert.deepEqual(tailLines(lines, 0), []);
});

const dir = await mkdtemp(join(tmpdir(), 'cb-logs-'));
after(() => rm(dir, { recursive: true, force: true }));

test('logStream tails, follows new lines and survives truncation', async () => {
  const f = join(dir, 'console.log');
  await writeFile(f, 'T1 stdout F a\nT2 stdout F b\nT3 stderr F c\n');
  const ac = new AbortController();
  const s = logStream(f, { follow: true, tail: 2, signal: ac.signal, pollMs: 20 });
  const got: string[] = [];
  s.on('data', (c: Buffer) => got.push(c.toString()));
  await new Promise((r) => setTimeout(r, 60));
  await appendFile(f, 'T4 stdout F d\n');
  await new Promise((r) => setTimeout(r, 80));
  await writeFile(f, 'T5 stdout F e\n'); // truncated and rewritten, as conmon does at its cap
  await new Promise((r) => setTimeout(r, 80));
  ac.abort();
  await new Promise((r) => s.on('end', r));
  assert.deepEqual(got.join('').trim().split('\n'), ['T2 stdout b', 'T3 stderr c', 'T4 stdout d', 'T5 stdout e']);
});

test('logStream without follow ends after what is there; a missing file gives nothing', async () => {
  const f = join(dir, 'other.log');
  await writeFile(f, 'T1 stdout F x\n');
  let out = '';
  for await (const c of logStream(f, {})) out += c;
  assert.equal(out, 'T1 stdout x\n');
  out = '';
  for await (const c of logStream(join(dir, 'none.log'), {})) out += c;
  assert.equal(out, '');
});
