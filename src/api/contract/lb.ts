/** The load balancer's route: every host's HAProxy and what it has in rotation (lbstate/*), and the `lb:` settings. */
import { z } from 'zod';
import { noQuery, route } from './define.js';

export const lbServer = z.object({
  jail: z.string(),
  addr: z.string(),
  status: z.string(),
  inRotation: z.boolean(),
  sessions: z.number(),
  requests: z.number(),
  errors: z.number(),
});

export const lbBackend = z.object({ stack: z.string(), service: z.string(), backend: z.string(), servers: z.array(lbServer) });

export const lbHost = z.object({
  host: z.string(),
  /** unknown: no lbstate record (the host is down, or its agent has no load balancer). */
  haproxy: z.enum(['running', 'stopped', 'failed', 'unknown']),
  message: z.string().nullable(),
  backends: z.array(lbBackend),
  vipHeld: z.boolean(),
  at: z.string().nullable(),
});
export type LbHostRow = z.infer<typeof lbHost>;

export const lbStatus = z.object({
  http: z.number(),
  https: z.number(),
  vip: z.string().nullable(),
  /** The stack whose `lb:` is in force; null: the defaults. */
  stack: z.string().nullable(),
  hosts: z.array(lbHost),
});
export type LbStatus = z.infer<typeof lbStatus>;

export const LB_ROUTES = {
  lbStatus: route({ method: 'GET', path: '/v1/lb', params: {}, query: noQuery, body: null, reply: lbStatus, doc: '`LbStatus`: lb settings, and per host its HAProxy and each backend\'s servers' }),
};
