/** The stack routes: a stack file's text in (the agent parses it with src/spec), diffs and status out. */
import { z } from 'zod';
import { checkStackName } from '../../cluster/stacks.js';
import { MAX_STACK_BYTES } from '../../spec/parse.js';
import { MAX_TLS_FILE_BYTES, MAX_TLS_FILES } from '../../lb/certs.js';
import { checked, noQuery, port, route } from './define.js';

/**
 * The stack file as the user wrote it: `file` names it in error messages (stack.yml:3:5 ...).
 * `files`: the contents of the files it names (publish.tls cert and key), by the path as
 * written; the CLI reads them relative to the stack file's directory.
 */
export const stackText = z.strictObject({
  file: z.string().min(1).max(4096),
  text: z.string().max(MAX_STACK_BYTES),
  files: z.record(z.string().min(1).max(4096), z.string().max(MAX_TLS_FILE_BYTES))
    .refine((o) => Object.keys(o).length <= MAX_TLS_FILES, { error: `at most ${MAX_TLS_FILES} files` }).optional(),
});
export type StackText = z.infer<typeof stackText>;

export const serviceDiff = z.object({
  service: z.string(),
  /** `config`: only publish or deploy changed (the load balancer follows; nothing rolls out). */
  change: z.enum(['add', 'update', 'scale', 'config', 'remove', 'none']),
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

/** `POST /v1/lb/ports`: which of these ports a program of this host already listens on (TCP, IPv4 or IPv6). */
export const portsQuery = z.strictObject({ ports: z.array(port).min(1).max(1024) });
export const portInUse = z.object({ port, process: z.string().optional() });
export type PortInUse = z.infer<typeof portInUse>;
export const portsReply = z.object({ host: z.string(), inUse: z.array(portInUse) });
export type PortsReply = z.infer<typeof portsReply>;

const stack = { name: checkStackName };

export const STACK_ROUTES = {
  stackDiff: route({ method: 'POST', path: '/v1/stacks/:name/diff', params: stack, query: noQuery, body: stackText, reply: z.array(serviceDiff), doc: '`{file, text, files?}` -> `ServiceDiff[]`' }),
  stackApply: route({ method: 'PUT', path: '/v1/stacks/:name', params: stack, query: noQuery, body: stackText, reply: applyResult, doc: '`{file, text, files?}` (apply) -> `{stack, diff, revision, services}`' }),
  stackDelete: route({ method: 'DELETE', path: '/v1/stacks/:name', params: stack, query: noQuery, body: null, reply: deleteResult, doc: '`{stack, removed}`' }),
  lbPorts: route({ method: 'POST', path: '/v1/lb/ports', params: {}, query: noQuery, body: portsQuery, reply: portsReply, doc: '`{ports}` -> `{host, inUse: [{port, process?}]}`: ports a program of this host listens on (HAProxy\'s own left out)' }),
  status: route({ method: 'GET', path: '/v1/status', params: {}, query: z.strictObject({ stack: checked(checkStackName).optional() }), body: null, reply: z.array(serviceStatus), doc: '`?stack=NAME` -> `ServiceStatus[]`' }),
};
