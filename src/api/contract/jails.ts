/** The jail routes and health: a JailService (src/jail/service.ts) over HTTP. */
import { z } from 'zod';
import { flag, name, noBody, noQuery, route, wholeNumber } from './define.js';

const strings = z.array(z.string());

export const health = z.object({ ok: z.boolean(), pid: z.number(), version: z.string().nullable(), uptimeSeconds: z.number() });
export type Health = z.infer<typeof health>;

/** Raw user input, as typed on the command line: the jail manager validates the values. */
export const jailCreateRequest = z.strictObject({
  name: z.string(),
  image: z.string(),
  ip: z.string().optional(),
  memory: z.string().optional(),
  cpus: z.string().optional(),
  pids: z.string().optional(),
  /** Size limit of the jail's writable dataset (512M, 2G). */
  disk: z.string().optional(),
  env: strings.optional(),
  user: z.string().optional(),
  rw: strings.optional(),
  /** PATH=SOURCE: a path under /etc laid over from the image (/app/...), or shown from the host ("host"). */
  etc: strings.optional(),
  restart: z.string().optional(),
  command: strings,
  start: z.boolean().optional(),
});

export const execRequest = z.strictObject({
  command: strings,
  user: z.string().optional(),
  env: strings.optional(),
  timeoutSeconds: z.number().positive().optional(),
});

export const jailView = z.object({
  name: z.string(),
  image: z.string(),
  ip: z.string(),
  state: z.enum(['created', 'running', 'stopped', 'restarting', 'failed']),
  pid: z.number().nullable(),
  restart: z.enum(['always', 'on-failure', 'no']),
  restarts: z.number(),
  lastExitCode: z.number().nullable(),
  lastExitReason: z.string().nullable(),
  command: strings,
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  /** Disk limit and use: in `jail ls` and `jail inspect`. */
  disk: z.object({ limitBytes: z.number().nullable(), usedBytes: z.number().nullable(), enforced: z.boolean() }).optional(),
});
export type JailView = z.infer<typeof jailView>;

const num = z.number().nullable();
export const jailInspect = jailView.extend({
  spec: z.object({ memoryBytes: num, cpus: num, pids: z.number(), diskBytes: num, env: z.record(z.string(), z.string()), user: z.object({ uid: z.number(), gid: z.number() }), rw: strings }),
  usage: z.object({
    memory: z.object({ limitBytes: num, usageBytes: num, oomKills: num }),
    cpu: z.object({ cpus: num, usageSeconds: num }),
    pids: z.object({ limit: z.number(), current: num }),
    diskExclusiveBytes: num,
  }),
  paths: z.object({ bundle: z.string(), writable: z.string(), log: z.string(), netns: z.string() }),
  hostInterface: z.string(),
});
export type JailInspect = z.infer<typeof jailInspect>;

export const execOutput = z.object({ exitCode: z.number(), stdout: z.string(), stderr: z.string() });

const jail = { name: name('jail') };

export const JAIL_ROUTES = {
  health: route({ method: 'GET', path: '/v1/health', params: {}, query: noQuery, body: null, reply: health, doc: '`{ok, pid, version, uptimeSeconds}`' }),
  jailList: route({ method: 'GET', path: '/v1/jails', params: {}, query: noQuery, body: null, reply: z.array(jailView), doc: '`JailView[]`' }),
  jailCreate: route({ method: 'POST', path: '/v1/jails', params: {}, query: noQuery, body: jailCreateRequest, reply: jailView, status: 201, doc: '`JailCreateRequest` -> `201 JailView`' }),
  jailInspect: route({ method: 'GET', path: '/v1/jails/:name', params: jail, query: noQuery, body: null, reply: jailInspect, doc: '`JailInspect`' }),
  jailStart: route({ method: 'POST', path: '/v1/jails/:name/start', params: jail, query: noQuery, body: noBody, reply: jailView, doc: 'none or `{}` -> `JailView`' }),
  jailStop: route({ method: 'POST', path: '/v1/jails/:name/stop', params: jail, query: noQuery, body: z.strictObject({ timeoutSeconds: z.number().int().min(0).optional() }), reply: jailView, doc: '`{timeoutSeconds?}` -> `JailView`' }),
  jailDisk: route({ method: 'POST', path: '/v1/jails/:name/disk', params: jail, query: noQuery, body: z.strictObject({ disk: z.string() }), reply: jailView, doc: '`{disk}` -> `JailView`: the disk limit changed in place' }),
  jailRestart: route({ method: 'POST', path: '/v1/jails/:name/restart', params: jail, query: noQuery, body: noBody, reply: jailView, doc: 'none or `{}` -> `JailView`' }),
  jailRemove: route({ method: 'DELETE', path: '/v1/jails/:name', params: jail, query: z.strictObject({ force: flag.optional() }), body: null, reply: z.object({ removed: z.string() }), doc: '`?force=1` -> `{removed}`' }),
  jailExec: route({ method: 'POST', path: '/v1/jails/:name/exec', params: jail, query: noQuery, body: execRequest, reply: execOutput, doc: '`ExecRequest` -> `ExecOutput`' }),
  jailLogs: route({
    method: 'GET', path: '/v1/jails/:name/logs', params: jail, query: z.strictObject({ follow: flag.optional(), tail: wholeNumber.optional() }), body: null, reply: null, stream: 'text',
    doc: '`?follow=1&tail=N` -> text, streamed; hanging up aborts the service\'s stream',
  }),
};
