/** The rollout routes: a service's rollout (in progress or last) with its history, and undo. */
import { z } from 'zod';
import { UserError } from '../../sys/errors.js';
import { checkStackName } from '../../cluster/stacks.js';
import { checked, route } from './define.js';

const SERVICE_REF_RE = /^(?:[a-z0-9][a-z0-9_-]{0,62}\/)?[a-z0-9][a-z0-9_-]{0,62}$/;

/** `NAME` (unique across stacks) or `STACK/NAME`. */
export function checkServiceRef(v: string): string {
  if (!SERVICE_REF_RE.test(v)) throw new UserError(`invalid service ${JSON.stringify(v)}`, 'name it NAME (when no other stack has a service of that name) or STACK/NAME, in lowercase letters, digits, "_" or "-"');
  return v;
}

const specRef = z.object({ specHash: z.string(), image: z.string() });

export const rolloutReplica = z.object({
  replica: z.number(),
  jail: z.string(),
  host: z.string().nullable(),
  specHash: z.string(),
  surge: z.boolean(),
  inRotation: z.boolean(),
  notIn: z.array(z.string()),
  draining: z.boolean(),
  drainingSince: z.string().optional(),
  assignedAt: z.string().optional(),
});

export const rolloutHistoryEntry = z.object({
  startedAt: z.string(),
  endedAt: z.string(),
  from: specRef.nullable(),
  to: specRef,
  outcome: z.enum(['complete', 'rolled-back', 'undone', 'superseded']),
  reason: z.string().nullable(),
});

/** A rollout record as the CLI sees it (the previous spec named, not given in full), with the service's deploy settings. */
export const rolloutView = z.object({
  stack: z.string(),
  service: z.string(),
  state: z.enum(['progressing', 'complete', 'rolled-back', 'undone']),
  from: specRef.nullable(),
  to: specRef,
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  reason: z.string().nullable(),
  replicas: z.array(rolloutReplica),
  events: z.array(z.object({ at: z.string(), text: z.string() })),
  history: z.array(rolloutHistoryEntry),
  /** The service as it is now: desired replicas, spec hash and deploy settings (null once deleted). */
  current: z.object({
    replicas: z.number(),
    specHash: z.string(),
    image: z.string(),
    deadlineMs: z.number(),
    drainMs: z.number(),
    maxSurge: z.number(),
    maxUnavailable: z.number(),
  }).nullable(),
  /** The agent's clock when it answered (for elapsed times). */
  now: z.string(),
});
export type RolloutView = z.infer<typeof rolloutView>;

export const ROLLOUT_ROUTES = {
  rollouts: route({
    method: 'GET', path: '/v1/rollouts', params: {},
    query: z.strictObject({ service: checked(checkServiceRef).optional(), stack: checked(checkStackName).optional() }),
    body: null, reply: z.array(rolloutView),
    doc: '`?service=NAME|STACK/NAME` or `?stack=NAME` -> `RolloutView[]` (each service\'s rollout in progress or last, with history)',
  }),
  rolloutUndo: route({
    method: 'POST', path: '/v1/rollouts/undo', params: {}, query: z.strictObject({}),
    body: z.strictObject({ service: checked(checkServiceRef) }), reply: rolloutView,
    doc: '`{service}` -> `RolloutView`: back to the spec before the last rollout',
  }),
};
