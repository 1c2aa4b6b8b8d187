/**
 * No import cycles among the files of the folders below (issue 8). Every static relative import
 * counts, `import type` too. It scans all of src/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { cycleThrough, cyclicComponents, describeCycles, importSpecifiers, readGraph, resolveRelative, type ImportGraph } from '../helpers/import-graph.js';

/** Folders (relative to the repository root) whose files must be in no import cycle. */
const SCANNED = ['src'];

/** dist/test/sys/ -> the repository root, where the .ts sources are. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

test('no import cycle touches a file under ' + SCANNED.join(', '), () => {
  const g = readGraph(ROOT, 'src');
  assert.ok(g.size > 50, `read only ${g.size} files under ${ROOT}src`);
  assert.ok((g.get('src/jail/manager.ts') ?? []).includes('src/jail/record.ts'), 'the graph misses a known edge');
  const cycles = describeCycles(g, SCANNED);
  assert.deepEqual(cycles, [], `import cycles:\n  ${cycles.join('\n  ')}`);
});

test('the detector finds a cycle in a small graph, and only the cycle', () => {
  const g: ImportGraph = new Map([
    ['src/jail/a.ts', ['src/jail/b.ts', 'src/sys/x.ts']],
    ['src/jail/b.ts', ['src/jail/c.ts']],
    ['src/jail/c.ts', ['src/jail/a.ts']],
    ['src/sys/x.ts', []],
    ['src/agent/p.ts', ['src/agent/q.ts']],
    ['src/agent/q.ts', ['src/agent/p.ts']],
  ]);
  assert.deepEqual(cyclicComponents(g), [['src/agent/p.ts', 'src/agent/q.ts'], ['src/jail/a.ts', 'src/jail/b.ts', 'src/jail/c.ts']]);
  assert.deepEqual(cycleThrough(g, ['src/jail/a.ts', 'src/jail/b.ts', 'src/jail/c.ts']), ['src/jail/a.ts', 'src/jail/b.ts', 'src/jail/c.ts', 'src/jail/a.ts']);
  // only cycles touching the scanned folders are reported
  assert.deepEqual(describeCycles(g, ['src/jail']), ['src/jail/a.ts -> src/jail/b.ts -> src/jail/c.ts -> src/jail/a.ts (component of 3 files: src/jail/a.ts, src/jail/b.ts, src/jail/c.ts)']);
  assert.deepEqual(describeCycles(g, ['src/sys']), []);
  // a file importing itself is a cycle too
  assert.equal(cyclicComponents(new Map([['src/sys/s.ts', ['src/sys/s.ts']]])).length, 1);
  // no cycle, no report
  assert.deepEqual(cyclicComponents(new Map([['a.ts', ['b.ts']], ['b.ts', []]])), []);
});

test('imports are read from source text: type-only, re-exports, multi-line; not comments or packages', () => {
  const src = [
    "import { a } from './a.js';",
    "import type { B } from '../b/b.js';",
    'import {',
    '  c,',
    '  type D,',
    "} from './c.js';",
    "export { e } from './e.js';",
    "export * from './f.js';",
    "export type { G } from './g.js';",
    "import './side.js';",
    "import { z } from 'zod';",
    ' * import { h } from "./in-a-comment.js";',
    "const lazy = await import('./lazy.js');",
  ].join('\n');
  assert.deepEqual(importSpecifiers(src), ['./a.js', '../b/b.js', './c.js', './e.js', './f.js', './g.js', './side.js', 'zod']);
  const files = new Set(['src/jail/a.ts', 'src/b/index.ts']);
  const has = (f: string) => files.has(f);
  assert.equal(resolveRelative('src/jail/m.ts', './a.js', has), 'src/jail/a.ts');
  assert.equal(resolveRelative('src/jail/m.ts', '../b/index.js', has), 'src/b/index.ts');
  assert.equal(resolveRelative('src/jail/m.ts', 'zod', has), undefined);
});
