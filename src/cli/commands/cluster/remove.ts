import type { Command } from 'commander';
import type { CliDeps } from '../../main.js';
import { printResult } from '../../output.js';
import { agentClient } from './common.js';

export default function register(group: Command, deps: CliDeps): void {
  group
    .command('remove')
    .description('remove another host from the cluster (a dead one, or one that cannot leave by itself): its etcd membership, host record and placements')
    .argument('<host>', 'the host\'s name (cellblock host ls)')
    .option('--force', 'remove it even though its agent is alive')
    .addHelpText('after', '\nExamples:\n  cellblock cluster remove web3')
    .action(async (host: string, opts: { force?: boolean }, cmd: Command) => {
      const { ctx, api } = agentClient(cmd, deps);
      const r = await api.call<{ removed: string; wasMember: boolean }>('POST', '/v1/cluster/remove', { host, ...(opts.force ? { force: true } : {}) });
      printResult(ctx, `removed host ${r.removed}${r.wasMember ? ' (and its etcd member)' : ''}`, r);
    });
}
