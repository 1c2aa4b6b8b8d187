/**
 * What the server calls: one handler per route of the contract. A JSON route's handler takes
 * the checked input and returns the reply; a streamed route's handler writes the stream.
 */
import type { ServerResponse } from 'node:http';
import type { z } from 'zod';
import type { ClusterRouteName, JailRouteName, RouteInput, RouteName, Routes, StreamRouteName } from './contract.js';

export interface StreamOut {
  res: ServerResponse;
  /** Aborted when the client hangs up or the server shuts down: stop the stream then. */
  signal: AbortSignal;
  /** Writes the 200 head with the route's content type (and `headers`), once. */
  start(headers?: Record<string, string>): void;
}

type ReplyIn<N extends RouteName> = Routes[N]['reply'] extends z.ZodType ? z.input<Routes[N]['reply']> : never;

export type Handler<N extends RouteName> = N extends StreamRouteName
  ? (input: RouteInput<N>, out: StreamOut) => Promise<void>
  : (input: RouteInput<N>) => Promise<ReplyIn<N>>;

export type Handlers = { [N in RouteName]: Handler<N> };
export type JailHandlers = Pick<Handlers, JailRouteName>;
export type ClusterHandlers = Pick<Handlers, ClusterRouteName>;
