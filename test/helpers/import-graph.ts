/**
 * The relative-import graph of TypeScript sources and the cycles in it, for
 * test/sys/import-cycles.test.ts. Static imports only: `import ... from`, `import type ... from`,
 * `export ... from`, `import './x.js'` (type-only edges count: a type cycle is still a cycle of
 * modules that cannot be understood one without the other). `import()` expressions are not
 * edges: they are how a lazy import hides a cycle, which this check is not meant to accept,
 * but they are rare enough to review by hand.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';

/** File (relative path, "/" separators) -> the files it imports. */
export type ImportGraph = Map<string, string[]>;

/** A statement at the start of a line (so JSDoc lines, which start with "*", never match). */
const IMPORT_RE = /^[ \t]*(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]*?\s*from\s*)?['"]([^'"\n]+)['"]/gm;

/** The module specifiers of a file's static imports and re-exports, in order. */
export function importSpecifiers(src: string): string[] {
  const out: string[] = [];
  for (const m of src.matchAll(IMPORT_RE)) out.push(m[1]!);
  return out;
}

/** `./x.js` imported by `src/a/b.ts` -> `src/a/x.ts`; undefined for a package import. */
export function resolveRelative(from: string, spec: string, exists: (file: string) => boolean): string | undefined {
  if (!spec.startsWith('./') && !spec.startsWith('../')) return undefined;
  const base = posix.normalize(posix.join(posix.dirname(from), spec));
  const stem = base.replace(/\.(js|ts|mjs)$/, '');
  for (const c of [`${stem}.ts`, `${stem}/index.ts`, base]) if (exists(c)) return c;
  return `${stem}.ts`; // a missing file: tsc reports it; keep the edge anyway
}

/** Graph of files (relative to `root`, "/" separated) under root/dir. */
export function readGraph(root: string, dir: string): ImportGraph {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith('.ts') && !n.endsWith('.d.ts')) files.push(relative(root, p).split(sep).join('/'));
    }
  };
  walk(join(root, dir));
  const set = new Set(files);
  const g: ImportGraph = new Map();
  for (const f of files.sort()) {
    const deps = importSpecifiers(readFileSync(join(root, f), 'utf8'))
      .map((s) => resolveRelative(f, s, (c) => set.has(c)))
      .filter((x): x is string => x !== undefined);
    g.set(f, [...new Set(deps)]);
  }
  return g;
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
export function cyclicComponents(g: ImportGraph): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index); low.set(v, index); index++;
    stack.push(v); on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do { w = stack.pop()!; on.delete(w); comp.push(w); } while (w !== v);
      if (comp.length > 1 || (g.get(v) ?? []).includes(v)) out.push(comp.sort());
    }
  };
  for (const v of [...g.keys()].sort()) if (!idx.has(v)) visit(v);
  return out;
}

/** One concrete cycle through the component's first file, e.g. [a, b, a] (breadth-first: shortest). */
export function cycleThrough(g: ImportGraph, comp: readonly string[]): string[] {
  const inComp = new Set(comp);
  const start = comp[0]!;
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of g.get(v) ?? []) {
      if (!inComp.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let x: string | undefined = v; x !== undefined && x !== start; x = prev.get(x)) path.splice(1, 0, x);
        return [...path, start];
      }
      if (!prev.has(w)) { prev.set(w, v); queue.push(w); }
    }
  }
  return [start, start];
}

/** A readable line per cycle that touches a file under one of `folders`. */
export function describeCycles(g: ImportGraph, folders: readonly string[]): string[] {
  const under = (f: string) => folders.some((d) => f === d || f.startsWith(d.endsWith('/') ? d : `${d}/`));
  return cyclicComponents(g)
    .filter((c) => c.some(under))
    .map((c) => cycleThrough(g, c).join(' -> ') + (c.length > 2 ? ` (component of ${c.length} files: ${c.join(', ')})` : ''));
}

