/** cordon, drain and uncordon: one request each, the same shape (registered from one table). */
import type { Command } from 'commander';
import { clientFor, remote } from '../../agent-client.js';
import type { CliDeps } from '../../context.js';
import { printResult } from '../../output.js';

const ACTIONS = [
  ['cordon', 'keep the host\'s replicas but place nothing new on it'],
  ['drain', 'move every replica off the host to the other hosts; nothing new is placed there'],
  ['uncordon', 'make a cordoned or drained host ready again (replicas are not moved back: the scheduler moves nothing to rebalance)'],
] as const;

const ROUTE = { cordon: 'hostCordon', drain: 'hostDrain', uncordon: 'hostUncordon' } as const;

export default function register(group: Command, deps: CliDeps): void {
  for (const [action, what] of ACTIONS) {
    remote(group.command(action))
      .description(what)
      .argument('<host>', 'the host\'s name (cellblock host ls)')
      .addHelpText('after', `\nExamples:\n  cellblock host ${action} web2`)
      .action(async (host: string, _opts: unknown, cmd: Command) => {
        const { ctx, api } = clientFor(cmd, deps);
        const r = await api.call(ROUTE[action], { params: { name: host } });
        printResult(ctx, `host ${r.host}: ${r.state}`, r);
      });
  }
}
