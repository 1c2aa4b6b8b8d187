/** The image routes' handlers: the stream between agents, pull, and push as JSON lines. */
import type { ClusterHandlers } from '../../api/handlers.js';
import type { PushLine } from '../../api/contract.js';
import type { ImageApi } from './services.js';

type Routes = Pick<ClusterHandlers, 'imageStream' | 'imagePull' | 'imagePush'>;

export function imageHandlers(images: ImageApi): Routes {
  return {
    imageStream: ({ params, body }, out) => images.serve(params, body.have, out.res),
    imagePull: ({ params }) => images.pull(params),
    imagePush: async ({ params }, out) => {
      // one JSON line per host as its pull ends, so the CLI shows each host's progress; an
      // error before the first line is answered as an error
      const line = (v: PushLine) => {
        out.start({ 'cache-control': 'no-store' });
        out.res.write(JSON.stringify(v) + '\n');
      };
      const r = await images.push(params, { onTargets: (hosts) => line({ hosts }), onHost: (h) => line(h) });
      line({ done: true, image: r.image });
      out.res.end();
    },
  };
}
