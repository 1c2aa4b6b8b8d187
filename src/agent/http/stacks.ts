/**
 * The stack routes' handlers. The body is the stack file's text; it is parsed here with the
 * same parser as `cellblock stack validate`, so a bad file is refused (400) with the same
 * `stack.yml:LINE:COL path: problem; fix` lines, whoever sent it.
 */
import type { ClusterHandlers } from '../../api/handlers.js';
import { parseStack } from '../../spec/parse.js';
import type { StackApi } from './services.js';

type Routes = Pick<ClusterHandlers, 'stackDiff' | 'stackApply' | 'stackDelete' | 'status' | 'lbPorts'>;

export function stackHandlers(stacks: StackApi): Routes {
  return {
    stackDiff: ({ params, body }) => stacks.diff(params.name, parseStack(body.text, body.file), body),
    stackApply: ({ params, body }) => stacks.apply(params.name, body.file, parseStack(body.text, body.file), body.text, body.files),
    lbPorts: ({ body }) => stacks.portsHere(body.ports),
    stackDelete: ({ params }) => stacks.remove(params.name),
    status: ({ query }) => stacks.status(query.stack),
  };
}
