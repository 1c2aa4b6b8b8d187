/** The rollout routes' handlers. */
import type { ClusterHandlers } from '../../api/handlers.js';
import type { RolloutApi } from './services.js';

type Routes = Pick<ClusterHandlers, 'rollouts' | 'rolloutUndo'>;

export function rolloutHandlers(rollouts: RolloutApi): Routes {
  return {
    rollouts: ({ query }) => rollouts.list({ ...(query.service !== undefined ? { service: query.service } : {}), ...(query.stack !== undefined ? { stack: query.stack } : {}) }),
    rolloutUndo: ({ body }) => rollouts.undo(body.service),
  };
}
