/** The stack routes: a stack file's text in (the agent parses it with src/spec), diffs and status out. */
import { z } from 'zod';
import { checkStackName } from '../../cluster/stacks.js';
import { MAX_STACK_BYTES } from '../../spec/parse.js';
import { checked, noQuery, route } from './define.js';

/** The stack file as the user wrote it: `file` names it in error messages (stack.yml:3:5 ...). */
export const stackText = z.strictObject({ file: z.string().min(1).max(4096), text: z.string().max(MAX_STACK_BYTES) });
export type StackText = z.infer<typeof stackText>;

export const serviceDiff = z.object({
  service: z.string(),
  change: z.enum(['add', 'update', 'scale', 'remove', 'none']),
  details: z.array(z.string()),
});
export type ServiceDiff = z.infer<typeof serviceDiff>;

export const replicaStatus = z.object({
  replica: z.number(),
  host: z.string().nullable(),
  current: z.boolean(),
  phase: z.enum(['pulling', 'creating', 'running', 'stopped', 'failed', 'unplaced', 'pending']),
  healthy: z.boolean(),
  ip: z.string().nullable(),
  message: z.string().nullable(),
});
export type ReplicaStatus = z.infer<typeof replicaStatus>;

export const serviceStatus = z.object({
  stack: z.string(),
  service: z.string(),
  image: z.string(),
  replicas: z.number(),
  specHash: z.string(),
  ready: z.number(),
  instances: z.array(replicaStatus),
});
export type ServiceStatus = z.infer<typeof serviceStatus>;

export const applyResult = z.object({
  stack: z.string(),
  diff: z.array(serviceDiff),
  revision: z.string(),
  services: z.array(z.object({ service: z.string(), specHash: z.string() })),
});
export type ApplyResult = z.infer<typeof applyResult>;

export const deleteResult = z.object({ stack: z.string(), removed: z.array(z.string()) });
export type DeleteResult = z.infer<typeof deleteResult>;

const stack = { name: checkStackName };

export const STACK_ROUTES = {
  stackDiff: route({ method: 'POST', path: '/v1/stacks/:name/diff', params: stack, query: noQuery, body: stackText, reply: z.array(serviceDiff), doc: '`{file, text}` -> `ServiceDiff[]`' }),
  stackApply: route({ method: 'PUT', path: '/v1/stacks/:name', params: stack, query: noQuery, body: stackText, reply: applyResult, doc: '`{file, text}` (apply) -> `{stack, diff, revision, services}`' }),
  stackDelete: route({ method: 'DELETE', path: '/v1/stacks/:name', params: stack, query: noQuery, body: null, reply: deleteResult, doc: '`{stack, removed}`' }),
  status: route({ method: 'GET', path: '/v1/status', params: {}, query: z.strictObject({ stack: checked(checkStackName).optional() }), body: null, reply: z.array(serviceStatus), doc: '`?stack=NAME` -> `ServiceStatus[]`' }),
};
