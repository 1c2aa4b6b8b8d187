/**
 * From a schema path (`services.web.replicas`) back to the place in the YAML source that
 * holds it. Pure. Follows aliases (the value lives where the anchor was written) and
 * merge keys (`<<: *base`). A path that is missing in the file (a required field not
 * written) resolves to the key of its nearest existing parent, so "image is missing"
 * points at the service's name.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, visit, type Document, type Node, type Pair } from 'yaml';

export type Target = 'key' | 'value';

/** The source offset for `path`: the key itself for target 'key', else the value (or its key when the value is empty). */
export function locate(doc: Document, path: readonly PropertyKey[], target: Target): number {
  let node: unknown = doc.contents;
  let key: Node | null = null;
  let fallback = startOf(node) ?? 0;
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc);
    let next: { node: unknown; key: Node | null } | undefined;
    if (isMap(node)) {
      const pair = findPair(doc, node.items as Pair[], String(seg), 0);
      if (pair) next = { node: pair.value, key: isNodeLike(pair.key) ? pair.key : null };
    } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
      next = { node: node.items[seg], key: null };
    }
    if (!next) return fallback;
    node = next.node;
    key = next.key;
    fallback = startOf(key) ?? startOf(node) ?? fallback;
  }
  // an empty value (`replicas:`) has a zero-length node just after the colon: name the key instead
  if ((target === 'key' || isEmpty(node)) && key) return startOf(key) ?? fallback;
  return startOf(node) ?? startOf(key) ?? fallback;
}

function findPair(doc: Document, items: readonly Pair[], name: string, depth: number): Pair | undefined {
  const own = items.find((p) => keyText(p.key) === name);
  if (own || depth > 8) return own;
  for (const p of items) {
    if (keyText(p.key) !== '<<') continue;
    const sources = isSeq(p.value) ? p.value.items : [p.value];
    for (let src of sources) {
      if (isAlias(src)) src = src.resolve(doc);
      if (isMap(src)) {
        const found = findPair(doc, src.items as Pair[], name, depth + 1);
        if (found) return found;
      }
    }
  }
  return undefined;
}

export function keyText(k: unknown): string | undefined {
  // with merge enabled, yaml keeps `<<` as a symbol
  if (isScalar(k)) return typeof k.value === 'symbol' ? '<<' : String(k.value);
  return typeof k === 'string' ? k : undefined;
}

function isNodeLike(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && 'range' in v;
}

function isEmpty(n: unknown): boolean {
  return isScalar(n) && n.range != null && n.range[0] === n.range[1];
}

function startOf(n: unknown): number | undefined {
  return isNodeLike(n) && n.range ? n.range[0] : undefined;
}

/** The schema path of the map key written at `offset` (for YAML errors such as a duplicate key). */
export function pathOfKeyAt(doc: Document, offset: number): PropertyKey[] | undefined {
  return keysWhere(doc, (key) => startOf(key) === offset)[0]?.[1];
}

/** Every map key for which `test` holds, as `[offset, schema path]`, in document order. */
export function keysWhere(doc: Document, test: (key: unknown) => boolean): [number, PropertyKey[]][] {
  const found: [number, PropertyKey[]][] = [];
  visit(doc, {
    Pair(_, pair, ancestors) {
      if (!test(pair.key)) return undefined;
      const path: PropertyKey[] = [];
      const chain = [...ancestors, pair];
      chain.forEach((a, i) => {
        if (isPair(a)) path.push(keyText(a.key) ?? '?');
        else if (isSeq(a)) path.push(a.items.indexOf(chain[i + 1] as never));
      });
      found.push([startOf(pair.key) ?? 0, path]);
      return undefined;
    },
  });
  return found;
}

/** Aliases whose anchor is not defined before them: `[offset, name]`. */
export function unresolvedAliases(doc: Document): [number, string][] {
  const out: [number, string][] = [];
  visit(doc, {
    Alias(_, alias) {
      if (alias.resolve(doc) === undefined) out.push([alias.range?.[0] ?? 0, alias.source]);
    },
  });
  return out;
}
