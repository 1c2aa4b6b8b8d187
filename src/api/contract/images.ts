/** The image routes: a stream between agents, a pull here, a push to every live host. */
import { z } from 'zod';
import { name, noBody, noQuery, route } from './define.js';

export const pullResult = z.object({
  image: z.string(),
  /** The host it came from; null when it was here already. */
  from: z.string().nullable(),
  /** NAME:TAG the stream was incremental against, or null for a full stream. */
  since: z.string().nullable(),
  bytes: z.number(),
  seconds: z.number(),
});
export type PullResult = z.infer<typeof pullResult>;

/** One host's pull during a push; `error` when it failed. */
export const hostPull = pullResult.extend({ host: z.string(), error: z.string().nullable() });
export type HostPull = z.infer<typeof hostPull>;

export const pushResult = z.object({ image: z.string(), hosts: z.array(hostPull) });
export type PushResult = z.infer<typeof pushResult>;

/** The push's lines: the target hosts first, one line per host as its pull ends, then done. */
export const pushLine = z.union([z.object({ hosts: z.array(z.string()) }), hostPull, z.object({ done: z.literal(true), image: z.string() })]);
export type PushLine = z.infer<typeof pushLine>;

const image = { name: name('image'), tag: name('tag') };

export const IMAGE_ROUTES = {
  imageStream: route({
    method: 'POST', path: '/v1/images/:name/:tag/stream', params: image, query: noQuery, body: z.strictObject({ have: z.array(z.string()).max(10_000) }), reply: null, stream: 'octets',
    doc: '`{have}` -> the image stream, incremental against the newest image in `have` (agent to agent)',
  }),
  imagePull: route({ method: 'POST', path: '/v1/images/:name/:tag/pull', params: image, query: noQuery, body: noBody, reply: pullResult, doc: '`{}` -> `PullResult`: pull it here from a live holder' }),
  imagePush: route({
    method: 'POST', path: '/v1/images/:name/:tag/push', params: image, query: noQuery, body: noBody, reply: pushLine, stream: 'ndjson',
    doc: '`{}` -> JSON lines: `{hosts}`, a `HostPull` per host as it ends, `{done, image}`: every other live host pulls it',
  }),
};
