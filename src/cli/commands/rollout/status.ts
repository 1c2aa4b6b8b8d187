import type { Command } from 'commander';
import { clientFor, remote } from '../../agent-client.js';
import type { CliDeps } from '../../context.js';
import { printJson } from '../../output.js';
import { checkServiceRef } from '../../../api/contract.js';
import { statusLines } from './render.js';

export default function register(group: Command, deps: CliDeps): void {
  remote(group.command('status').argument('<service>', 'NAME (unique across stacks) or STACK/NAME'))
    .description('a service\'s rollout in progress, or its last one: state, from -> to, each replica\'s spec, rotation and drain, elapsed time and deadline')
    .addHelpText('after', [
      '',
      'A rollout starts when apply changes a service\'s spec. New replicas start first (deploy.max_surge), each old one is',
      'drained (no new requests) once the new ones are in rotation in every host\'s HAProxy, then replaced.',
      '',
      'Examples:',
      '  cellblock rollout status site',
      '  cellblock rollout status web/site --json',
    ].join('\n'))
    .action(async (service: string, _opts: unknown, cmd: Command) => {
      const { ctx, api } = clientFor(cmd, deps);
      const [v] = await api.call('rollouts', { query: { service: checkServiceRef(service) } });
      if (ctx.json) return printJson(ctx, v);
      for (const l of statusLines(v!)) ctx.stdout.write(l + '\n');
    });
}
