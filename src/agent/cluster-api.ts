/**
 * The agent API's cluster routes (beside the jail routes of api/server.ts), on the unix
 * socket and on the mTLS listener alike:
 *
 *   GET    /v1/cluster                       -> ClusterStatus
 *   POST   /v1/cluster/init|join|leave|token|remove
 *   GET    /v1/hosts                         -> HostRow[]
 *   POST   /v1/hosts/:name/cordon|drain|uncordon
 *   POST   /v1/stacks/:name/diff             {file, stack} -> ServiceDiff[]
 *   PUT    /v1/stacks/:name                  {file, stack} -> {diff, revision}  (apply)
 *   DELETE /v1/stacks/:name                  -> {removed: services}
 *   GET    /v1/status?stack=NAME             -> ServiceStatus[]
 *   POST   /v1/images/:name/:tag/stream      {have} -> image stream (agent to agent)
 *   POST   /v1/images/:name/:tag/pull        -> PullResult (pull it here from a peer)
 *   POST   /v1/images/:name/:tag/push        -> per host PullResult (every live host pulls it)
 */
import { z } from 'zod';
import type { Reply, RouteRequest } from '../api/server.js';
import { allow } from '../api/server.js';
import { RequestError } from '../api/errors.js';
import { queryOf } from '../api/http.js';
import { checkStackName } from '../cluster/stacks.js';
import { checkName, formatImageRef, parseImageRef } from '../sys/names.js';
import type { Stack } from '../spec/types.js';
import type { ClusterRuntime } from './cluster-runtime.js';
import type { ClusterOps } from './cluster-ops.js';

export type { HostRow } from './services/hosts.js';
export type { HostPull } from './images.js';

const port = z.number().int().min(1).max(65535);
const stackBody = z.strictObject({ file: z.string(), stack: z.strictObject({ services: z.record(z.string(), z.any()) }) });
const initBody = z.strictObject({ advertise: z.string().optional(), name: z.string().optional(), apiPort: port.optional(), joinPort: port.optional() });
const joinBody = z.strictObject({ address: z.string(), token: z.string(), advertise: z.string().optional(), name: z.string().optional(), joinPort: port.optional(), apiPort: port.optional() });
const tokenBody = z.strictObject({ ttlSeconds: z.number().int().optional() });
const removeBody = z.strictObject({ host: z.string(), force: z.boolean().optional() });
const haveBody = z.strictObject({ have: z.array(z.string()).max(10_000) });

function parse<T>(schema: z.ZodType<T>, v: unknown, what: string): T {
  const r = schema.safeParse(v ?? {});
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new RequestError(400, `${what} is invalid at ${i.path.join('.') || '(root)'}: ${i.message}`, 'client and agent may be of different cellblock versions');
  }
  return r.data;
}

/** What the cluster routes call: the current runtime's services, and the cluster operations. */
export interface ClusterRouteDeps {
  runtime: () => ClusterRuntime;
  ops: ClusterOps;
}

function checkStack(stack: Record<string, unknown>): Stack {
  for (const [svc, spec] of Object.entries((stack as unknown as Stack).services)) {
    checkName('service', svc);
    if (!spec || typeof spec !== 'object' || typeof spec.replicas !== 'number' || !spec.image) throw new RequestError(400, `service ${svc} is not a normalized service spec`, 'send the output of the stack parser (the CLI does this)');
  }
  return stack as unknown as Stack;
}

export function clusterRoutes(d: ClusterRouteDeps) {
  return async (r: RouteRequest): Promise<Reply | undefined> => {
    const [collection, a, b, c, ...rest] = r.parts;
    const m = r.method;
    switch (collection) {
      case 'cluster': return clusterRoute(d, r, a, b);
      case 'hosts': {
        if (a === undefined) { allow(m, ['GET']); return { status: 200, body: await d.runtime().hosts.rows() }; }
        allow(m, ['POST']);
        if (b === undefined || c !== undefined) return undefined;
        return { status: 200, body: await d.runtime().hosts.control(decodeURIComponent(a), b) };
      }
      case 'stacks': {
        if (a === undefined || c !== undefined) return undefined;
        const name = checkStackName(decodeURIComponent(a));
        if (b === 'diff') {
          allow(m, ['POST']);
          const body = parse(stackBody, await r.body(), 'stack diff request');
          return { status: 200, body: await d.runtime().stacks.diff(name, checkStack(body.stack)) };
        }
        if (b !== undefined) return undefined;
        allow(m, ['PUT', 'DELETE']);
        if (m === 'PUT') {
          const body = parse(stackBody, await r.body(), 'apply request');
          return { status: 200, body: await d.runtime().stacks.apply(name, body.file, checkStack(body.stack)) };
        }
        return { status: 200, body: await d.runtime().stacks.remove(name) };
      }
      case 'status': {
        if (a !== undefined) return undefined;
        allow(m, ['GET']);
        const q = queryOf(r.url, ['stack']);
        return { status: 200, body: await d.runtime().stacks.status(q.get('stack')) };
      }
      case 'images': {
        if (a === undefined || b === undefined || c === undefined || rest.length) return undefined;
        allow(m, ['POST']);
        const ref = parseImageRef(`${decodeURIComponent(a)}:${decodeURIComponent(b)}`);
        const images = d.runtime().images;
        if (c === 'stream') {
          const body = parse(haveBody, await r.body(), 'image stream request');
          await images.serve(ref, body.have, r.res);
          return 'streamed';
        }
        if (c === 'pull') return { status: 200, body: await images.pull(formatImageRef(ref)) };
        if (c === 'push') {
          const q = queryOf(r.url, ['stream']);
          if (q.get('stream') !== '1') return { status: 200, body: await images.push(formatImageRef(ref)) };
          // one JSON line per host as its pull ends, so the CLI shows each host's progress
          let started = false;
          const line = (v: unknown) => {
            if (!started) { r.res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' }); started = true; }
            r.res.write(JSON.stringify(v) + '\n');
          };
          const out = await images.push(formatImageRef(ref), { onTargets: (hosts) => line({ hosts }), onHost: (h) => line(h) });
          line({ done: true, image: out.image });
          r.res.end();
          return 'streamed';
        }
        return undefined;
      }
      default:
        return undefined;
    }
  };
}

async function clusterRoute(d: ClusterRouteDeps, r: RouteRequest, action: string | undefined, extra: string | undefined): Promise<Reply | undefined> {
  if (extra !== undefined) return undefined;
  if (action === undefined) {
    allow(r.method, ['GET']);
    return { status: 200, body: await d.ops.status() };
  }
  allow(r.method, ['POST']);
  switch (action) {
    case 'init': return { status: 200, body: await d.ops.init(parse(initBody, await r.body(), 'cluster init request')) };
    case 'join': return { status: 200, body: await d.ops.join(parse(joinBody, await r.body(), 'cluster join request')) };
    case 'leave': return { status: 200, body: await d.ops.leave() };
    case 'remove': { const b = parse(removeBody, await r.body(), 'cluster remove request'); return { status: 200, body: await d.ops.remove(b.host, { force: b.force ?? false }) }; }
    case 'token': {
      const b = parse(tokenBody, await r.body(), 'cluster token request');
      return { status: 200, body: await d.ops.token(b.ttlSeconds) };
    }
    default: return undefined;
  }
}
