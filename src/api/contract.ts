/**
 * The agent API's contract: every route once, with its method, path, query, body and reply
 * (contract/*.ts). The server routes by it, the typed client calls by it, and the CLI, the
 * benchmarks and the handlers take their types from here.
 */
import type { z } from 'zod';
import { JAIL_ROUTES } from './contract/jails.js';
import { CLUSTER_ROUTES } from './contract/cluster.js';
import { STACK_ROUTES } from './contract/stacks.js';
import { IMAGE_ROUTES } from './contract/images.js';
import { ROLLOUT_ROUTES } from './contract/rollouts.js';
import { LB_ROUTES } from './contract/lb.js';
import type { RouteDef } from './contract/define.js';

export * from './contract/define.js';
export * from './contract/jails.js';
export * from './contract/cluster.js';
export * from './contract/stacks.js';
export * from './contract/images.js';
export * from './contract/rollouts.js';
export * from './contract/lb.js';

export const ROUTES = { ...JAIL_ROUTES, ...CLUSTER_ROUTES, ...STACK_ROUTES, ...IMAGE_ROUTES, ...ROLLOUT_ROUTES, ...LB_ROUTES } satisfies Record<string, RouteDef>;

export type Routes = typeof ROUTES;
export type RouteName = keyof Routes;
/** The routes a JailService answers (and health). */
export type JailRouteName = keyof typeof JAIL_ROUTES;
export type ClusterRouteName = Exclude<RouteName, JailRouteName>;
export type StreamRouteName = { [N in RouteName]: Routes[N] extends { stream: string } ? N : never }[RouteName];
export type JsonRouteName = Exclude<RouteName, StreamRouteName>;

type Schema<S> = S extends z.ZodType ? S : never;
export type ParamsOf<N extends RouteName> = { [K in keyof Routes[N]['params']]: string };
/** What the client sends (raw query strings) and what the handler gets (after the schema's transforms). */
export type QueryIn<N extends RouteName> = z.input<Schema<Routes[N]['query']>>;
export type QueryOf<N extends RouteName> = z.output<Schema<Routes[N]['query']>>;
export type BodyIn<N extends RouteName> = Routes[N]['body'] extends z.ZodType ? z.input<Routes[N]['body']> : undefined;
export type BodyOf<N extends RouteName> = Routes[N]['body'] extends z.ZodType ? z.output<Routes[N]['body']> : undefined;
/** The reply of a JSON route; one line of an ndjson route. */
export type ReplyOf<N extends RouteName> = Routes[N]['reply'] extends z.ZodType ? z.output<Routes[N]['reply']> : never;

/** What a handler gets: decoded and checked parameters, query and body. */
export interface RouteInput<N extends RouteName> {
  params: ParamsOf<N>;
  query: QueryOf<N>;
  body: BodyOf<N>;
}

type Part<K extends string, T> = [T] extends [undefined] ? { [P in K]?: undefined } : {} extends T ? { [P in K]?: T } : { [P in K]: T };
/** What a caller passes: each part may be left out when it has no required field. */
export type CallInput<N extends RouteName> = Part<'params', ParamsOf<N>> & Part<'query', QueryIn<N>> & Part<'body', BodyIn<N>>;
/** `[input]`, or `[input?]` when nothing is required. */
export type CallArgs<N extends RouteName> = {} extends CallInput<N> ? [input?: CallInput<N>] : [input: CallInput<N>];

/** `/v1/jails/:name` with `{name: 'web'}` -> `/v1/jails/web`, each parameter URI-encoded. */
export function pathOf(def: RouteDef, params: Record<string, string> = {}): string {
  return def.path.replace(/:([a-z]+)/g, (_, k: string) => {
    const v = params[k];
    if (v === undefined) throw new TypeError(`missing path parameter ${k} of ${def.path}`);
    return encodeURIComponent(v);
  });
}
