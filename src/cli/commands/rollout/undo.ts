import type { Command } from 'commander';
import { clientFor, remote } from '../../agent-client.js';
import type { CliDeps } from '../../context.js';
import { printResult } from '../../output.js';
import { checkServiceRef } from '../../../api/contract.js';

export default function register(group: Command, deps: CliDeps): void {
  remote(group.command('undo').argument('<service>', 'NAME (unique across stacks) or STACK/NAME'))
    .description('go back to the spec the service had before its last rollout (no version needed)')
    .addHelpText('after', [
      '',
      'A rollout in progress stops and the previous spec is restored the way a rollback does it (old replicas are still',
      'serving). After a finished rollout, undo starts a rollout back to the previous spec. Refused when there is none.',
      'The stack file still says the newer spec: the next apply of it rolls forward again.',
      '',
      'Examples:',
      '  cellblock rollout undo site',
      '  cellblock rollout status site',
    ].join('\n'))
    .action(async (service: string, _opts: unknown, cmd: Command) => {
      const { ctx, api } = clientFor(cmd, deps);
      const v = await api.call('rolloutUndo', { body: { service: checkServiceRef(service) } });
      const to = v.state === 'undone' ? v.from : v.to;
      printResult(ctx, `${v.stack}/${v.service}: going back to spec ${to ? `${to.specHash.slice(0, 8)} (${to.image})` : 'unknown'}; follow it with: cellblock rollout status ${v.stack}/${v.service}`, v);
    });
}
