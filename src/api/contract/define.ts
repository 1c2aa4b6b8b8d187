/**
 * How a route of the agent API is declared: method, path pattern with its named parameters
 * (each checked by a name checker of src/sys/names.ts), query, request body and reply, the
 * last three as zod schemas. The server (../server.ts) and the typed client (../client.ts)
 * are both built from these declarations; `z.infer` gives the types either side uses.
 */
import { z } from 'zod';
import { checkName, type NameKind } from '../../sys/names.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** Checks one decoded path parameter; throws a UserError naming it (src/sys/names.ts). */
export type ParamCheck = (value: string) => string;

/** What a streamed reply is, as its content type. */
export const STREAM_TYPES = {
  text: 'text/plain; charset=utf-8',
  octets: 'application/octet-stream',
  ndjson: 'application/x-ndjson',
} as const;
export type StreamKind = keyof typeof STREAM_TYPES;

export interface RouteDef {
  method: Method;
  /** `/v1/jails/:name/start`: every `:word` is a parameter with a checker in `params`. */
  path: string;
  params: Readonly<Record<string, ParamCheck>>;
  /** A strict object of string fields (the raw query), transformed to what the handler gets. */
  query: z.ZodType;
  /** The JSON body; null: the route reads no body. */
  body: z.ZodType | null;
  /** The JSON reply; for a streamed route, the schema of one line (ndjson) or null. */
  reply: z.ZodType | null;
  /** Set when the reply is a stream rather than one JSON document. */
  stream?: StreamKind;
  /** HTTP status of a success (200 unless said). */
  status?: number;
  /** One line for the README's table. */
  doc: string;
}

/** Declares a route, keeping its literal types. */
export const route = <const D extends RouteDef>(d: D): D => d;

export const name = (kind: NameKind): ParamCheck => (v) => checkName(kind, v);

export const noQuery = z.strictObject({});
export const noBody = z.strictObject({});

/** A query flag: 1/true/yes (or present and empty) and 0/false/no. */
export const flag = z.enum(['1', 'true', 'yes', '', '0', 'false', 'no'], { error: 'expected 1 or 0' })
  .transform((v) => ['1', 'true', 'yes', ''].includes(v));

/** A whole number >= 0 in a query. */
export const wholeNumber = z.string().regex(/^\d{1,9}$/, { error: 'expected a whole number >= 0' }).transform(Number);

/** A string checked by a name checker (src/sys/names.ts) inside a schema: its message becomes the issue's. */
export const checked = (check: ParamCheck) => z.string().transform((v, ctx) => {
  try {
    return check(v);
  } catch (e) {
    const fix = (e as { fix?: unknown }).fix;
    ctx.addIssue({ code: 'custom', message: e instanceof Error ? e.message : String(e), ...(typeof fix === 'string' ? { params: { fix } } : {}) });
    return z.NEVER;
  }
});

export const port = z.number().int().min(1).max(65535);

