/**
 * Routing by the contract: a request's method and path to one route, and its parameters,
 * query and body checked against the route's declarations. Every refusal is a 400 that names
 * the route and the field: `jailStop request is invalid at body.timeoutSeconds: expected a number`.
 */
import { z } from 'zod';
import { UserError } from '../sys/errors.js';
import { ROUTES, type RouteName } from './contract.js';
import type { Method, RouteDef } from './contract/define.js';
import { RequestError } from './errors.js';

interface Compiled { name: RouteName; def: RouteDef; segments: string[] }

const COMPILED: Compiled[] = (Object.entries(ROUTES) as [RouteName, RouteDef][]).map(([name, def]) => ({ name, def, segments: def.path.split('/').filter(Boolean) }));

export class MethodNotAllowed extends RequestError {
  constructor(method: string, readonly allowed: string[]) {
    super(405, `method ${method} is not allowed here`, `use ${allowed.join(' or ')}`);
  }
}

export function noRoute(method: string, pathname: string): RequestError {
  return new RequestError(404, `no such API route: ${method} ${pathname}`, 'see src/api/README.md for the routes of this agent; client and agent may be of different versions');
}

export interface Match { name: RouteName; def: RouteDef; rawParams: Record<string, string> }

/** The route for method + path; 404 when no path matches, 405 (with the allowed methods) when only the method is wrong. */
export function matchRoute(method: string, pathname: string, available: (name: RouteName) => boolean = () => true): Match {
  const parts = pathname.split('/').filter(Boolean);
  const allowed: Method[] = [];
  for (const c of COMPILED) {
    if (c.segments.length !== parts.length || !available(c.name)) continue;
    const rawParams: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < parts.length && ok; i++) {
      const s = c.segments[i]!;
      if (s.startsWith(':')) rawParams[s.slice(1)] = parts[i]!;
      else ok = s === parts[i];
    }
    if (!ok) continue;
    if (c.def.method === method) return { name: c.name, def: c.def, rawParams };
    allowed.push(c.def.method);
  }
  if (allowed.length) throw new MethodNotAllowed(method, allowed);
  throw noRoute(method, pathname);
}

/** Decodes and checks each path parameter with the route's checker (src/sys/names.ts). */
export function decodeParams(route: string, def: RouteDef, raw: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, check] of Object.entries(def.params)) {
    const at = `params.${k}`;
    let v: string;
    try {
      v = decodeURIComponent(raw[k] ?? '');
    } catch {
      throw invalid(route, at, `not a valid URI component: ${JSON.stringify(raw[k])}`, 'encode the name with encodeURIComponent');
    }
    try {
      out[k] = check(v);
    } catch (e) {
      if (e instanceof UserError) throw invalid(route, at, e.message, e.fix);
      throw e;
    }
  }
  return out;
}

/** The query as an object of strings (a repeated key is refused), checked by the route's schema. */
export function parseQuery(route: string, def: RouteDef, search: URLSearchParams): unknown {
  const obj: Record<string, string> = {};
  for (const [k, v] of search) {
    if (Object.hasOwn(obj, k)) throw invalid(route, `query.${k}`, 'given more than once', `give ${k} once`);
    obj[k] = v;
  }
  return parseWith(route, 'query', def.query, obj);
}

function invalid(route: string, at: string, message: string, fix?: string): RequestError {
  return new RequestError(400, `${route} request is invalid at ${at}: ${message}`, fix);
}

const EXPECTED: Record<string, string> = {
  string: 'a string', boolean: 'true or false', number: 'a number', int: 'a whole number',
  array: 'an array', object: 'a JSON object',
};

/**
 * The one parse helper: `value` checked by `schema`, or a 400 naming the route, where (body,
 * query) and every offending field, with a fix. Unknown fields are refused by name.
 */
export function parseWith<S extends z.ZodType>(route: string, part: 'body' | 'query', schema: S, value: unknown): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const allowed = schema instanceof z.ZodObject ? Object.keys(schema.shape as object) : [];
  const what = part === 'query' ? 'query parameter' : 'field';
  const problems: string[] = [];
  let fix: string | undefined;
  const issues = [...r.error.issues].sort((a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'));
  for (const issue of issues) {
    const at = [part, formatPath(issue.path)].filter(Boolean).join('.').replace('.[', '[');
    if (issue.code === 'unrecognized_keys') {
      const inner = formatPath(issue.path);
      problems.push(`${at}: unknown ${what}${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(inner ? `${inner}.${k}` : k)).join(', ')}`);
      fix ??= allowed.length && !inner ? `remove ${issue.keys.length > 1 ? 'them' : 'it'}; the ${what}s of ${route} are: ${allowed.join(', ')}` : `remove ${issue.keys.length > 1 ? 'them' : 'it'}; ${route} takes no ${what}s${inner ? ` in ${inner}` : ''}`;
    } else if (issue.code === 'invalid_type') {
      const want = EXPECTED[issue.expected] ?? issue.expected;
      problems.push(`${at}: ${/received undefined/.test(issue.message) ? `missing (expected ${want})` : `expected ${want}`}`);
      fix ??= `send ${at} as ${want}`;
    } else {
      problems.push(`${at}: ${issue.message}`);
      const own = issue.code === 'custom' ? (issue.params as { fix?: unknown } | undefined)?.fix : undefined;
      if (typeof own === 'string') fix ??= own;
    }
  }
  throw new RequestError(400, `${route} request is invalid at ${problems.join('; ')}`, fix ?? 'client and agent may be of different cellblock versions');
}

function formatPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${String(p)}` : String(p);
  return s;
}
