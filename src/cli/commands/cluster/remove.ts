import type { Command } from 'commander';
import { clientFor, remote } from '../../agent-client.js';
import type { CliDeps } from '../../context.js';
import { printResult } from '../../output.js';

export default function register(group: Command, deps: CliDeps): void {
  remote(group.command('remove'))
    .description('remove another host from the cluster (a dead one, or one that cannot leave by itself): its etcd membership, host record and placements')
    .argument('<host>', 'the host\'s name (cellblock host ls)')
    .option('--force', 'remove it even though its agent is alive')
    .addHelpText('after', '\nExamples:\n  cellblock cluster remove web3')
    .action(async (host: string, opts: { force?: boolean }, cmd: Command) => {
      const { ctx, api } = clientFor(cmd, deps);
      const r = await api.call('clusterRemove', { body: { host, ...(opts.force ? { force: true } : {}) } });
      printResult(ctx, `removed host ${r.removed}${r.wasMember ? ' (and its etcd member)' : ''}`, r);
    });
}
