/** The jail routes' handlers: a JailService (src/jail/service.ts) behind the contract, and health. */
import type { Logger } from 'pino';
import type { JailService } from '../jail/service.js';
import { logError } from '../sys/log.js';
import { NotSupportedError } from '../sys/errors.js';
import type { JailHandlers } from './handlers.js';

export interface JailHandlerOptions {
  version?: string | undefined;
  startedAt: number;
}

export function jailHandlers(service: JailService, log: Logger, o: JailHandlerOptions): JailHandlers {
  return {
    health: async () => ({ ok: true, pid: process.pid, version: o.version ?? null, uptimeSeconds: Math.round((Date.now() - o.startedAt) / 1000) }),
    jailList: () => service.list(),
    jailCreate: ({ body }) => service.create(body),
    jailInspect: ({ params }) => service.inspect(params.name),
    jailStart: ({ params }) => service.start(params.name),
    jailStop: ({ params, body }) => service.stop(params.name, body.timeoutSeconds !== undefined ? { timeoutSeconds: body.timeoutSeconds } : {}),
    jailRestart: ({ params }) => service.restart(params.name),
    jailDisk: ({ params, body }) => {
      if (!service.setDisk) throw new NotSupportedError('changing a jail\'s disk limit', 'this agent cannot: remove the jail and create it again with --disk');
      return service.setDisk(params.name, body.disk);
    },
    jailRemove: async ({ params, query }) => {
      await service.remove(params.name, { force: query.force ?? false });
      return { removed: params.name };
    },
    jailExec: ({ params, body }) => service.exec(params.name, body),
    jailLogs: async ({ params, query }, out) => {
      const stream = await service.logs(params.name, { follow: query.follow ?? false, ...(query.tail !== undefined ? { tail: query.tail } : {}), signal: out.signal });
      out.start({ 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      out.res.flushHeaders();
      const end = () => {
        // the client went away, or the agent is stopping: stop the service's stream either way
        stream.unpipe(out.res);
        if (!stream.destroyed) stream.destroy();
        if (!out.res.writableEnded) out.res.end();
      };
      if (out.signal.aborted) { end(); return; }
      out.signal.addEventListener('abort', end, { once: true });
      stream.on('error', (err) => {
        logError(log, err, 'log stream failed; the client sees the stream cut', { jail: params.name });
        out.res.destroy(err);
      });
      stream.pipe(out.res);
    },
  };
}
