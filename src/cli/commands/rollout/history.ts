import type { Command } from 'commander';
import { clientFor, remote } from '../../agent-client.js';
import type { CliDeps } from '../../context.js';
import { printTable } from '../../output.js';
import { checkServiceRef } from '../../../api/contract.js';
import { historyRows } from './render.js';

export default function register(group: Command, deps: CliDeps): void {
  remote(group.command('history').argument('<service>', 'NAME (unique across stacks) or STACK/NAME'))
    .description('a service\'s last rollouts, newest first: when, from which spec to which (image tags), and how each ended')
    .addHelpText('after', [
      '',
      'Outcomes: complete, rolled-back (deadline or error rate; the reason says which), undone (rollout undo),',
      'superseded (another apply changed the spec before it ended). The last 10 are kept.',
      '',
      'Examples:',
      '  cellblock rollout history site',
      '  cellblock rollout history web/site --json',
    ].join('\n'))
    .action(async (service: string, _opts: unknown, cmd: Command) => {
      const { ctx, api } = clientFor(cmd, deps);
      const [v] = await api.call('rollouts', { query: { service: checkServiceRef(service) } });
      printTable(ctx, ['started', 'from', 'to', 'outcome', 'reason'], historyRows(v!), { stack: v!.stack, service: v!.service, current: v!.state === 'progressing' ? v : null, history: v!.history });
    });
}
