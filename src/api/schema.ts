/**
 * Request bodies of the agent API, as strict zod schemas: an unknown field is refused by
 * name. Only shapes are checked here; values (sizes, addresses, names) are the manager's to
 * validate, so the messages match whether a request came over the API or not.
 */
import { z } from 'zod';
import type { ExecRequest, JailCreateRequest } from '../jail/service.js';
import { UserError } from '../sys/errors.js';

const strings = z.array(z.string());

export const jailCreateSchema = z.strictObject({
  name: z.string(),
  image: z.string(),
  ip: z.string().optional(),
  memory: z.string().optional(),
  cpus: z.string().optional(),
  pids: z.string().optional(),
  env: strings.optional(),
  user: z.string().optional(),
  rw: strings.optional(),
  etc: strings.optional(),
  restart: z.string().optional(),
  command: strings,
  start: z.boolean().optional(),
});

export const execSchema = z.strictObject({
  command: strings,
  user: z.string().optional(),
  env: strings.optional(),
  timeoutSeconds: z.number().positive().optional(),
});

export const stopSchema = z.strictObject({
  timeoutSeconds: z.number().int().min(0).optional(),
});

export const emptySchema = z.strictObject({});

// Compile-time check that the schemas and the service contract agree.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const createMatches: Same<z.infer<typeof jailCreateSchema>, JailCreateRequest> = true;
const execMatches: Same<z.infer<typeof execSchema>, ExecRequest> = true;
void createMatches;
void execMatches;

const EXPECTED: Record<string, string> = {
  string: 'a string', boolean: 'true or false', number: 'a number', int: 'a whole number',
  array: 'an array of strings', object: 'a JSON object',
};

/** Parses `body` with `schema`; a mismatch is a UserError naming every offending field. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const allowed = schema instanceof z.ZodObject ? Object.keys(schema.shape as object) : [];
  const problems: string[] = [];
  let fix: string | undefined;
  const issues = [...r.error.issues].sort((a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'));
  for (const issue of issues) {
    const at = formatPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      problems.push(`unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(at ? `${at}.${k}` : k)).join(', ')}`);
      fix ??= allowed.length ? `remove ${issue.keys.length > 1 ? 'them' : 'it'}; the fields of ${what} are: ${allowed.join(', ')}` : 'send an empty object';
    } else if (issue.code === 'invalid_type') {
      const want = EXPECTED[issue.expected] ?? issue.expected;
      if (at === '') problems.push(`expected ${want}`);
      else problems.push(`${at}: ${/received undefined/.test(issue.message) ? `missing (expected ${want})` : `expected ${want}`}`);
      fix ??= at ? `send ${at} as ${want}` : `send ${what} as a JSON object`;
    } else {
      problems.push(`${at || 'body'}: ${issue.message}`);
    }
  }
  throw new UserError(`invalid ${what}: ${problems.join('; ')}`, fix);
}

function formatPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${String(p)}` : String(p);
  return s;
}
